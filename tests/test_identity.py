"""One name per item: the label printed on the paper is the item's name everywhere after.

The labels are read back from the typeset exam with pdftotext, as a grader reads them
(section 2's question (c), part (ii): `2c(ii)`; question 6, part a): `6a`), and compared
with the manifest's items, the columns of marks.csv and responses.csv, the crib and the
LMS names.
"""

from __future__ import annotations

import csv
import json
import re
from pathlib import Path

import pytest
from lxml import etree

from qbgen.numbering import DEFAULT, Numbering, style_numbering

from .conftest import BANK, ROOT, cli, needs_tex, pdf_text, write_tree

SECOND = ROOT / "examples" / "second-bank"

# How each style prints its labels, level by level, and how a reader joins them into a
# name: (regex of a line that opens with the label, joiner of the outer name and the label).
QUESTION = (re.compile(r"^ ?(\d+)\. "), lambda outer, x: x)
LETTER_PAREN = re.compile(r"^ {1,12}\(([a-h])\) ")
STYLES = {
    "iitjammu-b": [QUESTION, (re.compile(r"^ {1,12}([a-z])\) "), lambda outer, x: outer + x)],
    "iitjammu-a": [
        QUESTION,  # a section
        (LETTER_PAREN, lambda outer, x: outer + x),
        (re.compile(r"^ {1,12}\(([ivx]+)\) "), lambda outer, x: f"{outer}({x})"),
    ],
    "northfield": [QUESTION, (LETTER_PAREN, lambda outer, x: outer + x)],
    "titled": [QUESTION, (LETTER_PAREN, lambda outer, x: outer + x)],
}


def printed_labels(pdf: Path, style: str) -> list[str]:
    """The names a reader gives the labels printed down the paper, innermost only.

    A label with labels under it (a question with parts, paper A's section) is not
    itself an item; the items are the leaves, in order.
    """
    levels = STYLES[style]
    stack: list[str] = []
    leaves: list[tuple[int, str]] = []
    for line in pdf_text(pdf, layout=True).splitlines():
        for depth, (regex, join) in enumerate(levels):
            m = regex.match(line)
            if m:
                outer = stack[depth - 1] if depth else ""
                stack[depth:] = [join(outer, m.group(1))]
                if leaves and leaves[-1][0] < depth and stack[depth - 1] == leaves[-1][1]:
                    leaves.pop()  # its parent was no item after all
                leaves.append((depth, stack[depth]))
                break
    # paper A's sections are never items: a leaf at depth 0 there is a section heading
    if len(levels) == 3:
        leaves = [x for x in leaves if x[0] > 0]
    return [name for _, name in leaves]


def sheet_header(path: Path) -> list[str]:
    with path.open(encoding="utf-8") as f:
        return next(csv.reader(f))


TITLED_STYLE = r"""
\#{ A bank's own style with titled sections and no numbering of its own: the default. }
\BLOCK{import "common/body.tex.j2" as b}
\BLOCK{import "common/header.tex.j2" as h}
\BLOCK{import "common/front.tex.j2" as f}
\BLOCK{macro mk(m)}[\VAR{m|marks}]\BLOCK{endmacro}
\BLOCK{macro setup()}
\renewcommand{\partlabel}{(\thepartno)}
\BLOCK{endmacro}
\BLOCK{macro paper(exam, answers)}
\VAR{h.header(exam, answers)|tex}
\noindent{\Large\bfseries \VAR{exam.course}}\par
\VAR{f.candidate_and_instructions(exam)|tex}
\begin{questions}
\BLOCK{for s in exam.sections}
\fullwidth{\textbf{Section \VAR{s.number}: \VAR{s.title}}}
\BLOCK{for q in s.questions}
\VAR{b.question_body(q, answers, "\\question", "parts", "\\part", mk)|tex}
\BLOCK{endfor}
\BLOCK{endfor}
\end{questions}
\BLOCK{endmacro}
"""

TITLED_SPEC = """
course: Deep Learning
max_marks: 27
style: titled
sections:
  - title: Recurrent networks
    questions: [paper-b:7, paper-a:1e, paper-b:3]
  - title: Convolutions
    questions: [paper-b:9, paper-a:3d]
"""


def _titled_bank(root: Path) -> Path:
    return write_tree(
        root / "mine", {"templates/titled/paper.tex.j2": TITLED_STYLE, "exams/titled.yaml": TITLED_SPEC}
    )


def _restyled(root: Path, spec: str, style: str) -> Path:
    text = (BANK / "exams" / f"{spec}.yaml").read_text("utf-8")
    text = re.sub(r"(?m)^style: .*$", f"style: {style}", text)
    path = root / f"{spec}-{style}.yaml"
    path.write_text(text, "utf-8")
    return path


CASES = [
    # (name, style the paper is read as, how to make the spec and its --bank options, extra args)
    ("paper-b", "iitjammu-b", lambda tmp: ([BANK / "exams" / "paper-b.yaml"], []), []),
    ("paper-a", "iitjammu-a", lambda tmp: ([BANK / "exams" / "paper-a.yaml"], []), []),
    ("quiz", "iitjammu-b", lambda tmp: ([BANK / "exams" / "quiz.yaml"], []), ["--variants", "3"]),
    ("quiz-a", "iitjammu-a", lambda tmp: ([_restyled(tmp, "quiz", "iitjammu-a")], []), ["--variants", "2"]),
    ("paper-a-b", "iitjammu-b", lambda tmp: ([_restyled(tmp, "paper-a", "iitjammu-b")], []), []),
    (
        "midterm",
        "northfield",
        lambda tmp: ([SECOND / "exams" / "midterm.yaml"], ["--bank", SECOND, "--bank", "builtin"]),
        [],
    ),
    (
        "titled",
        "titled",
        lambda tmp: (
            [_titled_bank(tmp) / "exams" / "titled.yaml"],
            ["--bank", tmp / "mine", "--bank", "builtin"],
        ),
        [],
    ),
]


@needs_tex
@pytest.mark.parametrize("name, style, make, extra", CASES, ids=[c[0] for c in CASES])
def test_printed_labels_are_every_sheets_names(tmp_path, name, style, make, extra):
    spec, banks = make(tmp_path)
    out = tmp_path / "out"
    r = cli("build", *spec, *banks, "--out", out, *extra)
    assert r.returncode == 0, r.stderr
    top = json.loads((out / "manifest.json").read_text("utf-8"))
    papers = top.get("papers") or [{**top, "folder": ""}]
    columns = sheet_header(out / "marks.csv")
    responses = sheet_header(out / "responses.csv")
    for paper in papers:
        folder = out / paper["folder"]
        printed = printed_labels(folder / "exam.pdf", style)
        items = [k for q in paper["questions"] for k in q["items"]]
        assert printed == items, (paper["folder"], printed, items)
        # the key prints the same labels as the paper
        assert printed_labels(folder / "key.pdf", style) == printed
        assert set(items) <= set(columns)
        # a response column is the printed item's name and the answer's id
        for q in paper["questions"]:
            assert set(q["scoring"]) == set(q["items"])
            for item, contract in q["scoring"].items():
                assert all(f"{item}.{ident}" in responses for ident in contract["answers"])
    if len(papers) > 1:
        crib = pdf_text(out / "crib.pdf")
        numbers = {q["number"] for p in papers for q in p["questions"] if q["accept"]}
        for number in numbers:
            assert f"Question {number}:" in crib


@needs_tex
def test_the_moodle_and_qti_names_are_the_printed_labels(tmp_path):
    # Paper A's question 1e has parts: the paper prints 1e (i) and (ii); the sheets,
    # Moodle's names and idnumbers and the QTI titles all say 1e(i) and 1e(ii).
    spec = BANK / "exams" / "paper-a.yaml"
    r = cli("export", spec, "--to", "moodle", "--variants", "2", "--out", tmp_path / "m")
    assert r.returncode == 0, r.stderr
    quiz = etree.parse(str(tmp_path / "m" / "quiz.xml"))
    idnumbers = [e.text for e in quiz.iter("idnumber")]
    names = [e.findtext("text") for e in quiz.iter("name")]
    assert "paper-a:A:1e(i)" in idnumbers and "paper-a:B:1e(ii)" in idnumbers
    assert "A 1e(ii) softmax-temperature" in names
    assert not any(re.search(r"1e[ab]|\(b\)", i or "") for i in idnumbers)
    r = cli("export", spec, "--to", "qti21", "--variants", "2", "--out", tmp_path / "q")
    assert r.returncode == 0, r.stderr
    import zipfile

    with zipfile.ZipFile(tmp_path / "q" / "qti21.zip") as z:
        titles = {
            etree.fromstring(z.read(n)).get("title")
            for n in z.namelist()
            if n.startswith("items/") and n.endswith(".xml")
        }
    assert "A 1e(i) softmax-temperature" in titles


def test_a_style_declares_its_numbering(tmp_path):
    a = style_numbering(ROOT / "templates" / "iitjammu-a" / "paper.tex.j2")
    assert a.question_name(n=9, section=2, q=3) == "2c"
    assert a.part_name("2c", 2) == "2c(ii)"
    b = style_numbering(ROOT / "templates" / "iitjammu-b" / "paper.tex.j2")
    assert b.question_name(n=9, section=2, q=3) == "9" and b.part_name("9", 1) == "9a"
    # a style that says nothing is numbered 1, 2, ... with parts 1a, 1b
    plain = write_tree(tmp_path, {"s/paper.tex.j2": "\\BLOCK{macro setup()}\\BLOCK{endmacro}\n"})
    assert style_numbering(plain / "s" / "paper.tex.j2") == DEFAULT
    assert Numbering(question="Q{n}", part="{question}.{part:I}").part_name("Q4", 4) == "Q4.IV"
    assert DEFAULT.part_name("7", 27) == "7aa"  # past z, the names go on


@pytest.mark.parametrize(
    "declaration, message",
    [
        ('{"question": "{x}"}', "numbering: question: no field {x}"),
        ('{"question": "{section}"}', "numbering: question: needs one of {n}, {q}"),
        ('{"part": "{question}"}', "numbering: part: needs one of {part}"),
        ('{"part": "{question}{part:z}"}', "numbering: part: {part:z}: a field's form is one of 1, a, A"),
        ('{"question": "{n"}', "numbering: question:"),
        ("[1, 2]", "numbering: a constant mapping"),
        ('{"question": "{n}", "parts": "x"}', "numbering: parts: Extra inputs are not permitted"),
    ],
)
def test_a_bad_numbering_is_one_line_at_its_line(tmp_path, declaration, message):
    root = write_tree(
        tmp_path,
        {"mine/templates/s/paper.tex.j2": f"\\#{{ a style }}\n\\BLOCK{{set numbering = {declaration}}}\n"},
    )
    (root / "mine" / "exams").mkdir()
    (root / "mine" / "exams" / "t.yaml").write_text(TITLED_SPEC.replace("titled", "s"), "utf-8")
    r = cli("build", root / "mine" / "exams" / "t.yaml", "--bank", root / "mine", "--bank", "builtin")
    assert r.returncode == 2, r.stderr
    lines = r.stderr.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in r.stderr
    assert f"paper.tex.j2:2: {message}" in lines[0]


def test_a_numbering_that_names_two_items_alike_is_refused(tmp_path):
    # Questions lettered within their section but sections not told apart: 1 a, 2 a.
    root = write_tree(
        tmp_path,
        {
            "mine/templates/s/paper.tex.j2": '\\BLOCK{set numbering = {"question": "{q:a}"}}\n',
            "mine/exams/t.yaml": TITLED_SPEC.replace("titled", "s"),
        },
    )
    r = cli("build", root / "mine" / "exams" / "t.yaml", "--bank", root / "mine", "--bank", "builtin")
    assert r.returncode == 2
    assert "t.yaml:3: style: the style's numbering names two items 'a'" in r.stderr

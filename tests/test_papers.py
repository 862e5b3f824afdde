"""Both source papers, end to end: each reprints with --original in its own house style,
each reseeds into a paper of the same shape, figures are drawn, and every source question
of the bank lands in its paper under its own number. pdftotext reads the real PDFs."""

import difflib
import json
import re
from pathlib import Path

import pytest

from .conftest import needs_tex, pdf_text, run_cli

pytestmark = needs_tex

SPECS = ("paper-a", "paper-b", "quiz")


@pytest.fixture(scope="module")
def papers(tmp_path_factory):
    """{(spec, 'original'|'seeded'): output folder} for every shipped spec."""
    out = {}
    for spec in SPECS:
        for how in ("original", "seeded"):
            folder = tmp_path_factory.mktemp(f"{spec}-{how}")
            flags = ["--original"] if how == "original" else []
            r = run_cli("build", f"bank/exams/{spec}.yaml", *flags, "--out", folder)
            assert r.returncode == 0, r.stderr
            out[spec, how] = folder
    return out


def manifest(folder):
    return json.loads((folder / "manifest.json").read_text())


@pytest.fixture(scope="module")
def listing():
    r = run_cli("list", "--json")
    assert r.returncode == 0, r.stderr
    return {q["id"]: q for q in json.loads(r.stdout)}


def _marks(text, label):
    return [float(m) for m in re.findall(rf"\[{label} = (\d+(?:\.5)?)\]", text)]


@pytest.mark.parametrize("how", ["original", "seeded"])
def test_paper_a_house_style(papers, how):
    text = pdf_text(papers["paper-a", how] / "exam.pdf")
    assert "Maximum Marks: 60" in text
    assert "Max. Marks" not in text and "[Duration" not in text  # paper B's style, not A's
    flat = " ".join(text.split())
    titles = re.findall(r"(\d)\. ([A-Z][^\[]*?) \[Total Marks = (\d+)\]", flat)
    assert [t[0] for t in titles] == ["1", "2", "3", "4"], titles
    totals = [float(t[2]) for t in titles]
    assert sum(totals) == 60
    # The parts' [Marks = N] (or [Mark = 1]) add up to each section's total, in order.
    chunks = re.split(r"\[Total Marks = \d+\]", flat)[1:]
    for total, chunk in zip(totals, chunks, strict=True):
        assert sum(_marks(chunk, "Marks?")) == total, (total, chunk[:80])
    assert 1.5 in _marks(flat, "Marks?")  # half marks print as such
    m = manifest(papers["paper-a", how])
    assert [q["number"] for q in m["questions"]][:5] == ["1a", "1b", "1c", "1d", "1e"]


@pytest.mark.parametrize("spec", ["paper-a", "paper-b"])
def test_every_source_question_is_in_its_paper_under_its_number(papers, listing, spec):
    m = manifest(papers[spec, "original"])
    wanted = {s for q in listing.values() for s in q["sources"] if s.startswith(spec + ":")}
    got = set()
    for q in m["questions"]:
        mine = [s for s in listing[q["id"]]["sources"] if s.startswith(spec + ":")]
        assert mine, (q["number"], q["id"])
        # paper-b:8 carries 8a and 8b as its parts; every other question its own number.
        assert all(s.split(":")[1].startswith(str(q["number"])) for s in mine), (q["number"], mine)
        got.update(mine)
    assert got == wanted
    assert sum(q["marks"] for q in m["questions"]) == m["max_marks"]


@pytest.mark.parametrize("spec", ["paper-a", "paper-b"])
def test_reseeded_paper_keeps_shape_and_changes_numbers(papers, spec):
    orig, new = manifest(papers[spec, "original"]), manifest(papers[spec, "seeded"])
    assert [(q["number"], q["id"], q["marks"]) for q in orig["questions"]] == [
        (q["number"], q["id"], q["marks"]) for q in new["questions"]
    ]
    drawn = [(a, b) for a, b in zip(orig["questions"], new["questions"], strict=True) if a["params"]]
    assert len(drawn) >= 3
    changed = [b["id"] for a, b in drawn if a["params"] != b["params"]]
    assert len(changed) >= len(drawn) - 1, changed  # a draw may hit the paper's values, rarely


@pytest.mark.parametrize("spec", ["paper-a", "paper-b"])
@pytest.mark.parametrize("how", ["original", "seeded"])
def test_key_prints_the_computed_counts_and_the_exam_does_not(papers, spec, how):
    folder = papers[spec, how]
    key, exam = pdf_text(folder / "key.pdf"), pdf_text(folder / "exam.pdf")
    checked = 0
    for q in manifest(folder)["questions"]:
        for value in q["answers"].values():
            if isinstance(value, int) and abs(value) >= 10_000:
                assert f"{value:,}" in key, (q["id"], value)
                assert f"{value:,}" not in exam, (q["id"], value)
                checked += 1
    assert checked >= 3


@pytest.mark.parametrize("how", ["original", "seeded"])
def test_lost_figures_are_drawn_with_the_drawn_values(papers, how):
    folder = papers["paper-b", how]
    tex = (folder / "exam.tex").read_text()
    assert tex.count(r"\begin{tikzpicture}") >= 2  # the network of 1, the point set of 8b
    flat = " ".join(pdf_text(folder / "exam.pdf").split())
    q1 = manifest(folder)["questions"][0]
    assert q1["id"] == "momentum-backprop"
    for w in ("w1", "w2", "w3", "w4", "w5", "w6"):
        label = f"{w} = {q1['params'][w]:g}".replace("-", "\N{MINUS SIGN}")
        assert label in flat, label  # the figure's weights are the question's own numbers
    assert r"\begin{tikzpicture}" in (papers["paper-a", how] / "exam.tex").read_text()  # 3d


def page_bodies(pdf):
    """Each page's text lines, 1-based, without the running header and the page footer."""
    for n, page in enumerate(pdf_text(pdf).split("\f"), 1):
        lines = [line.strip() for line in page.splitlines() if line.strip()]
        yield (
            n,
            [
                line
                for line in lines
                if not re.fullmatch(r"Page \d+", line) and line not in ("Deep Learning", "Answer Key")
            ],
        )


@pytest.mark.parametrize("spec", SPECS)
@pytest.mark.parametrize("how", ["original", "seeded"])
def test_no_key_heading_is_stranded_at_the_foot_of_a_page(papers, spec, how):
    for n, body in page_bodies(papers[spec, how] / "key.pdf"):
        if body:
            assert body[-1] not in ("Marking scheme", "Worked steps"), (spec, how, n)


@pytest.mark.parametrize("spec", SPECS)
@pytest.mark.parametrize("how", ["original", "seeded"])
@pytest.mark.parametrize("name", ["exam", "key"])
def test_nothing_runs_into_a_page_footer(papers, spec, how, name):
    # Text that overflows a page overprints its footer: pdftotext reads both on one line.
    pages = pdf_text(papers[spec, how] / f"{name}.pdf").split("\f")[:-1]
    for n, page in enumerate(pages, 1):
        footer = [line.strip() for line in page.splitlines() if f"Page {n}" in line]
        assert footer == [f"Page {n} of {len(pages)}"], (spec, how, name, n, footer)


MARKS_ALONE = re.compile(r"\[(?:Total )?Marks? = \d+(?:\.5)?\]|\[\d+(?:\.5)? [Mm]arks?\]")


@pytest.mark.parametrize("spec", SPECS)
@pytest.mark.parametrize("how", ["original", "seeded"])
@pytest.mark.parametrize("name", ["exam", "key"])
def test_marks_never_open_a_page_apart_from_their_question(papers, spec, how, name):
    for n, body in page_bodies(papers[spec, how] / f"{name}.pdf"):
        if n > 1 and body:
            assert not MARKS_ALONE.fullmatch(body[0]), (spec, how, name, n, body[0])


SECTION_TOTAL = re.compile(r"(?:^\d+\. .*)?\[Total Marks = \d+(?:\.5)?\]$")


@pytest.mark.parametrize("spec", SPECS)
@pytest.mark.parametrize("how", ["original", "seeded"])
@pytest.mark.parametrize("name", ["exam", "key"])
def test_no_section_heading_ends_a_page_and_a_stem_keeps_its_figure(papers, spec, how, name):
    for n, body in page_bodies(papers[spec, how] / f"{name}.pdf"):
        if body:
            assert not SECTION_TOTAL.search(body[-1]), (spec, how, name, n, body[-1])
        # paper A 3d: the stem's last sentence and the figure it introduces share a page.
        if any("3 or 4 significant figures" in line for line in body):
            assert any("SoftMax" in line for line in body), (spec, how, name, n)


@pytest.mark.parametrize("how", ["original", "seeded"])
def test_the_key_says_which_figures_are_reconstructions(papers, how):
    for spec, count in (("paper-a", 1), ("paper-b", 2)):
        key = " ".join(pdf_text(papers[spec, how] / "key.pdf").split())
        exam = pdf_text(papers[spec, how] / "exam.pdf")
        assert key.count("Note for the examiner: The paper") == count, (spec, how)
        assert key.count("are a reconstruction") == count, key.count("reconstruction")
        assert "reconstruction" not in exam and "Note for the examiner" not in exam


# --------------------------------------------------------------------------- as set

# The two source papers as converted to text (vendored: tests run where ../shared is absent).
PAPERS = Path(__file__).resolve().parent / "papers"
SOURCE = {"paper-a": "000_46c70223c0dc6adc.txt", "paper-b": "001_8cd499b1f8b543da.txt"}
# What the paper as set may differ by: word runs (lower case, two letters or more) that
# the comparison finds inserted, deleted or moved, as patterns, each with its reason.
# Anything else it finds fails the test.
ALLOWED = {
    "paper-a": [
        (r"indian institute of technology jammu( deep learning)?", "the house header"),
        (r"marks total|total marks", "the conversion puts [Total Marks] before the title"),
        (r"aligned aligned", "the paper's aligned environment"),
        (
            r"layer activation map dimensions number of weights number of biases input conv pool conv "
            r"pool conv pool fc table cnn architecture overview|layer input activation map number of "
            r"number of dimensions weights biases conv pool conv pool conv pool fc( table cnn "
            r"architecture overview)?",
            "paper-a:2c's table, whose header pdftotext reads across its two-line cells",
        ),
        (
            r"the figure shows one scaled dot product attention step .* result of the attention step"
            r"( deep learning| column| row)*",
            "paper-a:3d: the figure is lost, and the part is a reconstruction (said in the key)",
        ),
    ],
    "paper-b": [
        (r"no biases", "paper-b:1: the legend of the reconstructed figure"),
        (
            r"import numpy as np def forward prop prev prev np exp sigmoid return",
            "paper-b:4's listing: the conversion puts it after question 3",
        ),
        (r"class class", "paper-b:8: the legend of the reconstructed data figure"),
        (
            r"(self layer ?|layer self ?|return ?)+",
            "paper-b:8: pdftotext reads the listing's aligned comments apart from their code",
        ),
    ],
}
# In both papers the marks stand after the part's text, where the conversion has them
# before its last sentence; and paper B's pages have a running header.
MOVED = r"explain your choice|deep learning"


def _allowed(spec, op, was, now):
    patterns = [p for p, _ in ALLOWED[spec]] + [MOVED]
    return all(not side or any(re.fullmatch(p, side) for p in patterns) for side in (was, now))


def _paper_words(text):
    text = re.sub(r"\\(begin|end)\{[a-z*]+\}", " ", text)
    text = re.sub(r"\\(log|exp)\b", r" \1 ", text)
    text = re.sub(r"\\[A-Za-z]+", " ", text)  # other LaTeX command names
    text = re.sub(r"\[(Total )?Marks? = [\d.]+\]|\*\*\[\d+ marks\]\*\*|\[\d+ Marks\]", " ", text)
    return re.findall(r"[a-z]{2,}", text.lower())


def _exam_words(pdf, vocabulary):
    lines = [ln for ln in pdf_text(pdf).splitlines() if not re.fullmatch(r"Page \d+(?: of \d+)?", ln.strip())]
    text = "\n".join(lines)
    text = re.sub(r"\[(Total )?Marks? = [\d.]+\]|\[\d+ marks\]", " ", text, flags=re.I)
    # A word hyphenated at a line end is one word when the paper has it whole.
    text = re.sub(
        r"([A-Za-z]+)-\n([a-z]+)",
        lambda m: m[1] + m[2] if (m[1] + m[2]).lower() in vocabulary else f"{m[1]}-{m[2]}",
        text,
    )
    return [w for word in re.findall(r"[a-z]{2,}", text.lower()) for w in _split(word, vocabulary)]


def _split(word, vocabulary):
    # pdftotext joins a word broken at a line end: "input-" + "to-hidden" reads "inputto-hidden".
    if word not in vocabulary:
        for i in range(2, len(word) - 1):
            if word[:i] in vocabulary and word[i:] in vocabulary:
                return [word[:i], word[i:]]
    return [word]


def _differences(paper, exam):
    sm = difflib.SequenceMatcher(None, paper, exam, autojunk=False)
    for op, i1, i2, j1, j2 in sm.get_opcodes():
        if op != "equal":
            yield op, " ".join(paper[i1:i2]), " ".join(exam[j1:j2])


@pytest.mark.parametrize("spec", ["paper-a", "paper-b"])
def test_the_original_exam_prints_the_paper_as_set(papers, spec):
    paper = _paper_words((PAPERS / SOURCE[spec]).read_text())
    exam = _exam_words(papers[spec, "original"] / "exam.pdf", set(paper))
    unexplained = []
    for op, was, now in _differences(paper, exam):
        if max(len(was.split()), len(now.split())) < 2:
            continue  # a lone word: a math glyph read as letters (R^{n x m} as "rn")
        if _allowed(spec, op, was, now):
            continue
        unexplained.append(f"{op}: paper {was!r} / exam {now!r}")
    assert not unexplained, "\n".join(unexplained)

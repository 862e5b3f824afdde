"""Issue 27, item 4: accommodation papers from the same draw.

`--large-print 18|24` (the body at that size, a question per page, figures, displays and
tables scaled to the line, nothing into the margin), a roster's `accommodation` column
(large print, extra time) within the same roster build, `--per-question` (a PDF per
question, for split sittings) and `--html` (an accessible page per paper). The numbers
and the answers are always the standard paper's of the same draw: compared here with the
manifests and with what pdftotext reads back out of the PDFs.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from pathlib import Path
from statistics import median

import pytest

from qbgen.errors import InputError
from qbgen.models import Exam
from qbgen.roster import accommodations, load_roster

from .conftest import cli, needs_tex, pdf_text, write_tree

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
needs_browser = pytest.mark.skipif(CHROMIUM is None, reason="chromium not installed")

ROSTER = (
    "id,name,accommodation\n21CS01,Asha Rao,\n"
    "21CS02,Vik Sen,Large-Print-24; extra-time-25\n21CS03,Meera Iyer,extra-time-50\n"
)
PLAIN = "id,name\n21CS01,Asha Rao\n21CS02,Vik Sen\n21CS03,Meera Iyer\n"


def numbers(pdf: Path) -> list[str]:
    """Every number the paper prints, sorted (not the page numbers, which the form changes).

    Read in the order TeX set the text (`-raw`): laid out, a small fraction's digits come
    out in the order of their places on the page, which the type's size changes.
    """
    raw = subprocess.run(["pdftotext", "-raw", str(pdf), "-"], capture_output=True, text=True, check=True)
    sheets = [t.splitlines() for t in raw.stdout.split("\f") if t.strip()]
    # The running header (a roster paper's: the student's name and roll number) is on
    # every page, and a large-print paper has more pages: it is left out.
    tops = [lines[0] for lines in sheets]
    header = {top for top in tops if tops.count(top) > 1}
    text = "\n".join(ln for lines in sheets for ln in lines if ln not in header)
    text = re.sub(r"Page \d+ of \d+", " ", text)
    text = re.sub(r"Extra time: \d+% \(in all \d+ mins\)", " ", text)  # the accommodation's own line
    return sorted(re.findall(r"\d+(?:[.,]\d+)*", text))


def type_size(pdf: Path) -> float:
    """The width (pt) of the word `Page` of the footers (`Page 2 of 14`): it grows with the body's size.

    (Not its height: pdftotext's boxes take that from the embedded font's subset.)
    """
    out = subprocess.run(
        ["pdftotext", "-bbox", str(pdf), "-"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    boxes = re.findall(r'<word xMin="([\d.]+)" yMin="[\d.]+" xMax="([\d.]+)" yMax="[\d.]+">Page<', out)
    return median(float(b) - float(a) for a, b in boxes)


def pages(pdf: Path) -> list[str]:
    """The text of each page."""
    return pdf_text(pdf).split("\f")[:-1]


def draws(manifest: dict) -> list[tuple]:
    return [(q["id"], q["params"], q["answers"], q["accept"]) for q in manifest["questions"]]


@pytest.fixture(scope="module")
def paper_b(tmp_path_factory):
    """Paper B standard and at 24 pt, from the same seed."""
    root = tmp_path_factory.mktemp("paper-b")
    for name, extra in (("standard", ()), ("large", ("--large-print", "24"))):
        r = cli("build", "paper-b", "--seed", "7", "--out", root / name, *extra)
        assert r.returncode == 0, r.stderr
        # Nothing set into the margin: the build names every such line of a question.
        assert "past the margin" not in r.stderr, r.stderr
    return root


@needs_tex
def test_large_print_is_the_same_draw_in_bigger_type(paper_b):
    std, big = paper_b / "standard", paper_b / "large"
    m_std = json.loads((std / "manifest.json").read_text())
    m_big = json.loads((big / "manifest.json").read_text())
    assert draws(m_big) == draws(m_std)
    assert m_big["large_print"] == 24 and "large_print" not in m_std
    # The same numbers on the page, read back from both PDFs.
    assert numbers(big / "exam.pdf") == numbers(std / "exam.pdf")
    assert numbers(big / "key.pdf") == numbers(std / "key.pdf")
    # The type is 24/11 the size of the standard paper's.
    ratio = type_size(big / "exam.pdf") / type_size(std / "exam.pdf")
    assert 24 / 11 * 0.9 < ratio < 24 / 11 * 1.1, ratio


@needs_tex
def test_large_print_sets_a_question_per_page(paper_b):
    texts = pages(paper_b / "large" / "exam.pdf")
    count = len(json.loads((paper_b / "large" / "manifest.json").read_text())["questions"])
    starts = [re.findall(r"^(\d+)\. \S", t, re.M) for t in texts]
    # No page holds the start of two questions, and each question starts a page's text.
    assert all(len(s) <= 1 for s in starts), starts
    assert [s[0] for s in starts if s] == [str(n) for n in range(1, count + 1)]
    for text, s in zip(texts, starts, strict=True):
        if s:
            first = [ln for ln in text.splitlines() if ln.strip()][1]  # after the running header
            assert first.startswith(f"{s[0]}. "), first
    # The standard paper has more than one question on a page.
    assert any(len(re.findall(r"^\d+\. \S", t, re.M)) > 1 for t in pages(paper_b / "standard" / "exam.pdf"))


@needs_tex
def test_large_print_tex_has_no_overfull_line(paper_b, tmp_path):
    # The build's documents are typeset from a cached format; here each is typeset again
    # from its own preamble, and the whole log is read: no line into the margin anywhere.
    for name in ("exam", "key"):
        shutil.copy(paper_b / "large" / f"{name}.tex", tmp_path)
        subprocess.run(
            ["pdflatex", "-interaction=nonstopmode", "-no-shell-escape", f"{name}.tex"],
            cwd=tmp_path,
            capture_output=True,
            check=True,
        )
        log = (tmp_path / f"{name}.log").read_text("latin-1")
        assert "Overfull \\hbox" not in log, re.findall(r"Overfull.*", log)
        assert "fontsize=24pt" in (tmp_path / f"{name}.tex").read_text()


@needs_tex
def test_roster_accommodation_gives_those_students_their_form(tmp_path):
    write_tree(tmp_path, {"roster.csv": ROSTER, "plain.csv": PLAIN})
    for name in ("roster", "plain"):
        r = cli("build", "paper-b", "--roster", tmp_path / f"{name}.csv", "--out", tmp_path / name)
        assert r.returncode == 0, r.stderr
    for sid in ("21CS01", "21CS02", "21CS03"):
        mine = json.loads((tmp_path / "roster" / sid / "manifest.json").read_text())
        plain = json.loads((tmp_path / "plain" / sid / "manifest.json").read_text())
        assert draws(mine) == draws(plain)
        assert numbers(tmp_path / "roster" / sid / "exam.pdf") == numbers(
            tmp_path / "plain" / sid / "exam.pdf"
        )
    vik = json.loads((tmp_path / "roster" / "21CS02" / "manifest.json").read_text())
    assert vik["candidate"]["accommodation"] == ["large-print-24", "extra-time-25"]
    assert (vik["large_print"], vik["extra_time"]) == (24, 25)
    meera = json.loads((tmp_path / "roster" / "21CS03" / "manifest.json").read_text())
    assert meera["extra_time"] == 50 and "large_print" not in meera
    # Only Vik's paper is in large print; exams.pdf holds every paper in roster order.
    size = {sid: type_size(tmp_path / "roster" / sid / "exam.pdf") for sid in ("21CS01", "21CS02", "21CS03")}
    assert size["21CS02"] > 2 * size["21CS01"] and abs(size["21CS03"] - size["21CS01"]) < 0.5
    combined = pages(tmp_path / "roster" / "exams.pdf")
    own = [pages(tmp_path / "roster" / sid / "exam.pdf") for sid in ("21CS01", "21CS02", "21CS03")]
    at = 0
    for texts in own:
        at += at % 2  # each paper from an odd page
        assert combined[at : at + len(texts)] == texts
        at += len(texts)
    assert len(combined) == at
    # The model key is the first student's, in standard print.
    assert "Asha Rao" in pdf_text(tmp_path / "roster" / "key.pdf")
    assert type_size(tmp_path / "roster" / "key.pdf") < 1.5 * size["21CS01"]


def test_accommodation_column_is_read_strictly(tmp_path):
    assert accommodations(" Large-Print-18 ;extra-time-033;") == ("large-print-18", "extra-time-33")
    for bad in (
        "large-print-20",
        "extra-time-0",
        "extra-time-301",
        "braille",
        "large-print-24;large-print-18",
    ):
        path = (
            write_tree(tmp_path, {"r.csv": f"id,name,accommodation\nA1,Ann Lee,\nA2,Bo Li,{bad}\n"}) / "r.csv"
        )
        with pytest.raises(InputError) as exc:
            load_roster(path)
        assert str(exc.value).startswith(f"{path}:3: accommodation: "), str(exc.value)
        r = cli("build", "paper-b", "--roster", path, "--out", tmp_path / "out")
        assert r.returncode == 2 and r.stderr.count("\n") == 1 and "Traceback" not in r.stderr, r.stderr
    students = load_roster(write_tree(tmp_path, {"ok.csv": ROSTER}) / "ok.csv")
    assert [(c.large_print(), c.extra_time()) for c in students] == [(0, 0), (24, 25), (0, 50)]


@pytest.mark.parametrize(
    ("args", "says"),
    [
        (("--large-print", "20"), "--large-print: 20: a large-print paper's body is 18 or 24 pt"),
        (("--per-question", "--on-paper"), "--per-question"),
    ],
)
def test_bad_options_are_one_line(tmp_path, args, says):
    r = cli("build", "paper-b", "--out", tmp_path / "out", *args)
    assert r.returncode == 2, r.stderr
    assert r.stderr.startswith("error: ") and says in r.stderr and r.stderr.count("\n") == 1, r.stderr
    assert not (tmp_path / "out").exists()


def test_extra_time_text():
    exam = Exam.model_construct(duration="120 mins", extra_time=25)
    assert exam.extra_time_text() == "Extra time: 25% (in all 150 mins)"
    assert Exam.model_construct(duration="3 hours", extra_time=50).extra_time_text() == (
        "Extra time: 50% (in all 270 mins)"
    )
    assert Exam.model_construct(duration="two hours", extra_time=10).extra_time_text() == "Extra time: 10%"
    assert Exam.model_construct(duration="120 mins", extra_time=0).extra_time_text() == ""


@needs_tex
def test_per_question_pdfs(tmp_path):
    r = cli("build", "paper-b", "--seed", "7", "--per-question", "--out", tmp_path / "out")
    assert r.returncode == 0, r.stderr
    out = tmp_path / "out"
    manifest = json.loads((out / "manifest.json").read_text())
    names = [q["number"] for q in manifest["questions"]]
    recorded = json.loads((out / ".qbgen-files").read_text())["files"]
    whole = pdf_text(out / "exam.pdf")
    for name in names:
        for kind in ("q", "key-q"):
            assert f"{kind}-{name}.pdf" in recorded
        text = pdf_text(out / f"q-{name}.pdf")
        # Its own question under its own number, no other question's.
        assert re.findall(r"^(\d+)\. \S", text, re.M) == [name], text
        assert "Indian Institute of Technology Jammu" in text
        assert set(numbers(out / f"q-{name}.pdf")) <= set(re.findall(r"\d+(?:[.,]\d+)*", whole))
        assert "Answer Key" in pdf_text(out / f"key-q-{name}.pdf")
    # A question's numbers are the whole paper's: question 1's first line in both.
    first = next(ln for ln in pdf_text(out / "q-1.pdf").splitlines() if ln.startswith("1. "))
    assert first in whole


@needs_tex
@needs_browser
def test_accessible_html_paper(tmp_path):
    playwright = pytest.importorskip("playwright.sync_api", reason="playwright not installed")
    write_tree(tmp_path, {"roster.csv": ROSTER})
    r = cli("build", "paper-b", "--roster", tmp_path / "roster.csv", "--html", "--out", tmp_path / "out")
    assert r.returncode == 0, r.stderr
    out = tmp_path / "out"
    manifest = json.loads((out / "21CS02" / "manifest.json").read_text())
    asked: list[str] = []
    errors: list[str] = []
    with playwright.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM)
        context = browser.new_context()
        context.route(
            re.compile(r"^(?!file://).*"), lambda route: (asked.append(route.request.url), route.abort())
        )
        page = context.new_page()
        page.on("pageerror", lambda exc: errors.append(str(exc)))
        page.on("console", lambda msg: errors.append(msg.text) if msg.type == "error" else None)
        page.goto((out / "21CS02" / "exam.html").as_uri())
        page.wait_for_selector("body[data-math=done]", timeout=20000)
        facts = page.evaluate(
            """() => ({
                lang: document.documentElement.lang,
                h1: Array.from(document.querySelectorAll('h1')).map(h => h.textContent),
                h2: Array.from(document.querySelectorAll('main h2')).map(h => h.textContent),
                h3: Array.from(document.querySelectorAll('main h3')).map(h => h.textContent),
                imgs: Array.from(document.images).map(i => [i.alt, i.complete && i.naturalWidth > 0]),
                math: document.querySelectorAll('math').length,
                spans: document.querySelectorAll('span.math').length,
                errors: document.querySelectorAll('.katex-error').length,
                text: document.body.innerText,
            })"""
        )
        browser.close()
    assert not asked and not errors, (asked, errors)
    assert facts["lang"] == "en" and facts["h1"] == ["Deep Learning"]
    questions = manifest["questions"]
    assert [h.split(" (")[0] for h in facts["h2"]] == [f"Question {q['number']}" for q in questions]
    parts = [i for q in questions for i in q["items"] if i != q["number"]]
    assert [h.split(" (")[0] for h in facts["h3"]] == [f"Part {i}" for i in parts]
    # Every figure loads and says what it shows; every formula has its MathML.
    assert facts["imgs"] and all(alt.strip() and loaded for alt, loaded in facts["imgs"]), facts["imgs"]
    assert facts["math"] == facts["spans"] > 0 and facts["errors"] == 0
    assert "Vik Sen" in facts["text"] and "25% (in all 150 mins)" in facts["text"]
    # The page's numbers are the draw's: question 1's given values, as the PDF prints them.
    pdf = pdf_text(out / "21CS02" / "exam.pdf")
    for value in re.findall(r"= (\d+\.\d+)", pdf)[:3]:
        assert value in facts["text"]


@needs_tex
@pytest.mark.parametrize("on_paper", [False, True])
def test_extra_time_is_printed_on_the_students_paper(tmp_path, on_paper):
    # Page 1: under the student's name, or on the cover of an answer-on-paper paper.
    write_tree(tmp_path, {"roster.csv": ROSTER})
    args = ("--on-paper",) if on_paper else ()
    r = cli("build", "quiz", "--roster", tmp_path / "roster.csv", "--out", tmp_path / "out", *args)
    assert r.returncode == 0, r.stderr
    first = {
        sid: pdf_text(tmp_path / "out" / sid / "exam.pdf").split("\f")[0]
        for sid in ("21CS01", "21CS02", "21CS03")
    }
    assert "Extra time" not in first["21CS01"]
    assert "Extra time: 25% (in all 38 mins)" in first["21CS02"]  # the quiz's 30 mins, a quarter more
    assert "Extra time: 50% (in all 45 mins)" in first["21CS03"]

"""Every shipped style prints "Page x of y" on the exam and the key (issue 26, item 7):
y is each paper's own page count, in a single paper, a roster's papers and their joined
exams.pdf, set in one TeX pass (the footer's text is written when the paper ends)."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

from .conftest import BANK, cli, needs_tex

FOOTER = re.compile(r"Page (\d+) of (\d+)")


def _footers(pdf: Path) -> list[list[tuple[int, int]]]:
    # Each page's "Page x of y" footers, as pdftotext reads them (pages split at \f).
    text = subprocess.run(["pdftotext", str(pdf), "-"], capture_output=True, text=True, check=True).stdout
    pages = text.split("\f")[:-1]
    return [[(int(x), int(y)) for x, y in FOOTER.findall(page)] for page in pages]


def _numbered(pdf: Path, least: int = 2) -> int:
    # Every page of a one-paper PDF says "Page k of N", N its page count; returns N.
    pages = _footers(pdf)
    n = len(pages)
    assert n >= least, pdf
    assert pages == [[(k, n)] for k in range(1, n + 1)], (pdf, pages)
    return n


@needs_tex
def test_single_papers_of_both_styles_print_page_x_of_y(tmp_path):
    for spec in ("paper-a", "paper-b"):
        out = tmp_path / spec
        r = cli("build", BANK / "exams" / f"{spec}.yaml", "--out", out)
        assert r.returncode == 0, r.stderr
        _numbered(out / "exam.pdf")
        assert _numbered(out / "key.pdf") >= 10  # a two-digit total, centred like the rest


@needs_tex
def test_a_roster_prints_each_papers_own_count_also_in_exams_pdf(tmp_path):
    # Three students on two cores: documents of more than one paper, one name that
    # pdflatex cannot set. A count of the document's pages, not the paper's, fails here.
    roster = tmp_path / "class.csv"
    roster.write_text("id,name\n21CS01,Asha Rao\n21CS02,प्रिया शर्मा\n21CS03,Nguyễn Thị Minh Khai\n", "utf-8")
    out = tmp_path / "out"
    r = cli("build", BANK / "exams" / "paper-a.yaml", "--roster", roster, "--out", out, "--jobs", "2")
    assert r.returncode == 0, r.stderr
    counts = [_numbered(out / sid / "exam.pdf") for sid in ("21CS01", "21CS02", "21CS03")]
    _numbered(out / "key.pdf")
    # exams.pdf: each paper from an odd page, a blank page between carrying no footer.
    joined = [f for f in _footers(out / "exams.pdf") if f]
    assert joined == [[(k, n)] for n in counts for k in range(1, n + 1)]


@needs_tex
def test_the_style_qbgen_init_makes_prints_page_x_of_y(tmp_path):
    bank = tmp_path / "bank"
    r = cli("init", bank, "--institute", "Northfield", "--code", "CS 1", "--course", "Networks")
    assert r.returncode == 0, r.stderr
    r = cli("build", "--bank", bank, "--out", tmp_path / "out")
    assert r.returncode == 0, r.stderr
    _numbered(tmp_path / "out" / "exam.pdf", least=1)
    _numbered(tmp_path / "out" / "key.pdf")

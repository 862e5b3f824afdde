"""The grader's crib holds every value of every student's own paper, and fits the page.

Graders of per-student papers mark with one model key and the crib: each number with
the interval a grader accepts, each table cell, each choice's correct letters in that
student's own (shuffled) order. Read back with pdftotext and checked against each
student's manifest.json; the crib's TeX log has no line past the margin.
"""

from __future__ import annotations

import json
import re
import shutil

import pytest

from qbgen.typeset import typeset

from .conftest import cli, pdf_text

# A long roll number and a long name: both must wrap inside their columns.
ROSTER = {
    "21CS01": "Asha Rao",
    "21CS02": "Vikram Singh",
    "2021-CSE-B-0000000004-LONGROLL": "Long Name Person Of Great Length Extraordinaire",
    "21CS05": "Ravi",
    "21CS06": "Meera Iyer",
}


@pytest.fixture(scope="module")
def builds(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("crib")
    roster = tmp / "class.csv"
    roster.write_text("id,name\n" + "".join(f"{k},{v}\n" for k, v in ROSTER.items()), "utf-8")
    out = {}
    for spec in ("paper-a", "paper-b"):  # tables and a shuffled choice; paper B's wide question 1
        out[spec] = tmp / spec
        r = cli("build", spec, "--roster", roster, "--out", out[spec])
        assert r.returncode == 0, r.stderr
    return out


def _rows(crib: str) -> dict[tuple[str, str], str]:
    """Each (question number, student id)'s text: the row's line and the lines it wraps onto."""
    rows: dict[tuple[str, str], str] = {}
    number, current = None, None
    for line in crib.splitlines():
        words = line.split()
        if not words:
            continue
        heading = re.match(r"Question (\S+?):", line.strip())
        if heading:
            number, current = heading.group(1), None
            continue
        if words[0] == "Id":  # a table's head: its lines are no student's
            current = None
            continue
        owner = [sid for sid in ROSTER if sid.startswith(words[0])]
        if len(owner) == 1 and number is not None:
            current = (number, owner[0])
        if current is not None:
            rows[current] = rows.get(current, "") + " " + line
    return rows


NUMBER = re.compile(r"([−-]?\d[\d,]*(?:\.\d+)?)(?:\s*×\s*10([−-]?\d+))?")


def _numbers(text: str) -> list[float]:
    out = []
    for m in NUMBER.finditer(text):
        value = float(m.group(1).replace(",", "").replace("−", "-"))
        if m.group(2):
            value *= 10.0 ** int(m.group(2).replace("−", "-"))
        out.append(value)
    return out


def _squeezed(text: str) -> str:
    return re.sub(r"\s+", "", text.replace("$", "").replace(r"\times", "×"))


def _expected(q: dict, bank) -> tuple[list[tuple[str, float, float]], list[str], list[str]]:
    """(intervals, choice letters, text cells) of one question of a student's manifest."""
    intervals = {key: tuple(bounds) for key, bounds in q["accept"].items()}
    letters = []
    for item in q["scoring"].values():
        for key, scoring in item["answers"].items():
            if scoring["rule"] == "interval":
                intervals[key] = (scoring["low"], scoring["high"])
            elif scoring["rule"] == "options":
                letters.append(", ".join(f"({chr(65 + i)})" for i in scoring["correct"]))
    texts = []
    # A table's cells of text (a person marks them), but its given ones.
    for answer in bank.questions[q["id"]].question.all_answers():
        if getattr(answer, "kind", None) == "table":
            for r, row in enumerate(q["answers"][answer.key]):
                texts += [
                    cell
                    for c, cell in enumerate(row)
                    if isinstance(cell, str) and c >= answer.given_columns and r >= answer.given_rows
                ]
    return [(k, lo, hi) for k, (lo, hi) in intervals.items()], letters, texts


@pytest.mark.parametrize("spec", ["paper-a", "paper-b"])
def test_every_students_own_values_are_in_their_row(builds, bank, spec):
    out = builds[spec]
    rows = _rows(pdf_text(out / "crib.pdf", layout=True))
    seen = {"interval": 0, "letters": 0, "text": 0}
    letters_by_question: dict[str, set[str]] = {}
    for sid in ROSTER:
        manifest = json.loads((out / sid / "manifest.json").read_text("utf-8"))
        for q in manifest["questions"]:
            intervals, letters, texts = _expected(q, bank)
            if not (intervals or letters or texts):
                assert (q["number"], sid) not in rows, (sid, q["number"])  # nothing of its own: no row
                continue
            row = rows[(q["number"], sid)]
            numbers = _numbers(row)
            for key, low, high in intervals:
                # The value as the key prints it lies in this student's accepted interval
                # (validate proves the printed rounding is inside it).
                assert any(low <= x <= high for x in numbers), (spec, sid, q["number"], key, low, high, row)
                seen["interval"] += 1
            for want in letters:
                assert want in row, (spec, sid, q["number"], want, row)
                letters_by_question.setdefault(q["number"], set()).add(want)
                seen["letters"] += 1
            squeezed = _squeezed(row)
            for cell in texts:
                assert _squeezed(cell) in squeezed, (spec, sid, q["number"], cell, row)
                seen["text"] += 1
    # Paper A has all three (numbers, a choice, a table with cells of text); paper B no table.
    assert all(seen.values()) if spec == "paper-a" else seen["interval"] and seen["letters"], seen
    # The options are shuffled per student: the crib shows letters that differ between them.
    assert any(len(v) > 1 for v in letters_by_question.values()), letters_by_question


@pytest.mark.parametrize("spec", ["paper-a", "paper-b"])
def test_the_crib_fits_the_page_width(builds, spec, tmp_path):
    # The crib's own source, typeset again (twice: longtable settles its widths on the
    # second run) to read its log, which the build does not keep.
    shutil.copy(builds[spec] / "crib.tex", tmp_path / "crib.tex")
    for _ in range(2):
        typeset(tmp_path / "crib.tex")
    log = (tmp_path / "crib.log").read_text("utf-8", errors="replace")
    assert "Overfull \\hbox" not in log, re.findall(r"Overfull \\hbox.*", log)
    # Question 1 of paper B has eleven numbers: more than one table's width of them.
    tex = (tmp_path / "crib.tex").read_text("utf-8")
    assert tex.count("\\begin{longtable}") > len(re.findall(r"% qbgen: begin ", tex))

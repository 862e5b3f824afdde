"""After the exam, through the CLI: the build's sheets filled in, `qbgen grade`, its outputs
read back and recomputed here by another route."""

import csv
import json
import math
import re

import numpy as np
import pytest

from .conftest import needs_tex, pdf_text, run_cli

pytestmark = needs_tex


def read(path):
    with open(path, newline="", encoding="utf-8") as f:
        return list(csv.reader(f))


def write(path, rows):
    with open(path, "w", newline="", encoding="utf-8") as f:
        csv.writer(f).writerows(rows)


@pytest.fixture(scope="module")
def sets(tmp_path_factory):
    out = tmp_path_factory.mktemp("sets")
    r = run_cli("build", "bank/exams/paper-b.yaml", "--variants", "2", "--out", out)
    assert r.returncode == 0, r.stderr
    return out


def _fill_marks(folder, n=12):
    header, possible = read(folder / "marks.csv")[:2]
    items = header[3:]
    maxima = [float(m) for m in possible[3:]]
    rows = [header, possible]
    for s in range(n):
        # Halves in [0, max], varied by student and item (a spread for the statistics).
        marks = [min(m, 0.5 * ((s * 7 + j * 3) % (2 * m + 1))) for j, m in enumerate(maxima)]
        rows.append([f"s{s:02d}", f"Student {s}", "AB"[s % 2]] + [f"{x:g}" for x in marks])
    rows[2][3] = ""  # one blank: not attempted
    write(folder / "marks.csv", rows)
    return items, maxima, rows[2:]


def test_the_build_writes_sheets_with_every_item_and_its_maximum(sets):
    header, possible = read(sets / "marks.csv")[:2]
    assert header[:3] == ["id", "name", "set"] and possible[0] == "Points Possible"
    manifest = json.loads((sets / "A" / "manifest.json").read_text())
    items = {k: v for q in manifest["questions"] for k, v in q["items"].items()}
    assert header[3:] == list(items) and [float(x) for x in possible[3:]] == list(items.values())
    assert math.isclose(sum(items.values()), manifest["max_marks"])
    responses = read(sets / "responses.csv")[0]
    assert responses[:2] == ["id", "set"]
    # a column per machine-marked answer, named by the printed item and the answer's id
    assert responses[2:] == [
        f"{item}.{ident}"
        for q in manifest["questions"]
        for item, c in q["scoring"].items()
        for ident in c["answers"]
    ]
    assert "2.choice" in responses and "1b.w5_new" in responses


def test_grade_totals_marks_answers_and_analyses_items(sets):
    items, maxima, rows = _fill_marks(sets)
    header = read(sets / "responses.csv")[0]
    man = {c: json.loads((sets / c / "manifest.json").read_text()) for c in "AB"}
    contract = {c: {i: x for q in man[c]["questions"] for i, x in q["scoring"].items()} for c in "AB"}
    typed, expect = [header], {}
    for s, code in (("s00", "A"), ("s01", "B"), ("s02", "A")):
        row = [s, code]
        for column in header[2:]:
            item, ident = column.split(".", 1)
            rule = contract[code][item]["answers"][ident]
            if rule["rule"] == "options":
                wrong_letter = next(chr(65 + i) for i in range(rule["count"]) if i not in rule["correct"])
                value, verdict = {
                    "s00": (",".join(chr(65 + i) for i in rule["correct"]), "correct"),
                    "s01": ("", "blank"),
                    "s02": (wrong_letter, "wrong"),
                }[s]
                row.append(value)
                expect[s, column] = verdict
                continue
            assert rule["rule"] == "interval"
            mistakes = rule["mistakes"]
            if s == "s00":  # the key's own value, as a student writes it (4 figures)
                value, verdict = f"{rule['value']:.4g}", "correct"
            elif s == "s01" and mistakes:  # a declared mistake
                value, verdict = repr(mistakes[0]["value"]), f"mistake: {mistakes[0]['name']}"
            elif s == "s01":
                value, verdict = "", "blank"
            else:  # far off, matching no mistake
                value, verdict = repr(2 * abs(rule["high"]) + 17.5), "wrong"
            row.append(value)
            expect[s, column] = verdict
        typed.append(row)
    write(sets / "responses.csv", typed)
    r = run_cli("grade", sets)
    assert r.returncode == 0, r.stderr
    assert "12 students" in r.stderr

    grades = read(sets / "grades.csv")
    assert grades[0] == ["id", "name"] + items + ["total", "percent"]
    for row, mine in zip(grades[1:], rows, strict=True):
        marks = [float(x) if x else 0.0 for x in mine[3:]]
        assert float(row[-2]) == sum(marks) and math.isclose(
            float(row[-1]), 100 * sum(marks) / 50, abs_tol=0.05
        )
    book = read(sets / "gradebook.csv")
    assert book[0][:3] == ["Student", "ID", "SIS User ID"] and book[1][2] == "s00"

    marked = read(sets / "responses-marked.csv")
    assert marked[0] == ["id", "item", "response", "expected", "low", "high", "verdict", "credit"]
    got = {(row[0], row[1]): row[6] for row in marked[1:]}
    assert got == expect

    # Item analysis, recomputed by another route: alpha from the covariance matrix, per
    # set (the sets' papers differ: no alpha pools them).
    table = read(sets / "items.csv")
    head = table[0]
    by = {(row[0], row[1]): dict(zip(head, row, strict=True)) for row in table[1:]}
    scores = np.array([[float(x) if x else 0.0 for x in mine[3:]] for mine in rows])
    for code in "AB":
        own = scores[[i for i, mine in enumerate(rows) if mine[2] == code]]
        cov = np.cov(own, rowvar=False)
        k = own.shape[1]
        alpha = k / (k - 1) * (1 - np.trace(cov) / cov.sum())
        assert math.isclose(float(by["(test)", code]["alpha"]), alpha, rel_tol=1e-3)
        assert by["9", code]["question"] == "vit-attention-weights"
    assert ("(test)", "") not in by and ("(test)", "(pooled)") not in by
    # Question 9 is one bank question in both sets: pooled over everyone, mean / max.
    j = items.index("9")
    rest = scores.sum(axis=1) - scores[:, j]
    pooled = by["9", "(pooled)"]
    assert pooled["question"] == "vit-attention-weights" and pooled["n"] == "12"
    assert math.isclose(float(pooled["discrimination"]), np.corrcoef(scores[:, j], rest)[0, 1], rel_tol=1e-3)
    assert math.isclose(float(pooled["facility"]), scores[:, j].mean() / maxima[j], rel_tol=1e-3)
    assert float(by[items[0], "(pooled)"]["blank_rate"]) == pytest.approx(1 / 12, rel=1e-3)
    fairness = {row[1]: row for row in read(sets / "fairness.csv")[1:]}
    assert "(test)" in fairness and "vit-attention-weights" in fairness  # were the sets equally hard?
    assert "grading report" in pdf_text(sets / "grading-report.pdf")


@pytest.mark.parametrize(
    "cell, column, says",
    [
        ("2.5", "1a", "2.5 is more than the item's 2 marks"),
        ("-1", "1a", "-1 is negative"),
        ("0.3", "1a", "0.3 is not a whole number of half marks"),
        ("two", "1a", "'two' is not a number"),
        ("Z", "set", "'Z' is not a set of this build (A, B)"),
    ],
)
def test_a_bad_mark_is_one_line_naming_sheet_line_and_column(tmp_path, cell, column, says):
    r = run_cli("build", "bank/exams/paper-b.yaml", "--variants", "2", "--out", tmp_path)
    assert r.returncode == 0, r.stderr
    _fill_marks(tmp_path, n=3)
    rows = read(tmp_path / "marks.csv")
    rows[3][rows[0].index(column)] = cell  # the second student, line 4
    write(tmp_path / "marks.csv", rows)
    r = run_cli("grade", tmp_path)
    assert r.returncode == 2 and r.stderr.count("\n") == 1 and "Traceback" not in r.stderr
    assert r.stderr.startswith(f"error: {tmp_path / 'marks.csv'}:4: {column}: {says}"), r.stderr
    assert not (tmp_path / "grades.csv").exists()  # nothing half-done


def test_a_roster_sheet_lists_the_students_and_a_filled_one_survives_a_rebuild(tmp_path):
    roster = tmp_path / "class.csv"
    roster.write_text("id,name\n21CS01,Asha Rao\n21CS02,Vikram Singh\n21CS03,Meera Iyer\n")
    out = tmp_path / "out"
    r = run_cli("build", "bank/exams/quiz.yaml", "--roster", roster, "--out", out)
    assert r.returncode == 0, r.stderr
    # One model key (the first student's) at the top and the crib, no key per student.
    assert "Answer Key" in pdf_text(out / "key.pdf") and "Asha Rao" in pdf_text(out / "key.pdf")
    assert not (out / "keys.pdf").exists() and not list(out.glob("*/key.pdf"))
    # The crib lists each student whose paper has numbers to check.
    numbered = [
        sid
        for sid in ("21CS01", "21CS02", "21CS03")
        if any(q["accept"] for q in json.loads((out / sid / "manifest.json").read_text())["questions"])
    ]
    crib = pdf_text(out / "crib.pdf")
    assert numbered and all(sid in crib for sid in numbered)
    r = run_cli(
        "build", "bank/exams/quiz.yaml", "--roster", roster, "--student-keys", "--out", tmp_path / "all"
    )
    assert r.returncode == 0, r.stderr
    assert (tmp_path / "all" / "keys.pdf").exists() and len(list((tmp_path / "all").glob("*/key.pdf"))) == 3
    rows = read(out / "marks.csv")
    assert [row[:2] for row in rows[2:]] == [
        ["21CS01", "Asha Rao"],
        ["21CS02", "Vikram Singh"],
        ["21CS03", "Meera Iyer"],
    ]
    for row in rows[2:4]:  # a mark for each item on the student's own paper (pools differ)
        own = json.loads((out / row[0] / "manifest.json").read_text())
        items = {k for q in own["questions"] for k in q["items"]}
        row[2:] = ["0" if column in items else "" for column in rows[0][2:]]
    write(out / "marks.csv", rows[:4] + [rows[4][:2] + [""] * (len(rows[4]) - 2)])
    r = run_cli("grade", out)
    assert r.returncode == 0, r.stderr
    write(out / "marks.csv", rows[:4])  # Meera's row deleted
    r = run_cli("grade", out)
    assert r.returncode == 2 and "id: no marks for 1 of the roster (21CS03)" in r.stderr
    before = (out / "marks.csv").read_bytes()
    r = run_cli("build", "bank/exams/quiz.yaml", "--roster", roster, "--out", out)
    assert r.returncode == 0 and "note: kept" in r.stderr
    assert (out / "marks.csv").read_bytes() == before  # the grader's marks are never replaced


def test_the_crib_lists_every_sets_numbers_as_its_key_prints_them(sets):
    crib = pdf_text(sets / "crib.pdf", layout=True)
    assert "Crib: paper-b" in crib
    for code in "AB":
        # Each answer line of the set's key: "LABEL: VALUE (accept LOW to HIGH)", the
        # interval on the next line where a long label fills the first.
        # (An "Also accepted" line is an alternative the key accepts: not in the crib.)
        text = re.sub(
            r"Also accepted, .*?: \S+\s+\(accept \S+ to \S+\)", "", pdf_text(sets / code / "key.pdf")
        )
        key = re.findall(r": (\S+)\s+\(accept (\S+) to (\S+)\)", text)
        assert len(key) > 10
        rows = [ln.split() for ln in crib.splitlines() if ln.split()[:1] == [code]]
        cells = [cell for row in rows for cell in row[1:]]
        runs = {tuple(cells[i : i + 4]) for i in range(len(cells) - 3)}
        for value, low, high in key:  # the value, then its interval "LOW - HIGH", on the set's row
            assert (value, low, "\u2013", high) in runs, (code, value, low, high)


def test_a_single_paper_has_no_crib(tmp_path):
    assert run_cli("build", "bank/exams/paper-b.yaml", "--out", tmp_path).returncode == 0
    assert not (tmp_path / "crib.pdf").exists() and (tmp_path / "marks.csv").exists()


def test_no_roster_id_can_take_a_name_qbgen_writes_at_the_top(sets):
    # What a build wrote at the top of its folder, and what grade and the exports write
    # there, are all names a student's folder may not have (qbgen.roster.RESERVED).
    from qbgen import grade, publish
    from qbgen.roster import RESERVED
    from qbgen.writers import canvas, crib, lms, moodle, qti21, sheets

    papers = {entry["folder"] for entry in json.loads((sets / "manifest.json").read_text())["papers"]}
    written = {
        p.name for p in sets.iterdir() if not p.name.startswith(".")
    } - papers  # no id makes a dot folder
    assert {"exams.pdf", "keys.pdf", "manifest.json", "crib.pdf", "marks.csv"} <= written
    paper_files = {p.name for p in (sets / sorted(papers)[0]).iterdir()}  # exam.pdf, key.tex, ...
    written |= set(grade.OUTPUTS) | paper_files | {crib.TEX, crib.PDF, publish.FAILED}
    written |= {sheets.MARKS, sheets.RESPONSES, lms.REPORT, moodle.FILE, canvas.PACKAGE, qti21.PACKAGE}
    assert {n.lower() for n in written} <= RESERVED, sorted(written - RESERVED)

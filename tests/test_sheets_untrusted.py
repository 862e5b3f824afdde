"""Untrusted text stays text; grade and export keep what they don't own; grade reads its
sheets as strictly as the roster reader (issue 23, items 1, 2 and 6).

Real builds (pdflatex), the real CLI in this process, real files; the full disk and the
read-only folder are real tmpfs mounts (skipped where this machine cannot mount one).
"""

import csv
import hashlib
import io
import json
import re
import shutil
import subprocess
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from qbgen.errors import InputError
from qbgen.writers.sheets import as_cell, text_of

from .conftest import cli, needs_tex

FORMULA = ("=", "+", "-", "@", "\t", "\r")
NUMBER = re.compile(r"[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?", re.ASCII)
HOSTILE = {  # id -> name, as a roster from a spreadsheet may hold them
    "s1": '=HYPERLINK("http://x";"y")',
    "@s2": "+Ravi",
    "-5": "-2+3",  # a real number stays a number: the id -5
    "s4": "@SUM(A1:A9)",
}


def read(path):
    return list(csv.reader(io.StringIO(path.read_text("utf-8"), newline="")))


def write(path, rows, delimiter=","):
    out = io.StringIO()
    csv.writer(out, delimiter=delimiter, lineterminator="\n").writerows(rows)
    path.write_text(out.getvalue(), "utf-8")


def one_line(r, code=2):
    assert r.returncode == code, r.stdout + r.stderr
    assert "Traceback" not in r.stderr
    lines = r.stderr.splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), r.stderr
    return lines[0]


def state(folder):
    # Every file's bytes (and every folder), but the lock: what "untouched" means.
    return {
        str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest() if p.is_file() else "dir"
        for p in sorted(folder.rglob("*"))
        if p.name != ".qbgen-lock"
    }


def unquoted(cell):
    return cell[1:] if cell.startswith("'") else cell


def fill(folder, zero=()):
    """Fill marks.csv: each student's item at its maximum on that paper, `zero` items 0."""
    rows = read(folder / "marks.csv")
    header = rows[0]
    first = len([c for c in header if c in ("id", "name", "set")])
    possible = {r[2] if first == 3 else "": r for r in rows[1:] if r[0] == "Points Possible"}
    students = [r for r in rows[1:] if r[0] != "Points Possible"]
    if not students:  # a sets build: the grader adds the rows
        students = [[f"t{i}", f"Student {i}", "AB"[i % 2]] for i in range(4)]
    filled = []
    for row in students:
        if first == 3:
            maxima = possible[row[2]]
        else:
            paper = json.loads((folder / _folder(unquoted(row[0])) / "manifest.json").read_text())
            own = {k: v for q in paper["questions"] for k, v in q["items"].items()}
            maxima = [""] * first + [f"{own[c]:g}" if c in own else "" for c in header[first:]]
        marks = ["0" if m and c in zero else m for c, m in zip(header[first:], maxima[first:], strict=True)]
        filled.append(row[:first] + marks)
    write(folder / "marks.csv", [header, *possible.values(), *filled])
    return header, filled


def _folder(sid):
    from qbgen.roster import folder_for

    return folder_for(sid)


@pytest.fixture(scope="module")
def roster_build(tmp_path_factory):
    root = tmp_path_factory.mktemp("roster")
    roster = root / "class.csv"
    write(roster, [["id", "name"], *HOSTILE.items()])
    r = cli("build", "bank/exams/quiz.yaml", "--roster", roster, "--out", root / "out")
    assert r.returncode == 0, r.stderr
    return root / "out"


@pytest.fixture(scope="module")
def sets_build(tmp_path_factory):
    out = tmp_path_factory.mktemp("sets") / "out"
    r = cli("build", "bank/exams/quiz.yaml", "--variants", "2", "--out", out)
    assert r.returncode == 0, r.stderr
    return out


@pytest.fixture()
def roster_copy(roster_build, tmp_path):
    return Path(shutil.copytree(roster_build, tmp_path / "b", symlinks=True))


@pytest.fixture()
def sets_copy(sets_build, tmp_path):
    return Path(shutil.copytree(sets_build, tmp_path / "b", symlinks=True))


def assert_no_formula(folder):
    # Every cell of every CSV in the folder: text a spreadsheet shows, never a formula
    # (a number may begin with - or +).
    checked = 0
    for path in folder.rglob("*.csv"):
        for row in read(path):
            for cell in row:
                checked += 1
                assert not cell.startswith(FORMULA) or NUMBER.fullmatch(cell), (path.name, cell)
    assert checked > 100


# ---------------------------------------------------------------- 1: formula injection


@given(st.text())
def test_a_cell_is_never_a_formula_and_reads_back_as_it_was(value):
    cell = as_cell(value)
    assert text_of(cell) == value
    assert not cell.startswith(FORMULA) or NUMBER.fullmatch(cell)


@pytest.mark.parametrize("number", ["-1", "-0.5", "+3", "-1e-07", "-.5"])
def test_a_real_negative_number_stays_a_number(number):
    assert as_cell(number) == number


@needs_tex
def test_roster_names_and_ids_that_look_like_formulas_stay_text_in_every_sheet(roster_copy):
    out = roster_copy
    header, rows = fill(out)
    marks = {unquoted(r[0]): r[1] for r in read(out / "marks.csv")[2:]}
    assert marks["s1"] == "'" + HOSTILE["s1"] and marks["@s2"] == "'+Ravi"  # the id too: '@s2
    assert [r[0] for r in read(out / "marks.csv")[2:]] == ["s1", "'@s2", "-5", "s4"]
    responses = read(out / "responses.csv")
    negative = responses[0].index(next(c for c in responses[0] if c.startswith("8b.")))
    responses[1][negative] = "-3.5"  # a typed negative answer: a number in every sheet
    write(out / "responses.csv", responses)
    r = cli("grade", out)
    assert r.returncode == 0, r.stderr
    assert_no_formula(out)
    # The names are the roster's, read back whole through the quote.
    grades = read(out / "grades.csv")
    assert {unquoted(g[0]): unquoted(g[1]) for g in grades[1:]} == HOSTILE
    book = read(out / "gradebook.csv")
    assert [b[0] for b in book[1:]] == [as_cell(n) for n in HOSTILE.values()]
    assert [b[2] for b in book[1:]] == ["s1", "'@s2", "-5", "s4"]
    marked = {(m[0], m[1]): m[2] for m in read(out / "responses-marked.csv")[1:]}
    assert marked["s1", responses[0][negative]] == "-3.5"


@needs_tex
def test_a_name_in_marks_csv_that_is_not_the_roster_s_is_one_line(roster_copy):
    fill(roster_copy)
    rows = read(roster_copy / "marks.csv")
    rows[3][1] = "Someone Else"  # the second student, line 4
    write(roster_copy / "marks.csv", rows)
    line = one_line(cli("grade", roster_copy))
    assert line == (
        f"error: {roster_copy / 'marks.csv'}:4: name: 'Someone Else' is not the roster's name for "
        "'@s2' ('+Ravi'); correct the sheet or the roster"
    )
    assert not (roster_copy / "grades.csv").exists()


# ---------------------------------------------------------------- 2: what grade and export own


@needs_tex
def test_grade_records_its_files_and_a_rebuild_keeps_them(roster_copy, roster_build):
    out = roster_copy
    fill(out)
    assert cli("grade", out).returncode == 0
    owners = json.loads((out / ".qbgen-files").read_text())["owners"]
    assert set(owners["grade"]) == {
        "grades.csv",
        "gradebook.csv",
        "items.csv",
        "fairness.csv",
        "grading-report.pdf",
    }
    assert "marks.csv" in owners["build"] and "grades.csv" not in owners["build"]
    grades = (out / "grades.csv").read_bytes()
    roster = roster_build.parent / "class.csv"
    r = cli("build", "bank/exams/quiz.yaml", "--roster", roster, "--out", out)
    assert r.returncode == 0 and "note: kept" in r.stderr, r.stderr
    assert (out / "grades.csv").read_bytes() == grades  # grade's, not the build's to remove
    r = cli("grade", out)  # its own file: replaced
    assert r.returncode == 0, r.stderr


@needs_tex
@pytest.mark.parametrize("what", ["file", "folder"])
def test_grade_refuses_a_grades_csv_it_did_not_write(sets_copy, what):
    fill(sets_copy)
    if what == "file":
        (sets_copy / "grades.csv").write_text("the registrar's own\n")
    else:
        (sets_copy / "grades.csv").mkdir()
    before = state(sets_copy)
    line = one_line(cli("grade", sets_copy))
    assert line.startswith(f"error: {sets_copy / 'grades.csv'}: was not written by a qbgen grade"), line
    assert state(sets_copy) == before  # no other output either: all or nothing


def test_a_publish_replaces_only_its_own_command_s_files(tmp_path):
    # publish() over real folders, as build, export and site call it (each tells the
    # command from its files when not told).
    import tempfile

    from qbgen.publish import owners, publish

    out = tmp_path / "o"
    out.mkdir()

    def run(files, **kw):
        tmp = Path(tempfile.mkdtemp(prefix=".o.qbgen-build-1-", dir=tmp_path))
        for name in files:
            (tmp / name).parent.mkdir(parents=True, exist_ok=True)
            (tmp / name).write_text(f"{name} {kw}")
        try:
            return publish(tmp, out, list(files), **kw)
        finally:
            shutil.rmtree(tmp, ignore_errors=True)

    run(["manifest.json", "exam.pdf", "marks.csv"])  # a build
    (out / "marks.csv").write_text("id,name,1\ns1,Asha,2\n")  # filled in
    before = state(out)
    with pytest.raises(InputError) as exc:
        run(["manifest.json", "quiz.xml", "export-report.txt"])  # an export into it
    assert str(exc.value) == (
        f"{out / 'manifest.json'}: was written by `qbgen build`, and `qbgen export` replaces only "
        "what it wrote itself; choose another --out"
    )
    assert state(out) == before
    run(["index.html", "figures/a.svg"])  # a site beside it: joins, removes nothing
    run(["grades.csv"], command="grade")
    assert owners(out) == {
        "manifest.json": "build",
        "exam.pdf": "build",
        "marks.csv": "build",
        "index.html": "site",
        "figures/a.svg": "site",
        "grades.csv": "grade",
    }
    run(["manifest.json", "exams.pdf", "marks.csv"])  # a rebuild: its own exam.pdf goes
    assert sorted(owners(out)) == sorted(
        ["manifest.json", "exams.pdf", "marks.csv", "index.html", "figures/a.svg", "grades.csv"]
    )
    assert not (out / "exam.pdf").exists() and (out / "figures/a.svg").exists()
    assert (out / "grades.csv").read_text() == "grades.csv {'command': 'grade'}"


@needs_tex
def test_export_into_a_build_s_folder_is_refused_and_leaves_it_whole(sets_copy):
    fill(sets_copy)
    before = state(sets_copy)
    assert (sets_copy / "crib.pdf").exists() and (sets_copy / "A" / "exam.pdf").exists()
    r = cli("export", "bank/exams/quiz.yaml", "--variants", "2", "--to", "moodle", "--out", sets_copy)
    line = one_line(r)
    assert "was written by `qbgen build`, and `qbgen export` replaces only what it wrote" in line, line
    assert state(sets_copy) == before  # the filled marks.csv, every PDF, the crib


# ---------------------------------------------------------------- 6: grade reads like the roster


@needs_tex
def test_excel_unicode_text_and_european_semicolons_read_as_the_plain_sheet(sets_copy):
    out = sets_copy
    header, rows = fill(out, zero={"2"})
    assert cli("grade", out).returncode == 0
    plain = (out / "grades.csv").read_bytes()
    sheet = read(out / "marks.csv")
    # Excel's "Unicode text": UTF-16 with its byte-order mark, tab-separated.
    text = "\n".join("\t".join(r) for r in sheet) + "\n"
    (out / "marks.csv").write_bytes(text.encode("utf-16"))
    assert cli("grade", out).returncode == 0
    assert (out / "grades.csv").read_bytes() == plain
    # A European Excel: semicolons, decimal commas.
    european = [r[:3] + [c.replace(".", ",") for c in r[3:]] for r in sheet]
    assert any("," in c for r in european for c in r)  # a half mark, written 1,5
    write(out / "marks.csv", european, delimiter=";")
    assert cli("grade", out).returncode == 0
    assert (out / "grades.csv").read_bytes() == plain
    # Fullwidth digits and -0.
    wide = str.maketrans("0123456789", "０１２３４５６７８９")
    typed = sheet[:3] + [r[:3] + [c.translate(wide) if c != "0" else "-0" for c in r[3:]] for r in sheet[3:]]
    assert any("-0" in r for r in typed) and any("３" in c for r in typed for c in r)
    write(out / "marks.csv", typed)
    assert cli("grade", out).returncode == 0
    assert (out / "grades.csv").read_bytes() == plain


def _marks(out, edit):
    fill(out)
    rows = read(out / "marks.csv")
    edit(rows)
    write(out / "marks.csv", rows)


def _raw(out, name, edit):
    fill(out)
    path = out / name
    path.write_bytes(edit(path.read_bytes()))


def _latin1(out):
    fill(out)
    rows = read(out / "marks.csv")
    rows[3][1] = "José"
    out.joinpath("marks.csv").write_bytes("\n".join(",".join(r) for r in rows).encode("latin-1"))


def _responses(out, edit):
    fill(out)
    rows = read(out / "responses.csv")
    rows.append(["t0", "A"] + [""] * (len(rows[0]) - 2))
    edit(rows)
    write(out / "responses.csv", rows)


def _manifest(name, data):
    def edit(out):
        fill(out)
        (out / name).write_text(data if isinstance(data, str) else json.dumps(data))

    return edit


def _column(rows, name, value, row=3, at=None):
    # A column `name` (at position `at`, else last), empty but for `value` on `row`.
    at = len(rows[0]) if at is None else at
    for i, r in enumerate(rows):
        r.insert(at, name if i == 0 else value if i == row else "")


BAD = {
    "latin-1": (
        _latin1,
        "marks.csv:4: not UTF-8 text (byte 0xe9 at column 7); save the marks sheet as CSV UTF-8",
    ),
    "a 200,000-character cell": (
        lambda out: _marks(out, lambda rows: rows[4].__setitem__(1, "x" * 200_000)),
        "marks.csv:5: a cell of more than 131072 characters",
    ),
    "a column named twice": (
        lambda out: _marks(out, lambda rows: rows[0].__setitem__(4, rows[0][3])),
        "marks.csv:1: column 1 given twice",
    ),
    "an unknown column of marks": (
        lambda out: _marks(out, lambda rows: _column(rows, "bonus", "2")),
        "marks.csv:4: bonus: '2' in a column that is not an item of this build: its marks would be dropped",
    ),
    "a column with no name holding marks": (
        lambda out: _marks(out, lambda rows: _column(rows, "", "1.5", at=3)),
        "marks.csv:4: column 4 (no name): '1.5' in a column that is not an item",
    ),
    "more cells than columns": (
        lambda out: _marks(out, lambda rows: rows[5].append("3")),
        "marks.csv:6: more cells than the header has columns",
    ),
    "a negative mark with a real minus sign": (
        lambda out: _marks(out, lambda rows: rows[3].__setitem__(3, "\u22121")),
        "marks.csv:4: 1: \u22121 is negative",
    ),
    "an id with a zero-width space": (
        lambda out: _marks(out, lambda rows: rows[4].__setitem__(0, "t0\u200b")),
        "marks.csv:5: id: invisible character U+200B ZERO WIDTH SPACE in the id 't0\\u200b'",
    ),
    "an open quote in responses.csv": (
        lambda out: _raw(out, "responses.csv", lambda b: b + b't1,B,"0.5\nt2,A,1\n'),
        "responses.csv:2: a quote opened in this row is never closed",
    ),
    "a responses row of no one in marks.csv": (
        lambda out: _responses(out, lambda rows: rows[1].__setitem__(2, "1") or rows[1].__setitem__(0, "t9")),
        "responses.csv:2: id: 't9' has no row in marks.csv",
    ),
    "a responses row on another set than marks.csv's": (
        lambda out: _responses(out, lambda rows: rows[1].__setitem__(2, "1") or rows[1].__setitem__(1, "B")),
        "responses.csv:2: set: 'B', but marks.csv gives 't0' set 'A'",
    ),
    "a misnamed answer column": (
        lambda out: _responses(out, lambda rows: _column(rows, "1.typo", "B", row=1)),
        "responses.csv:2: 1.typo: 'B' in a column that is no answer of this build",
    ),
    "a top manifest that is a list": (_manifest("manifest.json", "[]"), "manifest.json: Input should be"),
    "papers not a list": (
        _manifest("manifest.json", {"papers": 3}),
        "manifest.json: papers: Input should be",
    ),
    "a paper folder outside the build": (
        _manifest("manifest.json", {"papers": [{"folder": "../A"}]}),
        "manifest.json: papers.0.folder: String should match pattern",
    ),
    "not JSON": (_manifest("manifest.json", "{"), "manifest.json: not JSON: Expecting property name"),
    "deeply nested JSON": (_manifest("manifest.json", "[" * 100_000), "manifest.json: not JSON"),
    "a paper's item of no marks": (
        _manifest("A/manifest.json", {"questions": [{"id": "q", "number": "1", "items": {"1": 0}}]}),
        "A/manifest.json: questions.0.items.1: Input should be greater than 0",
    ),
}


@needs_tex
@pytest.mark.parametrize("case", BAD, ids=list(BAD))
def test_a_bad_sheet_or_manifest_is_one_line_and_nothing_is_written(sets_copy, case):
    make, says = BAD[case]
    make(sets_copy)
    before = state(sets_copy)
    line = one_line(cli("grade", sets_copy))
    assert line.startswith(f"error: {sets_copy}/{says}"), line
    assert state(sets_copy) == before


@needs_tex
def test_a_roster_student_missing_from_responses_csv_is_one_line(roster_copy):
    fill(roster_copy)
    rows = read(roster_copy / "responses.csv")
    rows[1][1] = "0.5"  # something typed: the sheet is in use
    write(roster_copy / "responses.csv", rows[:3] + rows[4:])  # -5's row lost
    line = one_line(cli("grade", roster_copy))
    assert line.startswith(f"error: {roster_copy / 'responses.csv'}: id: no row for 1 of the roster (-5)")


@pytest.mark.parametrize(
    "sid, named",
    [
        ("s1\u200b", "U+200B ZERO WIDTH SPACE"),
        ("s\u202e1", "U+202E RIGHT-TO-LEFT OVERRIDE"),
        ("s\u20601", "U+2060 WORD JOINER"),
    ],
)
def test_ids_that_differ_only_by_an_invisible_character_are_refused_at_the_roster(tmp_path, sid, named):
    roster = tmp_path / "class.csv"
    write(roster, [["id", "name"], ["s1", "Asha"], [sid, "Ravi"]])
    line = one_line(cli("build", "bank/exams/quiz.yaml", "--roster", roster, "--out", tmp_path / "o"))
    assert line.startswith(f"error: {roster}:3: id: invisible character {named} in the id {sid!r}"), line
    assert sid not in line  # named, never shown (a right-to-left override would turn the line)
    assert not (tmp_path / "o").exists()


# ---------------------------------------------------------------- the machine says no


def _mount(where, *options):
    where.mkdir()
    cmd = ["mount", "-t", "tmpfs", "-o", ",".join(["size=16m", *options]), "tmpfs", str(where)]
    try:
        if subprocess.run(cmd, capture_output=True).returncode != 0:
            pytest.skip("cannot mount a tmpfs here")
    except OSError:
        pytest.skip("no mount program")


@needs_tex
def test_a_full_disk_is_one_line_and_leaves_the_folder_as_it_was(sets_build, tmp_path):
    mnt = tmp_path / "mnt"
    _mount(mnt)
    try:
        out = Path(shutil.copytree(sets_build, mnt / "b", symlinks=True))
        fill(out)
        before = state(out)
        with open(mnt / "filler", "wb", buffering=0) as f:  # the rest of the disk
            try:
                while True:
                    f.write(b"\0" * 65536)
            except OSError:
                pass
        line = one_line(cli("grade", out))
        assert line == f"error: {out}: cannot write the output: No space left on device", line
        assert state(out) == before
        assert sorted(p.name for p in mnt.iterdir()) == ["b", "filler"]  # no staging folder left
    finally:
        subprocess.run(["umount", str(mnt)], check=False)


@needs_tex
def test_a_read_only_folder_is_one_line(sets_build, tmp_path):
    mnt = tmp_path / "mnt"
    _mount(mnt)
    try:
        out = Path(shutil.copytree(sets_build, mnt / "b", symlinks=True))
        fill(out)
        subprocess.run(["mount", "-o", "remount,ro", str(mnt)], check=True)
        line = one_line(cli("grade", out))
        assert line == f"error: {out}: cannot write the output folder: Read-only file system", line
    finally:
        subprocess.run(["umount", str(mnt)], check=False)

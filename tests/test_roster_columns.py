"""Issue 26, item 4: the roster's `section`, `email`, `username` and the columns a spec's
`roster_columns` names are kept: on the paper where a style prints them, in the manifest,
marks.csv, grades.csv, both gradebooks, `exams-SECTION.pdf` (`--split-by section`) and
each section's statistics in items.csv and the report. Other columns stay ignored. All
of it is the roster's text: escaped in LaTeX, neutralised in CSV, shown as written."""

import csv
import json
import math
import re
import shutil

import numpy as np
import pytest

from qbgen.errors import InputError
from qbgen.models import Candidate
from qbgen.roster import load_roster
from qbgen.writers.split import split_file

from .conftest import BANK, ROOT, cli, needs_tex, pdf_text, write_tree

# Section B's text would leave the folder as a file name, and starts matplotlib's
# mathtext with `$`; the programme and a name are TeX's and a spreadsheet's specials.
SEC_B = "../B/x $5"
PROG = "M.Tech & 100% $#{}_~^\\"
ROSTER = (
    "ID;Name;Section;EMAIL;Username;Programme;Phone\n"
    "21CS01;Asha Rao;A;asha@iitjammu.ac.in;asha;B.Tech;98100\n"
    f'21CS02;"=HYPERLINK(""http://x"";""y"")";{SEC_B};vik@iitjammu.ac.in;;{PROG};98101\n'
    "21CS03;Meera Iyer;A;;meera;PhD;\n"
    f"21CS04;Kabir Das;{SEC_B};kabir@iitjammu.ac.in;kabir;B.Tech;\n"
    "21CS05;Zoya Khan;A;zoya@iitjammu.ac.in;zoya;+B.Tech;\n"
)


def read(path):
    with open(path, newline="", encoding="utf-8") as f:
        return list(csv.reader(f))


def write(path, rows):
    with open(path, "w", newline="", encoding="utf-8") as f:
        csv.writer(f).writerows(rows)


def spec_text(style="iitjammu-b", columns="[programme]"):
    text = (BANK / "exams" / "paper-b.yaml").read_text()
    return text.replace("style: iitjammu-b", f"style: {style}\nroster_columns: {columns}")


# --------------------------------------------------------------------------- the roster


def test_the_roster_keeps_its_own_columns_and_the_specs_and_ignores_the_rest(tmp_path):
    path = write_tree(tmp_path, {"class.csv": ROSTER}) / "class.csv"
    students = load_roster(path, ["programme"])
    assert [s.id for s in students] == ["21CS01", "21CS02", "21CS03", "21CS04", "21CS05"]
    first, second, third = students[:3]
    assert (first.section, first.email, first.username) == ("A", "asha@iitjammu.ac.in", "asha")
    assert dict(first.columns) == {"programme": "B.Tech"}  # Phone: not named, ignored
    assert second.name == '=HYPERLINK("http://x";"y")' and second.section == SEC_B
    assert second.columns["programme"] == PROG and second.login() == "vik@iitjammu.ac.in"
    assert third.email == "" and third.login() == "meera"
    assert third.fields() == {"section": "A", "username": "meera", "programme": "PhD"}
    # Without roster_columns, programme is ignored as Phone is.
    assert all(not s.columns for s in load_roster(path))
    # A roster of ids and names gives the candidates it always did.
    plain = write_tree(tmp_path, {"plain.csv": "id,name\n1,A\n"}) / "plain.csv"
    assert load_roster(plain) == [Candidate(id="1", name="A")]


@pytest.mark.parametrize(
    ("text", "columns", "message"),
    [
        ("id,name\n1,A\n", ["programme"], "class.csv:1: missing column programme, which the spec's"),
        ("id,name,email\n1,A,asha.iitjammu.ac.in\n", [], "class.csv:2: email: 'asha.iitjammu.ac.in' is not"),
        ("id,name,email\n1,A,a@b@c\n", [], "class.csv:2: email: 'a@b@c' is not an email address"),
        ("id,name,username\n1,A,asha rao\n", [], "class.csv:2: username: 'asha rao': a username has no"),
        ('id,name,section\n1,A,"x\ny"\n', [], "class.csv:2: section: a roster field may not run over"),
        ("id,name,section\n1,A,x\x07\n", [], "class.csv:2: section: control character U+0007"),
        ("id,name,section\n1,A,\U0001f600\n", [], "class.csv:2: section: \U0001f600 (U+1F600"),
        (
            "id,name,programme\n1,A," + "x" * 201 + "\n",
            ["programme"],
            "class.csv:2: programme: 201 characters",
        ),
    ],
)
def test_a_kept_column_is_read_as_strictly_as_a_name(tmp_path, text, columns, message):
    path = write_tree(tmp_path, {"class.csv": ""}) / "class.csv"
    path.write_text(text, "utf-8")
    with pytest.raises(InputError) as exc:
        load_roster(path, columns)
    assert message in f"{exc.value}"


@pytest.mark.parametrize(
    ("columns", "message"),
    [
        ("[Programme]", "roster_columns[0]: String should match pattern"),
        ("[section]", "roster_columns: 'section' is kept without naming it"),
        ("[programme, programme]", "roster_columns: column programme named twice"),
    ],
)
def test_a_bad_roster_columns_is_one_line_with_the_specs_line(tmp_path, columns, message):
    write_tree(tmp_path, {"exam.yaml": spec_text(columns=columns), "class.csv": "id,name\n1,A\n"})
    r = cli("build", tmp_path / "exam.yaml", "--roster", tmp_path / "class.csv", "--out", tmp_path / "o")
    assert r.returncode == 2 and "Traceback" not in r.stderr
    line = next(i for i, ln in enumerate(spec_text().splitlines(), 1) if ln.startswith("roster_columns"))
    assert f"exam.yaml:{line}: {message}" in r.stderr, r.stderr
    assert len(r.stderr.strip().splitlines()) == 1


def test_a_sections_file_name_never_leaves_the_folder_and_never_shares():
    assert split_file("A") == "exams-A.pdf" and split_file("CS-101_b") == "exams-CS-101_b.pdf"
    names = {s: split_file(s) for s in ["A/B", "A_B", "A B", "../x", "..", "सेक्शन", "A.1", "x" * 300]}
    assert len(set(names.values())) == len(names)  # A/B, A_B and A B: three files
    for name in names.values():
        assert re.fullmatch(r"exams-[A-Za-z0-9_-]+\.pdf", name) and len(name) < 60, name
    assert names["A_B"] == "exams-A_B.pdf" and names["A/B"].startswith("exams-A_B-")


# --------------------------------------------------------------------------- a build


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    """A roster build with sections, by a style of the bank's own that prints them."""
    tmp = tmp_path_factory.mktemp("roster-columns")
    paper = (ROOT / "templates" / "iitjammu-b" / "paper.tex.j2").read_text()
    line = r"\VAR{f.candidate_and_instructions(exam)|tex}"
    assert line in paper
    own = paper.replace(line, line + "\n" + r'\VAR{f.candidate_fields(exam, ["section", "programme"])|tex}')
    write_tree(
        tmp,
        {
            "bank/templates/sectioned/paper.tex.j2": own,
            "bank/exams/exam.yaml": spec_text(style="sectioned"),
            "class.csv": ROSTER,
        },
    )
    out = tmp / "out"
    r = cli(
        "build", tmp / "bank/exams/exam.yaml", "--bank", tmp / "bank", "--bank", "builtin",
        "--roster", tmp / "class.csv", "--split-by", "section", "--out", out,
    )  # fmt: skip
    assert r.returncode == 0, r.stderr
    return tmp, out


@needs_tex
def test_each_section_gets_its_papers_in_a_file_whose_name_stays_in_the_folder(built):
    tmp, out = built
    b = split_file(SEC_B)
    assert "/" not in b and (out / b).is_file() and (out / "exams-A.pdf").is_file()
    assert sorted(p.name for p in out.glob("exams*.pdf")) == sorted(["exams.pdf", "exams-A.pdf", b])
    assert not list(tmp.glob("B*")) and not list(tmp.glob("**/x*.pdf"))  # nothing outside
    import pikepdf

    def pages(path):
        with pikepdf.open(path) as pdf:
            return len(pdf.pages)

    for name, ids in (("exams-A.pdf", ["21CS01", "21CS03", "21CS05"]), (b, ["21CS02", "21CS04"])):
        text = pdf_text(out / name)
        assert re.findall(r"Roll No\.: (\S+)", text) == ids  # that section's, in roster order
        # each paper from an odd page: its own pages, rounded up to even but the last
        own = [pages(out / i / "exam.pdf") for i in ids]
        assert pages(out / name) == sum(p + p % 2 for p in own[:-1]) + own[-1]
    owned = json.loads((out / ".qbgen-files").read_text())
    assert {"exams-A.pdf", b} <= set(owned["owners"]["build"])


@needs_tex
def test_a_style_prints_the_columns_as_written(built):
    _, out = built
    text = pdf_text(out / "21CS02" / "exam.pdf")
    assert f"Section: {SEC_B}" in text and f"Programme: {PROG}" in text
    assert "Phone" not in text and "98101" not in text
    first = pdf_text(out / "21CS01" / "exam.pdf")
    assert "Section: A Programme: B.Tech" in " ".join(first.split()) and "oindent" not in first
    assert "Email" not in first  # only the columns the style names


@needs_tex
def test_the_manifest_and_marks_csv_carry_the_columns(built):
    _, out = built
    manifest = json.loads((out / "21CS02" / "manifest.json").read_text())
    assert manifest["candidate"] == {
        "id": "21CS02",
        "name": '=HYPERLINK("http://x";"y")',
        "section": SEC_B,
        "email": "vik@iitjammu.ac.in",
        "columns": {"programme": PROG},
    }
    rows = read(out / "marks.csv")
    assert rows[0][:6] == ["id", "name", "section", "email", "username", "programme"]
    assert rows[1][:6] == ["Points Possible", "", "", "", "", ""]
    assert rows[3][:6] == ["21CS02", '\'=HYPERLINK("http://x";"y")', SEC_B, "vik@iitjammu.ac.in", "", PROG]
    assert rows[6][5] == "'+B.Tech"  # a formula's first character, as text
    assert all(cell == "" for row in rows[2:] for cell in row[6:])  # nothing for the graders yet
    assert read(out / "responses.csv")[1][0] == "21CS01"


def _fill(out, drop=()):
    # Marks for everyone by a rule, in a copy of the build's marks.csv; `drop`: columns left out.
    rows = read(out / "marks.csv")
    header = rows[0]
    items = {
        c: float(m)
        for c, m in zip(header, rows[1], strict=True)
        if m and c != "id" and m != "Points Possible"
    }
    for k, row in enumerate(rows[2:]):
        for j, c in enumerate(header):
            if c in items:
                row[j] = f"{min(items[c], 0.5 * ((k * 5 + j * 3) % (2 * items[c] + 1))):g}"
    keep = [j for j, c in enumerate(header) if c not in drop]
    return [[row[j] for j in keep] for row in rows], items


@needs_tex
def test_grade_fills_the_gradebooks_and_analyses_each_section(built, tmp_path):
    _, built_out = built
    out = tmp_path / "out"
    shutil.copytree(built_out, out)
    rows, items = _fill(out)
    write(out / "marks.csv", rows)
    r = cli("grade", out)
    assert r.returncode == 0, r.stderr
    marks = {row[0]: row for row in rows[2:]}
    header = rows[0]

    def total(sid):
        return math.fsum(float(marks[sid][header.index(i)] or 0) for i in items)

    grades = read(out / "grades.csv")
    assert grades[0][:6] == ["id", "name", "section", "email", "username", "programme"]
    assert grades[2][2] == SEC_B and grades[2][5] == PROG
    book = read(out / "gradebook.csv")
    assert book[0] == ["Student", "ID", "SIS User ID", "SIS Login ID", "Section", "exam (50)"]
    assert book[1] == ["Asha Rao", "", "21CS01", "asha", "A", f"{total('21CS01'):g}"]
    assert book[2][:5] == ['\'=HYPERLINK("http://x";"y")', "", "21CS02", "vik@iitjammu.ac.in", SEC_B]
    assert book[3][2:5] == ["21CS03", "meera", "A"]  # no email: the username
    moodle = read(out / "gradebook-moodle.csv")
    assert moodle[0] == ["ID number", "Email address", "Username", "Full name", "exam (50)"]
    assert moodle[3] == ["21CS03", "", "meera", "Meera Iyer", f"{total('21CS03'):g}"]
    assert moodle[2][:3] == ["21CS02", "vik@iitjammu.ac.in", ""]
    # items.csv: the class's rows as before (section empty), then each section's,
    # recomputed here from the marks by another route.
    analysis = read(out / "items.csv")
    cols = analysis[0]
    assert cols[:4] == ["item", "set", "section", "question"]
    rows_by = [dict(zip(cols, row, strict=True)) for row in analysis[1:]]
    assert [r["section"] for r in rows_by if r["item"] == "(test)"] == ["", "A", SEC_B]
    sections = {"A": ["21CS01", "21CS03", "21CS05"], SEC_B: ["21CS02", "21CS04"]}
    for section, ids in sections.items():
        own = {r["item"]: r for r in rows_by if r["section"] == section}
        assert set(own) == set(items) | {"(test)"}
        for item, most in items.items():
            got = np.array([float(marks[s][header.index(item)] or 0) for s in ids])
            assert float(own[item]["mean"]) == pytest.approx(got.mean(), rel=1e-3)
            assert float(own[item]["facility"]) == pytest.approx(got.mean() / most, rel=1e-3)
            assert own[item]["n"] == str(len(ids))
        assert float(own["(test)"]["mean"]) == pytest.approx(np.mean([total(s) for s in ids]), rel=1e-3)
    # the class's own rows are unchanged by the sections
    everyone = {r["item"]: r for r in rows_by if r["section"] == "" and r["set"] == ""}
    assert everyone["(test)"]["n"] == "5"
    report = pdf_text(out / "grading-report.pdf")
    assert "Facility by item and section" in report and "(n=3" in report and "$5 (n=2" in report
    # A section's flags are not the class's: the summary names the class's only.
    assert "to review" not in r.stderr or all(s not in r.stderr for s in ("A:", SEC_B))


@needs_tex
def test_grade_reads_a_marks_csv_without_the_columns_and_refuses_one_that_contradicts(built, tmp_path):
    _, built_out = built
    out = tmp_path / "out"
    shutil.copytree(built_out, out)
    # A sheet as builds before this wrote it (id, name, items): read as before, and
    # the gradebook still has the roster's columns, from the manifests.
    rows, _ = _fill(built_out, drop=("section", "email", "username", "programme"))
    assert rows[0][2] not in ("section", "email")
    write(out / "marks.csv", rows)
    r = cli("grade", out)
    assert r.returncode == 0, r.stderr
    assert read(out / "gradebook.csv")[1][3:5] == ["asha", "A"]
    # A section that says otherwise than the roster: one line, as a name is.
    rows, _ = _fill(built_out)
    rows[3][2] = "C"
    write(out / "marks.csv", rows)
    r = cli("grade", out)
    assert r.returncode == 2 and "Traceback" not in r.stderr
    assert "marks.csv:4: section: 'C' is not the roster's section for '21CS02'" in r.stderr
    # An empty cell takes the roster's; a number in the section column is no item's mark.
    rows, _ = _fill(built_out)
    rows[3][2] = ""
    rows[2][2] = "101"
    write(out / "marks.csv", rows)
    r = cli("grade", out)
    assert r.returncode == 2 and "section: '101' is not the roster's section for '21CS01'" in r.stderr


@needs_tex
def test_a_rebuild_replaces_an_unfilled_sheet_and_drops_the_split_files(built, tmp_path):
    tmp, built_out = built
    out = tmp_path / "out"
    shutil.copytree(built_out, out)
    r = cli(
        "build", tmp / "bank/exams/exam.yaml", "--bank", tmp / "bank", "--bank", "builtin",
        "--roster", tmp / "class.csv", "--out", out,
    )  # fmt: skip
    assert r.returncode == 0, r.stderr
    assert "kept" not in r.stderr  # the roster's columns are no grader's marks
    assert not list(out.glob("exams-*.pdf")) and (out / "exams.pdf").is_file()


def test_split_by_needs_a_roster_with_every_students_section(tmp_path):
    write_tree(
        tmp_path,
        {
            "exam.yaml": spec_text(),
            "class.csv": "id,name,section,programme\n1,A,S1,x\n2,B,,y\n3,C,,z\n",
            "plain.csv": "id,name,programme\n1,A,x\n",
        },
    )
    spec, out = tmp_path / "exam.yaml", tmp_path / "o"
    r = cli("build", spec, "--roster", tmp_path / "class.csv", "--split-by", "section", "--out", out)
    assert r.returncode == 2 and "Traceback" not in r.stderr
    assert "section: 2 student(s) without a section ('2', '3'): --split-by needs every student's" in r.stderr
    r = cli("build", spec, "--variants", "2", "--split-by", "section", "--out", out)
    assert r.returncode == 2 and "--split-by: --split-by splits a roster's papers" in r.stderr
    r = cli("build", spec, "--roster", tmp_path / "plain.csv", "--split-by", "email", "--out", out)
    assert r.returncode == 2 and "--split-by: 'email': a build splits by 'section' or 'programme'" in r.stderr
    assert not out.exists()


@needs_tex
def test_a_sets_build_takes_the_graders_section_column(tmp_path):
    # Without a roster the rows are the grader's: a section (and email) they add is
    # read, analysed per section and put in the gradebooks.
    out = tmp_path / "sets"
    r = cli("build", BANK / "exams" / "paper-b.yaml", "--variants", "2", "--out", out)
    assert r.returncode == 0, r.stderr
    rows = read(out / "marks.csv")
    header = ["id", "name", "Section", "email"] + rows[0][2:]
    filled = [header] + [r[:2] + ["", ""] + r[2:] for r in rows[1:3]]
    items = {c: float(m) for c, m in zip(rows[0][3:], rows[1][3:], strict=True)}
    for k in range(6):
        marks = [f"{min(m, 0.5 * ((k * 7 + j) % (2 * m + 1))):g}" for j, m in enumerate(items.values())]
        filled.append([f"s{k}", f"Student {k}", "S1" if k < 4 else "S2", f"s{k}@x.in", "AB"[k % 2], *marks])
    write(out / "marks.csv", filled)
    r = cli("grade", out)
    assert r.returncode == 0, r.stderr
    assert read(out / "gradebook.csv")[5][2:5] == ["s4", "s4@x.in", "S2"]
    assert read(out / "gradebook-moodle.csv")[0] == [
        "ID number",
        "Email address",
        "Full name",
        "paper-b (50)",
    ]
    analysis = read(out / "items.csv")
    rows_by = [dict(zip(analysis[0], row, strict=True)) for row in analysis[1:]]
    tests = {(r["set"], r["section"]): r for r in rows_by if r["item"] == "(test)"}
    assert set(tests) == {("A", ""), ("B", ""), ("", "S1"), ("", "S2")}
    assert tests[("", "S2")]["n"] == "2" and tests[("", "S1")]["n"] == "4"

"""`qbgen export --to moodle`: the same draws as the paper, in XML that Moodle's import takes.

The checker below enforces the rules Moodle's XML import applies (qformat_xml and the
question types' save_question_options): a <quiz> root, every question named, with text,
answers present, fractions from the grade list, one 100% answer in a single-answer
multichoice and positive fractions adding to 100% in a multi-answer one, cloze
subquestions that parse, numbers that are numbers.
"""

import base64
import json
import math
import re

import pytest
from lxml import etree

from qbgen.errors import QbgenError
from qbgen.writers.moodle import GRADES, cloze_escape, fraction, number

from .conftest import needs_tex, run_cli
from .test_bad_input import edit, make

pytestmark = needs_tex

TYPES = {"category", "numerical", "multichoice", "cloze", "essay"}
CLOZE = re.compile(
    r"\{(\d*):(NUMERICAL|NM|MULTICHOICE_V|MULTICHOICE|MULTIRESPONSE|SHORTANSWER|SA):((?:\\.|[^}])*)\}"
)


def _grade_ok(value: float) -> bool:
    return any(math.isclose(abs(value), g, abs_tol=1e-4) for g in GRADES)


def _split(text: str, sep: str) -> list[str]:
    # Split a cloze body on unescaped separators.
    return re.split(rf"(?<!\\){re.escape(sep)}", text)


def moodle_import_problems(xml: bytes) -> list[str]:
    """What Moodle's XML import would refuse or silently change, by question name."""
    root = etree.fromstring(xml)
    problems = []
    if root.tag != "quiz":
        return ["root is not <quiz>"]
    for q in root.iter("question"):
        kind = q.get("type")
        if kind not in TYPES:
            problems.append(f"unknown type {kind}")
            continue
        if kind == "category":
            if not (q.findtext("category/text") or "").strip():
                problems.append("a category without a path")
            continue
        name = (q.findtext("name/text") or "").strip()
        if not name:
            problems.append("a question without a name")
        if not (q.findtext("questiontext/text") or "").strip():
            problems.append(f"{name}: no question text")
        answers = q.findall("answer")
        fractions = [float(a.get("fraction")) for a in answers]
        if any(not _grade_ok(f) for f in fractions):
            problems.append(f"{name}: a fraction off the grade list: {fractions}")
        if kind == "numerical":
            if not answers or max(fractions) != 100:
                problems.append(f"{name}: a numerical question needs a 100% answer")
            for a in answers:
                float(a.findtext("text"))
                if float(a.findtext("tolerance")) < 0:
                    problems.append(f"{name}: negative tolerance")
        if kind == "multichoice":
            if len(answers) < 2:
                problems.append(f"{name}: fewer than two options")
            if q.findtext("single") == "true":
                if fractions.count(100) != 1:
                    problems.append(f"{name}: a single-answer multichoice needs one 100% option")
            elif not math.isclose(sum(f for f in fractions if f > 0), 100, abs_tol=0.01):
                problems.append(f"{name}: positive fractions add to {sum(f for f in fractions if f > 0)}")
        if kind == "cloze":
            text = q.findtext("questiontext/text")
            blanks = CLOZE.findall(text)
            if not blanks or text.count("{1:") != len(blanks):
                problems.append(f"{name}: a cloze subquestion does not parse")
            for _, sub, body in blanks:
                parts = [re.sub(r"#.*", "", p) for p in _split(body, "~")]
                marks = [re.match(r"^(=|%(-?[\d.]+)%)?", p) for p in parts]
                if not any(p.startswith("=") or p.startswith("%100%") for p in parts):
                    problems.append(f"{name}: a cloze blank without a right answer")
                for p, m in zip(parts, marks, strict=True):
                    if m and m.group(2) and not _grade_ok(float(m.group(2))):
                        problems.append(f"{name}: a cloze fraction off the grade list: {p}")
                    if sub in ("NUMERICAL", "NM"):
                        value = p[m.end() :] if m else p
                        answer, _, tol = value.partition(":")
                        float(answer), float(tol or 0)
        if kind == "essay" and q.find("graderinfo") is None:
            problems.append(f"{name}: an essay without grader information")
    return problems


@pytest.fixture(scope="module")
def exported(tmp_path_factory):
    out = tmp_path_factory.mktemp("moodle")
    r = run_cli("export", "bank/exams/paper-b.yaml", "--to", "moodle", "--variants", "3", "--out", out)
    assert r.returncode == 0, r.stderr
    return out, r


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    out = tmp_path_factory.mktemp("built")
    r = run_cli("build", "bank/exams/paper-b.yaml", "--variants", "3", "--out", out)
    assert r.returncode == 0, r.stderr
    return out


def test_the_export_passes_moodles_import_rules(exported):
    out, _ = exported
    xml = (out / "quiz.xml").read_bytes()
    assert moodle_import_problems(xml) == []
    root = etree.fromstring(xml)
    kinds = {q.get("type") for q in root.iter("question")}
    assert {"multichoice", "cloze", "essay", "category"} <= kinds


def test_one_value_is_a_numerical_question_with_exactly_the_accepted_interval(tmp_path):
    bank = make(tmp_path)
    edit(bank / "q" / "good.yaml", "label: Square}", "label: Square, tolerance: {abs: 0.5}}")
    r = run_cli("export", bank / "exams" / "t.yaml", "--bank", bank, "--seed", "3", "--out", tmp_path / "out")
    assert r.returncode == 0, r.stderr
    xml = (tmp_path / "out" / "quiz.xml").read_bytes()
    assert moodle_import_problems(xml) == []
    (q,) = [q for q in etree.fromstring(xml).iter("question") if q.get("type") == "numerical"]
    (record,) = json.loads((tmp_path / "out" / "manifest.json").read_text())["questions"]
    assert [(f, lo, hi) for f, lo, hi in _numerical_intervals(q)] == [(100.0, *record["accept"]["sq"])]


def test_the_checker_refuses_what_moodle_refuses():
    bad = b"""<quiz><question type="multichoice"><name><text>x</text></name>
      <questiontext><text>Q</text></questiontext><single>true</single>
      <answer fraction="50"><text>a</text></answer><answer fraction="33"><text>b</text></answer>
      </question></quiz>"""
    problems = moodle_import_problems(bad)
    assert any("grade list" in p for p in problems) and any("one 100%" in p for p in problems)


def test_the_export_holds_the_same_draws_as_the_build(exported, built):
    out, _ = exported
    for name in ("manifest.json", "A/manifest.json", "B/manifest.json", "C/manifest.json"):
        assert json.loads((out / name).read_text()) == json.loads((built / name).read_text()), name


def _numerical_intervals(q):
    if q.get("type") == "numerical":
        for a in q.findall("answer"):
            centre, half = float(a.findtext("text")), float(a.findtext("tolerance"))
            yield float(a.get("fraction")), centre - half, centre + half
        return
    for _, sub, body in CLOZE.findall(q.findtext("questiontext/text") or ""):
        if sub != "NUMERICAL":
            continue
        for part in _split(body, "~"):
            m = re.match(r"^(=|%(-?[\d.]+)%)([^:#]+):([^#]+)", part)
            frac = 100.0 if m[1] == "=" else float(m[2])
            centre, half = float(m[3]), float(m[4])
            yield frac, centre - half, centre + half


def test_every_accepted_interval_and_mistake_of_the_manifest_is_in_the_export(exported):
    out, _ = exported
    root = etree.fromstring((out / "quiz.xml").read_bytes())
    by_id: dict[str, list] = {}
    for q in root.iter("question"):
        if q.get("type") != "category":
            by_id.setdefault(
                q.findtext("idnumber").rsplit(":", 1)[0]
                + ":"
                + re.sub(r"[a-z]*(written)?$", "", q.findtext("idnumber").rsplit(":", 1)[1]),
                [],
            ).append(q)
    checked = 0
    for code in "ABC":
        manifest = json.loads((out / code / "manifest.json").read_text())
        for record in manifest["questions"]:
            found = [
                iv for q in by_id[f"paper-b:{code}:{record['number']}"] for iv in _numerical_intervals(q)
            ]
            for key, (low, high) in record["accept"].items():
                assert any(
                    f == 100
                    and math.isclose(lo, low, rel_tol=1e-12, abs_tol=1e-15)
                    and math.isclose(hi, high, rel_tol=1e-12, abs_tol=1e-15)
                    for f, lo, hi in found
                ), key
                for wrong in record["mistakes"].get(key, {}).values():
                    assert any(
                        f == 0 and math.isclose((lo + hi) / 2, wrong, rel_tol=1e-12, abs_tol=1e-15)
                        for f, lo, hi in found
                    ), (key, wrong)
                checked += 1
    assert checked >= 3 * 10


def test_sets_are_named_and_numbered_with_their_code_and_figures_are_embedded(exported):
    out, r = exported
    root = etree.fromstring((out / "quiz.xml").read_bytes())
    questions = [q for q in root.iter("question") if q.get("type") != "category"]
    ids = [q.findtext("idnumber") for q in questions]
    assert len(ids) == len(set(ids))
    for q in questions:
        code = q.findtext("idnumber").split(":")[1]
        assert q.findtext("name/text").startswith(code + " ")
        assert f"Set {code}," in q.findtext("questiontext/text")
    categories = [q.findtext("category/text") for q in root.iter("question") if q.get("type") == "category"]
    assert "$course$/top/qbgen/paper-b/momentum-backprop" in categories
    files = root.findall(".//questiontext/file")
    assert files and all(base64.b64decode(f.text)[:8] == b"\x89PNG\r\n\x1a\n" for f in files)
    texts = " ".join(q.findtext("questiontext/text") for q in questions)
    assert re.search(r'<img src="@@PLUGINFILE@@/figure-[0-9a-f]+\.png" alt="A network with inputs', texts)
    assert "\\(" in texts and "$" not in texts.replace("$course$", "")  # MathJax delimiters only
    # What Moodle cannot carry is said, once per question, on stderr and in the report.
    report = (out / "export-report.txt").read_text().splitlines()
    assert report and all(line in r.stderr for line in report)
    assert len(report) == len(set(report)) and not any(":A:" in line for line in report)


def test_the_grader_only_remarks_stay_out_of_what_students_answer(exported):
    out, _ = exported
    xml = (out / "quiz.xml").read_text()
    assert "Remarks for the grader" not in xml


@pytest.mark.parametrize(
    "value, spelt", [(100, "100"), (100 / 3, "33.33333"), (-50, "-50"), (100 / 7, "14.28571")]
)
def test_fractions_come_from_moodles_grade_list(value, spelt):
    assert fraction(value, "q") == spelt


def test_a_fraction_off_the_grade_list_is_an_error_naming_the_question():
    with pytest.raises(QbgenError, match="linear-network-boundary: Moodle cannot give 8.33333%"):
        fraction(100 / 12, "linear-network-boundary")


def test_numbers_keep_full_precision_and_no_floor():
    assert number(1e-7) == "0.0000001" and float(number(0.1 + 0.2)) == 0.1 + 0.2
    assert number(3.0) == "3" and cloze_escape("a}b#c~d/e") == "a\\}b\\#c\\~d\\/e"

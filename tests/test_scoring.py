"""The scoring contract: each kind's scoring, fed right and wrong responses, and the
multi-select question carried through exam, key, validate, every export, the sheets,
grade and the site with the same credit rule.

Expected credits are derived here by another route than `scoring.evaluate`: the
closed forms the docs state, the forward pass of paper B Q1 computed from its params.
"""

from __future__ import annotations

import csv
import itertools
import json
import math
import re
import zipfile

import pytest
from hypothesis import given
from hypothesis import strategies as st
from lxml import etree

from qbgen import scoring
from qbgen.assemble import instantiate
from qbgen.kinds import KINDS, handler

from .conftest import cli, needs_tex, pdf_text, write_tree
from .test_qti21 import SCHEMAS

# ------------------------------------------------------------------ per kind


def test_every_kind_says_how_a_machine_marks_it_or_that_a_person_does(bank):
    # A kind that marks by value or by option says so in its scoring; text and code are a
    # person's. Every draw of the shipped bank is looked at.
    seen = {name: False for name in KINDS}
    for bq in bank.questions.values():
        inst = instantiate(bq, "1", None)
        for a in inst.all_answers():
            rules = handler(a).scoring(a)
            seen[a.kind] |= bool(rules)
            for rule in rules.values():
                assert scoring.load(scoring.dump(rule)) == rule
    assert seen == {"numeric": True, "choice": True, "table": True, "text": False, "code": False}


def _sig(x):
    return 1 / (1 + math.exp(-x))


def test_paper_b_1_error_earns_credit_as_the_key_says(bank):
    # The paper as set leaves E to convention: (t-y)^2 is an alternative with full
    # credit; a new paper states E = (t-y)^2 / 2, so there it is a named mistake.
    bq = bank.get("paper-b:1")
    for seed, convention in ((None, "alternative"), (3, "mistake")):
        inst = instantiate(bq, "1", seed)
        p = inst.params
        h1 = _sig(p["w1"] * p["x1"] + p["w2"] * p["x2"])
        h2 = _sig(p["w3"] * p["x1"] + p["w4"] * p["x2"])
        y = _sig(p["w5"] * h1 + p["w6"] * h2)
        half_squared = 0.5 * (p["target"] - y) ** 2
        (error,) = [a for a in inst.all_answers() if getattr(a, "key", "") == "error"]
        rule = handler(error).scoring(error)["error"]
        assert scoring.evaluate(rule, f"{half_squared:.4g}") == scoring.Result(1.0, "correct")
        doubled = scoring.evaluate(rule, f"{2 * half_squared:.4g}")
        assert doubled.verdict == f"{convention}: (t-y)^2 without the 1/2"
        assert doubled.credit == (1.0 if convention == "alternative" else 0.0)
        signed = scoring.evaluate(rule, f"{p['target'] - y:.4g}")
        assert signed == scoring.Result(0.0, "mistake: signed difference t-y")
        assert scoring.evaluate(rule, "7.5") == scoring.Result(0.0, "wrong")
        assert scoring.evaluate(rule, "  ") == scoring.Result(0.0, "blank")


def test_paper_b_1_asks_only_for_the_error_and_the_new_weights_of_part_b(bank):
    # delta, the gradients and the changes are working values: in the key and the crib,
    # never a sheet column or an LMS blank (issue 22, item 4).
    inst = instantiate(bank.get("paper-b:1"), "1", None)
    asked = {a.key for a in inst.all_answers() if a.asked and hasattr(a, "key")}
    assert asked == {"h1", "h2", "y", "error", "w5_new", "w6_new"}
    items = inst.scored_items()
    assert [a.key for a in items["1b"][1]] == ["w5_new", "w6_new"]


PARTIAL = "partial"


@pytest.mark.parametrize("rule", ["all-or-nothing", "partial", "negative"])
def test_a_choice_of_several_earns_what_its_rule_says_for_every_answer(rule):
    # Every subset of five options, three of them correct (A, C, E), by the docs' formulas.
    correct = {0, 2, 4}
    options = scoring.Options(count=5, correct=tuple(sorted(correct)), multiple=True, credit=rule)
    for r in range(0, 6):
        for chosen in itertools.combinations(range(5), r):
            right, wrong = len(correct & set(chosen)), len(set(chosen) - correct)
            if rule == "all-or-nothing":
                want = 1.0 if set(chosen) == correct else 0.0
            elif rule == "partial":
                want = max(0.0, (right - wrong) / 3)
            else:
                want = max(0.0, right / 3 - wrong / 2)
            letters = ",".join("ABCDE"[i] for i in chosen)
            got = scoring.evaluate(options, letters)
            assert math.isclose(got.credit, want, abs_tol=1e-9), (rule, letters, got)
            assert got.verdict == ("blank" if not chosen else "correct" if want == 1 else got.verdict)


def test_option_letters_are_read_as_typed_and_a_letter_past_the_options_is_refused():
    one = scoring.Options(count=4, correct=(1,))
    assert scoring.evaluate(one, " b ").credit == 1.0
    for typed in ("E", "B,C", "2", "B?"):
        with pytest.raises(scoring.Unreadable):
            scoring.evaluate(one, typed)
    several = scoring.Options(count=4, correct=(0, 3), multiple=True, credit="partial")
    assert scoring.evaluate(several, "a; d").credit == scoring.evaluate(several, "AD").credit == 1.0


@pytest.mark.parametrize(
    "typed, value",
    [("３.５", 3.5), ("४२", 42.0), ("\u22120.25", -0.25), ("-0", 0.0), ("1e-3", 0.001), (" +7 ", 7.0)],
)
def test_numbers_are_read_in_any_script_and_sign(typed, value):
    assert scoring.read_number(typed) == value


@pytest.mark.parametrize("typed", ["0,5", "12abc", "nan", "inf", "1.2.3", "--1", "1/2"])
def test_what_is_not_a_number_is_refused_not_guessed(typed):
    with pytest.raises(scoring.Unreadable):
        scoring.read_number(typed)


finite = st.floats(min_value=-1e6, max_value=1e6, allow_nan=False)


@given(
    value=finite,
    half=st.floats(min_value=0, max_value=10),
    names=st.lists(st.text(min_size=1, max_size=20), max_size=3),
    credit=st.floats(min_value=0.05, max_value=1),
)
def test_an_interval_survives_json(value, half, names, credit):
    alts = tuple(
        scoring.Named(name=n, value=value + 100 * (i + 1), low=value + 99, high=value + 101, credit=credit)
        for i, n in enumerate(names)
    )
    rule = scoring.Interval(value=value, low=value - half, high=value + half, alternatives=alts)
    back = scoring.load(json.loads(json.dumps(scoring.dump(rule))))
    assert back == rule
    assert scoring.evaluate(back, repr(value)).credit == 1.0


@given(
    count=st.integers(2, 8),
    data=st.data(),
    rule=st.sampled_from(["all-or-nothing", "partial", "negative"]),
)
def test_options_survive_json_and_their_weights_never_give_more_than_full_credit(count, data, rule):
    correct = tuple(sorted(data.draw(st.sets(st.integers(0, count - 1), min_size=1))))
    options = scoring.Options(count=count, correct=correct, multiple=True, credit=rule)
    assert scoring.load(scoring.dump(options)) == options
    if rule == "all-or-nothing":  # no sum of weights gives all or nothing
        with pytest.raises(ValueError):
            options.weights()
        return
    weights = options.weights()
    assert math.isclose(sum(w for w in weights if w > 0), 1.0)  # the correct set: full credit
    assert all(w < 0 for i, w in enumerate(weights) if i not in correct)  # a wrong option costs


# ------------------------------------------------------------------ multi-select, end to end

MULTI = """
id: nonlinear-activations
title: Which activations are non-linear
topic: fcnn
prompt: Which of these activation functions are non-linear? Choose all that apply.
answers:
  - kind: choice
    select: any
    credit: partial
    layout: list
    options:
      - {text: ReLU, correct: true}
      - {text: "The identity, $f(x) = x$"}
      - {text: "The sigmoid $\\\\sigma(x)$", correct: true}
      - {text: "$f(x) = 3x$"}
      - {text: "$\\\\tanh$", correct: true}
rubric:
  - marks: 3
    text: ReLU, the sigmoid and tanh, 1 mark each; a linear one chosen takes one back.
"""

MULTI_SPEC = """
course: Deep Learning
max_marks: 3
sections:
  - questions: [nonlinear-activations]
"""


@pytest.fixture(scope="module")
def multi(tmp_path_factory):
    root = tmp_path_factory.mktemp("multi")
    return write_tree(root / "bank", {"fcnn/nonlinear-activations.yaml": MULTI, "exams/m.yaml": MULTI_SPEC})


@needs_tex
def test_a_choice_of_several_with_per_option_credit_works_everywhere(multi, tmp_path):
    spec = multi / "exams" / "m.yaml"
    assert cli("validate", "--bank", multi).returncode == 0
    out = tmp_path / "build"
    r = cli("build", spec, "--bank", multi, "--variants", "2", "--out", out)
    assert r.returncode == 0, r.stderr
    exam = " ".join(pdf_text(out / "A" / "exam.pdf").split())
    assert "(A) ReLU" in exam and "(E) tanh" in exam and "earns" not in exam
    key = " ".join(pdf_text(out / "A" / "key.pdf").split())
    assert "Correct options: (A) ReLU, (C) The sigmoid" in key
    assert "each correct option chosen earns 1/3 of the marks, each wrong one chosen takes 1/3 back" in key

    manifest = json.loads((out / "A" / "manifest.json").read_text())
    rule = manifest["questions"][0]["scoring"]["1"]["answers"]["choice"]
    assert rule == {"rule": "options", "count": 5, "correct": [0, 2, 4], "multiple": True, "credit": PARTIAL}

    # The sheets: a column for the choice, grade's credit by the rule.
    with (out / "responses.csv").open() as f:
        assert next(csv.reader(f)) == ["id", "set", "1.choice"]
    typed = {"s1": "A,C,E", "s2": "A", "s3": "A,B", "s4": "C,E,D", "s5": ""}
    (out / "responses.csv").write_text(
        "id,set,1.choice\n" + "".join(f'{s},A,"{v}"\n' for s, v in typed.items()), "utf-8"
    )
    (out / "marks.csv").write_text(
        "id,name,set,1\nPoints Possible,,,3\n" + "".join(f"{s},{s},A,1\n" for s in typed), "utf-8"
    )
    r = cli("grade", out)
    assert r.returncode == 0, r.stderr
    with (out / "responses-marked.csv").open() as f:
        got = {row["id"]: (row["verdict"], float(row["credit"])) for row in csv.DictReader(f)}
    assert got["s1"] == ("correct", 1.0) and got["s3"] == ("wrong", 0.0) and got["s5"] == ("blank", 0.0)
    assert got["s2"][0] == "partial" and math.isclose(got["s2"][1], 1 / 3, rel_tol=1e-9)
    assert math.isclose(got["s4"][1], 1 / 3, rel_tol=1e-9)  # two right, one wrong

    # Moodle: several answers allowed, a third of the grade per correct option, a third off per wrong one.
    r = cli("export", spec, "--bank", multi, "--to", "moodle", "--variants", "2", "--out", tmp_path / "m")
    assert r.returncode == 0, r.stderr
    q = etree.parse(str(tmp_path / "m" / "quiz.xml")).find(".//question[@type='multichoice']")
    assert q.findtext("single") == "false"
    assert [a.get("fraction") for a in q.findall("answer")] == [
        "33.33333",
        "-33.33333",
        "33.33333",
        "-33.33333",
        "33.33333",
    ]
    # QTI 2.1: multiple cardinality, the credit as a mapping floored at 0, valid.
    r = cli("export", spec, "--bank", multi, "--to", "qti21", "--variants", "2", "--out", tmp_path / "q")
    assert r.returncode == 0, r.stderr
    schema = etree.XMLSchema(etree.parse(str(SCHEMAS / "qti21" / "imsqti_v2p1p2.xsd")))
    ns = {"q": "http://www.imsglobal.org/xsd/imsqti_v2p1"}
    with zipfile.ZipFile(tmp_path / "q" / "qti21.zip") as z:
        item = etree.fromstring(z.read(next(n for n in z.namelist() if re.match(r"items/A-.*\.xml", n))))
    assert schema.validate(item), schema.error_log.filter_from_errors()[:3]
    decl = item.find("q:responseDeclaration", ns)
    assert decl.get("cardinality") == "multiple"
    mapping = decl.find("q:mapping", ns)
    assert mapping.get("lowerBound") == "0"
    values = [float(e.get("mappedValue")) for e in mapping.findall("q:mapEntry", ns)]
    assert [round(v, 9) for v in values] == [1.0, -1.0, 1.0, -1.0, 1.0]  # 3 marks, a third each
    assert item.find(".//q:mapResponse", ns) is not None
    # Canvas marks a choice of several by this very rule: nothing to report.
    r = cli("export", spec, "--bank", multi, "--to", "canvas", "--out", tmp_path / "c")
    assert r.returncode == 0, r.stderr
    assert "credit" not in (tmp_path / "c" / "export-report.txt").read_text()
    # The review site says the rule.
    r = cli("site", "--bank", multi, "--out", tmp_path / "site", "--seeds", "0")
    assert r.returncode == 0, r.stderr
    page = (tmp_path / "site" / "questions" / "nonlinear-activations.html").read_text()
    assert "each wrong one chosen takes 1/3 back" in page


# ------------------------------------------------------------------ what a real Moodle showed


@needs_tex
def test_moodle_feedback_is_kept_from_filters_and_not_escaped_where_moodle_shows_it(tmp_path, bank):
    # paper B Q1 in a cloze: `dw(n-1)` was drawn as a thumbs-down by the emoticon filter,
    # and `1/2` showed as `1\/2`. And vit-attention-weights' seed 12 has two mistakes
    # giving 256: one answer naming both, not two of which Moodle names the first.
    r = cli("export", "bank/exams/paper-b.yaml", "--original", "--to", "moodle", "--out", tmp_path)
    assert r.returncode == 0, r.stderr
    xml = (tmp_path / "quiz.xml").read_text("utf-8")
    clozes = re.findall(r"\{1:NUMERICAL:[^\n]*?\}(?=\s|<|$)", xml)
    assert clozes
    assert all("\\/" not in c for c in clozes)
    assert any('<span class="nolink">A known mistake: momentum term' in c for c in clozes)
    assert any("without the 1/2" in c for c in clozes)

    inst = instantiate(bank.get("vit-attention-weights"), "1", 12)
    (rule,) = [
        handler(a).scoring(a)["weights_per_image"]
        for a in inst.all_answers()
        if getattr(a, "key", "") == "weights_per_image"
    ]
    both = [m for m in rule.mistakes if m.low <= 256 <= m.high]
    assert len(both) == 1 and " or " in both[0].name
    assert "heads forgotten" in both[0].name and "N, not N^2" in both[0].name
    assert scoring.evaluate(rule, "256").verdict == f"mistake: {both[0].name}"


# ------------------------------------------------------------------ marks a scheme can give

STEPPED = """
id: dropout-two-lines
title: Dropout
topic: fcnn
prompt: What is dropout, and why does it reduce overfitting?
answers:
  - kind: text
    text: Units are dropped at random in training; no unit can rely on another.
rubric:
  - marks: 2.5
    partial: false
    text: The definition, exactly. No partial marks.
  - marks: 1
    text: Why it reduces overfitting.
"""


@pytest.mark.parametrize(
    "step, mark, problem",
    [
        ("0.5", "2", "the marking scheme gives no partial marks on its line(s) worth 2.5"),
        ("0.5", "3.5", ""),
        ("0.5", "1", ""),
        ("0.5", "0.75", "is not a whole number of half marks"),
        ("0.25", "0.75", ""),
        ("0.25", "2.75", ""),
        ("0.25", "1.25", "no partial marks on its line(s) worth 2.5"),
        ("0.25", "0.3", "is not a whole number of quarter marks"),
    ],
)
def test_grade_takes_marks_in_the_specs_step_and_only_what_the_scheme_can_give(tmp_path, step, mark, problem):
    spec = f"course: DL\nmax_marks: 3.5\nmark_step: {step}\nsections:\n  - questions: [dropout-two-lines]\n"
    bank = write_tree(tmp_path / "bank", {"fcnn/dropout-two-lines.yaml": STEPPED, "exams/s.yaml": spec})
    out = tmp_path / "out"
    assert cli("build", bank / "exams" / "s.yaml", "--bank", bank, "--out", out).returncode == 0
    (out / "marks.csv").write_text(f"id,name,1\ns1,Asha,{mark}\n", "utf-8")
    r = cli("grade", out)
    if not problem:
        assert r.returncode == 0, r.stderr
        return
    assert r.returncode == 2 and "Traceback" not in r.stderr
    assert r.stderr.count("\n") == 1 and f"marks.csv:2: 1: {mark}" in r.stderr and problem in r.stderr


@needs_tex
def test_qti_items_carry_no_pandoc_data_attributes(tmp_path):
    # paper B's code listings come from pandoc as <pre data-language=...>: a QTI engine's
    # schema has no such attribute (issue 22, item 6).
    r = cli("export", "bank/exams/paper-b.yaml", "--original", "--to", "qti21", "--out", tmp_path)
    assert r.returncode == 0, r.stderr
    with zipfile.ZipFile(tmp_path / "qti21.zip") as z:
        items = [
            etree.fromstring(z.read(n)) for n in z.namelist() if n.startswith("items/") and n.endswith(".xml")
        ]
    assert any(el.tag.endswith("pre") for item in items for el in item.iter())  # the listings are there
    assert not [a for item in items for el in item.iter() for a in el.attrib if a.startswith("data-")]

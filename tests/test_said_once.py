"""Say things once (issue 12, item 10): a question's marks come from its parts or its
marking scheme, its kind from its answers; said as well, they are checked."""

from __future__ import annotations

import json

import jsonschema
import pytest
import yaml

from qbgen.bank import load_bank, load_question
from qbgen.errors import InputError
from qbgen.models import json_schemas

from .conftest import BANK, run_cli, write_tree

PLAIN = """
    id: plain
    title: Plain
    topic: q
    prompt: Why?
    answers:
      - {kind: text, label: Reason, text: Because.}
      - {kind: code, code: "n = 1", label: Count, asked: false}
    rubric:
      - {marks: 1.5, text: The reason.}
      - {marks: 1, text: The count.}
      - {marks: 0.5, text: Only in the paper as set., only: original}
      - {marks: 0.5, text: Only in new papers., only: new}
"""

PARTS = """
    id: parts
    title: In parts
    topic: q
    prompt: Stem.
    parts:
      - prompt: First.
        answers: [{kind: text, label: A, text: A.}]
        rubric: [{marks: 1, text: A.}, {marks: 1, text: B.}]
      - prompt: Second.
        marks: 3
        answers:
          - {kind: choice, options: [{text: "Yes", correct: true}, {text: "No"}]}
        rubric: [{marks: 3, text: C.}]
"""


def _question(tmp_path, text, name="plain"):
    path = write_tree(tmp_path, {f"q/{name}.yaml": text}) / "q" / f"{name}.yaml"
    return load_question(path)


def test_marks_come_from_the_marking_scheme_and_kind_from_the_answers(tmp_path):
    q = _question(tmp_path, PLAIN).question
    assert q.marks == 1.5 + 1 + 0.5  # a new paper's lines; the paper as set's add up the same
    assert q.kind == "text"  # the only asked answer is text (the unasked code does not decide)


def test_a_part_s_marks_and_the_question_s_come_from_below(tmp_path):
    q = _question(tmp_path, PARTS, "parts").question
    assert [p.marks for p in q.parts] == [2, 3] and q.marks == 5
    assert q.kind == "choice"  # the highest-ranked asked answer: choice over text


def test_said_marks_and_kind_are_checked_with_their_line(tmp_path):
    bad = PLAIN.replace("    topic: q\n", "    topic: q\n    marks: 4\n")
    with pytest.raises(InputError, match=r"plain.yaml:\d+: rubric: .*adds up to 3, the question is worth 4"):
        _question(tmp_path / "a", bad)
    bad = PLAIN.replace("    topic: q\n", "    topic: q\n    kind: table\n")
    with pytest.raises(InputError) as exc:
        _question(tmp_path / "b", bad)
    assert "plain.yaml:4: kind: no answer of this question is 'table' (its answers: text, code)" in str(
        exc.value
    )
    # Said and right: accepted, as before.
    same = PLAIN.replace("    topic: q\n", "    topic: q\n    kind: code\n    marks: 3\n")
    q = _question(tmp_path / "c", same).question
    assert (q.kind, q.marks) == ("code", 3)  # a stated kind may be any of its answers'


def test_a_broken_scheme_line_is_reported_not_the_marks_it_would_give(tmp_path):
    bad = PLAIN.replace("{marks: 1.5, text: The reason.}", "{marks: one, text: The reason.}")
    with pytest.raises(InputError) as exc:
        _question(tmp_path / "a", bad)
    assert "plain.yaml:9: rubric[0].marks: Input should be a valid number" in str(exc.value)
    nothing = "\n".join(line for line in PLAIN.splitlines() if "marks" not in line and "rubric" not in line)
    with pytest.raises(InputError, match="marks: missing, and nothing to derive it from"):
        _question(tmp_path / "b", nothing)


def test_the_shipped_bank_says_its_marks_and_kinds_once():
    # Every question's marks come from its scheme or parts, and its kind from its answers,
    # but where the file says otherwise on purpose (softmax-temperature: an explanation).
    said = {}
    for path in sorted(BANK.rglob("*.yaml")):
        data = yaml.safe_load(path.read_text())
        if "exams" not in path.parts:
            said[path.stem] = {k for k in ("marks", "kind") if k in data}
    assert {k: v for k, v in said.items() if v} == {"softmax-temperature": {"kind"}}
    listed = run_cli("list", "--json")
    assert listed.returncode == 0, listed.stderr
    marks = {r["id"]: r["marks"] for r in json.loads(listed.stdout)}
    bank = load_bank(BANK)
    for qid, bq in bank.questions.items():
        q = bq.question
        below = (
            sum(p.marks for p in q.parts)
            if q.parts
            else sum(r.marks for r in q.rubric if r.only != "original")
        )
        assert marks[qid] == below == q.marks, qid


def test_the_schema_lets_a_file_leave_them_out(tmp_path):
    schema = json_schemas()["question"]
    data = yaml.safe_load(PLAIN.replace("\n    ", "\n"))
    jsonschema.validate(data, schema)
    assert "marks" not in schema.get("required", []) and "kind" not in schema.get("required", [])


@pytest.mark.parametrize("kind", ["[text]", "{a: 1}", "3"])
def test_a_kind_that_is_no_name_is_one_located_error(tmp_path, kind):
    # Hypothesis found `kind: [text]` raising TypeError while the kind was derived.
    from .conftest import cli, write_tree

    question = f"id: a\ntitle: A\ntopic: t\nprompt: Why?\nanswers:\n  - kind: {kind}\n    text: x\n"
    bank = write_tree(tmp_path / "b", {"q/a.yaml": question + "rubric:\n  - {marks: 1, text: Reason.}\n"})
    r = cli("validate", "--bank", bank)
    assert r.returncode == 1 and "Traceback" not in r.stdout + r.stderr
    assert "a.yaml:6: answers[0]: Input tag" in r.stdout + r.stderr

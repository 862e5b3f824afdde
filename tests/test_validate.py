"""validate: the shipped bank passes; a wrong solve or a toothless check fails it."""

import json
import re

import pytest

from qbgen.assemble import solve_instance
from qbgen.bank import load_bank

from .conftest import BANK, copy_bank, run_cli, write_tree

GENERATED = sorted(bq.id for bq in load_bank(BANK).questions.values() if bq.generator)

# Appended to a copy of a generator: solve now returns every numeric answer off by a little.
BREAK_SOLVE = """

_true_solve = solve


def _nudge(v):
    if isinstance(v, bool) or not isinstance(v, (int, float, list)):
        return v
    if isinstance(v, list):
        return [_nudge(x) for x in v]
    return v + 1 if isinstance(v, int) else v * 1.01 + 0.01


def solve(p):
    s = _true_solve(p)
    return s.model_copy(update={"answers": {k: _nudge(v) for k, v in s.answers.items()}})
"""


def test_shipped_bank_validates():
    # --compile: every question typesets as set and for new draws, and no line of it (or
    # of its key) runs into the margin.
    r = run_cli("validate", "--seeds", "30", "--json", "--compile")
    assert r.returncode == 0, r.stdout[-3000:] + r.stderr
    reports = json.loads(r.stdout)
    specs = {f"spec {p.stem}" for p in (BANK / "exams").glob("*.yaml")}
    assert {x["id"] for x in reports} == set(load_bank(BANK).questions) | specs
    assert [(x["id"], x["warnings"]) for x in reports if x["warnings"]] == []
    assert all(x["ok"] for x in reports)
    assert all(x["seeds"] == 30 for x in reports if x["id"] in GENERATED)


@pytest.mark.parametrize("qid", GENERATED)
def test_wrong_solve_is_caught(tmp_path, qid):
    bank = copy_bank(tmp_path / "bank", [qid])
    gen = next(bank.rglob(load_bank(BANK).get(qid).generator.path.name))
    gen.write_text(gen.read_text() + BREAK_SOLVE)
    r = run_cli("validate", "--bank", bank, "--seeds", "3")
    assert r.returncode == 1, r.stdout + r.stderr
    assert f"FAIL {qid}" in r.stdout
    assert "check failed" in r.stdout
    assert "Traceback" not in r.stdout + r.stderr


# Appended to a copy of a generator: the answers stay right, but the last number fmt
# printed in each worked step is off (a step whose arithmetic is wrong).
BREAK_STEPS = r"""

import re as _re

_true_solve_ = solve


def _off(m):
    value = float(m[1].replace("{,}", ""))
    return "\\ensuremath{" + repr(round(value * 1.37 + 3.11, 3)) + "}"


def _wrong(steps):
    return [_re.sub(r"\\ensuremath\{(-?[\d{},]+(?:\.\d+)?)\}(?!.*\\ensuremath)", _off, st) for st in steps]


def solve(p):
    s = _true_solve_(p)
    parts = {n: _wrong(steps) for n, steps in s.part_steps.items()}
    return s.model_copy(update={"steps": _wrong(s.steps), "part_steps": parts})
"""


@pytest.mark.parametrize("qid", GENERATED)
def test_a_wrong_worked_step_is_caught(tmp_path, qid):
    if not _prints_numbers(qid):
        pytest.skip(f"{qid}'s steps print no number through fmt")
    bank = copy_bank(tmp_path / "bank", [qid])
    gen = next(bank.rglob(load_bank(BANK).get(qid).generator.path.name))
    gen.write_text(gen.read_text() + BREAK_STEPS)
    r = run_cli("validate", "--bank", bank, "--seeds", "3")
    assert r.returncode == 1, r.stdout + r.stderr
    assert f"FAIL {qid}" in r.stdout and re.search(r"worked step|check failed: the steps", r.stdout), r.stdout


def _prints_numbers(qid):
    sol = solve_instance(load_bank(BANK).get(qid), None).solution
    return any("ensuremath" in st for st in [*sol.steps, *(s for v in sol.part_steps.values() for s in v)])


TOOTHLESS = {
    "q/sum.yaml": """
        id: sum
        title: A sum
        topic: q
        kind: numeric
        marks: 1
        generator: sum_gen.py
        prompt: What is \\VAR{p.x} + \\VAR{p.y}?
        answers:
          - {kind: numeric, key: total, label: Sum}
          - {kind: numeric, key: double, label: Twice the sum}
        rubric:
          - {marks: 1, text: Right sum.}
    """,
    "q/sum_gen.py": """
        from pydantic import Field
        from qbgen import authoring
        from qbgen.authoring import Solution, agree

        class Params(authoring.Params):
            x: int = Field(ge=0, le=9)
            y: int = Field(ge=0, le=9)

        def sample(rng):
            return Params(x=int(rng.integers(10)), y=int(rng.integers(10)))

        def solve(p):
            return Solution(answers={"total": p.x + p.y, "double": 2 * (p.x + p.y)})

        def check(p, s):
            agree("total", sum([p.x, p.y]), s.answers["total"])  # "double" is never checked
    """,
}


def test_check_that_misses_an_answer_fails_validate(tmp_path):
    bank = write_tree(tmp_path / "bank", TOOTHLESS)
    r = run_cli("validate", "--bank", bank, "--seeds", "10")
    assert r.returncode == 1
    assert "check does not notice a wrong value of: double" in r.stdout
    assert "total" not in r.stdout.split("wrong value of:")[1].splitlines()[0]


def test_validate_reports_per_question(tmp_path):
    bank = write_tree(tmp_path / "bank", TOOTHLESS)
    (bank / "q" / "sum_gen.py").write_text(
        (bank / "q" / "sum_gen.py")
        .read_text()
        .replace(
            '# "double" is never checked', '\n    agree("double", 2 * sum([p.x, p.y]), s.answers["double"])'
        )
    )
    r = run_cli("validate", "--bank", bank, "--seeds", "10")
    assert r.returncode == 0, r.stdout + r.stderr
    assert "ok   sum" in r.stdout and "1 passed, 0 failed" in r.stdout

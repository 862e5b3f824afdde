"""Stage 6b: validate a bank: every question instantiates, every answer is checked.

Room: running every generator for many seeds and reporting per question. Imports
errors, models, authoring, bank, assemble. For each question: the pinned original
values and N seeds each draw, solve, pass `check` and render; then, on one draw, each
numeric answer is nudged in turn and `check` must notice (a check that cannot fail
is reported). Draws that hardly vary and choice keys stuck in one place are warned of.
"""

from __future__ import annotations

import copy
import json
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from . import authoring
from .assemble import instantiate
from .bank import Bank, BankQuestion
from .errors import QbgenError
from .seeds import rng_for


@dataclass
class QuestionReport:
    """The outcome of validating one question."""

    id: str
    path: str
    seeds: int = 0
    failures: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    failing_seed: int | None = None

    @property
    def ok(self) -> bool:
        """Whether the question passed."""
        return not self.failures


def _leaves(value: Any, path: tuple = ()) -> Iterator[tuple[tuple, Any]]:
    if isinstance(value, dict):
        for k, v in value.items():
            yield from _leaves(v, path + (k,))
    elif isinstance(value, list):
        for i, v in enumerate(value):
            yield from _leaves(v, path + (i,))
    elif isinstance(value, int | float | str) and not isinstance(value, bool):
        yield path, value


def _nudged(answers: dict[str, Any], path: tuple) -> dict[str, Any]:
    out = copy.deepcopy(answers)
    target = out
    for k in path[:-1]:
        target = target[k]
    v = target[path[-1]]
    if isinstance(v, str):
        target[path[-1]] = v + " 1"  # a table cell's text, a computed label, code
    else:
        target[path[-1]] = v + 1 if isinstance(v, int) else v * 1.01 + 0.01
    return out


def _label(path: tuple) -> str:
    return str(path[0]) + "".join(f"[{k}]" for k in path[1:])


def check_bites(bq: BankQuestion, seed: int) -> list[str]:
    """Return the answers (numbers, texts, table cells) whose change `check` does not notice."""
    gen = bq.generator
    assert gen is not None
    params = gen.Params.model_validate(authoring.plain(gen.sample(rng_for(seed)).model_dump()))
    sol = gen.solve(params)
    missed = []
    seen_keys: set[str] = set()
    for path, _ in _leaves(sol.answers):
        # One nudge per scalar answer, and for a table the first few cells of each.
        label = _label(path)
        if label in seen_keys:
            continue
        seen_keys.add(label)
        wrong = sol.model_copy(update={"answers": _nudged(sol.answers, path)})
        try:
            gen.check(params, wrong)
        except authoring.CheckFailed:
            continue
        except Exception:  # noqa: BLE001 - a check that crashes on a wrong answer still notices it
            continue
        missed.append(label)
    return missed


def validate_question(bq: BankQuestion, seeds: int) -> QuestionReport:
    """Validate one question over `seeds` draws (and its original values)."""
    report = QuestionReport(bq.id, str(bq.path))
    runs: list[int | None] = [None] + list(range(seeds)) if bq.generator else [None]
    distinct: set[str] = set()
    positions: Counter[int] = Counter()
    for seed in runs:
        try:
            inst = instantiate(bq, "1", seed, shuffle_options=seed is not None)
        except QbgenError as exc:
            report.failures.append(str(exc))
            report.failing_seed = seed
            break
        report.seeds += seed is not None
        if seed is not None:
            distinct.add(json.dumps(inst.params, sort_keys=True))
        for a in inst.own_answers + [a for p in inst.parts for a in p.answers]:
            if a.kind == "choice" and len(a.correct) == 1 and seed is not None:
                positions[a.correct[0]] += 1
    if report.ok and bq.generator is not None and seeds:
        try:
            missed = check_bites(bq, 0)
        except Exception as exc:  # noqa: BLE001 - reported, not raised: validate runs on
            missed = []
            report.failures.append(f"re-running seed 0 failed: {type(exc).__name__}: {exc}")
        if missed:
            report.failures.append(
                f"{bq.id}: check does not notice a wrong value of: {', '.join(missed[:8])}"
                + (f" (+{len(missed) - 8} more)" if len(missed) > 8 else "")
            )
            report.failing_seed = 0
    if bq.generator is not None and seeds >= 100 and len(distinct) < 5:
        report.warnings.append(f"draws hardly vary: {len(distinct)} distinct params in {seeds} seeds")
    if positions and seeds >= 20:
        pos, n = positions.most_common(1)[0]
        if n > 0.5 * sum(positions.values()) and len(positions) >= 1:
            report.warnings.append(
                f"the correct option is ({chr(65 + pos)}) in {n} of {sum(positions.values())} draws"
            )
    return report


def validate(bank: Bank, seeds: int = 100, only: list[str] | None = None) -> list[QuestionReport]:
    """Validate every question of `bank` (or those in `only`)."""
    chosen = [bank.get(ref) for ref in only] if only else list(bank.questions.values())
    return [validate_question(bq, seeds) for bq in chosen]

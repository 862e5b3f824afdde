"""Stage 2: load an exam spec and resolve what it picks against the bank.

Room: reading `exams/<name>.yaml` into an `ExamSpec`, checking that every question it
names exists, that every pool can be filled, and that the marks add up to the maximum.
Imports errors, models, resources (the house styles), yamlfile, bank.
"""

from __future__ import annotations

import dataclasses
import itertools
import math
from dataclasses import dataclass
from pathlib import Path

from pydantic import ValidationError

from .bank import Bank, BankQuestion
from .errors import InputError
from .models import ExamSpec, Package, Pool
from .numbering import DEFAULT, Numbering, style_numbering
from .resources import styles, templates_dir
from .scripts import unprintable, unprintable_message
from .yamlfile import YamlDoc, read_yaml, validate_model

MAX_COMBINATIONS = 200_000


@dataclass(frozen=True)
class LoadedSpec:
    """A validated spec, its name and file (for error lines), and its pools' candidates."""

    name: str
    spec: ExamSpec
    doc: YamlDoc
    pools: dict[tuple[int, int], list[tuple[BankQuestion, ...]]]
    templates: tuple[str, ...] = ()  # the spec's bank's own house styles, if it has any
    packages: tuple[Package, ...] = ()  # the banks' extra LaTeX packages
    numbering: Numbering = DEFAULT  # how the style names questions and parts

    @property
    def path(self) -> Path:
        """The spec file."""
        return self.doc.path


def pool_candidates(bank: Bank, pool: Pool, exclude: set[str]) -> list[BankQuestion]:
    """Return the bank questions a pool's rule admits, in bank order."""
    if pool.from_:
        found = [bank.get(ref) for ref in pool.from_]
    else:
        found = list(bank.questions.values())
    return [
        bq
        for bq in found
        if bq.id not in exclude
        and (pool.topic is None or bq.question.topic == pool.topic)
        and all(t in bq.question.tags or t == bq.question.topic for t in pool.tags)
        and (pool.kind is None or bq.question.kind == pool.kind)
    ]


def pool_combinations(candidates: list[BankQuestion], pool: Pool) -> list[tuple[BankQuestion, ...]]:
    """Return every set of `count` candidates whose marks fit the pool's rule."""
    if len(candidates) < pool.count or math.comb(len(candidates), pool.count) > MAX_COMBINATIONS:
        return [] if len(candidates) < pool.count else _too_many(pool)
    combos = list(itertools.combinations(candidates, pool.count))
    if pool.marks is not None:
        combos = [c for c in combos if math.isclose(sum(q.question.marks for q in c), pool.marks)]
    return combos


def _too_many(pool: Pool) -> list[tuple[BankQuestion, ...]]:
    raise ValueError(f"the pool admits too many combinations of {pool.count}; narrow its rule")


def _printable(doc: YamlDoc, spec: ExamSpec) -> None:
    # The header's strings print as written, in any script a font has: no emoji.
    fields: list[tuple[tuple[str | int, ...], str]] = [
        ((name,), getattr(spec, name)) for name in ("institute", "course", "title", "date", "duration")
    ]
    fields += [(("instructions", i), text) for i, text in enumerate(spec.instructions)]
    fields += [(("sections", i, "title"), s.title) for i, s in enumerate(spec.sections)]
    for loc, text in fields:
        bad = unprintable(text)
        if bad:
            raise doc.error(loc, unprintable_message(bad[0]))


def load_spec(path: Path, bank: Bank) -> LoadedSpec:
    """Load and check the exam spec at `path` against `bank`."""
    doc = read_yaml(path)
    if not isinstance(doc.data, dict):
        raise InputError("an exam spec holds a mapping of fields", file=path, line=1)
    spec = validate_model(doc, ExamSpec)
    _printable(doc, spec)
    home = bank.folder_of(path)  # a spec's style is its bank's own or a shipped one
    own = home.styles()
    if spec.style not in own and spec.style not in styles():
        have = ", ".join([*own, *(s for s in styles() if s not in own)])
        raise doc.error(("style",), f"no house style {spec.style!r} (have: {have})")
    templates = (str(home.templates),) if own else ()
    style_home = home.templates if spec.style in own else templates_dir()
    numbering = style_numbering(style_home / spec.style / "paper.tex.j2")
    fixed: set[str] = set()
    for si, section in enumerate(spec.sections):
        for pi, pick in enumerate(section.questions):
            if pick.id is not None:
                loc = ("sections", si, "questions", pi)
                if pick.id not in bank.questions and pick.id not in bank.sources:
                    raise doc.error(loc, f"no question {pick.id!r} in {bank.where()}")
                qid = bank.get(pick.id).id
                if qid in fixed:
                    raise doc.error(loc, f"question {qid!r} is picked twice")
                fixed.add(qid)
    total = 0.0
    pools: dict[tuple[int, int], list[tuple[BankQuestion, ...]]] = {}
    for si, section in enumerate(spec.sections):
        for pi, pick in enumerate(section.questions):
            loc = ("sections", si, "questions", pi)
            if pick.id is not None:
                total += bank.get(pick.id).question.marks
                continue
            pool = pick.pool
            assert pool is not None
            for ref in pool.from_:
                if ref not in bank.questions and ref not in bank.sources:
                    raise doc.error(loc + ("pool", "from"), f"no question {ref!r} in the bank")
            cands = pool_candidates(bank, pool, fixed)
            try:
                combos = pool_combinations(cands, pool)
            except ValueError as exc:
                raise doc.error(loc + ("pool",), str(exc)) from None
            if not combos:
                want = f" worth {pool.marks:g} marks together" if pool.marks is not None else ""
                raise doc.error(
                    loc + ("pool",),
                    f"cannot pick {pool.count} question(s){want}: {len(cands)} match the rule",
                )
            marks = {sum(q.question.marks for q in c) for c in combos}
            if len(marks) > 1:
                raise doc.error(
                    loc + ("pool",),
                    "the matching questions differ in marks; give the pool's total `marks`",
                )
            total += marks.pop()
            pools[(si, pi)] = combos
    if not math.isclose(total, spec.max_marks):
        raise doc.error(("max_marks",), f"the questions add up to {total:g} marks, not {spec.max_marks:g}")
    return LoadedSpec(path.stem, spec, doc, pools, templates, bank.packages, numbering)


def with_languages(loaded: LoadedSpec, languages: str | None, layout: str | None) -> LoadedSpec:
    """The spec with the command line's `--languages en,hi` and `--layout` over its own."""
    data = loaded.spec.model_dump(by_alias=True)
    if languages is not None:
        data["languages"] = [c.strip() for c in languages.split(",") if c.strip()]
    if layout is not None:
        data["layout"] = layout
    try:
        spec = ExamSpec.model_validate(data)
    except ValidationError as exc:
        err = exc.errors(include_url=False)[0]
        loc = tuple(err["loc"])
        field = "--layout" if loc[:1] == ("layout",) else "--languages"
        value = layout if field == "--layout" else languages
        message = err["msg"].removeprefix("Value error, ")
        if "pattern" in err["type"] or "literal" in err["type"]:
            message = (
                f"{value!r}: a layout is parallel, columns or candidate"
                if field == "--layout"
                else f"{value!r}: language codes separated by commas (en,hi)"
            )
        raise InputError(message, field=field) from None
    return dataclasses.replace(loaded, spec=spec)

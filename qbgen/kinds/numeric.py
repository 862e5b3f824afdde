"""The numeric kind: a number computed by the question's generator.

Room: everything about numeric answers: the tolerance a grader applies, turned into a
closed accepted interval per paper; the declared mistakes (the values known wrong
methods give); the proof that the interval holds honest rounding and none of the
mistakes; and their printing. Imports the kinds base, frozen, latex.
"""

from __future__ import annotations

import math
from typing import Annotated, Any, ClassVar, Literal

from pydantic import BeforeValidator, Field, model_validator

from ..frozen import Frozen
from ..latex import NoEscape, Tex, escape, fmt
from ..scoring import Interval, Named, Scoring
from .base import (
    AnswerInstance,
    AnswerSpec,
    CribCell,
    InstanceContext,
    KindHandler,
    LmsForm,
    LmsNumber,
    View,
    interval_tex,
    inward,
    is_number,
    label_tex,
)

DEFAULT_SIGFIGS = 4  # what the key prints without `sigfigs` (latex.fmt's default)
SPLIT = "\\penalty9000\\ "  # a break TeX takes only where the line would run over
HONEST_SIGFIGS = 3  # a correct answer rounded to this many figures is always accepted


class Tolerance(Frozen):
    """How far from the value a grader accepts: the larger of `rel` and `abs`.

    `rel` is relative to the answer itself, or to another answer named by `of` (a new
    weight's band set from its change, not from the weight).
    """

    rel: float = Field(default=0, ge=0, le=1, description="Relative half-width of the band.")
    abs: float = Field(default=0, ge=0, description="Absolute half-width of the band.")
    of: str | None = Field(default=None, description="`rel` is relative to this answer, not to the value.")

    @model_validator(mode="after")
    def _of_needs_rel(self) -> Tolerance:
        if self.of is not None and not self.rel:
            raise ValueError("of: a band relative to another answer needs `rel`")
        return self


def _number_is_relative(value: Any) -> Any:
    # `tolerance: 0.005` is short for `tolerance: {rel: 0.005}`.
    if isinstance(value, int | float) and not isinstance(value, bool):
        if not 0 <= value <= 1:
            raise ValueError("a relative tolerance is between 0 and 1 (0.005 is 0.5 %)")
        return {"rel": value}
    return value


def _number_or_band(schema: dict[str, Any]) -> None:
    # The file may give a number as well as a mapping; the schema says so.
    band = dict(schema)
    schema.clear()
    schema.update({"anyOf": [{"type": "number", "minimum": 0, "maximum": 1}, band]})


class Alternative(Frozen):
    """A convention the key accepts: a value the generator's `mistakes()` names, given credit."""

    name: str = Field(min_length=1, description="The name `mistakes()` gives this value.")
    label: str = Field(default="", description="How the key names it (LaTeX template; default: the name).")
    credit: float = Field(default=1, gt=0, le=1, description="The credit it earns (1: full).")
    only: View | None = Field(
        default=None, description="Accepted only in the paper as set (`original`) or in new papers (`new`)."
    )


class NumericAnswer(AnswerSpec):
    """A number computed by the question's generator."""

    kind: Literal["numeric"]
    key: str = Field(description="Name of the value in the generator's `solve` answers.")
    label: str = Field(default="", description="What the number is (LaTeX template).")
    unit: str = ""
    tolerance: Annotated[Tolerance, BeforeValidator(_number_is_relative)] = Field(
        default=Tolerance(),
        description="A grader's band: a number is relative (0.005 = 0.5 %); or {rel, abs, of}.",
        json_schema_extra=_number_or_band,
    )
    sigfigs: int | None = Field(default=None, ge=1, le=12)
    alternatives: list[Alternative] = Field(
        default=[],
        description="Values of `mistakes()` that are conventions the key accepts, not mistakes: "
        "they earn their credit, each in its own interval.",
    )

    def band(self) -> Tolerance:
        """The tolerance (none: the exact value)."""
        return self.tolerance


class NumericInstance(AnswerInstance):
    """A numeric answer of one paper, its accepted interval and the mistakes it excludes."""

    kind: Literal["numeric"] = "numeric"
    key: str
    value: int | float
    unit: str = ""
    sigfigs: int | None = None
    accept: tuple[int | float, int | float]  # closed: what a grader accepts
    mistakes: tuple[tuple[str, int | float], ...] = ()  # (name, the value that wrong method gives)
    alternatives: tuple[Named, ...] = ()  # conventions the key accepts, each with its interval
    alternative_labels: tuple[Tex, ...] = ()  # how the key names each (LaTeX)


def round_sig(value: float, figures: int) -> float:
    """Round to `figures` significant figures."""
    return float(f"{value:.{figures - 1}e}") if value else 0.0


class Numeric(KindHandler[NumericAnswer, NumericInstance]):
    """Numbers: nothing shown in the exam; the value, unit and tolerance in the key."""

    name: ClassVar[str] = "numeric"
    rank: ClassVar[int] = 2
    spec_model = NumericAnswer
    instance_model = NumericInstance

    def keys(self, spec: NumericAnswer) -> tuple[str, ...]:
        """A numeric answer reads its `key` (and the answer its band is relative to)."""
        of = spec.band().of
        return (spec.key,) if of is None or of == spec.key else (spec.key, of)

    def instance(self, spec: NumericAnswer, ctx: InstanceContext) -> NumericInstance:
        """Require a number from `solve`; set its accepted interval and its mistakes."""
        value = ctx.value(spec.key)
        if not is_number(value):
            raise ctx.fail(
                f"answer {spec.key!r} is numeric in the question file, solve gave {type(value).__name__}"
            )
        band = spec.band()
        ref = value if band.of is None else ctx.value(band.of)
        if not is_number(ref):
            raise ctx.fail(f"tolerance of {spec.key!r}: answer {band.of!r} is not a number")
        half = max(band.rel * abs(ref), band.abs)
        accepted = {
            a.name: a for a in spec.alternatives if a.only in (None, "original" if ctx.original else "new")
        }
        declared = ctx.mistakes(spec.key)
        for a in spec.alternatives:
            if a.name not in declared:
                raise ctx.fail(
                    f"alternatives: {spec.key}: mistakes() gives no value named {a.name!r} "
                    f"(it names: {', '.join(map(repr, declared)) or 'none'})"
                )
        mistakes: list[tuple[str, int | float]] = []
        alternatives: list[Named] = []
        labels: list[Tex] = []
        where = {a.name: j for j, a in enumerate(spec.alternatives)}
        for name, wrong in declared.items():
            if not (is_number(wrong) and math.isfinite(wrong)):
                raise ctx.fail(f"mistakes: {spec.key}: {name!r} must be a finite number, got {wrong!r}")
            if name in accepted:
                # Its own interval: the band around it (relative to it, unless the band is
                # relative to another answer, whose width then holds for both).
                own = half if band.of is not None else max(band.rel * abs(wrong), band.abs)
                credit = accepted[name].credit
                alternatives.append(
                    Named(name=name, value=wrong, low=wrong - own, high=wrong + own, credit=credit)
                )
                labels.append(ctx.text("alternatives", where[name], "label") or NoEscape(escape(name)))
            else:
                mistakes.append((name, wrong))
        return NumericInstance(
            label=ctx.text("label"),
            key=spec.key,
            value=value,
            unit=spec.unit,
            sigfigs=spec.sigfigs,
            accept=(value - half, value + half) if half else (value, value),
            mistakes=tuple(mistakes),
            alternatives=tuple(alternatives),
            alternative_labels=tuple(labels),
        )

    def scoring(self, inst: NumericInstance) -> dict[str, Scoring]:
        """The accepted interval, the alternatives the key accepts and the named mistakes.

        Mistakes whose intervals meet (`heads forgotten` and `N, not N^2`, both 256 in
        some draws) are one named value, `A or B`: a response there is either, and its
        feedback names both, where an LMS would name only the first it finds.
        """
        low, high = inst.accept
        half = (high - low) / 2
        groups: list[list[tuple[int, str, float]]] = []  # (the generator's order, name, value)
        ranked = sorted(((i, n, v) for i, (n, v) in enumerate(inst.mistakes)), key=lambda m: m[2])
        for i, name, value in ranked:
            if groups and value - groups[-1][-1][2] <= 2 * half:
                groups[-1].append((i, name, value))
            else:
                groups.append([(i, name, value)])
        groups.sort(key=lambda g: min(i for i, _n, _v in g))
        mistakes = tuple(
            Named(
                name=" or ".join(n for _i, n, _v in sorted(group)),
                value=group[0][2] if len(group) == 1 else (group[0][2] + group[-1][2]) / 2,
                low=group[0][2] - half,
                high=group[-1][2] + half,
            )
            for group in groups
        )
        return {
            inst.key: Interval(
                value=inst.value, low=low, high=high, alternatives=inst.alternatives, mistakes=mistakes
            )
        }

    def problems(self, inst: NumericInstance) -> list[str]:
        """Where the interval fails: honest rounding outside it, or a mistake inside."""
        low, high = inst.accept
        out = []
        printed = inst.sigfigs or DEFAULT_SIGFIGS
        exact = isinstance(inst.value, int) and not isinstance(inst.value, bool)
        figures = [] if exact else sorted({HONEST_SIGFIGS, printed})
        for n in figures:
            r = round_sig(float(inst.value), n)
            if not low <= r <= high:
                out.append(
                    f"{inst.key}: {inst.value!r} rounded to {n} figures ({r!r}) is outside "
                    f"the accepted [{low!r}, {high!r}]"
                )
        for name, wrong in inst.mistakes:
            if low <= wrong <= high:
                out.append(
                    f"{inst.key}: the mistake {name!r} gives {wrong!r}, "
                    f"inside the accepted [{low!r}, {high!r}]"
                )
        for alt in inst.alternatives:
            if low <= alt.value <= high:
                out.append(
                    f"{inst.key}: the alternative {alt.name!r} gives {alt.value!r}, inside the accepted "
                    f"[{low!r}, {high!r}]: the key accepts it already"
                )
        # A response near an alternative earns credit, near a mistake none: no value may be
        # both (nor two alternatives of different credit).
        half = (high - low) / 2
        for i, alt in enumerate(inst.alternatives):
            for name, wrong in inst.mistakes:
                if alt.low - half <= wrong <= alt.high + half:
                    out.append(
                        f"{inst.key}: the alternative {alt.name!r} ({alt.value!r}) and the mistake {name!r} "
                        f"({wrong!r}) cannot be told apart: one earns credit, the other none"
                    )
            for other in inst.alternatives[i + 1 :]:
                if other.low <= alt.high and alt.low <= other.high and other.credit != alt.credit:
                    out.append(
                        f"{inst.key}: the alternatives {alt.name!r} ({alt.value!r}) and {other.name!r} "
                        f"({other.value!r}) cannot be told apart but earn different credit"
                    )
        return out

    def figures(self, inst: NumericInstance) -> set[int]:
        """The figures of the answer line."""
        return {inst.sigfigs or DEFAULT_SIGFIGS}

    def lms(self, inst: NumericInstance) -> tuple[LmsForm, ...]:
        """The value with its accepted interval and declared mistakes."""
        (scoring,) = self.scoring(inst).values()
        assert isinstance(scoring, Interval)
        return (LmsNumber(inst.key, inst.label, scoring, inst.unit),)

    def printed(self, inst: NumericInstance) -> dict[str, str]:
        """The value to its figures, as the answer line prints it."""
        return {inst.key: fmt(inst.value, inst.sigfigs)}

    def bounds(self, inst: NumericInstance) -> tuple[str, str] | None:
        """The accepted interval's ends as the key prints them (None: the exact value)."""
        low, high = inst.accept
        if high <= low:
            return None
        n = (inst.sigfigs or DEFAULT_SIGFIGS) + 1
        return fmt(inward(low, n, up=True), n, zeros=True), fmt(inward(high, n, up=False), n, zeros=True)

    def crib_cells(self, inst: NumericInstance) -> tuple[CribCell, ...]:
        """The value and the accepted interval, as the key prints them."""
        low, high = inst.accept
        accept = interval_tex(low, high, (inst.sigfigs or DEFAULT_SIGFIGS) + 1)
        label = inst.label or NoEscape("Answer")
        return (CribCell(inst.key, label, self.printed(inst)[inst.key], accept),)

    def latex_exam(self, inst: NumericInstance, *, key: bool) -> str:
        """The paper shows nothing: the student computes it."""
        return ""

    def latex_key(self, inst: NumericInstance) -> str:
        """The value to its figures, its unit, and the interval a grader accepts.

        The bounds print with one figure more than the value, rounded inwards: what a
        grader reads off the key is never wider than the interval validate proved.
        """
        unit = "\\," + escape(inst.unit) if inst.unit else ""
        bounds = self.bounds(inst)
        # The interval follows the value, or starts the next line when the line is full
        # (a long label): the fil glues cancel unless TeX breaks there, and what follows a
        # break is dropped. An LMS's HTML sees the \quad alone (pandoc drops the rest).
        gap = " \\hspace{0pt plus 1fil}\\penalty100\\hspace{0pt plus -1fil}\\quad"
        # Kept on one line, but for a last resort break before "to" (a large-print line).
        tol = f"{gap}\\mbox{{(accept {bounds[0]}}}{SPLIT}\\mbox{{to {bounds[1]})}}" if bounds else ""
        value = self.printed(inst)[inst.key]
        # The conventions the key accepts, as the auto-marking does (the same intervals),
        # each a paragraph indented under the answer.
        n = (inst.sigfigs or DEFAULT_SIGFIGS) + 1
        also = "".join(
            f"\\par{{\\leftskip=1.5em\\noindent\\emph{{Also accepted}}, {label}"
            + ("" if a.credit == 1 else f" ({a.credit:.0%} of the credit)".replace("%", "\\%"))
            + f": {fmt(a.value, inst.sigfigs)}{unit}{gap}\\mbox{{(accept "
            + f"{fmt(inward(a.low, n, up=True), n, zeros=True)}}}{SPLIT}\\mbox{{to "
            + f"{fmt(inward(a.high, n, up=False), n, zeros=True)})}}"
            + "\\par}"
            for a, label in zip(inst.alternatives, inst.alternative_labels, strict=True)
        )
        return f"{label_tex(inst.label, 'Answer')}{value}{unit}{tol}{also}\\par\n"

    skeleton: ClassVar[str] = """\
generator: {module}.py
original: {{a: 3, b: 4}}   # the paper's own values (--original)
prompt: |
  TODO The question, with its numbers drawn: what is $\\VAR{{p.a}} \\times \\VAR{{p.b}}$?
answers:
  - kind: numeric
    key: product       # a name in solve()'s answers
    label: TODO What the number is
rubric:
  - marks: 1
    text: TODO The method.
  - marks: 1
    text: TODO The right value, \\VAR{{a.product}}.
"""

    generator_skeleton: ClassVar[str | None] = '''\
"""Generator for {id}: draws the numbers, solves them, checks them another way."""

import numpy as np
from pydantic import Field

from qbgen import authoring
from qbgen.authoring import Solution, agree


class Params(authoring.Params):
    # TODO What is drawn, with the ranges that keep the question well posed.
    a: int = Field(ge=2, le=12)
    b: int = Field(ge=2, le=12)


def sample(rng: np.random.Generator) -> Params:
    return Params(a=int(rng.integers(2, 13)), b=int(rng.integers(2, 13)))


def solve(p: Params) -> Solution:
    # TODO Every answer the key shows, and the worked steps (LaTeX, one item a line).
    product = p.a * p.b
    return Solution(answers={{"product": product}}, steps=[rf"${{p.a}} \\times {{p.b}} = {{product}}$."])


def check(p: Params, s: Solution) -> None:
    # TODO Re-derive every answer by ANOTHER route (here: repeated addition).
    agree("product", sum(p.a for _ in range(p.b)), s.answers["product"])
'''


HANDLER = Numeric()

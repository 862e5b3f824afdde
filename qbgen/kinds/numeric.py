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
from ..latex import Tex, escape, fmt
from .base import (
    AnswerInstance,
    AnswerSpec,
    InstanceContext,
    KindHandler,
    LmsForm,
    LmsNumber,
    is_number,
    label_tex,
)

DEFAULT_SIGFIGS = 4  # what the key prints without `sigfigs` (latex.fmt's default)
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


def round_sig(value: float, figures: int) -> float:
    """Round to `figures` significant figures."""
    return float(f"{value:.{figures - 1}e}") if value else 0.0


def _inward(value: float, figures: int, up: bool) -> float:
    # Round a bound to `figures` significant figures towards the inside of the interval.
    if value == 0:
        return 0.0
    step = 10.0 ** (math.floor(math.log10(abs(value))) - figures + 1)
    return (math.ceil if up else math.floor)(round(value / step, 9)) * step


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
        mistakes = []
        for name, wrong in ctx.mistakes(spec.key).items():
            if not (is_number(wrong) and math.isfinite(wrong)):
                raise ctx.fail(f"mistakes: {spec.key}: {name!r} must be a finite number, got {wrong!r}")
            mistakes.append((name, wrong))
        return NumericInstance(
            label=ctx.text("label"),
            key=spec.key,
            value=value,
            unit=spec.unit,
            sigfigs=spec.sigfigs,
            accept=(value - half, value + half) if half else (value, value),
            mistakes=tuple(mistakes),
        )

    def intervals(self, inst: NumericInstance) -> dict[str, tuple[int | float, int | float]]:
        """The answer's accepted interval, by its key."""
        return {inst.key: inst.accept}

    def declared_mistakes(self, inst: NumericInstance) -> dict[str, dict[str, int | float]]:
        """The values the declared wrong methods give, by the answer's key."""
        return {inst.key: dict(inst.mistakes)} if inst.mistakes else {}

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
        return out

    def figures(self, inst: NumericInstance) -> set[int]:
        """The figures of the answer line."""
        return {inst.sigfigs or DEFAULT_SIGFIGS}

    def lms(self, inst: NumericInstance) -> tuple[LmsForm, ...]:
        """The value with its accepted interval and declared mistakes."""
        low, high = inst.accept
        return (
            LmsNumber(
                inst.key,
                inst.label,
                float(inst.value),
                float(low),
                float(high),
                inst.unit,
                tuple((name, float(v)) for name, v in inst.mistakes),
            ),
        )

    def printed(self, inst: NumericInstance) -> dict[str, str]:
        """The value to its figures, as the answer line prints it."""
        return {inst.key: fmt(inst.value, inst.sigfigs)}

    def bounds(self, inst: NumericInstance) -> tuple[str, str] | None:
        """The accepted interval's ends as the key prints them (None: the exact value)."""
        low, high = inst.accept
        if high <= low:
            return None
        n = (inst.sigfigs or DEFAULT_SIGFIGS) + 1
        return fmt(_inward(low, n, up=True), n, zeros=True), fmt(_inward(high, n, up=False), n, zeros=True)

    def crib(self, inst: NumericInstance) -> tuple[tuple[str, Tex, str, str], ...]:
        """The value and the accepted interval, as the key prints them."""
        bounds = self.bounds(inst)
        interval = f"{bounds[0]}\\,--\\,{bounds[1]}" if bounds else "exact"
        return ((inst.key, inst.label, self.printed(inst)[inst.key], interval),)

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
        tol = f"{gap}\\mbox{{(accept {bounds[0]} to {bounds[1]})}}" if bounds else ""
        value = self.printed(inst)[inst.key]
        return f"{label_tex(inst.label, 'Answer')}{value}{unit}{tol}\\par\n"

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

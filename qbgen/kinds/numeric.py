"""The numeric kind: a number computed by the question's generator.

Room: everything about numeric answers. Imports the kinds base, latex.
"""

from __future__ import annotations

from typing import ClassVar, Literal

from pydantic import Field

from ..latex import escape, fmt
from .base import AnswerInstance, AnswerSpec, InstanceContext, KindHandler, is_number, label_tex


class Spec(AnswerSpec):
    """A number computed by the question's generator."""

    kind: Literal["numeric"]
    key: str = Field(description="Name of the value in the generator's `solve` answers.")
    label: str = Field(default="", description="What the number is (LaTeX template).")
    unit: str = ""
    tolerance: float = Field(default=0, ge=0, description="Relative tolerance a grader accepts.")
    sigfigs: int | None = Field(default=None, ge=1, le=12)


class Instance(AnswerInstance):
    """A numeric answer of one paper."""

    kind: Literal["numeric"] = "numeric"
    key: str
    value: int | float
    unit: str = ""
    tolerance: float = 0
    sigfigs: int | None = None


class Numeric(KindHandler[Spec, Instance]):
    """Numbers: nothing shown in the exam; the value, unit and tolerance in the key."""

    name: ClassVar[str] = "numeric"
    spec_model = Spec
    instance_model = Instance

    def keys(self, spec: Spec) -> tuple[str, ...]:
        """A numeric answer reads its `key`."""
        return (spec.key,)

    def instance(self, spec: Spec, ctx: InstanceContext) -> Instance:
        """Require a number from `solve`."""
        value = ctx.value(spec.key)
        if not is_number(value):
            raise ctx.fail(
                f"answer {spec.key!r} is numeric in the question file, solve gave {type(value).__name__}"
            )
        return Instance(
            label=ctx.text("label"),
            key=spec.key,
            value=value,
            unit=spec.unit,
            tolerance=spec.tolerance,
            sigfigs=spec.sigfigs,
        )

    def latex_exam(self, inst: Instance, *, key: bool) -> str:
        """The paper shows nothing: the student computes it."""
        return ""

    def latex_key(self, inst: Instance) -> str:
        """The value to its figures, its unit, and the tolerance a grader accepts."""
        unit = "\\," + escape(inst.unit) if inst.unit else ""
        tol = ""
        if inst.tolerance:
            tol = f" \\quad(accept within {fmt(inst.tolerance * 100, 2)}\\,\\%)"
        value = fmt(inst.value, inst.sigfigs, zeros=inst.sigfigs is not None)
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

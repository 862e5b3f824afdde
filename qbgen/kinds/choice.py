"""The choice kind: options printed in the exam; the key names the correct ones.

Room: everything about choice answers: the options' order per paper (a shuffle drawn
from the question's own seed), which options are correct (fixed in the file, or
computed by `solve` under `key`), and their printing. Imports the kinds base.
"""

from __future__ import annotations

from typing import Any, ClassVar, Literal

from pydantic import Field, model_validator
from pylatex.utils import NoEscape

from ..frozen import Frozen
from ..latex import Tex
from ..scoring import Options, OptionsRule, Scoring
from .base import (
    AnswerInstance,
    AnswerSpec,
    CribCell,
    InstanceContext,
    KindHandler,
    LmsChoice,
    LmsForm,
    LmsWritten,
)

REASON = "Give the reason for your choice."  # what an LMS asks of a choice the key explains


class Option(Frozen):
    """One option of a choice question."""

    text: str = Field(min_length=1)
    correct: bool = False


class ChoiceAnswer(AnswerSpec):
    """Options printed in the exam; the key marks the correct ones and explains."""

    kind: Literal["choice"]
    options: list[Option] = Field(min_length=2)
    select: Literal["one", "any"] = "one"
    layout: Literal["inline", "list"] = "inline"
    shuffle: bool = Field(default=False, description="Options may be shuffled per variant.")
    key: str | None = Field(
        default=None,
        description="Name in `solve`'s answers of the correct options' indexes (0-based, file order); "
        "then no option says `correct`.",
    )
    explanation: str = ""
    credit: OptionsRule = Field(
        default="negative",
        description="With `select: any`, how a choice of several earns credit: `all-or-nothing`; "
        "`partial` (each correct option chosen earns its share, each wrong one takes a share back); "
        "`negative` (a wrong option costs 1/(number of wrong options)); never below 0.",
    )

    @model_validator(mode="after")
    def _one_correct(self) -> ChoiceAnswer:
        n = sum(o.correct for o in self.options)
        if self.key is not None:
            if n:
                raise ValueError("options: with `key`, solve says which options are correct; drop `correct`")
        elif self.select == "one" and n != 1:
            raise ValueError(f"options: select: one needs exactly one correct option, found {n}")
        return self


class ChoiceInstance(AnswerInstance):
    """The options of one paper in printed order, and which of them are correct."""

    kind: Literal["choice"] = "choice"
    options: tuple[Tex, ...]
    pictures: tuple[bool, ...]  # an option that is a picture (the key names its letter only)
    correct: tuple[int, ...]  # indexes into `options`
    select: Literal["one", "any"] = "one"
    layout: Literal["inline", "list"] = "inline"
    explanation: Tex = NoEscape("")
    key: str | None = None  # the name in solve's answers, if solve says which are correct
    credit: OptionsRule = "negative"


class Choice(KindHandler[ChoiceAnswer, ChoiceInstance]):
    """Choices: the options in the exam; the correct letters and the reason in the key."""

    name: ClassVar[str] = "choice"
    rank: ClassVar[int] = 5
    spec_model = ChoiceAnswer
    instance_model = ChoiceInstance

    def room(self, inst: ChoiceInstance) -> Literal["write", "given", "choice"]:
        """On paper, the options are the room (a letter is circled), or lines for the reason.

        A choice whose key explains it asks for the reason too: room to write.
        """
        return "write" if inst.explanation else "choice"

    def keys(self, spec: ChoiceAnswer) -> tuple[str, ...]:
        """Computed correct options are read from `key`."""
        return (spec.key,) if spec.key is not None else ()

    def drawn(self, spec: ChoiceAnswer) -> bool:
        """Options may shuffle per seed; if they do not, validate warns of the fixed key."""
        return True

    def _correct(self, spec: ChoiceAnswer, ctx: InstanceContext) -> set[int]:
        if spec.key is None:
            return {j for j, o in enumerate(spec.options) if o.correct}
        value: Any = ctx.value(spec.key)
        n = len(spec.options)
        if not isinstance(value, list | tuple) or not all(
            isinstance(j, int) and not isinstance(j, bool) and 0 <= j < n for j in value
        ):
            raise ctx.fail(
                f"choice answer {spec.key!r} must be a list of option indexes 0..{n - 1}, "
                f"solve gave {value!r}"
            )
        if len(set(value)) != len(value):
            raise ctx.fail(f"choice answer {spec.key!r} repeats an option: {value!r}")
        if spec.select == "one" and len(value) != 1:
            raise ctx.fail(
                f"choice answer {spec.key!r}: select: one needs exactly one option, solve gave {value!r}"
            )
        return set(value)

    def instance(self, spec: ChoiceAnswer, ctx: InstanceContext) -> ChoiceInstance:
        """Draw the printed order (if shuffled) and map the correct options to it."""
        correct = self._correct(spec, ctx)
        order = list(range(len(spec.options)))
        if spec.shuffle and ctx.rng is not None:
            ctx.rng.shuffle(order)
        shown = [ctx.rendered("options", j, "text", key=False) for j in order]
        return ChoiceInstance(
            label=ctx.text("label"),
            options=tuple(r.tex for r in shown),
            pictures=tuple(r.has_figure for r in shown),
            correct=tuple(k for k, j in enumerate(order) if j in correct),
            select=spec.select,
            layout=spec.layout,
            explanation=ctx.text("explanation"),
            key=spec.key,
            credit=spec.credit,
        )

    def key_positions(self, inst: ChoiceInstance) -> tuple[int, ...]:
        """The printed positions of the correct options."""
        return inst.correct

    def scoring(self, inst: ChoiceInstance) -> dict[str, Scoring]:
        """The options as printed, the correct ones, and the rule for a choice of several."""
        multiple = inst.select == "any"
        return {
            inst.key or "choice": Options(
                count=len(inst.options),
                correct=inst.correct,
                multiple=multiple,
                credit=inst.credit if multiple else "all-or-nothing",
            )
        }

    def latex_bubbles(self, inst: ChoiceInstance, item: str) -> str:
        """A bubble per option, lettered as the options are, for optical reading."""
        ident = f"{item}.{inst.key or 'choice'}"
        marks = "".join(
            f"\\qbbubble{{{f'{ident}:{chr(65 + i)}'.encode().hex()}}}{{{chr(65 + i)}}}"
            for i in range(len(inst.options))
        )
        return f"\\qbbubbles{{{marks}}}\n"

    def latex_exam(self, inst: ChoiceInstance, *, key: bool) -> str:
        """The options, inline or as a list, lettered (A), (B), ..."""
        env = "oneparchoices" if inst.layout == "inline" else "choices"
        items = "".join(f"\\choice {o}\n" for o in inst.options)
        return f"\\begin{{{env}}}\n{items}\\end{{{env}}}\n"

    def latex_key(self, inst: ChoiceInstance) -> str:
        """The correct letters (a picture option is not drawn again), then the reason."""

        def name(i: int) -> str:
            return f"({chr(65 + i)})" + ("" if inst.pictures[i] else f" {inst.options[i]}")

        letters = ", ".join(name(i) for i in inst.correct) or "none"
        expl = f"\\par {inst.explanation}" if inst.explanation else ""
        word = "Correct" if len(inst.correct) == 1 else "Correct options"
        (scoring,) = self.scoring(inst).values()
        assert isinstance(scoring, Options)
        rule = f"\\par \\emph{{{scoring.describe()}}}" if inst.select == "any" else ""
        return f"\\textbf{{{word}:}}\\enspace {letters}{rule}{expl}\\par\n"

    def crib_cells(self, inst: ChoiceInstance) -> tuple[CribCell, ...]:
        """The letters of the correct options as this paper prints them (its own shuffle)."""
        letters = ", ".join(f"({chr(65 + i)})" for i in inst.correct) or "none"
        label = inst.label or NoEscape("Correct option" if inst.select == "one" else "Correct options")
        return (CribCell(inst.key or "choice", label, letters),)

    def lms(self, inst: ChoiceInstance) -> tuple[LmsForm, ...]:
        """The options in this paper's order and the correct ones; then the reason, if asked.

        A choice whose key explains it asks for the reason too (on paper, room to write):
        an LMS asks for it as a written answer of its own, so the marks for the reason
        are a person's to give, not the choice's.
        """
        (scoring,) = self.scoring(inst).values()
        assert isinstance(scoring, Options)
        choice = LmsChoice(inst.label, inst.options, scoring)
        if not inst.explanation:
            return (choice,)
        return (choice, LmsWritten(NoEscape(REASON), inst.explanation))

    skeleton: ClassVar[str] = """\
prompt: |
  TODO The question. Which of the following ...?
answers:
  - kind: choice
    layout: inline   # or list
    shuffle: true    # options may be shuffled per set when the spec says shuffle_options
    options:
      - text: TODO first option
      - text: TODO the right option
        correct: true
      - text: TODO third option
    explanation: |
      TODO Why the right option is right and the others are not.
rubric:
  - marks: 1
    text: TODO The right option.
  - marks: 1
    text: TODO The reason.
"""


HANDLER = Choice()

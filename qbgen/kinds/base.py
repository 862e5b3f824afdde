"""What every answer kind provides: its YAML model, its instance, and its part of each writer.

Room: the contract of a kind handler and the context assemble gives it. Imports
errors, frozen, latex and scoring only. A kind lives in one module of this package: the model
of its YAML (`Spec`), the check of what `solve` returned for it (`instance`), its typed
instance (`Instance`), how it prints in the exam and in the key, and its skeleton for
`qbgen new`. Writers never branch on a kind: they ask the handler.
"""

from __future__ import annotations

import math
from abc import ABC, abstractmethod
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, ClassVar, Generic, Literal, TypeVar

import numpy as np
from pydantic import Field
from pylatex.utils import NoEscape

from ..errors import QuestionFailure
from ..frozen import Frozen
from ..latex import Tex, fmt
from ..scoring import Interval, Options, Scoring

Loc = tuple[Any, ...]
# Which paper a line belongs to: the paper as set (--original) or a new one.
View = Literal["original", "new"]


class AnswerSpec(Frozen):
    """Base of a kind's YAML model: every answer has a `kind` tag and may have a label."""

    kind: str
    label: str = ""
    only: View | None = Field(
        default=None,
        description="Print this answer only in the paper as set (`original`, --original) or only "
        "in new papers (`new`): what a new paper adds to the source question.",
    )
    asked: bool = Field(
        default=True,
        description="false: the key shows it for the grader (a remark, a cross-check), but the "
        "student is not asked for it; LMS exports give it to graders only.",
    )


class AnswerInstance(Frozen):
    """Base of a kind's instance: an answer of one paper, rendered and typed."""

    kind: str
    label: Tex = NoEscape("")
    asked: bool = True  # false: for the grader only (a remark, a cross-check)


# ---------------------------------------------------------------- what an LMS carries
# A kind hands every LMS writer (Moodle, QTI) its answers in these three forms; the
# writers map forms to their formats and never look at a kind.


@dataclass(frozen=True)
class LmsNumber:
    """A value graded by its scoring: the accepted interval, alternatives and mistakes."""

    key: str
    label: Tex
    scoring: Interval
    unit: str = ""

    @property
    def value(self) -> float:
        """The key's value."""
        return self.scoring.value

    @property
    def low(self) -> float:
        """The accepted interval's lower end."""
        return self.scoring.low

    @property
    def high(self) -> float:
        """The accepted interval's upper end."""
        return self.scoring.high

    @property
    def centre(self) -> float:
        """The middle of the accepted interval (an LMS's "answer")."""
        return self.scoring.centre

    @property
    def half(self) -> float:
        """Half the accepted interval's width (an LMS's "tolerance" or margin)."""
        return self.scoring.half


@dataclass(frozen=True)
class LmsChoice:
    """Options in the paper's order and their scoring (which are correct, one or any, the rule)."""

    label: Tex
    options: tuple[Tex, ...]
    scoring: Options

    @property
    def correct(self) -> tuple[int, ...]:
        """The correct options' printed positions."""
        return self.scoring.correct

    @property
    def multiple(self) -> bool:
        """Whether the student may choose several."""
        return self.scoring.multiple


@dataclass(frozen=True)
class LmsWritten:
    """An answer a person grades: what it asks for and the model answer (the key's LaTeX).

    `label` is what students see ("": the question's text asks it all; a label that only
    heads the key's answer, as "Model answer" does, is not a question); `model` is the
    answer without its label, which a writer shows graders after the label.
    """

    label: Tex
    model: Tex


LmsForm = LmsNumber | LmsChoice | LmsWritten


@dataclass(frozen=True)
class CribCell:
    """One value of one paper in the grader's crib, as LaTeX.

    `key` names it among the question's answers (the same on every paper), `label` heads
    its column, `value` is what the paper's key prints, `accept` what a grader accepts
    (an interval, `exact`; "" where the key's words decide). `place` names it the same
    on every paper (a table's row by its number), for when labels differ between papers.
    """

    key: str
    label: Tex
    value: str
    accept: str = ""
    place: Tex | None = None


def inward(value: float, figures: int, up: bool) -> float:
    """Round a bound to `figures` significant figures towards the inside of its interval."""
    if value == 0:
        return 0.0
    step = 10.0 ** (math.floor(math.log10(abs(value))) - figures + 1)
    return (math.ceil if up else math.floor)(round(value / step, 9)) * step


def interval_tex(low: float, high: float, figures: int) -> str:
    """An accepted interval as the key prints it: bounds of `figures` figures, rounded inwards."""
    if high <= low:
        return "exact"
    lo, hi = (
        fmt(inward(low, figures, up=True), figures, zeros=True),
        fmt(inward(high, figures, up=False), figures, zeros=True),
    )
    return f"{lo}\\,--\\,{hi}"


@dataclass(frozen=True)
class Rendered:
    """A rendered text field: its LaTeX and whether it holds a picture."""

    tex: NoEscape
    has_figure: bool


@dataclass(frozen=True)
class InstanceContext:
    """What assemble hands a kind to build one answer's instance.

    `text(field, key=...)` renders one of this answer's text fields (key: with the
    answers `a` in scope; else only what the exam may show); `value(key)` is what `solve`
    returned under that name; `rng` draws shuffles (None: keep the file's order).
    """

    question_id: str
    file: str
    render: Callable[[Loc, bool], Rendered]
    values: Any  # solve()'s answers: a read-only mapping of plain values
    rng: np.random.Generator | None
    wrong: Any = None  # the generator's mistakes(): {answer key: {name: value}}
    original: bool = False  # the paper as set (--original): answers' `only` lines choose by it

    def text(self, *loc: Any, key: bool = True) -> NoEscape:
        """Return a text field of this answer, rendered (empty if it is not there)."""
        return self.render(loc, key).tex

    def rendered(self, *loc: Any, key: bool = True) -> Rendered:
        """Return a text field of this answer and whether it holds a picture."""
        return self.render(loc, key)

    def value(self, key: str) -> Any:
        """Return what `solve` computed under `key`."""
        return self.values[key]

    def mistakes(self, key: str) -> dict[str, Any]:
        """Return the declared wrong methods' values for the answer `key` ({} if none)."""
        return dict((self.wrong or {}).get(key, {}))

    def fail(self, message: str) -> QuestionFailure:
        """Build the failure of this question for an answer `solve` got wrong in kind."""
        return QuestionFailure(f"{self.question_id}: {message}", file=self.file)


S = TypeVar("S", bound=AnswerSpec)
I = TypeVar("I", bound=AnswerInstance)  # noqa: E741 - the instance type


class KindHandler(ABC, Generic[S, I]):
    """One answer kind: every method a stage or writer needs, in one place."""

    name: ClassVar[str]
    # A question's kind, unless its file says, is that of its highest-ranked asked answer:
    # choice 5, table 4, code 3, numeric 2, text 1 (a worked number with a remark is numeric).
    rank: ClassVar[int]
    spec_model: ClassVar[type[AnswerSpec]]
    instance_model: ClassVar[type[AnswerInstance]]
    skeleton: ClassVar[str]  # the question file body `qbgen new --kind NAME` writes
    generator_skeleton: ClassVar[str | None] = None  # its generator, if the kind needs one
    # The label its skeleton writes: it heads the key's answer and asks nothing of students.
    default_label: ClassVar[str] = ""

    # ------------------------------------------------------------------ loading, drawing

    @abstractmethod
    def keys(self, spec: S) -> tuple[str, ...]:
        """Return the names in `solve`'s answers this answer reads (none: no generator needed)."""

    def drawn(self, spec: S) -> bool:
        """Whether validate draws the answer over seeds even without a generator.

        (A choice: its options may shuffle, and a key stuck in one place is warned of.)
        """
        return False

    @abstractmethod
    def instance(self, spec: S, ctx: InstanceContext) -> I:
        """Check what `solve` returned for this answer and build its typed instance."""

    def room(self, inst: I) -> Literal["write", "given", "choice"]:
        """What room an answer-on-paper paper gives this answer.

        Room to write (the default), nothing more (a table's blank cells are its room),
        or a choice's options.
        """
        return "write"

    def latex_bubbles(self, inst: I, item: str) -> str:
        r"""LaTeX of the bubbles an answer-on-paper paper prints for this answer (none: "").

        `item` is the item's name; each bubble is `\qbbubble{ID}{LABEL}` with ID the hex
        of `ITEM.ANSWER:LABEL` (the answer's id in the scoring), so a scan can read it.
        """
        return ""

    def key_positions(self, inst: I) -> tuple[int, ...]:
        """Where the printed key falls among printed options (validate warns of a fixed one)."""
        return ()

    def scoring(self, inst: I) -> dict[str, Scoring]:
        """How a machine marks this answer, by answer id (none: a person marks it).

        An answer not asked (`asked: false`: a working value the key shows) is never
        marked: the item's caller leaves it out.
        """
        return {}

    def intervals(self, inst: I) -> dict[str, tuple[int | float, int | float]]:
        """The closed intervals a grader accepts, by answer key (from the scoring)."""
        return {k: (s.low, s.high) for k, s in self.scoring(inst).items() if isinstance(s, Interval)}

    def declared_mistakes(self, inst: I) -> dict[str, dict[str, int | float]]:
        """The values known wrong methods give, by answer key and mistake name (from the scoring)."""
        return {
            k: {m.name: m.value for m in s.mistakes}
            for k, s in self.scoring(inst).items()
            if isinstance(s, Interval) and s.mistakes
        }

    def problems(self, inst: I) -> list[str]:
        """What validate must fail for this draw (an interval that is not fair)."""
        return []

    def figures(self, inst: I) -> set[int]:
        """The significant figures this answer prints its rounded numbers with (none: no rule)."""
        return set()

    def lms(self, inst: I) -> tuple[LmsForm, ...]:
        """The answer as an LMS carries it (default: one answer a person grades, the key's text)."""
        return (LmsWritten(self.asks(inst), NoEscape(self.latex_key(inst))),)

    def asks(self, inst: I) -> Tex:
        """The answer's label as students see it: none if it only heads the key's answer."""
        return NoEscape("") if " ".join(str(inst.label).split()) == self.default_label else inst.label

    def html_key(self, inst: I) -> str:
        """The answer as the key shows it, in LaTeX pandoc reads (default: `latex_key`)."""
        return self.latex_key(inst)

    def crib_cells(self, inst: I) -> tuple[CribCell, ...]:
        """Every value of this paper the grader's crib lists for this answer (none: the key's words do).

        Each is a cell of the paper's row: a number, a table's cell, a choice's letters.
        """
        return ()

    def printed(self, inst: I) -> dict[str, str]:
        """The number the key prints for each answer key, as LaTeX.

        A worked step that shows the answer must show it the same way (validate checks).
        """
        return {}

    # ------------------------------------------------------------------ the LaTeX writer

    @abstractmethod
    def latex_exam(self, inst: I, *, key: bool) -> str:
        """Return what the paper shows after the prompt (`key`: this is the key's copy)."""

    @abstractmethod
    def latex_key(self, inst: I) -> str:
        """Return the answer as the key prints it."""


def label_tex(label: str, default: str) -> str:
    """Return a bold answer label with its colon, as the key prints it."""
    return f"\\textbf{{{label or default}:}}\\enspace "


def is_number(value: Any) -> bool:
    """Whether `value` is an int or float (not a bool)."""
    return isinstance(value, int | float) and not isinstance(value, bool)

"""Scoring: how an answer earns its credit, as data every stage after the draw reads.

Room: the typed, serialisable scoring contract and its one evaluation. A kind emits a
`Scoring` for each answer it lets a machine mark (a value in an interval, an exact
string, a set of options) and the item's marking scheme is a `Manual`; the manifest
carries them (JSON, `schema_version` 2), every LMS writer translates them and `grade`
(later the marking app) evaluates them with `evaluate` here. No other module knows a
scoring rule. Imports frozen only: this is the bottom layer.

This is R/exams' `exams_eval()` with types, and PrairieLearn's "the element owns its
grading", without string attributes.
"""

from __future__ import annotations

import math
import re
import unicodedata
from dataclasses import dataclass
from typing import Annotated, Literal

from pydantic import Field, TypeAdapter

from .frozen import Frozen

SCHEMA_VERSION = 2  # of manifest.json: 2 adds `scoring`


class Named(Frozen):
    """A value another method gives, with the interval that recognises it."""

    name: str
    value: float
    low: float
    high: float
    credit: float = Field(default=0.0, ge=0, le=1, description="The credit it earns: 0 for a mistake.")


class Interval(Frozen):
    """A number in a closed interval; named alternatives earn their credit, named mistakes none."""

    rule: Literal["interval"] = "interval"
    value: float
    low: float
    high: float
    alternatives: tuple[Named, ...] = ()  # conventions the key accepts (credit > 0)
    mistakes: tuple[Named, ...] = ()  # known wrong methods, named in feedback (credit 0)

    @property
    def half(self) -> float:
        """Half the accepted interval's width (an LMS's "tolerance")."""
        return (self.high - self.low) / 2

    @property
    def centre(self) -> float:
        """The accepted interval's middle (an LMS's "answer")."""
        return (self.low + self.high) / 2


class Exact(Frozen):
    """A word or number that must match exactly (spaces and, unless told, case aside)."""

    rule: Literal["exact"] = "exact"
    value: str
    case_sensitive: bool = False


OptionsRule = Literal["all-or-nothing", "partial", "negative"]


class Options(Frozen):
    """Options printed A, B, ...; which are correct; how a choice of several earns credit.

    - `all-or-nothing`: full credit for exactly the correct set, else none.
    - `partial`: per option: each correct option chosen earns 1/|correct|, each wrong
      one chosen takes one of those back; never below 0.
    - `negative`: each correct option chosen earns 1/|correct|, each wrong one chosen
      costs 1/|wrong|; never below 0 (Moodle's multi-answer fractions).
    """

    rule: Literal["options"] = "options"
    count: int = Field(ge=2)
    correct: tuple[int, ...]  # printed positions, 0 = A
    multiple: bool = False  # the student may choose several
    credit: OptionsRule = "all-or-nothing"

    def describe(self) -> str:
        """The rule in words, with this paper's numbers (the key, the site and the LMS say it)."""
        if not self.multiple:
            return "One option is correct."
        if self.credit == "all-or-nothing":
            return "All or nothing: the marks for exactly the correct options."
        k, w = len(self.correct), self.count - len(self.correct)
        cost = f"takes 1/{k} back" if self.credit == "partial" else f"costs 1/{w}" if w else "costs nothing"
        return (
            f"Per option: each correct option chosen earns 1/{k} of the marks, "
            f"each wrong one chosen {cost}; never below 0."
        )

    @property
    def additive(self) -> bool:
        """Whether the credit is a sum of the chosen options' weights (floored at 0)."""
        return not (self.multiple and self.credit == "all-or-nothing")

    def weights(self) -> list[float]:
        """Each option's weight, as fractions of the credit (an LMS's fractions).

        The credit of a choice is the sum of its options' weights, floored at 0; an
        all-or-nothing choice of several is no such sum (a ValueError).
        """
        if not self.additive:
            raise ValueError("an all-or-nothing choice of several has no per-option weights")
        k, n = len(self.correct), self.count
        if not self.multiple:
            return [1.0 if i in self.correct else 0.0 for i in range(n)]
        wrong = -1 / k if self.credit == "partial" else (-1 / (n - k) if n > k else 0.0)
        return [1 / k if i in self.correct else wrong for i in range(n)]


class Line(Frozen):
    """A marking-scheme line: what earns these marks, as plain text for graders."""

    marks: float
    text: str
    partial: bool = True  # false: the line's marks are all or nothing


class Manual(Frozen):
    """A person marks it: the scheme's lines, marks in steps of `step`."""

    rule: Literal["manual"] = "manual"
    marks: float
    step: float = 0.5
    lines: tuple[Line, ...] = ()

    def problem(self, mark: float) -> str:
        """Why a person cannot give `mark` by this scheme ("" if they can).

        A line that gives no partial marks gives all of them or none: the mark must be
        some of those lines whole plus at most what the other lines give.
        """
        whole = [x.marks for x in self.lines if not x.partial]
        if not whole:
            return ""
        free = math.fsum(x.marks for x in self.lines if x.partial)
        sums = {0.0}
        for m in whole:
            sums |= {round(s + m, 9) for s in sums}
        if any(-1e-9 <= mark - s <= free + 1e-9 for s in sums):
            return ""
        names = ", ".join(f"{m:g}" for m in whole)
        return f"the marking scheme gives no partial marks on its line(s) worth {names}: no such mark"


Scoring = Annotated[Interval | Exact | Options | Manual, Field(discriminator="rule")]
SCORING: TypeAdapter[Scoring] = TypeAdapter(Scoring)


@dataclass(frozen=True)
class Result:
    """What a response earns: its credit (0 to 1) and the verdict a grader reads."""

    credit: float
    verdict: str  # correct, alternative: NAME, mistake: NAME, partial, wrong, blank


class Unreadable(ValueError):
    """A response that is not of the answer's form (not a number, not option letters)."""


def _ascii_digit(ch: str) -> str:
    # A decimal digit of any script (fullwidth ３, Devanagari ३) as its ASCII digit.
    return str(unicodedata.digit(ch)) if not ch.isascii() and unicodedata.category(ch) == "Nd" else ch


def read_number(text: str) -> float:
    """A typed number: fullwidth or other scripts' digits, a real minus sign, `-0`; no words."""
    cleaned = "".join(map(_ascii_digit, text.strip())).replace("\u2212", "-").replace("\uff0d", "-")
    cleaned = cleaned.replace("\uff0e", ".")
    if not re.fullmatch(r"[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?", cleaned):
        raise Unreadable(f"{text!r} is not a number")
    value = float(cleaned)
    if not math.isfinite(value):
        raise Unreadable(f"{text!r} is not a finite number")
    return value


def read_options(text: str, count: int) -> set[int]:
    """Option letters as typed: `B`, `A,C`, `a c`, `AC` (A is 0); a letter past the options is refused."""
    letters = re.sub(r"[\s,;/+]", "", text.strip().upper())
    if not letters.isascii() or not letters.isalpha():
        raise Unreadable(f"{text!r} is not option letters")
    chosen = {ord(ch) - ord("A") for ch in letters}
    if max(chosen) >= count:
        raise Unreadable(f"{text!r}: there are {count} options, A to {chr(ord('A') + count - 1)}")
    return chosen


def _near(value: float, named: tuple[Named, ...]) -> Named | None:
    inside = [n for n in named if n.low <= value <= n.high]
    return min(inside, key=lambda n: abs(value - n.value)) if inside else None


def evaluate(scoring: Scoring, response: str) -> Result:
    """What `response` (as typed or read from a scan) earns under `scoring`.

    A blank earns nothing. A `Manual` answer is a person's: evaluating one is a bug.
    Raises `Unreadable` for a response of the wrong form.
    """
    if not response.strip():
        return Result(0.0, "blank")
    if isinstance(scoring, Interval):
        value = read_number(response)
        if scoring.low <= value <= scoring.high:
            return Result(1.0, "correct")
        alt = _near(value, scoring.alternatives)
        if alt is not None:
            return Result(alt.credit, f"alternative: {alt.name}")
        wrong = _near(value, scoring.mistakes)
        return Result(0.0, f"mistake: {wrong.name}" if wrong else "wrong")
    if isinstance(scoring, Exact):
        got, want = " ".join(response.split()), " ".join(scoring.value.split())
        same = got == want if scoring.case_sensitive else got.casefold() == want.casefold()
        return Result(1.0 if same else 0.0, "correct" if same else "wrong")
    if isinstance(scoring, Options):
        chosen = read_options(response, scoring.count)
        if not scoring.multiple and len(chosen) > 1:
            raise Unreadable(f"{response!r}: one option is asked for")
        if chosen == set(scoring.correct):
            return Result(1.0, "correct")
        if not scoring.additive or not scoring.multiple:
            return Result(0.0, "wrong")
        weights = scoring.weights()
        credit = max(0.0, math.fsum(weights[i] for i in chosen))
        credit = round(credit, 12)  # 1/3 + 1/3 + 1/3 is 1, not 0.9999999999999999
        return Result(credit, "partial" if credit > 0 else "wrong")
    raise TypeError(f"a {scoring.rule} answer is marked by a person, not evaluated")


def dump(scoring: Scoring) -> dict[str, object]:
    """The JSON form of a scoring (the manifest's)."""
    return SCORING.dump_python(scoring, mode="json")


def load(data: object) -> Scoring:
    """A scoring from its JSON form; a malformed one raises pydantic's ValidationError."""
    return SCORING.validate_python(data)


__all__ = [
    "SCHEMA_VERSION",
    "Exact",
    "Interval",
    "Line",
    "Manual",
    "Named",
    "Options",
    "Result",
    "Scoring",
    "Unreadable",
    "dump",
    "evaluate",
    "load",
    "read_number",
    "read_options",
]

"""The data models of qbgen: what is read from disk and what passes between stages.

Room: Pydantic v2 models only, frozen and with `extra="forbid"`. Imports frozen,
latex and kinds (each kind's answer models live with its handler). Bank files
validate against `Question`, exam specs against `ExamSpec`; the assembled `Exam`
(numbered `QuestionInstance`s with rendered LaTeX and plain-Python answers) is all the
render stage and the writers ever see.
"""

from __future__ import annotations

import math
import re
from collections.abc import Sequence
from typing import TYPE_CHECKING, Annotated, Any, Literal, TypeVar, Union

from pydantic import ConfigDict, Field, field_validator, model_validator

from .frozen import Frozen, FrozenMap
from .kinds import KINDS, AnswerInstance, AnswerSpec
from .kinds.base import View
from .latex import NoEscape, Tex

T = TypeVar("T")

Marks = Annotated[
    float, Field(gt=0, multiple_of=0.5, allow_inf_nan=False, description="Marks, in steps of 0.5.")
]
QuestionId = Annotated[
    str,
    Field(
        pattern=r"^[a-z0-9][a-z0-9-]*$",
        max_length=64,
        description="Bank-wide id: lower case letters, digits and hyphens.",
    ),
]
SourceRef = Annotated[
    str,
    Field(
        pattern=r"^[a-z0-9][a-z0-9-]*:[0-9]+[a-z]?$",
        description="Where the question was asked, e.g. `paper-b:7` or `paper-a:2c`.",
    ),
]


def _sum_marks(items: list[Any]) -> float:
    return math.fsum(i.marks for i in items)


def _number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _scheme_total(rubric: Any) -> float | None:
    # What a marking scheme gives, as a new paper prints it (both views must agree, which
    # the models check after); None where the file is not yet well-formed enough to say.
    if not isinstance(rubric, list) or not all(isinstance(x, dict) for x in rubric):
        return None
    marks = [x.get("marks") for x in rubric if x.get("only") != "original"]
    if not marks or not all(_number(m) for m in marks):
        return None
    return math.fsum(marks)


def _derived_marks(data: Any) -> Any:
    # Marks said once: a question's (or part's) `marks` left out is its parts' total, or
    # its marking scheme's. Given, it is checked against them (after validation).
    if not isinstance(data, dict) or "marks" in data:
        return data
    parts = data.get("parts")
    total: float | None
    if isinstance(parts, list) and parts:
        each: list[Any] = [_derived_marks(p).get("marks") if isinstance(p, dict) else None for p in parts]
        total = math.fsum(each) if all(_number(m) for m in each) else None
    else:
        total = _scheme_total(data.get("rubric"))
    return data if total is None else {**data, "marks": total}


def _derived_kind(data: Any) -> Any:
    # A question's `kind` left out is that of its highest-ranked asked answer (a kind's
    # `rank`: choice, table, code, numeric, text).
    if not isinstance(data, dict) or "kind" in data:
        return data
    parts: list[Any] = data["parts"] if isinstance(data.get("parts"), list) else []
    given: Any = data.get("answers") or [
        a for p in parts if isinstance(p, dict) for a in p.get("answers") or []
    ]
    answers = (
        # a `kind` that is no kind's name (a list, a number) is the model's error to report
        [a for a in given if isinstance(a, dict) and isinstance(a.get("kind"), str) and a["kind"] in KINDS]
        if isinstance(given, list)
        else []
    )
    asked = [a for a in answers if a.get("asked", True) is not False]
    asked = [a for a in asked if a.get("only") != "original"] or asked or answers  # as a new paper asks
    if not asked:
        return data
    return {**data, "kind": max((a["kind"] for a in asked), key=lambda k: KINDS[k].rank)}


def in_view(items: Sequence[T], original: bool) -> list[tuple[int, T]]:
    """Return the items (answers, rubric lines) the paper as set or a new paper prints, by index."""
    view = "original" if original else "new"
    return [(i, x) for i, x in enumerate(items) if getattr(x, "only", None) in (None, view)]


def _scheme_problem(rubric: list[Any], answers: list[Any], marks: float, what: str) -> str | None:
    # Both views (the paper as set, a new paper) must mark out of the same total.
    for original in (False, True):
        lines = [x for _, x in in_view(rubric, original)]
        total = _sum_marks(lines)
        name = "the paper as set" if original else "a new paper"
        if not math.isclose(total, marks):
            if any(x.only for x in rubric):
                return f"rubric: {name}'s marking scheme adds up to {total:g}, the {what} is worth {marks:g}"
            return f"rubric: marking scheme adds up to {total:g}, the {what} is worth {marks:g}"
        if not in_view(answers, original):
            return f"answers: {name} prints none of this {what}'s answers"
    return None


# --------------------------------------------------------------------------- answers


SpaceShape = Literal["lines", "box", "grid", "blank"]
LENGTH = r"^\d+(\.\d+)?(cm|mm|in)$"


class Space(Frozen):
    """Room to answer on paper: ruled lines, a box, squared paper or blank space."""

    shape: SpaceShape
    size: str = Field(description="Lines: how many; box, grid, blank: a height such as 6cm.")

    @model_validator(mode="before")
    @classmethod
    def _one_key(cls, data: Any) -> Any:
        # The file says `{lines: 8}`, `{box: 6cm}`, `{grid: 5cm}` or `{blank: 4cm}`.
        if isinstance(data, dict) and "shape" not in data:
            if len(data) != 1 or next(iter(data)) not in ("lines", "box", "grid", "blank"):
                raise ValueError("give one of lines: N, box: LENGTH, grid: LENGTH, blank: LENGTH, or none")
            ((shape, size),) = data.items()
            return {"shape": shape, "size": str(size)}
        return data

    @model_validator(mode="after")
    def _size(self) -> Space:
        if self.shape == "lines":
            if not self.size.isdigit() or not 1 <= int(self.size) <= 60:
                raise ValueError(f"lines: a whole number of lines from 1 to 60, not {self.size!r}")
        elif not re.match(LENGTH, self.size) or float(re.sub(r"[a-z]+$", "", self.size)) <= 0:
            raise ValueError(f"{self.shape}: a height such as 6cm, 45mm or 2in, not {self.size!r}")
        return self


def _space_schema(schema: dict[str, Any]) -> None:
    schema.clear()
    length = {"type": "string", "pattern": LENGTH}
    schema.update(
        {
            "anyOf": [
                {"const": "none"},
                {"type": "object", "properties": {"lines": {"type": "integer", "minimum": 1, "maximum": 60}}},
                {"type": "object", "properties": {"box": length}},
                {"type": "object", "properties": {"grid": length}},
                {"type": "object", "properties": {"blank": length}},
            ],
            "description": "Room to answer on an answer-on-paper build (default: lines by the marks).",
        }
    )


SpaceSpec = Annotated[Space | Literal["none"] | None, Field(default=None, json_schema_extra=_space_schema)]


class RubricItem(Frozen):
    """One line of a marking scheme: what earns these marks."""

    marks: Marks
    text: str = Field(min_length=1, description="What earns the marks (LaTeX template).")
    only: View | None = Field(
        default=None, description="This line only in the paper as set (`original`) or in new papers (`new`)."
    )
    partial: bool = Field(
        default=True,
        description="false: no partial marks on this line (all its marks or none); grade enforces it.",
    )


# An answer of a question file: the union of the kinds' YAML models, told apart by
# `kind`, and a kind's name: both made from the registry (a type checker sees the base).
if TYPE_CHECKING:
    Answer = AnswerSpec
    Kind = str
else:
    Answer = Annotated[Union[tuple(h.spec_model for h in KINDS.values())], Field(discriminator="kind")]  # noqa: UP007
    Kind = Literal[tuple(KINDS)]


# --------------------------------------------------------------------------- questions


class Part(Frozen):
    """A sub-question with its own marks, answers and marking scheme."""

    marks: Marks
    prompt: str = Field(min_length=1)
    answers: list[Answer] = Field(min_length=1)
    rubric: list[RubricItem] = Field(min_length=1)
    sources: list[SourceRef] = []
    space: SpaceSpec = None

    @model_validator(mode="before")
    @classmethod
    def _said_once(cls, data: Any) -> Any:
        return _derived_marks(data)

    @model_validator(mode="after")
    def _rubric_adds_up(self) -> Part:
        problem = _scheme_problem(self.rubric, self.answers, self.marks, "part")
        if problem:
            raise ValueError(problem)
        return self


class Question(Frozen):
    """A bank question file (`bank/<topic>/<name>.yaml`)."""

    id: QuestionId
    title: str = Field(min_length=1)
    topic: str = Field(min_length=1)
    tags: list[str] = []
    kind: Kind = Field(description="The main answer kind (default: that of its highest-ranked asked answer).")
    marks: Marks = Field(description="Its marks (default: its parts' or its marking scheme's total).")
    sources: list[SourceRef] = []
    notes: str = Field(default="", description="For authors: provenance, reconstruction notes.")
    key_note: str = Field(
        default="",
        description="Printed in the key under the question (LaTeX template): what an examiner must "
        "know, e.g. that a figure is a reconstruction.",
    )
    generator: str | None = Field(
        default=None, pattern=r"^[A-Za-z_][A-Za-z0-9_]*\.py$", description="Module beside this file."
    )
    original: dict[str, Any] | None = Field(
        default=None, description="The source paper's parameter values, pinned for --original."
    )
    prompt: str = Field(min_length=1, description="Question text (LaTeX template).")
    steps_only: View | None = Field(
        default=None,
        description="Print the generator's worked steps only in the paper as set (`original`) or "
        "only in new papers (`new`), as with an answer's `only`.",
    )
    answers: list[Answer] = []
    rubric: list[RubricItem] = []
    parts: list[Part] = []
    marks_shown: Literal["question", "parts"] = Field(
        default="parts",
        description="With parts: print marks after each part, or once after the question's text.",
    )
    space: SpaceSpec = None

    @model_validator(mode="before")
    @classmethod
    def _said_once(cls, data: Any) -> Any:
        return _derived_kind(_derived_marks(data))

    @model_validator(mode="after")
    def _marks_add_up(self) -> Question:
        if self.parts:
            if self.answers or self.rubric:
                raise ValueError("parts: a question with parts keeps its answers and rubric in the parts")
            total = _sum_marks(self.parts)
            if not math.isclose(total, self.marks):
                raise ValueError(
                    f"parts: parts add up to {total:g} marks, the question is worth {self.marks:g}"
                )
        else:
            if not self.answers:
                raise ValueError("answers: a question without parts needs at least one answer")
            if not self.rubric:
                raise ValueError("rubric: a question without parts needs a marking scheme")
            problem = _scheme_problem(self.rubric, self.answers, self.marks, "question")
            if problem:
                raise ValueError(problem)
        if self.original is not None and self.generator is None:
            raise ValueError("original: pinned values need a generator")
        kinds = list(dict.fromkeys(a.kind for a in self.all_answers()))
        if self.kind not in kinds:
            raise ValueError(
                f"kind: no answer of this question is {self.kind!r} (its answers: {', '.join(kinds)});"
                " leave `kind` out and the answers give it"
            )
        return self

    def all_answers(self) -> list[AnswerSpec]:
        """Return every answer of the question, parts included, in order."""
        if self.parts:
            return [a for p in self.parts for a in p.answers]
        return list(self.answers)

    def all_sources(self) -> list[str]:
        """Return the question's sources and its parts', without repeats."""
        out = list(self.sources)
        for p in self.parts:
            out += [s for s in p.sources if s not in out]
        return out


# --------------------------------------------------------------------------- exam spec


class Pool(Frozen):
    """Pick `count` questions at random (per variant) from those matching the rule."""

    from_: list[str] = Field(default=[], alias="from", description="Ids or sources to draw from.")
    topic: str | None = None
    tags: list[str] = Field(default=[], description="A question must carry all of these tags.")
    kind: Kind | None = None
    count: int = Field(default=1, ge=1)
    marks: Marks | None = Field(default=None, description="Total marks the picks must add up to.")

    model_config = ConfigDict(frozen=True, extra="forbid", populate_by_name=True)

    @model_validator(mode="after")
    def _has_rule(self) -> Pool:
        if not (self.from_ or self.topic or self.tags or self.kind):
            raise ValueError("a pool needs a rule: from, topic, tags or kind")
        return self


def _pick_schema(schema: dict[str, Any]) -> None:
    # A spec may name a question by a bare string; the schema says so.
    obj = dict(schema)
    schema.clear()
    schema.update({"anyOf": [{"type": "string", "description": "A question id or source."}, obj]})


class Pick(Frozen):
    """One entry of a section: a question by id (or source), or a pool."""

    model_config = ConfigDict(frozen=True, extra="forbid", json_schema_extra=_pick_schema)

    id: str | None = None
    pool: Pool | None = None

    @model_validator(mode="before")
    @classmethod
    def _from_string(cls, value: Any) -> Any:
        return {"id": value} if isinstance(value, str) else value

    @model_validator(mode="after")
    def _one(self) -> Pick:
        if (self.id is None) == (self.pool is None):
            raise ValueError("give either a question id or a pool")
        return self


class Section(Frozen):
    """A section of the paper (paper A: a topic with its total; paper B: one unnamed)."""

    title: str = ""
    shuffle: bool = Field(default=False, description="Question order may be shuffled per variant.")
    questions: list[Pick] = Field(min_length=1)


# The roster's own columns (always kept where a roster has them), and what a sheet's
# people columns are called: a spec's roster_columns may name none of them.
ROSTER_KEPT = ("section", "email", "username")
ROSTER_OWN = ("id", "name", "set", *ROSTER_KEPT)
RosterColumn = Annotated[
    str,
    Field(
        pattern=r"^[a-z][a-z0-9_]{0,31}$",
        description="A roster column's name, lower case (a roster's columns are read in any case).",
    ),
]


Language = Annotated[
    str,
    Field(pattern=r"^[a-z]{2,3}$", description="A language code (ISO 639): en, hi, ta, ..."),
]
Layout = Literal["parallel", "columns", "candidate"]


def _twice(names: list[str]) -> list[str]:
    # The names a list gives more than once, sorted.
    return sorted({n for n in names if names.count(n) > 1})


class ExamSpec(Frozen):
    """An exam spec file (`bank/exams/<name>.yaml`)."""

    institute: str = ""
    course: str = Field(min_length=1)
    title: str = ""
    date: str = ""
    duration: str = ""
    max_marks: Marks
    instructions: list[str] = []
    style: str = Field(default="iitjammu-b", pattern=r"^[a-z0-9][a-z0-9-]*$")
    seed: int = Field(default=0, ge=0)
    mark_step: float = Field(
        default=0.5, gt=0, le=1, description="Marks are given in steps of this (0.5: halves; 0.25: quarters)."
    )
    shuffle_options: bool = Field(default=False, description="Shuffle options of choice questions.")
    on_paper: bool = Field(
        default=False,
        description="Answers on paper: answer space after every part, a cover page with name, roll "
        "number and a marks table (CLI --on-paper).",
    )
    roster_columns: list[RosterColumn] = Field(
        default=[],
        description="Roster columns to keep beyond id, name, section, email and username: each goes "
        "to the manifest, marks.csv and grades.csv, and a style may print it "
        "(exam.candidate.columns.NAME).",
    )
    languages: list[Language] = Field(
        default=[],
        description="The paper's languages, the first the primary (default: the bank's one "
        "language). Each question's text in each; numbers, figures and marks are shared (CLI --languages).",
    )
    layout: Layout | None = Field(
        default=None,
        description="How several languages are set: `parallel` (each text, then its translation), "
        "`columns` (side by side) or `candidate` (one paper per student, in the roster's `language`). "
        "Default: parallel (CLI --layout).",
    )
    sections: list[Section] = Field(min_length=1)

    @field_validator("languages")
    @classmethod
    def _languages_once(cls, v: list[str]) -> list[str]:
        twice = _twice(v)
        if twice:
            raise ValueError(f"language {', '.join(twice)} named twice")
        return v

    @model_validator(mode="after")
    def _layout_needs_languages(self) -> ExamSpec:
        if self.layout is not None and len(self.languages) < 2:
            raise ValueError("layout: sets several languages; name them in `languages: [en, hi]`")
        return self

    @field_validator("roster_columns")
    @classmethod
    def _columns_once(cls, v: list[str]) -> list[str]:
        twice = _twice(v)
        if twice:
            raise ValueError(f"column {', '.join(twice)} named twice")
        own = [c for c in v if c in ROSTER_OWN]
        if own:
            raise ValueError(f"{own[0]!r} is kept without naming it: name only the roster's other columns")
        return v

    @field_validator("mark_step")
    @classmethod
    def _step_divides_one(cls, v: float) -> float:
        if abs(1 / v - round(1 / v)) > 1e-9:
            raise ValueError("a step that a whole mark is a whole number of: 1, 0.5, 0.25, 0.2, 0.1 ...")
        return v

    @field_validator("institute", "course", "title", "date", "duration")
    @classmethod
    def _one_line(cls, v: str) -> str:
        return " ".join(v.split())


PackageName = Annotated[
    str,
    Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9_.-]*$", description="A LaTeX package, as in \\usepackage{NAME}."),
]


class Package(Frozen):
    r"""A LaTeX package with options: `\usepackage[options]{name}`."""

    name: PackageName
    options: str = Field(default="", pattern=r"^[^{}\\%#\n]*$", description="Its options, comma-separated.")


LARGE_PRINT_SIZES = (18, 24)  # pt: the body sizes of a large-print paper


def large_print_package(size: int) -> Package:
    r"""The package a large-print paper of body size `size` (pt) loads: `scrextend` at that size.

    It travels in the paper's `packages`, which make its preamble (and the cached format
    of it): render's preamble sets the rest of the large-print form where it finds it.
    """
    return Package(name="scrextend", options=f"fontsize={size}pt")


class BankConfig(Frozen):
    """A bank's own settings: `bank.yaml` at its top (optional)."""

    name: str = Field(
        default="", pattern=r"^$|^[a-z0-9][a-z0-9-]*$", description="The bank's name (default: its folder's)."
    )
    packages: list[Package | PackageName] = Field(
        default=[], description="LaTeX packages the bank's text and house styles need, beyond qbgen's."
    )
    language: Language = Field(
        default="en",
        description="The language of the bank's plain text; a text field may give others as a "
        "mapping (`text: {en: ..., hi: ...}`).",
    )

    def package_list(self) -> tuple[Package, ...]:
        """The packages, each a `Package` (a bare string is a name)."""
        return tuple(p if isinstance(p, Package) else Package(name=p) for p in self.packages)


# --------------------------------------------------------------------------- assembled exam
# Deeply immutable: tuples, read-only mappings, trusted LaTeX as `Tex` (set once, when
# assemble renders the bank's text) apart from plain strings (escaped when printed).


class RubricLine(Frozen):
    """A rendered marking-scheme line."""

    marks: float
    text: Tex
    partial: bool = True  # false: all its marks or none


class PartInstance(Frozen):
    """A rendered part."""

    label: str  # its letter within the question: a, b, ...
    name: str  # its name, as the paper prints it after the question's (the style's numbering)
    marks: float
    prompt: Tex
    answers: tuple[AnswerInstance, ...]
    rubric: tuple[RubricLine, ...]
    steps: tuple[Tex, ...] = ()  # the worked steps of this part (Solution.part_steps)
    space: Space | None = None  # on an answer-on-paper paper: its room to answer


class QuestionInstance(Frozen):
    """One question of one paper: its numbers drawn, its text and answers rendered."""

    number: str
    id: str
    title: str
    kind: Kind
    marks: float
    sources: tuple[str, ...]
    seed: int | None  # None: the paper's pinned original values
    params: FrozenMap
    answers: FrozenMap  # solve()'s answers, plain values
    data: FrozenMap = Field(default_factory=dict)  # what the generator drew that the paper shows
    derived: FrozenMap = Field(default_factory=dict)  # what check re-derived (validate reads the steps)
    prompt: Tex
    key_note: Tex = NoEscape("")  # for the examiner, in the key only
    steps: tuple[Tex, ...] = ()
    own_answers: tuple[AnswerInstance, ...] = ()
    rubric: tuple[RubricLine, ...] = ()
    parts: tuple[PartInstance, ...] = ()
    marks_on_parts: bool = False
    space: Space | None = None  # on an answer-on-paper paper, for a question without parts
    on_paper: bool = False  # on an answer-on-paper paper: choices print bubbles too
    language: str = ""  # the language of its text ("": the bank's one language, nothing asked)
    # The same draw in the paper's other languages (only their text differs), and how the
    # paper sets them beside this one.
    translations: tuple[QuestionInstance, ...] = ()
    layout: Layout = "parallel"
    # How a paper of another form sets it (the draw unchanged): on a page of its own (a
    # large-print paper), or left out but counted, so the next keeps its number (a paper of
    # one question of many, `--per-question`).
    own_page: bool = False
    hidden: bool = False

    def all_answers(self) -> tuple[AnswerInstance, ...]:
        """Return every answer instance, parts included, in order."""
        return self.own_answers + tuple(a for p in self.parts for a in p.answers)

    def all_steps(self) -> tuple[Tex, ...]:
        """Return every worked step: each part's, then the question's."""
        return tuple(s for p in self.parts for s in p.steps) + self.steps

    def scored_items(self) -> dict[str, tuple[float, tuple[AnswerInstance, ...], tuple[RubricLine, ...]]]:
        """Each item a grader marks, by name: its marks, its asked answers and its scheme."""
        if not self.parts:
            return {self.number: (self.marks, _asked(self.own_answers), self.rubric)}
        return {p.name: (p.marks, _asked(p.answers), p.rubric) for p in self.parts}

    def items(self) -> dict[str, float]:
        """What a grader marks, by name, with its maximum: the question, or each part.

        The names are the paper's (`6`, `8a`, `1e(ii)`): the style's numbering made them once.
        """
        if not self.parts:
            return {self.number: self.marks}
        return {part.name: part.marks for part in self.parts}


def _asked(answers: tuple[AnswerInstance, ...]) -> tuple[AnswerInstance, ...]:
    # A working value the key shows (`asked: false`) is not an answer the student gives.
    return tuple(a for a in answers if a.asked)


class SectionInstance(Frozen):
    """A section of an assembled exam."""

    number: int
    title: str
    marks: float
    questions: tuple[QuestionInstance, ...]


class Candidate(Frozen):
    """A student from a roster: the id and name, and the roster's other kept columns.

    `section`, `email` and `username` are read where the roster has them ("" where it
    has not); `columns` holds the columns the spec's `roster_columns` names. All of it is
    the roster's text: untrusted, escaped in every output.
    """

    id: str
    name: str
    section: str = ""
    email: str = ""
    username: str = ""
    columns: FrozenMap = Field(default_factory=dict)  # the spec's roster_columns, by name
    language: str = ""  # the roster's `language` (a `candidate` layout's paper is in it)
    # The roster's `accommodation`: `large-print-18` or `large-print-24`, `extra-time-N`
    # (N percent), as `roster.accommodations` read them; the paper's form, not its numbers.
    accommodation: tuple[str, ...] = ()

    def large_print(self) -> int:
        """The body size (pt) of the student's large-print paper; 0 for standard print."""
        return next((int(a.rsplit("-", 1)[1]) for a in self.accommodation if a.startswith("large-print-")), 0)

    def extra_time(self) -> int:
        """The student's extra time, in percent of the paper's (0: none)."""
        return next((int(a.rsplit("-", 1)[1]) for a in self.accommodation if a.startswith("extra-time-")), 0)

    def fields(self) -> dict[str, str]:
        """The kept columns past id and name that hold something, in sheet order."""
        out = {"section": self.section, "email": self.email, "username": self.username}
        out.update(self.columns)
        return {k: v for k, v in out.items() if v}

    def login(self) -> str:
        """What an LMS logs the student in as: the username, else the email ("" if neither)."""
        return self.username or self.email


class Exam(Frozen):
    """An assembled paper: everything render needs, nothing it may change."""

    spec_name: str
    institute: str
    course: str
    title: str
    date: str
    duration: str
    max_marks: float
    mark_step: float = 0.5  # marks are given in steps of this
    instructions: tuple[str, ...]
    style: str
    templates: tuple[str, ...] = ()  # folders of the spec's bank's own styles, before the shipped
    packages: tuple[Package, ...] = ()  # the banks' extra LaTeX packages
    seed: int
    variant: str = ""  # "A", "B", ... or a student id; "" for a single paper
    candidate: Candidate | None = None
    original: bool = False
    on_paper: bool = False  # answers on paper: spaces, a cover page
    languages: tuple[str, ...] = ()  # the paper's languages, primary first (): the bank's one
    layout: Layout = "parallel"
    sections: tuple[SectionInstance, ...]
    # Its form (an accommodation; the numbers are the same draw's): the body size of a
    # large-print paper (0: standard print), and the extra time its cover prints, percent.
    large_print: int = 0
    extra_time: int = 0

    def questions(self) -> list[QuestionInstance]:
        """Return every question of the paper in order."""
        return [q for s in self.sections for q in s.questions]

    def extra_time_text(self) -> str:
        """`Extra time: 25%`, with the time it makes where the duration reads `120 mins` ("" if none)."""
        if not self.extra_time:
            return ""
        text = f"Extra time: {self.extra_time}%"
        m = re.fullmatch(r"\s*(\d+)\s*(min|mins|minutes|hour|hours|hrs?)\.?\s*", self.duration, re.I)
        if m:
            minutes = int(m.group(1)) * (1 if m.group(2).lower().startswith("min") else 60)
            total = -(-minutes * (100 + self.extra_time) // 100)  # whole minutes, rounded up
            text += f" (in all {total} mins)"
        return text


class Paper(Frozen):
    """One paper of a build and the folder (relative to the output) it goes to ("": the output)."""

    folder: str
    exam: Exam


class ReviewQuestion(Frozen):
    """One bank question as the review site shows it: what it is, and a few draws of it."""

    id: str
    title: str
    topic: str
    tags: tuple[str, ...]
    kind: Kind
    marks: float
    sources: tuple[str, ...]
    parameterised: bool
    file: str  # the question's file, relative to its bank's folder
    bank: str  # the bank's folder name
    notes: str  # for authors: provenance, reconstruction
    draws: tuple[QuestionInstance, ...]  # the paper as set first (seed None), then new draws


def _optional(schema: dict[str, Any], derived: dict[str, tuple[str, ...]]) -> None:
    # Fields a file may leave out because they are derived: not `required` to an editor.
    for name, fields in derived.items():
        model = schema if schema.get("title") == name else schema.get("$defs", {}).get(name)
        if model and "required" in model:
            model["required"] = [f for f in model["required"] if f not in fields]


# A question's text fields: LaTeX templates, each a string in the bank's language or a
# mapping from language code to string (`text: {en: ..., hi: ...}`, read by the bank loader).
TEXT_FIELDS = frozenset({"prompt", "text", "label", "explanation", "caption", "key_note"})


def _translatable(schema: dict[str, Any]) -> None:
    # Each text field of each model in the schema also takes {language: text}.
    for model in [schema, *schema.get("$defs", {}).values()]:
        for name, prop in model.get("properties", {}).items():
            if name in TEXT_FIELDS and prop.get("type") == "string":
                text = {k: prop.pop(k) for k in list(prop) if k not in ("title", "description", "default")}
                prop["anyOf"] = [
                    text,
                    {
                        "type": "object",
                        "patternProperties": {"^[a-z]{2,3}$": text},
                        "additionalProperties": False,
                        "description": "The text in several languages: {en: ..., hi: ...}.",
                    },
                ]


def json_schemas() -> dict[str, dict[str, Any]]:
    """Return the JSON Schemas of question files and exam spec files."""
    out = {}
    for name, model in (("question", Question), ("spec", ExamSpec), ("bank", BankConfig)):
        schema = model.model_json_schema(by_alias=True)
        _optional(schema, {"Question": ("kind", "marks"), "Part": ("marks",)})
        if name == "question":
            _translatable(schema)
        schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
        schema["title"] = f"qbgen {name} file"
        out[name] = schema
    return out

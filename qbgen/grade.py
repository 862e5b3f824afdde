"""Stage 7: grade a build from its filled sheets: totals, typed answers marked, item analysis.

Room: reading a build's manifests and the graders' `marks.csv` and `responses.csv`,
checking every cell (one line per problem: sheet, line, column), and writing
`grades.csv`, `gradebook.csv` (Canvas's), `gradebook-moodle.csv` (Moodle's, where the
roster gave emails or usernames), `responses-marked.csv`, `items.csv`, `fairness.csv`
and `grading-report.pdf` beside them. The roster's kept columns (section, email,
username, the spec's roster_columns) come from the manifests, and each section gets its
own item statistics. The formats are in `docs/SHEETS.md`.

The sheets are read by the roster's strict reader (`roster.read_table`: UTF-8 or
Excel's UTF-16, commas, semicolons or tabs, a quote left open or a column named twice
refused with its line), and every cell is either read or refused: a column of marks
that is no item, a row lost from responses.csv, an id with an invisible character are
one line each, never dropped. The outputs are published as a build publishes
(`publish`): all together or none, recorded in `.qbgen-files` as grade's, and a file of
their names that grade did not write is refused, never replaced.
"""

from __future__ import annotations

import io
import json
import math
import re
from collections.abc import Callable, Collection
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import Annotated, Any

import numpy as np
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from . import scoring
from .errors import InputError
from .publish import publish, staging
from .roster import KEPT, MAX_ID, id_problem, read_table
from .writers.sheets import MARKS, POINTS_POSSIBLE, RESPONSES, csv_text, response_column, text_of

STEP = 0.5  # marks come in halves unless the spec said otherwise (the manifest's mark_step)
STEP_NAMES = {0.5: "half marks", 0.25: "quarter marks", 1.0: "whole marks"}
PEOPLE = ("id", "name", "set")  # the columns that say who, named in any case
MAX_CELL = 200  # characters: a mark or a typed answer is short; more is a pasted paragraph
OUTPUTS = (
    "grades.csv",
    "gradebook.csv",
    "gradebook-moodle.csv",
    "responses-marked.csv",
    "items.csv",
    "fairness.csv",
    "grading-report.pdf",
)


@dataclass(frozen=True)
class PaperRecord:
    """One paper of the build: its code, its student (if a roster), its manifest."""

    code: str
    candidate: dict[str, Any] | None
    manifest: dict[str, Any]

    @property
    def roster(self) -> dict[str, str]:
        """The roster's columns past id and name on this paper's student ("" where empty).

        `section`, `email`, `username`, then the spec's `roster_columns`; none for a set's
        paper, or a manifest from before rosters kept them.
        """
        c = self.candidate or {}
        if not c:
            return {}
        return {**{k: c.get(k, "") for k in KEPT}, **c.get("columns", {})}

    @cached_property
    def items(self) -> dict[str, float]:
        """Every item a grader marks on this paper, with its maximum (read once)."""
        return {k: float(v) for q in self.manifest["questions"] for k, v in q["items"].items()}

    @property
    def marks(self) -> float:
        """What the paper's items add up to."""
        return math.fsum(self.items.values())

    @cached_property
    def identity(self) -> dict[str, str]:
        """Each item's bank question (and part): `id`, or `id (a)` for a part."""
        out = {}
        for q in self.manifest["questions"]:
            names = list(q["items"])
            for i, name in enumerate(names):
                out[name] = (
                    q["id"] if len(q["items"]) == 1 and name == q["number"] else f"{q['id']} ({chr(97 + i)})"
                )
        return out

    @property
    def step(self) -> float:
        """The step marks are given in (the spec's `mark_step`)."""
        return float(self.manifest.get("mark_step") or STEP)

    @cached_property
    def contracts(self) -> dict[str, dict[str, Any]]:
        """Each item's scoring contract, by item name (a manifest before schema 2: from `accept`)."""
        out: dict[str, dict[str, Any]] = {}
        for q in self.manifest["questions"]:
            if "scoring" in q:
                out.update(q["scoring"])
                continue
            # schema 1: one column per numeric answer, named by the question's number
            answers = {
                key: scoring.dump(
                    scoring.Interval(
                        value=float(q["answers"][key]),
                        low=low,
                        high=high,
                        mistakes=tuple(
                            scoring.Named(
                                name=n, value=v, low=v - (high - low) / 2, high=v + (high - low) / 2
                            )
                            for n, v in q["mistakes"].get(key, {}).items()
                        ),
                    )
                )
                for key, (low, high) in q["accept"].items()
            }
            out[q["number"]] = {"marks": q["marks"], "answers": answers, "manual": None}
        return out


@dataclass
class Student:
    """A row of marks.csv: who, which paper, the marks (None: left blank)."""

    id: str
    name: str
    paper: PaperRecord
    marks: dict[str, float | None] = field(default_factory=dict)
    roster: dict[str, str] = field(default_factory=dict)  # section, email, ... where known

    @property
    def section(self) -> str:
        """The student's section ("" if none is known)."""
        return self.roster.get("section", "")

    def total(self) -> float:
        """The sum of the student's marks."""
        return math.fsum(m or 0.0 for m in self.marks.values())


class _Loose(BaseModel):
    # What grade reads of a manifest, checked; anything else in it is not grade's business.
    model_config = ConfigDict(extra="allow", frozen=True)


Marks = Annotated[float, Field(gt=0, allow_inf_nan=False)]


class _Contract(_Loose):
    marks: Marks
    answers: dict[str, dict[str, Any]]
    manual: dict[str, Any] | None = None


class _Question(_Loose):
    id: str
    number: str
    items: dict[str, Marks] = Field(min_length=1)
    scoring: dict[str, _Contract] | None = None
    marks: float = 0.0
    answers: dict[str, Any] = {}
    accept: dict[str, tuple[float, float]] = {}
    mistakes: dict[str, dict[str, float]] = {}


class _Candidate(_Loose):
    id: str
    name: str
    section: str = ""
    email: str = ""
    username: str = ""
    columns: dict[str, str] = {}


class _Manifest(_Loose):
    questions: list[_Question] = Field(min_length=1)
    candidate: _Candidate | None = None
    mark_step: Marks | None = None
    max_marks: Marks | None = None
    spec: str = "exam"


class _Entry(_Loose):
    folder: str = Field(pattern=r"^[A-Za-z0-9_-][A-Za-z0-9._-]*$")  # as roster.folder_for names one


class _Top(_Loose):
    papers: list[_Entry] = Field(min_length=1)


def _json(path: Path, missing: str) -> object:
    try:
        return json.loads(path.read_text("utf-8"))
    except OSError:
        raise InputError(missing, file=path) from None
    except (ValueError, RecursionError) as exc:
        raise InputError(f"not JSON: {exc}", file=path) from None


def _checked(model: type[BaseModel], data: object, path: Path) -> None:
    # One line for the first thing wrong: the field's path in the manifest and why.
    try:
        model.model_validate(data)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(part) for part in first["loc"]) or None
        raise InputError(
            f"{first['msg']}: not a manifest `qbgen build` wrote", file=path, field=where
        ) from None


def _paper(code: str, data: object, path: Path) -> PaperRecord:
    _checked(_Manifest, data, path)
    assert isinstance(data, dict)
    paper = PaperRecord(code, data.get("candidate"), data)
    # Every scoring contract loaded once here, so marking never meets a broken one.
    try:
        contracts = paper.contracts
    except (ValidationError, KeyError, TypeError, ValueError):
        raise InputError(
            "malformed answers or intervals: not a manifest `qbgen build` wrote", file=path
        ) from None
    for item, contract in contracts.items():
        try:
            rules = [scoring.load(rule) for rule in contract["answers"].values()]
            manual = contract.get("manual")
            rules += [] if manual is None else [scoring.load(manual)]
        except (ValidationError, KeyError, TypeError, AttributeError):
            raise InputError(
                "malformed scoring: not a manifest `qbgen build` wrote", file=path, field=f"scoring.{item}"
            ) from None
        if manual is not None and not isinstance(rules[-1], scoring.Manual):
            raise InputError("`manual` is not a marking scheme", file=path, field=f"scoring.{item}")
    return paper


def load_papers(folder: Path) -> list[PaperRecord]:
    """The papers a build in `folder` holds, read from its manifests and checked."""
    path = folder / "manifest.json"
    top = _json(path, "no manifest.json here: grade a folder `qbgen build` wrote")
    if not isinstance(top, dict) or "papers" not in top:
        return [_paper("", top, path)]
    _checked(_Top, top, path)
    out = []
    for entry in top["papers"]:
        sub = folder / entry["folder"] / "manifest.json"
        out.append(_paper(entry["folder"], _json(sub, "missing (the build is incomplete)"), sub))
    return out


@dataclass(frozen=True)
class Sheet:
    """A graders' sheet read strictly (`roster.read_table`): its columns and its rows.

    Each row's cells are stripped, and a cell qbgen wrote as text (`'=...`) is read as
    the text it stands for. A sheet separated by semicolons (a spreadsheet in a locale
    that writes decimal commas) reads `1,5` as 1.5.
    """

    path: Path
    columns: tuple[str, ...]
    decimal_comma: bool
    rows: tuple[tuple[int, dict[str, str]], ...]
    cells: tuple[tuple[int, tuple[str, ...]], ...]  # as read, for columns without a name

    def number(self, cell: str) -> float:
        """A cell as a number (`scoring.read_number`, and a decimal comma here); -0 is 0."""
        return scoring.read_number(self.point(cell)) + 0.0

    def point(self, cell: str) -> str:
        """A number typed with a decimal comma, with a point (in a semicolon sheet only)."""
        if self.decimal_comma and re.fullmatch(r"[^,]*\d,\d[^,]*", cell):
            return cell.replace(",", ".")
        return cell

    def refuse_unknown(self, known: set[str], holds: Callable[[str, str], bool], why: str) -> None:
        """One line for the first cell of a column that is none of `known` and `holds` something."""
        for i, column in enumerate(self.columns):
            if column in known:
                continue
            for line, cells in self.cells:
                value = text_of(cells[i].strip()) if i < len(cells) else ""
                if value and holds(column, value):
                    name = column or f"column {i + 1} (no name)"
                    raise InputError(
                        f"{value!r} in a column that is {why}", file=self.path, line=line, field=name
                    )


def read_sheet(path: Path, what: str, people: Collection[str] = PEOPLE) -> Sheet:
    """Read a graders' sheet (`marks.csv`, `responses.csv`) as strictly as a roster.

    The columns `people` (those that say who) are named in any case.
    """
    table = read_table(path, what=f"the {what}", save_as=f"{what} as CSV UTF-8", fold=people)
    if "id" not in table.columns:
        raise InputError("the sheet needs an id column", file=path, line=1, field="id")
    width = len(table.columns)
    rows = []
    for line, cells in table.rows:
        if any(c.strip() for c in cells[width:]):
            raise InputError("more cells than the header has columns", file=path, line=line)
        row = {}
        for column, raw in table.record(cells).items():
            value = text_of(raw.strip())
            if len(value) > MAX_CELL:
                raise InputError(
                    f"{len(value)} characters, more than a cell of a graders' sheet may have ({MAX_CELL})",
                    file=path,
                    line=line,
                    field=column,
                )
            row[column] = value
        for column in people:
            if column in row and column != "set":
                row[column] = " ".join(row[column].split())
        rows.append((line, row))
    return Sheet(path, table.columns, table.delimiter == ";", tuple(rows), table.rows)


def _student_id(path: Path, line: int, row: dict[str, str]) -> str:
    sid = row["id"]
    problem = id_problem(sid) or (
        f"{len(sid)} characters, more than the {MAX_ID} an id may have" if len(sid) > MAX_ID else ""
    )
    if problem:
        raise InputError(problem, file=path, line=line, field="id")
    return sid


def _paper_for(path: Path, line: int, row: dict[str, str], papers: list[PaperRecord]) -> PaperRecord:
    # A roster: the student's own paper; sets: the `set` column; one paper: that one.
    by_student = {p.candidate["id"]: p for p in papers if p.candidate}
    if by_student:
        if row["id"] not in by_student:
            raise InputError(f"{row['id']!r} is not on the build's roster", file=path, line=line, field="id")
        return by_student[row["id"]]
    if len(papers) == 1:
        return papers[0]
    code = row.get("set", "")
    by_code = {p.code: p for p in papers}
    if code not in by_code:
        sets = ", ".join(sorted(by_code))
        raise InputError(f"{code!r} is not a set of this build ({sets})", file=path, line=line, field="set")
    return by_code[code]


def read_marks(path: Path, papers: list[PaperRecord]) -> list[Student]:
    """Read and check marks.csv: every mark a number of halves within its item's maximum."""
    who = {*PEOPLE, *KEPT, *(k for p in papers for k in p.roster)}
    sheet = read_sheet(path, "marks sheet", who)
    items = {item for p in papers for item in p.items}
    sheet.refuse_unknown(
        who | items,
        lambda _column, value: _reads_as_number(sheet, value),
        "not an item of this build: its marks would be dropped (name the column as the paper "
        "numbers the item, or remove it)",
    )
    students: list[Student] = []
    seen: dict[str, int] = {}
    for line, row in sheet.rows:
        if row["id"] == POINTS_POSSIBLE:
            continue
        if not row["id"]:
            if not any(row.values()):
                continue
            raise InputError("empty", file=path, line=line, field="id")
        sid = _student_id(path, line, row)
        if sid in seen:
            raise InputError(f"{sid!r} again (first on line {seen[sid]})", file=path, line=line, field="id")
        seen[sid] = line
        paper = _paper_for(path, line, row, papers)
        name = row.get("name", "")
        if paper.candidate is not None:
            # The roster's name is the one graded: a sheet that says otherwise is a
            # mistake to see (a row pasted beside the wrong id), never a quiet rename.
            own = paper.candidate["name"]
            if name and name != own:
                raise InputError(
                    f"{name!r} is not the roster's name for {sid!r} ({own!r}); "
                    "correct the sheet or the roster",
                    file=path,
                    line=line,
                    field="name",
                )
            name = own
        student = Student(sid, name, paper, roster=_roster_of(path, line, row, paper))
        own_items = paper.items
        for item in row:
            if row[item] and item not in own_items and item in items:
                raise InputError(f"this student's paper has no item {item}", file=path, line=line, field=item)
        for item, most in own_items.items():
            if item not in row:
                raise InputError(f"the sheet has no column for item {item}", file=path, line=1, field=item)
            cell = row[item]
            if cell == "":
                student.marks[item] = None
                continue
            try:
                mark = sheet.number(cell)
            except scoring.Unreadable as exc:
                raise InputError(str(exc), file=path, line=line, field=item) from None
            manual = paper.contracts.get(item, {}).get("manual")
            scheme = scoring.load(manual) if manual else None
            assert scheme is None or isinstance(scheme, scoring.Manual)
            problem = mark_problem(cell, mark, most, paper.step, scheme)
            if problem:
                raise InputError(problem, file=path, line=line, field=item)
            student.marks[item] = mark
        students.append(student)
    missing = [p.candidate["id"] for p in papers if p.candidate and p.candidate["id"] not in seen]
    if missing:
        raise InputError(
            f"no marks for {len(missing)} of the roster ({', '.join(missing[:5])})", file=path, field="id"
        )
    if not students:
        raise InputError("no student has marks yet", file=path)
    return students


def _roster_of(path: Path, line: int, row: dict[str, str], paper: PaperRecord) -> dict[str, str]:
    # The student's section, email, ...: the roster's, as the build kept it; a sheet's
    # where the roster had none (a set's paper, a column the roster lacked). A sheet
    # that says otherwise than the roster is refused, as a name is.
    out = {}
    for column in dict.fromkeys([*KEPT, *paper.roster]):
        own, typed = paper.roster.get(column, ""), row.get(column, "")
        if own and typed and typed != own:
            raise InputError(
                f"{typed!r} is not the roster's {column} for {row['id']!r} ({own!r}); "
                "correct the sheet or the roster",
                file=path,
                line=line,
                field=column,
            )
        if own or typed:
            out[column] = own or typed
    return out


def _reads_as_number(sheet: Sheet, value: str) -> bool:
    try:
        sheet.number(value)
    except scoring.Unreadable:
        return False
    return True


def mark_problem(cell: str, mark: float, most: float, step: float, scheme: scoring.Manual | None) -> str:
    """Why a grader's `mark` (typed as `cell`) cannot be an item's ("" if it can).

    Not negative, within the item's `most`, a whole number of `step`s, and one its
    marking scheme can give. marks.csv (`read_marks`) and the marking app ask this.
    """
    if mark < 0:
        return f"{cell} is negative"
    if mark > most + 1e-9:
        return f"{cell} is more than the item's {most:g} marks"
    if abs(mark / step - round(mark / step)) > 1e-9:
        return f"{cell} is not a whole number of {STEP_NAMES.get(step, f'steps of {step:g}')}"
    problem = scheme.problem(mark) if scheme is not None else ""
    return f"{cell}: {problem}" if problem else ""


MARKED = ["id", "item", "response", "expected", "low", "high", "verdict", "credit"]


def mark_responses(
    path: Path, papers: list[PaperRecord], students: list[Student] | None = None
) -> list[list[str]] | None:
    """Mark each typed answer against that student's own scoring (interval, options, ...).

    None if the sheet holds no answer yet. A roster's every student needs a row (the
    build listed them: a row lost is one line, never a student quietly without
    answers); with `students` (marks.csv's), a row is one of theirs, on the same paper.
    """
    sheet = read_sheet(path, "responses sheet")
    answers = {
        response_column(item, ident)
        for p in papers
        for item, c in p.contracts.items()
        for ident in c["answers"]
    }
    items = {item for p in papers for item in p.items}
    sheet.refuse_unknown(
        {*PEOPLE, *answers},
        # an answer column misnamed (`2.choise`), or any column of numbers: typed answers
        lambda column, value: column.split(".", 1)[0] in items or _reads_as_number(sheet, value),
        "no answer of this build: it would be dropped (name it ITEM.ANSWER as the sheet the "
        "build wrote does, or remove it)",
    )
    if not any(row.get(c) for _, row in sheet.rows for c in answers):
        return None
    by_id = {s.id: s for s in students or []}
    out = [MARKED]
    seen: dict[str, int] = {}
    for line, row in sheet.rows:
        if not row["id"]:
            if any(row.values()):
                raise InputError("empty", file=path, line=line, field="id")
            continue
        sid = _student_id(path, line, row)
        if sid in seen:
            raise InputError(f"{sid!r} again (first on line {seen[sid]})", file=path, line=line, field="id")
        seen[sid] = line
        paper = _paper_for(path, line, row, papers)
        if students is not None:
            if sid not in by_id:
                raise InputError(f"{sid!r} has no row in marks.csv", file=path, line=line, field="id")
            if by_id[sid].paper is not paper:
                raise InputError(
                    f"{paper.code!r}, but marks.csv gives {sid!r} set {by_id[sid].paper.code!r}",
                    file=path,
                    line=line,
                    field="set",
                )
        for item, contract in paper.contracts.items():
            for ident, data in contract["answers"].items():
                column = response_column(item, ident)
                if column not in row:
                    raise InputError(
                        "the sheet has no column for this answer", file=path, line=1, field=column
                    )
                rule = scoring.load(data)
                cell = row[column]
                try:
                    result = scoring.evaluate(
                        rule, sheet.point(cell) if isinstance(rule, scoring.Interval) else cell
                    )
                except scoring.Unreadable as exc:
                    raise InputError(str(exc), file=path, line=line, field=column) from None
                expected, low, high = _expected(rule)
                out.append([sid, column, cell, expected, low, high, result.verdict, f"{result.credit:.12g}"])
    # The build listed a roster's every student: a row gone is lost, not unanswered.
    # A sets build's rows are the grader's own: whoever has none had nothing typed in.
    lost = [p.candidate["id"] for p in papers if p.candidate and p.candidate["id"] not in seen]
    if lost:
        raise InputError(
            f"no row for {len(lost)} of the roster ({', '.join(lost[:5])}); "
            "a student who answered nothing keeps a row of empty cells",
            file=path,
            field="id",
        )
    return out


def _expected(rule: scoring.Scoring) -> tuple[str, str, str]:
    # The expected answer as a grader reads it, and the interval where there is one.
    if isinstance(rule, scoring.Interval):
        return repr(rule.value), repr(rule.low), repr(rule.high)
    if isinstance(rule, scoring.Options):
        return ",".join(chr(ord("A") + i) for i in rule.correct), "", ""
    if isinstance(rule, scoring.Exact):
        return rule.value, "", ""
    return "", "", ""


# --------------------------------------------------------------------------- analysis


def _corr(a: np.ndarray, b: np.ndarray) -> float:
    if len(a) < 3 or a.std() == 0 or b.std() == 0:
        return float("nan")
    return float(np.corrcoef(a, b)[0, 1])


def all_items(students: list[Student]) -> dict[str, float]:
    """Every item any student's paper has (pools differ), with its largest maximum."""
    out: dict[str, float] = {}
    for s in students:
        for item, most in s.paper.items.items():
            out[item] = max(most, out.get(item, 0.0))
    return out


def _flags(facility: float, disc: float) -> str:
    flags = []
    if facility < 0.2:
        flags.append("hard")
    if facility > 0.95:
        flags.append("easy")
    if not math.isnan(disc) and disc < 0.2:
        flags.append("negative discrimination" if disc < 0 else "low discrimination")
    return "review: " + ", ".join(flags) if flags else ""


def _row(item: str, group: str, question: str, who: list[tuple[Student, str]]) -> dict[str, Any]:
    # One item's statistics over the students who had it, each with the column it was in:
    # one bank question and part, so one maximum; facility is mean / max.
    most = who[0][0].paper.items[who[0][1]]
    got = np.array([s.marks[label] or 0.0 for s, label in who])
    rest = np.array([s.total() for s, _ in who]) - got
    facility = float(got.mean() / most)
    disc = _corr(got, rest)
    return {
        "item": item,
        "set": group,
        "question": question,
        "max": most,
        "n": len(who),
        "mean": float(got.mean()),
        "facility": facility,
        "discrimination": disc,
        "blank_rate": float(np.mean([s.marks[label] is None for s, label in who])),
        "flag": _flags(facility, disc),
    }


def _same_question(students: list[Student], item: str) -> str | None:
    # The bank question (and part) under this column for everyone who had it, or None
    # where the papers put different questions there (a pool).
    found = {s.paper.identity[item] for s in students if item in s.marks}
    return found.pop() if len(found) == 1 else None


def item_rows(students: list[Student], group: str = "") -> list[dict[str, Any]]:
    """Per column of one group (a set, or everyone): its statistics, and the test's.

    A column is analysed only where every paper of the group has the same bank question
    (and part) under it: a pool's column, different questions on different papers, is
    analysed per question by `pooled_rows` instead. Cronbach's alpha is over the columns
    every student had with the same question.
    """
    rows = []
    same: list[str] = []
    for item in all_items(students):
        question = _same_question(students, item)
        if question is None:
            continue
        rows.append(_row(item, group, question, [(s, item) for s in students if item in s.marks]))
        if all(item in s.marks for s in students):
            same.append(item)
    totals = np.array([s.total() for s in students])
    scores = np.array([[s.marks[i] or 0.0 for i in same] for s in students])
    k = len(same)
    var_items = scores.var(axis=0, ddof=1).sum() if len(students) > 1 and k else float("nan")
    var_total = totals.var(ddof=1) if len(students) > 1 else float("nan")
    alpha = k / (k - 1) * (1 - var_items / var_total) if k > 1 and var_total > 0 else float("nan")
    sem = (
        float(math.sqrt(var_total) * math.sqrt(1 - alpha)) if alpha == alpha and alpha <= 1 else float("nan")
    )
    blanks = [m is None for s in students for m in s.marks.values()]
    rows.append(
        {
            "item": "(test)",
            "set": group,
            "question": "",
            "max": max(s.paper.marks for s in students),
            "n": len(students),
            "mean": float(totals.mean()),
            "facility": float(np.mean([s.total() / s.paper.marks for s in students])),
            "discrimination": float("nan"),
            "blank_rate": float(np.mean(blanks)) if blanks else float("nan"),
            "flag": "",
            "alpha": float(alpha),
            "sem": sem,
        }
    )
    return rows


def pooled_rows(groups: dict[str, list[Student]]) -> list[dict[str, Any]]:
    """Per bank question (and part) that several sets or a pool asked: its statistics.

    Over everyone who had it, whatever its column; never one column's different
    questions together.
    """
    where: dict[str, list[tuple[Student, str]]] = {}
    spread: dict[str, set[tuple[str, str]]] = {}
    for code, students in groups.items():
        for s in students:
            for item in s.marks:
                question = s.paper.identity[item]
                where.setdefault(question, []).append((s, item))
                spread.setdefault(question, set()).add((code, item))
    rows = []
    for question, who in where.items():
        mixed = any(_same_question(groups[code], item) is None for code, item in spread[question])
        if len(spread[question]) < 2 and not mixed:
            continue  # one set, one column: its row is the set's own
        labels = "/".join(dict.fromkeys(item for _, item in who))
        rows.append(_row(labels, "(pooled)", question, who))
    return rows


def _kruskal(groups: list[list[float]]) -> tuple[float, float]:
    # Kruskal-Wallis H and its p value (scipy), or nan where there is nothing to test.
    groups = [g for g in groups if g]
    if len(groups) < 2:
        return float("nan"), float("nan")
    if len({v for g in groups for v in g}) == 1:  # every value the same: no difference to find
        return 0.0, 1.0
    from scipy.stats import kruskal

    h, p = kruskal(*groups)
    return float(h), float(p)


def fairness_rows(groups: dict[str, list[Student]]) -> list[dict[str, Any]]:
    """Whether the sets (and a pool's questions) were equally hard.

    Per bank question that several sets asked: its facility in each set and a
    Kruskal-Wallis test of its marks (as fractions of its maximum) across the sets; per
    column where a pool put different questions: the same across those questions; and
    the totals (as fractions of each paper's maximum) across the sets. A p value under
    0.05 is flagged for review.
    """
    rows = []

    def add(kind: str, name: str, by: dict[str, list[float]]) -> None:
        h, p = _kruskal(list(by.values()))
        rows.append(
            {
                "compared": kind,
                "question": name,
                "groups": len(by),
                "n": sum(len(v) for v in by.values()),
                "facility": "; ".join(f"{k} {np.mean(v):.3g} (n={len(v)})" for k, v in by.items()),
                "kruskal_h": h,
                "p": p,
                "flag": "review: not equally hard" if p < 0.05 else "",
            }
        )

    by_question: dict[str, dict[str, list[float]]] = {}
    by_column: dict[str, dict[str, list[float]]] = {}
    for code, students in groups.items():
        for s in students:
            for item, mark in s.marks.items():
                question = s.paper.identity[item]
                share = (mark or 0.0) / s.paper.items[item]
                by_question.setdefault(question, {}).setdefault(code, []).append(share)
                by_column.setdefault(f"{code}:{item}" if code else item, {}).setdefault(question, []).append(
                    share
                )
    if len(groups) > 1:
        for question, by in by_question.items():
            if len(by) > 1:
                add("sets", question, by)
    for column, by in by_column.items():
        if len(by) > 1:
            add("questions", f"column {column}", by)
    if len(groups) > 1:
        add("sets", "(test)", {c: [s.total() / s.paper.marks for s in g] for c, g in groups.items()})
    return rows


FAIRNESS = ["compared", "question", "groups", "n", "facility", "kruskal_h", "p", "flag"]


COLUMNS = [
    "item",
    "set",
    "question",
    "max",
    "n",
    "mean",
    "facility",
    "discrimination",
    "blank_rate",
    "flag",
    "alpha",
    "sem",
]


def _fmt(value: Any) -> str:
    if isinstance(value, float):
        return "" if math.isnan(value) else f"{value:.4g}"
    return str(value)


def _csv(rows: list[list[str]]) -> bytes:
    return csv_text(rows).encode()  # every cell as text a spreadsheet shows, never runs


@dataclass(frozen=True)
class GradeResult:
    """What `grade` wrote, and the figures a person asks for first."""

    files: list[Path]
    students: int
    mean: float
    alpha: float
    flagged: list[str]


def grade(folder: Path, marks: Path | None = None, responses: Path | None = None) -> GradeResult:
    """Grade the build in `folder` from its filled sheets; write the results beside them."""
    papers = load_papers(folder)
    marks = marks or folder / MARKS
    students = read_marks(marks, papers)
    responses = responses or folder / RESPONSES
    marked = mark_responses(responses, papers, students) if responses.exists() else None
    most = all_items(students)
    items = list(most)
    # The roster's columns some student has, after id and name: section, email,
    # username, then the spec's roster_columns.
    kept = list(dict.fromkeys(k for s in students for k in s.roster))
    kept = [k for k in KEPT if k in kept] + [k for k in kept if k not in KEPT]
    grades = [["id", "name"] + kept + items + ["total", "percent"]]
    for s in students:
        total = s.total()
        out_of = float(s.paper.manifest.get("max_marks") or s.paper.marks)
        grades.append(
            [s.id, s.name]
            + [s.roster.get(k, "") for k in kept]
            + ["" if s.marks.get(i) is None else f"{s.marks[i]:g}" for i in items]
            + [f"{total:g}", f"{100 * total / out_of:.1f}"]
        )
    max_marks = float(students[0].paper.manifest.get("max_marks") or sum(most.values()))
    spec = students[0].paper.manifest.get("spec", "exam")
    codes = sorted({s.paper.code for s in students if s.paper.code and not s.paper.candidate})
    groups = {code: [s for s in students if s.paper.code == code] for code in codes} or {"": students}
    analysis = [row for code, group in groups.items() for row in item_rows(group, code)]
    analysis += pooled_rows(groups)
    fairness = fairness_rows(groups)
    by_section = section_rows(students)
    columns = COLUMNS if not by_section else COLUMNS[:2] + ["section"] + COLUMNS[2:]
    items_csv = [columns] + [[_fmt(r.get(c, "")) for c in columns] for r in analysis + by_section]
    outputs: dict[str, bytes] = {
        "grades.csv": _csv(grades),
        "gradebook.csv": _csv(gradebook_rows(students, f"{spec} ({max_marks:g})")),
        "items.csv": _csv(items_csv),
        "fairness.csv": _csv([FAIRNESS] + [[_fmt(r[c]) for c in FAIRNESS] for r in fairness]),
        "grading-report.pdf": report_pdf(students, analysis, spec, fairness, by_section),
    }
    if any(s.roster.get("email") or s.roster.get("username") for s in students):
        outputs["gradebook-moodle.csv"] = _csv(moodle_rows(students, f"{spec} ({max_marks:g})"))
    if marked is not None:
        outputs["responses-marked.csv"] = _csv(marked)
    files = _publish(folder, outputs)
    tests = [r for r in analysis if r["item"] == "(test)"]
    everyone = item_rows(students) if len(tests) > 1 else tests  # the figures a person asks first
    test = everyone[-1]
    flagged = list(
        dict.fromkeys(
            r["question"] if r["set"] == "(pooled)" else f"{r['set']}:{r['item']}" if r["set"] else r["item"]
            for r in analysis
            if r["flag"] and r["item"] != "(test)"
        )
    )
    return GradeResult(files, len(students), test["mean"], test["alpha"], flagged)


def gradebook_rows(students: list[Student], title: str) -> list[list[str]]:
    """`gradebook.csv`: Canvas's gradebook import, the total in the column `title`.

    `SIS User ID` is the id; `SIS Login ID` the roster's username, else its email;
    `Section` its section (each empty where the roster has none).
    """
    rows = [["Student", "ID", "SIS User ID", "SIS Login ID", "Section", title]]
    for s in students:
        login = s.roster.get("username") or s.roster.get("email", "")
        rows.append([s.name, "", s.id, login, s.section, f"{s.total():g}"])
    return rows


def moodle_rows(students: list[Student], title: str) -> list[list[str]]:
    """`gradebook-moodle.csv`: Moodle's CSV grade import, one identifier a column.

    Moodle maps one column to a user field (`ID number`, `Email address` or
    `Username`); each holds the same field for every student, so any one can be the
    mapped one. The email and username columns are there only where the roster has them.
    """
    fields = [k for k in ("email", "username") if any(s.roster.get(k) for s in students)]
    head = {"email": "Email address", "username": "Username"}
    rows = [["ID number", *(head[k] for k in fields), "Full name", title]]
    for s in students:
        rows.append([s.id, *(s.roster.get(k, "") for k in fields), s.name, f"{s.total():g}"])
    return rows


def section_rows(students: list[Student]) -> list[dict[str, Any]]:
    """Per section (in the order students first show it), `item_rows` over its students.

    Each row has its `section`; none where no student has a section.
    """
    sections = list(dict.fromkeys(s.section for s in students if s.section))
    rows = []
    for name in sections:
        for row in item_rows([s for s in students if s.section == name]):
            rows.append({**row, "section": name})
    return rows


def _publish(folder: Path, outputs: dict[str, bytes]) -> list[Path]:
    # As a build publishes: under the folder's lock, staged and swapped in whole, and
    # recorded in `.qbgen-files` as grade's. A file of one of these names that grade did
    # not write (a grades.csv of the user's, a folder) is refused, never replaced; a
    # previous grade's file this one does not write (responses-marked.csv) goes.
    with staging(folder) as tmp:
        for name, data in outputs.items():
            (tmp / name).write_bytes(data)
        return publish(tmp, folder, list(outputs), command="grade")


def report_pdf(
    students: list[Student],
    analysis: list[dict[str, Any]],
    spec: str,
    fairness: list[dict[str, Any]],
    by_section: list[dict[str, Any]] | None = None,
) -> bytes:
    """The report a person reads at a glance: totals, items, sets (matplotlib, one page).

    Items are shown by identity: a bank question several sets asked once (its pooled
    row), else each set's own row; never one column's different questions together.
    With sections (`section_rows`), a fourth panel: each item's facility per section,
    and each section's students, mean total and alpha.
    """
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib import pyplot as plt

    pooled = [r for r in analysis if r["set"] == "(pooled)"]
    shared = {r["question"] for r in pooled}
    own = [
        r
        for r in analysis
        if r["set"] != "(pooled)" and r["item"] != "(test)" and r["question"] not in shared
    ]
    items = pooled + own
    tests = {r["set"]: r for r in analysis if r["item"] == "(test)"}
    totals = [s.total() for s in students]
    most = max(s.paper.marks for s in students)
    fig, axes = plt.subplots(1, 4 if by_section else 3, figsize=(17.5 if by_section else 13, 4.2))
    ax = axes[0]
    ax.hist(totals, bins=min(15, max(5, len(set(totals)))), color="#4a6fa5", edgecolor="white")
    ax.set_title(f"Totals (n = {len(totals)}, mean {np.mean(totals):.1f} of {most:g})")
    ax.set_xlabel("total marks")
    ax.set_ylabel("students")
    ax = axes[1]
    for r in items:
        d = 0.0 if math.isnan(r["discrimination"]) else r["discrimination"]
        color = "#c0392b" if r["flag"] else "#2c3e50"
        name = r["item"] if r["set"] in ("", "(pooled)") else f"{r['set']}:{r['item']}"
        ax.scatter(r["facility"], d, color=color, s=22)
        ax.annotate(name, (r["facility"], d), fontsize=7, xytext=(3, 2), textcoords="offset points")
    ax.axhline(0.2, color="grey", lw=0.6, ls="--")
    ax.set_xlim(-0.02, 1.05)
    alphas = ", ".join(f"{k or 'all'} {_fmt(t['alpha'])}" for k, t in tests.items())
    ax.set_title(f"Items (alpha: {alphas}; red: to review)", fontsize=10)
    ax.set_xlabel("facility (mean / max)")
    ax.set_ylabel("discrimination (item-rest r)")
    ax = axes[2]
    sets = [k for k in tests if k]
    if sets:
        ax.bar(sets, [tests[c]["mean"] for c in sets], color="#4a6fa5")
        test = next((r for r in fairness if r["question"] == "(test)"), None)
        p = f"; Kruskal-Wallis p = {_fmt(test['p'])}" if test else ""
        ax.set_title(f"Mean total by set{p}", fontsize=10)
        ax.set_ylabel("mean total")
    else:
        ax.barh([r["item"] for r in items], [r["facility"] for r in items], color="#4a6fa5")
        ax.invert_yaxis()
        ax.set_title("Facility by item")
        ax.set_xlabel("facility")
    if by_section:
        _section_panel(axes[3], by_section)
    fig.suptitle(f"{spec}: grading report")
    fig.tight_layout()
    out = io.BytesIO()
    fig.savefig(out, format="pdf", metadata={"CreationDate": None, "Producer": "qbgen"})
    plt.close(fig)
    return out.getvalue()


def _shown(text: str) -> str:
    # The roster's text as matplotlib shows it as written: a `$` would start mathtext.
    return text.replace("$", r"\$")


def _section_panel(ax: Any, rows: list[dict[str, Any]]) -> None:
    # Each item's facility in each section, side by side; the legend says who each
    # section is (students, mean total, alpha).
    tests = {r["section"]: r for r in rows if r["item"] == "(test)"}
    labels = list(dict.fromkeys(r["item"] for r in rows if r["item"] != "(test)"))
    width = 0.8 / max(1, len(tests))
    for k, (section, test) in enumerate(tests.items()):
        alpha = _fmt(test["alpha"]) or "n/a"
        got = {r["item"]: r["facility"] for r in rows if r["section"] == section and r["item"] != "(test)"}
        ax.barh(
            [i + k * width for i in range(len(labels))],
            [got.get(label, 0.0) for label in labels],
            height=width,
            label=f"{_shown(section)} (n={test['n']}, mean {test['mean']:.1f}, alpha {alpha})",
        )
    ax.set_yticks([i + 0.4 - width / 2 for i in range(len(labels))], labels)
    ax.invert_yaxis()
    ax.set_xlim(0, 1.05)
    ax.set_title("Facility by item and section", fontsize=10)
    ax.set_xlabel("facility")
    ax.legend(fontsize=7, loc="lower right")


__all__ = ["GradeResult", "grade", "item_rows", "load_papers", "mark_problem", "mark_responses", "read_marks"]

"""The sheets writer: the CSV files graders fill in after the exam.

Room: `marks.csv` (who: the id, name and the roster's kept columns, section, email,
username and the spec's roster_columns; a mark per item a grader marks, with a `Points
Possible` row under the header, as Canvas's gradebook export has it) and
`responses.csv` (each numeric final answer typed in from the scripts or an online
form), at the top of the build's folder. Imports errors, models and writers.manifest.
`qbgen grade` reads them back; the columns are documented in `docs/SHEETS.md`.

Every CSV qbgen writes goes through `csv_text`: a cell a spreadsheet would run as a
formula (a name `=HYPERLINK(...)` from a roster, a typed answer `@SUM(...)`) is written
as text (OWASP's rule, a leading `'`), and `text_of` takes the `'` off again when a
sheet is read back.
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Collection, Iterable, Sequence
from pathlib import Path

from ..errors import InputError
from ..models import ROSTER_KEPT, ROSTER_OWN, Paper
from .manifest import item_scoring
from .streaming import Streaming

MARKS = "marks.csv"
RESPONSES = "responses.csv"
POINTS_POSSIBLE = "Points Possible"


# What makes Excel, LibreOffice or Google Sheets read a cell as a formula (OWASP, "CSV
# Injection"): a leading =, +, -, @, tab or carriage return.
FORMULA = ("=", "+", "-", "@", "\t", "\r")
_NUMBER = re.compile(r"[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?", re.ASCII)


def as_cell(value: str) -> str:
    """`value` as a cell no spreadsheet runs: a leading `'` before a formula's first character.

    A number (`-0.5`, `+3`, `1e-07`) stays a number. A value that already begins with
    `'` gets one more, so that `text_of` gives every value back exactly.
    """
    if value.startswith("'") or (value.startswith(FORMULA) and not _NUMBER.fullmatch(value)):
        return "'" + value
    return value


def text_of(cell: str) -> str:
    """A cell of a sheet qbgen wrote, as the text it stands for (`as_cell` undone)."""
    if cell.startswith("'") and cell[1:].startswith((*FORMULA, "'")):
        return cell[1:]
    return cell


def response_column(item: str, answer: str) -> str:
    """The responses.csv column of an answer: the printed item's name and the answer's id."""
    return f"{item}.{answer}"


def csv_text(rows: Iterable[Iterable[str]]) -> str:
    """`rows` as CSV, every cell through `as_cell`: what qbgen's every CSV file holds."""
    out = io.StringIO()
    csv.writer(out, lineterminator="\n").writerows([as_cell(c) for c in row] for row in rows)
    return out.getvalue()


def holds_marks(path: Path, people: Collection[str] = ()) -> bool:
    """Whether a sheet has anything a grader typed: a cell past the columns that say who.

    Those are `id`, `name`, `set`, the roster's `section`, `email` and `username`, and
    `people` (the columns a spec's `roster_columns` adds).
    """
    try:
        rows = list(csv.reader(io.StringIO(path.read_text("utf-8-sig"))))
    except (OSError, UnicodeDecodeError, csv.Error):
        return path.exists()  # unreadable as ours: treat it as the grader's, never replace it
    if not rows:
        return False
    who = {*ROSTER_OWN, *people}
    skip = [i for i, col in enumerate(rows[0]) if col in who]
    for row in rows[1:]:
        if row and row[0] == POINTS_POSSIBLE:
            continue
        if any(cell.strip() for i, cell in enumerate(row) if i not in skip):
            return True
    return False


class SheetsWriter(Streaming):
    """Writes marks.csv and responses.csv for the papers of a build.

    Papers come a run at a time (`start`, `add`, `finish`; `write` does all three); a
    sheet needs of each only its student and its items.
    """

    name = "sheets"

    def start(self, folder: Path, count: int) -> None:
        """Begin a build of `count` papers into `folder`."""
        self.folder = folder
        self.people: list[str] = []
        self.kept: dict[str, None] = {}  # the roster's columns past id and name, as they appear
        # Pools may give papers different questions: a column for every item of any
        # paper, in the order they first appear; its maximum the largest any paper gives it.
        self.items: dict[str, float] = {}
        self.responses: dict[str, None] = {}
        self.rows: list[dict[str, str]] = []
        self.possible: dict[str, dict[str, float]] = {}  # a set's own maxima, by its code

    def add(self, papers: Sequence[Paper]) -> None:
        """Take the next papers' students and items."""
        for paper in papers:
            exam = paper.exam
            if not self.people:
                self.people = ["id", "name"] + (["set"] if exam.variant and exam.candidate is None else [])
            c = exam.candidate
            if c is not None:
                self.kept.update((k, None) for k in ROSTER_KEPT if getattr(c, k))
                self.kept.update((k, None) for k in c.columns)
                self.rows.append({"id": c.id, "name": c.name, **c.fields()})
            for q in exam.questions():
                for name, most in q.items().items():
                    self.items[name] = max(most, self.items.get(name, 0.0))
                    if exam.variant and exam.candidate is None:
                        self.possible.setdefault(exam.variant, {})[name] = most
                self.responses.update(
                    (response_column(item, ident), None)
                    for item, contract in item_scoring(q).items()
                    for ident in contract["answers"]
                )

    def finish(self) -> list[str]:
        """Write both sheets; return their names."""
        # The roster's kept columns after id and name: section, email, username, then
        # the spec's roster_columns.
        kept = [k for k in ROSTER_KEPT if k in self.kept] + [k for k in self.kept if k not in ROSTER_KEPT]
        self.people = people = self.people[:2] + kept + self.people[2:]
        items, responses = self.items, list(self.responses)
        clash = next((k for k in kept if k in items), None)
        if clash is not None:
            raise InputError(f"the roster's column {clash!r} is also an item of the paper: rename it")
        marks = [people + list(items)]
        if self.possible:
            # A set's own maxima: the same column may be another question, of other marks,
            # in another set (a pool).
            marks += [
                [POINTS_POSSIBLE, "", code] + [f"{own[i]:g}" if i in own else "" for i in items]
                for code, own in self.possible.items()
            ]
        else:
            marks.append([POINTS_POSSIBLE] + [""] * (len(people) - 1) + [f"{m:g}" for m in items.values()])
        marks += [[r.get(k, "") for k in people] + [""] * len(items) for r in self.rows]
        (self.folder / MARKS).write_text(csv_text(marks), "utf-8")
        sets = [k for k in people if k == "set"]
        answers = [["id"] + sets + responses]
        answers += [[r["id"]] + [""] * (len(sets) + len(responses)) for r in self.rows]
        (self.folder / RESPONSES).write_text(csv_text(answers), "utf-8")
        return [MARKS, RESPONSES]


__all__ = [
    "response_column",
    "FORMULA",
    "MARKS",
    "POINTS_POSSIBLE",
    "RESPONSES",
    "SheetsWriter",
    "as_cell",
    "csv_text",
    "holds_marks",
    "text_of",
]

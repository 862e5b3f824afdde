"""The sheets writer: the CSV files graders fill in after the exam.

Room: `marks.csv` (a mark per item a grader marks, with a `Points Possible` row under
the header, as Canvas's gradebook export has it) and `responses.csv` (each numeric final
answer typed in from the scripts or an online form), at the top of the build's folder.
Imports models and writers.manifest. `qbgen grade` reads them back; the columns are
documented in `docs/SHEETS.md`.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Sequence
from pathlib import Path

from ..models import Paper
from .manifest import question_record

MARKS = "marks.csv"
RESPONSES = "responses.csv"
POINTS_POSSIBLE = "Points Possible"


def sheet_columns(papers: Sequence[Paper]) -> tuple[list[str], dict[str, float], list[str]]:
    """The people columns, the items with their maxima, and the response columns."""
    first = papers[0].exam
    people = ["id", "name"] + (["set"] if first.variant and first.candidate is None else [])
    # Pools may give papers different questions: a column for every item of any paper,
    # in the order they first appear; its maximum the largest any paper gives it.
    items: dict[str, float] = {}
    responses: dict[str, None] = {}
    for paper in papers:
        for q in paper.exam.questions():
            for name, most in q.items().items():
                items[name] = max(most, items.get(name, 0.0))
            responses.update((f"{q.number}.{key}", None) for key in question_record(q)["accept"])
    return people, items, list(responses)


def _csv(rows: list[list[str]]) -> str:
    out = io.StringIO()
    csv.writer(out, lineterminator="\n").writerows(rows)
    return out.getvalue()


def holds_marks(path: Path) -> bool:
    """Whether a sheet has anything a grader typed: a cell past `id`, `name` and `set`."""
    try:
        rows = list(csv.reader(io.StringIO(path.read_text("utf-8-sig"))))
    except (OSError, UnicodeDecodeError, csv.Error):
        return path.exists()  # unreadable as ours: treat it as the grader's, never replace it
    if not rows:
        return False
    people = {"id", "name", "set"}
    skip = [i for i, col in enumerate(rows[0]) if col in people]
    for row in rows[1:]:
        if row and row[0] == POINTS_POSSIBLE:
            continue
        if any(cell.strip() for i, cell in enumerate(row) if i not in skip):
            return True
    return False


class SheetsWriter:
    """Writes marks.csv and responses.csv for the papers of a build."""

    name = "sheets"

    def write(self, papers: Sequence[Paper], folder: Path) -> list[str]:
        """Write both sheets into `folder`; return their names."""
        people, items, responses = sheet_columns(papers)
        rows = [[p.exam.candidate.id, p.exam.candidate.name] for p in papers if p.exam.candidate is not None]
        marks = [
            people + list(items),
            [POINTS_POSSIBLE] + [""] * (len(people) - 1) + [f"{m:g}" for m in items.values()],
        ]
        marks += [r + [""] * (len(people) - 2 + len(items)) for r in rows]
        (folder / MARKS).write_text(_csv(marks), "utf-8")
        answers = [["id"] + people[2:] + responses]
        answers += [[r[0]] + [""] * (len(people) - 2 + len(responses)) for r in rows]
        (folder / RESPONSES).write_text(_csv(answers), "utf-8")
        return [MARKS, RESPONSES]


__all__ = ["MARKS", "POINTS_POSSIBLE", "RESPONSES", "SheetsWriter", "holds_marks", "sheet_columns"]

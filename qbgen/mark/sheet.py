"""The store and marks.csv: marks typed into the sheet come in, the store's go out.

Room: `import_marks` reads the build's marks.csv as `qbgen grade` does (strictly) and
brings in every mark the store lacks, and every mark the sheet changed after the store's
was given (the newer wins); `export_marks` writes the store's marks into marks.csv, its
other columns and rows as they were, published as the build's sheet (all or nothing,
under the folder's lock). A mark is checked as grade checks it before it is stored.
"""

from __future__ import annotations

import csv
import hashlib
import io
import os
from datetime import UTC, datetime
from pathlib import Path

from ..errors import InputError
from ..grade import mark_problem, read_sheet
from ..publish import publish, staging
from ..scoring import Unreadable
from ..writers.sheets import MARKS, POINTS_POSSIBLE, csv_text, text_of
from .store import Store
from .work import Script, Work

GRADER = "marks.csv"  # who gave a mark that came in from the sheet


def problem(script: Script, mark: float) -> str:
    """Why `mark` cannot be this script's mark ("" if it can): as `qbgen grade` says of a sheet."""
    return mark_problem(f"{mark:g}", mark, script.most, script.step, script.manual)


def _digest(path: Path) -> str:
    try:
        return hashlib.sha256(path.read_bytes()).hexdigest()
    except OSError:
        return ""


def import_marks(store: Store, work: Work) -> int:
    """Bring marks typed into marks.csv into the store; return how many came in."""
    path = work.folder / MARKS
    if not path.exists() or _digest(path) == store.meta("exported"):
        return 0  # no sheet, or the one this store wrote last
    sheet = read_sheet(path, "marks sheet")
    changed = datetime.fromtimestamp(os.stat(path).st_mtime, UTC).isoformat(timespec="milliseconds")
    rows = {row["id"]: (line, row) for line, row in sheet.rows if row.get("id")}
    count = 0
    for unit in work.units:
        given = store.all_given(unit.key, unit.sheet)
        for script in unit.scripts:
            line, row = rows.get(script.student, (0, {}))
            cell = row.get(script.item, "")
            if not cell:
                continue
            try:
                mark = sheet.number(cell)
            except Unreadable as exc:
                raise InputError(str(exc), file=path, line=line, field=script.item) from None
            why = problem(script, mark)
            if why:
                raise InputError(why, file=path, line=line, field=script.item)
            now = given[script.student]
            if now.mark is not None and (abs(now.mark - mark) < 1e-9 or now.updated >= changed):
                continue
            store.give(script.student, script.item, unit.key, mark, GRADER)
            count += 1
    return count


def export_marks(store: Store, work: Work) -> Path:
    """Write the store's marks into the build's marks.csv; return its path."""
    path = work.folder / MARKS
    marks: dict[tuple[str, str], float] = {}
    for unit in work.units:
        scripts = unit.sheet
        for sid, g in store.all_given(unit.key, scripts).items():
            if g.mark is not None:
                marks[(sid, scripts[sid][0])] = g.mark
    try:
        text = path.read_text("utf-8-sig")
    except FileNotFoundError:
        text = ""
    except (OSError, UnicodeDecodeError) as exc:
        raise InputError(f"cannot read the marks sheet: {exc}", file=path) from None
    rows = [[text_of(c) for c in r] for r in csv.reader(io.StringIO(text))]
    items = list(dict.fromkeys(s.item for u in work.units for s in u.scripts))
    if not rows:
        rows = [["id", "name", *items]]
    header = rows[0]
    header += [i for i in items if i not in header]
    where = {c: n for n, c in enumerate(header)}
    by_id = {r[0]: r for r in rows[1:] if r and r[0] != POINTS_POSSIBLE}
    for sid, name, _paper in work.students:
        if sid not in by_id:
            row = [""] * len(header)
            row[0] = sid
            if "name" in where:
                row[where["name"]] = name
            rows.append(row)
            by_id[sid] = row
    for row in rows[1:]:
        row += [""] * (len(header) - len(row))
    for (sid, item), mark in marks.items():
        by_id[sid][where[item]] = f"{mark:g}"
    with staging(work.folder) as tmp:
        (tmp / MARKS).write_text(csv_text(rows), "utf-8")
        # The sheet stays the build's (a rebuild keeps a sheet with marks in it).
        publish(tmp, work.folder, [MARKS], replaces=False, command="build")
    store.set_meta("exported", _digest(path))
    return path


__all__ = ["export_marks", "import_marks", "problem"]

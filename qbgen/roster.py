"""Load a class roster (CSV with `id` and `name` columns) into candidates.

Room: reading and checking a roster file. Imports errors and models. Rosters come
from spreadsheets: a byte-order mark is accepted, columns may be separated by commas,
semicolons or tabs and named in any case, other columns are ignored, and every
problem is one line naming the file, the row's line and the column.
"""

from __future__ import annotations

import csv
import io
import re
from pathlib import Path

from .errors import InputError
from .models import Candidate

REQUIRED = ("id", "name")


def folder_for(student_id: str) -> str:
    """Return the output folder name for a student id (letters, digits, - _ . kept)."""
    name = re.sub(r"[^A-Za-z0-9._-]+", "_", student_id).strip("._") or "student"
    return name[:80]


def load_roster(path: Path) -> list[Candidate]:
    """Read `path`; return its students in file order."""
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise InputError(f"cannot read the roster: {exc.strerror}", file=path) from None
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = raw[: exc.start].count(b"\n") + 1
        raise InputError(
            f"not UTF-8 text (byte 0x{raw[exc.start]:02x}); save the roster as CSV UTF-8",
            file=path,
            line=line,
        ) from None
    # A spreadsheet in a locale with decimal commas exports with ';' (or tabs): take the
    # header line's separator when it has no comma.
    header = text.split("\n", 1)[0]
    delimiter = next((d for d in (",", ";", "\t") if d in header), ",")
    reader = csv.DictReader(io.StringIO(text, newline=""), delimiter=delimiter)
    columns = [c.strip().lower() for c in (reader.fieldnames or [])]
    missing = [c for c in REQUIRED if c not in columns]
    if missing:
        raise InputError(
            f"missing column {', '.join(missing)} (columns: {', '.join(columns) or 'none'})",
            file=path,
            line=1,
        )
    reader.fieldnames = columns
    students: list[Candidate] = []
    seen: dict[str, int] = {}
    folders: dict[str, tuple[str, int]] = {}
    for row in reader:
        line = reader.line_num
        sid = " ".join((row.get("id") or "").split())
        name = " ".join((row.get("name") or "").split())
        if not sid and not name and not any((v or "").strip() for v in row.values() if isinstance(v, str)):
            continue  # a blank line
        if not sid:
            raise InputError("empty id", file=path, line=line, field="id")
        if not name:
            raise InputError(f"empty name for id {sid!r}", file=path, line=line, field="name")
        if sid in seen:
            raise InputError(
                f"duplicate id {sid!r} (first on line {seen[sid]})", file=path, line=line, field="id"
            )
        seen[sid] = line
        folder = folder_for(sid)
        if folder in folders:
            first, first_line = folders[folder]
            raise InputError(
                f"id {sid!r} and {first!r} (line {first_line}) would share the output folder {folder!r}",
                file=path,
                line=line,
                field="id",
            )
        folders[folder] = (sid, line)
        students.append(Candidate(id=sid, name=name))
    if not students:
        raise InputError("the roster has no students", file=path)
    return students

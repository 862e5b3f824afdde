"""Load a class roster (CSV with `id` and `name` columns) into candidates.

Room: reading and checking a roster file. Imports errors and models. Rosters come
from spreadsheets: a byte-order mark is accepted, columns may be separated by commas,
semicolons or tabs and named in any case, other columns are ignored, and every
problem is one line naming the file, the row's line and the column.

Read strictly, because a roster that reads wrong loses students silently: a quote
left open (which would swallow the rows after it into one name), a column named twice,
an id whose folder would be one of qbgen's own files, an over-long id or name and any
malformed CSV are each one line, never a shorter class.
"""

from __future__ import annotations

import csv
import io
import re
import unicodedata
from collections.abc import Iterator
from pathlib import Path

from .errors import InputError
from .models import Candidate
from .scripts import unprintable, unprintable_message

REQUIRED = ("id", "name")
MAX_ID, MAX_NAME = 64, 200  # characters; longer is a pasted paragraph, not a roster field
# What a build, `qbgen grade` or an export writes at the top of its folder (the test
# suite checks this list against the writers'): a student's folder must not be one.
RESERVED = frozenset(
    {
        "exam.pdf", "exam.tex", "key.pdf", "key.tex", "exams.pdf", "keys.pdf", "manifest.json",
        "crib.pdf", "crib.tex", "marks.csv", "responses.csv", "failed", "grades.csv",
        "gradebook.csv", "responses-marked.csv", "items.csv", "fairness.csv", "grading-report.pdf",
        "export-report.txt", "quiz.xml", "canvas.zip", "qti21.zip",
    }
)  # fmt: skip


def folder_for(student_id: str) -> str:
    """Return the output folder name for a student id (letters, digits, - _ . kept)."""
    name = re.sub(r"[^A-Za-z0-9._-]+", "_", student_id).strip("._") or "student"
    return name[:80]


def load_roster(path: Path) -> list[Candidate]:
    """Read `path`; return its students in file order."""
    text = InputError.read_text(path, "roster as CSV UTF-8", what="the roster", encoding="utf-8-sig")
    # A spreadsheet in a locale with decimal commas exports with ';' (or tabs): take the
    # header line's separator when it has no comma.
    header = text.split("\n", 1)[0]
    delimiter = next((d for d in (",", ";", "\t") if d in header), ",")
    reader = csv.DictReader(io.StringIO(text, newline=""), delimiter=delimiter, strict=True)
    try:
        columns = [c.strip().lower() for c in (reader.fieldnames or [])]
    except csv.Error as exc:
        raise InputError(f"not readable as CSV: {exc}", file=path, line=1) from None
    twice = sorted({c for c in columns if c and columns.count(c) > 1})
    if twice:
        raise InputError(f"column {', '.join(twice)} given twice", file=path, line=1)
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
    for row in _rows(reader, path):
        line = reader.line_num
        raw_id, raw_name = row.get("id") or "", row.get("name") or ""
        for column, value in (("id", raw_id), ("name", raw_name)):
            if "\n" in value or "\r" in value:
                opened = line - value.count("\n")
                raise InputError(
                    f"a roster field may not run over lines (its quote opens on line {opened} "
                    f"and closes on line {line})",
                    file=path,
                    line=opened,
                    field=column,
                )
            bad = next((ch for ch in value if unicodedata.category(ch) == "Cc" and ch != "\t"), None)
            if bad is not None:
                raise InputError(
                    f"control character U+{ord(bad):04X} in the {column}", file=path, line=line, field=column
                )
        sid = " ".join(raw_id.split())
        name = " ".join(raw_name.split())
        if not sid and not name and not any((v or "").strip() for v in row.values() if isinstance(v, str)):
            continue  # a blank line
        if not sid:
            raise InputError("empty id", file=path, line=line, field="id")
        if not name:
            raise InputError(f"empty name for id {sid!r}", file=path, line=line, field="name")
        for column, value, most in (("id", sid, MAX_ID), ("name", name, MAX_NAME)):
            if len(value) > most:
                raise InputError(
                    f"{len(value)} characters, more than the {most} a roster {column} may have",
                    file=path,
                    line=line,
                    field=column,
                )
        for column, value in (("id", sid), ("name", name)):
            unshown = unprintable(value)
            if unshown:
                raise InputError(unprintable_message(unshown[0]), file=path, line=line, field=column)
        if sid in seen:
            raise InputError(
                f"duplicate id {sid!r} (first on line {seen[sid]})", file=path, line=line, field="id"
            )
        seen[sid] = line
        folder = folder_for(sid)
        if folder.lower() in RESERVED:
            raise InputError(
                f"id {sid!r} would name the student's folder {folder!r}, which is one of qbgen's own files",
                file=path,
                line=line,
                field="id",
            )
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


def _rows(reader: csv.DictReader[str], path: Path) -> Iterator[dict[str, str]]:
    # csv.Error (a stray quote in strict mode, a NUL byte, a field over the size limit)
    # is one line with the line it was found on.
    while True:
        start = reader.line_num + 1  # the line the next row begins on
        try:
            row = next(reader)
        except StopIteration:
            return
        except csv.Error as exc:
            if "unexpected end of data" in str(exc):
                raise InputError(
                    "a quote opened in this row is never closed (the rows after it would be "
                    "read as part of it)",
                    file=path,
                    line=start,
                ) from None
            if "expected after" in str(exc):
                raise InputError(
                    "text after a field's closing quote (quote the whole field, or none of it)",
                    file=path,
                    line=start,
                ) from None
            raise InputError(f"not readable as CSV: {exc}", file=path, line=start) from None
        yield row

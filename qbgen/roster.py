"""Load a class roster (CSV with `id` and `name` columns) into candidates.

Room: reading and checking a roster file, and `read_table`, the one strict reader of
a sheet a person saved from a spreadsheet (a roster here; `qbgen grade` reads the
graders' sheets with it). Sheets come from spreadsheets: UTF-8 with or without a
byte-order mark, or UTF-16 with one (Excel's "Unicode text"); columns separated by
commas, semicolons or tabs; a roster's columns named in any case. A roster keeps `id`,
`name`, `section`, `email`, `username`, `accommodation` (a student's paper in another
form: large print, extra time) and the columns the spec's `roster_columns` names; every
other column is ignored. Every problem is one line naming the file, the
row's line and the column.

Read strictly, because a roster that reads wrong loses students silently: a quote
left open (which would swallow the rows after it into one name), a column named twice,
an id whose folder would be one of qbgen's own files, an over-long id or name and any
malformed CSV are each one line, never a shorter class. An id holding a character that
shows as nothing (a zero-width space, a right-to-left override) is refused: two ids
that differ only by one look the same on every list.
"""

from __future__ import annotations

import _csv
import codecs
import csv
import io
import re
import unicodedata
from collections.abc import Collection, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

from .errors import InputError
from .models import LARGE_PRINT_SIZES, Candidate
from .models import ROSTER_KEPT as KEPT
from .scripts import unprintable, unprintable_message

REQUIRED = ("id", "name")
MAX_ID, MAX_NAME = 64, 200  # characters; longer is a pasted paragraph, not a roster field
# What a build, `qbgen grade` or an export writes at the top of its folder (the test
# suite checks this list against the writers'): a student's folder must not be one.
RESERVED = frozenset(
    {
        "exam.pdf", "exam.tex", "key.pdf", "key.tex", "exams.pdf", "keys.pdf", "manifest.json",
        "crib.pdf", "crib.tex", "marks.csv", "responses.csv", "failed", "grades.csv",
        "gradebook.csv", "gradebook-moodle.csv", "responses-marked.csv", "items.csv",
        "fairness.csv", "grading-report.pdf", "export-report.txt", "quiz.xml", "canvas.zip",
        "qti21.zip", "exam.html", "assets", "figures",
    }
)  # fmt: skip


def folder_for(student_id: str) -> str:
    """Return the output folder name for a student id (letters, digits, - _ . kept)."""
    name = re.sub(r"[^A-Za-z0-9._-]+", "_", student_id).strip("._") or "student"
    return name[:80]


@dataclass(frozen=True)
class Table:
    """A sheet read strictly: its header's columns and its rows, each with its line."""

    path: Path
    columns: tuple[str, ...]
    delimiter: str
    rows: tuple[tuple[int, tuple[str, ...]], ...]  # (the line the row ends on, its cells)

    def record(self, cells: tuple[str, ...]) -> dict[str, str]:
        """A row's cells by column: a short row's missing cells empty, cells past the header left out."""
        return {c: cells[i] if i < len(cells) else "" for i, c in enumerate(self.columns)}


def read_table(path: Path, *, what: str, save_as: str, fold: Collection[str] | None = None) -> Table:
    """Read the sheet `path` strictly, or raise its one line.

    `what` names it in `cannot read WHAT`; `save_as` is what a file in another encoding
    is told to be saved as. Column names are stripped; those whose lower case is in
    `fold` (every one, if None) are lower-cased. A column named twice, a quote left
    open, text after a closing quote, a cell over the csv module's size limit: each
    is one line with its line number. Blank rows are left out.
    """
    text = _decode(path, what, save_as)
    # A spreadsheet in a locale with decimal commas exports with ';' (or tabs): take the
    # header line's separator when it has no comma.
    header = next((ln for ln in text.splitlines() if ln.strip()), "")
    delimiter = next((d for d in (",", ";", "\t") if d in header), ",")
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter, strict=True)
    rows = [(line, tuple(cells)) for line, cells in _rows(reader, path) if cells]
    names = [c.strip() for c in rows[0][1]] if rows else []
    columns = [c.lower() if fold is None or c.lower() in fold else c for c in names]
    twice = sorted({c for c in columns if c and columns.count(c) > 1})
    if twice:
        raise InputError(f"column {', '.join(twice)} given twice", file=path, line=rows[0][0])
    return Table(path, tuple(columns), delimiter, tuple(rows[1:]))


def _decode(path: Path, what: str, save_as: str) -> str:
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise InputError(f"cannot read {what}: {exc.strerror}", file=path) from None
    if raw.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        # Excel's "Unicode text" (tab-separated): UTF-16 that says so in its first bytes.
        try:
            return raw.decode("utf-16")
        except UnicodeDecodeError as exc:
            raise InputError(
                f"not UTF-16 text past byte {exc.start}, though it begins as UTF-16; save the {save_as}",
                file=path,
            ) from None
    return InputError.decode(raw, path, save_as, encoding="utf-8-sig")


def invisible(text: str) -> str | None:
    """The first character of `text` that shows as nothing (zero-width, a direction control), if any."""
    return next((ch for ch in text if unicodedata.category(ch) == "Cf"), None)


def id_problem(sid: str) -> str:
    """What is wrong with a student id as a sheet gives it ("" if nothing).

    A control character or a line break, or a character that shows as nothing: two
    ids that differ only by one look the same on every list, so neither is taken.
    """
    bad = next((ch for ch in sid if unicodedata.category(ch) == "Cc"), None)
    if bad is not None:
        return f"control character U+{ord(bad):04X} in the id"
    ch = invisible(sid)
    if ch is not None:
        # Named, never shown: a right-to-left override would turn the message around too.
        return (
            f"invisible character U+{ord(ch):04X} {unicodedata.name(ch, '')} in the id {sid!r}: "
            "it would look the same as an id without it; retype the id"
        )
    return ""


def load_roster(
    path: Path, columns: Sequence[str] = (), languages: Sequence[str] | None = None
) -> list[Candidate]:
    """Read `path`; return its students in file order.

    `id` and `name` are needed; `section`, `email` and `username` are kept where the
    roster has them, and each of `columns` (the spec's `roster_columns`) must be there.
    Given `languages` (a spec whose layout is `candidate`), the `language` column says
    each student's, one of them (empty: the first). Every other column is ignored.
    """
    table = read_table(path, what="the roster", save_as="roster as CSV UTF-8")
    have = list(table.columns)
    missing = [c for c in REQUIRED if c not in have]
    if missing:
        raise InputError(
            f"missing column {', '.join(missing)} (columns: {', '.join(have) or 'none'})",
            file=path,
            line=1,
        )
    named = [c for c in columns if c not in have]
    if named:
        raise InputError(
            f"missing column {', '.join(named)}, which the spec's roster_columns names "
            f"(columns: {', '.join(have)})",
            file=path,
            line=1,
        )
    kept = [c for c in KEPT if c in have] + [c for c in columns if c not in KEPT]
    students: list[Candidate] = []
    seen: dict[str, int] = {}
    folders: dict[str, tuple[str, int]] = {}
    for line, cells in table.rows:
        row = table.record(cells)
        for column in (*REQUIRED, *kept):
            value = row[column]
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
        values = {c: " ".join(row[c].split()) for c in (*REQUIRED, *kept)}
        sid, name = values["id"], values["name"]
        if not sid and not name and not any(v.strip() for v in cells):
            continue  # a blank line
        if not sid:
            raise InputError("empty id", file=path, line=line, field="id")
        if not name:
            raise InputError(f"empty name for id {sid!r}", file=path, line=line, field="name")
        for column, value in values.items():
            most = MAX_ID if column == "id" else MAX_NAME
            if len(value) > most:
                raise InputError(
                    f"{len(value)} characters, more than the {most} a roster {column} may have",
                    file=path,
                    line=line,
                    field=column,
                )
            unshown = unprintable(value)
            if unshown:
                raise InputError(unprintable_message(unshown[0]), file=path, line=line, field=column)
        problem = id_problem(sid)
        if problem:
            raise InputError(problem, file=path, line=line, field="id")
        login = _login_problem(values.get("email", ""), values.get("username", ""))
        if login:
            raise InputError(login[1], file=path, line=line, field=login[0])
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
        language = ""
        if languages is not None:
            language = row.get("language", "").strip().lower()
            if language and language not in languages:
                raise InputError(
                    f"{language!r} is not one of the spec's languages ({', '.join(languages)})",
                    file=path,
                    line=line,
                    field="language",
                )
        students.append(
            Candidate(
                id=sid,
                name=name,
                **{c: values[c] for c in KEPT if c in values},
                columns={c: values[c] for c in columns if c not in KEPT},
                language=language,
                accommodation=accommodations(row.get("accommodation", ""), path, line),
            )
        )
    if not students:
        raise InputError("the roster has no students", file=path)
    return students


_ACCOMMODATION = re.compile(r"large-print-(\d+)|extra-time-(\d+)")


def accommodations(text: str, path: Path | None = None, line: int | None = None) -> tuple[str, ...]:
    """A roster's `accommodation` cell read: `large-print-24; extra-time-25` -> its parts.

    Each is `large-print-18`, `large-print-24` or `extra-time-N` (N percent, 1 to 300),
    separated by `;`, any case, at most one of each kind; anything else is one line naming
    the cell.
    """
    out: list[str] = []
    for part in (p.strip().lower() for p in text.split(";")):
        if not part:
            continue
        m = _ACCOMMODATION.fullmatch(part)
        if m is None or (m[1] and int(m[1]) not in LARGE_PRINT_SIZES) or (m[2] and not 1 <= int(m[2]) <= 300):
            sizes = " or ".join(f"large-print-{n}" for n in LARGE_PRINT_SIZES)
            raise InputError(
                f"{part!r} is not an accommodation ({sizes}, extra-time-N with N a percent "
                "from 1 to 300; several separated by ';')",
                file=path,
                line=line,
                field="accommodation",
            )
        kind = part.rsplit("-", 1)[0]
        if any(o.rsplit("-", 1)[0] == kind for o in out):
            raise InputError(f"{kind} given twice", file=path, line=line, field="accommodation")
        out.append(f"{kind}-{int(part.rsplit('-', 1)[1])}")
    return tuple(out)


def _login_problem(email: str, username: str) -> tuple[str, str] | None:
    # What an LMS would refuse to match a student by: (the column, why), or None.
    if email and (email.count("@") != 1 or " " in email or not all(email.split("@"))):
        return "email", f"{email!r} is not an email address"
    if username and " " in username:
        return "username", f"{username!r}: a username has no spaces"
    return None


def _rows(reader: _csv.Reader, path: Path) -> Iterator[tuple[int, list[str]]]:
    # Each row with the line it ends on. csv.Error (a stray quote in strict mode, a
    # field over the size limit) is one line with the line the row begins on.
    while True:
        start = reader.line_num + 1  # the line the next row begins on
        try:
            cells = next(reader)
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
            if "field larger than field limit" in str(exc):
                raise InputError(
                    f"a cell of more than {csv.field_size_limit()} characters: "
                    "not a sheet of names and marks",
                    file=path,
                    line=start,
                ) from None
            raise InputError(f"not readable as CSV: {exc}", file=path, line=start) from None
        yield reader.line_num, cells

"""The marking store: every mark, rubric choice, comment and who gave it, in SQLite.

Room: one SQLite file, `BUILD/marking/marks.sqlite`, in WAL mode; every change is one
short transaction, so several graders (several browser tabs, several server threads)
never lose a mark and a killed server loses at most the one being typed. The schema is
in docs/MARKING.md. Imports scoring only: what a mark may be is checked by the caller.

A student's mark for an item is, in this order: the free mark a grader typed; else the
sum of the rubric lines chosen for it (at the lines' current marks, so a rubric edit
re-applies to everyone marked with the line), kept within 0 and the item's maximum; else
none (not marked yet).
"""

from __future__ import annotations

import math
import sqlite3
import threading
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

FOLDER = "marking"
FILE = "marks.sqlite"
SCHEMA_VERSION = "1"

SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS rubric (
    unit TEXT NOT NULL, line INTEGER NOT NULL, text TEXT NOT NULL, marks REAL NOT NULL,
    PRIMARY KEY (unit, line));
CREATE TABLE IF NOT EXISTS mark (
    student TEXT NOT NULL, item TEXT NOT NULL, unit TEXT NOT NULL,
    free REAL, comment TEXT NOT NULL DEFAULT '', grader TEXT NOT NULL DEFAULT '',
    updated TEXT NOT NULL, PRIMARY KEY (student, item));
CREATE TABLE IF NOT EXISTS chosen (
    student TEXT NOT NULL, item TEXT NOT NULL, line INTEGER NOT NULL,
    PRIMARY KEY (student, item, line));
CREATE TABLE IF NOT EXISTS history (
    id INTEGER PRIMARY KEY AUTOINCREMENT, at TEXT NOT NULL, grader TEXT NOT NULL,
    student TEXT NOT NULL, item TEXT NOT NULL, what TEXT NOT NULL);
"""


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="milliseconds")


@dataclass(frozen=True)
class Given:
    """What a student has for one item: the mark (None: not marked), and how it came."""

    mark: float | None
    free: float | None
    lines: frozenset[int]
    comment: str
    grader: str
    updated: str


def marked(given: dict[str, Given]) -> int:
    """How many of these answers have a mark."""
    return sum(1 for g in given.values() if g.mark is not None)


class Store:
    """The store of one build's marks (thread-safe: a connection per thread)."""

    def __init__(self, build: Path) -> None:
        self.path = build / FOLDER / FILE
        self.path.parent.mkdir(exist_ok=True)
        self._local = threading.local()
        self._db().executescript(SCHEMA)  # its own transaction: CREATE ... IF NOT EXISTS
        with self._tx() as db:
            db.execute("INSERT OR IGNORE INTO meta VALUES ('schema_version', ?)", (SCHEMA_VERSION,))

    def _db(self) -> sqlite3.Connection:
        db = getattr(self._local, "db", None)
        if db is None:
            db = sqlite3.connect(self.path, timeout=30, isolation_level=None, check_same_thread=True)
            db.execute("PRAGMA journal_mode=WAL")
            db.execute("PRAGMA synchronous=NORMAL")  # WAL: a committed mark survives a killed server
            db.execute("PRAGMA busy_timeout=30000")
            self._local.db = db
        return db

    @contextmanager
    def _tx(self) -> Iterator[sqlite3.Connection]:
        db = self._db()
        db.execute("BEGIN IMMEDIATE")
        try:
            yield db
        except BaseException:
            db.execute("ROLLBACK")
            raise
        db.execute("COMMIT")

    def close(self) -> None:
        """Close this thread's connection."""
        db = getattr(self._local, "db", None)
        if db is not None:
            db.close()
            self._local.db = None

    # ------------------------------------------------------------------ meta and rubric

    def meta(self, key: str) -> str | None:
        """A value of the store's bookkeeping (`meta`)."""
        row = self._db().execute("SELECT value FROM meta WHERE key = ?", (key,)).fetchone()
        return None if row is None else str(row[0])

    def set_meta(self, key: str, value: str) -> None:
        """Set a bookkeeping value."""
        with self._tx() as db:
            db.execute("INSERT OR REPLACE INTO meta VALUES (?, ?)", (key, value))

    def seed_rubric(self, unit: str, lines: Sequence[tuple[str, float]]) -> None:
        """Give `unit` the scheme's lines, once: a rubric already there (edited) stays."""
        with self._tx() as db:
            if db.execute("SELECT 1 FROM rubric WHERE unit = ? LIMIT 1", (unit,)).fetchone():
                return
            db.executemany(
                "INSERT INTO rubric VALUES (?, ?, ?, ?)",
                [(unit, n, text, marks) for n, (text, marks) in enumerate(lines, 1)],
            )

    def rubric(self, unit: str) -> list[tuple[int, str, float]]:
        """The unit's rubric lines: number (from 1), text, marks."""
        rows = self._db().execute(
            "SELECT line, text, marks FROM rubric WHERE unit = ? ORDER BY line", (unit,)
        )
        return [(int(n), str(t), float(m)) for n, t, m in rows]

    def edit_line(self, unit: str, line: int, marks: float, grader: str) -> int:
        """Give a rubric line new marks; return how many marked students it re-marks."""
        with self._tx() as db:
            found = db.execute(
                "UPDATE rubric SET marks = ? WHERE unit = ? AND line = ?", (marks, unit, line)
            ).rowcount
            if not found:
                raise KeyError(line)
            touched = db.execute(
                "SELECT m.student, m.item FROM mark m JOIN chosen c"
                " ON c.student = m.student AND c.item = m.item"
                " WHERE m.unit = ? AND c.line = ? AND m.free IS NULL",
                (unit, line),
            ).fetchall()
            at = _now()
            db.executemany(
                "INSERT INTO history (at, grader, student, item, what) VALUES (?, ?, ?, ?, ?)",
                [(at, grader, s, i, f"rubric line {line} now {marks:g}") for s, i in touched],
            )
            return len(touched)

    # ------------------------------------------------------------------------- marks

    def _touch(self, db: sqlite3.Connection, student: str, item: str, unit: str, grader: str) -> str:
        at = _now()
        db.execute(
            "INSERT INTO mark (student, item, unit, grader, updated) VALUES (?, ?, ?, ?, ?)"
            " ON CONFLICT (student, item) DO UPDATE SET grader = excluded.grader, updated = excluded.updated",
            (student, item, unit, grader, at),
        )
        return at

    def choose(self, student: str, item: str, unit: str, line: int, on: bool, grader: str) -> None:
        """Choose a rubric line for a student's item (or take it back); a free mark goes."""
        with self._tx() as db:
            at = self._touch(db, student, item, unit, grader)
            if on:
                db.execute("INSERT OR IGNORE INTO chosen VALUES (?, ?, ?)", (student, item, line))
            else:
                db.execute(
                    "DELETE FROM chosen WHERE student = ? AND item = ? AND line = ?", (student, item, line)
                )
            db.execute("UPDATE mark SET free = NULL WHERE student = ? AND item = ?", (student, item))
            db.execute(
                "INSERT INTO history (at, grader, student, item, what) VALUES (?, ?, ?, ?, ?)",
                (at, grader, student, item, f"{'chose' if on else 'took back'} line {line}"),
            )

    def give(self, student: str, item: str, unit: str, mark: float | None, grader: str) -> None:
        """Give a free mark (None takes it back: the rubric lines count again)."""
        with self._tx() as db:
            at = self._touch(db, student, item, unit, grader)
            db.execute("UPDATE mark SET free = ? WHERE student = ? AND item = ?", (mark, student, item))
            what = "free mark cleared" if mark is None else f"free mark {mark:g}"
            db.execute(
                "INSERT INTO history (at, grader, student, item, what) VALUES (?, ?, ?, ?, ?)",
                (at, grader, student, item, what),
            )

    def comment(self, student: str, item: str, unit: str, text: str, grader: str) -> None:
        """Keep a grader's comment on a student's item."""
        with self._tx() as db:
            at = self._touch(db, student, item, unit, grader)
            db.execute("UPDATE mark SET comment = ? WHERE student = ? AND item = ?", (text, student, item))
            db.execute(
                "INSERT INTO history (at, grader, student, item, what) VALUES (?, ?, ?, ?, ?)",
                (at, grader, student, item, "comment"),
            )

    def given(self, student: str, item: str, unit: str, most: float) -> Given:
        """What `student` has for `item` now."""
        return self.all_given(unit, {student: (item, most)})[student]

    def all_given(self, unit: str, scripts: dict[str, tuple[str, float]]) -> dict[str, Given]:
        """What every student of `scripts` ({student: (item, maximum)}) has for the unit."""
        db = self._db()
        values = {n: m for n, _, m in self.rubric(unit)}
        rows = {
            (str(s), str(i)): (f, str(c), str(g), str(u))
            for s, i, f, c, g, u in db.execute(
                "SELECT student, item, free, comment, grader, updated FROM mark WHERE unit = ?", (unit,)
            )
        }
        chosen: dict[tuple[str, str], set[int]] = {}
        for s, i, n in db.execute(
            "SELECT c.student, c.item, c.line FROM chosen c JOIN mark m"
            " ON c.student = m.student AND c.item = m.item WHERE m.unit = ?",
            (unit,),
        ):
            chosen.setdefault((str(s), str(i)), set()).add(int(n))
        out = {}
        for student, (item, most) in scripts.items():
            free, comment, grader, updated = rows.get((student, item), (None, "", "", ""))
            lines = frozenset(chosen.get((student, item), set()))
            if free is not None:
                mark: float | None = float(free)
            elif lines:
                mark = min(most, max(0.0, math.fsum(values.get(n, 0.0) for n in lines)))
            else:
                mark = None
            out[student] = Given(mark, None if free is None else float(free), lines, comment, grader, updated)
        return out

    def history(self, student: str | None = None) -> list[tuple[str, str, str, str, str]]:
        """Who did what, oldest first: at, grader, student, item, what."""
        sql = "SELECT at, grader, student, item, what FROM history"
        rows = (
            self._db().execute(sql + " WHERE student = ? ORDER BY id", (student,))
            if student is not None
            else self._db().execute(sql + " ORDER BY id")
        )
        return [tuple(str(x) for x in r) for r in rows]  # type: ignore[misc]


__all__ = ["FILE", "FOLDER", "Given", "Store", "marked"]

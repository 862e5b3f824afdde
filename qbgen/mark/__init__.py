"""Stage 9: mark scanned (or typed) answers in the browser, one question across all students.

Room: `qbgen mark BUILD`: a local Starlette app under uvicorn (`app`), over what there is
to mark (`work`: a unit per bank question and part, each student's own numbers), a
SQLite store of every mark (`store`), the model answers drawn again from the bank
(`shown`), and marks.csv in and out (`sheet`). docs/MARKING.md is the grader's guide
and the store's schema. Imports errors, scoring, grade, scan, publish, assemble, bank
and writers.
"""

from __future__ import annotations

import socket
import threading
import webbrowser
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from ..bank import Bank
from ..errors import InputError
from .sheet import export_marks, import_marks
from .store import Store, marked
from .work import Work, load_work


@dataclass(frozen=True)
class Opened:
    """A build opened for marking: its work, its store, and the marks brought in."""

    work: Work
    store: Store
    imported: int


def open_build(folder: Path) -> Opened:
    """Read what to mark in `folder`, open (or make) its store, bring marks.csv's marks in."""
    work = load_work(folder)
    try:
        store = Store(folder)
    except OSError as exc:
        raise InputError.unwritable(folder, exc, "the marking store") from None
    for unit in work.units:
        store.seed_rubric(unit.key, [(line.text, line.marks) for line in unit.lines])
    return Opened(work, store, import_marks(store, work))


def export(folder: Path) -> tuple[Path, int, int]:
    """Write the store's marks into marks.csv: its path, marks given, marks there are."""
    opened = open_build(folder)
    path = export_marks(opened.store, opened.work)
    given = total = 0
    for unit in opened.work.units:
        total += len(unit.scripts)
        given += marked(opened.store.all_given(unit.key, unit.sheet))
    return path, given, total


def serve(
    folder: Path,
    *,
    bank: Bank | None,
    port: int = 0,
    browser: bool = True,
    say: Callable[[str], None] = print,
) -> None:
    """Run the marking app for `folder` on 127.0.0.1 until interrupted."""
    opened = open_build(folder)  # a folder that is no build is one line before anything loads

    import uvicorn

    from .app import build_app
    from .shown import Renderer

    app = build_app(opened.work, opened.store, Renderer(bank))
    token = app.state.marking.token
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind(("127.0.0.1", port))
        sock.listen(128)  # before the address is printed: a browser may ask at once
    except OSError as exc:
        raise InputError(f"cannot listen on port {port}: {exc.strerror}", field="--port") from None
    url = f"http://127.0.0.1:{sock.getsockname()[1]}/?token={token}"
    units = len(opened.work.units)
    if opened.imported:
        say(f"{opened.imported} marks typed into marks.csv brought into the store")
    say(f"marking {units} questions of {len(opened.work.students)} students: {url}")
    say("Ctrl-C stops it; every mark is saved as it is given")
    if browser:
        threading.Timer(0.5, webbrowser.open, args=(url,)).start()
    config = uvicorn.Config(app, log_level="warning", access_log=False, lifespan="off")
    uvicorn.Server(config).run(sockets=[sock])


__all__ = ["Opened", "export", "open_build", "serve"]

"""Outputs as writers: each target one module over the same planned papers.

Room: the writers and their common shape. A writer takes the planned papers (each an
assembled `Exam` and its folder) and an output folder, writes its files there and
returns their names relative to it; it never looks at a kind, it asks each answer's
handler for its part. `latex` (exam and key PDFs) and `manifest` (manifest.json) are
the first; LMS exports, the review site and grading sheets join them the same way.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Sequence
from functools import cache
from importlib.metadata import entry_points
from pathlib import Path
from typing import Any, Protocol

from ..models import Paper
from .crib import CribWriter
from .latex import LatexWriter
from .manifest import ManifestWriter, manifest_of, question_record
from .sheets import SheetsWriter


class Writer(Protocol):
    """What every writer provides."""

    name: str

    def write(self, papers: Sequence[Paper], folder: Path) -> list[str]:
        """Write this target's files for `papers` into `folder`; return their names."""
        ...


class StreamingWriter(Writer, Protocol):
    """A writer that takes a build's papers a run at a time, as they are assembled.

    `write` is `start`, one `add` and `finish`. What a writer keeps of a paper after
    `add` is what it needs at the end (a crib line, a sheet row), never the paper, so
    a build's memory does not grow with its class. The build's own writers (latex,
    manifest, sheets, crib) are all streaming.
    """

    def start(self, folder: Path, count: int) -> None:
        """Begin a build of `count` papers into `folder`."""
        ...

    def add(self, papers: Sequence[Paper]) -> None:
        """Take the next papers, in order."""
        ...

    def finish(self) -> list[str]:
        """Write what is left; return the names of every file written."""
        ...


class ExportWriter(Writer, Protocol):
    """A target `qbgen export --to NAME` writes: a writer that reports what it cannot carry."""

    @property
    def report(self) -> list[str]:
        """What the target cannot carry faithfully, one line each."""
        ...


# `qbgen export --to NAME`: each target's writer (its module and class), made with the
# export's options (`feedback`: show students the worked steps after the attempt). A
# build never imports them (nor lxml): a target's module is read when it is asked for.
# Other installed packages add targets through the entry point group `qbgen.writers`:
# a name and a writer class taking the same keyword options.
SHIPPED_EXPORTS: dict[str, tuple[str, str]] = {
    "moodle": ("moodle", "MoodleWriter"),
    "canvas": ("canvas", "CanvasWriter"),
    "qti21": ("qti21", "Qti21Writer"),
}


def shipped_export(name: str) -> Callable[..., ExportWriter]:
    """The writer class of the shipped export target `name`."""
    module, cls = SHIPPED_EXPORTS[name]
    found: Callable[..., ExportWriter] = getattr(importlib.import_module(f"{__name__}.{module}"), cls)
    return found


@cache
def exports() -> dict[str, Callable[..., ExportWriter]]:
    """Every export target: the shipped ones, then those installed packages add."""
    found: dict[str, Callable[..., Any]] = {name: shipped_export(name) for name in SHIPPED_EXPORTS}
    for ep in entry_points(group="qbgen.writers"):
        if ep.name not in found:  # a plugin never replaces a shipped target
            found[ep.name] = ep.load()
    return found


__all__ = [
    "SHIPPED_EXPORTS",
    "ExportWriter",
    "exports",
    "shipped_export",
    "CribWriter",
    "LatexWriter",
    "ManifestWriter",
    "SheetsWriter",
    "StreamingWriter",
    "Writer",
    "manifest_of",
    "question_record",
]

"""The split writer: a roster's papers by section, `exams-SECTION.pdf` each.

Room: `qbgen build --roster R --split-by section` (or a column the spec's
`roster_columns` names). It takes the papers as they come and keeps only each
student's folder under their section; at the end, after the LaTeX writer has cut every
paper's `exam.pdf`, it joins each section's into `exams-VALUE.pdf` (pdfjoin), each paper
from an odd page as in `exams.pdf`. Imports errors, models, pdfjoin.

The value is the roster's text: `split_file` names the file so that it never leaves the
build folder and two sections never share one.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Sequence
from pathlib import Path

from ..errors import EnvironmentProblem, InputError
from ..models import Paper
from ..pdfjoin import join_files
from .streaming import Streaming


def split_file(value: str) -> str:
    """The name of a section's PDF, `exams-VALUE.pdf`, safe whatever the roster's text.

    ASCII letters, digits, `-` and `_` are kept; a value with anything else (`A/B`,
    `../x`, a name in another script) has it replaced by `_` and 6 hex digits of the
    value's digest added, so no two values share a file and none leaves the folder.
    """
    slug = re.sub(r"[^A-Za-z0-9_-]+", "_", value).strip("_-")[:40]
    if slug != value:
        digest = hashlib.sha256(value.encode()).hexdigest()[:6]
        slug = f"{slug}-{digest}" if slug else digest
    return f"exams-{slug}.pdf"


class SplitWriter(Streaming):
    """Writes `exams-VALUE.pdf` per value of a roster column (`section`).

    `finish` runs after the LaTeX writer's: it joins the exam PDFs that writer cut.
    """

    name = "split"

    def __init__(self, column: str) -> None:
        self.column = column

    def start(self, folder: Path, count: int) -> None:
        """Begin a build of `count` papers into `folder`."""
        self.folder = folder
        self.groups: dict[str, list[str]] = {}  # value -> its papers' folders, in order

    def add(self, papers: Sequence[Paper]) -> None:
        """Note each paper's folder under its student's value of the column."""
        for paper in papers:
            c = paper.exam.candidate
            value = c.fields().get(self.column, "") if c is not None else ""
            if not value:  # `build` says so first, with the roster's students; this guards the API
                who = f"student {c.id!r}" if c is not None else "a paper without a student"
                raise InputError(f"{who} has no {self.column}: --split-by needs every student's")
            self.groups.setdefault(value, []).append(paper.folder)

    def finish(self) -> list[str]:
        """Join each value's exam PDFs; return the files' names."""
        names: dict[str, str] = {}
        folders = {f.lower() for members in self.groups.values() for f in members}
        for value in self.groups:
            name = split_file(value)
            if name.lower() in names:
                raise InputError(f"{self.column} {value!r} and {names[name.lower()]!r} would both be {name}")
            if name.lower() in folders:
                raise InputError(f"{self.column} {value!r} would be {name}, a student's folder")
            names[name.lower()] = value
        written = []
        for value, members in self.groups.items():
            name = split_file(value)
            try:
                join_files([self.folder / f / "exam.pdf" for f in members], self.folder / name)
            except OSError as exc:  # a full disk, say
                raise EnvironmentProblem(f"cannot write {name}: {exc}", file=self.folder) from None
            written.append(name)
        return written

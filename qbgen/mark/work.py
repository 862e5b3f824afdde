"""What there is to mark in a build: units (a bank question or part) and each student's script.

Room: reading a build's manifests (`grade.load_papers`), its students (a roster's, or
the rows of its marks.csv for a build of sets), its scans (`scan.crop_path`, the bubbles
read into scans/responses.csv) into `Work`: one `Unit` per bank question (and part),
marked across every student who has it, whatever its number on their paper (pools give
students different questions at the same number). Each `Script` carries the student's
own scoring contract: their numbers, intervals and declared mistakes.
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import Any

from .. import scoring
from ..errors import InputError
from ..grade import PaperRecord, load_papers, read_sheet
from ..scan import SCANS, crop_path
from ..writers.sheets import MARKS, RESPONSES, response_column


@dataclass(frozen=True)
class Answer:
    """One machine-readable answer of an item: its rule, and what the scan read (if any)."""

    ident: str
    rule: scoring.Scoring
    response: str | None  # None: nothing read for it (no scan of bubbles)


@dataclass(frozen=True)
class Script:
    """One student's answer to one unit: who, the label on their paper, their own numbers."""

    student: str
    name: str
    paper: PaperRecord
    item: str  # the item's name on this student's paper
    most: float
    question: dict[str, Any]  # the manifest's question: id, seed, params, answers
    part: int  # which item of the question (0 for a whole question)
    answers: tuple[Answer, ...]
    manual: scoring.Manual | None
    crop: Path | None  # the scanned room to answer, if scanned

    @property
    def step(self) -> float:
        """Marks come in steps of this."""
        return self.manual.step if self.manual is not None else self.paper.step


@dataclass(frozen=True)
class Unit:
    """A bank question (or part): what a grader marks across every student who has it."""

    key: str  # `id`, or `id (a)` for a part: as items.csv's pooled rows name it
    title: str
    labels: tuple[str, ...]  # the numbers it has on the papers
    most: float
    lines: tuple[scoring.Line, ...]  # the marking scheme, as the manifest gives it
    scripts: tuple[Script, ...]

    @cached_property
    def sheet(self) -> dict[str, tuple[str, float]]:
        """Each student's item and its maximum, by student: what `Store.all_given` reads."""
        return {s.student: (s.item, s.most) for s in self.scripts}


@dataclass(frozen=True)
class Work:
    """Everything to mark in one build."""

    folder: Path
    units: tuple[Unit, ...]
    students: tuple[tuple[str, str, PaperRecord], ...]  # id, name, paper: the sheet's rows in order
    scanned: bool


def _people(folder: Path, papers: list[PaperRecord]) -> list[tuple[str, str, PaperRecord]]:
    # A roster's students; else the rows a grader wrote into marks.csv (id, name, set).
    if all(p.candidate for p in papers):
        return [(p.candidate["id"], p.candidate["name"], p) for p in papers if p.candidate]
    path = folder / MARKS
    if not path.exists():
        raise InputError(
            "no students to mark: build with --roster, or write the students' ids (and sets) into "
            "marks.csv first",
            file=path,
        )
    sheet = read_sheet(path, "marks sheet")
    by_code = {p.code: p for p in papers}
    out = []
    for line, row in sheet.rows:
        if not row["id"] or row["id"] == "Points Possible":
            continue
        code = row.get("set", "") if len(papers) > 1 else papers[0].code
        if code not in by_code:
            raise InputError(f"{code!r} is not a set of this build", file=path, line=line, field="set")
        out.append((row["id"], row.get("name", ""), by_code[code]))
    if not out:
        raise InputError(
            "no students to mark: write the students' ids (and sets) into marks.csv first", file=path
        )
    return out


def _read_responses(folder: Path) -> dict[str, dict[str, str]]:
    # What `scan` read of the bubbles, by student and column (scans/responses.csv).
    path = folder / SCANS / RESPONSES
    try:
        text = path.read_text("utf-8")
    except OSError:
        return {}
    return {row["id"]: row for row in csv.DictReader(io.StringIO(text)) if row.get("id")}


def _answer(ident: str, data: Any, read: dict[str, str] | None, item: str) -> Answer:
    # Only bubbles are read from a scan; a number written by hand is the grader's to read.
    rule = scoring.load(data)
    seen = read.get(response_column(item, ident)) if read and isinstance(rule, scoring.Options) else None
    return Answer(ident, rule, seen)


def load_work(folder: Path) -> Work:
    """Read what there is to mark in the build at `folder`."""
    papers = load_papers(folder)
    people = _people(folder, papers)
    read = _read_responses(folder)
    units: dict[str, dict[str, Any]] = {}
    for sid, name, paper in people:
        contracts = paper.contracts
        for q in paper.manifest["questions"]:
            for part, (item, most) in enumerate(q["items"].items()):
                key = paper.identity[item]
                contract = contracts.get(item, {"answers": {}, "manual": None})
                answers = tuple(
                    _answer(ident, rule, read.get(sid), item) for ident, rule in contract["answers"].items()
                )
                manual = contract.get("manual")
                scheme = scoring.load(manual) if manual else None
                assert scheme is None or isinstance(scheme, scoring.Manual)
                crop = crop_path(folder, paper.code, item)
                script = Script(
                    sid,
                    name,
                    paper,
                    item,
                    float(most),
                    q,
                    part,
                    answers,
                    scheme,
                    crop if crop.exists() else None,
                )
                unit = units.setdefault(
                    key,
                    {
                        "title": str(q.get("title") or q["id"]),
                        "labels": {},
                        "most": float(most),
                        "lines": scheme.lines if scheme else (),
                        "scripts": [],
                    },
                )
                unit["labels"][item] = None
                unit["most"] = max(unit["most"], float(most))
                unit["scripts"].append(script)
    return Work(
        folder,
        tuple(
            Unit(key, u["title"], tuple(u["labels"]), u["most"], u["lines"], tuple(u["scripts"]))
            for key, u in units.items()
        ),
        tuple(people),
        (folder / SCANS).is_dir(),
    )


__all__ = ["Answer", "Script", "Unit", "Work", "load_work"]

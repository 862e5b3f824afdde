"""Stage 7: grade a build from its filled sheets: totals, typed answers marked, item analysis.

Room: reading a build's manifests and the graders' `marks.csv` and `responses.csv`,
checking every cell (one line per problem: sheet, line, column), and writing
`grades.csv`, `gradebook.csv`, `responses-marked.csv`, `items.csv` and
`grading-report.pdf` beside them. Imports errors and writers.sheets. Each output is
written whole or not at all; nothing else in the folder is touched. The formats are in
`docs/SHEETS.md`.
"""

from __future__ import annotations

import csv
import io
import json
import math
import os
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import Any

import numpy as np

from .errors import InputError
from .writers.sheets import MARKS, POINTS_POSSIBLE, RESPONSES

STEP = 0.5  # the marking schemes' granularity: marks come in halves
OUTPUTS = ("grades.csv", "gradebook.csv", "responses-marked.csv", "items.csv", "grading-report.pdf")


@dataclass(frozen=True)
class PaperRecord:
    """One paper of the build: its code, its student (if a roster), its manifest."""

    code: str
    candidate: dict[str, str] | None
    manifest: dict[str, Any]

    @cached_property
    def items(self) -> dict[str, float]:
        """Every item a grader marks on this paper, with its maximum (read once)."""
        return {k: float(v) for q in self.manifest["questions"] for k, v in q["items"].items()}

    @property
    def marks(self) -> float:
        """What the paper's items add up to."""
        return math.fsum(self.items.values())


@dataclass
class Student:
    """A row of marks.csv: who, which paper, the marks (None: left blank)."""

    id: str
    name: str
    paper: PaperRecord
    marks: dict[str, float | None] = field(default_factory=dict)

    def total(self) -> float:
        """The sum of the student's marks."""
        return math.fsum(m or 0.0 for m in self.marks.values())


def load_papers(folder: Path) -> list[PaperRecord]:
    """The papers a build in `folder` holds, read from its manifests."""
    path = folder / "manifest.json"
    try:
        top = json.loads(path.read_text("utf-8"))
    except OSError:
        raise InputError(f"{path}: no manifest.json here: grade a folder `qbgen build` wrote") from None
    except ValueError as exc:
        raise InputError(f"{path}: not JSON: {exc}") from None
    if "papers" not in top:
        return [PaperRecord("", None, top)]
    out = []
    for entry in top["papers"]:
        sub = folder / entry["folder"] / "manifest.json"
        try:
            manifest = json.loads(sub.read_text("utf-8"))
        except (OSError, ValueError):
            raise InputError(f"{sub}: missing or not JSON (the build is incomplete)") from None
        out.append(PaperRecord(entry["folder"], manifest.get("candidate"), manifest))
    return out


def _rows(path: Path) -> Iterator[tuple[int, dict[str, str]]]:
    try:
        text = path.read_text("utf-8-sig")
    except OSError as exc:
        raise InputError(f"{path}: cannot read: {exc.strerror}") from None
    reader = csv.DictReader(io.StringIO(text))
    if not reader.fieldnames or "id" not in reader.fieldnames:
        raise InputError(f"{path}:1: id: the sheet needs an id column")
    for row in reader:
        if None in row:
            raise InputError(f"{path}:{reader.line_num}: more cells than the header has columns")
        yield reader.line_num, {k: (v or "").strip() for k, v in row.items()}


def _paper_for(path: Path, line: int, row: dict[str, str], papers: list[PaperRecord]) -> PaperRecord:
    # A roster: the student's own paper; sets: the `set` column; one paper: that one.
    by_student = {p.candidate["id"]: p for p in papers if p.candidate}
    if by_student:
        if row["id"] not in by_student:
            raise InputError(f"{path}:{line}: id: {row['id']!r} is not on the build's roster")
        return by_student[row["id"]]
    if len(papers) == 1:
        return papers[0]
    code = row.get("set", "")
    by_code = {p.code: p for p in papers}
    if code not in by_code:
        sets = ", ".join(sorted(by_code))
        raise InputError(f"{path}:{line}: set: {code!r} is not a set of this build ({sets})")
    return by_code[code]


def read_marks(path: Path, papers: list[PaperRecord]) -> list[Student]:
    """Read and check marks.csv: every mark a number of halves within its item's maximum."""
    students: list[Student] = []
    seen: dict[str, int] = {}
    for line, row in _rows(path):
        if row["id"] == POINTS_POSSIBLE:
            continue
        if not row["id"]:
            if not any(row.values()):
                continue
            raise InputError(f"{path}:{line}: id: empty")
        if row["id"] in seen:
            raise InputError(f"{path}:{line}: id: {row['id']!r} again (first on line {seen[row['id']]})")
        seen[row["id"]] = line
        paper = _paper_for(path, line, row, papers)
        student = Student(row["id"], row.get("name", ""), paper)
        own = paper.items
        for item in row:
            if row[item] and item not in own and any(item in p.items for p in papers):
                raise InputError(f"{path}:{line}: {item}: this student's paper has no item {item}")
        for item, most in own.items():
            if item not in row:
                raise InputError(f"{path}:1: {item}: the sheet has no column for item {item}")
            cell = row[item]
            if cell == "":
                student.marks[item] = None
                continue
            try:
                mark = float(cell)
            except ValueError:
                raise InputError(f"{path}:{line}: {item}: {cell!r} is not a number") from None
            if not math.isfinite(mark) or mark < 0:
                raise InputError(f"{path}:{line}: {item}: {cell} is negative or not a number")
            if mark > most + 1e-9:
                raise InputError(f"{path}:{line}: {item}: {cell} is more than the item's {most:g} marks")
            if abs(mark / STEP - round(mark / STEP)) > 1e-9:
                raise InputError(f"{path}:{line}: {item}: {cell} is not a whole number of half marks")
            student.marks[item] = mark
        students.append(student)
    missing = [p.candidate["id"] for p in papers if p.candidate and p.candidate["id"] not in seen]
    if missing:
        raise InputError(f"{path}: id: no marks for {len(missing)} of the roster ({', '.join(missing[:5])})")
    if not students:
        raise InputError(f"{path}: no student has marks yet")
    return students


def mark_responses(path: Path, papers: list[PaperRecord]) -> list[list[str]]:
    """Mark each typed final answer against that student's own answer and interval."""
    out = [["id", "item", "response", "expected", "low", "high", "verdict"]]
    seen: set[str] = set()
    for line, row in _rows(path):
        if not row["id"]:
            continue
        if row["id"] in seen:
            raise InputError(f"{path}:{line}: id: {row['id']!r} again")
        seen.add(row["id"])
        paper = _paper_for(path, line, row, papers)
        for q in paper.manifest["questions"]:
            for key, (low, high) in q["accept"].items():
                column = f"{q['number']}.{key}"
                if column not in row:
                    raise InputError(f"{path}:1: {column}: the sheet has no column for this answer")
                cell = row[column]
                verdict = _verdict(path, line, column, cell, low, high, q["mistakes"].get(key, {}))
                out.append([row["id"], column, cell, repr(q["answers"][key]), repr(low), repr(high), verdict])
    return out


def _verdict(path: Path, line: int, column: str, cell: str, low: float, high: float, wrong: dict) -> str:
    if cell == "":
        return "blank"
    try:
        value = float(cell)
    except ValueError:
        raise InputError(f"{path}:{line}: {column}: {cell!r} is not a number") from None
    if low <= value <= high:
        return "correct"
    half = max((high - low) / 2, 1e-12 * max(1.0, abs(value)))
    near = sorted((abs(value - v), name) for name, v in wrong.items() if abs(value - v) <= half)
    return f"mistake: {near[0][1]}" if near else "wrong"


# --------------------------------------------------------------------------- analysis


def _corr(a: np.ndarray, b: np.ndarray) -> float:
    if len(a) < 3 or a.std() == 0 or b.std() == 0:
        return float("nan")
    return float(np.corrcoef(a, b)[0, 1])


def all_items(students: list[Student]) -> dict[str, float]:
    """Every item any student's paper has (pools differ), with its largest maximum."""
    out: dict[str, float] = {}
    for s in students:
        for item, most in s.paper.items.items():
            out[item] = max(most, out.get(item, 0.0))
    return out


def item_rows(students: list[Student], label: str = "") -> list[dict[str, Any]]:
    """Per item: maximum, mean, facility, discrimination (item-rest), blank rate, flag.

    An item only some papers have (a pool) is analysed over the students who had it;
    the test's alpha is over the items every student had.
    """
    most = all_items(students)
    items = list(most)
    totals = np.array([s.total() for s in students])
    rows = []
    for item in items:
        who = [i for i, s in enumerate(students) if item in s.marks]
        got = np.array([students[i].marks[item] or 0.0 for i in who])
        out_of = np.array([students[i].paper.items[item] for i in who])
        facility = float((got / out_of).mean())
        disc = _corr(got, totals[who] - got)
        flags = []
        if facility < 0.2:
            flags.append("hard")
        if facility > 0.95:
            flags.append("easy")
        if not math.isnan(disc) and disc < 0.2:
            flags.append("negative discrimination" if disc < 0 else "low discrimination")
        rows.append(
            {
                "item": item,
                "set": label,
                "max": most[item],
                "n": len(who),
                "mean": float(got.mean()),
                "facility": facility,
                "discrimination": disc,
                "blank_rate": float(np.mean([students[i].marks[item] is None for i in who])),
                "flag": "review: " + ", ".join(flags) if flags else "",
            }
        )
    common = [i for i in items if all(i in s.marks for s in students)]
    scores = np.array([[s.marks[i] or 0.0 for i in common] for s in students])
    blanks = np.array([[s.marks[i] is None for i in items if i in s.marks] for s in students], dtype=object)
    k = len(common)
    whole = scores.sum(axis=1)
    var_items = scores.var(axis=0, ddof=1).sum() if len(students) > 1 else float("nan")
    var_total = whole.var(ddof=1) if len(students) > 1 else float("nan")
    alpha = k / (k - 1) * (1 - var_items / var_total) if k > 1 and var_total > 0 else float("nan")
    sem = (
        float(math.sqrt(var_total) * math.sqrt(1 - alpha)) if alpha == alpha and alpha <= 1 else float("nan")
    )
    rows.append(
        {
            "item": "(test)",
            "set": label,
            "max": max(s.paper.marks for s in students),
            "n": len(students),
            "mean": float(totals.mean()),
            "facility": float(np.mean([s.total() / s.paper.marks for s in students])),
            "discrimination": float("nan"),
            "blank_rate": float(np.mean([x for row in blanks for x in row])),
            "flag": "",
            "alpha": float(alpha),
            "sem": sem,
        }
    )
    return rows


COLUMNS = [
    "item",
    "set",
    "max",
    "n",
    "mean",
    "facility",
    "discrimination",
    "blank_rate",
    "flag",
    "alpha",
    "sem",
]


def _fmt(value: Any) -> str:
    if isinstance(value, float):
        return "" if math.isnan(value) else f"{value:.4g}"
    return str(value)


def _csv(rows: list[list[str]]) -> bytes:
    out = io.StringIO()
    csv.writer(out, lineterminator="\n").writerows(rows)
    return out.getvalue().encode()


@dataclass(frozen=True)
class GradeResult:
    """What `grade` wrote, and the figures a person asks for first."""

    files: list[Path]
    students: int
    mean: float
    alpha: float
    flagged: list[str]


def grade(folder: Path, marks: Path | None = None, responses: Path | None = None) -> GradeResult:
    """Grade the build in `folder` from its filled sheets; write the results beside them."""
    papers = load_papers(folder)
    marks = marks or folder / MARKS
    students = read_marks(marks, papers)
    responses = responses or folder / RESPONSES
    marked = mark_responses(responses, papers) if responses.is_file() else None
    most = all_items(students)
    items = list(most)
    grades = [["id", "name"] + items + ["total", "percent"]]
    for s in students:
        total = s.total()
        out_of = float(s.paper.manifest.get("max_marks") or s.paper.marks)
        grades.append(
            [s.id, s.name]
            + ["" if s.marks.get(i) is None else f"{s.marks[i]:g}" for i in items]
            + [f"{total:g}", f"{100 * total / out_of:.1f}"]
        )
    max_marks = float(students[0].paper.manifest.get("max_marks") or sum(most.values()))
    spec = students[0].paper.manifest.get("spec", "exam")
    title = f"{spec} ({max_marks:g})"
    gradebook = [["Student", "ID", "SIS User ID", "SIS Login ID", "Section", title]]
    gradebook += [[s.name, "", s.id, "", "", f"{s.total():g}"] for s in students]
    analysis = item_rows(students)
    codes = sorted({s.paper.code for s in students if s.paper.code and not s.paper.candidate})
    for code in codes:
        group = [s for s in students if s.paper.code == code]
        if len(group) >= 2:
            analysis += item_rows(group, code)
    items_csv = [COLUMNS] + [[_fmt(r.get(c, "")) for c in COLUMNS] for r in analysis]
    outputs: dict[str, bytes] = {
        "grades.csv": _csv(grades),
        "gradebook.csv": _csv(gradebook),
        "items.csv": _csv(items_csv),
        "grading-report.pdf": report_pdf(students, analysis, spec),
    }
    if marked is not None:
        outputs["responses-marked.csv"] = _csv(marked)
    files = [_write_atomically(folder / name, data) for name, data in outputs.items()]
    test = analysis[len(items)]
    flagged = [r["item"] for r in analysis[: len(items)] if r["flag"]]
    return GradeResult(files, len(students), test["mean"], test["alpha"], flagged)


def _write_atomically(path: Path, data: bytes) -> Path:
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return path


def report_pdf(students: list[Student], analysis: list[dict[str, Any]], spec: str) -> bytes:
    """The report a person reads at a glance: totals, items, sets (matplotlib, one page)."""
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib import pyplot as plt

    items = [r for r in analysis if not r["set"] and r["item"] != "(test)"]
    test = next(r for r in analysis if not r["set"] and r["item"] == "(test)")
    totals = [s.total() for s in students]
    fig, axes = plt.subplots(1, 3, figsize=(13, 4.2))
    ax = axes[0]
    ax.hist(totals, bins=min(15, max(5, len(set(totals)))), color="#4a6fa5", edgecolor="white")
    ax.set_title(f"Totals (n = {len(totals)}, mean {test['mean']:.1f} of {test['max']:g})")
    ax.set_xlabel("total marks")
    ax.set_ylabel("students")
    ax = axes[1]
    for r in items:
        d = 0.0 if math.isnan(r["discrimination"]) else r["discrimination"]
        color = "#c0392b" if r["flag"] else "#2c3e50"
        ax.scatter(r["facility"], d, color=color, s=22)
        ax.annotate(r["item"], (r["facility"], d), fontsize=7, xytext=(3, 2), textcoords="offset points")
    ax.axhline(0.2, color="grey", lw=0.6, ls="--")
    ax.set_xlim(-0.02, 1.05)
    ax.set_title(f"Items (alpha = {_fmt(test['alpha'])}; red: to review)")
    ax.set_xlabel("facility (mean / max)")
    ax.set_ylabel("discrimination (item-rest r)")
    ax = axes[2]
    sets = sorted({r["set"] for r in analysis if r["set"]})
    if sets:
        means = [next(r["mean"] for r in analysis if r["set"] == c and r["item"] == "(test)") for c in sets]
        ax.bar(sets, means, color="#4a6fa5")
        ax.set_title("Mean total by set")
        ax.set_ylabel("mean total")
    else:
        ax.barh([r["item"] for r in items], [r["facility"] for r in items], color="#4a6fa5")
        ax.invert_yaxis()
        ax.set_title("Facility by item")
        ax.set_xlabel("facility")
    fig.suptitle(f"{spec}: grading report")
    fig.tight_layout()
    out = io.BytesIO()
    fig.savefig(out, format="pdf", metadata={"CreationDate": None, "Producer": "qbgen"})
    plt.close(fig)
    return out.getvalue()


__all__ = ["GradeResult", "grade", "item_rows", "load_papers", "mark_responses", "read_marks"]

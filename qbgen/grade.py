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
from pydantic import ValidationError

from . import scoring
from .errors import InputError
from .writers.sheets import MARKS, POINTS_POSSIBLE, RESPONSES

STEP = 0.5  # marks come in halves unless the spec said otherwise (the manifest's mark_step)
STEP_NAMES = {0.5: "half marks", 0.25: "quarter marks", 1.0: "whole marks"}
OUTPUTS = (
    "grades.csv",
    "gradebook.csv",
    "responses-marked.csv",
    "items.csv",
    "fairness.csv",
    "grading-report.pdf",
)


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

    @cached_property
    def identity(self) -> dict[str, str]:
        """Each item's bank question (and part): `id`, or `id (a)` for a part."""
        out = {}
        for q in self.manifest["questions"]:
            names = list(q["items"])
            for i, name in enumerate(names):
                out[name] = (
                    q["id"] if len(q["items"]) == 1 and name == q["number"] else f"{q['id']} ({chr(97 + i)})"
                )
        return out

    @property
    def step(self) -> float:
        """The step marks are given in (the spec's `mark_step`)."""
        return float(self.manifest.get("mark_step") or STEP)

    @cached_property
    def contracts(self) -> dict[str, dict[str, Any]]:
        """Each item's scoring contract, by item name (a manifest before schema 2: from `accept`)."""
        out: dict[str, dict[str, Any]] = {}
        for q in self.manifest["questions"]:
            if "scoring" in q:
                out.update(q["scoring"])
                continue
            # schema 1: one column per numeric answer, named by the question's number
            answers = {
                key: scoring.dump(
                    scoring.Interval(
                        value=float(q["answers"][key]),
                        low=low,
                        high=high,
                        mistakes=tuple(
                            scoring.Named(
                                name=n, value=v, low=v - (high - low) / 2, high=v + (high - low) / 2
                            )
                            for n, v in q["mistakes"].get(key, {}).items()
                        ),
                    )
                )
                for key, (low, high) in q["accept"].items()
            }
            out[q["number"]] = {"marks": q["marks"], "answers": answers, "manual": None}
        return out


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
            step = paper.step
            if abs(mark / step - round(mark / step)) > 1e-9:
                what = STEP_NAMES.get(step, f"steps of {step:g}")
                raise InputError(f"{path}:{line}: {item}: {cell} is not a whole number of {what}")
            problem = _unreachable(mark, paper.contracts.get(item, {}).get("manual"))
            if problem:
                raise InputError(f"{path}:{line}: {item}: {cell}: {problem}")
            student.marks[item] = mark
        students.append(student)
    missing = [p.candidate["id"] for p in papers if p.candidate and p.candidate["id"] not in seen]
    if missing:
        raise InputError(f"{path}: id: no marks for {len(missing)} of the roster ({', '.join(missing[:5])})")
    if not students:
        raise InputError(f"{path}: no student has marks yet")
    return students


def _unreachable(mark: float, manual: dict[str, Any] | None) -> str:
    # What the item's marking scheme says of this mark ("": it can be given).
    if not manual:
        return ""
    scheme = scoring.load(manual)
    assert isinstance(scheme, scoring.Manual)
    return scheme.problem(mark)


def mark_responses(path: Path, papers: list[PaperRecord]) -> list[list[str]]:
    """Mark each typed answer against that student's own scoring (interval, options, ...)."""
    out = [["id", "item", "response", "expected", "low", "high", "verdict", "credit"]]
    seen: set[str] = set()
    for line, row in _rows(path):
        if not row["id"]:
            continue
        if row["id"] in seen:
            raise InputError(f"{path}:{line}: id: {row['id']!r} again")
        seen.add(row["id"])
        paper = _paper_for(path, line, row, papers)
        for item, contract in paper.contracts.items():
            for ident, data in contract["answers"].items():
                column = f"{item}.{ident}"
                if column not in row:
                    raise InputError(f"{path}:1: {column}: the sheet has no column for this answer")
                try:
                    rule = scoring.load(data)
                except ValidationError:
                    raise InputError(
                        f"{paper.code or 'manifest.json'}: {column}: malformed scoring"
                    ) from None
                cell = row[column]
                try:
                    result = scoring.evaluate(rule, cell)
                except scoring.Unreadable as exc:
                    raise InputError(f"{path}:{line}: {column}: {exc}") from None
                expected, low, high = _expected(rule)
                out.append(
                    [row["id"], column, cell, expected, low, high, result.verdict, f"{result.credit:.12g}"]
                )
    return out


def _expected(rule: scoring.Scoring) -> tuple[str, str, str]:
    # The expected answer as a grader reads it, and the interval where there is one.
    if isinstance(rule, scoring.Interval):
        return repr(rule.value), repr(rule.low), repr(rule.high)
    if isinstance(rule, scoring.Options):
        return ",".join(chr(ord("A") + i) for i in rule.correct), "", ""
    if isinstance(rule, scoring.Exact):
        return rule.value, "", ""
    return "", "", ""


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


def _flags(facility: float, disc: float) -> str:
    flags = []
    if facility < 0.2:
        flags.append("hard")
    if facility > 0.95:
        flags.append("easy")
    if not math.isnan(disc) and disc < 0.2:
        flags.append("negative discrimination" if disc < 0 else "low discrimination")
    return "review: " + ", ".join(flags) if flags else ""


def _row(item: str, group: str, question: str, who: list[tuple[Student, str]]) -> dict[str, Any]:
    # One item's statistics over the students who had it, each with the column it was in:
    # one bank question and part, so one maximum; facility is mean / max.
    most = who[0][0].paper.items[who[0][1]]
    got = np.array([s.marks[label] or 0.0 for s, label in who])
    rest = np.array([s.total() for s, _ in who]) - got
    facility = float(got.mean() / most)
    disc = _corr(got, rest)
    return {
        "item": item,
        "set": group,
        "question": question,
        "max": most,
        "n": len(who),
        "mean": float(got.mean()),
        "facility": facility,
        "discrimination": disc,
        "blank_rate": float(np.mean([s.marks[label] is None for s, label in who])),
        "flag": _flags(facility, disc),
    }


def _same_question(students: list[Student], item: str) -> str | None:
    # The bank question (and part) under this column for everyone who had it, or None
    # where the papers put different questions there (a pool).
    found = {s.paper.identity[item] for s in students if item in s.marks}
    return found.pop() if len(found) == 1 else None


def item_rows(students: list[Student], group: str = "") -> list[dict[str, Any]]:
    """Per column of one group (a set, or everyone): its statistics, and the test's.

    A column is analysed only where every paper of the group has the same bank question
    (and part) under it: a pool's column, different questions on different papers, is
    analysed per question by `pooled_rows` instead. Cronbach's alpha is over the columns
    every student had with the same question.
    """
    rows = []
    same: list[str] = []
    for item in all_items(students):
        question = _same_question(students, item)
        if question is None:
            continue
        rows.append(_row(item, group, question, [(s, item) for s in students if item in s.marks]))
        if all(item in s.marks for s in students):
            same.append(item)
    totals = np.array([s.total() for s in students])
    scores = np.array([[s.marks[i] or 0.0 for i in same] for s in students])
    k = len(same)
    var_items = scores.var(axis=0, ddof=1).sum() if len(students) > 1 and k else float("nan")
    var_total = totals.var(ddof=1) if len(students) > 1 else float("nan")
    alpha = k / (k - 1) * (1 - var_items / var_total) if k > 1 and var_total > 0 else float("nan")
    sem = (
        float(math.sqrt(var_total) * math.sqrt(1 - alpha)) if alpha == alpha and alpha <= 1 else float("nan")
    )
    blanks = [m is None for s in students for m in s.marks.values()]
    rows.append(
        {
            "item": "(test)",
            "set": group,
            "question": "",
            "max": max(s.paper.marks for s in students),
            "n": len(students),
            "mean": float(totals.mean()),
            "facility": float(np.mean([s.total() / s.paper.marks for s in students])),
            "discrimination": float("nan"),
            "blank_rate": float(np.mean(blanks)) if blanks else float("nan"),
            "flag": "",
            "alpha": float(alpha),
            "sem": sem,
        }
    )
    return rows


def pooled_rows(groups: dict[str, list[Student]]) -> list[dict[str, Any]]:
    """Per bank question (and part) that several sets or a pool asked: its statistics.

    Over everyone who had it, whatever its column; never one column's different
    questions together.
    """
    where: dict[str, list[tuple[Student, str]]] = {}
    spread: dict[str, set[tuple[str, str]]] = {}
    for code, students in groups.items():
        for s in students:
            for item in s.marks:
                question = s.paper.identity[item]
                where.setdefault(question, []).append((s, item))
                spread.setdefault(question, set()).add((code, item))
    rows = []
    for question, who in where.items():
        mixed = any(_same_question(groups[code], item) is None for code, item in spread[question])
        if len(spread[question]) < 2 and not mixed:
            continue  # one set, one column: its row is the set's own
        labels = "/".join(dict.fromkeys(item for _, item in who))
        rows.append(_row(labels, "(pooled)", question, who))
    return rows


def _kruskal(groups: list[list[float]]) -> tuple[float, float]:
    # Kruskal-Wallis H and its p value (scipy), or nan where there is nothing to test.
    groups = [g for g in groups if g]
    if len(groups) < 2:
        return float("nan"), float("nan")
    from scipy.stats import kruskal

    try:
        h, p = kruskal(*groups)
    except ValueError:  # every value the same: no difference to find
        return 0.0, 1.0
    return float(h), float(p)


def fairness_rows(groups: dict[str, list[Student]]) -> list[dict[str, Any]]:
    """Whether the sets (and a pool's questions) were equally hard.

    Per bank question that several sets asked: its facility in each set and a
    Kruskal-Wallis test of its marks (as fractions of its maximum) across the sets; per
    column where a pool put different questions: the same across those questions; and
    the totals (as fractions of each paper's maximum) across the sets. A p value under
    0.05 is flagged for review.
    """
    rows = []

    def add(kind: str, name: str, by: dict[str, list[float]]) -> None:
        h, p = _kruskal(list(by.values()))
        rows.append(
            {
                "compared": kind,
                "question": name,
                "groups": len(by),
                "n": sum(len(v) for v in by.values()),
                "facility": "; ".join(f"{k} {np.mean(v):.3g} (n={len(v)})" for k, v in by.items()),
                "kruskal_h": h,
                "p": p,
                "flag": "review: not equally hard" if p < 0.05 else "",
            }
        )

    by_question: dict[str, dict[str, list[float]]] = {}
    by_column: dict[str, dict[str, list[float]]] = {}
    for code, students in groups.items():
        for s in students:
            for item, mark in s.marks.items():
                question = s.paper.identity[item]
                share = (mark or 0.0) / s.paper.items[item]
                by_question.setdefault(question, {}).setdefault(code, []).append(share)
                by_column.setdefault(f"{code}:{item}" if code else item, {}).setdefault(question, []).append(
                    share
                )
    if len(groups) > 1:
        for question, by in by_question.items():
            if len(by) > 1:
                add("sets", question, by)
    for column, by in by_column.items():
        if len(by) > 1:
            add("questions", f"column {column}", by)
    if len(groups) > 1:
        add("sets", "(test)", {c: [s.total() / s.paper.marks for s in g] for c, g in groups.items()})
    return rows


FAIRNESS = ["compared", "question", "groups", "n", "facility", "kruskal_h", "p", "flag"]


COLUMNS = [
    "item",
    "set",
    "question",
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
    codes = sorted({s.paper.code for s in students if s.paper.code and not s.paper.candidate})
    groups = {code: [s for s in students if s.paper.code == code] for code in codes} or {"": students}
    analysis = [row for code, group in groups.items() for row in item_rows(group, code)]
    analysis += pooled_rows(groups)
    fairness = fairness_rows(groups)
    items_csv = [COLUMNS] + [[_fmt(r.get(c, "")) for c in COLUMNS] for r in analysis]
    outputs: dict[str, bytes] = {
        "grades.csv": _csv(grades),
        "gradebook.csv": _csv(gradebook),
        "items.csv": _csv(items_csv),
        "fairness.csv": _csv([FAIRNESS] + [[_fmt(r[c]) for c in FAIRNESS] for r in fairness]),
        "grading-report.pdf": report_pdf(students, analysis, spec, fairness),
    }
    if marked is not None:
        outputs["responses-marked.csv"] = _csv(marked)
    files = [_write_atomically(folder / name, data) for name, data in outputs.items()]
    tests = [r for r in analysis if r["item"] == "(test)"]
    everyone = item_rows(students) if len(tests) > 1 else tests  # the figures a person asks first
    test = everyone[-1]
    flagged = list(
        dict.fromkeys(
            r["question"] if r["set"] == "(pooled)" else f"{r['set']}:{r['item']}" if r["set"] else r["item"]
            for r in analysis
            if r["flag"] and r["item"] != "(test)"
        )
    )
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


def report_pdf(
    students: list[Student], analysis: list[dict[str, Any]], spec: str, fairness: list[dict[str, Any]]
) -> bytes:
    """The report a person reads at a glance: totals, items, sets (matplotlib, one page).

    Items are shown by identity: a bank question several sets asked once (its pooled
    row), else each set's own row; never one column's different questions together.
    """
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib import pyplot as plt

    pooled = [r for r in analysis if r["set"] == "(pooled)"]
    shared = {r["question"] for r in pooled}
    own = [
        r
        for r in analysis
        if r["set"] != "(pooled)" and r["item"] != "(test)" and r["question"] not in shared
    ]
    items = pooled + own
    tests = {r["set"]: r for r in analysis if r["item"] == "(test)"}
    totals = [s.total() for s in students]
    most = max(s.paper.marks for s in students)
    fig, axes = plt.subplots(1, 3, figsize=(13, 4.2))
    ax = axes[0]
    ax.hist(totals, bins=min(15, max(5, len(set(totals)))), color="#4a6fa5", edgecolor="white")
    ax.set_title(f"Totals (n = {len(totals)}, mean {np.mean(totals):.1f} of {most:g})")
    ax.set_xlabel("total marks")
    ax.set_ylabel("students")
    ax = axes[1]
    for r in items:
        d = 0.0 if math.isnan(r["discrimination"]) else r["discrimination"]
        color = "#c0392b" if r["flag"] else "#2c3e50"
        name = r["item"] if r["set"] in ("", "(pooled)") else f"{r['set']}:{r['item']}"
        ax.scatter(r["facility"], d, color=color, s=22)
        ax.annotate(name, (r["facility"], d), fontsize=7, xytext=(3, 2), textcoords="offset points")
    ax.axhline(0.2, color="grey", lw=0.6, ls="--")
    ax.set_xlim(-0.02, 1.05)
    alphas = ", ".join(f"{k or 'all'} {_fmt(t['alpha'])}" for k, t in tests.items())
    ax.set_title(f"Items (alpha: {alphas}; red: to review)", fontsize=10)
    ax.set_xlabel("facility (mean / max)")
    ax.set_ylabel("discrimination (item-rest r)")
    ax = axes[2]
    sets = [k for k in tests if k]
    if sets:
        ax.bar(sets, [tests[c]["mean"] for c in sets], color="#4a6fa5")
        test = next((r for r in fairness if r["question"] == "(test)"), None)
        p = f"; Kruskal-Wallis p = {_fmt(test['p'])}" if test else ""
        ax.set_title(f"Mean total by set{p}", fontsize=10)
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

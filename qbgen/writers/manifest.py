"""The manifest writer: what each paper holds, as JSON other programs read.

Room: `manifest.json` of each paper (its questions' numbers, ids, marks, seeds, params
and answers) and, for a build of many papers, the top `manifest.json` listing them.
Imports frozen, kinds and models. The format is documented in `docs/MANIFEST.md`.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from ..frozen import thaw
from ..kinds import handler
from ..models import Exam, Paper, QuestionInstance


def question_record(q: QuestionInstance) -> dict[str, Any]:
    """Return one question as manifests and `qbgen show --json` give it.

    `accept`: for each answer graded by value, the closed interval a grader accepts;
    `mistakes`: the values declared wrong methods give, by answer and name.
    """
    accept: dict[str, list[int | float]] = {}
    mistakes: dict[str, dict[str, int | float]] = {}
    for a in q.all_answers():
        h = handler(a)
        accept.update({k: [lo, hi] for k, (lo, hi) in h.intervals(a).items()})
        mistakes.update(h.declared_mistakes(a))
    return {
        "number": q.number,
        "id": q.id,
        "marks": q.marks,
        "items": q.items(),
        "seed": q.seed,
        "params": thaw(q.params),
        "answers": thaw(q.answers),
        "accept": accept,
        "mistakes": mistakes,
    }


def manifest_of(exam: Exam) -> dict[str, Any]:
    """Return the manifest of one paper: every question's number, seed, params, answers."""
    return {
        "spec": exam.spec_name,
        "seed": exam.seed,
        "variant": exam.variant or None,
        "candidate": exam.candidate.model_dump() if exam.candidate else None,
        "original": exam.original,
        "max_marks": exam.max_marks,
        "questions": [question_record(q) for q in exam.questions()],
    }


def _dump(data: Any) -> str:
    return json.dumps(data, indent=2) + "\n"


class ManifestWriter:
    """Writes each paper's manifest, and the top one of a build of many papers."""

    name = "manifest"

    def __init__(self, head: Mapping[str, Any] | None = None) -> None:
        self.head = dict(head or {})
        self.manifest: dict[str, Any] = {}

    def write(self, papers: Sequence[Paper], folder: Path) -> list[str]:
        """Write the manifests into `folder`; return their names, relative to it."""
        names = []
        manifests = [manifest_of(p.exam) for p in papers]
        for paper, manifest in zip(papers, manifests, strict=True):
            target = folder / paper.folder if paper.folder else folder
            target.mkdir(parents=True, exist_ok=True)
            (target / "manifest.json").write_text(_dump(manifest), "utf-8")
            names.append(f"{paper.folder}/manifest.json" if paper.folder else "manifest.json")
        if len(papers) == 1 and not papers[0].folder:
            self.manifest = manifests[0]
            return names
        self.manifest = {
            **self.head,
            "papers": [{"folder": p.folder, **m} for p, m in zip(papers, manifests, strict=True)],
        }
        (folder / "manifest.json").write_text(_dump(self.manifest), "utf-8")
        return names + ["manifest.json"]

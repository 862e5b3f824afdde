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

from .. import scoring
from ..frozen import thaw
from ..kinds import handler
from ..models import Exam, Paper, QuestionInstance
from .streaming import Streaming


def item_scoring(q: QuestionInstance, step: float = 0.5) -> dict[str, dict[str, Any]]:
    """Each item's scoring contract, by item name.

    An item has its marks, how a machine marks each asked answer (by answer id) and the
    scheme a person marks it by. The answer ids are unique in the item: a kind's own (a
    numeric answer's key, a table cell's `key[r][c]`, a choice's key or `choice`),
    numbered from the second on if two answers of the item share one.
    """
    out: dict[str, dict[str, Any]] = {}
    for name, (marks, answers, rubric) in q.scored_items().items():
        auto: dict[str, Any] = {}
        for a in answers:
            for ident, s in handler(a).scoring(a).items():
                unique, n = ident, 1
                while unique in auto:
                    n += 1
                    unique = f"{ident}{n}"
                auto[unique] = scoring.dump(s)
        manual = scoring.Manual(
            marks=marks,
            step=step,
            lines=tuple(scoring.Line(marks=r.marks, text=str(r.text), partial=r.partial) for r in rubric),
        )
        out[name] = {"marks": marks, "answers": auto, "manual": scoring.dump(manual)}
    return out


def question_record(q: QuestionInstance, step: float = 0.5) -> dict[str, Any]:
    """Return one question as manifests and `qbgen show --json` give it.

    `accept`: for each asked answer graded by value, the closed interval a grader accepts;
    `mistakes`: the values declared wrong methods give, by answer and name; `scoring`:
    each item's whole contract (see `item_scoring`).
    """
    accept: dict[str, list[int | float]] = {}
    mistakes: dict[str, dict[str, int | float]] = {}
    for _marks, answers, _rubric in q.scored_items().values():
        for a in answers:
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
        "scoring": item_scoring(q, step),
    }


def manifest_of(exam: Exam) -> dict[str, Any]:
    """Return the manifest of one paper: every question's number, seed, params, answers."""
    out: dict[str, Any] = {
        "schema_version": scoring.SCHEMA_VERSION,
        "spec": exam.spec_name,
        "seed": exam.seed,
        "variant": exam.variant or None,
        # The roster's kept columns where it had them: a roster of ids and names gives
        # the manifest it always did.
        "candidate": exam.candidate.model_dump(exclude_defaults=True) if exam.candidate else None,
        "original": exam.original,
        "max_marks": exam.max_marks,
        "mark_step": exam.mark_step,
        "questions": [question_record(q, exam.mark_step) for q in exam.questions()],
    }
    if exam.large_print:  # the paper's form (an accommodation); its numbers are the same draw's
        out["large_print"] = exam.large_print
    if exam.extra_time:
        out["extra_time"] = exam.extra_time
    if exam.languages:  # a spec that names its languages; else the bank's one, as ever
        out["languages"] = list(exam.languages)
        out["layout"] = exam.layout
    return out


def _dump(data: Any) -> str:
    return json.dumps(data, indent=2) + "\n"


class ManifestWriter(Streaming):
    """Writes each paper's manifest, and the top one of a build of many papers.

    Papers come a run at a time (`start`, `add`, `finish`; `write` does all three).
    The top manifest lists every paper's manifest; its entries go to a scratch file as
    they come and are joined at the end, so the build never holds them all.
    """

    name = "manifest"

    def __init__(self, head: Mapping[str, Any] | None = None) -> None:
        self.head = dict(head or {})
        # One paper: its manifest. Many: the top manifest's head (its papers are in the file).
        self.manifest: dict[str, Any] = {}

    def start(self, folder: Path, count: int) -> None:
        """Begin a build of `count` papers into `folder`."""
        self.folder, self.count = folder, count
        self.names: list[str] = []
        self.entries = folder / ".manifest-papers"
        self.entries.write_text("", "utf-8")

    def add(self, papers: Sequence[Paper]) -> None:
        """Write the next papers' manifests, and keep their entries of the top one."""
        with self.entries.open("a", encoding="utf-8") as out:
            for paper in papers:
                manifest = manifest_of(paper.exam)
                target = self.folder / paper.folder if paper.folder else self.folder
                target.mkdir(parents=True, exist_ok=True)
                (target / "manifest.json").write_text(_dump(manifest), "utf-8")
                self.names.append(f"{paper.folder}/manifest.json" if paper.folder else "manifest.json")
                if self.count == 1 and not paper.folder:
                    self.manifest = manifest
                    continue
                # Indented as the entry of a list in the top object, one entry a line.
                entry = _dump({"folder": paper.folder, **manifest}).rstrip("\n")
                out.write(json.dumps("\n".join("    " + line for line in entry.splitlines())) + "\n")

    def finish(self) -> list[str]:
        """Write the top manifest of many papers; return the names of every manifest."""
        entries, self.entries = self.entries, self.folder / ".manifest-papers"
        if self.count == 1 and self.manifest:
            entries.unlink()
            return self.names
        # json.dumps of the whole object, written a paper at a time: the head's text with
        # the papers' entries where a placeholder stood.
        self.manifest = dict(self.head)
        before, after = _dump({**self.head, "papers": [_HOLE]}).split(f"    {json.dumps(_HOLE)}")
        with (
            (self.folder / "manifest.json").open("w", encoding="utf-8") as out,
            entries.open(encoding="utf-8") as src,
        ):
            out.write(before)
            for n, line in enumerate(src):
                out.write((",\n" if n else "") + json.loads(line))
            out.write(after)
        entries.unlink()
        return self.names + ["manifest.json"]


_HOLE = "qbgen: the papers go here"

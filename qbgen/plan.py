"""Planning a build: which papers, each assembled, and the folder each goes to.

Room: turning a build request (one paper, K sets, a roster) into `Paper`s, and the
one-question paper of `qbgen preview`. Imports errors, models, bank, spec, roster,
assemble. Nothing is written here.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from .assemble import assemble, instantiate
from .bank import Bank
from .errors import InputError
from .models import Candidate, Exam, Paper, SectionInstance
from .roster import folder_for
from .spec import LoadedSpec

Progress = Callable[[str, int, int], None]


@dataclass(frozen=True)
class Plan:
    """The papers of a build and what its top manifest says of them."""

    papers: tuple[Paper, ...]
    head: dict[str, Any] = field(default_factory=dict)


def variant_labels(count: int) -> list[str]:
    """Return `count` set labels: A, B, ..., Z, AA, AB, ..."""
    out = []
    for n in range(count):
        label, n1 = "", n + 1
        while n1:
            n1, r = divmod(n1 - 1, 26)
            label = chr(65 + r) + label
        out.append(label)
    return out


def plan(
    loaded: LoadedSpec,
    bank: Bank,
    *,
    seed: int | None = None,
    original: bool = False,
    variants: int | None = None,
    roster: list[Candidate] | None = None,
    progress: Progress | None = None,
) -> Plan:
    """Assemble one paper, K variants (A, B, ...) or one paper per student."""
    if variants is not None and roster is not None:
        raise InputError("give --variants or --roster, not both")
    if original and (variants or roster):
        raise InputError("--original reprints the paper's own numbers: one paper, no variants")
    note = progress or (lambda stage, done, total: None)
    exam_seed = loaded.spec.seed if seed is None else seed
    papers: list[Paper] = []
    if roster is not None:
        folders: dict[str, str] = {}
        for i, c in enumerate(roster):
            # load_roster refuses clashes with the file and line; this guards API callers.
            folder = folder_for(c.id)
            if folder in folders:
                raise InputError(
                    f"students {folders[folder]!r} and {c.id!r} would share the folder {folder!r}"
                )
            folders[folder] = c.id
            papers.append(
                Paper(folder=folder, exam=assemble(loaded, bank, seed=seed, variant=c.id, candidate=c))
            )
            note("assemble", i + 1, len(roster))
        return Plan(tuple(papers), {"spec": loaded.name, "seed": exam_seed, "roster": True})
    if variants:
        for i, label in enumerate(variant_labels(variants)):
            papers.append(Paper(folder=label, exam=assemble(loaded, bank, seed=seed, variant=label)))
            note("assemble", i + 1, variants)
        return Plan(tuple(papers), {"spec": loaded.name, "seed": exam_seed, "variants": variants})
    return Plan((Paper(folder="", exam=assemble(loaded, bank, seed=seed, original=original)),))


def preview_exam(bank: Bank, ref: str, seed: int | None) -> Exam:
    """Return a one-question paper for `qbgen preview` (None: the paper's own values)."""
    bq = bank.get(ref)
    inst = instantiate(bq, "1", seed)
    return Exam(
        spec_name="preview",
        institute="",
        course=bq.question.title,
        title=f"Preview of {bq.id}" + (f", seed {seed}" if seed is not None else ", original values"),
        date="",
        duration="",
        max_marks=inst.marks,
        instructions=(),
        style="iitjammu-b",
        seed=seed or 0,
        sections=(SectionInstance(number=1, title="", marks=inst.marks, questions=(inst,)),),
    )

"""Planning a build: which papers, each assembled, and the folder each goes to.

Room: turning a build request (one paper, K sets, a roster) into `Paper`s, and the
one-question paper of `qbgen preview`. Imports errors, models, bank, spec, roster,
assemble. Nothing is written here.

Many papers are assembled on every core: forked workers inherit the loaded bank and
spec, each assembles a contiguous run of papers and sends them back pickled. Every
seed derives from the exam's seed, the set or student and the question, never from
the order of work, so the papers are the same however they are spread.
"""

from __future__ import annotations

import multiprocessing
import os
from collections import deque
from collections.abc import Callable, Iterator
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from itertools import islice
from typing import Any

from .assemble import assemble, instantiate
from .bank import Bank
from .errors import InputError
from .models import (
    LARGE_PRINT_SIZES,
    Candidate,
    Exam,
    Paper,
    ReviewQuestion,
    SectionInstance,
    large_print_package,
)
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


@dataclass(frozen=True)
class Stream:
    """The papers of a build as they are assembled: `count` of them, a run at a time, in order.

    A build writes each run and lets it go, so it never holds a class of papers at once.
    """

    count: int
    runs: Iterator[tuple[Paper, ...]]
    head: dict[str, Any] = field(default_factory=dict)


def plan(loaded: LoadedSpec, bank: Bank, **options: Any) -> Plan:
    """Assemble one paper, K variants (A, B, ...) or one paper per student, all at once.

    The options are `plan_stream`'s.
    """
    stream = plan_stream(loaded, bank, **options)
    return Plan(tuple(p for run in stream.runs for p in run), stream.head)


def plan_stream(
    loaded: LoadedSpec,
    bank: Bank,
    *,
    seed: int | None = None,
    original: bool = False,
    variants: int | None = None,
    roster: list[Candidate] | None = None,
    progress: Progress | None = None,
    jobs: int | None = None,
    large_print: int = 0,
) -> Stream:
    """Plan one paper, K variants (A, B, ...) or one paper per student, assembled as read.

    `jobs` bounds the processes that assemble many papers (default: the cores). What
    a request gets wrong is raised here; a question that fails, when its run is
    assembled. `large_print` (18 or 24, pt) sets every paper in large print; a roster's
    `accommodation` sets each student's paper in its form (`in_form`).
    """
    if large_print and large_print not in LARGE_PRINT_SIZES:
        raise InputError(
            f"{large_print}: a large-print paper's body is {' or '.join(map(str, LARGE_PRINT_SIZES))} pt",
            field="--large-print",
        )
    if variants is not None and roster is not None:
        raise InputError("give --variants or --roster, not both")
    if original and (variants or roster):
        raise InputError("--original reprints the paper's own numbers: one paper, no variants")
    note = progress or (lambda stage, done, total: None)
    exam_seed = loaded.spec.seed if seed is None else seed
    if roster is not None:
        folders: dict[str, str] = {}
        work: list[_Work] = []
        for c in roster:
            # load_roster refuses clashes with the file and line; this guards API callers.
            folder = folder_for(c.id)
            if folder in folders:
                raise InputError(
                    f"students {folders[folder]!r} and {c.id!r} would share the folder {folder!r}"
                )
            folders[folder] = c.id
            work.append((folder, c.id, c))
        runs = _assemble_runs(loaded, bank, seed, work, jobs, note, large_print)
        return Stream(len(work), runs, {"spec": loaded.name, "seed": exam_seed, "roster": True})
    if variants:
        work = [(label, label, None) for label in variant_labels(variants)]
        runs = _assemble_runs(loaded, bank, seed, work, jobs, note, large_print)
        return Stream(len(work), runs, {"spec": loaded.name, "seed": exam_seed, "variants": variants})
    exam = in_form(assemble(loaded, bank, seed=seed, original=original), large_print=large_print)
    return Stream(1, iter([(Paper(folder="", exam=exam),)]))


def in_form(exam: Exam, *, large_print: int = 0, extra_time: int = 0) -> Exam:
    """The same paper, its draw untouched, in another form: large print, extra time.

    `large_print` (pt): the body at that size (the preamble's, through the package
    `models.large_print_package`), each question from a page of its own (whole, where it fits on one);
    `extra_time` (percent) is for the paper's cover to print.
    """
    if not large_print and not extra_time:
        return exam
    update: dict[str, Any] = {"extra_time": extra_time}
    if large_print:
        sections = tuple(
            s.model_copy(
                update={"questions": tuple(q.model_copy(update={"own_page": True}) for q in s.questions)}
            )
            for s in exam.sections
        )
        package = large_print_package(large_print)
        update.update(large_print=large_print, sections=sections, packages=(*exam.packages, package))
    return exam.model_copy(update=update)


def form_of(exam: Exam) -> tuple[int, int]:
    """A paper's form as `in_form` takes it: (large print, extra time)."""
    return exam.large_print, exam.extra_time


def question_papers(paper: Paper) -> list[tuple[str, Paper]]:
    """One paper for each question of `paper`, with the question's name, for split sittings.

    Each is the whole paper (header, numbers, the question's own number) with every other
    question left out but counted (`hidden`); a section none of whose questions it
    shows loses its title.
    """
    out = []
    for q in paper.exam.questions():
        sections = []
        for s in paper.exam.sections:
            shown = any(x.id == q.id for x in s.questions)
            questions = tuple(
                x.model_copy(update={"hidden": x.id != q.id, "own_page": False}) for x in s.questions
            )
            sections.append(s.model_copy(update={"questions": questions, "title": s.title if shown else ""}))
        exam = paper.exam.model_copy(update={"sections": tuple(sections)})
        out.append((q.number, paper.model_copy(update={"exam": exam})))
    return out


_Work = tuple[str, str, Candidate | None]  # (folder, variant, candidate)
PARALLEL_FROM = 8  # papers; fewer assemble faster than a pool starts
RUN = 12  # papers a worker assembles and sends back at once (bounds what is in flight)
_SHARED: tuple[LoadedSpec, Bank, int | None, int] | None = None  # what forked workers inherit


def _assemble_run(work: list[_Work]) -> tuple[Paper, ...]:
    assert _SHARED is not None
    loaded, bank, seed, large_print = _SHARED
    return tuple(
        Paper(
            folder=folder,
            exam=in_form(
                assemble(loaded, bank, seed=seed, variant=variant, candidate=c),
                # A student's own accommodation over the build's.
                large_print=(c.large_print() if c else 0) or large_print,
                extra_time=c.extra_time() if c else 0,
            ),
        )
        for folder, variant, c in work
    )


def _assemble_runs(
    loaded: LoadedSpec,
    bank: Bank,
    seed: int | None,
    work: list[_Work],
    jobs: int | None,
    note: Progress,
    large_print: int = 0,
) -> Iterator[tuple[Paper, ...]]:
    global _SHARED
    workers = min(jobs or os.cpu_count() or 1, len(work))
    forking = "fork" in multiprocessing.get_all_start_methods()
    _SHARED = (loaded, bank, seed, large_print)
    done = 0
    try:
        if workers < 2 or len(work) < PARALLEL_FROM or not forking:
            for w in work:
                run = _assemble_run([w])
                done += 1
                note("assemble", done, len(work))
                yield run
            return
        # Runs of a few papers each: a worker that finishes early takes the next run. At
        # most two runs a worker are out at once, so papers never pile up unwritten.
        size = max(1, min(RUN, len(work) // (4 * workers)))
        runs = iter([work[i : i + size] for i in range(0, len(work), size)])
        context = multiprocessing.get_context("fork")
        with ProcessPoolExecutor(max_workers=workers, mp_context=context) as pool:
            out = deque(pool.submit(_assemble_run, r) for r in islice(runs, 2 * workers))
            while out:
                papers = out.popleft().result()
                for r in islice(runs, 1):
                    out.append(pool.submit(_assemble_run, r))
                done += len(papers)
                note("assemble", done, len(work))
                yield papers
    finally:
        _SHARED = None


def preview_exam(bank: Bank, ref: str, seed: int | None) -> Exam:
    """Return a one-question paper for `qbgen preview` (None: the paper's own values)."""
    bq = bank.get(ref)
    # A seed's options in the order a build's question of that seed shows them.
    inst = instantiate(bq, "1", seed, shuffle_options=seed is not None)
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
        packages=bank.packages,
        seed=seed or 0,
        sections=(SectionInstance(number=1, title="", marks=inst.marks, questions=(inst,)),),
    )


def review(bank: Bank, seeds: int) -> list[ReviewQuestion]:
    """Every question of `bank` with its draws for the review site, by topic, then id.

    A question shows the paper as set (its pinned values), then, if parameterised, new
    draws of seeds 0..seeds-1; a fixed question shows a new paper's view only where it
    differs from the paper as set (a line marked `only: new`).
    """
    out = []
    for bq in sorted(bank.questions.values(), key=lambda b: (b.question.topic, b.id)):
        q = bq.question
        draws = [instantiate(bq, "1", None)]
        if bq.generator is not None:
            draws += [instantiate(bq, "1", s) for s in range(seeds)]
        else:
            new = instantiate(bq, "1", 0)
            if new.model_copy(update={"seed": None}) != draws[0]:
                draws.append(new)
        try:
            file = str(bq.path.relative_to(bank.folder_of(bq.path).root))
        except ValueError:
            file = str(bq.path)
        out.append(
            ReviewQuestion(
                id=bq.id,
                title=q.title,
                topic=q.topic,
                tags=tuple(q.tags),
                kind=q.kind,
                marks=q.marks,
                sources=tuple(q.all_sources()),
                parameterised=bq.generator is not None,
                file=file,
                bank=bank.folder_of(bq.path).name,
                notes=q.notes,
                draws=tuple(draws),
            )
        )
    return out

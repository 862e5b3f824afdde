"""Stage 6: build papers and keys: plan, write every output, publish all at once.

Room: running a build's jobs in order. Imports errors, models, bank, spec, roster,
plan, render, typeset, publish, writers. The jobs each have their module:

- planning the papers (`plan`: one paper, K sets, a roster), each an assembled `Exam`;
- writing each target over the same papers (`writers`: the LaTeX exam and key PDFs,
  which typeset documents per core and locate a LaTeX error as data; the manifests);
- publishing (`publish`): everything is made in a staging folder beside the output
  folder and swapped in at one step only when every file is good, so a failed,
  interrupted or killed build leaves the previous good output untouched and no
  half-written file; a LaTeX failure keeps its .tex and .log under `failed/`.
"""

from __future__ import annotations

import shutil
import time
from collections.abc import Generator, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .bank import Bank
from .errors import InputError, TypesetError
from .models import Candidate, Paper
from .plan import Progress, Stream, plan_stream, preview_exam, question_papers, review
from .publish import drop_failed, keep_failed, publish, staging
from .render import preamble, render_document
from .spec import LoadedSpec
from .typeset import ensure_format, typeset
from .writers import (
    CribWriter,
    LatexWriter,
    ManifestWriter,
    SheetsWriter,
    StreamingWriter,
    exports,
)
from .writers.forms import SCRATCH, FormsWriter, PerQuestionWriter
from .writers.sheets import holds_marks
from .writers.split import SplitWriter
from .writers.streaming import Streaming


@dataclass(frozen=True)
class BuildResult:
    """Where a build wrote its files, and what it put in them."""

    out: Path
    files: list[Path]
    manifest: dict[str, Any]  # one paper's manifest; of many, the top one's head
    papers: int
    pages: int
    seconds: float
    kept: tuple[str, ...] = ()  # sheets of the grader's the build left as they were
    overfull: tuple[tuple[str, float, int], ...] = ()  # (question, most pt past the margin, lines)


def build_papers(
    stream: Stream,
    out: Path,
    *,
    jobs: int | None = None,
    progress: Progress | None = None,
    student_keys: bool = False,
    bank_root: Sequence[Path] = (),
    split_by: str | None = None,
    forms: Sequence[int] = (),
    per_question: bool = False,
    html: bool = False,
) -> BuildResult:
    """Write every paper's exam, key and manifest (and the combined files) into `out`.

    The papers come a run at a time (`plan_stream`): each writer takes every run as it
    is assembled and keeps only what it needs of it, so a class of 500 takes the
    memory of a few papers. A roster build typesets one model key (the first student's,
    `key.pdf` at the top) and the crib, unless `student_keys` asks for every student's
    key too. `split_by` (a roster's column: `section`) adds `exams-VALUE.pdf`, the
    papers of each value's students (`writers.split`). `forms`: each paper's large-print
    size, where they are not all alike (a roster's accommodations: `writers.forms`).
    `per_question` adds `q-NAME.pdf` per question beside each exam.pdf; `html`, each
    paper's accessible `exam.html` (`writers.paperhtml`).
    """
    started = time.monotonic()
    latex: LatexWriter | FormsWriter
    if len(set(forms)) > 1:
        latex = FormsWriter(forms, jobs=jobs, progress=progress, student_keys=student_keys)
    else:
        latex = LatexWriter(jobs=jobs, progress=progress, student_keys=student_keys)
    head = dict(stream.head)
    if not student_keys and head.get("roster"):
        head["model_key"] = True  # so a rebuild knows the top key.pdf is ours
    manifests, sheets, crib = ManifestWriter(head), SheetsWriter(), CribWriter()
    split = SplitWriter(split_by) if split_by else None
    extra: list[StreamingWriter] = []  # writers whose files come after the papers' PDFs
    if per_question:  # a paper's questions get the keys its build gives the paper
        keys = student_keys or not head.get("roster")
        extra.append(PerQuestionWriter(question_papers, keys=keys, jobs=jobs))
    if html:  # its module (and lxml, pandoc's HTML) only for a build that asks for it
        from .writers.paperhtml import PaperHtmlWriter

        extra.append(PaperHtmlWriter())
    writers: tuple[StreamingWriter, ...] = (
        (manifests, sheets, latex, crib) + ((split,) if split else ()) + tuple(extra)
    )
    kept = []
    with staging(out, bank=bank_root) as tmp:
        for w in writers:
            w.start(tmp, stream.count)
        try:
            for run in stream.runs:
                for w in writers:
                    w.add(run)
        finally:  # a writer that fails stops the assembly now (its workers end with it)
            if isinstance(stream.runs, Generator):
                stream.runs.close()
        names = manifests.finish()
        for sheet in sheets.finish():
            # A sheet with anything typed into it is the grader's: never replace it.
            if holds_marks(out / sheet, sheets.people):
                (tmp / sheet).unlink()
                kept.append(sheet)
            else:
                names.append(sheet)
        try:
            # The crib typesets beside the papers (its pdflatex runs fill the gaps the
            # papers' documents leave on the cores).
            with ThreadPoolExecutor(max_workers=1) as side:
                cribbed = side.submit(crib.finish)
                names += latex.finish()
                names += cribbed.result()
        except TypesetError as exc:
            raise keep_failed(exc, out) from None
        if split:  # from the papers' exam PDFs, once they are cut
            names += split.finish()
        for w in extra:
            names += w.finish()
        drop_failed(out)
        shutil.rmtree(tmp / ".work", ignore_errors=True)
        shutil.rmtree(tmp / SCRATCH, ignore_errors=True)
        files = publish(tmp, out, names, keep=kept)
    seconds = time.monotonic() - started
    overfull = tuple((qid, most, count) for qid, (most, count) in sorted(latex.overfull.items()))
    return BuildResult(
        out, files, manifests.manifest, stream.count, latex.pages, seconds, tuple(kept), overfull
    )


def build(
    loaded: LoadedSpec,
    bank: Bank,
    out: Path,
    *,
    seed: int | None = None,
    original: bool = False,
    variants: int | None = None,
    roster: list[Candidate] | None = None,
    jobs: int | None = None,
    progress: Progress | None = None,
    student_keys: bool = False,
    split_by: str | None = None,
    large_print: int = 0,
    per_question: bool = False,
    html: bool = False,
) -> BuildResult:
    """Build one paper, K variants (A, B, ...) or one paper per student into `out`.

    `split_by` (`section`, or a column the spec's `roster_columns` names) writes
    `exams-VALUE.pdf` beside `exams.pdf` for each value of that column on the roster.
    `large_print` (18 or 24 pt) sets every paper in large print; a roster's
    `accommodation` column sets each student's paper in its own form. `per_question`
    adds a PDF per question (`q-NAME.pdf`); `html`, an accessible `exam.html` per paper.
    """
    if split_by is not None:
        _check_split(split_by, loaded, roster)
    if per_question and loaded.spec.on_paper:
        raise InputError(
            "--per-question makes papers to be read, not answered on: not with --on-paper "
            "(each page's code names its place in the whole paper)",
            field="--per-question",
        )
    stream = plan_stream(
        loaded,
        bank,
        seed=seed,
        original=original,
        variants=variants,
        roster=roster,
        progress=progress,
        jobs=jobs,
        large_print=large_print,
    )
    forms = [(c.large_print() or large_print) for c in roster] if roster is not None else []
    return build_papers(
        stream,
        out,
        jobs=jobs,
        progress=progress,
        student_keys=student_keys,
        bank_root=bank.roots,
        split_by=split_by,
        forms=forms,
        per_question=per_question,
        html=html,
    )


def _check_split(column: str, loaded: LoadedSpec, roster: list[Candidate] | None) -> None:
    # Before anything is assembled: a split of a roster by one of its kept columns, every
    # student with a value.
    can = ("section", *loaded.spec.roster_columns)
    if column not in can:
        raise InputError(
            f"{column!r}: a build splits by {' or '.join(repr(c) for c in can)}", field="--split-by"
        )
    if roster is None:
        raise InputError("--split-by splits a roster's papers: give --roster too", field="--split-by")
    lacking = [c.id for c in roster if not c.fields().get(column)]
    if lacking:
        raise InputError(
            f"{len(lacking)} student(s) without a {column} ({', '.join(map(repr, lacking[:3]))}): "
            "--split-by needs every student's",
            field=column,
        )


@dataclass(frozen=True)
class ExportResult:
    """Where an export wrote its files, and what it could not carry."""

    out: Path
    files: list[Path]
    papers: int
    report: list[str]
    seconds: float


def export(
    loaded: LoadedSpec,
    bank: Bank,
    out: Path,
    *,
    to: str = "moodle",
    seed: int | None = None,
    original: bool = False,
    variants: int | None = None,
    roster: list[Candidate] | None = None,
    feedback: bool = False,
) -> ExportResult:
    """Export the same draws as `build` for an LMS into `out`, with the same manifests.

    The papers stream as `build_papers` takes them: the manifests and a streaming
    target (every shipped one) take each run as it is assembled, so a class of 2,000
    takes the memory of a batch. A target from another package that has only `write`
    gets every paper at once.
    """
    started = time.monotonic()
    targets = exports()
    if to not in targets:
        raise InputError(f"no export target {to!r} (have: {', '.join(targets)})", field="--to")
    writer = targets[to](feedback=feedback)
    stream = plan_stream(loaded, bank, seed=seed, original=original, variants=variants, roster=roster)
    manifests = ManifestWriter(stream.head)
    streaming = writer if isinstance(writer, Streaming) else None
    held: list[Paper] = []  # the papers of a target that takes them all at once
    with staging(out, bank=bank.roots) as tmp:
        manifests.start(tmp, stream.count)
        if streaming:
            streaming.start(tmp, stream.count)
        try:
            for run in stream.runs:
                manifests.add(run)
                if streaming:
                    streaming.add(run)
                else:
                    held.extend(run)
        finally:  # a writer that fails stops the assembly now (its workers end with it)
            if isinstance(stream.runs, Generator):
                stream.runs.close()
        names = manifests.finish()
        names += streaming.finish() if streaming else writer.write(held, tmp)
        files = publish(tmp, out, names, command="export")
    return ExportResult(out, files, stream.count, writer.report, time.monotonic() - started)


@dataclass(frozen=True)
class SiteResult:
    """Where the review site went, how many question pages it has, and how long it took."""

    out: Path
    files: list[Path]
    questions: int
    seconds: float


def site(bank: Bank, out: Path, *, seeds: int = 3, title: str = "") -> SiteResult:
    """Write the review site of `bank` (all its folders) into `out`: an index and a page per question.

    A parameterised question shows the paper as set and `seeds` new draws. `title` heads
    every page (default: the banks' names).
    """
    from .writers.site import SiteWriter

    started = time.monotonic()
    questions = review(bank, seeds)
    writer = SiteWriter(title or f"Question bank review: {bank.names()}")
    with staging(out, bank=bank.roots) as tmp:
        files = publish(tmp, out, writer.write(questions, tmp), command="site")
    return SiteResult(out, files, len(questions), time.monotonic() - started)


def preview(bank: Bank, ref: str, out: Path, *, seed: int | None = None) -> Path:
    """Typeset one question into `out/<id>.pdf`: the exam's view, then the key's.

    With `seed`, choice options are shuffled as a build's question of that seed has them.
    """
    exam = preview_exam(bank, ref, seed)
    qid = exam.questions()[0].id
    with staging(out, bank=bank.roots) as tmp:
        tex = tmp / f"{qid}.tex"
        # The key straight after the exam: a preview is read on screen, not printed duplex.
        tex.write_text(render_document([(exam, False), (exam, True)], duplex=False), "utf-8")
        try:
            typeset(tex, fmt=ensure_format(preamble(exam.packages)))
        except TypesetError as exc:
            raise keep_failed(exc, out) from None
        drop_failed(out)
        return publish(tmp, out, [f"{qid}.pdf", f"{qid}.tex"], replaces=False)[0]

"""The LaTeX writer: every paper's exam and key as .tex and PDF, and exams.pdf/keys.pdf.

Room: turning planned papers into PDFs. Imports errors, models, render, typeset,
pdfjoin. One machinery serves one paper and a class of 500:

- every paper and every key is a *unit*; each paper's folder gets its own standalone
  `exam.tex` and `key.tex` (reproducible, readable);
- for more than one paper, units are rendered into a few documents (one per core, or
  more for big builds; each paper beside its key, so a figure is typeset once for
  both), each typeset once with the shared preamble from a cached format, and cut by
  the page map TeX writes into each unit's PDF; `exams.pdf` and `keys.pdf` hold every
  paper, each from an odd page for duplex printing;
- a LaTeX error is located as data: the document's index (from `typeset_all`), the
  unit from the document's line spans (from `render_units`), the question from the
  .tex's question spans (from `typeset`).
"""

from __future__ import annotations

import math
import multiprocessing
import os
from collections.abc import Callable, Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from multiprocessing.context import BaseContext
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..errors import TypesetError
from ..models import Paper
from ..render import TexDocument, preamble, render, render_units
from ..typeset import ensure_format, page_map, typeset_all

if TYPE_CHECKING:  # the PDF library (pikepdf) loads only when a split needs it
    from ..pdfjoin import Span

Progress = Callable[[str, int, int], None]
UNITS_PER_DOCUMENT = 40  # bounds a document's size (memory, a LaTeX error's reach)
Job = tuple[str, list["Span"]]


@dataclass(frozen=True)
class Unit:
    """One PDF to make: a paper's exam (answers off) or its key (answers on)."""

    paper: Paper
    answers: bool

    @property
    def name(self) -> str:
        """The unit's PDF, relative to the output folder."""
        prefix = f"{self.paper.folder}/" if self.paper.folder else ""
        return f"{prefix}{'key' if self.answers else 'exam'}.pdf"


def mp_context() -> BaseContext:
    """The start method of PDF-writing workers: fork where there is one, else spawn."""
    methods = multiprocessing.get_all_start_methods()
    return multiprocessing.get_context("fork" if "fork" in methods else "spawn")


class LatexWriter:
    """Writes each paper's exam and key (.tex and .pdf) and the combined PDFs."""

    name = "latex"

    def __init__(
        self,
        *,
        jobs: int | None = None,
        progress: Progress | None = None,
        context: BaseContext | None = None,
        student_keys: bool = True,
    ) -> None:
        self.jobs = jobs or os.cpu_count() or 1
        # A roster build without student keys typesets one model key (the first
        # student's, as key.pdf at the top) and leaves the numbers to the crib.
        self.student_keys = student_keys
        self.note = progress or (lambda stage, done, total: None)
        self.context = context or mp_context()
        self.pages = 0

    def write(self, papers: Sequence[Paper], folder: Path) -> list[str]:
        """Write every paper's files into `folder`; return their names, relative to it."""
        model = not self.student_keys and any(p.exam.candidate for p in papers)
        keyed = [papers[0].model_copy(update={"folder": ""})] if model else list(papers)
        names = self._sources(papers, folder, keyed)
        units = [Unit(p, False) for p in papers] + [Unit(p, True) for p in keyed]
        if len(papers) == 1 and not papers[0].folder:
            return names + self._single(units, folder)
        work = folder / ".work"
        work.mkdir()
        # Whole rounds of documents, a round per core: three documents on two cores would
        # leave one core idle for the third.
        count = max(min(self.jobs, len(papers)), math.ceil(len(units) / UNITS_PER_DOCUMENT))
        if count > self.jobs:
            count = min(len(papers), math.ceil(count / self.jobs) * self.jobs)
        groups = _chunks(len(papers), count, len(keyed))
        docs: list[Path] = []
        spans: list[tuple[tuple[int, int], ...]] = []
        for g, members in enumerate(groups):
            doc: TexDocument = render_units([(units[i].paper.exam, units[i].answers) for i in members])
            path = work / f"doc{g:03d}.tex"
            path.write_text(doc.text, "utf-8")
            docs.append(path)
            spans.append(doc.units)
        pdfs = self._typeset(docs, groups, spans, units)
        names += self._split(units, groups, docs, pdfs, folder, keys_pdf=not model)
        return names

    def _single(self, units: list[Unit], folder: Path) -> list[str]:
        # One paper: its own exam.tex and key.tex are the documents, a unit each.
        docs = [folder / "exam.tex", folder / "key.tex"]
        pdfs = self._typeset(docs, [[0], [1]], [((1, 10**9),), ((1, 10**9),)], units)
        for pdf, unit in zip(pdfs, units, strict=True):
            os.replace(pdf, folder / unit.name)
        self.pages = sum(b - a + 1 for doc in docs for a, b in page_map(doc))
        return [u.name for u in units]

    def _sources(self, papers: Sequence[Paper], folder: Path, keyed: Sequence[Paper]) -> list[str]:
        names = []
        jobs = [(p, False) for p in papers] + [(p, True) for p in keyed]
        for i, (p, answers) in enumerate(jobs):
            target = folder / p.folder if p.folder else folder
            target.mkdir(parents=True, exist_ok=True)
            prefix = f"{p.folder}/" if p.folder else ""
            name = "key" if answers else "exam"
            (target / f"{name}.tex").write_text(render(p.exam, answers=answers), "utf-8")
            names.append(f"{prefix}{name}.tex")
            self.note("render", i + 1, len(jobs))
        return names

    def _typeset(
        self,
        docs: list[Path],
        groups: list[list[int]],
        spans: list[tuple[tuple[int, int], ...]],
        units: list[Unit],
    ) -> list[Path]:
        fmt = ensure_format(preamble())
        self.note("typeset", 0, len(docs))
        try:
            pdfs = typeset_all(docs, fmt=fmt, jobs=self.jobs)
        except TypesetError as exc:
            raise _located(exc, groups, spans, units) from None
        self.note("typeset", len(docs), len(docs))
        return pdfs

    def _split(
        self,
        units: list[Unit],
        groups: list[list[int]],
        docs: list[Path],
        pdfs: list[Path],
        folder: Path,
        *,
        keys_pdf: bool = True,
    ) -> list[str]:
        maps = [page_map(doc) for doc in docs]
        names: list[str] = []
        # Tasks of (target file, its page spans (pdf, first, last)): one task per document
        # for the papers it holds (one parse of that PDF), one per combined file.
        where: dict[int, tuple[str, int, int]] = {}
        tasks: list[list[Job]] = []
        for members, pdf, pages in zip(groups, pdfs, maps, strict=True):
            task: list[Job] = []
            for (first, last), i in zip(pages, members, strict=True):
                where[i] = (str(pdf), first, last)
                task.append((str(folder / units[i].name), [where[i]]))
                names.append(units[i].name)
            tasks.append(task)
        # One model key has no keys.pdf to join.
        joined = ((False, "exams.pdf"), (True, "keys.pdf")) if keys_pdf else ((False, "exams.pdf"),)
        for answers, name in joined:
            combined: list[Span] = []
            count = 0
            for i in (i for i, u in enumerate(units) if u.answers == answers):
                if count % 2:  # each paper starts on an odd page, for duplex printing
                    combined.append(None)
                    count += 1
                combined.append(where[i])
                count += where[i][2] - where[i][1] + 1
            tasks.append([(str(folder / name), combined)])
            names.append(name)
        # Spread the tasks over the cores. Each task opens the documents it needs and reads
        # their streams only while it writes (pdfjoin), so memory stays small.
        workers = min(len(tasks), os.cpu_count() or 1)
        tasks.sort(key=lambda t: -sum(sp[2] - sp[1] + 1 for _, spans in t for sp in spans if sp))
        if workers > 1:
            with ProcessPoolExecutor(max_workers=workers, mp_context=self.context) as pool:
                list(pool.map(write_task, tasks))
        else:
            for task in tasks:
                write_task(task)
        self.pages = sum(b - a + 1 for pages in maps for a, b in pages)
        return names


def _located(
    exc: TypesetError,
    groups: list[list[int]],
    spans: list[tuple[tuple[int, int], ...]],
    units: list[Unit],
) -> TypesetError:
    # The document's index is the error's; its line falls in one unit's span.
    if exc.document is None:
        return exc
    members, doc_spans = groups[exc.document], spans[exc.document]
    for (first, last), i in zip(doc_spans, members, strict=True):
        if exc.line is not None and first <= exc.line <= last:
            unit = units[i]
            return exc.located(paper=unit.paper.folder or None, key=unit.answers)
    return exc


def _chunks(count_papers: int, count: int, count_keys: int | None = None) -> list[list[int]]:
    # Contiguous runs of papers, each paper with its key in the same document: documents
    # of one spec cost alike (they finish together), a key reuses its paper's figures,
    # and exams.pdf/keys.pdf read the documents in order, one at a time. The first
    # `count_keys` papers have keys (all by default; one, for a model key).
    keys = count_papers if count_keys is None else count_keys
    bounds = [round(g * count_papers / count) for g in range(count + 1)]
    return [
        list(range(a, b)) + list(range(count_papers + a, count_papers + min(b, keys)))
        for a, b in zip(bounds, bounds[1:], strict=False)
        if b > a
    ]


def write_task(task: list[Job]) -> None:
    """Write each job's pages (pdf, first, last; None a blank page) to its file.

    The papers cut from one document share its opened source; a combined file opens
    its sources itself (a task is either kind). A top-level function of plain data, so
    a spawned worker can run it too.
    """
    from ..pdfjoin import join  # pikepdf: only builds of many papers pay for it

    shared: dict[str, Any] | None = {} if len(task) > 1 else None
    try:
        for target, spans in task:
            join(spans, Path(target), readers=shared)
    finally:
        for source in (shared or {}).values():
            source.close()

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
- papers arrive a run at a time (`start`, `add`, `finish`): each paper's .tex files are
  written when it comes, each document when its papers are all in, and then they are
  let go, so a class of 500 is held a document at a time;
- a LaTeX error is located as data: the document's index (from `typeset_all`), the
  unit from the document's line spans (from `render_units`), the question from the
  .tex's question spans (from `typeset`).
"""

from __future__ import annotations

import math
import os
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from ..errors import EnvironmentProblem, TypesetError
from ..models import Exam, Package, Paper
from ..render import TexDocument, preamble, render, render_units
from ..scripts import LUALATEX_EXTRA_LINES, LUALATEX_MARK, NAMES_FILE, names_document, split_names
from ..typeset import ensure_format, overfull_lines, page_map, typeset_all
from . import paperpages
from .streaming import Streaming

if TYPE_CHECKING:  # the PDF library (pikepdf) loads only when a split needs it
    from ..pdfjoin import Job, Span

Progress = Callable[[str, int, int], None]
UNITS_PER_DOCUMENT = 40  # bounds a document's size (memory, a LaTeX error's reach)


@dataclass(frozen=True)
class Unit:
    """One PDF to make: a paper's exam (answers off) or its key (answers on)."""

    folder: str
    answers: bool

    @property
    def name(self) -> str:
        """The unit's PDF, relative to the output folder."""
        prefix = f"{self.folder}/" if self.folder else ""
        return f"{prefix}{'key' if self.answers else 'exam'}.pdf"


class LatexWriter(Streaming):
    """Writes each paper's exam and key (.tex and .pdf) and the combined PDFs.

    It takes the papers a run at a time (`start`, `add`, `finish`; `write` does all
    three): each paper's .tex files are written when it arrives, and each document as
    soon as its papers are all in, so a build holds a document's papers at most, not
    the class's.
    """

    name = "latex"

    def __init__(
        self,
        *,
        jobs: int | None = None,
        progress: Progress | None = None,
        student_keys: bool = True,
    ) -> None:
        self.jobs = jobs or os.cpu_count() or 1
        # A roster build without student keys typesets one model key (the first
        # student's, as key.pdf at the top) and leaves the numbers to the crib.
        self.student_keys = student_keys
        self.note = progress or (lambda stage, done, total: None)
        self.pages = 0
        # Lines set past the margin, by question: the most it runs over (pt) and how often.
        self.overfull: dict[str, tuple[float, int]] = {}

    def start(self, folder: Path, count: int) -> None:
        """Begin a build of `count` papers into `folder`."""
        self.folder, self.count = folder, count
        self.names: list[str] = []
        self.units: list[Unit] = []  # papers 0..count-1, then the keys
        self.waiting: dict[int, tuple[Exam, bool]] = {}  # units not yet in a document
        self.docs: list[Path] = []
        self.spans: list[tuple[tuple[int, int], ...]] = []
        self.plan: list[list[int]] = []  # the planned documents' units (_chunks)
        self.groups: list[list[int]] = []  # the documents' units, as rendered
        self.lualatex: set[int] = set()  # papers whose text pdflatex cannot set
        self.received = 0
        self.planned = 0  # planned documents rendered
        self.rendered = 0  # documents rendered
        self.pending: list[int] = []  # units of LuaLaTeX's papers, for its next document
        self.words: dict[str, str] = {}  # names and headers LuaLaTeX sets once, by key
        self.imaged: set[Path] = set()  # documents that place them as images
        self.model = False
        self.packages: tuple[Package, ...] = ()
        # On-paper exams: unit index -> (build, the paper's code), for their pages' QR codes.
        self.on_paper: dict[int, tuple[str, str]] = {}

    def add(self, papers: Sequence[Paper]) -> None:
        """Take the next papers, in order: their .tex files, then each complete document."""
        for paper in papers:
            i = self.received
            self.received += 1
            if i == 0:
                self._plan(paper)
            self._source(paper, i, answers=False)
            if not self.model:
                self._source(paper, self.count + i, answers=True)
            elif i == 0:  # the model key: the first paper's, at the top of the folder
                self._source(paper.model_copy(update={"folder": ""}), self.count, answers=True)
            self.note("render", self.received, self.count)
        if self.plan:
            self._render_ready()

    def finish(self) -> list[str]:
        """Typeset and cut the PDFs; return the names of every file written."""
        if self.received != self.count:
            raise ValueError(f"{self.received} papers added of {self.count}")
        if not self.plan:  # one paper: its exam.tex and key.tex are the documents
            return self.names + self._single(self.units, self.folder)
        from ..pdfjoin import Workers  # pikepdf: only builds of many papers pay for it

        # The PDF writers start while LaTeX runs, so their start-up costs nothing.
        self.workers = Workers(min(self.jobs, len(self.docs) + 1))
        try:
            pdfs = self._typeset(self.docs, self.groups, self.spans, self.units)
            return self.names + self._split(
                self.units, self.groups, self.docs, pdfs, self.folder, keys_pdf=not self.model
            )
        finally:
            self.workers.close()

    def _plan(self, first: Paper) -> None:
        # From the first paper: one model key or a key each, and the documents.
        n = self.count
        self.packages = first.exam.packages
        self.model = not self.student_keys and first.exam.candidate is not None
        keys = 1 if self.model else n
        self.units = [Unit("", False)] * n + [Unit("", True)] * keys  # each set by _source
        if n == 1 and not first.folder:
            return
        (self.folder / ".work").mkdir()
        # Whole rounds of documents, a round per core: three documents on two cores would
        # leave one core idle for the third.
        count = max(min(self.jobs, n), math.ceil((n + keys) / UNITS_PER_DOCUMENT))
        if count > self.jobs:
            count = min(n, math.ceil(count / self.jobs) * self.jobs)
        self.plan = _chunks(n, count, keys)

    def _source(self, paper: Paper, index: int, *, answers: bool) -> None:
        # A paper's own exam.tex or key.tex, and its unit, waiting for its document.
        target = self.folder / paper.folder if paper.folder else self.folder
        target.mkdir(parents=True, exist_ok=True)
        prefix = f"{paper.folder}/" if paper.folder else ""
        name = "key" if answers else "exam"
        text = render(paper.exam, answers=answers)
        (target / f"{name}.tex").write_text(text, "utf-8")
        # A name in Devanagari, say, is an image typeset once by LuaLaTeX (split_names);
        # a paper whose bank text needs LuaLaTeX is LuaLaTeX's, in a document of its own.
        if LUALATEX_MARK in text and split_names(text) is None:
            self.lualatex.add(index % self.count)  # a key's index is count + its paper's
        self.names.append(f"{prefix}{name}.tex")
        self.units[index] = Unit(paper.folder, answers)
        self.waiting[index] = (paper.exam, answers)
        exam = paper.exam
        if exam.on_paper and not answers:
            code = exam.candidate.id if exam.candidate else exam.variant
            self.on_paper[index] = (paperpages.build_id(exam.spec_name, exam.seed, exam.original), code)

    def _render_ready(self) -> None:
        # Render, in order, each planned document whose units have all arrived; forget
        # them. The papers of it whose bank text needs LuaLaTeX (each with its key) leave
        # it for LuaLaTeX documents of their own, of up to UNITS_PER_DOCUMENT units: such
        # a paper costs itself alone, and the rest keep pdflatex's cached format. (A name
        # in another script does not: it is an image, set once by LuaLaTeX, see _document.)
        while self.planned < len(self.plan) and all(i in self.waiting for i in self.plan[self.planned]):
            members = self.plan[self.planned]
            self.planned += 1
            latin = [i for i in members if i % self.count not in self.lualatex]
            if latin:
                self._document(latin)
            theirs = [i for i in members if i % self.count in self.lualatex]
            if self.pending and len(self.pending) + len(theirs) > UNITS_PER_DOCUMENT:
                self._document(self.pending, first=True)
                self.pending = []
            self.pending += theirs
        if self.planned == len(self.plan) and self.pending:
            self._document(self.pending, first=True)
            self.pending = []

    def _document(self, members: list[int], *, first: bool = False) -> None:
        # One document of these units; LuaLaTeX's `first`, to start before pdflatex's
        # (a LuaLaTeX run takes longest: it loads its preamble and fonts afresh).
        doc: TexDocument = render_units([self.waiting.pop(i) for i in members])
        path = self.folder / ".work" / f"doc{self.rendered:03d}.tex"
        self.rendered += 1
        text, spans = doc.text, doc.units
        split = split_names(text) if not first and LUALATEX_MARK in text else None
        if split is not None:  # pdflatex's, its names LuaLaTeX's images (qbnames.pdf)
            text, words = split
            self.words.update(words)
            self.imaged.add(path)
            spans = tuple((a - LUALATEX_EXTRA_LINES, b - LUALATEX_EXTRA_LINES) for a, b in spans)
        path.write_text(text, "utf-8")
        at = 0 if first else len(self.docs)
        self.docs.insert(at, path)
        self.groups.insert(at, members)
        self.spans.insert(at, spans)

    def _single(self, units: list[Unit], folder: Path) -> list[str]:
        # One paper: its own exam.tex and key.tex are the documents, a unit each.
        docs = [folder / "exam.tex", folder / "key.tex"]
        pdfs = self._typeset(docs, [[0], [1]], [((1, 10**9),), ((1, 10**9),)], units)
        self._pages(docs, pdfs, [[0], [1]], units, folder)
        for pdf, unit in zip(pdfs, units, strict=True):
            os.replace(pdf, folder / unit.name)
        self.pages = sum(b - a + 1 for doc in docs for a, b in page_map(doc))
        return [u.name for u in units]

    def _typeset(
        self,
        docs: list[Path],
        groups: list[list[int]],
        spans: list[tuple[tuple[int, int], ...]],
        units: list[Unit],
    ) -> list[Path]:
        fmt = ensure_format(preamble(self.packages))
        self.note("typeset", 0, len(docs))
        first, after = None, [i for i, doc in enumerate(docs) if doc in self.imaged]
        if after:
            first = self.folder / ".work" / f"{NAMES_FILE}.tex"
            first.write_text(names_document(self.words), "utf-8")
        try:
            pdfs = typeset_all(docs, fmt=fmt, jobs=self.jobs, first=first, after=after)
        except TypesetError as exc:
            raise _located(exc, groups, spans, units) from None
        for doc in docs:
            self._overfull(doc)
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
        self._pages(docs, pdfs, groups, units, folder)
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
        # Spread the tasks over the cores, in processes of their own (pdfjoin.Workers).
        try:
            self.workers.run(tasks)
        except RuntimeError as exc:  # a full disk, say
            raise EnvironmentProblem(str(exc), file=folder) from None
        self.pages = sum(b - a + 1 for pages in maps for a, b in pages)
        return names

    def _overfull(self, doc: Path) -> None:
        # What TeX's log says ran into the margin, placed in its question.
        try:
            log = doc.with_suffix(".log").read_text("utf-8", errors="replace")
            lines = doc.read_text("utf-8").splitlines()
        except OSError:
            return
        for qid, width, _line in overfull_lines(log, lines):
            most, count = self.overfull.get(qid, (0.0, 0))
            self.overfull[qid] = (max(most, width), count + 1)

    def _pages(
        self, docs: list[Path], pdfs: list[Path], groups: list[list[int]], units: list[Unit], folder: Path
    ) -> None:
        # On-paper exams: each page's QR code and corner marks, drawn into the document's
        # PDF before it is cut (so exam.pdf and exams.pdf have them alike), and where each
        # room fell into the paper's manifest.
        for doc, pdf, members in zip(docs, pdfs, groups, strict=True):
            mine = [i for i in members if i in self.on_paper]
            if not mine:
                continue
            spans = dict(zip(members, page_map(doc), strict=True))
            rooms = paperpages.read_rooms(doc.with_suffix(".rooms"))
            codes: dict[int, str] = {}
            for i in mine:
                build, code = self.on_paper[i]
                first, last = spans[i]
                codes.update(
                    {p: paperpages.page_code(build, code, p - first + 1) for p in range(first, last + 1)}
                )
                target = folder / units[i].folder if units[i].folder else folder
                pages = paperpages.page_records(rooms, first, last, paperpages.page_sizes(pdf, first, last))
                paperpages.add_pages(target / "manifest.json", build, pages)
            paperpages.stamp(pdf, codes)


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
            return exc.located(paper=unit.folder or None, key=unit.answers)
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

"""Stage 6: build papers and keys: assemble, render, typeset, split, write atomically.

Room: the build and output folders. Imports errors, models, bank, spec, roster, assemble,
render, typeset. One machinery serves one paper and a class of 500:

- every paper and every key is a *unit*; units are rendered into a few LaTeX
  documents (one per core, or more for big builds) and each document is typeset once,
  with the shared preamble loaded from a cached format;
- each document writes the first and last page of each unit to a `.map` file, and the
  PDF is split into each unit's PDF; `exams.pdf` and `keys.pdf` hold every paper,
  each starting on an odd page for duplex printing;
- everything is made in a staging folder inside the output folder and moved into place
  only when every file is good, so a failed or interrupted build leaves the previous
  good output untouched and no half-written file.
"""

from __future__ import annotations

import json
import math
import multiprocessing
import os
import re
import shutil
import tempfile
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ProcessPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .assemble import assemble, instantiate
from .bank import Bank
from .errors import InputError, TypesetError
from .frozen import thaw
from .models import Candidate, Exam, SectionInstance
from .pdfjoin import Span, join
from .render import preamble, render, render_document
from .roster import folder_for
from .spec import LoadedSpec
from .typeset import ensure_format, page_map, typeset, typeset_all

Progress = Callable[[str, int, int], None]
UNITS_PER_DOCUMENT = 40  # bounds a document's size (memory, a LaTeX error's reach)


@dataclass(frozen=True)
class Paper:
    """One paper to build and the folder (relative to the output) it goes to."""

    folder: str
    exam: Exam


@dataclass(frozen=True)
class BuildResult:
    """Where a build wrote its files, and what it put in them."""

    out: Path
    files: list[Path]
    manifest: dict[str, Any]
    papers: int
    pages: int
    seconds: float


def manifest_of(exam: Exam) -> dict[str, Any]:
    """Return the manifest of one paper: every question's number, seed, params, answers."""
    return {
        "spec": exam.spec_name,
        "seed": exam.seed,
        "variant": exam.variant or None,
        "candidate": exam.candidate.model_dump() if exam.candidate else None,
        "original": exam.original,
        "max_marks": exam.max_marks,
        "questions": [
            {
                "number": q.number,
                "id": q.id,
                "marks": q.marks,
                "seed": q.seed,
                "params": thaw(q.params),
                "answers": thaw(q.answers),
            }
            for q in exam.questions()
        ],
    }


@contextmanager
def staging(out: Path) -> Iterator[Path]:
    """Yield a temporary folder inside `out`; it is removed whatever happens."""
    try:
        out.mkdir(parents=True, exist_ok=True)
        _sweep_stale(out)
        tmp = Path(tempfile.mkdtemp(prefix=f".qbgen-build-{os.getpid()}-", dir=out))
    except OSError as exc:
        raise InputError(f"cannot write the output folder: {exc.strerror}", file=out) from None
    try:
        yield tmp
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def _sweep_stale(out: Path) -> None:
    # A build killed outright (SIGKILL, power loss) leaves its staging folder; the
    # published files were never touched. Remove folders whose process is gone.
    for old in out.glob(".qbgen-build-*"):
        m = re.match(r"\.qbgen-build-(\d+)-", old.name)
        if m is None:
            continue
        try:
            os.kill(int(m.group(1)), 0)
        except ProcessLookupError:
            shutil.rmtree(old, ignore_errors=True)
        except PermissionError:
            pass  # alive, someone else's


PAPER_FILES = ("exam.pdf", "key.pdf", "exam.tex", "key.tex", "manifest.json")


def previous_outputs(out: Path) -> set[str]:
    """The files the last build wrote into `out`, as its top manifest.json names them.

    Only qbgen's own file names, in folders that are one plain path component: a
    hand-edited or foreign manifest can never point the clean-up outside `out`.
    """
    try:
        old = json.loads((out / "manifest.json").read_text("utf-8"))
    except (OSError, ValueError):
        return set()
    if not isinstance(old, dict):
        return set()
    if "papers" not in old:
        return set(PAPER_FILES)
    names = {"exams.pdf", "keys.pdf", "manifest.json"}
    for paper in old["papers"] if isinstance(old["papers"], list) else []:
        folder = paper.get("folder") if isinstance(paper, dict) else None
        if isinstance(folder, str) and re.fullmatch(r"[^/\\.][^/\\]*", folder):
            names.update(f"{folder}/{f}" for f in PAPER_FILES)
    return names


def publish(tmp: Path, out: Path, names: list[str]) -> list[Path]:
    """Move finished files from `tmp` into `out`, each with an atomic rename.

    Then remove what the previous build in `out` wrote and this one did not (sets
    K..T after building 20 sets and then 10, a roster's departed students), so the
    folder never mixes two builds. Other files in `out` are left alone.
    """
    # Only a build (it writes the top manifest) replaces a build; a preview adds files.
    stale = previous_outputs(out) - set(names) if "manifest.json" in names else set()
    # Manifests go last: a reader that sees one sees the files it describes.
    ordered = sorted(names, key=lambda n: (n.endswith("manifest.json"), n.count("/"), n))
    placed = []
    for name in ordered:
        dest = out / name
        dest.parent.mkdir(parents=True, exist_ok=True)
        os.replace(tmp / name, dest)
        placed.append(dest)
    for name in sorted(stale):
        (out / name).unlink(missing_ok=True)
        if "/" in name:
            try:
                (out / name).parent.rmdir()  # only once empty: a user's own file keeps it
            except OSError:
                pass
    return placed


def keep_failed(tmp: Path, out: Path, exc: TypesetError) -> TypesetError:
    """Keep a failed document's .tex and .log under `out/failed/` and say so."""
    failed = out / "failed"
    shutil.rmtree(failed, ignore_errors=True)
    failed.mkdir(parents=True, exist_ok=True)
    src = Path(exc.file) if exc.file else None
    for f in tmp.glob("*"):
        if f.suffix in (".tex", ".log") and f.is_file():
            shutil.copy2(f, failed / f.name)
    name = src.name if src else "exam.tex"
    return TypesetError(exc.message, file=failed / name, line=exc.line)


def _chunks(count_papers: int, count: int) -> list[list[int]]:
    # Contiguous runs of papers, each paper with its key in the same document: documents
    # of one spec cost alike (they finish together), a key reuses its paper's pictures
    # (render_document typesets each distinct picture once per document), and
    # exams.pdf/keys.pdf read the documents in order, one at a time.
    bounds = [round(g * count_papers / count) for g in range(count + 1)]
    return [
        list(range(a, b)) + list(range(count_papers + a, count_papers + b))
        for a, b in zip(bounds, bounds[1:], strict=False)
        if b > a
    ]


def _paper_of_line(tex: Path, line: int | None) -> int | None:
    if not line:
        return None
    lines = tex.read_text("utf-8").splitlines()
    for i in range(min(line, len(lines)) - 1, -1, -1):
        m = re.match(r"^% qbgen: paper (\d+)", lines[i])
        if m:
            return int(m.group(1))
    return None


def build_papers(
    papers: list[Paper],
    out: Path,
    *,
    jobs: int | None = None,
    progress: Progress | None = None,
    extra: dict[str, Any] | None = None,
) -> BuildResult:
    """Typeset every paper and key in `papers` into `out`; see the module docstring."""
    started = time.monotonic()
    jobs = jobs or os.cpu_count() or 1
    single = len(papers) == 1 and not papers[0].folder  # one paper, no per-paper folder
    units = [(p, False) for p in papers] + [(p, True) for p in papers]
    note = progress or (lambda stage, done, total: None)
    with staging(out) as tmp:
        names: list[str] = []
        manifests = [manifest_of(p.exam) for p in papers]
        # Every folder gets its own standalone .tex and manifest (reproducible, readable).
        for i, p in enumerate(papers):
            folder = tmp / p.folder if p.folder else tmp
            folder.mkdir(parents=True, exist_ok=True)
            prefix = f"{p.folder}/" if p.folder else ""
            for name, answers in (("exam", False), ("key", True)):
                (folder / f"{name}.tex").write_text(render(p.exam, answers=answers), "utf-8")
                names.append(f"{prefix}{name}.tex")
            (folder / "manifest.json").write_text(json.dumps(manifests[i], indent=2) + "\n", "utf-8")
            names.append(f"{prefix}manifest.json")
            note("render", i + 1, len(papers))
        # The documents LaTeX actually runs on.
        work = tmp / ".work"
        work.mkdir()
        if single:  # the paper's own exam.tex and key.tex are the documents
            groups = [[0], [1]]
            docs = [tmp / "exam.tex", tmp / "key.tex"]
        else:
            count = max(min(jobs, len(papers)), math.ceil(len(units) / UNITS_PER_DOCUMENT))
            groups = _chunks(len(papers), count)
            docs = []
            for g, members in enumerate(groups):
                doc = work / f"doc{g:03d}.tex"
                doc.write_text(render_document([(units[i][0].exam, units[i][1]) for i in members]), "utf-8")
                docs.append(doc)
        fmt = ensure_format(preamble())
        note("typeset", 0, len(docs))
        try:
            pdfs = typeset_all(docs, fmt=fmt, jobs=jobs)
        except TypesetError as exc:
            paper_idx = _paper_of_line(Path(exc.file), exc.line) if exc.file else None
            if paper_idx is not None and not single and exc.file:
                g = int(Path(exc.file).stem[3:])
                unit = units[groups[g][paper_idx]]
                what = f"{'key' if unit[1] else 'paper'} {unit[0].folder}: "
                exc = TypesetError(what + exc.message, file=exc.file, line=exc.line)
            raise keep_failed(tmp if single else work, out, exc) from None
        note("typeset", len(docs), len(docs))
        pages = _split(units, groups, docs, pdfs, tmp, single, names)
        top = None
        if not single:
            top = {
                **(extra or {}),
                "papers": [{"folder": p.folder, **m} for p, m in zip(papers, manifests, strict=True)],
            }
            (tmp / "manifest.json").write_text(json.dumps(top, indent=2) + "\n", "utf-8")
            names.append("manifest.json")
        shutil.rmtree(out / "failed", ignore_errors=True)
        shutil.rmtree(work)
        files = publish(tmp, out, names)
    manifest = top if top is not None else manifests[0]
    return BuildResult(out, files, manifest, len(papers), pages, time.monotonic() - started)


def _split(
    units: list[tuple[Paper, bool]],
    groups: list[list[int]],
    docs: list[Path],
    pdfs: list[Path],
    tmp: Path,
    single: bool,
    names: list[str],
) -> int:
    if single:  # one unit per document: the document is the unit's PDF
        os.replace(pdfs[0], tmp / "exam.pdf")
        os.replace(pdfs[1], tmp / "key.pdf")
        names += ["exam.pdf", "key.pdf"]
        return sum(b - a + 1 for doc in docs for a, b in page_map(doc))
    maps = [page_map(doc) for doc in docs]
    # Tasks of (target file, its page spans (pdf, first, last)): one task per document
    # for the papers it holds (one parse of that PDF), one per combined file.
    where: dict[int, tuple[str, int, int]] = {}
    tasks: list[list[Job]] = []
    for members, pdf, spans in zip(groups, pdfs, maps, strict=True):
        task: list[Job] = []
        for (first, last), i in zip(spans, members, strict=True):
            where[i] = (str(pdf), first, last)
            paper, answers = units[i]
            name = f"{paper.folder}/{'key' if answers else 'exam'}.pdf"
            task.append((str(tmp / name), [(str(pdf), first, last)]))
            names.append(name)
        tasks.append(task)
    for answers, name in ((False, "exams.pdf"), (True, "keys.pdf")):
        spans: list[Span] = []
        count = 0
        for i in (i for i, (_, a) in enumerate(units) if a == answers):
            if count % 2:  # each paper starts on an odd page, for duplex printing
                spans.append(None)
                count += 1
            spans.append(where[i])
            count += where[i][2] - where[i][1] + 1
        tasks.append([(str(tmp / name), spans)])
        names.append(name)
    # Writing PDFs is pure-Python work: spread the tasks over the cores. Each task holds
    # one source document at a time (pdfjoin streams), so memory does not grow with
    # the number of papers.
    workers = min(len(tasks), os.cpu_count() or 1)
    tasks.sort(key=lambda t: -sum(b - a + 1 for _, spans in t for sp in spans if sp for _, a, b in [sp]))
    if workers > 1:
        ctx = multiprocessing.get_context("fork")
        with ProcessPoolExecutor(max_workers=workers, mp_context=ctx) as pool:
            list(pool.map(_write_task, tasks))
    else:
        for task in tasks:
            _write_task(task)
    return sum(b - a + 1 for spans in maps for a, b in spans)


Job = tuple[str, list[Span]]


def _write_task(task: list[Job]) -> None:
    """Write each job's pages (pdf, first, last; None a blank page) to its file.

    The papers cut from one document share its parsed reader; a combined file streams
    its sources one by one (a task is either kind).
    """
    shared: dict[str, Any] | None = {} if len(task) > 1 else None
    for target, spans in task:
        join(spans, Path(target), readers=shared)


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
) -> BuildResult:
    """Build one paper, K variants (A, B, ...) or one paper per student into `out`."""
    if variants is not None and roster is not None:
        raise InputError("give --variants or --roster, not both")
    if original and (variants or roster):
        raise InputError("--original reprints the paper's own numbers: one paper, no variants")
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
            papers.append(Paper(folder, assemble(loaded, bank, seed=seed, variant=c.id, candidate=c)))
            if progress:
                progress("assemble", i + 1, len(roster))
        extra = {"spec": loaded.name, "seed": loaded.spec.seed if seed is None else seed, "roster": True}
    elif variants:
        for i, label in enumerate(variant_labels(variants)):
            papers.append(Paper(label, assemble(loaded, bank, seed=seed, variant=label)))
            if progress:
                progress("assemble", i + 1, variants)
        extra = {
            "spec": loaded.name,
            "seed": loaded.spec.seed if seed is None else seed,
            "variants": variants,
        }
    else:
        papers.append(Paper("", assemble(loaded, bank, seed=seed, original=original)))
        extra = {}
    return build_papers(papers, out, jobs=jobs, progress=progress, extra=extra)


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


def preview(bank: Bank, ref: str, out: Path, *, seed: int | None = None) -> Path:
    """Typeset one question and its answer (the key's view) into `out/<id>.pdf`."""
    exam = preview_exam(bank, ref, seed)
    qid = exam.questions()[0].id
    with staging(out) as tmp:
        tex = tmp / f"{qid}.tex"
        tex.write_text(render(exam, answers=True), "utf-8")
        try:
            typeset(tex, fmt=ensure_format(preamble()))
        except TypesetError as exc:
            raise keep_failed(tmp, out, exc) from None
        shutil.rmtree(out / "failed", ignore_errors=True)
        return publish(tmp, out, [f"{qid}.pdf", f"{qid}.tex"])[0]

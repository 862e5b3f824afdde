"""Papers in several forms in one build, and a PDF per question for split sittings.

Room: the LaTeX writer's papers when they are not all alike. Imports errors, models,
pdfjoin and the LaTeX writer.

- `FormsWriter`: a roster build whose students' papers come in several forms (standard
  print, large print at 18 or 24 pt, `plan.in_form`). A form is its own preamble, so its
  own cached format and its own documents: one `LatexWriter` per form, each in a scratch
  folder whose paper folders are links to the build's, so every paper's files land where
  they always do. `exams.pdf` (and `keys.pdf`) are then joined in the roster's order,
  each paper from an odd page; the model key is the first student's, as ever.
- `PerQuestionWriter`: `q-NAME.pdf` beside each paper's `exam.pdf`, one per question
  (`plan.question_papers`: the paper with the other questions left out but counted), and
  `key-q-NAME.pdf` where the build gives that paper's key.
"""

from __future__ import annotations

import os
import re
import shutil
from collections.abc import Callable, Sequence
from pathlib import Path

from ..errors import EnvironmentProblem
from ..models import Paper
from ..pdfjoin import join_files
from .latex import LatexWriter
from .streaming import Streaming

SCRATCH = ".forms"  # inside the staging folder, gone before it is published


class FormsWriter(Streaming):
    """The LaTeX writer of a build whose papers come in several forms (`forms`, in order)."""

    name = "latex"

    def __init__(self, forms: Sequence[int], *, student_keys: bool = False, **options: object) -> None:
        self.forms = list(forms)  # each paper's large-print size (0: standard print)
        self.student_keys = student_keys
        self.writers = {f: LatexWriter(student_keys=student_keys, **options) for f in dict.fromkeys(forms)}  # type: ignore[arg-type]
        self.pages = 0
        self.overfull: dict[str, tuple[float, int]] = {}

    def start(self, folder: Path, count: int) -> None:
        """Begin a build of `count` papers into `folder`."""
        if count != len(self.forms):
            raise ValueError(f"{count} papers for {len(self.forms)} forms")
        self.folder = folder
        self.order: list[str] = []  # every paper's folder, in the build's order
        for form, writer in self.writers.items():
            (folder / SCRATCH / str(form)).mkdir(parents=True)
            writer.start(folder / SCRATCH / str(form), self.forms.count(form))

    def add(self, papers: Sequence[Paper]) -> None:
        """Give each paper to its form's writer, its folder linked into the build's."""
        for paper in papers:
            form = self.forms[len(self.order)]
            if paper.exam.large_print != form:
                raise ValueError(f"paper {paper.folder!r} is not in its planned form")
            (self.folder / paper.folder).mkdir(parents=True, exist_ok=True)
            (self.folder / SCRATCH / str(form) / paper.folder).symlink_to(
                Path("..", "..", paper.folder), target_is_directory=True
            )
            self.order.append(paper.folder)
            self.writers[form].add([paper])

    def finish(self) -> list[str]:
        """Typeset every form's papers, then join the combined PDFs; return every file's name."""
        names: list[str] = []
        model = self.forms[0]  # the model key is the first paper's
        for form, writer in self.writers.items():
            scratch = self.folder / SCRATCH / str(form)
            for name in writer.finish():
                if "/" in name:  # a paper's own file: already in its folder, through the link
                    names.append(name)
                elif form == model and name in ("key.pdf", "key.tex"):
                    os.replace(scratch / name, self.folder / name)
                    names.append(name)
                    if name == "key.pdf":
                        self.pages += _pages(self.folder / name)
            for qid, (most, count) in writer.overfull.items():
                old = self.overfull.get(qid, (0.0, 0))
                self.overfull[qid] = (max(old[0], most), old[1] + count)
        joined = [("exam.pdf", "exams.pdf")] + ([("key.pdf", "keys.pdf")] if self.student_keys else [])
        for each, name in joined:
            try:
                self.pages += join_files([self.folder / f / each for f in self.order], self.folder / name)
            except OSError as exc:  # a full disk, say
                raise EnvironmentProblem(f"cannot write {name}: {exc}", file=self.folder) from None
            names.append(name)
        shutil.rmtree(self.folder / SCRATCH, ignore_errors=True)
        return names


def _pages(pdf: Path) -> int:
    import pikepdf

    with pikepdf.open(pdf) as doc:
        return len(doc.pages)


def question_file(name: str) -> str:
    """The PDF of one question of a paper: `q-NAME.pdf` (`q-8a.pdf`), safe as a file name."""
    return f"q-{re.sub(r'[^A-Za-z0-9._-]+', '_', name).strip('._') or 'x'}.pdf"


class PerQuestionWriter(Streaming):
    """Writes a PDF per question beside each paper's exam.pdf (`q-NAME.pdf`), and its key's.

    `split(paper)` gives the question papers (`plan.question_papers`). Each paper's are
    typeset when it comes, by a LaTeX writer of their own (all of one form, one preamble).
    """

    name = "per-question"

    def __init__(
        self,
        split: Callable[[Paper], list[tuple[str, Paper]]],
        *,
        keys: bool = True,
        **options: object,
    ) -> None:
        self.split, self.keys, self.options = split, keys, options
        self.overfull: dict[str, tuple[float, int]] = {}

    def start(self, folder: Path, count: int) -> None:
        """Begin a build of `count` papers into `folder`."""
        self.folder = folder
        self.names: list[str] = []

    def add(self, papers: Sequence[Paper]) -> None:
        """Typeset each paper's questions, a PDF each, into the paper's folder."""
        for paper in papers:
            pieces = self.split(paper)
            scratch = self.folder / SCRATCH / "questions"
            shutil.rmtree(scratch, ignore_errors=True)
            scratch.mkdir(parents=True)
            # A roster's papers without keys of their own: the writer's one model key is left out.
            writer = LatexWriter(student_keys=self.keys, **self.options)  # type: ignore[arg-type]
            # The scratch folder's papers are named by their place, not the paper's folder.
            own = [p.model_copy(update={"folder": f"q{i:03d}"}) for i, (_, p) in enumerate(pieces)]
            writer.write(own, scratch)
            target = self.folder / paper.folder if paper.folder else self.folder
            prefix = f"{paper.folder}/" if paper.folder else ""
            for (name, _), piece in zip(pieces, own, strict=True):
                wanted = [("exam.pdf", question_file(name))]
                if self.keys:
                    wanted.append(("key.pdf", "key-" + question_file(name)))
                for made, as_name in wanted:
                    os.replace(scratch / piece.folder / made, target / as_name)
                    self.names.append(prefix + as_name)
            for qid, (most, count) in writer.overfull.items():
                old = self.overfull.get(qid, (0.0, 0))
                self.overfull[qid] = (max(old[0], most), old[1] + count)
            shutil.rmtree(scratch, ignore_errors=True)

    def finish(self) -> list[str]:
        """Return the names of every question PDF written."""
        shutil.rmtree(self.folder / SCRATCH, ignore_errors=True)
        return self.names

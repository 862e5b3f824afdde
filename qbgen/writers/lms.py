"""What the LMS writers share: each question (or part) of each set as LMS forms.

Room: gathering the papers' questions for an LMS, one group per question or part, with
their text fragments for one pandoc run; set codes; the report of what a target cannot
carry. Imports errors, kinds, models, html. The Moodle and QTI writers build on it.
"""

from __future__ import annotations

import re
import shutil
import zipfile
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from markupsafe import Markup

from ..html import Picture, extract_figures, figures_to_png, to_html
from ..kinds import KINDS
from ..kinds.base import LmsChoice, LmsForm, LmsWritten
from ..models import Paper, QuestionInstance

REPORT = "export-report.txt"  # what a target cannot carry, beside its files
WORK = ".work"  # where the figures are typeset, inside the staging folder


@dataclass
class Texts:
    """LaTeX fragments gathered for one pandoc run, then read back as HTML."""

    image_src: str  # where an <img> points, with {key}: the target's file reference
    tex: list[str] = field(default_factory=list)
    html: list[str] = field(default_factory=list)
    pictures: dict[str, Picture] = field(default_factory=dict)

    def add(self, tex: str) -> int:
        """Take one fragment; return its index."""
        self.tex.append(str(tex))
        self.pictures.update((p.key, p) for p in extract_figures(str(tex))[1])
        return len(self.tex) - 1

    def convert(self) -> None:
        """Convert every fragment taken so far (one pandoc run)."""

        def image(p: Picture) -> str:
            alt = p.alt.replace('"', "&quot;")
            return f'<img src="{self.image_src.format(key=p.key)}" alt="{alt}">'

        self.html = to_html(self.tex, image)

    def __getitem__(self, i: int) -> str:
        return self.html[i]


@dataclass
class Group:
    """One LMS question to be: a question or a part of one set, with its answers as LMS forms."""

    spec: str
    code: str  # the set's code: its variant letter, a student's id, or the seed
    number: str  # the item's name: the question's, or the part's, as the paper prints it
    label: str  # the part's letter within the bank question, "" for a whole question
    head: str  # the line the question text opens with: which set and question
    name: str
    idnumber: str
    where: str  # the bank question (and part) for the report: the same for every set
    marks: float
    text: list[int]  # fragments of the question text, in order
    forms: list[tuple[LmsForm, dict[str, int]]]  # each form, its fragments by role
    rubric: list[tuple[float, int]]
    steps: list[int]
    remarks: list[int]  # answers for the grader only (not asked)
    # Per asked answer, in order: how many of `forms` it gave, and if more than one (a
    # table's cells) the key's whole rendering of it, so a page can show it at once.
    answers: list[tuple[int, int | None]] = field(default_factory=list)

    @property
    def graded(self) -> list[tuple[LmsForm, dict[str, int]]]:
        """The forms an LMS scores itself: values and choices."""
        return [(f, r) for f, r in self.forms if not isinstance(f, LmsWritten)]

    @property
    def written(self) -> list[tuple[LmsForm, dict[str, int]]]:
        """The forms a person grades."""
        return [(f, r) for f, r in self.forms if isinstance(f, LmsWritten)]


def set_code(paper: Paper) -> str:
    """The code that names a set in an LMS: its letter, the student's id, or its seed."""
    exam = paper.exam
    if exam.candidate is not None:
        return exam.candidate.id
    return exam.variant or ("original" if exam.original else f"seed {exam.seed}")


def groups_of(paper: Paper, q: QuestionInstance, texts: Texts) -> list[Group]:
    """The LMS questions one paper's question becomes: itself, or one per part."""
    return question_groups(q, texts, paper.exam.spec_name, set_code(paper))


def question_groups(q: QuestionInstance, texts: Texts, spec: str, code: str) -> list[Group]:
    """The units of one question instance (itself, or one per part) with their texts in `texts`.

    A part's unit repeats the question's prompt first: an LMS shows each part alone.
    """
    # Each unit is named by its item's name, as the paper prints it and the sheets head it.
    units = [(q.prompt, q.own_answers, q.rubric, q.marks, "", q.number, ())]
    if q.parts:
        units = [(p.prompt, p.answers, p.rubric, p.marks, p.label, p.name, p.steps) for p in q.parts]
    groups = []
    for prompt, answers, rubric, marks, label, item, own_steps in units:
        text = [texts.add(q.prompt)] if label else []
        text.append(texts.add(prompt))
        forms = []
        per_answer: list[tuple[int, int | None]] = []
        for a in answers:
            if not a.asked:
                continue
            given = KINDS[a.kind].lms(a)
            per_answer.append((len(given), texts.add(KINDS[a.kind].html_key(a)) if len(given) > 1 else None))
            for form in given:
                roles = {"label": texts.add(form.label)}
                if isinstance(form, LmsChoice):
                    roles.update({f"option{i}": texts.add(o) for i, o in enumerate(form.options)})
                if isinstance(form, LmsWritten):
                    roles["model"] = texts.add(form.model)
                forms.append((form, roles))
        last = not label or label == q.parts[-1].label
        groups.append(
            Group(
                spec=spec,
                code=code,
                number=item,
                label=label,
                # The code may be a roster's id: untrusted, escaped by Markup.format.
                head=str(Markup("<p><small>Set {}, question {}</small></p>").format(code, item)),
                name=f"{code} {item} {q.id}",
                idnumber=f"{spec}:{code}:{item}",
                where=f"{q.id}{f' ({label})' if label else ''}",
                marks=marks,
                text=text,
                forms=forms,
                rubric=[(line.marks, texts.add(line.text)) for line in rubric],
                steps=[texts.add(s) for s in own_steps + (q.steps if last else ())],
                remarks=[texts.add(KINDS[a.kind].latex_key(a)) for a in answers if not a.asked],
                answers=per_answer,
            )
        )
    return groups


def gather(papers: Sequence[Paper], texts: Texts) -> dict[str, list[list[Group]]]:
    """Every paper's groups, by bank question id (in the first paper's order), one list per set."""
    by_id: dict[str, list[list[Group]]] = {}
    for paper in papers:
        for q in paper.exam.questions():
            by_id.setdefault(q.id, []).append(groups_of(paper, q, texts))
    return by_id


def para(html: str) -> str:
    """One paragraph of `html` (pandoc wraps a label in <p> already)."""
    inner = strip_p(html)
    return f"<p>{inner}</p>" if inner else ""


def strip_p(html: str) -> str:
    """`html` without the paragraph pandoc wraps a single line in."""
    html = html.strip()
    if html.startswith("<p>") and html.endswith("</p>") and html.count("<p>") == 1:
        return html[3:-4]
    return html


class LmsWriter:
    """The report every LMS writer keeps: what its target cannot carry, once per question."""

    name = "lms"
    image_src: str  # where an <img> points, with {key}: each target says

    def __init__(self, *, feedback: bool = False) -> None:
        self.feedback = feedback  # show students the worked steps after the attempt
        self._said: dict[str, None] = {}

    def write(self, papers: Sequence[Paper], folder: Path) -> list[str]:
        """Write this target's files for `papers` into `folder`; return their names."""
        raise NotImplementedError

    @property
    def report(self) -> list[str]:
        """What the target cannot carry faithfully, one line per question (or part)."""
        return list(self._said)

    def _say(self, g: Group, text: str) -> None:
        self._said[f"{g.where}: {text}"] = None

    def _start(
        self, papers: Sequence[Paper], folder: Path
    ) -> tuple[dict[str, list[list[Group]]], Texts, dict]:
        # Every group and its text as HTML (one pandoc run), the figures as PNGs in .work.
        texts = Texts(self.image_src)
        by_id = gather(papers, texts)
        texts.convert()
        return by_id, texts, figures_to_png(list(texts.pictures.values()), folder / WORK)

    def _finish(self, folder: Path, written: str) -> list[str]:
        # The figures' work folder goes; the report joins the target's file.
        shutil.rmtree(folder / WORK, ignore_errors=True)
        (folder / REPORT).write_text("".join(f"{line}\n" for line in self.report), "utf-8")
        return [written, REPORT]

    def _package(self, folder: Path, package: str, files: dict[str, bytes]) -> list[str]:
        # The zip: manifest first, fixed dates, so the same draws give the same bytes.
        with zipfile.ZipFile(folder / package, "w", zipfile.ZIP_DEFLATED) as z:
            for name in sorted(files, key=lambda n: (n != "imsmanifest.xml", n)):
                z.writestr(
                    zipfile.ZipInfo(name, date_time=(1980, 1, 1, 0, 0, 0)), files[name], zipfile.ZIP_DEFLATED
                )
        return self._finish(folder, package)


def safe(text: str) -> str:
    """A file name or identifier part: letters, digits, _ . - only."""
    return re.sub(r"[^A-Za-z0-9_.-]", "_", text)


__all__ = [
    "Group",
    "LmsWriter",
    "Texts",
    "gather",
    "groups_of",
    "question_groups",
    "REPORT",
    "para",
    "safe",
    "set_code",
    "strip_p",
]

"""What the LMS writers share: each question (or part) of each set as LMS forms.

Room: gathering the papers' questions for an LMS, one group per question or part, with
their text fragments converted together; set codes; the report of what a target cannot
carry; taking the papers a batch at a time. Imports errors, kinds, models, html,
writers.streaming. The Moodle, Canvas and QTI writers build on it.

An export streams: the papers come as they are assembled, and a writer converts a batch
of them (their distinct texts through pandoc, their new figures through pdflatex),
writes that batch's questions to files in its work folder and lets the batch go; at the
end it joins those files into its target's file. A class of 2,000 takes the memory of a
batch, and gives the same bytes as one batch would.

Untrusted text (a roster's id in a set code) reaches HTML only through `Markup.format`
or lxml, which escape it; the bank's text is trusted and comes from pandoc.
"""

from __future__ import annotations

import re
import shutil
import zipfile
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from lxml import html as lxml_html
from markupsafe import Markup

from ..html import Picture, extract_figures, figures_to_png, to_html
from ..kinds import KINDS
from ..kinds.base import LmsChoice, LmsForm, LmsWritten
from ..models import Paper, QuestionInstance
from .streaming import Streaming

REPORT = "export-report.txt"  # what a target cannot carry, beside its files
WORK = ".work"  # where the figures are typeset, inside the staging folder
HEAD = Markup("<p><small>Set {}, question {}</small></p>")  # what a question's text opens with


@dataclass
class Texts:
    """LaTeX fragments gathered to be converted together, then read back as HTML."""

    image_src: str  # where an <img> points, with {key}: the target's file reference
    # How the target sets one text in several languages ([(language, html)], primary
    # first); None: the primary language only.
    join: Callable[[list[tuple[str, str]]], str] | None = None
    tex: list[str] = field(default_factory=list)
    html: list[str] = field(default_factory=list)
    pictures: dict[str, Picture] = field(default_factory=dict)
    _index: dict[str, int] = field(default_factory=dict)  # each text's place: a text given twice is kept once
    # A text's translations: its index -> [(language, index)], the primary first.
    _versions: dict[int, list[tuple[str, int]]] = field(default_factory=dict)

    def add(self, tex: str) -> int:
        """Take one fragment; return its index."""
        tex = str(tex)
        if tex not in self._index:
            self._index[tex] = len(self.tex)
            self.tex.append(tex)
            self.pictures.update((p.key, p) for p in extract_figures(tex)[1])
        return self._index[tex]

    def convert(self) -> None:
        """Convert every fragment taken so far (each once, a few pandoc runs)."""

        def image(p: Picture) -> str:
            # Built by lxml: the alt text (a generator's words) is an attribute's value.
            img = lxml_html.Element("img", src=self.image_src.format(key=p.key), alt=p.alt)
            return lxml_html.tostring(img, encoding="unicode")

        self.html = to_html(self.tex, image)

    def __getitem__(self, i: int) -> str:
        if self.join is not None and i in self._versions:
            return self.join(self.languages(i))
        return self.html[i]

    def languages(self, i: int) -> list[tuple[str, str]]:
        """A text in every language of its paper, [(language, html)] ([("", html)]: one language)."""
        return [(lang, self.html[j]) for lang, j in self._versions.get(i, [("", i)])]

    def link(self, i: int, versions: list[tuple[str, int]]) -> None:
        """Record that text `i` is said in these languages (its own first)."""
        self._versions[i] = versions


class _Recorder:
    # Stands in for `Texts` while a translation's units are walked: keeps the texts in order.
    def __init__(self) -> None:
        self.tex: list[str] = []

    def add(self, tex: str) -> int:
        self.tex.append(str(tex))
        return 0


class _Linked:
    # Adds the primary language's texts to `texts`, each with its translations beside it:
    # a question is walked in the same order in every language.
    def __init__(self, texts: Texts, primary: str, others: list[tuple[str, list[str]]]) -> None:
        self.texts, self.primary, self.others, self.n = texts, primary, others, 0

    def add(self, tex: str) -> int:
        i = self.texts.add(tex)
        versions = [(self.primary, i)] + [(lang, self.texts.add(seq[self.n])) for lang, seq in self.others]
        self.n += 1
        if any(j != i for _, j in versions[1:]):
            self.texts.link(i, versions)
        return i


@dataclass
class Group:
    """One LMS question to be: a question or a part of one set, with its answers as LMS forms."""

    spec: str
    qid: str  # the bank question's id
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
    # table's cells) the key's whole rendering of it, so a page can show it at once. A
    # choice and the reason it asks for count as two answers of one form each.
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


def question_groups(q: QuestionInstance, texts: Texts | Any, spec: str, code: str) -> list[Group]:
    """The units of one question instance (itself, or one per part) with their texts in `texts`.

    A part's unit repeats the question's prompt first: an LMS shows each part alone.
    A question in several languages adds each text with its translations linked to it.
    """
    if q.translations and isinstance(texts, Texts):
        others = []
        for t in q.translations:
            recorder = _Recorder()
            question_groups(t, recorder, spec, code)
            others.append((t.language, recorder.tex))
        texts = _Linked(texts, q.language, others)
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
            if len(given) > 1 and not any(isinstance(f, LmsChoice) for f in given):
                per_answer.append((len(given), texts.add(KINDS[a.kind].html_key(a))))
            else:  # one form, or a choice and the reason it asks for: answers of their own
                per_answer += [(1, None)] * len(given)
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
                qid=q.id,
                code=code,
                number=item,
                label=label,
                # The code may be a roster's id: untrusted, escaped by Markup.format.
                head=str(HEAD.format(code, item)),
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


_BLOCK = re.compile(r"<(?:p|div|ul|ol|table|pre|blockquote|h[1-6]|figure|dl)\b")


def inline(label: str, after: str) -> str:
    """A label's HTML with `after` (an input, a blank) at its end: one paragraph, never nested.

    A label of one paragraph takes `after` inside it; a label of several keeps its blocks
    and `after` comes in a paragraph of its own.
    """
    inner = strip_p(label)
    if not _BLOCK.search(inner):
        return f"<p>{inner} {after}</p>" if inner else f"<p>{after}</p>"
    return f"<div>{inner}<p>{after}</p></div>"


def model_answer(label: str, model: str) -> str:
    """A written answer for graders: its label (if it asks something), then the model answer."""
    head = strip_p(label)
    return f"<div><p><strong>{head}</strong></p>{model}</div>" if head else f"<div>{model}</div>"


def split_marks(marks: float, counts: Sequence[int]) -> list[float]:
    """`marks` shared among pieces by their answer counts, in half marks, summing to `marks`.

    Each piece gets at least half a mark while the marks allow; the last takes what is left.
    """
    if len(counts) < 2:
        return [marks]
    if marks < 0.5 * len(counts):
        return [marks * c / sum(counts) for c in counts]
    out, left = [], marks
    for k, count in enumerate(counts[:-1]):
        rest = len(counts) - k - 1  # the pieces after this one, half a mark each at least
        share = min(max(round(2 * marks * count / sum(counts)) / 2, 0.5), left - 0.5 * rest)
        out.append(share)
        left -= share
    return [*out, left]


def strip_p(html: str) -> str:
    """`html` without the paragraph pandoc wraps a single line in."""
    html = html.strip()
    if html.startswith("<p>") and html.endswith("</p>") and html.count("<p>") == 1:
        return html[3:-4]
    return html


class LmsWriter(Streaming):
    """What every LMS writer does: take the papers a batch at a time, report what is lost.

    A target says how a batch's questions are written (`_take`, to files in the work
    folder) and how they are joined at the end (`_join`). `write(papers, folder)` is
    `start`, `add` and `finish`.
    """

    name = "lms"
    image_src: str  # where an <img> points, with {key}: each target says
    # Papers whose text is converted together: their distinct texts go to pandoc in runs
    # of bounded size, their new figures to one pdflatex run. Bigger batches convert a
    # little faster and hold more at once.
    BATCH = 100

    def __init__(self, *, feedback: bool = False) -> None:
        self.feedback = feedback  # show students the worked steps after the attempt
        self._said: dict[tuple[int, str], None] = {}  # (the question's place, the line)
        self._qids: dict[str, int] = {}  # each bank question's place: first seen, first said
        self._batch: list[Paper] = []
        self._folder = Path()
        self._pngs: dict[str, Path] = {}  # every figure so far, in the order first seen

    def start(self, folder: Path, count: int) -> None:
        """Begin an export of `count` papers into `folder`."""
        self._folder = folder
        self._batch, self._pngs = [], {}
        (folder / WORK).mkdir(parents=True, exist_ok=True)

    def add(self, papers: Sequence[Paper]) -> None:
        """Take the next papers, in order; a full batch is converted and written."""
        self._batch.extend(papers)
        if len(self._batch) >= self.BATCH:
            self._flush()

    def finish(self) -> list[str]:
        """Write the rest, join everything into the target's file; return the names written."""
        self._flush()
        return self._join(self._folder)

    @property
    def report(self) -> list[str]:
        """What the target cannot carry faithfully, one line per question (or part)."""
        return [line for _place, line in sorted(self._said, key=lambda k: k[0])]

    def _say(self, g: Group, text: str) -> None:
        # By bank question (in the order the papers first show them), then as said.
        self._said[(self._qids.get(g.qid, len(self._qids)), f"{g.where}: {text}")] = None

    def _flush(self) -> None:
        # The batch's groups and their text as HTML, its new figures as PNGs in .work;
        # the target writes them, and the batch goes.
        if not self._batch:
            return
        texts = Texts(self.image_src, self.join_languages)
        by_id = gather(self._batch, texts)
        self._batch = []
        for qid in by_id:
            self._qids.setdefault(qid, len(self._qids))
        texts.convert()
        new = [p for key, p in texts.pictures.items() if key not in self._pngs]
        self._pngs.update(figures_to_png(new, self._folder / WORK))
        # The batch's figures in the order first seen, as one batch of all would list them.
        pngs = {key: png for key, png in self._pngs.items() if key in texts.pictures}
        self._take(by_id, texts, pngs)

    # How the target sets a text in several languages ([(language, html)], primary first);
    # None: it carries the primary language only, and its report says so.
    join_languages: Callable[[list[tuple[str, str]]], str] | None = None

    def _take(self, by_id: dict[str, list[list[Group]]], texts: Texts, pngs: dict[str, Path]) -> None:
        # Write a batch's groups (by bank question, a list per set) to the work folder.
        raise NotImplementedError

    def _join(self, folder: Path) -> list[str]:
        # Join what `_take` wrote into the target's file(s); return the names.
        raise NotImplementedError

    def _spool(self, name: str) -> Path:
        # A file of the work folder for what a batch writes.
        return self._folder / WORK / name

    def _finish(self, folder: Path, written: str) -> list[str]:
        # The figures' work folder goes; the report joins the target's file.
        shutil.rmtree(folder / WORK, ignore_errors=True)
        (folder / REPORT).write_text("".join(f"{line}\n" for line in self.report), "utf-8")
        return [written, REPORT]

    def _package(self, folder: Path, package: str, files: dict[str, bytes | Path]) -> list[str]:
        # The zip: manifest first, fixed dates, so the same draws give the same bytes. A
        # file given as a Path is read from the work folder when its turn comes.
        with zipfile.ZipFile(folder / package, "w", zipfile.ZIP_DEFLATED) as z:
            for name in sorted(files, key=lambda n: (n != "imsmanifest.xml", n)):
                data = files[name]
                z.writestr(
                    zipfile.ZipInfo(name, date_time=(1980, 1, 1, 0, 0, 0)),
                    data.read_bytes() if isinstance(data, Path) else data,
                    zipfile.ZIP_DEFLATED,
                )
        return self._finish(folder, package)


_FIGURE_FILE = re.compile(r"figure-([0-9a-f]+)\.png")


def figures_in(html: str | bytes, pngs: dict[str, Path]) -> list[str]:
    """The keys of the figures of `pngs` that `html` shows, in the order of `pngs`."""
    text = html.decode() if isinstance(html, bytes) else html
    shown = set(_FIGURE_FILE.findall(text))
    return [key for key in pngs if key in shown] if shown else []


def safe(text: str) -> str:
    """A file name or identifier part: letters, digits, _ . - only."""
    return re.sub(r"[^A-Za-z0-9_.-]", "_", text)


__all__ = [
    "HEAD",
    "Group",
    "figures_in",
    "LmsWriter",
    "Texts",
    "gather",
    "groups_of",
    "inline",
    "model_answer",
    "split_marks",
    "question_groups",
    "REPORT",
    "para",
    "safe",
    "set_code",
    "strip_p",
]

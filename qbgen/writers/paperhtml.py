"""The accessible paper: each paper as one HTML page, for students who use a screen reader.

Room: `qbgen build --html`, an `exam.html` beside each paper's `exam.pdf`. The text goes
through the review site's conversion (`lms.question_groups`, pandoc), so the page says
what the PDF says with the same draw's numbers; a heading per question (h2) and per part
(h3) under the paper's one h1; the math rendered by the bundled KaTeX as HTML and MathML;
every figure an <img> with the generator's alt text (SVG in `figures/`). Nothing comes
from the network: `assets/` holds KaTeX and the page's style. Imports errors, models,
html, writers.lms, writers.site.
"""

from __future__ import annotations

import shutil
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from markupsafe import Markup

from ..errors import InputError
from ..html import figures_to_svg
from ..kinds.base import LmsChoice
from ..models import Exam, Paper
from .lms import Group, Texts, question_groups, strip_p
from .site import ASSETS, html_env
from .streaming import Streaming

FIGURES = "figures"
ASSET_FILES = ("paper.css", "paper.js", "katex/katex.min.js", "katex/katex.min.css", "katex/LICENSE")


@dataclass
class _Choice:
    label: Markup
    options: list[Markup]
    multiple: bool


@dataclass
class _Unit:
    number: str  # the item's name as the paper prints it
    marks: float | None
    prompt: Markup
    choices: list[_Choice] = field(default_factory=list)


@dataclass
class _Question:
    number: str
    marks: float
    prompt: Markup
    units: list[_Unit]


def _marks(m: float) -> str:
    return f"{m:g}"


class PaperHtmlWriter(Streaming):
    """Writes each paper's `exam.html`, and the figures and assets they share."""

    name = "html"

    def __init__(self) -> None:
        self.env = html_env(ASSETS)
        self.env.globals["marks"] = _marks

    def start(self, folder: Path, count: int) -> None:
        """Begin a build of `count` papers into `folder`."""
        self.folder = folder
        self.names: list[str] = []
        self.figures: set[str] = set()

    def add(self, papers: Sequence[Paper]) -> None:
        """Write the next papers' pages (one pandoc run for them all, their new figures)."""
        if not papers:
            return
        root = "../" if papers[0].folder else ""
        texts = Texts(f"{root}{FIGURES}/figure-{{key}}.svg")
        gathered = []
        for paper in papers:
            exam = paper.exam
            code = exam.candidate.id if exam.candidate else exam.variant or "paper"
            gathered.append([(q, question_groups(q, texts, exam.spec_name, code)) for q in exam.questions()])
        texts.convert()
        for problem in (p for p in texts.pictures.values() if not p.alt.strip()):
            raise InputError(
                f"figure {problem.key} has no alt text: an accessible paper says what every figure shows"
            )
        new = [p for key, p in texts.pictures.items() if key not in self.figures]
        for key, svg in figures_to_svg(new, self.folder / FIGURES).items():
            self.figures.add(key)
            self.names.append(f"{FIGURES}/{svg.name}")
        for paper, questions in zip(papers, gathered, strict=True):
            target = (self.folder / paper.folder if paper.folder else self.folder) / "exam.html"
            target.parent.mkdir(parents=True, exist_ok=True)
            page = self.env.get_template("paper.html.j2").render(
                exam=paper.exam,
                heading=_heading(paper.exam),
                lang=(paper.exam.languages or ("en",))[0],
                questions=[_question(q, groups, texts) for q, groups in questions],
                root=root,
            )
            target.write_text(page, "utf-8")
            self.names.append(f"{paper.folder}/exam.html" if paper.folder else "exam.html")

    def finish(self) -> list[str]:
        """Copy the assets; return the names of every file written."""
        if not self.names:
            return []
        names = list(self.names)
        fonts = sorted((ASSETS / "katex" / "fonts").glob("*.woff2"))
        for name in [*ASSET_FILES, *(f"katex/fonts/{f.name}" for f in fonts)]:
            target = self.folder / "assets" / name
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(ASSETS / name, target)
            names.append(f"assets/{name}")
        return names


def _heading(exam: Exam) -> str:
    return f"{exam.course}: {exam.title}" if exam.title else exam.course


def _question(q: Any, groups: list[Group], texts: Texts) -> _Question:
    # The question's own text first; each part after it (a part's group repeats the
    # question's prompt first: it is shown once).
    units = []
    for g in groups:
        choices = [
            _Choice(
                Markup(strip_p(texts[roles["label"]])),
                [Markup(strip_p(texts[roles[f"option{i}"]])) for i in range(len(form.options))],
                form.multiple,
            )
            for form, roles in g.forms
            if isinstance(form, LmsChoice)
        ]
        prompt = Markup(texts[g.text[-1]]) if g.label else Markup("")
        units.append(_Unit(g.number, g.marks if g.label else None, prompt, choices))
    return _Question(q.number, q.marks, Markup(texts[groups[0].text[0]]), units)


__all__ = ["PaperHtmlWriter"]

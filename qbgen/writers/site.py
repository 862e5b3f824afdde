"""The review site: every bank question as HTML, with draws, answers, steps and marks.

Room: a static site for colleagues without LaTeX, opened from disk (no network at view
time): `index.html` (every question, filtered by topic and tag in the page) and a page
per question under `questions/`. The text goes through the LMS writers' conversion
(`lms.question_groups`, each distinct text once); math is rendered in the page by the KaTeX bundled in
`assets/katex/`; figures are SVG. Imports errors, kinds, models, html, writers.lms.
"""

from __future__ import annotations

import json
import shutil
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import jinja2
from markupsafe import Markup

from ..html import figures_to_svg
from ..kinds.base import LmsChoice, LmsNumber, LmsWritten
from ..models import QuestionInstance, ReviewQuestion
from .lms import Group, Texts, question_groups, strip_p

ASSETS = Path(__file__).resolve().parent.parent / "site_assets"
FIGURES = "figures"
PAGES = "questions"
# The vendored KaTeX (its MIT licence beside it) and the site's own style and script.
ASSET_FILES = ("site.css", "site.js", "katex/katex.min.js", "katex/katex.min.css", "katex/LICENSE")


def html_env(folder: Path) -> jinja2.Environment:
    """Jinja for HTML pages from `folder`: autoescaped (untrusted text is text), strict, tidy."""
    return jinja2.Environment(
        loader=jinja2.FileSystemLoader(folder),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )


def page_name(qid: str) -> str:
    """The file of a question's page, relative to the site's folder."""
    return f"{PAGES}/{qid}.html"


def _number(x: float) -> str:
    return f"{x:.6g}"


@dataclass
class _Answer:
    # One answer as the page shows it; `form` is "number", "choice" or "written".
    form: str
    label: Markup
    value: str = ""
    low: str = ""
    high: str = ""
    unit: str = ""
    mistakes: list[tuple[str, str, bool]] = field(default_factory=list)  # name, value, rejected
    alternatives: list[tuple[str, str, str, str, str]] = field(
        default_factory=list
    )  # name, value, low, high, credit
    credit: str = ""  # a choice of several: how it earns its marks
    options: list[tuple[str, Markup, bool]] = field(default_factory=list)  # letter, text, correct
    multiple: bool = False
    model: Markup = Markup("")


@dataclass
class _Cells:
    # An answer of several values (a table): the key's rendering, then each value's line.
    form: str
    key: Markup
    cells: list[_Answer]


@dataclass
class _Unit:
    # The question itself, or one of its parts: prompt, answers, marking scheme.
    label: str
    marks: float
    prompt: Markup
    answers: list[_Answer | _Cells]
    remarks: list[Markup]
    rubric: list[tuple[float, Markup]]


@dataclass
class _Draw:
    title: str
    params: list[tuple[str, str]]
    prompt: Markup
    note: Markup
    units: list[_Unit]
    steps: list[Markup]


def _answer(form: Any, roles: dict[str, int], texts: Texts) -> _Answer:
    label = Markup(strip_p(texts[roles["label"]]))
    if isinstance(form, LmsNumber):
        return _Answer(
            "number",
            label,
            value=_number(form.value),
            low=_number(form.low),
            high=_number(form.high),
            unit=form.unit,
            mistakes=[
                (m.name, _number(m.value), not form.low <= m.value <= form.high)
                for m in form.scoring.mistakes
            ],
            alternatives=[
                (a.name, _number(a.value), _number(a.low), _number(a.high), f"{a.credit:.0%}")
                for a in form.scoring.alternatives
            ],
        )
    if isinstance(form, LmsChoice):
        options = [
            (chr(ord("A") + i), Markup(strip_p(texts[roles[f"option{i}"]])), i in form.correct)
            for i in range(len(form.options))
        ]
        credit = form.scoring.describe() if form.multiple else ""
        return _Answer("choice", label, options=options, multiple=form.multiple, credit=credit)
    assert isinstance(form, LmsWritten)
    return _Answer("written", label, model=Markup(texts[roles["model"]]))


class SiteWriter:
    """Writes the review site of some bank questions into a folder."""

    name = "site"

    def __init__(self, title: str) -> None:
        self.title = title
        self.env = html_env(ASSETS)

    def write(self, questions: Sequence[ReviewQuestion], folder: Path) -> list[str]:
        """Write the site for `questions` into `folder`; return its files' names."""
        texts = Texts(f"../{FIGURES}/figure-{{key}}.svg")
        gathered: list[list[tuple[QuestionInstance, list[Group], int]]] = []
        notes = [texts.add(rq.notes) for rq in questions]  # LaTeX too: math in the notes
        for rq in questions:
            per = []
            for inst in rq.draws:
                code = "original" if inst.seed is None else f"seed {inst.seed}"
                groups = question_groups(inst, texts, "site", code)
                per.append((inst, groups, texts.add(inst.key_note)))
            gathered.append(per)
        texts.convert()
        svgs = figures_to_svg(list(texts.pictures.values()), folder / FIGURES)
        names = [f"{FIGURES}/{p.name}" for p in svgs.values()]

        rows = []
        for rq, per, n in zip(questions, gathered, notes, strict=True):
            draws = [self._draw(inst, groups, note, texts) for inst, groups, note in per]
            page = page_name(rq.id)
            self._render(
                "question.html.j2", folder / page, q=rq, notes=Markup(texts[n]), draws=draws, root="../"
            )
            names.append(page)
            rows.append((rq, page))
        topics = sorted({rq.topic for rq in questions})
        tags = sorted({t for rq in questions for t in rq.tags})
        self._render(
            "index.html.j2", folder / "index.html", questions=rows, topics=topics, tags=tags, root=""
        )
        names.append("index.html")
        for name in ASSET_FILES:
            names.append(self._copy(name, folder))
        for font in sorted((ASSETS / "katex" / "fonts").glob("*.woff2")):
            names.append(self._copy(f"katex/fonts/{font.name}", folder))
        return names

    def _draw(self, inst: QuestionInstance, groups: list[Group], note: int, texts: Texts) -> _Draw:
        units = [
            _Unit(
                label=g.label,
                marks=g.marks,
                prompt=Markup(texts[g.text[-1]]) if g.label else Markup(""),
                answers=self._answers(g, texts),
                remarks=[Markup(texts[i]) for i in g.remarks],
                rubric=[(marks, Markup(strip_p(texts[i]))) for marks, i in g.rubric],
            )
            for g in groups
        ]
        steps = [Markup(texts[i]) for g in groups for i in g.steps]
        title = "The paper as set" if inst.seed is None else f"A new paper, seed {inst.seed}"
        params = [(k, json.dumps(v)) for k, v in inst.params.items()]
        return _Draw(
            title=title,
            params=params,
            prompt=Markup(texts[groups[0].text[0]]),
            note=Markup(texts[note]),
            units=units,
            steps=steps,
        )

    @staticmethod
    def _answers(g: Group, texts: Texts) -> list[_Answer | _Cells]:
        out: list[_Answer | _Cells] = []
        forms = iter(g.forms)
        for count, key in g.answers:
            mine = [_answer(form, roles, texts) for form, roles in (next(forms) for _ in range(count))]
            out.extend(mine if key is None else [_Cells("cells", Markup(texts[key]), mine)])
        return out

    def _render(self, template: str, target: Path, **context: Any) -> None:
        target.parent.mkdir(parents=True, exist_ok=True)
        html = self.env.get_template(template).render(title=self.title, **context)
        target.write_text(html, "utf-8")

    @staticmethod
    def _copy(name: str, folder: Path) -> str:
        target = folder / "assets" / name
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(ASSETS / name, target)
        return f"assets/{name}"


__all__ = ["SiteWriter", "html_env", "page_name"]

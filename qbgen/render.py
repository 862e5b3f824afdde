r"""Stage 4: render an assembled `Exam` into LaTeX source, with answers off or on.

Room: the document templates (`templates/<style>/paper.tex.j2`, a bank's own before the
shipped ones, so a bank's style may import the shipped common macros). Sees only an `Exam`;
imports errors, settings, models, kinds, latex, resources. The exam and its key come from the
same template and the same `Exam`, so they cannot drift apart; with answers off, no
answer text reaches the .tex at all (not merely hidden). What an answer prints is its
kind's (`latex_exam`, `latex_key`): this module never looks at a kind.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

import jinja2
from pylatex.utils import NoEscape

from .errors import InputError
from .kinds import AnswerInstance, handler
from .latex import make_env
from .models import Exam, Package
from .resources import styles, templates_dir
from .scripts import LUALATEX_EXTRA_LINES, PDFLATEX_FONTS, adapt, symbol_definitions
from .settings import settings

ROMAN = ["i", "ii", "iii", "iv", "v", "vi", "vii", "viii", "ix", "x"]


def marks_text(marks: float) -> str:
    """Print marks as the papers do: `2`, `1.5`."""
    return f"{marks:g}"


def exam_side(answers: tuple[AnswerInstance, ...], key: bool = False) -> NoEscape:
    """LaTeX the paper shows after a prompt for these answers (`key`: in the key)."""
    return NoEscape("".join(handler(a).latex_exam(a, key=key) for a in answers))


def key_side(answers: tuple[AnswerInstance, ...]) -> NoEscape:
    """LaTeX of these answers in the key."""
    return NoEscape("".join(handler(a).latex_key(a) for a in answers))


@cache
def _env(roots: tuple[str, ...]) -> jinja2.Environment:
    # The bank's own styles first, then the shipped: `common/...` resolves to qbgen's.
    env = make_env([*map(Path, roots), templates_dir()], cache=settings().cache_dir / "jinja")
    env.filters["marks"] = marks_text
    env.globals.update(exam_side=exam_side, key_side=key_side, roman=ROMAN)
    env.globals.update(fonts_block=NoEscape(PDFLATEX_FONTS), symbols_block=NoEscape(symbol_definitions()))
    return env


def package_lines(packages: Sequence[Package]) -> dict[str, NoEscape]:
    r"""The banks' extra packages for the preamble: options before the class, loads after qbgen's.

    Options go through `\PassOptionsToPackage` before `\documentclass`, so a package
    qbgen loads too (xcolor with `table`) takes them instead of clashing.
    """
    before = "".join(f"\\PassOptionsToPackage{{{p.options}}}{{{p.name}}}\n" for p in packages if p.options)
    after = "".join(f"\\usepackage{{{p.name}}}\n" for p in packages)
    return {"packages_before": NoEscape(before), "packages_after": NoEscape(after)}


def preamble(packages: Sequence[Package] = ()) -> str:
    """Return the shared preamble (the part dumped into the cached format)."""
    return _env(()).get_template("common/preamble.tex.j2").render(package_lines(packages))


@dataclass(frozen=True)
class TexDocument:
    """A rendered document and, for each paper in it, its first and last line (1-based)."""

    text: str
    units: tuple[tuple[int, int], ...]


def render_units(units: Sequence[tuple[Exam, bool]]) -> TexDocument:
    """Return one LaTeX document holding these papers, each (exam, answers on/off).

    Every paper starts on an odd page with its own page numbers; the document writes
    each paper's first and last page to `<jobname>.map` (see `typeset.page_map`). The
    document is rendered a paper at a time, so the lines of each are known as data.
    """
    if not units:
        raise ValueError("no papers to render")
    style = units[0][0].style
    if any(exam.style != style for exam, _ in units):
        raise ValueError("one document holds papers of one house style")
    first = units[0][0]
    roots = first.templates
    if not any((r / style / "paper.tex.j2").is_file() for r in [*map(Path, roots), templates_dir()]):
        raise InputError(f"no house style {style!r} (have: {', '.join(styles())})", field="style")
    env = _env(roots)
    doc: Any = env.get_template("common/document.tex.j2").make_module(
        {"style": env.get_template(f"{style}/paper.tex.j2")} | package_lines(first.packages)
    )
    pieces = [str(doc.head())]
    line = pieces[0].count("\n") + 1
    spans = []
    for i, (exam, answers) in enumerate(units):
        text = str(doc.unit(i, exam, answers))
        spans.append((line, line + text.count("\n") - 1))
        line += text.count("\n")
        pieces.append(text)
    pieces.append(str(doc.tail()))
    text = "".join(pieces)
    adapted = adapt(text)  # LuaLaTeX's font block where pdflatex cannot set the text
    if adapted is not text:
        shift = LUALATEX_EXTRA_LINES  # the block is in the head: every paper moves alike
        spans = [(first + shift, last + shift) for first, last in spans]
    return TexDocument(adapted, tuple(spans))


def render_document(units: Sequence[tuple[Exam, bool]]) -> str:
    """Return the LaTeX source of one document holding these papers (see `render_units`)."""
    return render_units(units).text


def render(exam: Exam, *, answers: bool) -> str:
    """Return the LaTeX source of the paper (answers off) or its key (answers on)."""
    return render_document([(exam, answers)])

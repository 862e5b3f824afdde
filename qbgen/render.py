r"""Stage 4: render an assembled `Exam` into LaTeX source, with answers off or on.

Room: the document templates (`templates/<style>/paper.tex.j2`, a bank's own before the
shipped ones, so a bank's style may import the shipped common macros). Sees only an `Exam`;
imports errors, settings, models, kinds, latex, resources. The exam and its key come from the
same template and the same `Exam`, so they cannot drift apart; with answers off, no
answer text reaches the .tex at all (not merely hidden). What an answer prints is its
kind's (`latex_exam`, `latex_key`): this module never looks at a kind.
"""

from __future__ import annotations

import math
import re
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
from .models import LARGE_PRINT_SIZES, Exam, Package, large_print_package
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


def bubbles(answers: tuple[AnswerInstance, ...], item: str) -> NoEscape:
    """LaTeX of the bubbles an answer-on-paper paper prints for these asked answers."""
    return NoEscape("".join(handler(a).latex_bubbles(a, item) for a in answers if a.asked))


def key_side(answers: tuple[AnswerInstance, ...]) -> NoEscape:
    """LaTeX of these answers in the key."""
    return NoEscape("".join(handler(a).latex_key(a) for a in answers))


def versions(item: Any) -> list[Any]:
    """A question (or part) in every language of its paper, the primary first."""
    return [item, *getattr(item, "translations", ())]


def part_versions(q: Any, index: int) -> list[Any]:
    """Part `index` of a question in every language of its paper."""
    return [v.parts[index] for v in versions(q)]


_PICTURE = re.compile(r"\\qbfigure\[|\\includegraphics|\\begin\{lstlisting\}")


_BREAK = re.compile(r"\s*\\\\(?:\s*\[[^\]]*\])?")


def _skip_group(text: str, i: int, open_: str, close: str) -> int:
    # The end of the balanced group opening at text[i] (a backslash escapes what follows).
    depth = 0
    while i < len(text):
        if text[i] == "\\":
            i += 2
            continue
        if text[i] == open_:
            depth += 1
        elif text[i] == close:
            depth -= 1
            if depth == 0:
                return i + 1
        i += 1
    return len(text)


def _without_pictures(tex: str) -> str:
    # `tex` without its figures (\qbfigure[ALT]{KEY}{TIKZ}), included graphics and listings.
    out, i = [], 0
    while (m := _PICTURE.search(tex, i)) is not None:
        out.append(tex[i : m.start()])
        j = m.end()
        if m.group().startswith("\\begin"):
            end = tex.find("\\end{lstlisting}", j)
            i = len(tex) if end < 0 else end + len("\\end{lstlisting}")
            continue
        if m.group().startswith("\\qbfigure"):
            j = _skip_group(tex, j - 1, "[", "]")
            groups = 2
        else:
            j = _skip_group(tex, j, "[", "]") if tex[j : j + 1] == "[" else j
            groups = 1
        for _ in range(groups):
            while j < len(tex) and tex[j].isspace():
                j += 1
            if tex[j : j + 1] == "{":
                j = _skip_group(tex, j, "{", "}")
        # A line break that followed the picture would now end no line (`\\[2pt]`): it goes too.
        if (brk := _BREAK.match(tex, j)) is not None:
            j = brk.end()
        i = j
    out.append(tex[i:])
    return "".join(out)


def _words(tex: str) -> str:
    # What a text says in words: its letters, commands and their names dropped.
    return "".join(ch for ch in re.sub(r"\\[A-Za-z@]+", " ", tex) if ch.isalpha())


def said(texts: Sequence[str], layout: str = "parallel") -> NoEscape:
    r"""One text in each language of the paper, set as the layout says.

    One language: the text as it is. `parallel`: each after the one before, a small
    skip between; `columns`: side by side, a top-aligned minipage each (the
    language's own line breaks and displays inside it).
    """
    if len(texts) == 1:
        return NoEscape(texts[0])
    if layout == "parallel":
        # The pictures and program text of a translation are the primary's (proved): one
        # copy on the page, beside the first language; a translation that then says nothing
        # more than the first (a picture option, `{en: ReLU, hi: ReLU}`) is left out.
        first = _words(_without_pictures(texts[0]))
        rest = [_without_pictures(t) for t in texts[1:]]
        texts = [texts[0]] + [t for t in rest if _words(t) and _words(t) != first]
        if len(texts) == 1:
            return NoEscape(texts[0])
    if layout == "columns":
        n = len(texts)
        width = f"\\dimexpr(\\linewidth-{1.5 * (n - 1):g}em)/{n}\\relax"
        boxes = "\\hfill".join(
            f"\\begin{{minipage}}[t]{{{width}}}\\raggedright\n{t}\n\\end{{minipage}}" for t in texts
        )
        return NoEscape(f"{boxes}\\par")
    return NoEscape("\n\\par\\smallskip\n".join(texts))


@cache
def _env(roots: tuple[str, ...]) -> jinja2.Environment:
    # The bank's own styles first, then the shipped: `common/...` resolves to qbgen's.
    env = make_env([*map(Path, roots), templates_dir()], cache=settings().cache_dir / "jinja")
    env.filters["marks"] = marks_text
    # An item's name as TeX writes it to the rooms file: hex, so no name's characters
    # are TeX's (writers.paperpages reads it back).
    env.filters["room_id"] = lambda name: NoEscape(str(name).encode().hex())
    env.globals.update(exam_side=exam_side, key_side=key_side, bubbles=bubbles, roman=ROMAN)
    env.globals.update(versions=versions, part_versions=part_versions, said=said)
    env.filters.update(exam_side=exam_side, key_side=key_side)
    env.globals.update(fonts_block=NoEscape(PDFLATEX_FONTS), symbols_block=NoEscape(symbol_definitions()))
    return env


def package_lines(packages: Sequence[Package]) -> dict[str, Any]:
    r"""The banks' extra packages for the preamble: options before the class, loads after qbgen's.

    A large-print paper's package (`models.large_print_package`) is not among them: it
    turns on the preamble's large-print block (`large_print`, the body size in pt).

    Options go through `\PassOptionsToPackage` before `\documentclass`, so a package
    qbgen loads too (xcolor with `table`) takes them instead of clashing.
    """
    sizes = [size for size in LARGE_PRINT_SIZES if large_print_package(size) in packages]
    packages = [p for p in packages if p not in map(large_print_package, sizes)]
    before = "".join(f"\\PassOptionsToPackage{{{p.options}}}{{{p.name}}}\n" for p in packages if p.options)
    after = "".join(f"\\usepackage{{{p.name}}}\n" for p in packages)
    out: dict[str, Any] = {"packages_before": NoEscape(before), "packages_after": NoEscape(after)}
    if sizes:  # a large-print paper (`models.large_print_package`): the preamble's own block
        # As TeX's digits, not numbers (the templates print a number as math).
        root = round(100 * math.sqrt(sizes[0] / 11))  # lines: as much further apart as more
        out.update(large_print=NoEscape(str(sizes[0])), large_print_root=NoEscape(str(root)))
    return out


def preamble(packages: Sequence[Package] = ()) -> str:
    """Return the shared preamble (the part dumped into the cached format)."""
    return _env(()).get_template("common/preamble.tex.j2").render(package_lines(packages))


@dataclass(frozen=True)
class TexDocument:
    """A rendered document and, for each paper in it, its first and last line (1-based)."""

    text: str
    units: tuple[tuple[int, int], ...]


def render_units(units: Sequence[tuple[Exam, bool]], *, duplex: bool = True) -> TexDocument:
    """Return one LaTeX document holding these papers, each (exam, answers on/off).

    Every paper starts on an odd page (`duplex`: for double-sided printing; else on the
    next page) with its own page numbers; the document writes
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
    try:
        pieces, spans = _pieces(_env(roots), style, units, duplex)
    except Exception as exc:
        error = _style_error(exc, style, roots)
        if error is None:
            raise  # nothing of a bank's style at fault: qbgen's own bug, with its traceback
        raise error from None
    text = "".join(pieces)
    adapted = adapt(text)  # LuaLaTeX's font block where pdflatex cannot set the text
    if adapted is not text:
        shift = LUALATEX_EXTRA_LINES  # the block is in the head: every paper moves alike
        spans = [(first + shift, last + shift) for first, last in spans]
    return TexDocument(adapted, tuple(spans))


def _pieces(
    env: jinja2.Environment, style: str, units: Sequence[tuple[Exam, bool]], duplex: bool
) -> tuple[list[str], list[tuple[int, int]]]:
    # The document's head, each paper's text and its first and last line, its tail.
    template = env.get_template(f"{style}/paper.tex.j2")
    missing = [m for m in _MACROS if not callable(getattr(template.module, m, None))]
    if missing:  # said here, not as Jinja's "TemplateModule object has no attribute"
        raise InputError(
            f"house style {style!r} defines no {' and no '.join(_MACROS[m] for m in missing)}: "
            f"a style's paper.tex.j2 defines the macros {' and '.join(_MACROS.values())}",
            file=template.filename,
        )
    doc: Any = env.get_template("common/document.tex.j2").make_module(
        {"style": template, "duplex": duplex} | package_lines(units[0][0].packages)
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
    return pieces, spans


_MACROS = {"setup": "setup()", "paper": "paper(exam, answers)"}  # what common/document.tex.j2 calls


def _style_error(exc: Exception, style: str, roots: Sequence[str]) -> InputError | None:
    """The one line of a failure in a bank's own house style, at its file and line.

    None when the failure is not the style's: no frame of it in a bank's style folder,
    or it was raised inside qbgen's code that a style called, or (not a Jinja error)
    inside qbgen's shipped templates. A template a style includes from outside the style
    folders (`../../etc/passwd`) is refused by Jinja's loader; it is named here as the
    style's fault, not as a file the output could not take (TemplateNotFound is an OSError).
    """
    if isinstance(exc, InputError):
        return exc
    own = [Path(r).resolve() for r in roots]

    def in_bank(filename: str | None) -> bool:
        return filename is not None and any(Path(filename).resolve().is_relative_to(r) for r in own)

    if isinstance(exc, jinja2.TemplateSyntaxError):  # its place is data, not a frame
        if not in_bank(exc.filename):
            return None
        return InputError(
            f"house style {style!r}: template syntax: {exc.message}", file=exc.filename, line=exc.lineno
        )
    frames = _frames(exc)
    templates = [i for i, (_, _, template) in enumerate(frames) if template]
    theirs = [frames[i] for i in templates if in_bank(frames[i][0])]
    if not theirs:
        return None
    # Python the innermost template called: a filter or global of qbgen's refusing what the
    # style gave it (`"x"|marks`) is the style's fault; a failure deeper in qbgen, a bug.
    below = frames[templates[-1] + 1 :]
    if sum(_QBGEN in Path(f).resolve().parents for f, _, _ in below) > 1:
        return None
    if not in_bank(frames[templates[-1]][0]) and not isinstance(exc, jinja2.TemplateError):
        return None
    if isinstance(exc, jinja2.TemplateNotFound):
        what = (
            f"includes {exc.name!r}, which is not a template in the style folders "
            "(a style reads only templates of its bank's templates/ and qbgen's common/)"
        )
    elif isinstance(exc, jinja2.TemplateError) and exc.message:
        what = exc.message
    else:
        what = f"{type(exc).__name__}: {exc}"
    file, line, _ = theirs[-1]
    return InputError(f"house style {style!r} failed: {what}", file=file, line=line)


def _frames(exc: BaseException) -> list[tuple[str, int | None, bool]]:
    # (file, line, is a template) of each frame, outermost first. A template's macro
    # called from Python runs its compiled code unrewritten by Jinja: its line is the
    # generated module's, mapped back here to the template's own.
    out: list[tuple[str, int | None, bool]] = []
    tb = exc.__traceback__
    while tb is not None:
        template = tb.tb_frame.f_globals.get("__jinja_template__")
        if isinstance(template, jinja2.Template) and template.filename:
            out.append((template.filename, template.get_corresponding_lineno(tb.tb_lineno), True))
        else:
            out.append((tb.tb_frame.f_code.co_filename, tb.tb_lineno, False))
        tb = tb.tb_next
    return out


_QBGEN = Path(__file__).resolve().parent


def render_document(units: Sequence[tuple[Exam, bool]], *, duplex: bool = True) -> str:
    """Return the LaTeX source of one document holding these papers (see `render_units`)."""
    return render_units(units, duplex=duplex).text


def render(exam: Exam, *, answers: bool) -> str:
    """Return the LaTeX source of the paper (answers off) or its key (answers on)."""
    return render_document([(exam, answers)])

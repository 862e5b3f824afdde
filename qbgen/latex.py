r"""LaTeX text helpers: escaping, number formatting and the Jinja environment.

Room: pure string functions and the Jinja2 environment factory shared by question
text and document templates. Imports only `errors`.

- Plain `str` values are escaped (pylatex's `escape_latex`, newlines folded first, and
  `^` / `~` spelled so they print literally); trusted LaTeX is wrapped in `NoEscape`.
- Numbers never go through `str()`: `fmt` gives a real minus, `\\times 10^{k}` and a
  set number of significant figures, grouped thousands for integers.
- The Jinja environment uses LaTeX-safe delimiters (`\\VAR{}`, `\\BLOCK{}`, `\\#{}`),
  strict undefined variables, and a `finalize` hook that refuses `None` and `bool`.
- `Tex` is the model field type of trusted LaTeX: it takes only `NoEscape` (set once,
  when the bank's text is rendered), never a plain `str`, so header strings, names and
  ids cannot become markup by accident.
- A `Figure` (a TikZ picture a generator draws) prints as `\\qbfigure[ALT]{KEY}{...}`: the
  preamble's macro typesets each distinct picture once per document and reuses its box
  (a paper and its key show the same figures). Rendering records the figures it printed
  (`collect_figures`), so nothing has to look for them in the text afterwards.
"""

from __future__ import annotations

import hashlib
import math
from collections.abc import Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field
from pathlib import Path
from typing import Annotated, Any

import jinja2
from pydantic import PlainValidator
from pylatex.utils import NoEscape, escape_latex

from .scripts import literal, mark_names

__all__ = [
    "Figure",
    "NoEscape",
    "Tex",
    "collect_figures",
    "escape",
    "fmt",
    "make_env",
    "text_template",
    "listing",
    "marks",
    "polyline",
    "verb",
]


def _trusted(value: Any) -> NoEscape:
    if not isinstance(value, NoEscape):
        raise ValueError(f"expected trusted LaTeX (NoEscape), got {type(value).__name__}")
    return value


# Trusted LaTeX in a model: only a `NoEscape` passes; a plain `str` is refused.
Tex = Annotated[NoEscape, PlainValidator(_trusted)]


@dataclass(frozen=True)
class Figure:
    """A picture a generator draws (TikZ), typeset once per document and reused."""

    tikz: str
    alt: str = ""
    key: str = field(init=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "key", hashlib.sha1(self.tikz.encode()).hexdigest()[:12])

    def latex(self) -> NoEscape:
        """Return the LaTeX that typesets (or reuses) this picture."""
        return NoEscape(rf"\qbfigure[{{{escape(self.alt)}}}]{{{self.key}}}{{{self.tikz}}}")


_FIGURES: ContextVar[list[Figure] | None] = ContextVar("qbgen_figures", default=None)


@contextmanager
def collect_figures() -> Iterator[list[Figure]]:
    """Yield a list that receives every `Figure` the templates print meanwhile."""
    found: list[Figure] = []
    token = _FIGURES.set(found)
    try:
        yield found
    finally:
        _FIGURES.reset(token)


_LITERAL = {
    "`": r"\textasciigrave{}",
    "'": r"\textquotesingle{}",
    "<": "{<}",
    ">": "{>}",
    ",": "{,}",
}


def escape(text: str) -> NoEscape:
    """Escape a plain string so that it prints literally, on one line."""
    text = " ".join(str(text).split())
    out = escape_latex(text).replace(r"\^{}", r"\textasciicircum{}")  # \^{} is an accent
    # T1 fonts turn ` and ' into curly quotes and <<, >>, ,, into guillemets and low
    # quotes; spell them so each prints as typed.
    return NoEscape("".join(_LITERAL.get(ch) or literal(ch) or ch for ch in out))


def _group(n: int) -> str:
    s = f"{abs(n):,}".replace(",", "{,}")
    return ("-" if n < 0 else "") + s


def fmt(
    value: Any, sig: int | None = None, *, decimals: int | None = None, zeros: bool | None = None
) -> NoEscape:
    r"""Format a number as LaTeX (math-safe in text and math mode).

    Integers print exactly with grouped thousands (`1{,}024{,}000`). Floats print with
    `sig` significant figures (default 4) or a fixed number of `decimals`. One rule for
    every number a key prints: a value that `sig` figures hold exactly prints exactly
    (0.35, 0.5), a rounded one keeps its trailing zeros (0.5250, so the figures say it
    was rounded). `zeros=True` always keeps them, `zeros=False` always drops them.
    Magnitudes below 1e-3 or from 1e6 use `a \\times 10^{k}`.
    """
    if isinstance(value, bool) or value is None:
        raise TypeError(f"not a number: {value!r}")
    if hasattr(value, "item"):  # NumPy scalar
        value = value.item()
    if isinstance(value, int):
        return NoEscape(r"\ensuremath{" + _group(value) + "}")
    if not isinstance(value, float):
        raise TypeError(f"not a number: {value!r}")
    if not math.isfinite(value):
        raise ValueError(f"not a finite number: {value!r}")
    if decimals is not None:
        body = f"{value:.{decimals}f}"
        if body.startswith("-") and float(body) == 0:
            body = body[1:]
        return NoEscape(r"\ensuremath{" + body + "}")
    sig = sig or 4
    if value == 0:
        return NoEscape(r"\ensuremath{0}")
    if zeros is None:  # keep the zeros of a rounded value, not of an exact one
        zeros = not math.isclose(float(f"{value:.{sig}g}"), value, rel_tol=1e-12)
    alt = "#" if zeros else ""
    mag = abs(value)
    if 1e-3 <= mag < 1e6:
        body = f"{value:{alt}.{sig}g}".rstrip(".")
        if "e" in body:  # .g switches to exponent form near 10**sig
            body = f"{value:.{max(sig - 1 - int(math.floor(math.log10(mag))), 0)}f}"
    else:
        mant, exp = f"{value:.{sig - 1}e}".split("e")
        mant = mant.rstrip("0").rstrip(".") if "." in mant and not alt else mant
        body = f"{mant}\\times 10^{{{int(exp)}}}"
    return NoEscape(r"\ensuremath{" + body + "}")


LISTING_SIZES = ("small", "footnotesize", "scriptsize")


def listing(code: str, language: str = "Python", size: str = "") -> NoEscape:
    """Typeset program text verbatim (listings), as trusted LaTeX.

    `size` (small, footnotesize, scriptsize) sets a smaller type for long lines that a
    source paper prints as they are.
    """
    code = code.strip("\n")
    if r"\end{lstlisting}" in code:
        raise ValueError("program text may not contain \\end{lstlisting}")
    if size and size not in LISTING_SIZES:
        raise ValueError(f"listing size must be one of {', '.join(LISTING_SIZES)}, not {size!r}")
    opts = [f"language={language}"] if language else []
    if size:
        opts.append(f"basicstyle=\\ttfamily\\{size}")
    lang = f"[{','.join(opts)}]" if opts else ""
    return NoEscape(f"\\begin{{lstlisting}}{lang}\n{code}\n\\end{{lstlisting}}\n")


def verb(text: str) -> NoEscape:
    """Typeset a short string in typewriter type, literally."""
    return NoEscape(r"\texttt{" + escape(text) + "}")


# PDF's unit is the big point: 72 a inch, so 72/2.54 a centimetre and 72/72.27 a TeX pt.
_BP_PER_CM = 72 / 2.54
_BP_PER_PT = 72 / 72.27
MARKS = ("dot", "cross", "ring")
_KAPPA = 0.5523  # a quarter circle as one Bezier curve: control points at kappa * r


def _xy(points: Iterable[Sequence[float]], unit: float) -> list[tuple[float, float]]:
    # Each point in bp, to the hundredth that is printed (so what is computed from a
    # point starts from the place the PDF draws it).
    k = unit * _BP_PER_CM
    return [(round(x * k, 2), round(y * k, 2)) for x, y in points]


def _ops(*values: float) -> str:
    return " ".join(f"{v:.2f}" for v in values)


def marks(
    points: Iterable[Sequence[float]],
    *,
    unit: float,
    mark: str = "dot",
    size: float = 1.3,
    gray: float = 0.0,
    line: float = 0.6,
) -> NoEscape:
    r"""Draw `mark` at each point, for a TikZ picture: one `\qbdraw{...}` of PDF operators.

    `points` are in the picture's units, `unit` centimetres each (its `x=` and `y=`; the
    picture must not be scaled or rotated, which a literal does not follow). `size` is
    a dot's or a ring's radius or a cross's half-width, `line` the stroke of a cross or
    a ring, both in pt; `gray` runs from 0 (black) to 1 (white). TikZ parses every mark of a path (about a
    millisecond each, most of a scatter plot's cost); these operators cost TeX next to
    nothing. A dot is a zero-length line with round caps, which the PDF reference
    paints as a filled circle. The marks do not count towards the picture's bounding box.
    """
    if mark not in MARKS:
        raise ValueError(f"mark must be one of {', '.join(MARKS)}, not {mark!r}")
    xy = _xy(points, unit)
    g = f"{gray:.3g}"
    if mark == "dot":
        ops = [f"q {g} G 1 J {2 * size * _BP_PER_PT:.2f} w"] + [
            f"{_ops(x, y)} m {_ops(x, y)} l" for x, y in xy
        ]
    elif mark == "ring":
        r = size * _BP_PER_PT
        k = r * _KAPPA
        ops = [f"q {g} G {line * _BP_PER_PT:.2f} w"]
        for x, y in xy:
            ops.append(
                f"{_ops(x + r, y)} m "
                f"{_ops(x + r, y + k, x + k, y + r, x, y + r)} c "
                f"{_ops(x - k, y + r, x - r, y + k, x - r, y)} c "
                f"{_ops(x - r, y - k, x - k, y - r, x, y - r)} c "
                f"{_ops(x + k, y - r, x + r, y - k, x + r, y)} c h"
            )
    else:
        d = size * _BP_PER_PT
        ops = [f"q {g} G 0 J {line * _BP_PER_PT:.2f} w"]
        for x, y in xy:
            ops.append(
                f"{_ops(x - d, y - d)} m {_ops(x + d, y + d)} l {_ops(x - d, y + d)} m {_ops(x + d, y - d)} l"
            )
    return NoEscape(r"\qbdraw{" + " ".join([*ops, "S Q"]) + "}")


def polyline(
    points: Iterable[Sequence[float]],
    *,
    unit: float,
    width: float = 0.4,
    gray: float = 0.0,
    closed: bool = False,
    clip: tuple[float, float, float, float] | None = None,
    arrow: bool = False,
) -> NoEscape:
    r"""Draw a line through `points`, for a TikZ picture: one `\qbdraw{...}` (see `marks`).

    `width` is in pt; `clip`, (x0, y0, x1, y1) in the picture's units, keeps the line
    inside that rectangle; `arrow` ends it in a tip shaped like TikZ's `Stealth`, its
    point on the last point. A sampled curve of dozens of points costs TeX what one TikZ
    point does.
    """
    xy = _xy(points, unit)
    if len(xy) < 2:
        raise ValueError("a polyline needs two points or more")
    tip = ""
    if arrow:
        if closed:
            raise ValueError("a closed polyline has no end for an arrow")
        xy, tip = _stealth(xy, width * _BP_PER_PT, gray)
    ops = ["q"]
    if clip is not None:
        (x0, y0), (x1, y1) = _xy([clip[:2], clip[2:]], unit)
        ops.append(f"{_ops(x0, y0, x1 - x0, y1 - y0)} re W n")
    ops.append(f"{gray:.3g} G 1 j {width * _BP_PER_PT:.2f} w")
    ops.append(" ".join(f"{_ops(x, y)} {'m' if i == 0 else 'l'}" for i, (x, y) in enumerate(xy)))
    ops.append("h S" if closed else "S")
    return NoEscape(r"\qbdraw{" + " ".join([*ops, tip, "Q"] if tip else [*ops, "Q"]) + "}")


def _stealth(
    xy: list[tuple[float, float]], width: float, gray: float
) -> tuple[list[tuple[float, float]], str]:
    # TikZ's Stealth for a line `width` bp wide: 3pt + 4.5 widths long, 0.75 lengths
    # wide, its notch 0.325 lengths in from the back; the line stops in the notch.
    (x0, y0), (x1, y1) = xy[-2:]
    dx, dy = x1 - x0, y1 - y0
    norm = math.hypot(dx, dy)
    if norm == 0:
        raise ValueError("an arrow's last segment has no length")
    ux, uy = dx / norm, dy / norm
    length = 3 * _BP_PER_PT + 4.5 * width
    half, inset = 0.375 * length, 0.325 * length
    bx, by = x1 - length * ux, y1 - length * uy
    nx, ny = bx + inset * ux, by + inset * uy
    corners = [(x1, y1), (bx - half * uy, by + half * ux), (nx, ny), (bx + half * uy, by - half * ux)]
    path = " ".join(f"{_ops(x, y)} {'m' if i == 0 else 'l'}" for i, (x, y) in enumerate(corners))
    return [*xy[:-1], (round(nx, 2), round(ny, 2))], f"{gray:.3g} g {path} h f"


def _finalize(value: Any) -> Any:
    if isinstance(value, NoEscape):
        return value
    if isinstance(value, Figure):
        seen = _FIGURES.get()
        if seen is not None:
            seen.append(value)
        return value.latex()
    if value is None or isinstance(value, bool):
        raise TypeError(f"refusing to print {value!r} into LaTeX")
    if isinstance(value, int | float) or hasattr(value, "item"):
        return fmt(value)
    if isinstance(value, str):  # a name, a spec's header: words in other scripts marked
        return NoEscape(mark_names(escape(value)))
    if isinstance(value, Mapping | Sequence):
        raise TypeError(f"refusing to print a {type(value).__name__} into LaTeX; format it")
    return escape(str(value))


def _tex(value: str | Figure) -> NoEscape | Figure:
    # Mark a string as trusted LaTeX (a computed formula); a figure stays a figure.
    return value if isinstance(value, Figure) else NoEscape(value)


def make_env(search_path: Sequence[Path] | None = None, *, cache: Path | None = None) -> jinja2.Environment:
    """Return the Jinja2 environment for question text and document templates.

    With `cache`, compiled templates are kept there (Jinja's bytecode cache), so a
    later run skips parsing them: the house styles' files, and question text through
    `text_template`.
    """
    loader = jinja2.FileSystemLoader([str(p) for p in search_path]) if search_path else None
    bytecode = None
    if cache is not None:
        try:
            cache.mkdir(parents=True, exist_ok=True)
            bytecode = jinja2.FileSystemBytecodeCache(str(cache))
        except OSError:
            bytecode = None  # an unwritable cache only costs speed
    env = jinja2.Environment(
        loader=loader,
        bytecode_cache=bytecode,
        block_start_string=r"\BLOCK{",
        block_end_string="}",
        variable_start_string=r"\VAR{",
        variable_end_string="}",
        comment_start_string=r"\#{",
        comment_end_string="}",
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
        autoescape=False,
        undefined=jinja2.StrictUndefined,
        finalize=_finalize,
    )
    env.filters.update(fmt=fmt, tex=_tex, listing=listing, verb=verb, escape=escape)
    env.globals.update(fmt=fmt, listing=listing)
    return env


def text_template(env: jinja2.Environment, source: str) -> jinja2.Template:
    """Compile a text field's template, through the environment's cache if it has one.

    A syntax error is raised as by `env.from_string` (only good templates are cached).
    """
    cache = env.bytecode_cache
    if cache is None:
        return env.from_string(source)
    name = "text-" + hashlib.sha256(source.encode()).hexdigest()
    bucket = cache.get_bucket(env, name, None, source)
    code = bucket.code
    if code is None:
        code = env.compile(source)
        bucket.code = code
        try:
            cache.set_bucket(bucket)
        except OSError:
            pass  # an unwritable cache only costs speed
    return env.template_class.from_code(env, code, env.make_globals(None))

r"""Stage 4: render an assembled `Exam` into LaTeX source, with answers off or on.

Room: the document templates (`templates/<style>/paper.tex.j2`) and the per-kind LaTeX
of answers. Sees only an `Exam`; imports errors, models, latex, resources. The exam and
its key come from the same template and the same `Exam`, so they cannot drift apart;
with answers off, no answer text reaches the .tex at all (not merely hidden).

Per-kind behaviour is two mappings, `EXAM_SIDE` (what the paper shows after a prompt:
options, a blank table) and `KEY_SIDE` (what the key shows); a test checks that every
kind has both.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Callable
from functools import cache
from pathlib import Path

import jinja2
from pylatex import Tabular
from pylatex.utils import NoEscape

from .errors import InputError
from .latex import escape, fmt, listing, make_env
from .models import KINDS, AnswerInstance, Exam
from .resources import styles, templates_dir

ROMAN = ["i", "ii", "iii", "iv", "v", "vi", "vii", "viii", "ix", "x"]


def marks_text(marks: float) -> str:
    """Print marks as the papers do: `2`, `1.5`."""
    return f"{marks:g}"


def _cell(value: object, sigfigs: int | None) -> str:
    if isinstance(value, str):
        return value  # table cells from a generator are trusted LaTeX (e.g. $128\times128$)
    return fmt(value, sigfigs, zeros=sigfigs is not None)


def _table(a: AnswerInstance, filled: bool) -> str:
    # A minipage keeps the table and its caption on one page.
    n = len(a.columns)
    spec = "|" + "|".join(["l"] + ["c"] * (n - 1)) + "|"
    tab = Tabular(spec)
    tab.add_hline()
    tab.add_row([NoEscape(r"\textbf{" + c + "}") for c in a.columns])
    tab.add_hline()
    for i, row in enumerate(a.value):
        cells = [
            NoEscape(_cell(v, a.sigfigs))
            if filled or j < a.given_columns or i < a.given_rows
            else NoEscape(r"\hspace*{5em}")
            for j, v in enumerate(row)
        ]
        tab.add_row(cells)
        tab.add_hline()
    caption = f"\\par\\smallskip{{\\small {a.caption}}}" if a.caption else ""
    return (
        "\\par\\medskip\\noindent\\begin{minipage}{\\linewidth}\\centering"
        "\\renewcommand{\\arraystretch}{1.35}%\n"
        + tab.dumps()
        + caption
        + "\n\\end{minipage}\\par\\medskip\n"
    )


def _choices(a: AnswerInstance) -> str:
    env = "oneparchoices" if a.layout == "inline" else "choices"
    items = "".join(f"\\choice {o}\n" for o in a.options)
    return f"\\begin{{{env}}}\n{items}\\end{{{env}}}\n"


def _label(a: AnswerInstance, default: str) -> str:
    return f"\\textbf{{{a.label or default}:}}\\enspace "


def _key_numeric(a: AnswerInstance) -> str:
    unit = "\\," + escape(a.unit) if a.unit else ""
    tol = ""
    if a.tolerance:
        tol = f" \\quad(accept within {fmt(a.tolerance * 100, 2)}\\,\\%)"
    return f"{_label(a, 'Answer')}{fmt(a.value, a.sigfigs, zeros=a.sigfigs is not None)}{unit}{tol}\\par\n"


def _key_text(a: AnswerInstance) -> str:
    head = f"\\textbf{{{a.label}:}}\\enspace " if a.label else ""
    return f"{head}{a.text}\\par\n"


def _key_choice(a: AnswerInstance) -> str:
    # A picture option is not drawn again: its letter refers to the options above.
    def name(i: int) -> str:
        text = a.options[i]
        return f"({chr(65 + i)})" + ("" if "tikzpicture" in text or "includegraphics" in text else f" {text}")

    letters = ", ".join(name(i) for i in a.correct) or "none"
    expl = f"\\par {a.text}" if a.text else ""
    word = "Correct" if len(a.correct) == 1 else "Correct options"
    return f"\\textbf{{{word}:}}\\enspace {letters}{expl}\\par\n"


def _key_table(a: AnswerInstance) -> str:
    head = f"\\textbf{{{a.label}:}}\\par\n" if a.label else ""
    return head + _table(a, filled=True)


def _key_code(a: AnswerInstance) -> str:
    head = f"\\textbf{{{a.label}:}}\\par\n" if a.label else ""
    expl = f"{a.text}\\par\n" if a.text else ""
    return head + listing(a.value, a.language) + expl


EXAM_SIDE: dict[str, Callable[[AnswerInstance], str]] = {
    "numeric": lambda a: "",
    "text": lambda a: "",
    "choice": _choices,
    "table": lambda a: _table(a, filled=False),
    "code": lambda a: "",
}
KEY_SIDE: dict[str, Callable[[AnswerInstance], str]] = {
    "numeric": _key_numeric,
    "text": _key_text,
    "choice": _key_choice,
    "table": _key_table,
    "code": _key_code,
}
assert set(EXAM_SIDE) == set(KINDS) == set(KEY_SIDE)


def exam_side(answers: list[AnswerInstance], key: bool = False) -> NoEscape:
    """LaTeX the paper shows after a prompt for these answers.

    In the key a table is shown once, filled, in the answer block: not blank here too.
    """
    return NoEscape("".join(EXAM_SIDE[a.kind](a) for a in answers if not (key and a.kind == "table")))


def key_side(answers: list[AnswerInstance]) -> NoEscape:
    """LaTeX of these answers in the key."""
    return NoEscape("".join(KEY_SIDE[a.kind](a) for a in answers))


@cache
def _env(root: Path) -> jinja2.Environment:
    env = make_env([root])
    env.filters["marks"] = marks_text
    env.globals.update(exam_side=exam_side, key_side=key_side, roman=ROMAN)
    return env


def preamble() -> str:
    """Return the shared preamble (the part dumped into the cached format)."""
    return _env(templates_dir()).get_template("common/preamble.tex.j2").render()


def render_document(units: list[tuple[Exam, bool]]) -> str:
    """Return one LaTeX document holding these papers, each (exam, answers on/off).

    Every paper starts on an odd page with its own page numbers; the document writes
    each paper's first and last page to `<jobname>.map` (see `typeset.page_map`).
    """
    if not units:
        raise ValueError("no papers to render")
    style = units[0][0].style
    if any(exam.style != style for exam, _ in units):
        raise ValueError("one document holds papers of one house style")
    root = templates_dir()
    if not (root / style / "paper.tex.j2").is_file():
        raise InputError(f"no house style {style!r} (have: {', '.join(styles())})", field="style")
    env = _env(root)
    tex = env.get_template("common/document.tex.j2").render(
        units=units, style=env.get_template(f"{style}/paper.tex.j2")
    )
    return share_pictures(tex) if len(units) > 1 else tex


_PICTURE = re.compile(r"\\begin\{tikzpicture\}.*?\\end\{tikzpicture\}", re.S)


def share_pictures(tex: str) -> str:
    r"""Typeset each distinct TikZ picture once per document and reuse its box.

    A paper and its key show the same figures; TikZ is most of their cost. The first
    occurrence goes into a save box (`\qbpicsave`), later ones use it (`\qbpicuse`).
    """
    seen: set[str] = set()

    def one(m: re.Match[str]) -> str:
        key = hashlib.sha1(m.group(0).encode()).hexdigest()[:12]
        if key in seen:
            return rf"\qbpicuse{{{key}}}"
        seen.add(key)
        return rf"\qbpicsave{{{key}}}{{{m.group(0)}}}"

    return _PICTURE.sub(one, tex)


def render(exam: Exam, *, answers: bool) -> str:
    """Return the LaTeX source of the paper (answers off) or its key (answers on)."""
    return render_document([(exam, answers)])

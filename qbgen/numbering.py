r"""Item names: how a house style numbers its questions and parts, decided once.

Room: the numbering scheme a style declares at the top of its `paper.tex.j2`,

    \BLOCK{set numbering = {"question": "{section}{q:a}", "part": "{question}({part:i})"}}

read from the template's syntax tree (nothing of the style runs), and the names it gives.
The name is what the paper prints, and it is the item's name everywhere after: the
manifest, the sheets, the crib, the statistics, every LMS export. Imports errors, frozen
and latex (the style's Jinja syntax).

Fields of `question`: `n` (the question's place in the paper, 1, 2, ...), `section` (its
section's place), `q` (its place in the section). Of `part`: `question` (the question's
name) and `part` (the part's place). A field is printed in the form its spec names:
`1` arabic (the default), `a`/`A` a letter, `i`/`I` a roman numeral.
"""

from __future__ import annotations

import string
from collections.abc import Callable
from pathlib import Path
from typing import Any

import jinja2
from jinja2 import nodes
from pydantic import Field, ValidationError, field_validator

from .errors import InputError
from .frozen import Frozen
from .latex import make_env

_FORMS = ("", "1", "a", "A", "i", "I")
_QUESTION_FIELDS = {"n", "section", "q"}
_PART_FIELDS = {"question", "part"}


def _roman(n: int) -> str:
    numerals = [(1000, "m"), (900, "cm"), (500, "d"), (400, "cd"), (100, "c"), (90, "xc")]
    numerals += [(50, "l"), (40, "xl"), (10, "x"), (9, "ix"), (5, "v"), (4, "iv"), (1, "i")]
    out = ""
    for value, letters in numerals:
        while n >= value:
            out, n = out + letters, n - value
    return out


def _letters(n: int) -> str:
    # a..z, then aa, ab, ... as LaTeX's \alph cannot go on: a 27th part still has a name.
    out = ""
    while n > 0:
        n, r = divmod(n - 1, 26)
        out = "abcdefghijklmnopqrstuvwxyz"[r] + out
    return out


class _Formatter(string.Formatter):
    def format_field(self, value: Any, format_spec: str) -> str:
        if isinstance(value, str):
            return value
        forms: dict[str, Callable[[int], str]] = {"": str, "1": str, "a": _letters, "i": _roman}
        text = forms[format_spec.lower()](value)
        return text.upper() if format_spec.isupper() else text


def _fields(template: str) -> list[tuple[str, str]]:
    # (name, form) of every replacement field; a stray brace is a ValueError.
    out = []
    for _text, name, spec, conversion in string.Formatter().parse(template):
        if name is None:
            continue
        if conversion or spec not in _FORMS:
            raise ValueError(f"{{{name}:{spec}}}: a field's form is one of 1, a, A, i, I")
        out.append((name, spec))
    return out


def _check(template: str, allowed: set[str], needed: set[str]) -> str:
    try:
        names = [name for name, _ in _fields(template)]
    except ValueError as exc:
        raise ValueError(str(exc)) from None
    unknown = sorted(set(names) - allowed)
    if unknown:
        raise ValueError(f"no field {{{unknown[0]}}} (have: {', '.join(sorted(allowed))})")
    if not needed & set(names):
        raise ValueError(f"needs one of {', '.join('{' + n + '}' for n in sorted(needed))}")
    return template


class Numbering(Frozen):
    """A style's numbering scheme: how a question's and a part's names are made."""

    question: str = Field(default="{n}", description="A question's name, from n, section, q.")
    part: str = Field(default="{question}{part:a}", description="A part's name, from question, part.")

    @field_validator("question")
    @classmethod
    def _question(cls, v: str) -> str:
        return _check(v, _QUESTION_FIELDS, {"n", "q"})

    @field_validator("part")
    @classmethod
    def _part(cls, v: str) -> str:
        return _check(v, _PART_FIELDS, {"part"})

    def question_name(self, *, n: int, section: int, q: int) -> str:
        """The name of the `n`th question of the paper, the `q`th of section `section` (from 1)."""
        return _Formatter().format(self.question, n=n, section=section, q=q)

    def part_name(self, question: str, part: int) -> str:
        """The name of part `part` (from 1) of the question named `question`."""
        return _Formatter().format(self.part, question=question, part=part)


DEFAULT = Numbering()


def style_numbering(template: Path) -> Numbering:
    r"""Read the numbering a style's `paper.tex.j2` declares (the default where it says none).

    The declaration is a constant `\BLOCK{set numbering = {...}}` at the template's top
    level; it is read from the syntax tree, so a style need not render to be numbered.
    """
    try:
        source = template.read_text("utf-8")
        tree = make_env().parse(source)
    except (OSError, UnicodeDecodeError) as exc:
        raise InputError(f"cannot read the house style: {exc}", file=template) from None
    except jinja2.TemplateSyntaxError as exc:
        raise InputError(f"template syntax: {exc.message}", file=template, line=exc.lineno) from None
    for node in tree.body:
        if isinstance(node, nodes.Assign) and isinstance(node.target, nodes.Name):
            if node.target.name != "numbering":
                continue
            value = None
            if isinstance(node.node, nodes.Expr):
                try:
                    value = node.node.as_const()
                except nodes.Impossible:
                    value = None
            if not isinstance(value, dict):
                raise InputError(
                    'numbering: a constant mapping, e.g. {"question": "{n}", "part": "{question}{part:a}"}',
                    file=template,
                    line=node.lineno,
                )
            try:
                return Numbering.model_validate(value)
            except ValidationError as exc:
                err = exc.errors(include_url=False)[0]
                where = ".".join(str(k) for k in err["loc"])
                msg = str(err["msg"]).removeprefix("Value error, ")
                raise InputError(f"numbering: {where}: {msg}", file=template, line=node.lineno) from None
    return DEFAULT


__all__ = ["DEFAULT", "Numbering", "style_numbering"]

r"""Stage 6c: the numbers a key's worked steps print, read back and accounted for.

Room: reading numbers out of trusted LaTeX and matching them against the values a
question vouches for. Imports nothing of qbgen. `validate` uses it: every number a
worked step prints must be a parameter, an answer, or a value the generator's `check`
re-derived, to the figures printed; and where a step prints an answer, it prints it
as the answer line does.

What counts as a printed number:

- every number `fmt` printed (`\ensuremath{...}`, `matrix` entries), integers too,
  `a \times 10^{k}` read whole;
- every other number in the text, but for 0, 1 and 2 written by hand (formula
  constants: 1 - y, \tfrac12, x^2);
- not: sub- and superscripts (`w_5`, `x^{(i)}`), digits of command names
  (`\tfrac12`), lengths (`1.5em`), and labels glued to a word (`CONV-9-32`, `x1`).
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

FORMULA_CONSTANTS = {0, 1, 2}  # hand-written integers that need no vouching

_ENSURE = re.compile(r"\\ensuremath\{((?:[^{}]|\{[^{}]*\})*)\}")
_SCI = re.compile(r"^(-?\d+(?:\.\d+)?)\\times\s*10\^\{(-?\d+)\}$")
# A thousands comma, `{,}` (as fmt writes it) or a bare one between groups of three digits
# (`10,000` typed in a sentence), belongs to the number; `(3,2)` and `1,2,3` do not.
_PLAIN = re.compile(r"-?\d{1,3}(?:(?:\{,\}|,)\d{3})+(?:\.\d+)?(?!\d|,\d)|-?\d+(?:\{,\}\d{3})*(?:\.\d+)?")
# Text that holds digits but no printed number.
_NOT_NUMBERS = [
    re.compile(r"\\(?:[dt]?frac|binom)\s*\d\d"),  # \tfrac12
    re.compile(r"[_^]\s*(?:\{(?:[^{}]|\{[^{}]*\})*\}|\\?[A-Za-z0-9])"),  # sub/superscripts
    re.compile(r"\\[A-Za-z@]+\*?"),  # command names
    re.compile(r"-?\d+(?:\.\d+)?\s*(?:pt|em|ex|mm|cm|in|bp|sp)\b"),  # lengths
    re.compile(r"[A-Za-z]+(?:[-.]?\d+)+(?:-\d+)*"),  # labels: CONV-9-32, x1, layer3
]


@dataclass(frozen=True)
class Printed:
    """A number as a step prints it: its text, value, and the rounding it allows."""

    text: str
    value: float
    half_unit: float  # half the last printed digit's unit: 0.00005 for 0.1220
    integer: bool
    from_fmt: bool

    @property
    def figures(self) -> int:
        """Its significant figures as printed (trailing zeros count: 0.5250 has 4)."""
        digits = re.sub(r"\\times.*", "", self.text).replace("{,}", "").replace(",", "")
        digits = digits.lstrip("-").replace(".", "")
        return len(digits.lstrip("0")) or 1

    def shows(self, v: float) -> bool:
        """Whether `v`, rounded to the figures printed, reads as this number."""
        if self.integer:
            return abs(v - round(v)) < 1e-9 and round(v) == self.value
        return abs(v - self.value) <= self.half_unit * (1 + 1e-9) + 1e-15

    def accounted(self, vouched: list[float]) -> bool:
        """Whether some vouched value reads as this number.

        A number fmt printed carries its sign; by hand, a minus may be an operator.
        """
        return any(self.shows(v) or (not self.from_fmt and self.shows(-v)) for v in vouched)


def _read(text: str, from_fmt: bool) -> Printed | None:
    body = text.replace("{,}", "").replace(",", "").replace(" ", "")
    m = _SCI.match(body)
    exp = 0
    if m:
        body, exp = m[1], int(m[2])
    if not re.fullmatch(r"-?\d+(?:\.\d+)?", body):
        return None
    decimals = len(body.split(".")[1]) if "." in body else 0
    integer = decimals == 0 and exp >= 0
    value = float(body) * 10.0**exp
    return Printed(text, value, 0.5 * 10.0 ** (exp - decimals), integer, from_fmt)


def printed_numbers(tex: str) -> Iterator[Printed]:
    """Yield the numbers `tex` prints, in order (see the module's rules)."""
    rest: list[str] = []
    pos = 0
    for m in _ENSURE.finditer(tex):
        rest.append(tex[pos : m.start()])
        rest.append(" ")
        pos = m.end()
        num = _read(m[1], from_fmt=True)
        if num is not None:
            yield num
    rest.append(tex[pos:])
    text = "".join(rest)
    for pattern in _NOT_NUMBERS:
        text = pattern.sub(" ", text)
    for m in _PLAIN.finditer(text):
        num = _read(m[0], from_fmt=False)
        if num is None or (num.integer and abs(num.value) in FORMULA_CONSTANTS):
            continue
        yield num


def numbers_of(value: Any) -> Iterator[float]:
    """Yield every number in a plain value (nested lists and dicts), booleans aside."""
    if isinstance(value, bool):
        return
    if isinstance(value, int | float):
        if math.isfinite(value):
            yield float(value)
    elif isinstance(value, list | tuple):
        for v in value:
            yield from numbers_of(v)
    elif isinstance(value, dict):
        for v in value.values():
            yield from numbers_of(v)


def unaccounted(steps: list[str], vouched: list[float]) -> list[tuple[int, str]]:
    """Return (step number, 1-based; text) of each printed number no vouched value reads as."""
    return [
        (i, num.text)
        for i, step in enumerate(steps, 1)
        for num in printed_numbers(step)
        if not num.accounted(vouched)
    ]


__all__ = ["FORMULA_CONSTANTS", "Printed", "numbers_of", "printed_numbers", "unaccounted"]

"""The authoring API: the only qbgen module a bank generator imports.

Room: what a generator needs to state its contract and nothing else. Imports only
`errors` (for `CheckFailed`). Keep it small and stable: bank repos depend on it.

A generator module beside its question file defines::

    class Params(authoring.Params): ...          # what is drawn, with its valid ranges
    def sample(rng) -> Params: ...               # draw from a numpy Generator
    def solve(params) -> authoring.Solution: ... # every answer, with NumPy, plus worked steps
    def check(params, solution) -> dict | None: # re-derive independently; raise on disagreement

`solve` and `check` must not share the computation they verify: `check` takes another
route (another formula, brute force, finite differences, running the code shown).
`check` returns the intermediate values it re-derived (`{name: number or list}`):
`validate` requires every number the worked steps print to be a parameter, an answer
or one of these.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import numpy as np
from pydantic import BaseModel, ConfigDict, Field, field_validator

from .errors import QuestionFailure
from .latex import Figure, fmt, listing, marks, polyline

__all__ = [
    "Params",
    "Solution",
    "CheckFailed",
    "Figure",
    "agree",
    "figure",
    "require",
    "plain",
    "rounded",
    "fmt",
    "listing",
    "marks",
    "polyline",
    "matrix",
]


class Params(BaseModel):
    """Base of a generator's parameters: frozen, unknown fields rejected, plain values."""

    model_config = ConfigDict(frozen=True, extra="forbid")


class CheckFailed(QuestionFailure):
    """Raised by a generator's `check` when an answer disagrees with its re-derivation."""


def plain(value: Any) -> Any:
    """Convert NumPy scalars and arrays (recursively) to plain Python values."""
    if isinstance(value, np.ndarray):
        return plain(value.tolist())
    if isinstance(value, np.bool_):
        return bool(value)
    if isinstance(value, np.integer):
        return int(value)
    if isinstance(value, np.floating):
        return float(value)
    if isinstance(value, dict):
        return {str(k): plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [plain(v) for v in value]
    return value


class Solution(BaseModel):
    """What `solve` returns.

    `answers` holds every computed answer by name (the question file's `key`s name
    them); `steps` the worked steps shown in the key (trusted LaTeX, one item a line),
    under the question; for a question in parts, `part_steps` the steps under part N
    (1-based: `{1: [...], 2: [...]}`), each below its part's answers;
    `givens` what the question text may print (LaTeX, code, `figure`s); `data` what the
    generator drew that the paper shows, as plain data (a point set, coordinates), for
    `check` and for any output that draws it anew. Values are converted to plain Python.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    answers: dict[str, Any]
    steps: list[str] = Field(default_factory=list)
    part_steps: dict[int, list[str]] = Field(default_factory=dict)
    givens: dict[str, Any] = Field(default_factory=dict)
    data: dict[str, Any] = Field(default_factory=dict)

    @field_validator("answers", "givens", "data", mode="before")
    @classmethod
    def _plain(cls, v: Any) -> Any:
        return plain(v)


def figure(tikz: str, alt: str = "") -> Figure:
    r"""Return a TikZ picture (`\begin{tikzpicture}...`) to put in `givens`.

    The question text prints it with `\VAR{g.NAME}`; a paper and its key typeset it
    once. `alt` says in words what it shows (for outputs that are not print).
    """
    return Figure(tikz.strip(), alt)


def require(condition: bool, message: str) -> None:
    """Raise `CheckFailed(message)` unless `condition` holds."""
    if not condition:
        raise CheckFailed(message)


def agree(name: str, expected: Any, got: Any, *, rel: float = 1e-9, abs: float = 1e-12) -> None:
    """Raise `CheckFailed` unless `got` equals `expected` (numbers within tolerance).

    Works on numbers, strings and nested lists of them; `name` says which answer.
    """
    expected, got = plain(expected), plain(got)
    if isinstance(expected, list) or isinstance(got, list):
        if not (isinstance(expected, list) and isinstance(got, list)) or len(expected) != len(got):
            raise CheckFailed(f"{name}: expected {expected!r}, solve gave {got!r}")
        for i, (e, g) in enumerate(zip(expected, got, strict=True)):
            agree(f"{name}[{i}]", e, g, rel=rel, abs=abs)
        return
    if isinstance(expected, bool | str) or isinstance(got, bool | str):
        if expected != got:
            raise CheckFailed(f"{name}: expected {expected!r}, solve gave {got!r}")
        return
    if not isinstance(got, int | float) or not math.isfinite(got):
        raise CheckFailed(f"{name}: solve gave {got!r}, not a finite number")
    if not math.isclose(expected, got, rel_tol=rel, abs_tol=abs):
        raise CheckFailed(f"{name}: check derived {expected!r}, solve gave {got!r}")


def rounded(value: float | Sequence[float] | np.ndarray, decimals: int) -> Any:
    """Round a drawn value (or array) to `decimals` places, as plain Python.

    Round when drawing: the numbers printed are then exactly the numbers solved.
    """
    arr = np.round(np.asarray(value, dtype=float), decimals)
    return plain(arr) if arr.ndim else float(arr)


def matrix(values: Any, sig: int = 4, *, zeros: bool | None = None) -> str:
    """Typeset a vector or matrix as a LaTeX `bmatrix` (numbers through `fmt`, its rule)."""
    arr = np.atleast_2d(np.asarray(plain(values)))
    rows = [
        " & ".join(fmt(v if isinstance(v, int) else float(v), sig, zeros=zeros) for v in row)
        for row in arr.tolist()
    ]
    return r"\begin{bmatrix}" + r" \\ ".join(rows) + r"\end{bmatrix}"

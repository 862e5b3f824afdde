"""Configuration from the environment, read once into one model.

Room: the environment variables qbgen reads, their defaults and their checks. Imports
errors. Every other module asks `settings()`; none reads `os.environ` for
its own configuration. A bad value is one line naming the variable, exit 2.

- `QBGEN_BANK`: the banks used when no `--bank` is given, folders separated by `:`
  (the word `builtin` is the shipped bank; default: the shipped bank);
- `QBGEN_TEX_TIMEOUT`: seconds one pdflatex run may take (default 120);
- `QBGEN_GENERATOR_TIMEOUT`: seconds one call of a generator's `sample`, `solve`,
  `check` or `mistakes` may take (default 60);
- `QBGEN_PDFLATEX`: the pdflatex program (default: `pdflatex` on PATH);
- `QBGEN_CACHE`: the folder of cached formats (default: `$XDG_CACHE_HOME/qbgen`, else
  `~/.cache/qbgen`);
- `QBGEN_NO_FORMAT`: any value loads the packages on every run, with no cached format.
"""

from __future__ import annotations

import json
import math
import os
from collections.abc import Mapping
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

from .errors import EnvironmentProblem

DEFAULT_TEX_TIMEOUT = 120.0
DEFAULT_GENERATOR_TIMEOUT = 60.0


@dataclass(frozen=True)
class Settings:
    """What the environment configures, checked (a dataclass: no pydantic at start)."""

    cache_dir: Path
    banks: tuple[Path, ...] = ()  # QBGEN_BANK's folders, in order
    tex_timeout: float = DEFAULT_TEX_TIMEOUT
    generator_timeout: float = DEFAULT_GENERATOR_TIMEOUT
    pdflatex: str | None = None
    no_format: bool = False


def _timeout(name: str, value: str | None, default: float) -> float:
    if value is None or not value.strip():
        return default
    try:
        seconds = float(value)
    except ValueError:
        seconds = math.nan
    if not (math.isfinite(seconds) and seconds > 0):
        raise EnvironmentProblem(f"{name}: must be a positive number of seconds, got {value!r}")
    return seconds


def load_settings(environ: Mapping[str, str]) -> Settings:
    """Read and check the settings from an environment mapping."""
    cache = environ.get("QBGEN_CACHE")
    if cache:
        cache_dir = Path(cache)
    else:
        base = environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
        cache_dir = Path(base) / "qbgen"
    banks = tuple(Path(part.strip()) for part in environ.get("QBGEN_BANK", "").split(":") if part.strip())
    return Settings(
        banks=banks,
        tex_timeout=_timeout("QBGEN_TEX_TIMEOUT", environ.get("QBGEN_TEX_TIMEOUT"), DEFAULT_TEX_TIMEOUT),
        generator_timeout=_timeout(
            "QBGEN_GENERATOR_TIMEOUT", environ.get("QBGEN_GENERATOR_TIMEOUT"), DEFAULT_GENERATOR_TIMEOUT
        ),
        pdflatex=environ.get("QBGEN_PDFLATEX") or None,
        cache_dir=cache_dir,
        no_format=bool(environ.get("QBGEN_NO_FORMAT")),
    )


@cache
def settings() -> Settings:
    """Return this process's settings, read from the environment on first use."""
    return load_settings(os.environ)


def kept(path: Path) -> Any:
    """The JSON a cache file holds (`keep`), or None if it is not there or not JSON."""
    try:
        return json.loads(path.read_text("utf-8"))
    except (OSError, ValueError):
        return None


def keep(path: Path, text: str) -> None:
    """Write `text` to `path` in qbgen's cache whole (a file beside it, renamed over it), or not at all.

    A cache folder that cannot be written only costs the next run the work the file keeps.
    """
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        part = path.with_name(f"{path.name}.{os.getpid()}.part")
        part.write_text(text, "utf-8")
        os.replace(part, path)
    except OSError:
        pass

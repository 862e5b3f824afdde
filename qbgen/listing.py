"""The rows of `qbgen list`, read from the bank's kept index while its files stay as they were.

Room: a hit (`bankindex`) reads no question and imports neither pydantic's models nor
numpy, so listing a bank takes the CLI's start; a miss loads the bank, which keeps the
index for the next run. Imports errors, settings, resources, bankindex and (on a miss) bank.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

from . import bankindex
from .resources import bank_dirs

# What a row shows (`qbgen list --json`).
ROW = ("id", "title", "topic", "tags", "kind", "marks", "parameterized", "sources", "file")


def bank_rows(banks: Sequence[Path] | None) -> list[dict[str, Any]]:
    """Each question of the banks (`--bank` options, as `qbgen list` takes them) as a row."""
    folders = bank_dirs(banks)
    rows = bankindex.read(folders, bankindex.fingerprint(folders))
    if rows is None:
        from .bank import index_rows, load_bank

        rows = index_rows(load_bank(folders))
    return [{k: r[k] for k in ROW} for r in rows]


__all__ = ["ROW", "bank_rows"]

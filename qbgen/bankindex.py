"""The index of a bank that loaded whole: each question's id, file and row, kept between runs.

Room: one JSON file per set of bank folders in qbgen's cache folder, keyed by every bank
file's path, size and modification time and those of qbgen's own code. It is written
only after every question of those folders loaded without error (`bank.load_bank`), so
while the files stay as they were it says two things at once: what `qbgen list` shows,
with no question read and neither pydantic's models nor numpy imported; and that each
question loads, so a build reads only the questions its spec names (`bank.load_bank`).
A cache that cannot be read or written only costs a whole load. Imports settings.
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from .settings import keep, kept, settings

SUFFIXES = (".yaml", ".yml", ".py")  # what a question, its generator and its `_lib` are made of
_CODE = Path(__file__).resolve().parent  # qbgen itself: what loads a question and makes a row


def _stamps(folder: Path) -> list[Path]:
    out = []
    for root, dirs, files in os.walk(folder):
        dirs[:] = sorted(d for d in dirs if not d.startswith(".") and d != "__pycache__")
        out += [Path(root, f) for f in sorted(files) if f.endswith(SUFFIXES)]
    return out


def fingerprint(folders: Sequence[Path]) -> str:
    """A digest of every bank file's (and qbgen module's) path, size and modification time."""
    h = hashlib.sha256()
    for path in [*_stamps(_CODE), *(p for f in folders for p in _stamps(f))]:
        try:
            st = path.stat()
        except OSError:
            continue
        h.update(f"{path}\0{st.st_size}\0{st.st_mtime_ns}\n".encode())
    return h.hexdigest()


def _file(folders: Sequence[Path]) -> Path:
    name = hashlib.sha256("\0".join(str(f.resolve()) for f in folders).encode()).hexdigest()[:16]
    return settings().cache_dir / "list" / f"{name}.json"


def read(folders: Sequence[Path], key: str) -> list[dict[str, Any]] | None:
    """The rows kept for `folders` at fingerprint `key`, or None (none kept, or kept for other files)."""
    data = kept(_file(folders))
    if isinstance(data, dict) and data.get("key") == key and isinstance(data.get("rows"), list):
        return list(data["rows"])
    return None


def write(folders: Sequence[Path], key: str, rows: list[dict[str, Any]]) -> None:
    """Keep `rows` (every question of `folders`, which all loaded) for fingerprint `key`."""
    keep(_file(folders), json.dumps({"key": key, "rows": rows}))


__all__ = ["SUFFIXES", "fingerprint", "read", "write"]

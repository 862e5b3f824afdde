"""The rows of `qbgen list`, kept between runs while the banks' files stay as they were.

Room: one JSON file per set of bank folders in qbgen's cache folder, keyed by every bank
file's path, size and modification time (and those of the code that makes the rows). A
hit reads no question and imports neither pydantic's models nor numpy, so listing a bank
takes the CLI's start; a miss, or a cache that cannot be read or written, loads the
bank as before. Imports errors, settings, resources and (on a miss) bank.
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from .resources import bank_dirs
from .settings import settings

SUFFIXES = (".yaml", ".yml", ".py")
CODE = ("bank.py", "models.py", "listing.py", "authoring.py")  # what makes a row


def _fingerprint(folders: Sequence[Path]) -> str:
    h = hashlib.sha256()
    here = Path(__file__).resolve().parent
    stamps = [here / name for name in CODE]
    for folder in folders:
        for root, dirs, files in os.walk(folder):
            dirs[:] = sorted(d for d in dirs if not d.startswith(".") and d != "__pycache__")
            stamps += [Path(root, f) for f in sorted(files) if f.endswith(SUFFIXES)]
    for path in stamps:
        try:
            st = path.stat()
        except OSError:
            continue
        h.update(f"{path}\0{st.st_size}\0{st.st_mtime_ns}\n".encode())
    return h.hexdigest()


def _rows(folders: Sequence[Path]) -> list[dict[str, Any]]:
    from .bank import load_bank

    b = load_bank(folders)
    return [
        {
            "id": bq.id,
            "title": bq.question.title,
            "topic": bq.question.topic,
            "tags": list(bq.question.tags),
            "kind": bq.question.kind,
            "marks": bq.question.marks,
            "parameterized": bq.generator is not None,
            "sources": list(bq.question.all_sources()),
            "file": str(bq.path),
        }
        for bq in b.questions.values()
    ]


def bank_rows(banks: Sequence[Path] | None) -> list[dict[str, Any]]:
    """Each question of the banks (`--bank` options, as `qbgen list` takes them) as a row."""
    folders = bank_dirs(banks)
    key = _fingerprint(folders)
    name = hashlib.sha256("\0".join(str(f.resolve()) for f in folders).encode()).hexdigest()[:16]
    cached = settings().cache_dir / "list" / f"{name}.json"
    try:
        data = json.loads(cached.read_text("utf-8"))
        if isinstance(data, dict) and data.get("key") == key and isinstance(data.get("rows"), list):
            return list(data["rows"])
    except (OSError, ValueError):
        pass
    rows = _rows(folders)
    try:
        cached.parent.mkdir(parents=True, exist_ok=True)
        part = cached.with_name(f"{cached.name}.{os.getpid()}.part")
        part.write_text(json.dumps({"key": key, "rows": rows}), "utf-8")
        os.replace(part, cached)
    except OSError:
        pass  # a read-only cache: the next run loads the bank again
    return rows


__all__ = ["bank_rows"]

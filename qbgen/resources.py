"""Where the default bank and the templates live: a checkout, or inside the wheel.

Room: path lookup only; imports errors and settings. A checkout keeps `bank/` and
`templates/` beside `qbgen/`; an installed wheel carries them as `qbgen/_data/`.
`--bank` (or the settings' `bank`, `QBGEN_BANK`) names another bank.
"""

from __future__ import annotations

from pathlib import Path

from .errors import InputError
from .settings import settings

_PKG = Path(__file__).resolve().parent


def _data(name: str) -> Path:
    packaged = _PKG / "_data" / name
    return packaged if packaged.is_dir() else _PKG.parent / name


def default_bank() -> Path:
    """Return the bank qbgen uses when none is named: `$QBGEN_BANK`, else the shipped one."""
    return settings().bank or _data("bank")


def authoring_guide() -> Path:
    """The authors' reference, docs/AUTHORING.md (it ships in the wheel too)."""
    return _data("docs") / "AUTHORING.md"


def installed() -> bool:
    """Whether this qbgen runs from an installed wheel (its bank inside the package)."""
    return (_PKG / "_data" / "bank").is_dir()


def is_shipped(root: Path) -> bool:
    """Whether `root` is the bank that ships with qbgen."""
    return root.resolve() == _data("bank").resolve()


def bank_name(root: Path) -> str:
    """How a bank is called to readers: `builtin` for the shipped one, else its folder's name."""
    return "builtin" if is_shipped(root) else root.resolve().name


def styles() -> list[str]:
    """Return the house styles available (a folder with a `paper.tex.j2`)."""
    return sorted(p.name for p in templates_dir().iterdir() if (p / "paper.tex.j2").is_file())


def templates_dir() -> Path:
    """Return the folder of house styles (one sub-folder per style)."""
    return _data("templates")


def bank_dir(bank: Path | None) -> Path:
    """Resolve and check a bank folder."""
    root = bank if bank is not None else default_bank()
    if not root.is_dir():
        raise InputError("bank folder not found", file=root)
    return root

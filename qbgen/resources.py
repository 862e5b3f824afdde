"""Where the default bank and the templates live: a checkout, or inside the wheel.

Room: path lookup only; imports errors and settings. A checkout keeps `bank/` and
`templates/` beside `qbgen/`; an installed wheel carries them as `qbgen/_data/`.
`--bank` (or the settings' `banks`, `QBGEN_BANK`) names other banks, and the word
`builtin` the shipped one.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from .errors import InputError
from .settings import settings

_PKG = Path(__file__).resolve().parent


def _data(name: str) -> Path:
    packaged = _PKG / "_data" / name
    return packaged if packaged.is_dir() else _PKG.parent / name


BUILTIN = "builtin"  # the name of the shipped bank wherever a bank folder is asked for


def shipped_bank() -> Path:
    """The bank that ships with qbgen."""
    return _data("bank")


def first_bank(banks: Sequence[Path] | None) -> Path:
    """The first bank of a run, which need not exist yet (where `qbgen new` writes)."""
    first = (list(banks or ()) or list(settings().banks) or [shipped_bank()])[0]
    return _named(first)


def _named(bank: Path) -> Path:
    # The word `builtin` is the shipped bank. A folder of that name in the current
    # folder reads the same once a path (`./builtin` and `builtin` are one Path), so
    # with one here the word is ambiguous: refused, saying how to name either.
    if str(bank) != BUILTIN:
        return bank
    here = Path(BUILTIN)
    if here.is_dir() and not is_shipped(here):
        raise InputError(
            f"the word {BUILTIN!r} names the bank shipped with qbgen, and a folder {BUILTIN!r} is here "
            f"too: give the folder by its full path, {here.absolute()}, or the shipped bank by "
            f"its path, {shipped_bank()}",
            file=BUILTIN,
        )
    return shipped_bank()


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


def styles(root: Path | None = None) -> list[str]:
    """Return the house styles in `root` (default: the shipped ones): a folder with a `paper.tex.j2`."""
    folder = templates_dir() if root is None else root
    if not folder.is_dir():
        return []
    return sorted(p.name for p in folder.iterdir() if (p / "paper.tex.j2").is_file())


def templates_dir() -> Path:
    """Return the folder of house styles (one sub-folder per style)."""
    return _data("templates")


def bank_dir(bank: Path | None) -> Path:
    """Resolve and check one bank folder (`builtin`: the shipped bank)."""
    root = first_bank([bank] if bank is not None else None)
    if not root.is_dir():
        raise InputError("bank folder not found", file=root)
    return root


def bank_dirs(banks: Sequence[Path] | None) -> tuple[Path, ...]:
    """Resolve and check the banks of a run, in order, each once.

    `banks` are the `--bank` options; none given, `$QBGEN_BANK`'s folders; none there,
    the shipped bank. The word `builtin` names the shipped bank; with a folder of that
    name in the current folder it is refused as ambiguous (the folder is given by its
    full path: `./builtin` reads as the word).
    """
    given = list(banks or ()) or list(settings().banks) or [shipped_bank()]
    out: dict[Path, Path] = {}
    for bank in given:
        root = bank_dir(bank)
        out.setdefault(root.resolve(), root)
    return tuple(out.values())

"""Publishing a build: a staging folder inside the output, then every file moved in.

Room: the output folder's bookkeeping. Imports only errors. A build makes its files in
a staging folder inside the output folder and moves them into place only when every
file is good, so a failed or interrupted build leaves the previous good output and no
half-written file; a rebuild removes what the previous build wrote and this one does
not (as the previous top manifest lists it); a LaTeX failure keeps its `.tex` and
`.log` under `failed/`.
"""

from __future__ import annotations

import fcntl
import json
import os
import re
import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from .errors import InputError, TypesetError

LOCK = ".qbgen-lock"  # held (flock) by the build writing into the folder


def _refuse_shared_folders(out: Path, bank: Path | None) -> None:
    # A build removes what it wrote before and sweeps its staging folders: never in a
    # folder that is everyone's (/), the user's own (~) or the bank's.
    target = out.resolve()
    shared = {Path("/"): "the root folder", Path.home().resolve(): "your home folder"}
    if bank is not None:
        shared[bank.resolve()] = "the bank folder"
    what = shared.get(target)
    if what is not None:
        raise InputError(f"the output folder is {what}; give a build a folder of its own", file=out)


@contextmanager
def staging(out: Path, *, bank: Path | None = None) -> Iterator[Path]:
    """Yield a temporary folder inside `out`; it is removed whatever happens.

    `out` may not be /, the home folder or `bank` (the bank's folder).

    The build holds `out`'s lock throughout: a second build into the same folder is
    refused with one line, never mixed with the first (PDFs of one seed beside the
    manifests of another would have papers graded against the wrong key).
    """
    _refuse_shared_folders(out, bank)
    try:
        out.mkdir(parents=True, exist_ok=True)
        lock = os.open(out / LOCK, os.O_RDWR | os.O_CREAT, 0o644)
    except OSError as exc:
        raise InputError(f"cannot write the output folder: {exc.strerror}", file=out) from None
    try:
        try:
            fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise InputError(
                "another qbgen build is writing into this folder; run this one when it has finished",
                file=out,
            ) from None
        try:
            _sweep_stale(out)
            tmp = Path(tempfile.mkdtemp(prefix=f".qbgen-build-{os.getpid()}-", dir=out))
        except OSError as exc:
            raise InputError(f"cannot write the output folder: {exc.strerror}", file=out) from None
        try:
            yield tmp
        finally:
            shutil.rmtree(tmp, ignore_errors=True)
    finally:
        os.close(lock)  # and with it the lock


def _sweep_stale(out: Path) -> None:
    # A build killed outright (SIGKILL, power loss) leaves its staging folder; the
    # published files were never touched. Remove folders whose process is gone.
    for old in out.glob(".qbgen-build-*"):
        m = re.match(r"\.qbgen-build-(\d+)-", old.name)
        if m is None:
            continue
        try:
            os.kill(int(m.group(1)), 0)
        except ProcessLookupError:
            shutil.rmtree(old, ignore_errors=True)
        except PermissionError:
            pass  # alive, someone else's


PAPER_FILES = ("exam.pdf", "key.pdf", "exam.tex", "key.tex", "manifest.json")


def previous_outputs(out: Path) -> set[str]:
    """The files the last build wrote into `out`, as its top manifest.json names them.

    Only qbgen's own file names, in folders that are one plain path component: a
    hand-edited or foreign manifest can never point the clean-up outside `out`.
    """
    try:
        old = json.loads((out / "manifest.json").read_text("utf-8"))
    except (OSError, ValueError):
        return set()
    if not isinstance(old, dict):
        return set()
    if "papers" not in old:
        return set(PAPER_FILES)
    names = {"exams.pdf", "keys.pdf", "manifest.json", "crib.pdf", "crib.tex"}
    if old.get("model_key") is True:  # a roster build's one key, at the top
        names.update({"key.pdf", "key.tex"})
    for paper in old["papers"] if isinstance(old["papers"], list) else []:
        folder = paper.get("folder") if isinstance(paper, dict) else None
        if isinstance(folder, str) and re.fullmatch(r"[^/\\.][^/\\]*", folder):
            names.update(f"{folder}/{f}" for f in PAPER_FILES)
    return names


def publish(tmp: Path, out: Path, names: list[str]) -> list[Path]:
    """Move finished files from `tmp` into `out`, each with an atomic rename.

    Then remove what the previous build in `out` wrote and this one did not (sets
    K..T after building 20 sets and then 10, a roster's departed students), so the
    folder never mixes two builds. Other files in `out` are left alone.
    """
    # Only a build (it writes the top manifest) replaces a build; a preview adds files.
    stale = previous_outputs(out) - set(names) if "manifest.json" in names else set()
    # Manifests go last: a reader that sees one sees the files it describes.
    ordered = sorted(names, key=lambda n: (n.endswith("manifest.json"), n.count("/"), n))
    root = out.resolve()
    for name in ordered:  # nothing moves until every target is inside `out`
        _inside(out / name, root)
    placed = []
    for name in ordered:
        dest = out / name
        dest.parent.mkdir(parents=True, exist_ok=True)
        os.replace(tmp / name, dest)
        placed.append(dest)
    for name in sorted(stale):
        if (out / name).parent.is_symlink() or not (out / name).parent.resolve().is_relative_to(root):
            continue  # never through a link out of `out`
        (out / name).unlink(missing_ok=True)
        if "/" in name:
            try:
                (out / name).parent.rmdir()  # only once empty: a user's own file keeps it
            except OSError:
                pass
    return placed


FAILED = "failed"
_OURS = ".qbgen-failed"  # marks a failed/ folder qbgen made: only such a one is replaced or removed


def drop_failed(out: Path) -> None:
    """Remove `out/failed/` if qbgen made it (a user's own failed/ folder stays)."""
    failed = out / FAILED
    if not failed.is_symlink() and (failed / _OURS).is_file():
        shutil.rmtree(failed, ignore_errors=True)


def _inside(path: Path, root: Path) -> None:
    # A folder of `out` that is a symbolic link would take a build's files elsewhere.
    folder = path.parent
    while folder != folder.parent and folder.resolve() != root:
        if folder.is_symlink():
            raise InputError("is a symbolic link; a build writes only inside its output folder", file=folder)
        folder = folder.parent


def keep_failed(exc: TypesetError, out: Path) -> TypesetError:
    """Keep the failed document's .tex and .log (and its folder's) under `out/failed/`.

    Returns the error, now naming the kept copy; if `failed/` is the user's own (or a
    symbolic link), nothing is kept and the error is returned as it was.
    """
    failed = out / FAILED
    drop_failed(out)
    if failed.is_symlink() or failed.exists():
        return exc
    failed.mkdir(parents=True)
    (failed / _OURS).write_text("qbgen keeps a failed build's .tex and .log here\n", "utf-8")
    src = Path(exc.file) if exc.file else None
    if src is not None:
        for f in src.parent.glob("*"):
            if f.suffix in (".tex", ".log") and f.is_file():
                shutil.copy2(f, failed / f.name)
    return exc.located(file=failed / (src.name if src else "exam.tex"))

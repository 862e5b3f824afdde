"""Publishing a build: staged beside the output folder, then swapped in at one step.

Room: the output folder's bookkeeping. Imports only errors.

- A build makes its files in a staging folder beside the output folder, on the same
  file system (`.NAME.qbgen-build-PID-*`). Publishing hard-links into it everything of
  the output folder that the previous build did not write (the user's own files, a
  grader's filled sheet, the lock), then exchanges the two folders in one rename
  (Linux `renameat2(RENAME_EXCHANGE)`): a reader, a crash or a kill sees the previous
  complete build or the next one, never a mix. The previous build goes with the
  staging folder.
- `.qbgen-files` in the output folder records what qbgen wrote there, and which
  command wrote each file (`build`, `export`, `site`, `grade`). A command replaces or
  removes only its own files: a file of the same name that qbgen did not write, or
  that another command wrote (an export's manifest.json over a build's), makes it
  refuse, naming the file, before anything moves; another command's files it does
  not write stay as they are (a rebuild keeps `grade`'s grades.csv, an export into a
  build's folder is refused at its manifest.json and never removes the build's PDFs
  or filled sheets). No file of a manifest or of any other name is guessed to be
  qbgen's.
- Where the output folder cannot be staged beside (its parent is read-only, it is a
  mount point, its file system cannot exchange), the files move in one at a time, each
  an atomic rename, with the record last. Before the first move, a journal
  (`.qbgen-journal`, written whole by a rename) names the staging folder and every
  step; each step can be done again. A build killed outright (SIGKILL, power loss)
  part-way leaves the journal, and the next run that takes the folder's lock (a build,
  export, site or preview into it; even one that then fails on a LaTeX error) first
  finishes those steps, so the folder holds that build whole. SIGINT and SIGTERM wait
  until publishing is done.
- A LaTeX failure keeps its `.tex` and `.log` under `failed/`.
"""

from __future__ import annotations

import ctypes
import errno
import fcntl
import json
import os
import re
import shutil
import signal
import stat
import tempfile
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from .errors import EnvironmentProblem, InputError, QbgenError, TypesetError

LOCK = ".qbgen-lock"  # held (flock) by the build writing into the folder
RECORD = ".qbgen-files"  # what qbgen wrote into the folder: only these it replaces or removes
JOURNAL = ".qbgen-journal"  # the steps of a one-file-at-a-time publish still to be done
_BUILD = ".qbgen-build-"  # staging folders: beside the output, or (fallback) inside it
# Written afresh by each publish, never carried over from the previous output (nor a
# `.part` a kill left).
_BOOKKEEPING = {RECORD, JOURNAL, f"{RECORD}.part", f"{JOURNAL}.part"}
_SIGNALS = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)


class Interrupted(KeyboardInterrupt):
    """Ctrl-C (or SIGTERM) that arrived while the output was being swapped: it is the new one."""

    what = "the new output was already in place"


def _refuse_shared_folders(out: Path, banks: Sequence[Path]) -> None:
    # A build removes what it wrote before and sweeps its staging folders: never in a
    # folder that is everyone's (/), the user's own (~) or a bank's.
    target = out.resolve()
    shared = {Path("/"): "the root folder", Path.home().resolve(): "your home folder"}
    for root in banks:
        shared[root.resolve()] = "the bank folder"
    what = shared.get(target)
    if what is not None:
        raise InputError(f"the output folder is {what}; give a build a folder of its own", file=out)


@contextmanager
def staging(out: Path, *, bank: Sequence[Path] = ()) -> Iterator[Path]:
    """Yield a fresh staging folder for a build into `out`; it is removed whatever happens.

    `out` may not be /, the home folder or one of `bank` (the run's bank folders).

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
            _finish_journal(out.resolve())  # before the sweep: its staging folder is the journal's
            _sweep_stale(out.resolve())
            tmp = _stage(out.resolve())
        except OSError as exc:
            raise InputError(f"cannot write the output folder: {exc.strerror}", file=out) from None
        try:
            yield tmp
        except QbgenError as exc:
            if exc.file == str(tmp):  # the staging folder is qbgen's business: name the output
                exc.file = str(out)
            raise
        except OSError as exc:  # a full disk, say, while a writer wrote into the staging folder
            raise EnvironmentProblem(f"cannot write the output: {exc.strerror or exc}", file=out) from None
        finally:
            shutil.rmtree(tmp, ignore_errors=True)  # after a swap: the previous build
    finally:
        os.close(lock)  # and with it the lock


def stage_pattern(out: Path) -> str:
    """The glob of `out`'s staging folders beside it (for tests and the sweep)."""
    return f".{out.resolve().name}{_BUILD}*"


def _stage(real: Path) -> Path:
    # Beside the output folder when its parent takes it and it is the same file system
    # (a swap needs both); else inside it, for the one-at-a-time fallback.
    try:
        tmp = Path(tempfile.mkdtemp(prefix=f".{real.name}{_BUILD}{os.getpid()}-", dir=real.parent))
    except OSError:
        tmp = None
    if tmp is not None:
        if tmp.stat().st_dev == real.stat().st_dev:
            os.chmod(tmp, stat.S_IMODE(real.stat().st_mode))  # the swapped-in folder keeps its mode
            return tmp
        tmp.rmdir()
    return Path(tempfile.mkdtemp(prefix=f"{_BUILD}{os.getpid()}-", dir=real))


def _sweep_stale(real: Path) -> None:
    # A build killed outright (SIGKILL, power loss) leaves its staging folder (or, after
    # its swap, the previous build in it); the output was never mixed. Remove those
    # whose process is gone.
    for old in [*real.parent.glob(f".{real.name}{_BUILD}*"), *real.glob(f"{_BUILD}*")]:
        m = re.search(rf"{re.escape(_BUILD)}(\d+)-", old.name)
        if m is None or old.is_symlink() or not old.is_dir():
            continue
        try:
            os.kill(int(m.group(1)), 0)
        except ProcessLookupError:
            shutil.rmtree(old, ignore_errors=True)
        except PermissionError:
            pass  # alive, someone else's


def _plain(name: str) -> bool:
    # A path qbgen may have written: relative, inside the folder, no dot-dot.
    parts = name.split("/")
    return "\\" not in name and all(p not in ("", ".", "..") for p in parts)


def recorded(out: Path) -> set[str]:
    """The files qbgen's builds wrote into `out`, as its `.qbgen-files` records them."""
    return set(owners(out))


def owners(out: Path) -> dict[str, str]:
    """Each file qbgen wrote into `out`, with the command that wrote it (`.qbgen-files`)."""
    try:
        data = json.loads((out / RECORD).read_text("utf-8"))
    except (OSError, ValueError):
        return {}
    files = data.get("files") if isinstance(data, dict) else None
    if not isinstance(files, list):
        return {}
    names = {f for f in files if isinstance(f, str) and _plain(f)}
    by = _owners_of(data.get("owners"))
    legacy = _command_of(names)  # a record from before records named their commands
    return {n: by.get(n, legacy) for n in names}


def _owners_of(data: object) -> dict[str, str]:
    # {command: [file, ...]} as a record or a journal holds it, as {file: command}.
    if not isinstance(data, dict):
        return {}
    return {
        n: command
        for command, names in data.items()
        if isinstance(command, str) and isinstance(names, list)
        for n in names
        if isinstance(n, str)
    }


def _command_of(names: Iterable[str]) -> str:
    # The command whose output `names` is, where the caller did not say: an export
    # writes its report (writers.lms.REPORT), the site its index; all else is a build's.
    names = set(names)
    if "export-report.txt" in names:
        return "export"
    if "index.html" in names:
        return "site"
    return "build"


def _by_command(owned: dict[str, str]) -> dict[str, list[str]]:
    out: dict[str, list[str]] = {}
    for name, command in sorted(owned.items()):
        out.setdefault(command, []).append(name)
    return out


def _record_text(names: Iterable[str], owned: dict[str, str] | None = None) -> str:
    files = sorted(set(names))
    record: dict[str, Any] = {"written_by": "qbgen", "files": files}
    if owned is not None:
        record["owners"] = _by_command({n: owned[n] for n in files if n in owned})
    return json.dumps(record, indent=1) + "\n"


def publish(
    tmp: Path,
    out: Path,
    names: list[str],
    *,
    replaces: bool = True,
    keep: Iterable[str] = (),
    command: str | None = None,
) -> list[Path]:
    """Make `out` hold the files `names` of `tmp`, in one step where the system allows.

    `command`: whose output this is (`build`, `export`, `site`, `grade`; if not given,
    told from `names`: an export's report, a site's index, else a build). `replaces`:
    what the same command wrote into `out` before and this run does not goes (sets
    K..T after building 20 sets and then 10, a roster's departed students); otherwise
    (a preview) the files join what is there. `keep`: files of the previous run that
    stay as they are (a sheet a grader has filled in). Every other file in `out` is
    left alone (another command's output among them), and one that qbgen did not
    write, or another command wrote, but this run would replace makes it refuse,
    naming the file.
    """
    real = out.resolve()
    owner = owners(real)
    old, new = set(owner), set(names)
    command = command or _command_of(new)
    kept = {k for k in keep if owner.get(k) == command}
    for name in sorted(new):
        target = real / name
        _inside(target, real)
        there = target.exists() or target.is_symlink()
        if there and name not in old:
            raise InputError(
                f"was not written by a qbgen {command} (it is not in {RECORD}); "
                "move it away or choose another --out",
                file=out / name,
            )
        if there and owner[name] != command:
            raise InputError(
                f"was written by `qbgen {owner[name]}`, and `qbgen {command}` replaces only what it "
                "wrote itself; choose another --out",
                file=out / name,
            )
    mine = {n for n, c in owner.items() if c == command}
    ours = (mine - kept) if replaces else (old & new)  # what the new output does not carry
    others = _existing(real, old - mine - new)  # another command's: stays as it is
    record = (new | kept | others) if replaces else (_existing(real, old) | new)
    owned = {**owner, **dict.fromkeys(new | kept, command)}
    _tidy(tmp, new)
    if tmp.parent != real and _carry(real, tmp, ours | new):
        (tmp / RECORD).write_text(_record_text(record, owned), "utf-8")
        with _deferred_signals():
            if _exchange(tmp, real):
                _rescue(tmp, real, ours, new)
                return [out / n for n in names]
        # Cannot swap here: drop what was carried, publish one file at a time.
        (tmp / RECORD).unlink()
    return _one_at_a_time(tmp, out, real, names, ours - new, record, owned)


def _existing(real: Path, names: set[str]) -> set[str]:
    return {n for n in names if (real / n).exists()}


def _tidy(tmp: Path, names: set[str]) -> None:
    # Only the build's files go live: scratch a writer left in the staging folder goes.
    for root, dirs, files in os.walk(tmp, topdown=False):
        for f in files:
            path = Path(root, f)
            if str(path.relative_to(tmp)) not in names:
                path.unlink()
        for d in dirs:
            path = Path(root, d)
            if path.is_symlink():
                path.unlink()
            elif not any(path.iterdir()):
                path.rmdir()


def _carry(real: Path, tmp: Path, skip: set[str]) -> bool:
    # Hard-link into `tmp` every entry of `real` not in `skip`: the user's files, the
    # lock (the same inode, so the lock held stays held), links as links, empty folders.
    # False if something cannot be linked (another file system, a protected link).
    try:
        for root, dirs, files in os.walk(real):
            here = Path(root)
            rel = here.relative_to(real)
            if rel.parts and rel.parts[0].startswith(_BUILD):
                dirs[:] = []
                continue
            for name in files + [d for d in dirs if (here / d).is_symlink()]:
                key = str(rel / name) if rel.parts else name
                if key in skip or (not rel.parts and name in _BOOKKEEPING):
                    continue
                dest = tmp / key
                dest.parent.mkdir(parents=True, exist_ok=True)
                os.link(here / name, dest, follow_symlinks=False)
            if rel.parts and not files and not dirs:
                (tmp / rel).mkdir(parents=True, exist_ok=True)  # an empty folder of the user's
            dirs[:] = [d for d in dirs if not (here / d).is_symlink()]
    except OSError:
        return False
    return True


def _exchange(a: Path, b: Path) -> bool:
    # renameat2(RENAME_EXCHANGE): both paths stay, their contents trade places at once.
    libc = ctypes.CDLL(None, use_errno=True)
    fn = getattr(libc, "renameat2", None)
    if fn is None:
        return False
    at_fdcwd, rename_exchange = -100, 2
    if fn(at_fdcwd, os.fsencode(a), at_fdcwd, os.fsencode(b), rename_exchange) == 0:
        return True
    if ctypes.get_errno() in (errno.EINVAL, errno.ENOSYS, errno.EXDEV, errno.EPERM, errno.ENOTSUP):
        return False
    raise OSError(ctypes.get_errno(), os.strerror(ctypes.get_errno()), str(b))


def _rescue(previous: Path, real: Path, ours: set[str], new: set[str]) -> None:
    # The previous output is now `previous`. A file the user made or replaced in `real`
    # while the build ran (after the links were made) moves across, never lost.
    for root, dirs, files in os.walk(previous):
        here = Path(root)
        rel = here.relative_to(previous)
        if rel.parts and rel.parts[0].startswith(_BUILD):
            dirs[:] = []  # a fallback build's staging folder: not the user's
            continue
        for name in files:
            key = str(rel / name) if rel.parts else name
            if key in ours or key == RECORD:
                continue
            src, dest = here / name, real / key
            try:
                if dest.exists() and os.path.samefile(src, dest):
                    continue
                if key in new:
                    dest = dest.with_name(dest.name + ".kept")
                dest.parent.mkdir(parents=True, exist_ok=True)
                os.replace(src, dest)
            except OSError:
                pass  # best effort: what stays is in the sweep's way only if its process died


def _one_at_a_time(
    tmp: Path,
    out: Path,
    real: Path,
    names: list[str],
    stale: set[str],
    record: set[str],
    owned: dict[str, str],
) -> list[Path]:
    # Manifests go last: a reader that sees one sees the files it describes.
    ordered = sorted(names, key=lambda n: (n.endswith("manifest.json"), n.count("/"), n))
    journal: dict[str, Any] = {
        "written_by": "qbgen",
        "staged": tmp.name,
        "beside": tmp.parent != real,  # staged beside, but the swap could not be made
        "move": ordered,
        "remove": sorted(stale),
        "record": sorted(record),
        "owners": _by_command({n: owned[n] for n in record if n in owned}),
    }
    with _deferred_signals():
        _write_whole(real / JOURNAL, json.dumps(journal, indent=1) + "\n")
        _play(real, journal)
    return [out / name for name in ordered]


def _write_whole(path: Path, text: str) -> None:
    # Written beside, synced, renamed into place: whoever reads `path` reads all of it,
    # and after a power loss it is there before any step it names has been done.
    part = path.with_name(path.name + ".part")
    with part.open("w", encoding="utf-8") as f:
        f.write(text)
        f.flush()
        os.fsync(f.fileno())
    os.replace(part, path)
    folder = os.open(path.parent, os.O_RDONLY)
    try:
        os.fsync(folder)
    finally:
        os.close(folder)


def _play(real: Path, journal: dict[str, Any]) -> None:
    # Every step of a journal, each safe to do again: a file still in the staging folder
    # has not moved yet; a file to remove may be gone already. The record is written
    # once every file is in; the journal goes last.
    staged = _staged(real, journal)
    for name in journal["move"]:
        src, dest = staged / name, real / name
        if not os.path.lexists(src):
            continue  # moved before the kill
        dest.parent.mkdir(parents=True, exist_ok=True)
        os.replace(src, dest)
    for name in journal["remove"]:
        path = real / name
        if path.parent.is_symlink() or not path.parent.resolve().is_relative_to(real):
            continue  # never through a link out of `out`
        path.unlink(missing_ok=True)
        if "/" in name:
            try:
                path.parent.rmdir()  # only once empty: a user's own file keeps it
            except OSError:
                pass
    # A journal from before records named their commands has no owners: the record
    # then tells them from its files, as any such record.
    owned = _owners_of(journal.get("owners")) if "owners" in journal else None
    _write_whole(real / RECORD, _record_text(journal["record"], owned))
    (real / JOURNAL).unlink()


def _finish_journal(real: Path) -> None:
    # A build killed while it published one file at a time left its journal: do the rest
    # of its steps now (the lock is held, so its build is over), so the folder holds that
    # build whole before this run does anything.
    (real / f"{JOURNAL}.part").unlink(missing_ok=True)  # killed before the first move
    (real / f"{RECORD}.part").unlink(missing_ok=True)
    try:
        journal = json.loads((real / JOURNAL).read_text("utf-8"))
    except FileNotFoundError:
        return
    except (OSError, ValueError):
        journal = None
    if not _journal_ok(journal):
        # Not one qbgen wrote (it renames a journal in whole): leave it to the user.
        raise InputError(
            f"is not a journal qbgen can read; move it away (it names the steps of an "
            f"interrupted publish, and {RECORD} what qbgen wrote)",
            file=real / JOURNAL,
        )
    staged = _staged(real, journal)
    old = recorded(real)
    for name in journal["move"]:
        dest = real / name
        if os.path.lexists(staged / name) and os.path.lexists(dest) and name not in old:
            # Made since the kill, where the killed build has yet to put its own file.
            raise InputError(
                f"was not written by a qbgen build (it is not in {RECORD}), and a build killed "
                "while publishing has its own file of this name to put here; move it away",
                file=dest,
            )
    # Had someone removed the staging folder, what did not move stays as it was: the
    # record still names every file of both builds still there, and the build now
    # running replaces or removes each.
    with _deferred_signals():
        _play(real, journal)
    shutil.rmtree(staged, ignore_errors=True)


def _staged(real: Path, journal: dict[str, Any]) -> Path:
    # The journal's staging folder: inside the output folder, or beside it.
    return (real.parent if journal["beside"] else real) / journal["staged"]


def _journal_ok(journal: object) -> bool:
    # Every name plain and inside the folder; the staging folder one of qbgen's, in it
    # or beside it.
    if not isinstance(journal, dict) or journal.get("written_by") != "qbgen":
        return False
    staged, beside = journal.get("staged"), journal.get("beside")
    lists = [journal.get(k) for k in ("move", "remove", "record")]
    return (
        isinstance(staged, str)
        and isinstance(beside, bool)
        and "/" not in staged
        and _plain(staged)
        and _BUILD in staged
        and all(isinstance(v, list) and all(isinstance(n, str) and _plain(n) for n in v) for v in lists)
    )


@contextmanager
def _deferred_signals() -> Iterator[None]:
    # Ctrl-C, SIGTERM and SIGHUP wait until the output is whole. Ctrl-C then ends the
    # run saying the new output is in place; the others take their usual course.
    got: list[int] = []
    try:
        previous = {s: signal.signal(s, lambda n, _f: got.append(n)) for s in _SIGNALS}
    except ValueError:  # not the main thread: signals are the main thread's business
        yield
        return
    try:
        yield
    finally:
        for s, handler in previous.items():
            signal.signal(s, handler)
        if signal.SIGINT in got:
            raise Interrupted()
        if got:
            os.kill(os.getpid(), got[0])


FAILED = "failed"
_OURS = ".qbgen-failed"  # marks a failed/ folder qbgen made: only such a one is replaced or removed


def drop_failed(out: Path) -> None:
    """Remove `out/failed/` if qbgen made it (a user's own failed/ folder stays)."""
    failed = out / FAILED
    if not failed.is_symlink() and (failed / _OURS).is_file():
        shutil.rmtree(failed, ignore_errors=True)


def _inside(path: Path, root: Path) -> None:
    # A folder of `out` that is a symbolic link, or a file where a folder must go.
    folder = path.parent
    while folder != folder.parent and folder != root:
        if folder.is_symlink():
            raise InputError("is a symbolic link; a build writes only inside its output folder", file=folder)
        if folder.exists() and not folder.is_dir():
            raise InputError("is a file where this build writes a folder; move it away", file=folder)
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
    src = Path(exc.file) if exc.file else None
    try:
        failed.mkdir(parents=True)
        (failed / _OURS).write_text("qbgen keeps a failed build's .tex and .log here\n", "utf-8")
        if src is not None:
            for f in src.parent.glob("*"):
                if f.suffix in (".tex", ".log") and f.is_file():
                    shutil.copy2(f, failed / f.name)
    except OSError:  # a full disk: the LaTeX error that came first is the one to tell
        shutil.rmtree(failed, ignore_errors=True)
        return exc
    return exc.located(file=failed / (src.name if src else "exam.tex"))

"""Stage 5: typeset LaTeX source into PDF with pdflatex, safely and once.

Room: running pdflatex (one pass: qbgen knows every number and total) in a build
folder, and turning a failed run into one line that names the question (as data:
`TypesetError.question`, from the question spans the .tex marks). Sees only text and
paths; imports errors and settings.

Safety: no shell escape; `openin_any=p` and `openout_any=p` (TeX Live's paranoid
mode) so TeX reads and writes nothing outside the build folder's tree and no dot
file; the run's working directory is the build folder; a run that does not finish
within the time limit is killed. `SOURCE_DATE_EPOCH` with `FORCE_SOURCE_DATE=1`
makes PDFs byte-identical across rebuilds.

Speed: the shared preamble (packages, macros) is dumped once into a format with
mylatexformat and cached (the settings' `cache_dir`), keyed by the
preamble's text and the pdflatex binary; every later run loads it instead of the
packages. The format's name carries a digest of its bytes, checked before it is used:
a cached format that was cut short or damaged is dumped again, never loaded (TeX
would stop without a log, or worse, load damaged catcodes and blame the text).
Without mylatexformat, or if the dump fails, runs fall back to the plain format.
"""

from __future__ import annotations

import contextlib
import fcntl
import gzip
import hashlib
import os
import re
import shutil
import subprocess
import tempfile
from collections.abc import Collection, Sequence
from concurrent.futures import ThreadPoolExecutor
from functools import cache
from pathlib import Path

from .errors import EnvironmentProblem, TypesetError
from .scripts import FONT_PACKAGES, LUALATEX_FONTS, LUALATEX_MARK, PLAIN_MARK, lualatex_warmup
from .settings import DEFAULT_TEX_TIMEOUT as DEFAULT_TIMEOUT
from .settings import keep, settings

INSTALL_HINT = (
    "pdflatex not found; install TeX Live, e.g. on Debian: sudo apt-get install "
    "texlive-latex-base texlive-latex-recommended texlive-latex-extra "
    "texlive-fonts-recommended texlive-pictures lmodern"
)
# What pdfTeX says on the terminal when a write fails (`fwrite() failed`, `fflush() failed
# (No space left on device)`).
_WRITE_FAULT = re.compile(rb"^!\s*(?:pdfTeX|LuaTeX) error: .*(?:fwrite|fflush|No space left)", re.M)
_BEGIN = re.compile(r"^% qbgen: begin (\S+)")
_END = re.compile(r"^% qbgen: end (\S+)")
# What pdfTeX says, before any log, when a format will not load: cut short, damaged,
# missing, or made by another build of it.
_FORMAT_FAULT = re.compile(
    rb"Could not undump|Fatal format file error|I can't find the format file|^---! .* was written by", re.M
)


def pdflatex() -> str:
    """Return the pdflatex executable, or explain how to install it."""
    chosen = settings().pdflatex
    if chosen:
        exe = shutil.which(chosen)  # a name on PATH or a path; None unless it can run
        if not exe:
            raise EnvironmentProblem(f"QBGEN_PDFLATEX: {chosen} is not a program this user can run")
        return exe
    exe = shutil.which("pdflatex")
    if not exe:
        raise EnvironmentProblem(INSTALL_HINT)
    return exe


# kpathsea's search paths a user's environment could point elsewhere (TEXINPUTS,
# TFMFONTS, TEXMFHOME, TEXMFCNF, ...): a build reads the system TeX tree, nothing else.
_KPSE = re.compile(r"^(TEXMF\w*|\w*INPUTS|\w*FONTS|TEXPSHEADERS|TEXCONFIG|TEXFORMATS|TEXPOOL|KPATHSEA_\w*)$")
_NO_TREE = "/nonexistent/qbgen-no-user-texmf"  # TEXMFHOME and its kin: searched, never found


def tex_env() -> dict[str, str]:
    """Return the environment of a pdflatex run.

    Paranoid file access, fixed dates, and no TeX tree but the system's: no TEXINPUTS,
    no ~/texmf.
    """
    env = {k: v for k, v in os.environ.items() if not _KPSE.match(k)}
    env.update(TEXMFHOME=_NO_TREE, TEXMFCONFIG=_NO_TREE)
    env.update(openin_any="p", openout_any="p", shell_escape="f")
    # The log unwrapped (TeX folds it at 79 columns, cutting messages and file names in
    # two) and its error context as wide as TeX allows.
    env.update(max_print_line="100000", error_line="254", half_error_line="238")
    env.setdefault("SOURCE_DATE_EPOCH", "0")
    env["FORCE_SOURCE_DATE"] = "1"
    return env


def question_at(tex_lines: Sequence[str], line: int) -> str | None:
    """Return the id of the question whose span in the .tex holds `line` (1-based)."""
    for i in range(min(line, len(tex_lines)) - 1, -1, -1):
        if _END.match(tex_lines[i]) and i < line - 1:
            return None
        m = _BEGIN.match(tex_lines[i])
        if m:
            return m.group(1).replace(r"\-", "-")
    return None


def _last_line(tex_path: Path) -> int | None:
    # A killed run's log shows TeX's place only if it reported a line (l.NNN); then that
    # line locates the question, else nothing does (guessing from pages would mislead).
    log = tex_path.with_suffix(".log")
    if not log.exists():
        return None
    seen = re.findall(r"\bl\.(\d+)", log.read_text("latin-1"))
    return int(seen[-1]) if seen else None


def _question_of(tex_path: Path, line: int | None) -> str | None:
    return question_at(tex_path.read_text("utf-8").splitlines(), line) if line else None


def _runaway_line(log: str, tex_file: Path) -> int | None:
    # "Runaway argument?" and, next, the start of the argument TeX read to the end: the
    # first line of the .tex holding its opening words is where the brace was opened.
    m = re.search(r"^Runaway (?:argument|definition|text)\?\n(.*)$", log, re.M)
    if m is None:
        return None
    words = m.group(1).lstrip("{").split("\\")[0].strip()[:40]
    if len(words) < 4:
        return None
    try:
        lines = tex_file.read_text("utf-8").splitlines()
    except (OSError, UnicodeDecodeError):
        return None
    return next((i for i, text in enumerate(lines, 1) if words in text), None)


def _disk_full(tex_file: Path) -> bool:
    try:
        return shutil.disk_usage(tex_file.parent).free < 64 * 1024
    except OSError:
        return False


def summarise_log(log: str, tex_file: Path) -> tuple[str, int | None]:
    """Return (the first error's message and context, its .tex line) from a log."""
    lines = log.splitlines()
    for i, text in enumerate(lines):
        m = re.match(r"^(?:.*?)" + re.escape(tex_file.name) + r":(\d+): (.*)$", text)
        if m or text.startswith("! "):
            line_no = int(m.group(1)) if m else None
            message = m.group(2) if m else text[2:]
            context = ""
            for follow in lines[i + 1 : i + 25]:
                lm = re.match(r"^(?:.*?:(\d+): .*|l\.(\d+) (.*))$", follow)
                if lm and lm.group(2):
                    line_no = line_no or int(lm.group(2))
                    context = lm.group(3).strip()
                    break
                if lm and lm.group(1):
                    line_no = line_no or int(lm.group(1))
            if context:
                message += f" at: {context[-80:]}"
            runaway = _runaway_line(log, tex_file)
            if runaway is not None and (line_no is None or "File ended" in message):
                # TeX read to the end of the file: where the argument began is the place.
                line_no, message = runaway, message + " (a brace opened there is never closed)"
            if "not found" in message and re.search(r"`(/|\.\./)", message):
                message += " (TeX may read only files inside the build folder)"
            return message.strip(), line_no
    engine = re.search(r"^!\s*(?:pdfTeX|LuaTeX) error: (?:\S+: )?(.*)$", log, re.M)
    if engine and "fwrite" in engine.group(1):
        return "LaTeX could not write the PDF: is the disk full?", None
    if engine:
        return f"LaTeX stopped: {engine.group(1).strip()}", None
    if _disk_full(tex_file):  # the log itself was cut short: no message to read
        return "LaTeX could not write its files: is the disk full?", None
    if "Emergency stop" in log or "Fatal error" in log:
        return "LaTeX stopped (fatal error); see the .log", None
    return "LaTeX failed without an error message; see the .log", None


def cache_dir() -> Path:
    """Return the folder of qbgen's cached formats."""
    return settings().cache_dir


@cache
def _engine_id(exe: str) -> str:
    st = Path(exe).resolve().stat()
    return f"{Path(exe).resolve()}:{st.st_size}:{st.st_mtime_ns}"


_DIGEST = 16  # hex digits of a cached format's sha256 in its name


def _digest(path: Path) -> str:
    with path.open("rb") as f:
        return hashlib.file_digest(f, "sha256").hexdigest()[:_DIGEST]


# Formats this process has checked, by (path, size, mtime, inode): each is read once
# (about 15 ms for 19 MB), not once per document typeset with it.
_CHECKED: set[tuple[Path, int, int, int]] = set()


def _intact(path: Path) -> bool:
    # The name's digest is of the bytes the dump wrote: a format cut short (a full disk,
    # a copy killed), damaged or swapped for another file fails it. A format once found
    # intact is not read again while its size, time and inode are those its stamp
    # (`NAME.ok`) recorded then: any write to it, or a new file in its place, changes them.
    try:
        st = path.stat()
        stamp = (path, st.st_size, st.st_mtime_ns, st.st_ino)
        if stamp in _CHECKED:
            return True
        said = f"{st.st_size} {st.st_mtime_ns} {st.st_ino}"
        ok_file = path.with_name(path.name + ".ok")
        with contextlib.suppress(OSError):
            if ok_file.read_text("ascii") == said:
                _CHECKED.add(stamp)
                return True
        ok = path.name.endswith(f"-{_digest(path)}.fmt")
    except OSError:
        return False
    if ok:
        _CHECKED.add(stamp)
        keep(ok_file, said)
    return ok


def discard_format(fmt: Path) -> None:
    """Remove a cached format that does not load, so the next run dumps it again.

    Only one of qbgen's own (`qbgen-*.fmt` in the cache folder) is ever removed.
    """
    if fmt.parent == cache_dir() and fmt.name.startswith("qbgen-") and fmt.suffix == ".fmt":
        fmt.unlink(missing_ok=True)
        fmt.with_name(fmt.name + ".ok").unlink(missing_ok=True)


def ensure_format(preamble: str, *, timeout: float = DEFAULT_TIMEOUT) -> Path | None:
    """Return a cached format holding `preamble`, dumping it if needed; None if not possible.

    A cached format whose bytes no longer match the digest in its name is removed and
    dumped again.
    """
    if settings().no_format:
        return None
    exe = pdflatex()
    # "raw": the format is stored uncompressed (TeX reads both; a 19 MB format loads in
    # 0.05 s instead of 0.14 s gzipped, on every run).
    key = hashlib.sha256((preamble + "\0" + _engine_id(exe) + "\0raw").encode()).hexdigest()[:20]
    folder = cache_dir()
    for cached in sorted(folder.glob(f"qbgen-{key}-*.fmt")):
        if _intact(cached):
            return cached
        discard_format(cached)
    try:
        folder.mkdir(parents=True, exist_ok=True)
        tmp = Path(tempfile.mkdtemp(prefix="dump-", dir=folder))
    except OSError:
        return None
    target: Path | None = None
    try:
        (tmp / "qbpre.tex").write_text(
            preamble + "\\csname endofdump\\endcsname\n\\begin{document}\\end{document}\n", "utf-8"
        )
        cmd = [exe, "-ini", "-interaction=nonstopmode", "-halt-on-error", "-jobname=qbpre",
               "&pdflatex", "mylatexformat.ltx", "qbpre.tex"]  # fmt: skip
        proc = subprocess.run(
            cmd, cwd=tmp, env=tex_env(), stdin=subprocess.DEVNULL, capture_output=True,
            timeout=timeout, check=False,
        )  # fmt: skip
        dumped = tmp / "qbpre.fmt"
        if proc.returncode == 0 and dumped.exists():
            with dumped.open("rb") as f:
                packed = f.read(2) == b"\x1f\x8b"
            if packed:
                raw = tmp / "raw.fmt"
                with gzip.open(dumped, "rb") as src, raw.open("wb") as dst:
                    shutil.copyfileobj(src, dst, 1 << 20)
                dumped = raw
            target = folder / f"qbgen-{key}-{_digest(dumped)}.fmt"
            os.replace(dumped, target)  # atomic: a racing build sees all or nothing
            discard_format(folder / f"qbgen-{key}.fmt")  # its name before names had digests
    except (OSError, subprocess.TimeoutExpired):
        return None
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return target if target is not None and target.exists() else None


def page_map(tex_path: Path) -> list[tuple[int, int]]:
    """Return each paper's (first, last) page, 1-based, from the run's `.map` file."""
    starts: dict[int, int] = {}
    ends: dict[int, int] = {}
    for line in tex_path.with_suffix(".map").read_text("ascii").splitlines():
        what, index, page = line.split()
        (starts if what == "start" else ends)[int(index)] = int(page)
    return [(starts[i], ends[i]) for i in sorted(starts)]


@cache
def lualatex() -> str:
    """Return the lualatex executable with its font loader, or explain what to install."""
    exe = shutil.which("lualatex")
    kpsewhich = shutil.which("kpsewhich")
    found = (
        kpsewhich
        and subprocess.run(
            [kpsewhich, "luaotfload.sty"], capture_output=True, text=True, check=False
        ).stdout.strip()
    )
    if not exe or not found:
        raise EnvironmentProblem(
            "a document holds characters pdflatex cannot set (the scripts of India, Urdu, CJK, "
            f"Greek or Cyrillic): it needs LuaLaTeX and the Noto fonts: sudo apt-get install {FONT_PACKAGES}"
        )
    return exe


WARMUP_TIMEOUT = 900.0  # the first LuaLaTeX run on a machine analyses the Noto CJK fonts


def warm_lualatex(exe: str) -> None:
    """Fill luaotfload's font caches once per font block and engine (`scripts.lualatex_warmup`).

    Serialised by a lock in the cache folder, so two documents typeset at once do not
    both pay for it; a failure here is left for the document's own run to report.
    """
    key = hashlib.sha256((LUALATEX_FONTS + "\0" + _engine_id(exe)).encode()).hexdigest()[:16]
    stamp = cache_dir() / f"lualatex-fonts-{key}.ok"
    if stamp.exists():
        return
    try:
        stamp.parent.mkdir(parents=True, exist_ok=True)
        lock = os.open(stamp.with_suffix(".lock"), os.O_RDWR | os.O_CREAT, 0o644)
    except OSError:
        return
    try:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if stamp.exists():
            return
        with tempfile.TemporaryDirectory(prefix="qbgen-fonts-") as tmp:
            (Path(tmp) / "warm.tex").write_text(lualatex_warmup(), "utf-8")
            cmd = [
                exe,
                "-interaction=nonstopmode",
                "-halt-on-error",
                "-no-shell-escape",
                "--nosocket",
                "warm.tex",
            ]
            proc = subprocess.run(
                cmd, cwd=tmp, env=tex_env(), stdin=subprocess.DEVNULL, capture_output=True,
                timeout=WARMUP_TIMEOUT, check=False,
            )  # fmt: skip
        if proc.returncode == 0:
            stamp.touch()
    except (OSError, subprocess.TimeoutExpired):
        pass
    finally:
        os.close(lock)


def engine(tex_path: Path) -> str:
    """The engine a document was written for: its font block says (see `scripts.adapt`)."""
    with tex_path.open("rb") as f:
        head = f.read(8192).decode("utf-8", "replace")
    if head.startswith(PLAIN_MARK):
        return "luatex"  # plain LuaTeX: the names document (scripts.names_document)
    return "lualatex" if LUALATEX_MARK in head else "pdflatex"


def typeset(tex_path: Path, *, fmt: Path | None = None, timeout: float | None = None) -> Path:
    """Run one pass of its engine on `tex_path` (in its folder); return the PDF's path.

    pdflatex with the cached format `fmt`, or, for a document written for LuaLaTeX
    (`scripts.adapt`), lualatex from its own preamble.
    """
    timeout = settings().tex_timeout if timeout is None else timeout
    name = engine(tex_path)
    if name in ("lualatex", "luatex"):
        exe, fmt = lualatex(), None
        warm_lualatex(exe)  # the font caches plain LuaTeX reads too
        if name == "luatex":
            exe = str(Path(exe).with_name("luatex"))
    else:
        exe = pdflatex()
    workdir = tex_path.parent
    cmd = [
        exe,
        "-interaction=nonstopmode",
        "-halt-on-error",
        "-file-line-error",
        "-no-shell-escape",
    ]
    if fmt is not None:
        cmd.append(f"-fmt={fmt.with_suffix('')}")
    if name in ("lualatex", "luatex"):
        cmd.append("--nosocket")  # and the document's preamble takes Lua to the build folder
    cmd.append(tex_path.name)
    try:
        proc = subprocess.run(
            cmd,
            cwd=workdir,
            env=tex_env(),
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            timeout=timeout,
            check=False,
        )
    except subprocess.TimeoutExpired:
        raise TypesetError(
            f"{name} did not finish within {timeout:g} s (an endless loop in the text?)",
            file=tex_path,
            question=_question_of(tex_path, _last_line(tex_path)),
        ) from None
    pdf = tex_path.with_suffix(".pdf")
    if proc.returncode != 0 or not pdf.exists():
        log_path = tex_path.with_suffix(".log")
        if fmt is not None and _FORMAT_FAULT.search(proc.stdout):
            # The cached format is at fault, not the text (its digest was checked, but it
            # can change under a run): run without it, and the next run dumps a fresh one.
            discard_format(fmt)
            return typeset(tex_path, fmt=None, timeout=timeout)
        raw = log_path.read_bytes() if log_path.exists() else proc.stdout
        log = raw.decode("utf-8", "replace") if name != "pdflatex" else raw.decode("latin-1")
        message, line = summarise_log(log, tex_path)
        if line is None and _WRITE_FAULT.search(proc.stdout):
            # The disk filled while the log was written: the log ends before TeX's own
            # complaint, which only the terminal saw.
            message = "LaTeX could not write the PDF: is the disk full?"
        raise TypesetError(
            f"LaTeX error: {message}", file=tex_path, line=line, question=_question_of(tex_path, line)
        )
    return pdf


def typeset_all(
    tex_paths: Sequence[Path],
    *,
    fmt: Path | None = None,
    jobs: int | None = None,
    first: Path | None = None,
    after: Collection[int] = (),
) -> list[Path]:
    """Typeset several files side by side (one pdflatex per core).

    `first`, if given, is typeset before the files whose indexes `after` holds (they read
    its PDF: `scripts.names_document`), beside the others. A failure is raised with
    `document`, the index of the failing file in `tex_paths` (None for `first`).
    """
    jobs = jobs or min(len(tex_paths) + (first is not None), os.cpu_count() or 1) or 1
    index = {id(p): i for i, p in enumerate(tex_paths)}

    def one(path: Path) -> Path:
        try:
            return typeset(path, fmt=fmt)
        except TypesetError as exc:
            raise exc.located(document=index[id(path)]) from None

    if first is None and jobs == 1:
        return [one(p) for p in tex_paths]
    if first is not None:
        # `first` starts at once, the other files as workers free up, those of `after`
        # last: one waits for `first` only when nothing else is left to do.
        with ThreadPoolExecutor(max_workers=jobs) as pool:
            head = pool.submit(typeset, first) if first is not None else None

            def then(path: Path) -> Path:
                if head is not None:
                    head.result()
                return one(path)

            order = sorted(range(len(tex_paths)), key=lambda i: i in after)
            futures = {i: pool.submit(then if i in after else one, tex_paths[i]) for i in order}
            if head is not None:
                head.result()
            return [futures[i].result() for i in range(len(tex_paths))]
    with ThreadPoolExecutor(max_workers=jobs) as pool:
        return list(pool.map(one, tex_paths))


OVERFULL_PT = 2.0  # smaller overruns are invisible at print size
_OVERFULL = re.compile(r"^Overfull \\hbox \(([\d.]+)pt too wide\) .*?lines? (\d+)", re.M)


def overfull_lines(log: str, tex_lines: Sequence[str]) -> list[tuple[str, float, int]]:
    """Return (question id, pt past the margin, .tex line) of each line set into the margin.

    Only lines of a question's span (`% qbgen: begin <id>`) and at least `OVERFULL_PT`
    too wide: the layout fault is the question's, and its author's to see.
    """
    found = []
    for m in _OVERFULL.finditer(log):
        width, line = float(m.group(1)), int(m.group(2))
        qid = question_at(tex_lines, line)
        if width >= OVERFULL_PT and qid is not None:
            found.append((qid, width, line))
    return found

"""The rest of the reliability probe (issue 23, item 7): Ctrl-C while the modules import,
a build killed while it publishes file by file, a house style that fails, a damaged
cached format, `list` into a full device, and a folder named `builtin`."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from qbgen.publish import JOURNAL, RECORD
from qbgen.settings import settings
from qbgen.typeset import discard_format, typeset

from .conftest import BANK, ROOT, cli, needs_tex, write_tree
from .test_bad_input import edit, make, one_line_error

# ---------------------------------------------------------------- Ctrl-C while importing


def _importing(pid: int) -> bool:
    # numpy's extension is mapped once qbgen.cli's imports have reached it (through
    # qbgen.authoring), a good quarter of a second before they end.
    try:
        return "_multiarray_umath" in Path(f"/proc/{pid}/maps").read_text()
    except OSError:
        return False


@pytest.mark.skipif(not Path("/proc/self/maps").exists(), reason="needs Linux's /proc")
@pytest.mark.parametrize("after", [0.0, 0.04, 0.12])
def test_ctrl_c_while_the_modules_import_is_one_line(after):
    # `validate` (a second or more): the Ctrl-C lands while it runs. (`list` now reads its
    # kept rows and may be done before the signal: then there is nothing to interrupt.)
    env = {k: v for k, v in os.environ.items() if k != "QBGEN_BANK"}
    proc = subprocess.Popen(
        [sys.executable, "-m", "qbgen", "validate", "--seeds", "50"],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    deadline = time.monotonic() + 60
    while not _importing(proc.pid) and proc.poll() is None and time.monotonic() < deadline:
        time.sleep(0.002)
    time.sleep(after)
    proc.send_signal(signal.SIGINT)
    _, err = proc.communicate(timeout=60)
    assert "Traceback" not in err, err
    # Exit 130, or killed by the SIGINT itself where it lands as Python shuts down (numpy
    # now loads inside the command): a shell's $? is 130 either way, after one line.
    assert proc.returncode in (130, -signal.SIGINT), (proc.returncode, err)
    assert err.count("\n") == 1 and err.startswith("error: interrupted"), err
    # (numpy loads inside the command now, where Ctrl-C also says what output it left:
    # one line either way, which is the point.)


@pytest.mark.parametrize("after", [0.0, 0.01, 0.03])
def test_ctrl_c_as_a_command_ends_prints_no_traceback(after):
    # `list` (its kept rows: quick) is interrupted as it prints and exits: whatever moment
    # the signal lands on, stderr holds its own lines only, never a traceback.
    env = {k: v for k, v in os.environ.items() if k != "QBGEN_BANK"}
    assert (
        subprocess.run([sys.executable, "-m", "qbgen", "list"], env=env, capture_output=True).returncode == 0
    )
    proc = subprocess.Popen(
        [sys.executable, "-m", "qbgen", "list"],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    assert proc.stdout is not None
    proc.stdout.readline()  # its header: the command is printing
    time.sleep(after)
    if proc.poll() is None:
        proc.send_signal(signal.SIGINT)
    out, err = proc.communicate(timeout=60)
    assert "Traceback" not in err and "Exception ignored" not in err, err
    assert proc.returncode in (0, 130, -signal.SIGINT), (proc.returncode, err)
    assert err.count("\n") <= 2, err


# ---------------------------------------------------------------- `list` into a full device


@pytest.mark.skipif(not Path("/dev/full").exists(), reason="no /dev/full")
@pytest.mark.parametrize("args", [["list", "--json"], ["list"]])
def test_list_into_a_full_device_is_one_line(args):
    # A real process: Python's own flush of stdout at exit must not complain again.
    env = {k: v for k, v in os.environ.items() if k != "QBGEN_BANK"}
    with open("/dev/full", "w") as full:
        r = subprocess.run(
            [sys.executable, "-m", "qbgen", *args],
            cwd=ROOT,
            env=env,
            stdout=full,
            stderr=subprocess.PIPE,
            text=True,
            timeout=120,
        )
    assert r.returncode == 2, r.stderr
    assert r.stderr == "error: <stdout>: cannot write the list: No space left on device\n"


# ---------------------------------------------------------------- a folder named builtin


def test_a_folder_named_builtin_is_not_taken_for_the_shipped_bank(tmp_path, monkeypatch):
    mine = make(tmp_path / "here").rename(tmp_path / "here" / "builtin")
    monkeypatch.chdir(tmp_path / "here")
    for args, env in ((["--bank", "builtin"], None), ([], {"QBGEN_BANK": "builtin"})):
        line = one_line_error(cli("list", *args, env=env), 2)
        assert line.startswith("error: builtin: the word 'builtin' names the bank shipped with qbgen")
        assert f"by its full path, {mine}," in line and f"by its path, {BANK}" in line
    # Each way the message offers reaches what it names.
    r = cli("list", "--bank", mine)
    assert r.returncode == 0 and r.stdout.splitlines()[1].split()[0] == "good", r.stderr  # under the header
    r = cli("list", "--bank", BANK)
    assert r.returncode == 0 and len(r.stdout.splitlines()) > 10, r.stderr
    # With no such folder here, the word is the shipped bank, as before.
    monkeypatch.chdir(tmp_path)
    r = cli("list", "--bank", "builtin")
    assert r.returncode == 0 and r.stdout == cli("list", "--bank", BANK).stdout


# ---------------------------------------------------------------- a house style that fails

STYLE_HEAD = r"""\BLOCK{macro setup()}
\BLOCK{endmacro}
"""


def _styled(tmp_path: Path, files: dict[str, str]) -> Path:
    bank = make(tmp_path)
    edit(bank / "exams" / "t.yaml", "course: Test", "course: Test\nstyle: mine")
    return write_tree(bank / "templates" / "mine", files)


@pytest.mark.parametrize(
    ("files", "where", "said"),
    [
        (
            {"paper.tex.j2": STYLE_HEAD},
            "paper.tex.j2: ",
            "house style 'mine' defines no paper(exam, answers): a style's paper.tex.j2 "
            "defines the macros setup() and paper(exam, answers)",
        ),
        (
            {"paper.tex.j2": "\\BLOCK{macro paper(exam, answers)}\nx\n\\BLOCK{endmacro}\n"},
            "paper.tex.j2: ",
            "house style 'mine' defines no setup(): a style's paper.tex.j2",
        ),
        (
            {
                "paper.tex.j2": STYLE_HEAD
                + "\\BLOCK{macro paper(exam, answers)}\n\\VAR{nosuch}\n\\BLOCK{endmacro}\n"
            },
            "paper.tex.j2:4: ",
            "house style 'mine' failed: 'nosuch' is undefined",
        ),
        (
            {"paper.tex.j2": '\\BLOCK{include "../../etc/passwd"}\n' + STYLE_HEAD},
            "paper.tex.j2:1: ",
            "house style 'mine' failed: includes '../../etc/passwd', which is not a template in the "
            "style folders",
        ),
        (
            {
                "paper.tex.j2": '\\BLOCK{import "mine/parts.tex.j2" as p}\n' + STYLE_HEAD,
                "parts.tex.j2": "\\BLOCK{macro x()}\n\\BLOCK{if}\n\\BLOCK{endmacro}\n",
            },
            "parts.tex.j2:2: ",
            "house style 'mine': template syntax: ",
        ),
    ],
    ids=["no-paper", "no-setup", "undefined", "include-outside", "syntax-in-an-import"],
)
def test_a_house_style_that_fails_is_one_line_at_its_file_and_line(tmp_path, files, where, said):
    style = _styled(tmp_path, files)
    out = tmp_path / "o"
    line = one_line_error(
        cli("build", style.parents[1] / "exams" / "t.yaml", "--bank", style.parents[1], "--out", out), 2
    )
    assert line.startswith(f"error: {style / where}{said}"), line
    assert "output" not in line  # the style is at fault, not the folder it was to go to
    assert sorted(p.name for p in out.iterdir()) == [".qbgen-lock"]


def test_a_filter_the_style_misuses_is_the_style_s_and_a_failure_deeper_in_qbgen_is_a_bug(tmp_path):
    paper = STYLE_HEAD + "\\BLOCK{macro paper(exam, answers)}\n\\VAR{CALL}\n\\BLOCK{endmacro}\n"
    style = _styled(tmp_path, {"paper.tex.j2": paper.replace("CALL", '"x"|marks')})
    build = [
        "build",
        style.parents[1] / "exams" / "t.yaml",
        "--bank",
        style.parents[1],
        "--out",
        tmp_path / "o",
    ]
    line = one_line_error(cli(*build), 2)
    assert line.startswith(f"error: {style / 'paper.tex.j2'}:4: house style 'mine' failed: ValueError: "), (
        line
    )
    # exam_side fails inside the kinds' code, two of qbgen's calls down: not blamed on the
    # style, which would hide the bug; it keeps its traceback.
    (style / "paper.tex.j2").write_text(paper.replace("CALL", 'exam_side(["x"])'))
    with pytest.raises(AttributeError):
        cli(*build)


# ---------------------------------------------------------------- a damaged cached format


@pytest.fixture()
def cache(tmp_path, monkeypatch):
    monkeypatch.setenv("QBGEN_CACHE", str(tmp_path / "cache"))
    settings.cache_clear()
    yield tmp_path / "cache"
    settings.cache_clear()


def _damage_cut(fmt: Path) -> None:
    os.truncate(fmt, fmt.stat().st_size // 3)  # TeX: "Could not undump", and no log


def _damage_garbage(fmt: Path) -> None:
    fmt.write_bytes(os.urandom(1000))  # TeX: "Fatal format file error; I'm stymied"


def _damage_inside(fmt: Path) -> None:
    # TeX loads this one, and its damaged tables blame the text ("invalid character")
    with fmt.open("r+b") as f:
        f.seek(100)
        f.write(bytes(range(100)))


@needs_tex
@pytest.mark.parametrize("damage", [_damage_cut, _damage_garbage, _damage_inside])
def test_a_damaged_cached_format_is_dumped_again(tmp_path, cache, damage):
    bank = make(tmp_path)
    build = ["build", bank / "exams" / "t.yaml", "--bank", bank, "--out", tmp_path / "o"]
    assert cli(*build, env={"QBGEN_CACHE": str(cache)}).returncode == 0
    (fmt,) = cache.glob("qbgen-*.fmt")
    good, pdf = fmt.read_bytes(), (tmp_path / "o" / "key.pdf").read_bytes()
    damage(fmt)
    r = cli(*build, env={"QBGEN_CACHE": str(cache)})
    assert r.returncode == 0, r.stderr
    (again,) = cache.glob("qbgen-*.fmt")
    assert again.read_bytes() == good, "the damaged format was dumped again"
    assert (tmp_path / "o" / "key.pdf").read_bytes() == pdf


@needs_tex
@pytest.mark.parametrize("data", [b"", os.urandom(1000)], ids=["empty", "garbage"])
def test_a_format_that_does_not_load_is_dropped_and_the_run_goes_on_without_it(tmp_path, cache, data):
    # The second line of defence: a format that fails to load at all (it passed the
    # digest check, then was replaced under the run) costs a run without it, not an error.
    cache.mkdir()
    bad = cache / "qbgen-0-0.fmt"
    bad.write_bytes(data)
    tex = tmp_path / "a.tex"
    tex.write_text("\\documentclass{article}\\begin{document}Hello\\end{document}\n")
    assert typeset(tex, fmt=bad) == tmp_path / "a.pdf" and (tmp_path / "a.pdf").is_file()
    assert not bad.exists()


def test_only_qbgen_s_own_cached_formats_are_ever_removed(tmp_path, cache):
    cache.mkdir()
    theirs = [tmp_path / "qbgen-0-0.fmt", cache / "pdflatex.fmt"]
    for f in theirs:
        f.write_bytes(b"x")
        discard_format(f)
    assert all(f.exists() for f in theirs)


# ---------------------------------------------------------------- killed while publishing file by file

# A real `qbgen build` that SIGKILLs itself just before its Nth change to the visible
# output folder (a rename into it, a removal, a folder made, a file opened for writing),
# as Python's audit hooks report them: every moment of publishing, one run each.
# With REFUSE set, a staging folder beside the output cannot be made (a read-only parent).
KILLER = r"""
import os, signal, sys, runpy
out, n, log, refuse = os.path.abspath(sys.argv[1]), int(sys.argv[2]), sys.argv[3], sys.argv[4] == "1"
WRITE = os.O_WRONLY | os.O_RDWR | os.O_CREAT | os.O_TRUNC | os.O_APPEND
seen = 0

def visible(path):
    if not isinstance(path, (str, bytes, os.PathLike)):
        return None
    rel = os.path.relpath(os.path.abspath(os.fsdecode(path)), out)
    top = rel.split(os.sep)[0]
    if rel.startswith("..") or rel == "." or top.startswith(".qbgen-build-") or top == ".qbgen-lock":
        return None
    return rel

def hook(event, args):
    global seen
    if refuse and event == "os.mkdir" and os.path.basename(os.fsdecode(args[0])).startswith(
        "." + os.path.basename(out) + ".qbgen-build-"
    ):
        raise PermissionError(13, "Permission denied", args[0])
    if event == "os.rename":
        rel = visible(args[1])
    elif event in ("os.remove", "os.rmdir", "os.mkdir"):
        rel = visible(args[0])
    elif event == "open" and isinstance(args[2], int) and args[2] & WRITE:
        rel = visible(args[0])
    else:
        return
    if rel is None:
        return
    seen += 1
    with open(log, "a") as f:
        f.write(f"{seen} {event} {rel}\n")
    if seen == n:
        os.kill(os.getpid(), signal.SIGKILL)

sys.addaudithook(hook)
sys.argv = ["qbgen", *sys.argv[5:]]
runpy.run_module("qbgen", run_name="__main__", alter_sys=True)
"""


@pytest.fixture()
def mount_point(tmp_path):
    """A folder that is a mount point (tmpfs), else a plain one whose parent refuses a staging folder."""
    where = tmp_path / "mnt"
    where.mkdir()
    try:
        cmd = ["mount", "-t", "tmpfs", "-o", "size=64m", "tmpfs", str(where)]
        mounted = subprocess.run(cmd, capture_output=True).returncode == 0
    except OSError:  # no mount program
        mounted = False
    yield where, not mounted  # (the folder, whether the child must refuse a folder beside it)
    if mounted:
        subprocess.run(["umount", str(where)], check=False)


def _state(out: Path) -> dict[str, bytes]:
    # Every file of the folder but the lock and what a failed build keeps under failed/.
    return {
        str(p.relative_to(out)): p.read_bytes()
        for p in out.rglob("*")
        if p.is_file() and p.name != ".qbgen-lock" and p.relative_to(out).parts[0] != "failed"
    }


def _put(out: Path, state: dict[str, bytes]) -> None:
    for p in out.iterdir():
        if p.name != ".qbgen-lock":
            shutil.rmtree(p) if p.is_dir() and not p.is_symlink() else p.unlink()
    for name, data in state.items():
        (out / name).parent.mkdir(parents=True, exist_ok=True)
        (out / name).write_bytes(data)


@needs_tex
def test_a_build_killed_while_it_publishes_file_by_file_is_finished_by_the_next_run(tmp_path, mount_point):
    out, refuse = mount_point
    bank = make(tmp_path)
    spec = bank / "exams" / "t.yaml"
    assert cli("build", spec, "--bank", bank, "--seed", "1", "--out", out).returncode == 0
    (out / "notes.txt").write_text("mine")  # the user's: never touched
    old = _state(out)
    log = tmp_path / "steps.log"

    def killed_at(n: int) -> subprocess.CompletedProcess[str]:
        # Two sets and a new seed: new files (A/, B/, crib), replaced ones (the sheets and
        # the top manifest) and the single paper's files to remove.
        log.unlink(missing_ok=True)
        return subprocess.run(
            [sys.executable, "-c", KILLER, out, str(n), log, "1" if refuse else "0",
             "build", spec, "--bank", bank, "--seed", "2", "--variants", "2", "--out", out],
            cwd=ROOT, capture_output=True, text=True, timeout=300,
        )  # fmt: skip

    r = killed_at(0)  # not killed: the steps, and the whole new build
    assert r.returncode == 0, r.stderr
    steps = log.read_text().splitlines()
    new = _state(out)
    journal = next(i for i, s in enumerate(steps, 1) if s.endswith(f"os.rename {JOURNAL}"))
    assert any(" os.remove " in s for s in steps[journal:]) and len(steps) > journal + 10
    # The next run: a build that fails on a LaTeX error (another bank) after taking the lock.
    broken = make(tmp_path / "broken")
    edit(broken / "q" / "good.yaml", "Right square.", "Right square \\undefinedmacro.")
    next_run = ["build", broken / "exams" / "t.yaml", "--bank", broken, "--out", out]
    # Every moment around the journal, and every third one after it up to the last.
    moments = sorted({1, journal - 1, journal, journal + 1, *range(journal + 3, len(steps), 3), len(steps)})
    for n in moments:
        _put(out, old)
        r = killed_at(n)
        assert r.returncode == -signal.SIGKILL, (n, r.stderr)
        if n == journal + 4:
            # A file made since the kill, where the killed build has yet to put its own:
            # the next run refuses, naming it, and changes nothing.
            waiting = next(s.split()[2] for s in steps[n - 1 :] if " os.rename " in s)
            (out / waiting).parent.mkdir(exist_ok=True)
            (out / waiting).write_text("made meanwhile")
            before = _state(out)
            line = one_line_error(cli(*next_run), 2)
            assert line.startswith(f"error: {out.resolve() / waiting}: was not written by a qbgen build")
            assert _state(out) == before
            (out / waiting).unlink()
        r = cli(*next_run)
        assert r.returncode == 1 and "LaTeX error: Undefined control sequence" in r.stderr, (n, r.stderr)
        # Killed before the journal was in: the previous build, whole; after: the new one.
        assert _state(out) == (old if n <= journal else new), (n, steps[n - 1])
        assert not list(out.glob(".qbgen-*.part")) and not (out / JOURNAL).exists()
        assert not list(out.glob(".qbgen-build-*")) and not list(out.parent.glob(".mnt.qbgen-build-*"))
    # And a build after it takes the folder as its own: nothing in it is refused as not qbgen's.
    r = cli("build", spec, "--bank", bank, "--seed", "3", "--out", out)
    assert r.returncode == 0, r.stderr
    assert json.loads((out / RECORD).read_text())["files"] == sorted(set(old) - {RECORD, "notes.txt"})
    assert (out / "notes.txt").read_text() == "mine"

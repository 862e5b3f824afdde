"""A build reads only what it needs while nothing has changed (issue 26, item 8), and says
the same as a whole load the moment anything has."""

from __future__ import annotations

import json
import os

import pytest

from qbgen import scripts, typeset
from qbgen.settings import settings

from .conftest import cli, copy_bank, needs_tex

# Bank code that notes each time it is imported (a generator may import os).
NOTE = """
import os as _os
if "QB_NOTE" in _os.environ:
    open(_os.environ["QB_NOTE"], "a").write(__name__.split(".")[-1] + "\\n")
"""


def _build(bank, out, env, *extra):
    r = cli(
        "build", bank / "exams" / "paper-b.yaml", "--bank", bank, "--seed", "3", "--out", out, *extra, env=env
    )
    assert r.returncode == 0, r.stderr
    return (out / "key.tex").read_text("utf-8")


@needs_tex
def test_a_build_reads_only_its_spec_s_questions_until_a_bank_file_changes(tmp_path):
    bank = copy_bank(tmp_path / "bank")
    used, unused = bank / "fcnn" / "momentum_backprop.py", bank / "fcnn" / "softmax_temperature.py"
    for gen in (used, unused):  # paper-b:1 draws the first; only paper A has the second
        gen.write_text(gen.read_text("utf-8") + NOTE, "utf-8")
    note = tmp_path / "imported.txt"
    env = {"QBGEN_CACHE": str(tmp_path / "cache"), "QB_NOTE": str(note)}

    first = _build(bank, tmp_path / "a", env)  # a whole load: every question, every generator
    assert sorted(note.read_text().split()) == ["momentum_backprop", "softmax_temperature"]
    note.unlink()
    again = _build(bank, tmp_path / "b", env)  # the index: paper B's questions alone
    assert note.read_text().split() == ["momentum_backprop"]
    assert again == first
    # The list comes from the same index, row for row what a whole load gives.
    listed = cli("list", "--json", "--bank", bank, env=env)
    whole = cli("list", "--json", "--bank", bank, env={**env, "QBGEN_CACHE": str(tmp_path / "fresh")})
    assert listed.returncode == whole.returncode == 0
    assert json.loads(listed.stdout) == json.loads(whole.stdout) and len(json.loads(listed.stdout)) == 31

    # A question paper B never draws breaks: the build says so, as a whole load always has.
    dropout = bank / "fcnn" / "dropout.yaml"
    good = dropout.read_text("utf-8")
    dropout.write_text(good.replace("marks:", "marks: [", 1), "utf-8")
    r = cli("build", bank / "exams" / "paper-b.yaml", "--bank", bank, "--out", tmp_path / "c", env=env)
    assert r.returncode == 2 and "dropout.yaml" in r.stderr and r.stderr.count("\n") == 1, r.stderr
    dropout.write_text(good, "utf-8")

    # Both languages from the index (each translation compiled when the paper asks for it)
    # print what a whole load prints.
    _build(bank, tmp_path / "d", env)  # the index again, after the repair
    note.unlink()
    bilingual = _build(bank, tmp_path / "e", env, "--languages", "en,hi")
    assert note.read_text().split() == ["momentum_backprop"]
    fresh = {**env, "QBGEN_CACHE": str(tmp_path / "fresh2")}
    assert _build(bank, tmp_path / "f", fresh, "--languages", "en,hi") == bilingual
    assert any("\u0900" <= ch <= "\u097f" for ch in bilingual)  # the Hindi is there


def test_the_fonts_coverage_is_kept_and_asked_again_when_the_fonts_change(tmp_path, monkeypatch):
    if scripts.shutil.which("fc-match") is None:
        pytest.skip("no fontconfig: nothing is asked, nothing kept")
    monkeypatch.setenv("QBGEN_CACHE", str(tmp_path / "cache"))
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "data"))
    settings.cache_clear()
    scripts._coverage.cache_clear()
    try:
        asked = scripts._coverage()
        (kept,) = (tmp_path / "cache").glob("fonts-*.json")
        # The next run reads the kept answer and asks fontconfig nothing.
        scripts._coverage.cache_clear()
        monkeypatch.setattr(scripts, "_charset", lambda family: 1 / 0)
        assert scripts._coverage() == asked
        # A font folder of the user's appears: the answer is asked for again.
        (tmp_path / "data" / "fonts").mkdir(parents=True)
        scripts._coverage.cache_clear()
        monkeypatch.undo()
        monkeypatch.setenv("QBGEN_CACHE", str(tmp_path / "cache"))
        monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "data"))
        assert scripts._coverage() == asked  # same fonts, asked again
        assert len(list((tmp_path / "cache").glob("fonts-*.json"))) == 2 and kept.exists()
    finally:
        scripts._coverage.cache_clear()
        settings.cache_clear()


def test_what_pdflatex_sets_is_kept_while_its_encoding_files_stay(tmp_path, monkeypatch):
    monkeypatch.setenv("QBGEN_CACHE", str(tmp_path / "cache"))
    settings.cache_clear()
    scripts.pdflatex_text.cache_clear()
    try:
        asked = scripts.pdflatex_text()
        assert "é" in asked and "α" not in asked  # T1 has é; α is set as math
        if scripts.shutil.which("kpsewhich") is None:
            pytest.skip("no TeX tree: Latin-1, nothing kept")
        kept = tmp_path / "cache" / "pdflatex-text.json"
        data = json.loads(kept.read_text())
        scripts.pdflatex_text.cache_clear()
        monkeypatch.setattr(scripts.subprocess, "run", lambda *a, **k: 1 / 0)
        assert scripts.pdflatex_text() == asked  # read back, no kpsewhich run
        # An encoding file that changed (here: its time) is read again.
        data["stamps"][1][2] += 1
        kept.write_text(json.dumps(data))
        monkeypatch.undo()
        monkeypatch.setenv("QBGEN_CACHE", str(tmp_path / "cache"))
        scripts.pdflatex_text.cache_clear()
        assert scripts.pdflatex_text() == asked
        assert json.loads(kept.read_text())["stamps"][1][2] == data["stamps"][1][2] - 1
    finally:
        scripts.pdflatex_text.cache_clear()
        settings.cache_clear()


@needs_tex
def test_a_format_found_intact_is_stamped_and_the_stamp_goes_with_it(tmp_path, monkeypatch):
    monkeypatch.setenv("QBGEN_CACHE", str(tmp_path / "cache"))
    settings.cache_clear()
    try:
        fmt = typeset.ensure_format("\\documentclass{article}\n\\usepackage{amsmath}\n")
        assert fmt is not None
        typeset._CHECKED.clear()
        assert typeset._intact(fmt)  # the first check reads it and stamps it
        stamp = fmt.with_name(fmt.name + ".ok")
        st = fmt.stat()
        assert stamp.read_text() == f"{st.st_size} {st.st_mtime_ns} {st.st_ino}"
        # A format changed in place no longer matches its stamp: it is read, and fails.
        typeset._CHECKED.clear()
        with fmt.open("r+b") as f:
            f.seek(1000)
            f.write(b"\0" * 64)
        assert not typeset._intact(fmt)
        typeset.discard_format(fmt)
        assert not fmt.exists() and not stamp.exists()
    finally:
        typeset._CHECKED.clear()
        settings.cache_clear()


def test_the_program_ends_as_soon_as_its_command_has(tmp_path):
    # The process ends without the interpreter's shutdown; what it printed is all there
    # and its exit status is the command's (a reader that leaves early is no error).
    import subprocess
    import sys

    from .conftest import ROOT

    env = {**os.environ, "QBGEN_CACHE": str(tmp_path / "cache")}
    run = [sys.executable, "-m", "qbgen"]
    listed = subprocess.run([*run, "list", "--json"], cwd=ROOT, env=env, capture_output=True, text=True)
    assert listed.returncode == 0 and len(json.loads(listed.stdout)) == 31
    head = subprocess.run(
        f"{sys.executable} -m qbgen list | head -1",
        shell=True,
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
    )
    assert head.returncode == 0 and head.stdout.startswith("id") and "Traceback" not in head.stderr
    bad = subprocess.run([*run, "build", "no-such-spec"], cwd=ROOT, env=env, capture_output=True, text=True)
    assert bad.returncode == 2 and bad.stderr.startswith("error: ") and bad.stderr.count("\n") == 1

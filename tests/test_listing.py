"""`qbgen list` keeps its rows between runs (issue 26, item 8) and never shows a stale one."""

from __future__ import annotations

import json
import os

from .conftest import cli, run_cli


def _list(bank, cache):
    r = run_cli("list", "--json", "--bank", bank, env={"QBGEN_CACHE": str(cache)})
    assert r.returncode == 0, r.stderr
    return json.loads(r.stdout)


def test_list_is_kept_and_follows_every_change(tmp_path):
    bank = tmp_path / "bank"
    r = cli("init", bank, "--institute", "Northfield", "--code", "CS 1", "--course", "Networks")
    assert r.returncode == 0, r.stderr
    cache = tmp_path / "cache"
    first = _list(bank, cache)
    assert list((cache / "list").glob("*.json"))  # kept
    assert _list(bank, cache) == first  # and read back the same
    # A question's title changed (same size, a nanosecond later): the list follows it.
    row = first[0]
    path = bank / row["file"]
    text = path.read_text()
    title = row["title"]
    assert f"title: {title}" in text
    st = path.stat()
    path.write_text(text.replace(f"title: {title}", f"title: {title[::-1]}", 1))
    os.utime(path, ns=(st.st_atime_ns, st.st_mtime_ns + 1))
    again = {r["id"]: r for r in _list(bank, cache)}
    assert again[row["id"]]["title"] == title[::-1]
    # A question removed is gone from the list; a broken file is one line, never a stale list.
    path.unlink()
    assert row["id"] not in {r["id"] for r in _list(bank, cache)}
    other = bank / next(r["file"] for r in first if r["id"] != row["id"])
    other.write_text(other.read_text() + "\n  bad: [\n")
    r = run_cli("list", "--bank", bank, env={"QBGEN_CACHE": str(cache)})
    assert r.returncode == 2 and r.stderr.startswith("error: ") and r.stderr.count("\n") == 1
    # A cache that cannot be written (a file stands where its folder would be): the list still comes.
    other.unlink()
    blocked = tmp_path / "blocked"
    blocked.write_text("not a folder")
    assert {r["id"] for r in _list(bank, blocked)} == {r["id"] for r in _list(bank, cache)}

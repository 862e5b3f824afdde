r"""Bank text cannot make the HTML outputs read the reviewer's files or reach the network.

pandoc runs with `--sandbox` under a time and a heap limit; `\input{/abs/file}` and
`\lstinputlisting{...}` are refused, not copied into the LMS exports and the site, and
so are `javascript:`/`data:` links and pictures from the network; `validate` fails
such text with its file, line and field. Everything here runs the real pandoc.
"""

from __future__ import annotations

import re
import textwrap

import pytest

import qbgen.html

from .conftest import cli, write_tree

TOKEN = "QBGEN-SECRET-7f3a91"  # the reviewer's file's content: it must never come out

QUESTION = """\
id: {id}
title: Sandbox
topic: q
kind: text
marks: 2
prompt: {prompt}
{body}
answers:
  - kind: text
    text: A model answer.
rubric:
  - marks: 2
    text: Right.
"""
SPEC = """\
course: Test
max_marks: {marks}
sections:
  - questions: [{ids}]
"""


def bank(tmp_path, questions: dict[str, str], prompt: str = "Read this."):
    """A bank of text questions, each with `body` (more YAML, from line 7), and a spec."""
    files = {
        f"q/{qid}.yaml": QUESTION.format(id=qid, prompt=prompt, body=textwrap.dedent(body).strip("\n"))
        for qid, body in questions.items()
    }
    files["exams/t.yaml"] = SPEC.format(marks=2 * len(questions), ids=", ".join(questions))
    return write_tree(tmp_path / "bank", files)


def secret(tmp_path):
    path = tmp_path / "home" / "secret.tex"
    path.parent.mkdir()
    path.write_text(f"{TOKEN}\n", "utf-8")
    return path


def one_line_error(r):
    assert r.returncode == 2, (r.returncode, r.stdout, r.stderr)
    assert "Traceback" not in r.stdout + r.stderr
    lines = r.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), r.stderr
    return lines[0]


def failures(r, qid):
    """The lines validate prints under question `qid`."""
    out = r.stdout.splitlines()
    start = next(i for i, line in enumerate(out) if re.match(rf"(FAIL|ok  ) {qid} ", line))
    below = []
    for line in out[start + 1 :]:
        if not line.startswith("     "):
            break
        below.append(line.strip())
    return below


def test_validate_fails_file_reads_bad_links_and_remote_pictures_with_file_line_and_field(tmp_path):
    path = secret(tmp_path)
    b = bank(
        tmp_path,
        {
            "leak": rf"""
                notes: see \href{{data:text/html,<script>alert(1)</script>}}{{this}}
                key_note: |
                  First line.
                  \lstinputlisting{{{path}}}
            """,
            "out": r"""
                key_note: |
                  A \href{javascript:alert(1)}{link},
                  a picture \includegraphics{https://example.com/x.png},
                  a colour \textcolor{red;background:url(http://example.com/t)}{here}.
            """,
        },
    )
    r = cli("validate", "--bank", b, "--seeds", 0)
    assert r.returncode == 1, r.stdout + r.stderr
    assert TOKEN not in r.stdout + r.stderr
    leak, out = b / "q" / "leak.yaml", b / "q" / "out.yaml"
    # Each refusal is one line, FILE:LINE: FIELD: what is wrong, at the line that spells it.
    assert failures(r, "leak") == [
        f"{leak}:10: key_note: reads a file ({path}): the HTML outputs read no file (pandoc runs sandboxed)",
        f"{leak}:7: notes: links to data:text/html,<script>alert(1)</script>: the HTML outputs refuse "
        "javascript:, vbscript:, data: and file: links",
    ]
    refuse_links = "the HTML outputs refuse javascript:, vbscript:, data: and file: links"
    load_nothing = "the HTML outputs load nothing from the network or from outside their folder"
    assert failures(r, "out") == [
        f"{out}:8: key_note: links to javascript:alert(1): {refuse_links}",
        f"{out}:9: key_note: loads a picture from https://example.com/x.png: {load_nothing}",
        f"{out}:10: key_note: styles with a URL (color: red;background:url(http://example.com/t)): "
        + load_nothing,
    ]


@pytest.mark.parametrize(
    ("text", "line", "what"),
    [
        # A macro spells the scheme on another line: the line that names it.
        ("x\n\\def\\j{javascript}\n\\href{\\j:alert(1)}{go}", 9, "links to javascript:alert(1)"),
        ("\\href{ JaVaScRiPt:alert(1)}{go}", 8, "links to JaVaScRiPt:alert(1)"),
        ("math $\\href{javascript:alert(1)}{x}$", 8, "links to javascript:alert(1) in math"),
        ("\\url{vbscript:msgbox}", 8, "links to vbscript:msgbox"),
        ("\\includegraphics{//example.com/a.png}", 8, "loads a picture from //example.com/a.png"),
        ("\\includegraphics{../../../etc/passwd}", 8, "loads a picture from ../../../etc/passwd"),
        ("a\n\\input{relative-macros}", 9, "reads a file (relative-macros.tex)"),
        ("\\include{/etc/hostname}", 8, "reads a file (/etc/hostname.tex)"),
    ],
)
def test_disguised_and_macro_built_refusals_are_placed(tmp_path, text, line, what):
    body = "key_note: |\n" + "".join(f"  {t}\n" for t in text.splitlines())
    b = bank(tmp_path, {"q1": body})
    r = cli("validate", "--bank", b, "--seeds", 0)
    assert r.returncode == 1, r.stdout + r.stderr
    (first, *_) = failures(r, "q1")
    assert first.startswith(f"{b / 'q' / 'q1.yaml'}:{line}: key_note: {what}: "), first


def test_export_and_site_refuse_in_one_line_and_copy_no_file(tmp_path):
    path = secret(tmp_path)
    b = bank(tmp_path, {"leak": ""}, prompt=f"\\lstinputlisting{{{path}}}")
    for args in (["export", "t", "--to", "moodle"], ["site", "--seeds", 0]):
        out = tmp_path / args[0]
        r = cli(*args, "--bank", b, "--out", out)
        line = one_line_error(r)
        assert f"reads a file ({path})" in line and "qbgen validate names its file and line" in line
        written = [p.read_text("utf-8", "replace") for p in out.rglob("*") if p.is_file()]
        assert TOKEN not in r.stderr and not any(TOKEN in text for text in written)


def test_ordinary_links_and_relative_pictures_pass_into_the_export(tmp_path):
    b = bank(
        tmp_path,
        {"fine": ""},
        prompt=r"See \href{https://example.org/docs}{the docs}, \url{mailto:a@example.org}.",
    )
    r = cli("validate", "--bank", b, "--seeds", 0)
    assert r.returncode == 0, r.stdout + r.stderr
    out = tmp_path / "out"
    r = cli("export", "t", "--to", "moodle", "--bank", b, "--out", out)
    assert r.returncode == 0, r.stderr
    quiz = (out / "quiz.xml").read_text("utf-8")
    assert "https://example.org/docs" in quiz and "mailto:a@example.org" in quiz


def test_text_pandoc_cannot_read_as_written_is_a_warning_and_the_rest_is_still_checked(tmp_path):
    # Before Jinja a template need not be LaTeX pandoc reads: one run for the bank fails,
    # each question's and each field's own run still finds the bad link.
    b = bank(
        tmp_path,
        {
            "odd": "key_note: '\\end{itemize}'",
            "bad": "key_note: '\\href{javascript:alert(1)}{go}'",
        },
    )
    r = cli("validate", "--bank", b, "--seeds", 0)
    assert r.returncode == 1, r.stdout + r.stderr
    assert re.search(
        r"^ok   odd .*\n     warning: .*odd\.yaml:7: key_note: pandoc cannot read it", r.stdout, re.M
    )
    assert failures(r, "bad")[0].startswith(f"{b / 'q' / 'bad.yaml'}:7: key_note: links to javascript:")


# A macro that expands to 10^6 words: pandoc needs seconds and hundreds of megabytes.
BOMB = (
    r"\def\za{x }\def\zb{\za\za\za\za\za\za\za\za\za\za}\def\zc{\zb\zb\zb\zb\zb\zb\zb\zb\zb\zb}"
    r"\def\zd{\zc\zc\zc\zc\zc\zc\zc\zc\zc\zc}\def\ze{\zd\zd\zd\zd\zd\zd\zd\zd\zd\zd}"
    r"\def\zf{\ze\ze\ze\ze\ze\ze\ze\ze\ze\ze}\def\zg{\zf\zf\zf\zf\zf\zf\zf\zf\zf\zf}\zg"
)


@pytest.mark.parametrize(
    ("limit", "value", "said"),
    [
        ("PANDOC_SECONDS", 1, "did not convert the text to HTML within 1 s"),
        ("PANDOC_HEAP", "16m", "ran out of memory (16mB)"),
    ],
)
def test_pandoc_stops_at_its_time_and_memory_limit(tmp_path, monkeypatch, limit, value, said):
    # The limits lowered, so that the bomb reaches them in a second (at 120 s and 1 GB
    # it would stop too, a minute later).
    monkeypatch.setattr(qbgen.html, limit, value)
    b = bank(tmp_path, {"bomb": ""}, prompt=f"'{BOMB}'")
    line = one_line_error(cli("export", "t", "--to", "moodle", "--bank", b, "--out", tmp_path / "out"))
    assert said in line, line
    r = cli("validate", "--bank", b, "--seeds", 0)
    assert r.returncode == 1 and said in failures(r, "bomb")[0], r.stdout

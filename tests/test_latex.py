import subprocess

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from qbgen.latex import escape, fmt, make_env

from .conftest import needs_tex


@pytest.mark.parametrize(
    "value, tex",
    [
        (3, r"\ensuremath{3}"),
        (1024000, r"\ensuremath{1{,}024{,}000}"),
        (-5, r"\ensuremath{-5}"),
        (0.1 + 0.2, r"\ensuremath{0.3}"),
        (1e-7, r"\ensuremath{1\times 10^{-7}}"),
        (2.5e9, r"\ensuremath{2.5\times 10^{9}}"),
        (0.7310585786, r"\ensuremath{0.7311}"),
        (0.0, r"\ensuremath{0}"),
    ],
)
def test_fmt(value, tex):
    assert fmt(value) == tex


@pytest.mark.parametrize("bad", [None, True, float("nan"), float("inf"), "3"])
def test_fmt_refuses_non_numbers(bad):
    with pytest.raises((TypeError, ValueError)):
        fmt(bad)


def test_env_is_strict_and_refuses_none():
    env = make_env()
    with pytest.raises(Exception, match="undefined"):
        env.from_string(r"\VAR{missing}").render()
    with pytest.raises(TypeError):
        env.from_string(r"\VAR{x}").render(x=None)


def test_tex_comments_survive_the_template():
    # No line-comment prefix: `50%# of marks` must stay whole.
    assert make_env().from_string(r"50%# of marks \VAR{x}").render(x="a_b") == r"50%# of marks a\_b"


@given(st.text(alphabet=st.characters(codec="latin-1", exclude_categories=["Cc", "Cs"]), max_size=40))
def test_escape_never_leaves_specials_bare(text):
    out = escape(text)
    assert "\n" not in out
    bare = out.replace("\\textbackslash{}", "").replace("\\textasciitilde{}", "")
    bare = bare.replace("\\textasciicircum{}", "")
    for ch in "&%$#_":
        assert bare.count(ch) == bare.count("\\" + ch)


PRINTABLE = st.text(
    alphabet=st.characters(min_codepoint=32, max_codepoint=126), min_size=1, max_size=30
).filter(lambda s: s.strip() and "  " not in s and s == s.strip())


@needs_tex
@settings(max_examples=15, deadline=None)
@given(st.lists(PRINTABLE, min_size=1, max_size=8))
@example(["Tom & Jerry_100% $#{}~^\\", "``quoted''", "<<a>> ,,b -- c --- d", "!` ?` x^2"])
def test_escaped_strings_compile_and_print_literally(tmp_path_factory, strings):
    # Every printable ASCII string, escaped, compiles and pdftotext reads it back as written.
    d = tmp_path_factory.mktemp("esc")
    body = "\n".join(rf"\noindent{{}}[{escape(s)}]\par" for s in strings)
    (d / "t.tex").write_text(
        "\\documentclass{article}\\usepackage[T1]{fontenc}\\usepackage{lmodern}"
        "\\usepackage[utf8]{inputenc}\\begin{document}\n" + body + "\n\\end{document}\n"
    )
    subprocess.run(
        ["pdflatex", "-interaction=nonstopmode", "-halt-on-error", "t.tex"],
        cwd=d,
        check=True,
        capture_output=True,
    )
    text = subprocess.run(["pdftotext", str(d / "t.pdf"), "-"], capture_output=True, text=True).stdout
    got = [line for line in text.splitlines() if line.startswith("[")]
    assert got == [f"[{s}]" for s in strings]

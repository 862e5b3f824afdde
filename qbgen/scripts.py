r"""Any script prints: which TeX engine a document needs, and what no font can show.

Room: characters, fonts and engines. Imports errors only. Every document is written for
pdflatex (fast: its preamble is a cached format). A document that holds a character
pdflatex cannot set (Devanagari, CJK, Greek or Cyrillic words, Vietnamese) is switched
to LuaLaTeX with fontspec, Latin Modern and the Noto fonts as fallbacks, by swapping one
marked block of its preamble (`adapt`); typeset reads the block to pick the engine. So
Latin-only documents keep pdflatex's speed and one student's name in Hindi costs that
student's document only.

- `SYMBOLS`: the Unicode letters and symbols bank text may use in prose or formulas
  (α, β₁, ≤, →, ×): both engines set them as math (`\newunicodechar`), so a key prints
  alike whichever engine ran. A plain string (a name, a title) prints them literally
  (`\qbchar`, which `latex.escape` writes), which takes LuaLaTeX.
- LuaLaTeX could run Lua from a document (`\directlua`): the block takes Lua's file
  and process functions to the build folder and the TeX and font trees, as pdflatex's
  `openin_any=p` does for TeX, and bank text may not name a Lua entry point (`LUA_HOOKS`).
- `unprintable`: characters that neither engine can show with the fonts installed (an
  emoji), so input files name them with their line instead of LaTeX failing later.
"""

from __future__ import annotations

import bisect
import re
import shutil
import subprocess
import unicodedata
from functools import cache
from pathlib import Path

# Letters and symbols set as math in text and in formulas alike.
SYMBOLS: dict[str, str] = {
    **dict(
        zip(
            "αβγδεϵζηθϑικλμνξπϖρϱσςτυφϕχψω",
            r"\alpha \beta \gamma \delta \varepsilon \epsilon \zeta \eta \theta \vartheta \iota \kappa"
            r" \lambda \mu \nu \xi \pi \varpi \rho \varrho \sigma \varsigma \tau \upsilon \varphi \phi"
            r" \chi \psi \omega".split(),
            strict=True,
        )
    ),
    "ο": "o",
    **dict(
        zip(
            "ΓΔΘΛΞΠΣΥΦΨΩ",
            r"\Gamma \Delta \Theta \Lambda \Xi \Pi \Sigma \Upsilon \Phi \Psi \Omega".split(),
            strict=True,
        )
    ),
    **{g: rf"\mathrm{{{latin}}}" for g, latin in zip("ΑΒΕΖΗΙΚΜΝΟΡΤΧ", "ABEZHIKMNOPTX", strict=True)},
    **dict(
        zip(
            "→←↔⇒⇐⇔↦↑↓≤≥≠≈≡∼≃∝≪≫×÷·±∓−∞∑∏∫√∂∇∈∉∋⊂⊆⊃⊇∪∩∅∀∃¬∧∨⊕⊗⊙∘∗‖⟨⟩⌊⌋⌈⌉ℓ⋯⋮⊤⊥∥∣′″",
            r"\to \leftarrow \leftrightarrow \Rightarrow \Leftarrow \Leftrightarrow \mapsto \uparrow"
            r" \downarrow \le \ge \ne \approx \equiv \sim \simeq \propto \ll \gg \times \div \cdot \pm"
            r" \mp - \infty \sum \prod \int \surd \partial \nabla \in \notin \ni \subset \subseteq"
            r" \supset \supseteq \cup \cap \emptyset \forall \exists \neg \wedge \vee \oplus \otimes"
            r" \odot \circ \ast \| \langle \rangle \lfloor \rfloor \lceil \rceil \ell \cdots \vdots"
            r" \top \bot \parallel \mid {}^{\prime} {}^{\prime\prime}".split(),
            strict=True,
        )
    ),
    **{c: rf"\mathbb{{{b}}}" for c, b in zip("ℝℕℤℚℂ", "RNZQC", strict=True)},
    **{c: f"_{{{d}}}" for c, d in zip("₀₁₂₃₄₅₆₇₈₉₊₋ᵢⱼₖₙₜ", "0123456789+-ijknt", strict=True)},
    **{c: f"^{{{d}}}" for c, d in zip("⁰¹²³⁴⁵⁶⁷⁸⁹⁺⁻ⁿᵀ", "0123456789+-nT", strict=True)},
}

# The preamble's font block: written for pdflatex, swapped for LuaLaTeX where needed.
PDFLATEX_FONTS = r"""% qbgen: fonts pdflatex
\usepackage[T1]{fontenc}
\usepackage{lmodern}
\usepackage[utf8]{inputenc}
% qbgen: end fonts"""
# The Lua sandbox at its end (no Lua comments in it: TeX joins its lines): reads only
# in the build folder and the system's TeX and font trees; writes, removals and new
# folders only in the build folder, which it cannot leave (no lfs.chdir); no processes,
# no C libraries, no debug library but its traceback and getinfo; a file of the build
# folder loads as text only. `load` still takes bytecode (lualibs loads what it dumps),
# so this confines mistakes, not a hostile bank (whose generators run Python anyway). What
# luaotfload learns of fonts it cannot save from here: typeset.warm_lualatex fills its
# caches first, from qbgen's own text.
LUALATEX_FONTS = r"""% qbgen: fonts lualatex
\usepackage{fontspec}
\directlua{luaotfload.add_fallback("qbfallback", {
  "Noto Serif:mode=harf;", "Noto Serif Devanagari:mode=harf;script=dev2;",
  "Noto Serif CJK SC:mode=harf;", "Noto Sans Symbols:mode=harf;", "Noto Sans Symbols2:mode=harf;"})}
\setmainfont{Latin Modern Roman}[RawFeature={fallback=qbfallback}]
\setsansfont{Latin Modern Sans}[RawFeature={fallback=qbfallback}]
\setmonofont{Latin Modern Mono}[RawFeature={fallback=qbfallback}]
\protected\def\qbchar#1{\char"#1\relax}
\directlua{
  local home = os.getenv("HOME") or ""
  local var = (kpse.var_value("TEXMFVAR") or ""):gsub("^" .. string.char(126), home)
  local trees = {"/usr/share/texlive/", "/usr/share/texmf/", "/var/lib/texmf/", "/etc/texmf/",
    "/usr/share/fonts/", "/usr/local/share/fonts/", var .. "/"}
  local real_open = io.open
  local function inside(name)
    if not (type(name) == "string") or name:find("..", 1, true) then return false end
    if not (name:sub(1, 1) == "/") then return true end
    for _, tree in ipairs(trees) do
      if string.len(tree) > 1 and name:sub(1, string.len(tree)) == tree then return true end
    end
    return false
  end
  local function writable(name)
    return type(name) == "string" and not name:find("..", 1, true) and not (name:sub(1, 1) == "/")
  end
  local function refuse() error("qbgen: outside the build folder") end
  io.open = function(name, mode, ...)
    if not inside(name) then return nil, "qbgen: outside the build folder" end
    if type(mode) == "string" and mode:find("[wa+]") and not writable(name) then
      return nil, "qbgen: outside the build folder"
    end
    return real_open(name, mode, ...)
  end
  local real_output, real_input = io.output, io.input
  io.output = function(f)
    if type(f) == "string" and not writable(f) then refuse() end
    return real_output(f)
  end
  io.input = function(f)
    if type(f) == "string" and not inside(f) then refuse() end
    return real_input(f)
  end
  local real_loadfile = loadfile
  loadfile = function(name, mode, ...)
    if not inside(name) then return nil, "qbgen: outside the build folder" end
    if writable(name) then mode = "t" end
    return real_loadfile(name, mode, ...)
  end
  dofile = function(name)
    if not inside(name) then refuse() end
    local chunk, why = loadfile(name)
    if not chunk then error(why) end
    return chunk()
  end
  local real_rename = os.rename
  os.rename = function(old, new)
    if not (writable(old) and writable(new)) then return nil, "qbgen: outside the build folder" end
    return real_rename(old, new)
  end
  local function confined(real)
    return function(name, ...)
      if not writable(name) then return nil, "qbgen: outside the build folder" end
      return real(name, ...)
    end
  end
  lfs.mkdir, lfs.rmdir, lfs.touch = confined(lfs.mkdir), confined(lfs.rmdir), confined(lfs.touch)
  os.remove = confined(os.remove)
  lfs.chdir, lfs.link, lfs.lock, lfs.unlock, lfs.lock_dir = nil, nil, nil, nil, nil
  os.tmpname, os.tmpdir = nil, nil
  package.loadlib, package.cpath = nil, ""
  debug = {traceback = debug.traceback, getinfo = debug.getinfo}
  io.lines, io.popen, os.execute, os.exec, os.spawn = nil, nil, nil, nil, nil
}
% qbgen: end fonts"""
# How many lines the swap adds: what comes after the block moves down by as many.
LUALATEX_EXTRA_LINES = LUALATEX_FONTS.count("\n") - PDFLATEX_FONTS.count("\n")
_BLOCK = re.compile(r"% qbgen: fonts pdflatex\n.*?% qbgen: end fonts", re.S)
LUALATEX_MARK = "% qbgen: fonts lualatex"
# The fonts of the LuaLaTeX setup, for what they can show (fontconfig's names).
FALLBACK_FONTS = (
    "Latin Modern Roman",
    "Noto Serif",
    "Noto Serif Devanagari",
    "Noto Serif CJK SC",
    "Noto Sans Symbols",
    "Noto Sans Symbols2",
)
FONT_PACKAGES = "texlive-luatex fonts-noto-core fonts-noto-cjk"


def lualatex_warmup() -> str:
    """A document of qbgen's own text in every font of the LuaLaTeX block, without its sandbox.

    A document's Lua may write only into its build folder, so it cannot save what
    luaotfload learns of a font; `typeset` runs this once first (trusted: no bank text),
    which fills luaotfload's caches, or every document would analyse the CJK fonts anew.
    """
    fonts = LUALATEX_FONTS[: LUALATEX_FONTS.index("\\directlua{\n  local home")]
    sample = "Latin Ελληνικά Кириллица देवनागरी 中文 日本語 한국어 ⊕ ∮ ☃"
    # Every size the class sets (Latin Modern has a design per size) in every shape: a
    # font the caches lack makes luaotfload rescan the system's fonts on every run.
    sizes = r"\tiny \scriptsize \footnotesize \small \normalsize \large \Large \LARGE \huge \Huge".split()
    shapes = [
        r"\rmfamily", r"\bfseries", r"\itshape", r"\bfseries\itshape", r"\slshape", r"\scshape",
        r"\sffamily", r"\sffamily\bfseries", r"\sffamily\itshape", r"\ttfamily", r"\ttfamily\bfseries",
        r"\ttfamily\itshape",
    ]  # fmt: skip
    body = "\n".join(f"{{{size}{shape} {sample}}}\\par" for size in sizes for shape in shapes)
    return f"\\documentclass[11pt]{{article}}\n{fonts}\n\\begin{{document}}\n{body}\n\\end{{document}}\n"


# Names that reach Lua from TeX: bank text may not hold them (nor build them with
# \csname, which is spelled out the same way).
LUA_HOOKS = re.compile(r"directlua|latelua|luaexec|luadirect|luacode|luafunction|luabytecode|luadef|luacall")


def symbol_definitions() -> str:
    r"""The preamble's `\newunicodechar` lines: every symbol as math, in text and formulas."""
    defs = [rf"\newunicodechar{{{ch}}}{{\ensuremath{{{cmd}}}}}" for ch, cmd in SYMBOLS.items()]
    rows = [" ".join(defs[i : i + 6]) for i in range(0, len(defs), 6)]
    return "\n".join([r"\usepackage{newunicodechar}", *rows])


@cache
def pdflatex_text() -> frozenset[str]:
    """The characters pdflatex sets as text: ASCII and what utf8 inputenc maps for T1/TS1."""
    chars = {chr(c) for c in range(32, 127)} | {"\n", "\t"}
    kpsewhich = shutil.which("kpsewhich")
    found: list[str] = []
    if kpsewhich:
        names = ["t1enc.dfu", "ts1enc.dfu", "ot1enc.dfu", "omsenc.dfu"]
        proc = subprocess.run([kpsewhich, *names], capture_output=True, text=True, check=False)
        found = proc.stdout.split()
    if not found:  # no TeX tree to ask: Latin-1, which T1 and TS1 hold
        return frozenset(chars | {chr(c) for c in range(0xA0, 0x100)})
    for path in found:
        text = Path(path).read_text("latin-1")
        chars |= {chr(int(h, 16)) for h in re.findall(r"\\DeclareUnicodeCharacter\{([0-9A-Fa-f]+)\}", text)}
    return frozenset(chars)


def literal(ch: str) -> str | None:
    r"""How a plain string prints `ch` literally where pdflatex would not: `\qbchar{HEX}`."""
    if ch in SYMBOLS and ch not in pdflatex_text():
        return rf"\qbchar{{{ord(ch):04X}}}"
    return None


def engine_of(tex: str) -> str:
    """The engine a document needs: "lualatex" for what pdflatex cannot set, else "pdflatex"."""
    if r"\qbchar{" in tex:
        return "lualatex"
    text, symbols = pdflatex_text(), SYMBOLS
    return "lualatex" if any(ch not in text and ch not in symbols for ch in set(tex)) else "pdflatex"


def adapt(tex: str) -> str:
    """The document for the engine it needs: its font block swapped for LuaLaTeX's if so."""
    if engine_of(tex) == "pdflatex":
        return tex
    return _BLOCK.sub(lambda _m: LUALATEX_FONTS, tex, count=1)


@cache
def _coverage() -> tuple[list[int], list[int], tuple[str, ...]] | None:
    # The code points the LuaLaTeX fonts hold, as sorted ranges (starts, ends); None
    # when fontconfig is not there to ask (then nothing is refused up front).
    fc_match, fc_query = shutil.which("fc-match"), shutil.which("fc-query")
    if not fc_match or not fc_query:
        return None
    ranges: list[tuple[int, int]] = []
    missing = []
    for family in FALLBACK_FONTS:
        proc = subprocess.run(
            [fc_match, "-f", "%{family}\n%{file}", family], capture_output=True, text=True, check=False
        )
        lines = proc.stdout.splitlines()
        if len(lines) < 2 or family not in lines[0].split(","):
            missing.append(family)  # not installed: fontconfig offers a substitute
            continue
        charset = subprocess.run(
            [fc_query, "-f", "%{charset}", lines[1]], capture_output=True, text=True, check=False
        ).stdout
        for part in charset.split():
            lo, _, hi = part.partition("-")
            try:
                ranges.append((int(lo, 16), int(hi or lo, 16)))
            except ValueError:
                continue
    merged: list[list[int]] = []
    for start, end in sorted(ranges):
        if merged and start <= merged[-1][1] + 1:
            merged[-1][1] = max(merged[-1][1], end)
        else:
            merged.append([start, end])
    return [a for a, _ in merged], [b for _, b in merged], tuple(missing)


def _shown(ch: str) -> bool:
    if ch in pdflatex_text() or ch in SYMBOLS or unicodedata.category(ch) in ("Mn", "Mc", "Cf", "Zs"):
        return True
    cover = _coverage()
    if cover is None:
        return True
    starts, ends, _missing = cover
    i = bisect.bisect_right(starts, ord(ch)) - 1
    return i >= 0 and ord(ch) <= ends[i]


def unprintable(text: str) -> list[str]:
    """The characters of `text` no installed font can show (an emoji), in order, once each."""
    return [ch for ch in dict.fromkeys(text) if ord(ch) > 126 and not _shown(ch)]


def describe(ch: str) -> str:
    """`😀 (U+1F600 GRINNING FACE)`: a character as an error names it."""
    name = unicodedata.name(ch, "")
    return f"{ch} (U+{ord(ch):04X}{' ' + name if name else ''})"


def unprintable_message(ch: str) -> str:
    """The one line an input file gets for a character no font shows."""
    cover = _coverage()
    missing = cover[2] if cover else ()
    hint = f" (of {', '.join(missing)}, not installed: apt-get install {FONT_PACKAGES})" if missing else ""
    return f"{describe(ch)} cannot be printed: no installed font has it{hint}"


__all__ = [
    "LUALATEX_MARK",
    "PDFLATEX_FONTS",
    "SYMBOLS",
    "adapt",
    "describe",
    "engine_of",
    "literal",
    "symbol_definitions",
    "unprintable",
    "unprintable_message",
]

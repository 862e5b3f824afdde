r"""Any script prints: which TeX engine a document needs, and what no font can show.

Room: characters, fonts and engines. Imports settings (the cache folder) only. Every
document is written for pdflatex (fast: its preamble is a cached format). A document
that holds a character pdflatex cannot set (the scripts of India, Urdu, CJK, Greek or Cyrillic words,
Vietnamese) is switched to LuaLaTeX with fontspec by swapping one marked block of its
preamble (`adapt`); typeset reads the block to pick the engine. A name or header string
in such characters is marked (`mark_names`): in a build of many papers the LaTeX writer
has LuaLaTeX set each such string once (`names_document`) and pdflatex place it as an
image (`split_names`), so one student's name in Hindi costs one small LuaLaTeX run, and
every paper keeps pdflatex's cached format; a paper whose bank text needs LuaLaTeX goes
into a LuaLaTeX document of its own.

- Fonts: Latin Modern, with Noto fallbacks for what needs no shaping (Greek, Cyrillic,
  symbols; Latin Modern has Vietnamese), only those the document needs. The scripts whose
  letters join or reorder (Devanagari, Bengali, Gurmukhi, Gujarati, Odia, Tamil,
  Telugu, Kannada, Malayalam, Arabic) are set a run at a time in their own Noto font,
  shaped by HarfBuzz, Arabic script right to left (`SCRIPT_FONTS`): a fallback glyph is
  set on its own, which breaks conjuncts and joining. CJK too, so that its large font is
  loaded where a name is, not beside every size of Latin Modern.
- `SYMBOLS`: the Unicode letters and symbols bank text may use in prose or formulas
  (α, β₁, ≤, →, ×): both engines set them as math (`\newunicodechar`), so a key prints
  alike whichever engine ran. A plain string (a name, a title) prints them literally
  (`\qbchar`, which `latex.escape` writes), which takes LuaLaTeX.
- LuaLaTeX could run Lua from a document (`\directlua`): the block takes Lua's file
  and process functions to the build folder and the TeX and font trees, as pdflatex's
  `openin_any=p` does for TeX, and bank text may not name a Lua entry point (`LUA_HOOKS`).
- `unprintable`: characters that neither engine can show with the fonts installed (an
  emoji), so input files name them with their line instead of LaTeX failing later; what
  the fonts hold is what fontconfig says of each font the LuaLaTeX block names, kept in
  the cache folder while fontconfig's configuration and font folders stay as they were.
"""

from __future__ import annotations

import bisect
import hashlib
import json
import os
import re
import shutil
import subprocess
import unicodedata
from collections.abc import Callable
from functools import cache
from pathlib import Path
from typing import NamedTuple

from .settings import keep, kept, settings

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
_LUALATEX_TEMPLATE = r"""% qbgen: fonts lualatex
\usepackage{fontspec}
\directlua{luaotfload.add_fallback("qbfallback", {@CHAIN@})}
\setmainfont{Latin Modern Roman}[RawFeature={fallback=qbfallback}]
\setsansfont{Latin Modern Sans}[RawFeature={fallback=qbfallback}]
\setmonofont{Latin Modern Mono}[RawFeature={fallback=qbfallback}]
@FAMILIES@
\protected\def\qbchar#1{\char"#1\relax}
\protected\def\qbname#1#2{#2}
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


# The scripts set a run at a time in a font of their own: those whose letters join or
# reorder (conjuncts, vowel signs, Arabic's joining forms), since luaotfload sets each
# fallback glyph on its own; and CJK, whose font as a fallback would be loaded beside
# every size and shape of Latin Modern (hundreds of MB a document), not only where a
# name is. A run of such letters (with the spaces between its words) is set in its font,
# shaped by HarfBuzz, right to left for Arabic script (`adapt`).
class ScriptFont(NamedTuple):
    r"""A script's font: its TeX family (`\qb<tag>`), fontconfig's name, its files, its letters."""

    tag: str
    family: str  # fontconfig's name
    stem: str  # the files: <stem>-Regular<ext>, <stem>-Bold<ext>
    script: str  # fontspec's name; "" lets HarfBuzz tell
    ranges: tuple[tuple[int, int], ...]
    rtl: bool = False
    ext: str = ".ttf"
    face: int = 0  # its place in a collection (.ttc)


_CJK_RANGES = (
    (0x2E80, 0x2FDF), (0x3000, 0x30FF), (0x3100, 0x31FF), (0x3400, 0x4DBF), (0x4E00, 0x9FFF),
    (0xAC00, 0xD7AF), (0xF900, 0xFAFF), (0xFF00, 0xFFEF), (0x20000, 0x2FA1F),
)  # fmt: skip
_ARABIC_RANGES = ((0x0600, 0x06FF), (0x0750, 0x077F), (0x08A0, 0x08FF), (0xFB50, 0xFDFF), (0xFE70, 0xFEFF))
SCRIPT_FONTS: tuple[ScriptFont, ...] = (
    ScriptFont("Deva", "Noto Serif Devanagari", "NotoSerifDevanagari", "Devanagari",
               ((0x0900, 0x097F), (0xA8E0, 0xA8FF))),
    ScriptFont("Beng", "Noto Serif Bengali", "NotoSerifBengali", "Bengali", ((0x0980, 0x09FF),)),
    ScriptFont("Guru", "Noto Serif Gurmukhi", "NotoSerifGurmukhi", "Gurmukhi", ((0x0A00, 0x0A7F),)),
    ScriptFont("Gujr", "Noto Serif Gujarati", "NotoSerifGujarati", "Gujarati", ((0x0A80, 0x0AFF),)),
    ScriptFont("Orya", "Noto Sans Oriya", "NotoSansOriya", "Oriya", ((0x0B00, 0x0B7F),)),
    ScriptFont("Taml", "Noto Serif Tamil", "NotoSerifTamil", "Tamil", ((0x0B80, 0x0BFF),)),
    ScriptFont("Telu", "Noto Serif Telugu", "NotoSerifTelugu", "Telugu", ((0x0C00, 0x0C7F),)),
    ScriptFont("Knda", "Noto Serif Kannada", "NotoSerifKannada", "Kannada", ((0x0C80, 0x0CFF),)),
    ScriptFont("Mlym", "Noto Serif Malayalam", "NotoSerifMalayalam", "Malayalam", ((0x0D00, 0x0D7F),)),
    ScriptFont("Arab", "Noto Naskh Arabic", "NotoNaskhArabic", "Arabic", _ARABIC_RANGES, rtl=True),
    ScriptFont("Hani", "Noto Serif CJK SC", "NotoSerifCJK", "", _CJK_RANGES, ext=".ttc", face=2),
)  # fmt: skip
# What a run of any of them carries along: joiners, and the dandas all Indic scripts use.
_INHERITED = "\u200c\u200d\u0964\u0965"
# The fallbacks of Latin Modern for what needs no shaping (Greek and Cyrillic words,
# Vietnamese, symbols), in the order luaotfload tries them; a document names only those
# its text needs (each is loaded beside every size and shape of Latin Modern).
FALLBACK_CHAIN = ("Noto Serif", "Noto Sans Symbols", "Noto Sans Symbols2")
MAIN_FONT = "Latin Modern Roman"
# Every font the LuaLaTeX setup uses, for what they can show (fontconfig's names).
FALLBACK_FONTS = (MAIN_FONT, *FALLBACK_CHAIN, *(font.family for font in SCRIPT_FONTS))
# Debian's packages for them all (fonts-noto-core: Noto Serif, the scripts of India,
# Noto Naskh Arabic and the symbols; fonts-noto-cjk: Noto Serif CJK).
FONT_PACKAGES = "texlive-luatex fonts-noto-core fonts-noto-cjk"


def _family(font: ScriptFont) -> str:
    # By file name, bold and regular: these fonts have no italic, and a shape fontspec asks
    # luaotfload for by name and does not find sends it to rescan every font on the system.
    faces = "UprightFont=*-Regular,BoldFont=*-Bold,ItalicFont=*-Regular,BoldItalicFont=*-Bold"
    faces += ",SlantedFont=*-Regular,BoldSlantedFont=*-Bold"
    extra = (f",FontIndex={font.face}" if font.face else "") + (
        f",Script={font.script}" if font.script else ""
    )
    return (
        rf"\newfontfamily\qb{font.tag}{{{font.stem}}}[Extension={font.ext},{faces},Renderer=HarfBuzz{extra}]"
    )


def lualatex_fonts(chain: tuple[str, ...] = FALLBACK_CHAIN, tags: tuple[str, ...] | None = None) -> str:
    """The LuaLaTeX font block with these fallbacks and these scripts' families (all by default)."""
    families = " ".join(_family(f) for f in SCRIPT_FONTS if tags is None or f.tag in tags) or "%"
    fallbacks = ", ".join(f'"{family}:mode=harf;"' for family in chain)
    return _LUALATEX_TEMPLATE.replace("@CHAIN@", fallbacks).replace("@FAMILIES@", families)


# The block with every font: what `typeset.warm_lualatex` keys its caches by.
LUALATEX_FONTS = lualatex_fonts()
# How many lines the swap adds: what comes after the block moves down by as many.
LUALATEX_EXTRA_LINES = LUALATEX_FONTS.count("\n") - PDFLATEX_FONTS.count("\n")
_BLOCK = re.compile(r"% qbgen: fonts pdflatex\n.*?% qbgen: end fonts", re.S)
LUALATEX_MARK = "% qbgen: fonts lualatex"


def _run(tag: str, ranges: tuple[tuple[int, int], ...]) -> str:
    # One run of a shaped script: its letters, and the spaces between its words.
    letter = "".join(f"\\U{lo:08x}-\\U{hi:08x}" for lo, hi in ranges)
    word = f"[{letter}][{letter}{_INHERITED}]*"
    return f"(?P<{tag}>{word}(?: +{word})*)"


@cache
def _runs() -> tuple[re.Pattern[str], re.Pattern[str]]:
    # The runs of shaped scripts, and where a run may start: a document of 40 papers is
    # some MB, and the runs' pattern (an alternative a script) is tried at each place only
    # where one of their letters is. Compiled when first needed: a run that never meets
    # such a letter does not pay for their large classes at its start.
    runs = re.compile("|".join(_run(font.tag, font.ranges) for font in SCRIPT_FONTS))
    start = re.compile(
        "[" + "".join(f"\\U{lo:08x}-\\U{hi:08x}" for f in SCRIPT_FONTS for lo, hi in f.ranges) + "]"
    )
    return runs, start


def _sub_runs(wrap: Callable[[re.Match[str]], str], tex: str) -> str:
    # runs.sub(wrap, tex), fast: the same runs (each starts with a letter of its script).
    runs, starts = _runs()
    out: list[str] = []
    pos = 0
    while start := starts.search(tex, pos):
        run = runs.match(tex, start.start())
        if run is None:  # not possible (each letter starts a run); kept safe
            out.append(tex[pos : start.end()])
            pos = start.end()
            continue
        out += [tex[pos : run.start()], wrap(run)]
        pos = run.end()
    out.append(tex[pos:])
    return "".join(out)


_RTL = {font.tag for font in SCRIPT_FONTS if font.rtl}


def _wrap(m: re.Match[str]) -> str:
    tag = m.lastgroup or ""
    direction = r"\leavevmode\textdir TRT " if tag in _RTL else ""
    return rf"{{\qb{tag} {direction}{m.group()}}}"  # a space ends the name: TeX reads on


def lualatex_warmup() -> str:
    """A document of qbgen's own text in every font of the LuaLaTeX block, without its sandbox.

    A document's Lua may write only into its build folder, so it cannot save what
    luaotfload learns of a font; `typeset` runs this once first (trusted: no bank text),
    which fills luaotfload's caches, or every document would analyse the CJK fonts anew.
    """
    fonts = LUALATEX_FONTS[: LUALATEX_FONTS.index("\\directlua{\n  local home")]
    sample = "Latin Ελληνικά Кириллица Việt ⊕ ∮ ☃"
    # Every size the class sets (Latin Modern has a design per size) in every shape: a
    # font the caches lack makes luaotfload rescan the system's fonts on every run.
    sizes = r"\tiny \scriptsize \footnotesize \small \normalsize \large \Large \LARGE \huge \Huge".split()
    shapes = [
        r"\rmfamily", r"\bfseries", r"\itshape", r"\bfseries\itshape", r"\slshape", r"\scshape",
        r"\sffamily", r"\sffamily\bfseries", r"\sffamily\itshape", r"\ttfamily", r"\ttfamily\bfseries",
        r"\ttfamily\itshape",
    ]  # fmt: skip
    lines = [f"{{{size}{shape} {sample}}}\\par" for size in sizes for shape in shapes]
    # Each script's font, regular and bold, once (a CJK face alone is some 200 MB a size).
    scripts = _runs()[0].sub(_wrap, "देवनागरी বাংলা ਪੰਜਾਬੀ ગુજરાતી ଓଡ଼ିଆ தமிழ் తెలుగు ಕನ್ನಡ മലയാളം اردو 中文")
    body = "\n".join([*lines, scripts + r"\par", rf"{{\bfseries {scripts}}}\par"])
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
    """The characters pdflatex sets as text: ASCII and what utf8 inputenc maps for T1/TS1.

    Read from the TeX tree's encoding files (kpsewhich finds them: 8 ms a run), and kept
    in the cache folder while kpsewhich and those files are as they were.
    """
    chars = {chr(c) for c in range(32, 127)} | {"\n", "\t"}
    kpsewhich = shutil.which("kpsewhich")
    if not kpsewhich:  # no TeX tree to ask: Latin-1, which T1 and TS1 hold
        return frozenset(chars | {chr(c) for c in range(0xA0, 0x100)})
    file = settings().cache_dir / "pdflatex-text.json"
    data = kept(file)
    try:
        if data["stamps"] == _stamps([kpsewhich, *data["files"]]):
            return frozenset(chars | set(data["chars"]))
    except (KeyError, TypeError):
        pass  # none kept yet, or not in this shape
    names = ["t1enc.dfu", "ts1enc.dfu", "ot1enc.dfu", "omsenc.dfu"]
    proc = subprocess.run([kpsewhich, *names], capture_output=True, text=True, check=False)
    found = proc.stdout.split()
    if not found:
        return frozenset(chars | {chr(c) for c in range(0xA0, 0x100)})
    mapped: set[str] = set()
    for path in found:
        text = Path(path).read_text("latin-1")
        mapped |= {chr(int(h, 16)) for h in re.findall(r"\\DeclareUnicodeCharacter\{([0-9A-Fa-f]+)\}", text)}
    record = {"files": found, "stamps": _stamps([kpsewhich, *found]), "chars": "".join(sorted(mapped))}
    keep(file, json.dumps(record))
    return frozenset(chars | mapped)


def _stamps(paths: list[str]) -> list[list[object]]:
    # Each file's path, size and modification time (a file gone: its path alone).
    out: list[list[object]] = []
    for path in paths:
        try:
            st = os.stat(path)
            out.append([path, st.st_size, st.st_mtime_ns])
        except OSError:
            out.append([path])
    return out


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


# A plain string (a name, a spec's header) that pdflatex cannot set is marked
# `\qbname{KEY}{TEXT}` (`mark_names`, KEY a digest of TEXT): in a LuaLaTeX document it is
# the text; in a document of many papers it is that text typeset once per build by
# LuaLaTeX (`names_document`, a page each, regular and bold) and placed by pdflatex as
# a PDF image at the text's size and baseline (`split_names`), text layer and all. So
# the papers stay pdflatex's and LuaLaTeX runs once.
_NAME = re.compile(r"\\qbname\{([0-9a-f]{12})\}\{")
_RTL_LETTER = re.compile("[" + "".join(f"\\U{lo:08x}-\\U{hi:08x}" for lo, hi in _ARABIC_RANGES) + "]")
NAMES_FILE = "qbnames"
WHOLE_NAME = 60
# pdflatex's side, on the line of \begin{document} (no line added: the document's line
# spans stay): \qbnameat{KEY}{PAGE}{HT}{DP}{BOLD HT}{BOLD DP} per text (written by the
# names document), an image per text, weight and size, made at its first use.
_NAME_IMAGES = (
    r"\makeatletter\protected\def\qbname#1#2{\ifcsname qbname@#1\endcsname"
    r"\expandafter\expandafter\expandafter\qb@name\csname qbname@#1\endcsname{#1}"
    r"\else\errmessage{qbgen: no image of the name #1}\fi}"
    r"\def\qbnameat#1#2#3#4#5#6{\expandafter\gdef\csname qbname@#1\endcsname{{#2}{#3}{#4}{#5}{#6}}}"
    r"\def\qb@name#1#2#3#4#5#6{\leavevmode\if b\expandafter\@car\f@series\@nil"
    r"\qb@nameimage{#6}{\the\numexpr#1+1\relax}{#4}{#5}\else\qb@nameimage{#6}{#1}{#2}{#3}\fi}"
    r"\def\qb@nameimage#1#2#3#4{\ifcsname qbimg@#1@#2@\f@size\endcsname\else"
    r"\immediate\pdfximage height\dimexpr\f@size\dimexpr#3\relax/10\relax"
    r" depth\dimexpr\f@size\dimexpr#4\relax/10\relax page #2 {" + NAMES_FILE + r".pdf}"
    r"\expandafter\xdef\csname qbimg@#1@#2@\f@size\endcsname{\the\pdflastximage}\fi"
    r"\hbox{\pdfrefximage\csname qbimg@#1@#2@\f@size\endcsname}}"
    r"\makeatother\input{" + NAMES_FILE + r".dims}"
)
_NAMES_HEAD = r"""\newwrite\qbdims
\newcount\qbnamepage
\newcommand{\qbship}[1]{\pagewidth=\wd#1 \pageheight=\dimexpr\ht#1+\dp#1\relax
  \shipout\vbox{\box#1}}
\newcommand{\qbone}[2]{\setbox0\hbox{#2}\setbox2\hbox{\bfseries #2}%
  \immediate\write\qbdims{\string\qbnameat{#1}{\the\numexpr2*\qbnamepage+1\relax}%
    {\the\ht0}{\the\dp0}{\the\ht2}{\the\dp2}}%
  \advance\qbnamepage by 1 \qbship0\qbship2}
\AtBeginDocument{\immediate\openout\qbdims=\jobname.dims \hoffset=-1in \voffset=-1in}
"""


def mark_names(escaped: str, *, whole: int = WHOLE_NAME) -> str:
    r"""An escaped plain string that needs LuaLaTeX as `\qbname{KEY}{TEXT}`: whole, or a word each.

    A string up to `WHOLE_NAME` characters (a name with its roll number, a title) is
    one: set as LuaLaTeX sets it, it reads back alike (pdftotext orders an Odia name's
    marks beside pdflatex's text otherwise). A longer one (an instruction) is a
    `\qbname` a word, so its lines break; a run of words with right-to-left letters is
    one. A string pdflatex sets is returned as it is. `whole=0`: a word each always (a
    name in a narrow column, which must break between its words).
    """
    if engine_of(escaped) == "pdflatex":
        return escaped
    if len(escaped) <= whole:
        return rf"\qbname{{{_key(escaped)}}}{{{escaped}}}"
    out: list[str] = []
    run: list[str] = []

    def flush() -> None:
        groups = [" ".join(run)] if any(_RTL_LETTER.search(w) for w in run) else run
        out.extend(rf"\qbname{{{_key(g)}}}{{{g}}}" for g in groups)
        run.clear()

    for word in escaped.split(" "):
        if engine_of(word) == "lualatex":
            run.append(word)
            continue
        if run:
            flush()
        out.append(word)
    if run:
        flush()
    return " ".join(out)


def _key(word: str) -> str:
    return hashlib.sha1(word.encode("utf-8")).hexdigest()[:12]


_WRAPPED = re.compile(
    r"\{\\qb(?:" + "|".join(f.tag for f in SCRIPT_FONTS) + r") (?:\\leavevmode\\textdir TRT )?([^{}]*)\}"
)
_LUA_BLOCK = re.compile(re.escape(LUALATEX_MARK) + r"\n.*?% qbgen: end fonts", re.S)


def split_names(tex: str) -> tuple[str, dict[str, str]] | None:
    r"""A LuaLaTeX document (`adapt`) as pdflatex's, its `\qbname` words as images.

    Returns the document, with pdflatex's font block (as many lines as LuaLaTeX's were
    fewer: `LUALATEX_EXTRA_LINES`) and each `\qbname`'s word left to `names_document`'s
    PDF, and those words by key; None when more than such words needs LuaLaTeX (bank
    text in Hindi, say).
    """
    names: dict[str, str] = {}
    parts: list[str] = []
    pos = 0
    while m := _NAME.search(tex, pos):
        start = i = m.end()
        depth = 1
        while depth:
            if i >= len(tex):
                return None
            ch = tex[i]
            if ch == "\\":
                i += 2
                continue
            depth += {"{": 1, "}": -1}.get(ch, 0)
            i += 1
        names[m.group(1)] = _WRAPPED.sub(lambda w: w.group(1), tex[start : i - 1])
        parts.append(tex[pos:start])
        pos = i - 1
    parts.append(tex[pos:])
    rest = _LUA_BLOCK.sub(lambda _m: PDFLATEX_FONTS, "".join(parts), count=1)
    if rest == tex or engine_of(rest) != "pdflatex" or "\\begin{document}\n" not in rest:
        return None
    return rest.replace("\\begin{document}\n", "\\begin{document}" + _NAME_IMAGES + "\n", 1), names


# The names document is plain LuaTeX, not LuaLaTeX: the same fonts through luaotfload and
# HarfBuzz, the same Lua sandbox, but no LaTeX kernel and no fontspec (106 MB where
# LuaLaTeX takes 135 for the same names: bench/bench_scripts.py). Its first line says so.
PLAIN_MARK = "% qbgen: names luatex"
_SANDBOX = _LUALATEX_TEMPLATE[_LUALATEX_TEMPLATE.index("\\directlua{\n  local home") :].replace(
    "% qbgen: end fonts", ""
)
# What latex.escape writes, in plain TeX's terms (it defines \{ \} \_ for math or as rules).
_PLAIN_TEXT = r"""\def\textasciitilde{\char"7E }\def\textasciicircum{\char"5E }\def\textbackslash{\char"5C }
\def\textasciigrave{\char"60 }\def\textquotesingle{\char"27 }\def\{{\char"7B }\def\}{\char"7D }
\def\_{\char"5F }\protected\def\qbchar#1{\char"#1\relax}
"""


def _plain_font(name: str, spec: str, features: str, mode: str = "mode=harf;") -> str:
    return rf"\font\{name}={{{spec}:{mode}{features}}} at 10pt"


def names_document(names: dict[str, str]) -> str:
    r"""The plain LuaTeX document of these words (by key): two pages each, regular and bold, tight.

    Its `.dims` file gives each word's first page and its boxes' height and depth. Each
    run of a shaped script is set in its Noto font (`\\qb<tag>`, as `adapt` marks it),
    the rest in Latin Modern with the fallbacks the words need.
    """
    found: set[str] = set()

    def wrap(m: re.Match[str]) -> str:
        found.add(m.lastgroup or "")
        return _wrap(m)

    body = _sub_runs(wrap, "\n".join(rf"\qbone{{{key}}}{{{word}}}" for key, word in names.items()))
    chain = ", ".join(f'"{family}:mode=harf;"' for family in _chain(body))
    fallback = "fallback=qbfallback;" if chain else ""
    fonts = [
        # Latin Modern as fontspec loads it (node mode: its fallbacks work there), the
        # shaped scripts in HarfBuzz's.
        _plain_font("qbrmR", "file:lmroman10-regular.otf", fallback + "+tlig;", mode=""),
        _plain_font("qbrmB", "file:lmroman10-bold.otf", fallback + "+tlig;", mode=""),
    ]
    regular, bold = [r"\qbrmR"], [r"\qbrmB"]
    for font in SCRIPT_FONTS:
        if font.tag not in found:
            continue
        face = f"({font.face})" if font.face else ""
        for weight, into in (("Regular", regular), ("Bold", bold)):
            name = f"qb{font.tag}{weight[0]}"
            script = f"script={font.tag.lower()};" if font.script else ""  # ISO 15924, as HarfBuzz takes it
            fonts.append(_plain_font(name, f"file:{font.stem}-{weight}{font.ext}{face}", script))
            into.append(rf"\let\qb{font.tag}=\{name}")
    lines = [
        PLAIN_MARK,
        r"\input luaotfload.sty",
        '\\directlua{luaotfload.add_fallback("qbfallback", {' + chain + "})}" if chain else "%",
        *fonts,
        _SANDBOX,
        _PLAIN_TEXT,
        rf"\def\qbregular{{{''.join(regular)}}}\def\bfseries{{{''.join(bold)}}}",
        r"\newwrite\qbdims \newcount\qbnamepage \immediate\openout\qbdims=\jobname.dims",
        r"\hoffset=-1in \voffset=-1in \parindent=0pt \nopagenumbers",
        r"\def\qbship#1{\pagewidth=\wd#1 \pageheight=\dimexpr\ht#1+\dp#1\relax \shipout\vbox{\box#1}}",
        r"\def\qbone#1#2{\setbox0\hbox{\qbregular #2}\setbox2\hbox{\bfseries #2}%",
        r"  \immediate\write\qbdims{\string\qbnameat{#1}{\the\numexpr2*\qbnamepage+1\relax}%",
        r"    {\the\ht0}{\the\dp0}{\the\ht2}{\the\dp2}}%",
        r"  \advance\qbnamepage by 1 \qbship0\qbship2}",
        r"\qbregular",
        body,
        r"\immediate\closeout\qbdims",
        r"\end",
    ]
    return "\n".join(lines) + "\n"


def adapt(tex: str) -> str:
    """The document for the engine it needs: its font block swapped for LuaLaTeX's if so.

    The block names the fallbacks the text needs and a family for each shaped script in
    it, and each run of a shaped script is set in its family (`SCRIPT_FONTS`).
    """
    if engine_of(tex) == "pdflatex":
        return tex
    found: set[str] = set()

    def wrap(m: re.Match[str]) -> str:
        found.add(m.lastgroup or "")
        return _wrap(m)

    wrapped = _sub_runs(wrap, tex)
    block = lualatex_fonts(_chain(tex), tuple(font.tag for font in SCRIPT_FONTS if font.tag in found))
    return _BLOCK.sub(lambda _m: block, wrapped, count=1)


def _chain(tex: str) -> tuple[str, ...]:
    # The fallbacks a document needs: for each character Latin Modern lacks outside the
    # runs of SCRIPT_FONTS (and the math symbols, set as math), the first fallback that
    # has it; every fallback if fontconfig cannot say.
    text = pdflatex_text()
    chars = {ch for ch in set(_sub_runs(lambda _m: "", tex)) if ch not in text and ch not in SYMBOLS}
    chars |= {chr(int(h, 16)) for h in re.findall(r"\\qbchar\{([0-9A-F]+)\}", tex)}
    main = _charset(MAIN_FONT)
    sets = {family: _charset(family) for family in FALLBACK_CHAIN}
    if main is None or any(found is None for found in sets.values()):
        return FALLBACK_CHAIN if chars else ()
    wanted = {
        next((f for f in FALLBACK_CHAIN if _has(sets[f], ch)), "") for ch in chars if not _has(main, ch)
    }
    return tuple(f for f in FALLBACK_CHAIN if f in wanted)


Ranges = tuple[list[int], list[int]]


def _has(ranges: Ranges | None, ch: str) -> bool:
    if ranges is None:
        return False
    starts, ends = ranges
    i = bisect.bisect_right(starts, ord(ch)) - 1
    return i >= 0 and ord(ch) <= ends[i]


def _merged(ranges: list[tuple[int, int]]) -> Ranges:
    merged: list[list[int]] = []
    for start, end in sorted(ranges):
        if merged and start <= merged[-1][1] + 1:
            merged[-1][1] = max(merged[-1][1], end)
        else:
            merged.append([start, end])
    return [a for a, _ in merged], [b for _, b in merged]


@cache
def _charset(family: str) -> Ranges | None:
    # The code points of the font fontconfig gives for `family`, as sorted ranges (starts,
    # ends); None if fontconfig is not there or that family is not installed (fontconfig
    # then offers a substitute, whose characters would not be this font's).
    fc_match = shutil.which("fc-match")
    if not fc_match:
        return None
    proc = subprocess.run(
        [fc_match, "-f", "%{family}\n%{charset}\n", family], capture_output=True, text=True, check=False
    )
    lines = proc.stdout.splitlines()
    if len(lines) < 2 or family not in lines[0].split(","):
        return None
    ranges = []
    for part in lines[1].split():
        lo, _, hi = part.partition("-")
        try:
            ranges.append((int(lo, 16), int(hi or lo, 16)))
        except ValueError:
            continue
    return _merged(ranges)


@cache
def _coverage() -> tuple[Ranges, tuple[str, ...]] | None:
    # What the LuaLaTeX fonts hold between them, and which of them are not installed; None
    # when fontconfig is not there to ask (then nothing is refused up front). Fifteen
    # fc-match runs take a tenth of a second, so the answer is kept while what it depends on
    # stays as it was (`_font_state`).
    fc_match = shutil.which("fc-match")
    if not fc_match:
        return None
    file = settings().cache_dir / f"fonts-{_font_state(fc_match)}.json"
    data = kept(file)
    try:
        return (list(data["starts"]), list(data["ends"])), tuple(data["missing"])
    except (KeyError, TypeError):
        pass  # none kept yet, or not in this shape
    sets = {family: _charset(family) for family in FALLBACK_FONTS}
    missing = tuple(family for family, found in sets.items() if found is None)
    ranges = [(a, b) for found in sets.values() if found for a, b in zip(*found, strict=True)]
    merged = _merged(ranges)
    keep(file, json.dumps({"starts": merged[0], "ends": merged[1], "missing": missing}))
    return merged, missing


def _font_state(fc_match: str) -> str:
    # What fc-match's answers depend on: the program, the fonts asked for, fontconfig's
    # configuration and caches, and the font folders (installing or removing a font, or
    # fc-cache rebuilding, changes a folder's time).
    h = hashlib.sha256(repr((fc_match, FALLBACK_FONTS)).encode())
    for name in ("FONTCONFIG_FILE", "FONTCONFIG_PATH", "XDG_DATA_HOME", "XDG_CONFIG_HOME", "XDG_CACHE_HOME"):
        h.update(f"{name}={os.environ.get(name, '')}\n".encode())
    home = Path.home()
    data = Path(os.environ.get("XDG_DATA_HOME") or home / ".local" / "share")
    config = Path(os.environ.get("XDG_CONFIG_HOME") or home / ".config")
    cache = Path(os.environ.get("XDG_CACHE_HOME") or home / ".cache")
    tops = [Path(fc_match), Path("/etc/fonts"), Path("/usr/share/fonts"), Path("/usr/local/share/fonts"),
            home / ".fonts", data / "fonts", config / "fontconfig", Path("/var/cache/fontconfig"),
            cache / "fontconfig"]  # fmt: skip
    for top in tops:
        for root, dirs, _files in os.walk(top) if top.is_dir() else [(str(top), [], [])]:
            dirs.sort()
            try:
                h.update(f"{root}\0{os.stat(root).st_mtime_ns}\n".encode())
            except OSError:
                continue
    return h.hexdigest()[:16]


def _shown(ch: str) -> bool:
    if ch in pdflatex_text() or ch in SYMBOLS or unicodedata.category(ch) in ("Mn", "Mc", "Cf", "Zs"):
        return True
    cover = _coverage()
    return cover is None or _has(cover[0], ch)


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
    missing = cover[1] if cover else ()
    hint = f" (of {', '.join(missing)}, not installed: apt-get install {FONT_PACKAGES})" if missing else ""
    return f"{describe(ch)} cannot be printed: no installed font has it{hint}"


__all__ = [
    "FALLBACK_CHAIN",
    "LUALATEX_FONTS",
    "LUALATEX_MARK",
    "PDFLATEX_FONTS",
    "SYMBOLS",
    "adapt",
    "describe",
    "engine_of",
    "lualatex_fonts",
    "literal",
    "mark_names",
    "names_document",
    "PLAIN_MARK",
    "split_names",
    "symbol_definitions",
    "unprintable",
    "unprintable_message",
]

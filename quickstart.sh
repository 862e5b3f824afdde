#!/usr/bin/env bash
# Install what is missing on a Debian machine, then build the default exam and key.
#   - TeX Live from Debian's packages (only when pdflatex is absent), poppler-utils,
#     pandoc (LaTeX to HTML for the LMS exports and the review site) and chromium (the
#     tests open the review site in it, headless); texlive-luatex and the Noto fonts
#     (fonts-noto-core, fonts-noto-cjk: names and headers in any script)
#   - a virtualenv in .venv with qbgen (editable) and its test tools
#   - `qbgen build`: output/paper-b/exam.pdf and key.pdf
set -euo pipefail
cd "$(dirname "$0")"

SUDO=""
if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi
TEX_PACKAGES="texlive-latex-base texlive-latex-recommended texlive-latex-extra \
texlive-fonts-recommended texlive-pictures lmodern"

need=""
command -v pdflatex >/dev/null 2>&1 || need="$need $TEX_PACKAGES"
command -v pdftotext >/dev/null 2>&1 || need="$need poppler-utils"
command -v pandoc >/dev/null 2>&1 || need="$need pandoc"
command -v chromium >/dev/null 2>&1 || need="$need chromium"
# Names and headers in any script: LuaLaTeX (with its font loader) and the Noto fonts
# typeset the papers pdflatex cannot: the scripts of India (Devanagari, Bengali,
# Gurmukhi, Gujarati, Odia, Tamil, Telugu, Kannada, Malayalam), Urdu (Noto Naskh
# Arabic), Greek, Cyrillic and Vietnamese (Noto Serif), CJK (Noto Serif CJK).
# fonts-noto-core holds all but CJK; the families are qbgen.scripts.FALLBACK_FONTS.
kpsewhich luaotfload.sty >/dev/null 2>&1 || need="$need texlive-luatex"
command -v fc-match >/dev/null 2>&1 || need="$need fontconfig"
# (fc-list FAMILY prints the fonts of that family; no pipe into grep -q, whose early exit
# fails the pipe under pipefail.)
for family in "Noto Serif" "Noto Serif Devanagari" "Noto Serif Bengali" "Noto Serif Gurmukhi" \
  "Noto Serif Gujarati" "Noto Sans Oriya" "Noto Serif Tamil" "Noto Serif Telugu" \
  "Noto Serif Kannada" "Noto Serif Malayalam" "Noto Naskh Arabic" "Noto Sans Symbols" \
  "Noto Sans Symbols2"; do
  if [ -z "$(fc-list "$family" 2>/dev/null)" ]; then need="$need fonts-noto-core"; break; fi
done
[ -n "$(fc-list "Noto Serif CJK SC" 2>/dev/null)" ] || need="$need fonts-noto-cjk"
python3 -c 'import venv, ensurepip' >/dev/null 2>&1 || need="$need python3-venv python3-pip"
# A few lines of progress; apt's and pip's own output goes to a log, whose tail is shown
# if a step fails.
LOG=".quickstart.log"
: > "$LOG"
step() {
  local what="$1"; shift
  echo "quickstart: $what"
  if ! "$@" >>"$LOG" 2>&1; then
    echo "quickstart: failed: $what; the last lines of $LOG:" >&2
    tail -n 25 "$LOG" >&2
    exit 1
  fi
}
if [ -n "$need" ]; then
  step "apt-get update" $SUDO apt-get update -qq
  step "installing Debian packages:$need" $SUDO env DEBIAN_FRONTEND=noninteractive \
    apt-get install -y -qq --no-install-recommends $need
fi

if [ ! -x .venv/bin/python ]; then
  step "making .venv" python3 -m venv .venv
fi
step "installing qbgen and its test tools into .venv" sh -c \
  ".venv/bin/python -m pip install -q --upgrade pip && .venv/bin/python -m pip install -q -e '.[test]'"
# Bytecode for the checkout (an editable install is not compiled by pip): faster starts.
step "compiling" .venv/bin/python -m compileall -q qbgen bank

echo "quickstart: building the default exam and key"
.venv/bin/qbgen build "$@"

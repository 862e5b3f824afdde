#!/usr/bin/env bash
# git pre-commit hook: run `qbgen validate` on the bank when the commit touches
# a question, a generator or a spec (*.yaml or *.py).
#
# Install, from the root of the bank repository:
#   cp examples/ci/pre-commit-hook.sh .git/hooks/pre-commit && chmod +x .git/hooks/pre-commit
#
# qbgen must be on PATH when git runs the hook (activate the virtualenv first, or
# install qbgen with pipx). Keep that virtualenv outside the bank folder: qbgen
# reads every *.yaml under the bank as a question, including a .venv's.
# The hook validates the working tree, so unstaged edits to the same files count too.
# Skip it once with: git commit --no-verify
set -euo pipefail

root="$(git rev-parse --show-toplevel)"

# Pathspecs without a slash match at any depth: fcnn/dropout.yaml, exams/quiz.yaml, ...
changed="$(git diff --cached --name-only -- '*.yaml' '*.py')"
if [ -z "$changed" ]; then
  exit 0
fi

if ! command -v qbgen >/dev/null 2>&1; then
  echo "pre-commit: qbgen not found on PATH (activate its virtualenv), or commit with --no-verify" >&2
  exit 1
fi

if ! qbgen validate --bank "$root" --seeds 50; then
  echo "pre-commit: qbgen validate failed; fix the question or commit with --no-verify" >&2
  exit 1
fi

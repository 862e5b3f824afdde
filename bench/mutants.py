"""Mutation score of `qbgen validate`: break each generator's `solve` and count what is caught.

Every arithmetic operator in a `solve` (its answers, its worked steps, and the helpers it
calls in the same module) is flipped in turn (+ and -, * and /, ** to *), and every
numeric constant in it nudged (+1); each mutant is validated over a few draws in a copy
of the bank. A mutant is caught when `validate` fails; one that runs past the time
limit (a rejection loop in `sample` that never accepts) is counted as hung. Survivors are listed with their
line, for a person to judge (a change to a figure's TikZ coordinates prints no number
validate reads; an equivalent mutant changes nothing).

    .venv/bin/python bench/mutants.py [--seeds 20] [--question ID ...]
"""

from __future__ import annotations

import argparse
import ast
import shutil
import signal
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from qbgen.bank import load_bank  # noqa: E402
from qbgen.errors import QbgenError  # noqa: E402
from qbgen.validate import validate_question  # noqa: E402

FLIP = {ast.Add: ast.Sub, ast.Sub: ast.Add, ast.Mult: ast.Div, ast.Div: ast.Mult, ast.Pow: ast.Mult}


def _solve_nodes(tree: ast.Module) -> list[ast.AST]:
    # solve, and the module's private helpers that solve calls (by name).
    funcs = {f.name: f for f in tree.body if isinstance(f, ast.FunctionDef)}
    if "solve" not in funcs:
        return []
    chosen, todo = {"solve"}, ["solve"]
    while todo:
        for node in ast.walk(funcs[todo.pop()]):
            if isinstance(node, ast.Call) and isinstance(node.func, ast.Name):
                name = node.func.id
                if name in funcs and name.startswith("_") and name not in chosen:
                    if "figure" in name or name.startswith("_marks"):
                        continue  # TikZ drawing: no number validate reads
                    chosen.add(name)
                    todo.append(name)
    return [n for name in sorted(chosen) for n in ast.walk(funcs[name])]


def mutants(source: str) -> list[tuple[int, str, str]]:
    """Return (line, what, mutated source) for each mutant of the module's solve."""
    tree = ast.parse(source)
    targets = []
    for node in _solve_nodes(tree):
        if isinstance(node, ast.BinOp) and type(node.op) in FLIP:
            targets.append(node)
        elif (
            isinstance(node, ast.Constant)
            and isinstance(node.value, int | float)
            and not isinstance(node.value, bool)
        ):
            targets.append(node)
    out = []
    for k in range(len(targets)):
        tree = ast.parse(source)
        node = [n for n in _solve_nodes(tree) if _same(n, targets[k])][0]
        if isinstance(node, ast.BinOp):
            what = f"{type(node.op).__name__} -> {FLIP[type(node.op)].__name__}"
            node.op = FLIP[type(node.op)]()
        else:
            assert isinstance(node, ast.Constant)
            what = f"constant {node.value!r} -> {node.value + 1!r}"
            node.value = node.value + 1
        out.append((targets[k].lineno, what, ast.unparse(tree)))
    return out


def _same(a: ast.AST, b: ast.AST) -> bool:
    return (type(a), getattr(a, "lineno", None), getattr(a, "col_offset", None)) == (
        type(b),
        getattr(b, "lineno", None),
        getattr(b, "col_offset", None),
    )


class _Hung(Exception):
    pass


def _alarm(signum: int, frame: object) -> None:
    raise _Hung


def _passes(bq, gen_name: str, text: str, seeds: int, limit: int) -> bool | None:
    # Validate the question with its generator's text replaced, in a bank of its own;
    # None: it ran past `limit` seconds (a sample loop that never accepts, say).
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp) / "bank" / bq.path.parent.name
        folder.mkdir(parents=True)
        shutil.copy(bq.path, folder / bq.path.name)
        (folder / gen_name).write_text(text)
        signal.signal(signal.SIGALRM, _alarm)
        signal.alarm(limit)
        try:
            return validate_question(load_bank(Path(tmp) / "bank").get(bq.id), seeds).ok
        except QbgenError:
            return False  # a mutant that no longer loads or draws is caught
        except _Hung:
            return None
        finally:
            signal.alarm(0)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seeds", type=int, default=20)
    ap.add_argument("--question", action="append", default=[])
    ap.add_argument("--limit", type=int, default=20, help="seconds per mutant before it counts as hung")
    args = ap.parse_args()
    bank = load_bank(ROOT / "bank")
    chosen = [bank.get(q) for q in args.question] or [
        bq for bq in bank.questions.values() if bq.generator is not None
    ]
    caught = total = hung = 0
    started = time.perf_counter()
    for bq in sorted(chosen, key=lambda b: b.id):
        assert bq.generator is not None
        gen_path = Path(bq.generator.path)
        source = gen_path.read_text()
        survivors = []
        found = mutants(source)
        if not _passes(bq, gen_path.name, source, args.seeds, 10 * args.limit):
            sys.exit(f"{bq.id}: fails validate unmutated; fix that first")
        for line, what, text in found:
            total += 1
            passed = _passes(bq, gen_path.name, text, args.seeds, args.limit)
            if passed is None:
                hung += 1
                survivors.append(f"    line {line}: {what} (hung: validate would not finish)")
            elif passed:
                survivors.append(f"    line {line}: {what}")
            else:
                caught += 1
        print(f"{bq.id:<28} {len(found) - len(survivors):>3} of {len(found):>3} caught")
        for s in survivors:
            print(s)
    seconds = time.perf_counter() - started
    print(
        f"total: {caught} of {total} mutants caught, {hung} hung ({seconds:.0f} s, {args.seeds} draws each)"
    )


if __name__ == "__main__":
    main()

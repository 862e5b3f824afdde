"""The pipeline's shape: each module imports only the stages below it."""

import ast
import importlib
from pathlib import Path

from qbgen.models import KINDS

render = importlib.import_module("qbgen.render")

PKG = Path(__file__).resolve().parents[1] / "qbgen"

# module -> the qbgen modules it may import (one direction: errors at the bottom, cli on top)
ALLOWED = {
    "errors": set(),
    "seeds": set(),
    "resources": {"errors"},
    "latex": {"errors"},
    "typeset": {"errors"},
    "yamlfile": {"errors"},
    "models": set(),
    "pdfjoin": set(),
    "authoring": {"errors", "latex"},
    "bank": {"errors", "models", "latex", "yamlfile", "authoring"},
    "spec": {"errors", "models", "resources", "yamlfile", "bank"},
    "roster": {"errors", "models"},
    "assemble": {"errors", "models", "seeds", "latex", "authoring", "bank", "spec"},
    "render": {"errors", "models", "latex", "resources"},  # sees only an Exam
    "scaffold": {"errors", "models", "bank"},
    "validate": {"errors", "models", "seeds", "authoring", "bank", "assemble", "render", "typeset"},
    "build": {"errors", "models", "bank", "spec", "roster", "assemble", "render", "typeset", "pdfjoin"},
    "cli": {
        "errors",
        "models",
        "resources",
        "bank",
        "spec",
        "roster",
        "assemble",
        "build",
        "validate",
        "scaffold",
    },
    "__init__": {"errors", "bank", "spec", "assemble", "render", "typeset", "build", "validate"},
    "__main__": {"cli"},
}


def qbgen_imports(path: Path) -> set[str]:
    found = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom):
            module = node.module or ""
            if node.level == 1 and not module:  # from . import authoring
                found |= {a.name for a in node.names}
            elif node.level == 1:
                found.add(module.split(".")[0])
            elif module == "qbgen":  # from qbgen import authoring
                found |= {a.name for a in node.names}
            elif module.startswith("qbgen."):
                found.add(module.split(".")[1])
        elif isinstance(node, ast.Import):
            for alias in node.names:
                if alias.name.startswith("qbgen."):
                    found.add(alias.name.split(".")[1])
    return found


def test_every_module_is_placed():
    assert {p.stem for p in PKG.glob("*.py")} == set(ALLOWED)


def test_imports_go_one_way():
    wrong = {}
    for path in PKG.glob("*.py"):
        extra = qbgen_imports(path) - ALLOWED[path.stem]
        if extra:
            wrong[path.stem] = sorted(extra)
    assert not wrong, f"imports against the pipeline's direction: {wrong}"


def test_bank_generators_import_only_the_authoring_api():
    bank = PKG.parent / "bank"
    for gen in bank.rglob("*.py"):
        used = {m for m in qbgen_imports(gen)} | {
            n.module
            for n in ast.walk(ast.parse(gen.read_text()))
            if isinstance(n, ast.ImportFrom) and n.module and n.module.startswith("qbgen")
        }
        assert used <= {"authoring", "qbgen", "qbgen.authoring"}, (gen, used)


def test_every_answer_kind_has_both_renderings():
    assert set(render.EXAM_SIDE) == set(KINDS) == set(render.KEY_SIDE)

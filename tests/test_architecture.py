"""The pipeline's shape: each module imports only the stages below it."""

import ast
import inspect
from pathlib import Path

import pytest

from qbgen.kinds import KINDS, AnswerInstance, AnswerSpec, KindHandler

PKG = Path(__file__).resolve().parents[1] / "qbgen"

# module -> the qbgen modules it may import (one direction: errors at the bottom, cli on top)
ALLOWED = {
    "errors": set(),
    "seeds": set(),
    "frozen": set(),
    "settings": {"errors", "frozen"},
    "resources": {"errors", "settings"},
    "scripts": {"errors", "settings"},  # which engine a document needs, what no font can show
    "latex": {"errors", "scripts"},
    "typeset": {"errors", "settings", "scripts"},
    "yamlfile": {"errors"},
    "numbering": {"errors", "frozen", "latex"},
    "scoring": {
        "frozen"
    },  # the scoring contract and its one evaluation  # item names: a style's numbering scheme
    "kinds": {"errors", "frozen", "latex", "scoring"},  # the package: each kind module, one home per kind
    "models": {"frozen", "kinds", "latex"},
    "pdfjoin": set(),
    "numbers": set(),  # numbers read back out of LaTeX, for validate
    "html": {"errors", "typeset"},  # LaTeX to HTML (pandoc), figures to PNG
    "authoring": {"errors", "latex"},
    "bank": {
        "errors",
        "settings",
        "bankindex",
        "models",
        "kinds",
        "latex",
        "resources",
        "yamlfile",
        "authoring",
        "scripts",
    },  # fmt: skip
    "spec": {"errors", "models", "resources", "yamlfile", "bank", "scripts", "numbering"},
    "roster": {"errors", "models", "scripts"},
    "assemble": {
        "errors",
        "frozen",
        "settings",
        "kinds",
        "models",
        "seeds",
        "latex",
        "authoring",
        "bank",
        "spec",
        "numbering",
        "numbers",  # the languages' proof reads each translation's numbers back
    },
    "render": {"errors", "settings", "kinds", "models", "latex", "resources", "scripts"},  # sees only an Exam
    "scaffold": {"errors", "kinds", "models", "bank"},
    "bankindex": {"settings"},  # a bank that loaded whole: its ids, files and list rows, kept between runs
    "listing": {"resources", "bankindex", "bank"},  # qbgen list's rows, from the index or a load
    "validate": {
        "errors",
        "spec",
        "frozen",
        "kinds",
        "models",
        "seeds",
        "authoring",
        "bank",
        "assemble",
        "render",
        "typeset",
        "numbers",
        "html",
    },
    "plan": {"errors", "models", "bank", "spec", "roster", "assemble"},
    "grade": {"errors", "writers", "scoring", "roster", "publish"},  # manifests and sheets: no bank, no LaTeX
    "scan": {"errors", "publish", "writers"},  # scanned pages placed by their codes, regions cut
    # the marking app: manifests, scans and the store; the bank only to show model answers again
    "mark": {"errors", "scoring", "grade", "scan", "publish", "writers", "assemble", "bank"},
    # marked scripts back: the store's marks on the scanned pages, a front page by LaTeX
    "handback": {"errors", "latex", "mark", "publish", "roster", "scan", "scripts", "typeset", "writers"},
    "publish": {"errors"},
    # writers see assembled papers (models) and the stages that typeset them, no bank
    "writers": {
        "errors",
        "scoring",
        "frozen",
        "kinds",
        "models",
        "latex",
        "render",
        "typeset",
        "pdfjoin",
        "html",
        "scripts",
    },
    "build": {
        "errors",
        "models",
        "bank",
        "spec",
        "plan",
        "render",
        "typeset",
        "publish",
        "writers",
    },
    "cli": {
        "errors",
        "settings",
        "kinds",
        "writers",
        "models",
        "resources",
        "bank",
        "spec",
        "roster",
        "assemble",
        "build",
        "validate",
        "scaffold",
        "grade",
        "scan",
        "mark",
        "handback",
        "listing",
    },
    "__init__": {"errors", "bank", "spec", "assemble", "render", "typeset", "build", "validate"},
    "__main__": {"cli"},
}


def qbgen_imports(path: Path) -> set[str]:
    """The qbgen units (top-level modules or sub-packages) that the file imports."""
    inside = path.resolve().is_relative_to(PKG)
    package = ["qbgen", *path.resolve().relative_to(PKG).parts[:-1]] if inside else []
    found = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom):
            if node.level:
                base = package[: len(package) - (node.level - 1)]
                full = base + (node.module.split(".") if node.module else [])
            else:
                full = (node.module or "").split(".")
            if full[0] != "qbgen":
                continue
            found |= {full[1]} if len(full) > 1 else {a.name for a in node.names}
        elif isinstance(node, ast.Import):
            for alias in node.names:
                if alias.name.startswith("qbgen."):
                    found.add(alias.name.split(".")[1])
    return found


def units() -> dict[str, list[Path]]:
    """Each unit of the package: a top-level module, or a sub-package as a whole."""
    out: dict[str, list[Path]] = {}
    for path in PKG.rglob("*.py"):
        rel = path.relative_to(PKG)
        out.setdefault(rel.parts[0] if len(rel.parts) > 1 else path.stem, []).append(path)
    return out


def test_every_module_is_placed():
    assert set(units()) == set(ALLOWED)


def test_imports_go_one_way():
    wrong = {}
    for unit, paths in units().items():
        extra = set().union(*(qbgen_imports(p) for p in paths)) - ALLOWED[unit] - {unit}
        if extra:
            wrong[unit] = sorted(extra)
    assert not wrong, f"imports against the pipeline's direction: {wrong}"


def test_bank_generators_import_only_the_authoring_api():
    banks = [PKG.parent / "bank", PKG.parent / "examples" / "second-bank"]
    for gen in (g for bank in banks for g in bank.rglob("*.py")):
        used = {m for m in qbgen_imports(gen)} | {
            n.module
            for n in ast.walk(ast.parse(gen.read_text()))
            if isinstance(n, ast.ImportFrom) and n.module and n.module.startswith("qbgen")
        }
        assert used <= {"authoring", "qbgen", "qbgen.authoring"}, (gen, used)


# --------------------------------------------------------------------------- kinds


def _protocol() -> set[str]:
    return {
        name
        for name, member in vars(KindHandler).items()
        if not name.startswith("_") and (callable(member) or name in KindHandler.__annotations__)
    }


@pytest.mark.parametrize("name", sorted(KINDS))
def test_every_kind_handler_implements_the_whole_protocol(name):
    h = KINDS[name]
    assert not getattr(type(h), "__abstractmethods__", None), f"{name}: abstract methods left"
    for member in _protocol():
        assert hasattr(h, member), f"{name}: no {member}"
    assert h.name == name
    assert issubclass(h.spec_model, AnswerSpec) and issubclass(h.instance_model, AnswerInstance)
    # The YAML model's tag and the instance's are the kind's name.
    assert h.spec_model.model_fields["kind"].annotation.__args__ == (name,)
    assert h.instance_model.model_fields["kind"].default == name
    assert isinstance(h.skeleton, str) and h.skeleton.strip()
    # Each method is the kind's own or the base's default: never another kind's.
    for member in ("keys", "instance", "latex_exam", "latex_key"):
        owner = next(c for c in type(h).__mro__ if member in vars(c))
        assert owner is type(h), f"{name}.{member} is inherited from {owner.__name__}"
    assert inspect.getmodule(type(h)).__name__ == f"qbgen.kinds.{name}"


def _kind_classes() -> set[str]:
    names = set()
    for path in (PKG / "kinds").glob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.ClassDef) and path.stem != "base":
                names.add(node.name)
    return names


def _mentions_kind(node: ast.AST) -> bool:
    consts = [n for n in ast.walk(node) if isinstance(n, ast.Constant) and isinstance(n.value, str)]
    return any(c.value in KINDS for c in consts)


def test_no_module_outside_kinds_branches_on_a_kind():
    classes = _kind_classes()
    found = []
    for path in PKG.rglob("*.py"):
        if path.parent.name == "kinds":
            continue
        for node in ast.walk(ast.parse(path.read_text())):
            where = f"{path.relative_to(PKG)}:{getattr(node, 'lineno', '?')}"
            if isinstance(node, ast.Compare) and _mentions_kind(node):
                found.append(f"{where}: compares with a kind's name")
            elif isinstance(node, ast.Dict) and any(k is not None and _mentions_kind(k) for k in node.keys):
                found.append(f"{where}: a mapping keyed by kind names")
            elif isinstance(node, ast.Match):
                found.append(f"{where}: match statement")
            elif (
                isinstance(node, ast.Call)
                and isinstance(node.func, ast.Name)
                and node.func.id in ("isinstance", "issubclass")
                and any(isinstance(n, ast.Name) and n.id in classes for n in ast.walk(node.args[1]))
            ):
                found.append(f"{where}: isinstance against a kind's class")
            elif isinstance(node, ast.ImportFrom) and node.module and ".kinds." in f".{node.module}.":
                if node.module.split(".")[-1] in KINDS:
                    found.append(f"{where}: imports a kind's module")
    # Templates, too, never test a kind.
    for tpl in (PKG.parent / "templates").rglob("*.j2"):
        for i, line in enumerate(tpl.read_text().splitlines(), 1):
            if ".kind" in line:
                found.append(f"{tpl.name}:{i}: a template looks at a kind")
    assert not found, "\n".join(found)

"""qbgen: typed, parameterised question banks to exam papers and matched answer keys.

The Python API is the pipeline's stages, one function each::

    bank = load_bank(path)                       # questions + generators
    spec = load_spec(spec_path, bank)            # the exam spec, checked
    exam = assemble(spec, bank, seed=7)          # numbered instances, answers solved + checked
    tex = render(exam, answers=True)             # LaTeX of the key
    build(spec, bank, out)                       # exam.pdf, key.pdf, manifest.json

Bank generators import only `qbgen.authoring`.
"""

from importlib import import_module
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .assemble import assemble
    from .bank import Bank, load_bank
    from .build import BuildResult, build
    from .errors import QbgenError
    from .render import render
    from .spec import LoadedSpec, load_spec
    from .typeset import typeset
    from .validate import validate

# Each name and the stage it lives in: imported on first use, so `qbgen list` does not
# pay for the LaTeX writer's PDF library, nor `import qbgen.authoring` for the CLI.
_WHERE = {
    "Bank": "bank",
    "BuildResult": "build",
    "LoadedSpec": "spec",
    "QbgenError": "errors",
    "assemble": "assemble",
    "build": "build",
    "load_bank": "bank",
    "load_spec": "spec",
    "render": "render",
    "typeset": "typeset",
    "validate": "validate",
}


def __getattr__(name: str) -> Any:
    if name in _WHERE:
        return getattr(import_module(f"{__name__}.{_WHERE[name]}"), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


__all__ = [
    "Bank",
    "BuildResult",
    "LoadedSpec",
    "QbgenError",
    "assemble",
    "build",
    "load_bank",
    "load_spec",
    "render",
    "typeset",
    "validate",
]
__version__ = "0.1.0"

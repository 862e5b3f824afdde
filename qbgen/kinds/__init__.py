"""Answer kinds as handlers: one module per kind, and `KINDS`, the registry.

Room: the kind modules and the registry. Imports errors, frozen and latex. Every
other module asks a kind's handler (`KINDS[answer.kind]`) instead of branching on the
kind: a new kind is one module here (its `HANDLER`) and one line in `MODULES`, or a
module of another installed package named by the entry point group `qbgen.kinds`.
"""

from __future__ import annotations

from importlib import import_module
from importlib.metadata import entry_points
from typing import Any

from .base import AnswerInstance, AnswerSpec, CribCell, InstanceContext, KindHandler, Rendered

# The kind modules, in the order `qbgen new --help` lists them.
MODULES = (
    "numeric",
    "text",
    "choice",
    "table",
    "code",
)

KINDS: dict[str, KindHandler[Any, Any]] = {
    h.name: h for h in (import_module(f"{__name__}.{m}").HANDLER for m in MODULES)
}


def _installed() -> None:
    # Kinds other installed packages add, through the entry point group `qbgen.kinds`:
    # each names a handler (a KindHandler instance). They join before any model is built
    # from the registry (an answer's YAML is the union of the kinds' models), and a
    # plugin never replaces a shipped kind.
    for ep in entry_points(group="qbgen.kinds"):
        h = ep.load()
        if not isinstance(h, KindHandler) or h.name != ep.name:
            raise TypeError(
                f"entry point qbgen.kinds:{ep.name} ({ep.value}) is not a kind handler named {ep.name!r}"
            )
        KINDS.setdefault(h.name, h)


_installed()


def handler(answer: AnswerSpec | AnswerInstance) -> KindHandler[Any, Any]:
    """Return the handler of an answer's kind (its YAML model or its instance)."""
    return KINDS[answer.kind]


__all__ = [
    "KINDS",
    "AnswerInstance",
    "AnswerSpec",
    "CribCell",
    "InstanceContext",
    "KindHandler",
    "Rendered",
    "handler",
]

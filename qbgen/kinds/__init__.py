"""Answer kinds as handlers: one module per kind, and `KINDS`, the registry.

Room: the kind modules and the registry. Imports errors, frozen and latex. Every
other module asks a kind's handler (`KINDS[answer.kind]`) instead of branching on the
kind: a new kind is one module here (its `HANDLER`) and one line in `MODULES`.
"""

from __future__ import annotations

from importlib import import_module
from typing import Any

from .base import AnswerInstance, AnswerSpec, InstanceContext, KindHandler, Rendered

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


def handler(answer: AnswerSpec | AnswerInstance) -> KindHandler[Any, Any]:
    """Return the handler of an answer's kind (its YAML model or its instance)."""
    return KINDS[answer.kind]


__all__ = ["KINDS", "AnswerInstance", "AnswerSpec", "InstanceContext", "KindHandler", "Rendered", "handler"]

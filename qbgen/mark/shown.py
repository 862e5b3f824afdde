"""What the marking page shows of a script besides the scan: model answer, steps, scheme.

Room: turning a unit's bank question, as each student drew it, into HTML. The question
is drawn again from the bank with the seed its manifest records (`qbgen show ID --seed
S` does the same) and is used only if it gives the very answers the manifest holds: a
bank changed since the build shows no model answer rather than another one. The
marking scheme's lines come from the manifest itself. Texts go through the LMS writers'
conversion (pandoc, sandboxed), a unit at a time, the first time it is opened.
"""

from __future__ import annotations

import json
import threading
from dataclasses import dataclass

from markupsafe import Markup

from ..assemble import show_instance
from ..bank import Bank
from ..errors import QbgenError
from ..writers.lms import Texts, question_groups, strip_p
from ..writers.manifest import question_record
from .work import Script, Unit


@dataclass(frozen=True)
class Shown:
    """A script's model answer and worked steps as HTML, or why there are none."""

    prompt: Markup
    model: tuple[Markup, ...]
    steps: tuple[Markup, ...]
    missing: str  # why the model answer is not shown ("" when it is)


@dataclass(frozen=True)
class UnitShown:
    """A unit's scheme lines as HTML, and each script's `Shown` by student."""

    lines: tuple[Markup, ...]
    scripts: dict[str, Shown]


def _same(a: object, b: object) -> bool:
    return json.dumps(a, sort_keys=True) == json.dumps(b, sort_keys=True)


class Renderer:
    """Renders each unit once, on first use (thread-safe)."""

    def __init__(self, bank: Bank | None) -> None:
        self.bank = bank
        self._done: dict[str, UnitShown] = {}
        self._lock = threading.Lock()

    def unit(self, unit: Unit) -> UnitShown:
        """The unit's HTML, converted the first time it is asked for."""
        with self._lock:
            if unit.key not in self._done:
                self._done[unit.key] = self._render(unit)
            return self._done[unit.key]

    def _instance(self, script: Script) -> tuple[object, str]:
        q = script.question
        if self.bank is None:
            return None, "no bank given: the model answer is in the key"
        try:
            inst = show_instance(self.bank, q["id"], q.get("seed"))
        except QbgenError as exc:
            return None, f"the bank cannot draw it again ({exc.detail()}): the model answer is in the key"
        if not _same(question_record(inst)["answers"], q.get("answers", {})):
            return None, "the bank has changed since the build: the model answer is in the key"
        return inst, ""

    def _render(self, unit: Unit) -> UnitShown:
        texts = Texts("")
        lines = [texts.add(line.text) for line in unit.lines]
        draws: dict[tuple[str, object], tuple[object, str]] = {}
        per: dict[str, tuple[list[int], list[int], int | None, str]] = {}
        for script in unit.scripts:
            q = script.question
            key = (str(q["id"]), q.get("seed"))
            if key not in draws:
                draws[key] = self._instance(script)
            inst, missing = draws[key]
            if inst is None:
                per[script.student] = ([], [], None, missing)
                continue
            groups = question_groups(inst, texts, "mark", script.student)  # type: ignore[arg-type]
            if script.part >= len(groups):
                per[script.student] = ([], [], None, "the bank's question has other parts now")
                continue
            g = groups[script.part]
            model = [roles["model"] for _, roles in g.written if "model" in roles]
            per[script.student] = (model, list(g.steps), g.text[-1], "")
        texts.convert()
        # Figures would need files of their own: the page says so where a text had one.
        return UnitShown(
            tuple(Markup(strip_p(texts[i])) for i in lines),
            {
                sid: Shown(
                    Markup("") if prompt is None else Markup(texts[prompt]),
                    tuple(Markup(texts[i]) for i in model),
                    tuple(Markup(texts[i]) for i in steps),
                    missing,
                )
                for sid, (model, steps, prompt, missing) in per.items()
            },
        )


__all__ = ["Renderer", "Shown", "UnitShown"]

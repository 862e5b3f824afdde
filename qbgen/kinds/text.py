"""The text kind: a model answer in words (and formulas).

Room: everything about text answers. Imports the kinds base.
"""

from __future__ import annotations

from typing import ClassVar, Literal

from pydantic import Field
from pylatex.utils import NoEscape

from ..latex import Tex
from .base import AnswerInstance, AnswerSpec, InstanceContext, KindHandler, LmsForm, LmsWritten


class TextAnswer(AnswerSpec):
    """A model answer in words (and formulas)."""

    kind: Literal["text"]
    label: str = ""
    text: str = Field(min_length=1, description="The model answer (LaTeX template).")


class TextInstance(AnswerInstance):
    """A model answer of one paper."""

    kind: Literal["text"] = "text"
    text: Tex


class Text(KindHandler[TextAnswer, TextInstance]):
    """Words: nothing shown in the exam; the model answer in the key."""

    name: ClassVar[str] = "text"
    rank: ClassVar[int] = 1
    spec_model = TextAnswer
    instance_model = TextInstance
    default_label: ClassVar[str] = "Model answer"

    def keys(self, spec: TextAnswer) -> tuple[str, ...]:
        """A model answer is written, not computed."""
        return ()

    def instance(self, spec: TextAnswer, ctx: InstanceContext) -> TextInstance:
        """Render the model answer."""
        return TextInstance(label=ctx.text("label"), text=ctx.text("text"))

    def latex_exam(self, inst: TextInstance, *, key: bool) -> str:
        """The paper shows nothing."""
        return ""

    def latex_key(self, inst: TextInstance) -> str:
        """The model answer, after its label if it has one."""
        head = f"\\textbf{{{inst.label}:}}\\enspace " if inst.label else ""
        return f"{head}{inst.text}\\par\n"

    def lms(self, inst: TextInstance) -> tuple[LmsForm, ...]:
        """What the label asks (not the skeleton's "Model answer"), and the model answer."""
        return (LmsWritten(self.asks(inst), NoEscape(f"{inst.text}\\par\n")),)

    skeleton: ClassVar[str] = """\
prompt: |
  TODO The question, in LaTeX: $x^2$, \\emph{{...}}.
answers:
  - kind: text
    label: Model answer
    text: |
      TODO The answer a grader compares a script with.
rubric:              # marks must add up to `marks`
  - marks: 1
    text: TODO What earns the first mark.
  - marks: 1
    text: TODO What earns the second; common wrong answers and what they earn.
"""


HANDLER = Text()

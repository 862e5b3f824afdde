"""The code kind: program text, literal in the file or computed by the generator.

Room: everything about code answers. Imports the kinds base, latex.
"""

from __future__ import annotations

from typing import ClassVar, Literal

from pydantic import model_validator
from pylatex.utils import NoEscape

from ..latex import Tex, listing
from .base import AnswerInstance, AnswerSpec, InstanceContext, KindHandler, LmsForm, LmsWritten


class CodeAnswer(AnswerSpec):
    """Program text: literal, or computed by the generator (`key`)."""

    kind: Literal["code"]
    label: str = ""
    code: str | None = None
    key: str | None = None
    language: str = "Python"
    explanation: str = ""

    @model_validator(mode="after")
    def _one_source(self) -> CodeAnswer:
        if (self.code is None) == (self.key is None):
            raise ValueError("code: give exactly one of code and key")
        return self


class CodeInstance(AnswerInstance):
    """Program text of one paper (printed verbatim), and what it fixes."""

    kind: Literal["code"] = "code"
    code: str
    language: str = "Python"
    explanation: Tex = NoEscape("")


class Code(KindHandler[CodeAnswer, CodeInstance]):
    """Code: nothing shown in the exam; the listing and its explanation in the key."""

    name: ClassVar[str] = "code"
    rank: ClassVar[int] = 3
    spec_model = CodeAnswer
    instance_model = CodeInstance
    default_label: ClassVar[str] = "Corrected code"

    def keys(self, spec: CodeAnswer) -> tuple[str, ...]:
        """Computed program text is read from `key`."""
        return (spec.key,) if spec.key is not None else ()

    def instance(self, spec: CodeAnswer, ctx: InstanceContext) -> CodeInstance:
        """Take the literal code or require program text from `solve`."""
        code = spec.code if spec.key is None else ctx.value(spec.key)
        if not isinstance(code, str):
            raise ctx.fail(f"code answer {spec.key!r} must be program text, solve gave {type(code).__name__}")
        return CodeInstance(
            label=ctx.text("label"),
            code=code,
            language=spec.language,
            explanation=ctx.text("explanation"),
        )

    def latex_exam(self, inst: CodeInstance, *, key: bool) -> str:
        """The paper shows nothing."""
        return ""

    def latex_key(self, inst: CodeInstance) -> str:
        """The listing, after its label, then the explanation."""
        head = f"\\textbf{{{inst.label}:}}\\par\n" if inst.label else ""
        return head + self._model(inst)

    def _model(self, inst: CodeInstance) -> str:
        expl = f"{inst.explanation}\\par\n" if inst.explanation else ""
        return listing(inst.code, inst.language) + expl

    def lms(self, inst: CodeInstance) -> tuple[LmsForm, ...]:
        """What the label asks (not the skeleton's "Corrected code"), and the listing with its reason."""
        return (LmsWritten(self.asks(inst), NoEscape(self._model(inst))),)

    skeleton: ClassVar[str] = """\
prompt: |
  TODO The question about this code:
  \\begin{{lstlisting}}[language=Python]
  def f(x):
      return x + 1
  \\end{{lstlisting}}
answers:
  - kind: code
    label: Corrected code
    language: Python
    code: |
      def f(x):
          return x + 2
    explanation: TODO What was wrong.
rubric:
  - marks: 1
    text: TODO Finds the error.
  - marks: 1
    text: TODO Corrects it.
"""


HANDLER = Code()

"""Generator for output-activation (paper-a:2d).

The parameter is the vector of three logits a (one decimal, as printed). solve applies
softmax with the shifted exponentials exp(a_i - max a); check uses another form,
p_i = 1 / sum_j exp(a_j - a_i), summed with math.fsum, and also confirms the
probabilities add to one and keep the order of the logits.
"""

import math

import numpy as np
from pydantic import Field, field_validator

from qbgen import authoring
from qbgen.authoring import Solution, agree, fmt, require, rounded


class Params(authoring.Params):
    a: list[float] = Field(min_length=3, max_length=3, description="the FC-3 outputs (logits)")

    @field_validator("a")
    @classmethod
    def _moderate(cls, v: list[float]) -> list[float]:
        if any(abs(x) > 10 for x in v):
            raise ValueError("logits beyond +-10 are not worked by hand")
        return v


def sample(rng: np.random.Generator) -> Params:
    if rng.random() < 0.2:
        value = rounded(rng.uniform(-2.0, 3.0), 1)
        return Params(a=[value] * 3)
    while True:
        a = rounded(rng.uniform(-2.0, 3.0, size=3), 1)
        if len(set(a)) > 1:
            return Params(a=a)


def solve(p: Params) -> Solution:
    a = np.array(p.a)
    e = np.exp(a - a.max())
    probs = e / e.sum()
    equal = bool(np.all(a == a[0]))
    names = ["p1", "p2", "p3"]
    steps = [
        r"Softmax: $\sigma(a)_i = e^{a_i} / \sum_j e^{a_j}$.",
        r"$e^{a} = ["
        + ", ".join(fmt(float(v), 4) for v in np.exp(a))
        + r"]$, sum $= "
        + fmt(float(np.exp(a).sum()), 4)
        + "$.",
        r"$\sigma(a) = ["
        + ", ".join(fmt(float(v), 4) for v in probs)
        + "]$"
        + (
            r" $= [1/3, 1/3, 1/3]$: equal logits give equal probabilities, whatever their value."
            if equal
            else "."
        ),
    ]
    answers = {n: float(v) for n, v in zip(names, probs, strict=True)}
    return Solution(answers=answers, steps=steps)


def check(p: Params, s: Solution) -> None:
    a = p.a
    got = [s.answers["p1"], s.answers["p2"], s.answers["p3"]]
    for i, name in enumerate(["p1", "p2", "p3"]):
        expected = 1.0 / math.fsum(math.exp(aj - a[i]) for aj in a)
        agree(name, expected, got[i], rel=1e-9)
    require(abs(math.fsum(got) - 1.0) < 1e-9, "the probabilities do not add to one")
    for i in range(3):
        for j in range(3):
            if a[i] > a[j]:
                require(got[i] > got[j], "softmax must keep the order of the logits")

"""Generator for output-activation (paper-a:2d).

The parameter is the vector of three logits a (one decimal, as printed). solve applies
softmax with the shifted exponentials exp(a_i - max a); check uses another form,
p_i = 1 / sum_j exp(a_j - a_i), summed with math.fsum, and also confirms the
probabilities add to one and keep the order of the logits; it returns what the steps
print beyond the answers: the unshifted exponentials exp(a_i) (math.exp, one at a
time) and their math.fsum, each over the sum agreeing with that other form, and the
number of classes len(a) (the 3 of 1/3).

mistakes declares, for each of p1, p2, p3, the value a wrong activation gives: sigmoid,
tanh or ReLU of the entry, no activation (the logit itself), exp(a_i) not normalised,
and exp(a_i - max a) not normalised (the shift done, the division forgotten). sample
draws again until each lies outside the key's 2 % band (BAND, as in the question file).
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


# The key's relative band on p1..p3, as output-activation.yaml (and its rubric) sets it.
BAND = 0.02


def _draw(rng: np.random.Generator) -> Params:
    if rng.random() < 0.2:
        value = rounded(rng.uniform(-2.0, 3.0), 1)
        return Params(a=[value] * 3)
    while True:
        a = rounded(rng.uniform(-2.0, 3.0, size=3), 1)
        if len(set(a)) > 1:
            return Params(a=a)


def _told_apart(p: Params) -> bool:
    answers = solve(p).answers
    return all(
        abs(v - answers[key]) > BAND * answers[key] * (1 + 1e-9)
        for key, wrong in mistakes(p).items()
        for v in wrong.values()
    )


def sample(rng: np.random.Generator) -> Params:
    # Draw again when a wrong activation gives (nearly) the softmax value: sigmoid(a_i)
    # matches when the other exponentials add to 1, exp(a_i) when all of them do.
    while True:
        p = _draw(rng)
        if _told_apart(p):
            return p


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


def mistakes(p: Params) -> dict[str, dict[str, float]]:
    # Each wrong activation applied to the logits as printed.
    a = np.array(p.a)
    wrong = {
        "sigmoid applied to each entry": 1 / (1 + np.exp(-a)),
        "tanh applied to each entry": np.tanh(a),
        "ReLU applied to each entry": np.maximum(a, 0),
        "no activation (the logit itself)": a,
        "exp(a_i) not normalised": np.exp(a),
        "exp(a_i - max a) not normalised": np.exp(a - a.max()),
    }
    return {f"p{i + 1}": {name: float(v[i]) for name, v in wrong.items()} for i in range(3)}


def check(p: Params, s: Solution) -> dict[str, object]:
    a = p.a
    got = [s.answers["p1"], s.answers["p2"], s.answers["p3"]]
    expected = [1.0 / math.fsum(math.exp(aj - ai) for aj in a) for ai in a]
    for name, want, have in zip(["p1", "p2", "p3"], expected, got, strict=True):
        agree(name, want, have, rel=1e-9)
    require(abs(math.fsum(got) - 1.0) < 1e-9, "the probabilities do not add to one")
    for i in range(3):
        for j in range(3):
            if a[i] > a[j]:
                require(got[i] > got[j], "softmax must keep the order of the logits")
    # The unshifted exponentials and their sum, one at a time; each over the sum must
    # give the probability found above by the other form.
    exps = [math.exp(ai) for ai in a]
    total = math.fsum(exps)
    for want, e in zip(expected, exps, strict=True):
        agree("e^a_i / sum_j e^a_j", want, e / total, rel=1e-9)
    return {"classes": len(a), "exp_a": exps, "sum_exp": total, "probs": expected}

"""Generator for softmax-temperature (paper-a:1e).

The paper's question has no numbers; the logits are the bank's illustration of the
trend. solve computes the tempered softmax with NumPy's log-sum-exp form at a small
temperature, at 1 and at a large temperature; check recomputes every probability with
Python's math.exp on the raw (unshifted) scores and math.fsum, finds the argmax by
sorting, and checks the trend (the top probability falls as the temperature grows); it
returns what the steps print: the three probability vectors, the rest at tau = 0.1,
the number of classes K = len(logits), 1/K, the argmax entry and the temperatures;
and it checks in the step text what small integers would hide: the table's columns
z_1 .. z_K and that 1/K is followed by its value.

mistakes declares, for the numbers in the key: at tau = 0.1 and 10, the scores
multiplied by tau instead of divided, the temperature ignored (tau = 1) and exp(f/tau)
not normalised; for the rest at tau = 0.1 also the largest probability given instead;
at tau = 1, exp(f) not normalised and the sigmoid of the largest score; at tau = 10
also the sigmoid of f_max/tau and the limit 1/K. sample draws again until each lies
outside the key's band (BANDS, as in the question file).
"""

import math
import re

import numpy as np
from pydantic import Field, model_validator

from qbgen import authoring
from qbgen.authoring import Solution, agree, fmt, require, rounded

TAU_SMALL, TAU_ONE, TAU_LARGE = 0.1, 1.0, 10.0
MIN_GAP = 0.5  # the largest logit leads the runner-up by at least this much
MAX_SPREAD = 4.0  # largest minus smallest logit


class Params(authoring.Params):
    logits: list[float] = Field(min_length=3, max_length=5, description="f_theta(X), one decimal")

    @model_validator(mode="after")
    def _well_posed(self) -> "Params":
        v = sorted(self.logits, reverse=True)
        if any(abs(x) > 5 or round(x, 1) != x for x in v):
            raise ValueError("logits are one-decimal numbers in [-5, 5]")
        if v[0] - v[1] < MIN_GAP - 1e-9:
            raise ValueError(f"the largest logit must lead by at least {MIN_GAP}")
        if v[0] - v[-1] > MAX_SPREAD + 1e-9:
            raise ValueError(f"the logits may span at most {MAX_SPREAD}")
        return self


# The key's relative bands, as softmax-temperature.yaml sets them. sample draws again
# when a declared mistake would land inside one (validate proves the same).
BANDS = {"rest_small": 0.01, "top_one": 0.01, "top_large": 0.01, "uniform": 0.005}


def _told_apart(p: Params) -> bool:
    answers = solve(p).answers
    return all(
        abs(v - answers[key]) > BANDS[key] * abs(answers[key]) * (1 + 1e-9)
        for key, wrong in mistakes(p).items()
        for v in wrong.values()
    )


def sample(rng: np.random.Generator) -> Params:
    while True:
        k = int(rng.integers(3, 6))
        logits = rounded(rng.uniform(-2.0, 3.0, size=k), 1)
        try:
            p = Params(logits=logits)
        except ValueError:
            continue
        # A few draws have a slip give (almost) the right number: sum exp(f_j) = 1
        # (sigmoid of the top score is then the softmax), or max f = 0 (exp unnormalised).
        if _told_apart(p):
            return p


def _softmax(f: np.ndarray, tau: float) -> np.ndarray:
    s = f / tau
    log_z = s.max() + np.log(np.exp(s - s.max()).sum())
    return np.exp(s - log_z)


def _cell(pr: np.ndarray, i: int) -> str:
    # A probability close to 1 prints as 1 minus the (exactly summed) rest.
    if pr[i] > 0.995:
        rest = float(np.delete(pr, i).sum())
        return rf"$1 - {fmt(rest)}$"
    return rf"${fmt(float(pr[i]))}$"


def _vec(v) -> str:
    return "[" + ",\\ ".join(str(fmt(float(x), 3)) for x in v) + "]"


def solve(p: Params) -> Solution:
    f = np.array(p.logits)
    k = len(f)
    probs = {tau: _softmax(f, tau) for tau in (TAU_SMALL, TAU_ONE, TAU_LARGE)}
    top = int(np.argmax(f))
    cols = "c" * k
    head = " & ".join(rf"$z_{{{i + 1}}}$" for i in range(k))
    rows = [r"$f_\theta(X)$ & " + " & ".join(rf"${fmt(x)}$" for x in p.logits)]
    for tau, pr in probs.items():
        rows.append(rf"$\tau = {fmt(tau)}$ & " + " & ".join(_cell(pr, i) for i in range(k)))
    table = (
        r"{\centering\setlength{\extrarowheight}{3pt}"
        rf"\begin{{tabular}}{{|l|{cols}|}}\hline & {head} \\ \hline "
        + r" \\ ".join(rows)
        + r" \\ \hline\end{tabular}\par}"
    )
    steps = [
        rf"With $f_\theta(X) = {_vec(p.logits)}$ ({fmt(k)} classes; the largest score is "
        rf"entry {fmt(top + 1)}), $S_\tau(f_\theta(X))$ at three temperatures:",
        table,
        rf"As $\tau$ falls to ${fmt(TAU_SMALL)}$ the largest probability rises to "
        rf"{_cell(probs[TAU_SMALL], top)} (almost one-hot at entry {fmt(top + 1)}); as "
        rf"$\tau$ grows to ${fmt(TAU_LARGE)}$ every entry moves toward $1/{fmt(k)} = {fmt(1 / k)}$.",
    ]
    return Solution(
        answers={
            "p_small": probs[TAU_SMALL],
            "p_one": probs[TAU_ONE],
            "p_large": probs[TAU_LARGE],
            "argmax": top + 1,
            "top_small": probs[TAU_SMALL][top],
            "rest_small": float(np.delete(probs[TAU_SMALL], top).sum()),
            "top_one": probs[TAU_ONE][top],
            "top_large": probs[TAU_LARGE][top],
            "uniform": 1.0 / k,
        },
        steps=steps,
        givens={"logits": _vec(p.logits)},
    )


def mistakes(p: Params) -> dict[str, dict[str, float]]:
    # Each wrong method redone with plain exponentials (|f / tau| <= 50: no overflow).
    f = np.array(p.logits)
    top = int(np.argmax(f))
    k = len(f)

    def soft(s: np.ndarray) -> np.ndarray:
        e = np.exp(s - s.max())
        return e / e.sum()

    def rest(pr: np.ndarray) -> float:
        return float(np.delete(pr, top).sum())

    return {
        "rest_small": {
            "scores multiplied by tau, not divided": rest(soft(f * TAU_SMALL)),
            "temperature ignored (tau = 1)": rest(soft(f)),
            "exp(f/tau) not normalised": float(np.delete(np.exp(f / TAU_SMALL), top).sum()),
            "largest probability given instead": float(soft(f / TAU_SMALL)[top]),
        },
        "top_one": {
            "exp(f) not normalised": float(np.exp(f[top])),
            "sigmoid of the largest score": float(1 / (1 + np.exp(-f[top]))),
        },
        "top_large": {
            "scores multiplied by tau, not divided": float(soft(f * TAU_LARGE)[top]),
            "temperature ignored (tau = 1)": float(soft(f)[top]),
            "exp(f/tau) not normalised": float(np.exp(f[top] / TAU_LARGE)),
            "sigmoid of the largest score over tau": float(1 / (1 + np.exp(-f[top] / TAU_LARGE))),
            "the limit 1/K given for tau = 10": 1 / k,
        },
    }


def _direct(logits: list[float], tau: float) -> list[float]:
    e = [math.exp(x / tau) for x in logits]  # |x / tau| <= 50: no overflow
    total = math.fsum(e)
    return [v / total for v in e]


def check(p: Params, s: Solution) -> dict[str, object]:
    k = len(p.logits)
    order = sorted(range(k), key=lambda i: p.logits[i], reverse=True)
    best = order[0]
    agree("argmax", best + 1, s.answers["argmax"])
    agree("uniform", 1 / k, s.answers["uniform"])
    taus = {"small": TAU_SMALL, "one": TAU_ONE, "large": TAU_LARGE}
    probs = {}
    tops = []
    for name, tau in taus.items():
        pr = _direct(p.logits, tau)
        agree(f"p_{name}", pr, s.answers[f"p_{name}"], rel=1e-9, abs=1e-15)
        agree(f"top_{name}", pr[best], s.answers[f"top_{name}"], rel=1e-9)
        probs[name] = pr
        tops.append(pr[best])
        # The ranking of the probabilities is the ranking of the logits.
        require(sorted(range(k), key=lambda i: pr[i], reverse=True)[0] == best, "argmax moved")
    others = [x for i, x in enumerate(probs["small"]) if i != best]
    rest_small = math.fsum(others)
    agree("rest_small", rest_small, s.answers["rest_small"], rel=1e-9)
    require(tops[0] > tops[1] > tops[2] > 1 / k, "the top probability must fall toward 1/K as tau grows")
    require(tops[0] > 0.95, "the small temperature should give an almost one-hot vector")
    # What the steps write around their numbers: the table's columns z_1 .. z_K, and
    # 1/K followed by its own value (small integers collide in validate's reading).
    text = "\n".join(s.steps)
    heads = [int(n) for n in re.findall(r"\$z_\{(\d+)\}\$", text)]
    require(heads == list(range(1, k + 1)), f"the table's columns are z_{heads}, not z_1 .. z_{k}")
    share = re.search(r"1/\\ensuremath\{(\d+)\} = \\ensuremath\{([\d.]+)\}", text)
    require(
        share is not None and int(share[1]) == k and abs(float(share[2]) - 1 / k) < 5e-5,
        "the steps must give 1/K with its value",
    )
    return {
        "classes": k,
        "entry": best + 1,
        "taus": list(taus.values()),
        **{f"p_{name}": pr for name, pr in probs.items()},
        "rest_small": rest_small,
        "uniform": 1 / k,
    }

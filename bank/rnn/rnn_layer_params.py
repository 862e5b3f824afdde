"""Generator for rnn-layer-params (paper-a:3c).

solve counts with the closed form h*n + h*h + h (one bias vector) and + h (two);
check builds every weight matrix and bias vector of the layer as an array, as Keras
SimpleRNN and PyTorch nn.RNN store them, and sums their sizes.

mistakes declares what the marking scheme names: a bias folded into W_xh (h*n + h) or
W_hh (h*h) given for W_xh; the input size used for W_hh (n*n or n*h); for the totals
the bias forgotten, the other bias convention, the bias counted with the input size,
W_hh taken as n*n or n*h, and W_hh forgotten. These coincide with the right count when
input_size == hidden_size, so sample draws two different sizes.
"""

import numpy as np
from pydantic import Field

from qbgen import authoring
from qbgen.authoring import Solution, agree, fmt

INPUT_SIZES = [10, 16, 20, 25, 32, 40, 50, 64, 80, 100, 128]
HIDDEN_SIZES = [16, 20, 32, 50, 64, 100, 128, 150, 200, 256]


class Params(authoring.Params):
    input_size: int = Field(ge=1, le=4096)
    hidden_size: int = Field(ge=1, le=4096)


def sample(rng: np.random.Generator) -> Params:
    while True:  # equal sizes would make the input-size mistakes give the right counts
        n, h = int(rng.choice(INPUT_SIZES)), int(rng.choice(HIDDEN_SIZES))
        if n != h:
            return Params(input_size=n, hidden_size=h)


def solve(p: Params) -> Solution:
    n, h = p.input_size, p.hidden_size
    w_ih, w_hh = h * n, h * h
    one, two = w_ih + w_hh + h, w_ih + w_hh + 2 * h
    steps = [
        rf"The layer computes $h_t = \tanh(W_{{xh}} x_t + W_{{hh}} h_{{t-1}} + b)$ with "
        rf"$x_t\in\mathbb{{R}}^{{{n}}}$ and $h_t\in\mathbb{{R}}^{{{h}}}$; the same weights are used at "
        rf"every time step, so the count does not depend on the sequence length.",
        rf"Input-to-hidden: $W_{{xh}}\in\mathbb{{R}}^{{{h}\times {n}}}$, ${h}\times {n} = {fmt(w_ih)}$.",
        rf"Hidden-to-hidden: $W_{{hh}}\in\mathbb{{R}}^{{{h}\times {h}}}$, ${h}\times {h} = {fmt(w_hh)}$.",
        rf"One bias vector $b\in\mathbb{{R}}^{{{h}}}$ (Keras \texttt{{SimpleRNN}}): "
        rf"${fmt(w_ih)} + {fmt(w_hh)} + {h} = {fmt(one)}$.",
        rf"Two bias vectors $b_{{ih}}, b_{{hh}}\in\mathbb{{R}}^{{{h}}}$ (PyTorch \texttt{{nn.RNN}}): "
        rf"${fmt(w_ih)} + {fmt(w_hh)} + 2\times {h} = {fmt(two)}$.",
    ]
    answers = {"input_hidden": w_ih, "hidden_hidden": w_hh, "one_bias": one, "two_bias": two}
    return Solution(answers=answers, steps=steps)


def mistakes(p: Params) -> dict[str, dict[str, float]]:
    n, h = p.input_size, p.hidden_size
    weights = h * n + h * h
    out = {}
    for key, biases in (("one_bias", 1), ("two_bias", 2)):
        out[key] = {
            "bias forgotten": weights,
            "bias counted with the input size": weights + biases * n,
            "W_hh taken as input x input (n*n)": h * n + n * n + biases * h,
            "W_hh taken as input x hidden (n*h)": 2 * h * n + biases * h,
            "hidden-to-hidden weights forgotten": h * n + biases * h,
        }
    out["one_bias"]["two bias vectors (PyTorch count)"] = weights + 2 * h
    out["two_bias"]["one bias vector (Keras count)"] = weights + h
    out["input_hidden"] = {"bias folded into W_xh (h*n + h)": h * n + h, "W_hh (h*h) given instead": h * h}
    out["hidden_hidden"] = {"input size used: n*n": n * n, "input size used: n*h": n * h}
    return out


def _layer_arrays(n: int, h: int, biases: int) -> dict[str, np.ndarray]:
    """The layer's parameters as a framework stores them (PyTorch names)."""
    arrays = {"weight_ih_l0": np.zeros((h, n)), "weight_hh_l0": np.zeros((h, h))}
    names = ["bias_ih_l0", "bias_hh_l0"][:biases]
    arrays.update({name: np.zeros(h) for name in names})
    return arrays


def check(p: Params, s: Solution) -> None:
    n, h = p.input_size, p.hidden_size
    one = _layer_arrays(n, h, biases=1)
    two = _layer_arrays(n, h, biases=2)
    agree("input_hidden", one["weight_ih_l0"].size, s.answers["input_hidden"])
    agree("hidden_hidden", one["weight_hh_l0"].size, s.answers["hidden_hidden"])
    agree("one_bias", sum(a.size for a in one.values()), s.answers["one_bias"])
    agree("two_bias", sum(a.size for a in two.values()), s.answers["two_bias"])

"""Generator for lstm-vs-rnn-params (paper-b:7).

solve counts with the closed forms; check builds every weight matrix and bias vector of
each gate as an array and counts their entries.

mistakes declares the counts of the usual wrong methods: for every count, the bias
forgotten, the other bias convention (one vector where two are asked, or two for one),
the recurrent weights h*h forgotten, and input_size*units alone; for the LSTM counts also
three gates (the GRU count), no factor 4 (the simple RNN's count) and, with one bias, a
single bias vector for the whole layer; for the ratio, 3 (GRU) and the mixed conventions
(a two-bias count over a one-bias count), which the ratio's band (0.1 %) excludes.
"""

import numpy as np
from pydantic import Field

from qbgen import authoring
from qbgen.authoring import Solution, agree, fmt

INPUT_SIZES = [16, 20, 24, 32, 40, 48, 50, 64, 100, 128]
UNITS = [16, 32, 50, 64, 100, 128, 200, 256]


class Params(authoring.Params):
    input_size: int = Field(ge=1, le=4096)
    units: int = Field(ge=1, le=4096)


def sample(rng: np.random.Generator) -> Params:
    return Params(input_size=int(rng.choice(INPUT_SIZES)), units=int(rng.choice(UNITS)))


def solve(p: Params) -> Solution:
    n, h = p.input_size, p.units
    block = h * (n + h)  # input-to-hidden and hidden-to-hidden weights of one gate
    rnn1, rnn2 = block + h, block + 2 * h
    lstm1, lstm2 = 4 * rnn1, 4 * rnn2
    steps = [
        rf"Simple RNN: $h_t = \tanh(W_x x_t + W_h h_{{t-1}} + b)$ with "
        rf"$W_x \in \mathbb{{R}}^{{{h}\times {n}}}$, "
        rf"$W_h \in \mathbb{{R}}^{{{h}\times {h}}}$, $b\in\mathbb{{R}}^{{{h}}}$: "
        rf"${h}\cdot {n} + {h}\cdot {h} + {h} = {fmt(rnn1)}$.",
        rf"With PyTorch's two bias vectors ($b_{{ih}}$ and $b_{{hh}}$): ${fmt(rnn1)} + {h} = {fmt(rnn2)}$.",
        rf"LSTM: four gates (input $i$, forget $f$, candidate $g$, output $o$), each with the "
        rf"same shapes as the simple RNN: $4 \times {fmt(rnn1)} = {fmt(lstm1)}$ "
        rf"(two biases: $4 \times {fmt(rnn2)} = {fmt(lstm2)}$).",
        rf"Ratio: ${fmt(lstm1)} / {fmt(rnn1)} = {fmt(lstm2)} / {fmt(rnn2)} = 4$.",
    ]
    answers = {
        "rnn_one_bias": rnn1,
        "lstm_one_bias": lstm1,
        "rnn_two_bias": rnn2,
        "lstm_two_bias": lstm2,
        "ratio": np.float64(lstm1) / rnn1,
    }
    return Solution(answers=answers, steps=steps)


def mistakes(p: Params) -> dict[str, dict[str, float]]:
    n, h = p.input_size, p.units
    block = h * (n + h)
    rnn1, rnn2 = block + h, block + 2 * h
    return {
        "rnn_one_bias": {
            "bias forgotten": block,
            "two bias vectors (PyTorch count)": rnn2,
            "recurrent weights h*h forgotten": h * n + h,
            "input_size * units only": h * n,
        },
        "rnn_two_bias": {
            "biases forgotten": block,
            "one bias vector (Keras count)": rnn1,
            "recurrent weights h*h forgotten": h * n + 2 * h,
            "input_size * units only": h * n,
        },
        "lstm_one_bias": {
            "3 gates instead of 4 (GRU count)": 3 * rnn1,
            "no factor 4 (the simple RNN's count)": rnn1,
            "bias forgotten": 4 * block,
            "two bias vectors per gate (PyTorch count)": 4 * rnn2,
            "one bias vector for the layer, not per gate": 4 * block + h,
            "recurrent weights h*h forgotten": 4 * (h * n + h),
            "4 * input_size * units only": 4 * h * n,
        },
        "lstm_two_bias": {
            "3 gates instead of 4 (GRU count)": 3 * rnn2,
            "no factor 4 (the simple RNN's count)": rnn2,
            "biases forgotten": 4 * block,
            "one bias vector per gate (Keras count)": 4 * rnn1,
            "recurrent weights h*h forgotten": 4 * (h * n + 2 * h),
            "4 * input_size * units only": 4 * h * n,
        },
        "ratio": {
            "3 gates instead of 4 (GRU count)": 3.0,
            "two-bias LSTM over one-bias RNN": 4 * rnn2 / rnn1,
            "one-bias LSTM over two-bias RNN": 4 * rnn1 / rnn2,
        },
    }


def _count(gates: int, n: int, h: int, biases: int) -> int:
    arrays = []
    for _ in range(gates):
        arrays += [np.zeros((h, n)), np.zeros((h, h))] + [np.zeros(h) for _ in range(biases)]
    return int(sum(a.size for a in arrays))


def check(p: Params, s: Solution) -> None:
    n, h = p.input_size, p.units
    agree("rnn_one_bias", _count(1, n, h, 1), s.answers["rnn_one_bias"])
    agree("rnn_two_bias", _count(1, n, h, 2), s.answers["rnn_two_bias"])
    agree("lstm_one_bias", _count(4, n, h, 1), s.answers["lstm_one_bias"])
    agree("lstm_two_bias", _count(4, n, h, 2), s.answers["lstm_two_bias"])
    agree("ratio", _count(4, n, h, 1) / _count(1, n, h, 1), s.answers["ratio"])

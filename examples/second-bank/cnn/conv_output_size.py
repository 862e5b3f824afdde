"""Generator for conv-output-size: the output size and parameters of a Conv2d layer.

solve uses the bank's shared formula (`_lib.conv.out_size`) and the closed-form count
c_out * c_in * k * k + c_out; check slides the dilated kernel over the padded input
one position at a time and counts where it fits, and builds the layer's weight and
bias arrays as PyTorch's nn.Conv2d stores them.

mistakes declares what students get wrong: the padding left out or added on one side
only, the dilation ignored, the +1 forgotten; for the parameters the bias forgotten,
the kernel counted as k instead of k*k, or the input channels left out. sample redraws
until every such slip gives a different output size (and draws more than one input
channel), so each is rejected.
"""

import numpy as np
from pydantic import Field

from qbgen import authoring
from qbgen.authoring import Solution, agree, fmt

from _lib.conv import out_size


class Params(authoring.Params):
    size: int = Field(ge=1, le=1024)
    in_channels: int = Field(ge=1, le=1024)
    out_channels: int = Field(ge=1, le=1024)
    kernel: int = Field(ge=1, le=15)
    stride: int = Field(ge=1, le=4)
    padding: int = Field(ge=0, le=8)
    dilation: int = Field(ge=1, le=4)


def _slips(p: Params) -> dict[str, int]:
    n, k, s, pad, d = p.size, p.kernel, p.stride, p.padding, p.dilation
    return {
        "padding left out": out_size(n, k, s, 0, d),
        "padding on one side only": out_size(n + pad, k, s, 0, d),
        "dilation ignored": out_size(n, k, s, pad, 1),
        "the +1 forgotten": out_size(n, k, s, pad, d) - 1,
    }


def sample(rng: np.random.Generator) -> Params:
    while True:
        p = Params(
            size=int(rng.choice([28, 32, 56, 64, 96, 128, 224])),
            in_channels=int(rng.choice([3, 16, 32, 64])),
            out_channels=int(rng.choice([8, 16, 32, 64, 128])),
            kernel=int(rng.choice([3, 5, 7])),
            stride=int(rng.choice([1, 2, 3])),
            padding=int(rng.integers(1, 4)),
            dilation=int(rng.choice([2, 3])),
        )
        right = out_size(p.size, p.kernel, p.stride, p.padding, p.dilation)
        if right > 1 and all(v != right for v in _slips(p).values()):
            return p


def solve(p: Params) -> Solution:
    n, k, s, pad, d = p.size, p.kernel, p.stride, p.padding, p.dilation
    span = d * (k - 1) + 1
    out = out_size(n, k, s, pad, d)
    weights = p.out_channels * p.in_channels * k * k
    params = weights + p.out_channels
    steps = [
        rf"A dilated kernel spans $d(k-1)+1 = {d}\times({k}-1)+1 = {span}$ input positions.",
        rf"Padded input: $n + 2p = {n} + 2\times {pad} = {n + 2 * pad}$.",
        rf"Output: $\left\lfloor ({n + 2 * pad} - {span}) / {s} \right\rfloor + 1 = {out}$, "
        rf"so the output is ${out}\times {out}\times {p.out_channels}$.",
        rf"Weights: $c_{{\text{{out}}}} c_{{\text{{in}}}} k^2 = {p.out_channels}\times {p.in_channels}"
        rf"\times {k}\times {k} = {fmt(weights)}$; with one bias per filter, "
        rf"${fmt(weights)} + {p.out_channels} = {fmt(params)}$.",
    ]
    return Solution(answers={"out": out, "params": params}, steps=steps)


def mistakes(p: Params) -> dict[str, dict[str, float]]:
    k, c_in, c_out = p.kernel, p.in_channels, p.out_channels
    return {
        "out": {name: float(v) for name, v in _slips(p).items()},
        "params": {
            "bias forgotten": float(c_out * c_in * k * k),
            "kernel counted as k, not k*k": float(c_out * c_in * k + c_out),
            "input channels left out": float(c_out * k * k + c_out),
        },
    }


def check(p: Params, s: Solution) -> dict[str, int]:
    n, k, st, pad, d = p.size, p.kernel, p.stride, p.padding, p.dilation
    padded = n + 2 * pad
    # Every start position, one stride apart, whose last tap still lies in the padding.
    fits = [i for i in range(0, padded, st) if i + d * (k - 1) < padded]
    agree("out", len(fits), s.answers["out"])
    weight = np.zeros((c_out := p.out_channels, p.in_channels, k, k))
    bias = np.zeros(c_out)
    agree("params", weight.size + bias.size, s.answers["params"])
    return {"span": fits[0] + d * (k - 1) + 1, "padded": padded, "weights": weight.size}

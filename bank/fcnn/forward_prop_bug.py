"""Generator for forward-prop-bug (paper-b:4).

The parameters are the layer's shapes. solve gives the corrected code and the output
shape; check runs the code shown in the paper and the corrected code on random arrays
of those shapes: the buggy code must fail or give wrong numbers, the fixed code must
agree with a sigmoid of an explicitly summed matrix product.
"""

import numpy as np
from pydantic import Field

from qbgen import authoring
from qbgen.authoring import CheckFailed, Solution, agree, require

BUGGY = """import numpy as np

def forward_prop(W, a_prev, b):
    z = W*a_prev + b
    a = 1/(1+np.exp(-z)) #sigmoid
    return a
"""
FIXED = """import numpy as np

def forward_prop(W, a_prev, b):
    z = np.dot(W, a_prev) + b   # matrix product: (n, n_prev) x (n_prev, m)
    a = 1/(1+np.exp(-z)) #sigmoid
    return a
"""


class Params(authoring.Params):
    n_prev: int = Field(ge=1, le=64, description="units of the previous layer")
    n: int = Field(ge=1, le=64, description="units of this layer")
    m: int = Field(ge=1, le=64, description="examples in the batch")


def sample(rng: np.random.Generator) -> Params:
    return Params(n_prev=int(rng.integers(2, 9)), n=int(rng.integers(2, 9)), m=int(rng.integers(2, 9)))


def solve(p: Params) -> Solution:
    steps = [
        rf"For example, $W$ is ${p.n}\times{p.n_prev}$, $a^{{[l-1]}}$ is ${p.n_prev}\times{p.m}$ "
        rf"and $b$ is ${p.n}\times 1$: \texttt{{np.dot(W, a\_prev)}} is ${p.n}\times{p.m}$, "
        rf"and so are $z$ and $a$.",
    ]
    return Solution(
        answers={"fixed": FIXED, "out_rows": p.n, "out_cols": p.m},
        steps=steps,
        givens={"buggy": BUGGY},
    )


def _run(code: str, *args: np.ndarray) -> np.ndarray:
    space: dict = {}
    exec(compile(code, "<question code>", "exec"), space)  # the bank's own, trusted code
    return space["forward_prop"](*args)


def check(p: Params, s: Solution) -> None:
    rng = np.random.default_rng(p.n * 10_000 + p.n_prev * 100 + p.m)
    W = rng.standard_normal((p.n, p.n_prev))
    a_prev = rng.standard_normal((p.n_prev, p.m))
    b = rng.standard_normal((p.n, 1))
    z = np.array(
        [
            [sum(W[i, k] * a_prev[k, j] for k in range(p.n_prev)) + b[i, 0] for j in range(p.m)]
            for i in range(p.n)
        ]
    )
    expected = 1.0 / (1.0 + np.exp(-z))
    fixed = _run(s.answers["fixed"], W, a_prev, b)
    require(fixed.shape == expected.shape, f"fixed code gives shape {fixed.shape}, want {expected.shape}")
    require(np.allclose(fixed, expected), "fixed code does not compute sigmoid(W a_prev + b)")
    agree("out_rows", expected.shape[0], s.answers["out_rows"])
    agree("out_cols", expected.shape[1], s.answers["out_cols"])
    try:
        wrong = _run(s.givens["buggy"], W, a_prev, b)
    except ValueError:
        return  # the element-wise product cannot broadcast: the bug shows as an error
    if wrong.shape == expected.shape and np.allclose(wrong, expected):
        raise CheckFailed("the code shown as buggy computes the right answer for these shapes")

"""Generator for gradient-matrix-product (paper-a:1d).

The paper asks only for the expression dJ/dW = (yhat - y) X^T; the numeric instance is
an addition. Params are a small X (n x m), W (1 x n), b and labels y in {0, 1}. solve
uses the closed form with NumPy; check computes yhat with scalar loops and math.exp and
the gradient by central finite differences on the cost J itself. It returns the
pre-activations z (scalar loops) and the sizes m and n (from the lengths of y and X),
the numbers the steps print beyond the answers, and checks in place the shapes and the
X^T the steps print, which validate's reading of numbers cannot tell apart.
"""

import math
import re

import numpy as np
from pydantic import Field, model_validator

from qbgen import authoring
from qbgen.authoring import Solution, agree, fmt, matrix, require, rounded

Z_MAX = 3.0  # keep every pre-activation in the sigmoid's responsive range


class Params(authoring.Params):
    X: list[list[int]] = Field(description="inputs, n rows (features) by m columns (examples)")
    W: list[float] = Field(description="the 1 x n weight row W^[1]")
    b: float = Field(ge=-5, le=5, description="the bias b^[1]")
    y: list[int] = Field(description="labels, 1 x m")

    @model_validator(mode="after")
    def _well_posed(self) -> "Params":
        n, m = len(self.X), len(self.y)
        if not (2 <= n <= 4 and 2 <= m <= 4):
            raise ValueError("want 2 to 4 features and 2 to 4 examples")
        if any(len(row) != m for row in self.X):
            raise ValueError("every row of X needs one entry per example")
        if len(self.W) != n:
            raise ValueError("W must have one weight per feature")
        if any(v not in (0, 1) for v in self.y):
            raise ValueError("labels must be 0 or 1")
        if any(all(v == 0 for v in row) for row in self.X):
            raise ValueError("a feature that is zero on every example")
        for i in range(m):
            z = sum(self.W[j] * self.X[j][i] for j in range(n)) + self.b
            if abs(z) > Z_MAX:
                raise ValueError(f"z of example {i + 1} is {z:g}: the sigmoid saturates")
        return self


def sample(rng: np.random.Generator) -> Params:
    while True:
        n, m = int(rng.integers(2, 5)), int(rng.integers(2, 5))
        X = rng.integers(-2, 3, size=(n, m)).tolist()
        W = rounded(rng.uniform(-1, 1, size=n), 1)
        b = rounded(rng.uniform(-0.5, 0.5), 1)
        y = rng.integers(0, 2, size=m).tolist()
        if len(set(y)) < 2 and m > 2:
            continue  # prefer both classes present
        try:
            return Params(X=X, W=W, b=b, y=y)
        except ValueError:
            continue


def solve(p: Params) -> Solution:
    X, W, y = np.array(p.X, float), np.array([p.W]), np.array([p.y], float)
    z = W @ X + p.b
    yhat = 1.0 / (1.0 + np.exp(-z))
    err = yhat - y
    grad = err @ X.T
    n, m = X.shape
    steps = [
        rf"$z^{{[1]}} = W^{{[1]}}X + b^{{[1]}} = {matrix(z, 4)}$ \quad ($1\times {fmt(m)}$).",
        rf"$\hat y = \sigma(z^{{[1]}}) = {matrix(yhat, 4)}$.",
        rf"$\hat y - y = {matrix(err, 4)}$.",
        # The product on its own display lines: the factors, then the result.
        rf"$\dfrac{{\partial J}}{{\partial W^{{[1]}}}} = (\hat y - y)\,X^\top$ ($1\times{fmt(m)}$ times "
        rf"${fmt(m)}\times{fmt(n)}$ gives $1\times{fmt(n)}$, the shape of $W^{{[1]}}$):"
        rf"\[\begin{{aligned}}\frac{{\partial J}}{{\partial W^{{[1]}}}}"
        rf" &= {matrix(err, 4)}\,{matrix(X.T, 4)} \\ &= {matrix(grad, 4)}.\end{{aligned}}\]",
    ]
    givens = {
        "X": matrix(p.X),
        "W": matrix([p.W]),
        "b": fmt(p.b),
        "y": matrix([p.y]),
    }
    return Solution(
        answers={
            "yhat": yhat[0],
            "err": err[0],
            "grad": grad[0],
            "yhat_tex": matrix(yhat, 4),
            "grad_tex": matrix(grad, 4),
        },
        steps=steps,
        givens=givens,
    )


def _cost(X: list[list[int]], W: list[float], b: float, y: list[int]) -> float:
    total = 0.0
    for i in range(len(y)):
        z = math.fsum(W[j] * X[j][i] for j in range(len(W))) + b
        a = 1.0 / (1.0 + math.exp(-z))
        total -= y[i] * math.log(a) + (1 - y[i]) * math.log(1.0 - a)
    return total


def check(p: Params, s: Solution) -> dict:
    n, m = len(p.X), len(p.y)  # features (rows of X), examples (labels)
    z, yhat = [], []
    for i in range(m):
        z.append(math.fsum(p.W[j] * p.X[j][i] for j in range(n)) + p.b)
        yhat.append(1.0 / (1.0 + math.exp(-z[i])))
    agree("yhat", yhat, s.answers["yhat"], rel=1e-9)
    agree("err", [yhat[i] - p.y[i] for i in range(m)], s.answers["err"], rel=1e-9, abs=1e-12)
    h = 1e-5
    fd = []
    for j in range(n):
        up, down = list(p.W), list(p.W)
        up[j] += h
        down[j] -= h
        fd.append((_cost(p.X, up, p.b, p.y) - _cost(p.X, down, p.b, p.y)) / (2 * h))
    agree("grad", fd, s.answers["grad"], rel=1e-6, abs=1e-7)
    # The typeset answers must show the numbers just verified.
    require(s.answers["grad_tex"] == matrix([s.answers["grad"]], 4), "grad_tex does not show grad")
    require(s.answers["yhat_tex"] == matrix([s.answers["yhat"]], 4), "yhat_tex does not show yhat")
    # The shapes the steps print are small integers that validate's reading finds vouched
    # anyway (m and n both lie in 2..4, X holds 2s), so check them in place, in order:
    # z is 1 x m, and (1 x m)(m x n) gives 1 x n.
    dim = r"\{?(1|\\ensuremath\{\d+\})\}?"
    pairs = re.findall(rf"\${dim}\s*\\times\s*{dim}\$", "\n".join(s.steps))
    shapes = [tuple(int(re.sub(r"\D", "", x)) for x in pair) for pair in pairs]
    want = [(1, m), (1, m), (m, n), (1, n)]
    require(shapes == want, f"the steps give the shapes {shapes}, not {want}")
    # X^T printed in the product: its entries are parameters, so only its layout is news.
    x_t = [[p.X[j][i] for j in range(n)] for i in range(m)]
    require(matrix(x_t) in "\n".join(s.steps), "the product does not show X^T")
    return {"z": z, "examples": m, "features": n}

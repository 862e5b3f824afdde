"""Cross-check generator answers against PyTorch's own modules.

PyTorch is not a dependency of qbgen; this file skips where it is not installed. Each
question is checked for the paper's original params and for drawn params (seeds 0..29):
the shapes and parameter counts come from the modules PyTorch builds and runs, not from
a formula, so a wrong closed form in a generator (or a wrong convention label, e.g.
which bias count is PyTorch's) shows up here.
"""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pytest

from qbgen.bank import load_bank

torch = pytest.importorskip("torch")
nn = torch.nn
F = torch.nn.functional

BANK = Path(__file__).resolve().parents[1] / "bank"
SEEDS = list(range(30))
CASES = [None, *SEEDS]  # None: the paper's original params
CASE_IDS = ["original", *(f"seed{s}" for s in SEEDS)]


@pytest.fixture(scope="module")
def bank():
    return load_bank(BANK)


@pytest.fixture(scope="module", autouse=True)
def one_thread():
    # The tensors are tiny: PyTorch's thread pool only adds overhead, and on a loaded
    # machine (e.g. beside another test run) its threads contend and double the runtime.
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


def params_for(bq, seed):
    """The paper's params (seed None) or a draw from `sample`, validated through `Params`."""
    gen = bq.generator
    if seed is None:
        p = bq.original_params()
        assert p is not None, f"{bq.id} has no original params"
    else:
        p = gen.sample(np.random.default_rng(seed))
    return gen.Params.model_validate(p.model_dump())


def numel(module) -> int:
    return sum(t.numel() for t in module.parameters())


# --- CNN table (paper-a:2c) ---------------------------------------------------------

_LAYER = re.compile(r"^CONV-(\d+)-(\d+)$|^POOL-(\d+)$|^FC-(\d+)$")


def cell_dims(cell: str) -> tuple[int, ...]:
    """'$120 \\times 120 \\times 32$' -> (120, 120, 32); '$3$' -> (3,)."""
    assert re.fullmatch(r"\$\s*\d[\d{},]*(\s*\\times\s*\d[\d{},]*)*\s*\$", cell), cell
    return tuple(int(s) for s in re.findall(r"\d+", cell.replace("{,}", "")))


def hwc(x) -> tuple[int, ...]:
    """A PyTorch activation's shape without the batch axis, in the table's order."""
    if x.dim() == 4:  # (N, C, H, W) -> H x W x C
        return (x.shape[2], x.shape[3], x.shape[1])
    return tuple(x.shape[1:])


@pytest.mark.parametrize("seed", CASES, ids=CASE_IDS)
def test_cnn_table_matches_torch(bank, seed):
    bq = bank.get("paper-a:2c")
    p = params_for(bq, seed)
    answers = bq.generator.solve(p).answers
    table = answers["table"]
    assert len(table) == len(p.layers) + 1

    x = torch.zeros(1, p.channels, p.side, p.side)
    assert list(table[0]) == ["INPUT", table[0][1], 0, 0]
    assert cell_dims(table[0][1]) == hwc(x)

    total = 0
    with torch.no_grad():
        for layer, row in zip(p.layers, table[1:], strict=True):
            m = _LAYER.match(layer)
            assert m, layer
            if m.group(1):
                k, n = int(m.group(1)), int(m.group(2))
                module = nn.Conv2d(x.shape[1], n, kernel_size=k, stride=1, padding=0, bias=True)
                weights, biases = module.weight.numel(), module.bias.numel()
            elif m.group(3):
                k = int(m.group(3))
                module = nn.MaxPool2d(k, stride=k)
                weights = biases = 0
            else:
                x = torch.flatten(x, 1)
                module = nn.Linear(x.shape[1], int(m.group(4)))
                weights, biases = module.weight.numel(), module.bias.numel()
            assert weights + biases == numel(module)
            x = module(x)
            total += numel(module)
            assert row[0] == layer
            assert cell_dims(row[1]) == hwc(x), f"{layer}: table {row[1]}, torch {tuple(x.shape)}"
            assert row[2] == weights, f"{layer}: weights"
            assert row[3] == biases, f"{layer}: biases"
    assert answers["total"] == total


# --- Simple RNN layer (paper-a:3c) ---------------------------------------------------


@pytest.mark.parametrize("seed", CASES, ids=CASE_IDS)
def test_rnn_layer_params_match_torch(bank, seed):
    bq = bank.get("paper-a:3c")
    p = params_for(bq, seed)
    a = bq.generator.solve(p).answers
    rnn = nn.RNN(p.input_size, p.hidden_size)
    assert a["input_hidden"] == rnn.weight_ih_l0.numel()
    assert a["hidden_hidden"] == rnn.weight_hh_l0.numel()
    assert a["two_bias"] == numel(rnn)  # PyTorch nn.RNN: b_ih and b_hh
    assert a["one_bias"] == numel(rnn) - p.hidden_size  # Keras SimpleRNN: one bias
    assert a["one_bias"] == numel(rnn) - rnn.bias_hh_l0.numel()


# --- LSTM against simple RNN (paper-b:7) ---------------------------------------------


@pytest.mark.parametrize("seed", CASES, ids=CASE_IDS)
def test_lstm_vs_rnn_params_match_torch(bank, seed):
    bq = bank.get("paper-b:7")
    p = params_for(bq, seed)
    a = bq.generator.solve(p).answers
    h = p.units
    lstm = numel(nn.LSTM(p.input_size, h))
    rnn = numel(nn.RNN(p.input_size, h))
    assert a["lstm_two_bias"] == lstm
    assert a["rnn_two_bias"] == rnn
    assert a["lstm_one_bias"] == lstm - 4 * h
    assert a["rnn_one_bias"] == rnn - h
    assert a["ratio"] == pytest.approx(lstm / rnn)
    assert a["ratio"] == pytest.approx((lstm - 4 * h) / (rnn - h))


# --- ViT attention weights (paper-b:9) -----------------------------------------------

BATCH = 2  # images actually run; the count per image is then scaled to p.images
D_HEAD = 8


@pytest.mark.parametrize("seed", CASES, ids=CASE_IDS)
def test_vit_attention_weights_match_torch(bank, seed):
    bq = bank.get("paper-b:9")
    p = params_for(bq, seed)
    a = bq.generator.solve(p).answers
    torch.manual_seed(0)
    embed = p.heads * D_HEAD
    with torch.no_grad():
        images = torch.rand(BATCH, 3, p.resolution, p.resolution)
        # Patch count two ways: unfold (the raw patches) and a ViT patch embedding.
        raw = F.unfold(images, kernel_size=p.patch, stride=p.patch)  # (B, 3*P*P, N)
        assert raw.shape[1] == 3 * p.patch * p.patch
        to_tokens = nn.Conv2d(3, embed, kernel_size=p.patch, stride=p.patch)
        tokens = to_tokens(images).flatten(2).transpose(1, 2)  # (B, N, E)
        assert tokens.shape == (BATCH, raw.shape[2], embed)
        assert a["patches"] == tokens.shape[1] == raw.shape[2]

        attn = nn.MultiheadAttention(embed_dim=embed, num_heads=p.heads, batch_first=True)
        cls = torch.zeros(BATCH, 1, embed)
        counts = {}
        for name, seq in [("total", tokens), ("total_cls", torch.cat([cls, tokens], dim=1))]:
            out, weights = attn(seq, seq, seq, need_weights=True, average_attn_weights=False)
            n = seq.shape[1]
            assert out.shape == seq.shape
            assert weights.shape == (BATCH, p.heads, n, n)
            torch.testing.assert_close(weights.sum(-1), torch.ones(BATCH, p.heads, n))
            assert weights.numel() % BATCH == 0
            counts[name] = weights.numel() // BATCH
    assert a["weights_per_image"] == counts["total"]
    assert a["total"] == counts["total"] * p.images
    assert a["total_cls"] == counts["total_cls"] * p.images

"""Sizes of convolution layers, shared by the bank's CNN generators."""

from __future__ import annotations


def out_size(n: int, kernel: int, stride: int = 1, padding: int = 0, dilation: int = 1) -> int:
    """Output length of a convolution along one axis (floor division, as PyTorch's Conv2d)."""
    span = dilation * (kernel - 1) + 1  # the input positions one output sees
    return (n + 2 * padding - span) // stride + 1

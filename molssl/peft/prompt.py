"""Graph prompt feature (Fang et al., "Universal Prompt Tuning for Graph Neural Networks", NeurIPS 2023).

A learnable prompt is added to every node's input features while the encoder stays frozen. The
prompts are plain torch over [N, D] node features; where the features are taken (for molecules, the
atom embeddings, as the authors' chemistry code) is the encoder's wiring.
"""

from __future__ import annotations

import math

import torch
from torch import Tensor, nn


def _glorot_(tensor: Tensor) -> None:
    bound = math.sqrt(6.0 / (tensor.size(-2) + tensor.size(-1)))
    nn.init.uniform_(tensor, -bound, bound)


class FeaturePrompt(nn.Module):
    """GPF: one learnable vector p added to every node, ``x_i* = x_i + p`` (Glorot init, as the paper).

    Shapes:
        x: [N, D] -> [N, D]
    """

    def __init__(self, dim: int) -> None:
        super().__init__()
        self.prompt = nn.Parameter(torch.empty(1, dim))
        _glorot_(self.prompt)

    def forward(self, x: Tensor) -> Tensor:
        return x + self.prompt

    def hook(self, module: nn.Module, inputs: tuple, output: Tensor) -> Tensor:
        """A forward hook prompting ``module``'s output (a bound method, so deep copies stay wired)."""
        return self(output)


class BasisPrompt(nn.Module):
    """GPF-plus: k basis prompts mixed per node by attention, ``x_i* = x_i + sum_j a_ij p_j``.

    ``a_i = softmax_j(q_j . x_i)`` with learnable queries q_j (a bias-carrying linear layer, as the
    authors' code) and basis prompts p_j (Glorot init).

    Args:
        dim: node feature size D.
        num_basis: k.

    Shapes:
        x: [N, D] -> [N, D]
    """

    def __init__(self, dim: int, num_basis: int) -> None:
        super().__init__()
        self.basis = nn.Parameter(torch.empty(num_basis, dim))
        self.query = nn.Linear(dim, num_basis)
        _glorot_(self.basis)

    def forward(self, x: Tensor) -> Tensor:
        weights = torch.softmax(self.query(x), dim=-1)  # [N, k]
        return x + weights @ self.basis  # [N, k] @ [k, D]

    def hook(self, module: nn.Module, inputs: tuple, output: Tensor) -> Tensor:
        """A forward hook prompting ``module``'s output (a bound method, so deep copies stay wired)."""
        return self(output)


__all__ = ["BasisPrompt", "FeaturePrompt"]

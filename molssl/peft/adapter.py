"""Bottleneck adapter (Houlsby et al., "Parameter-Efficient Transfer Learning for NLP", ICML 2019)."""

from __future__ import annotations

import torch.nn.functional as F
from torch import Tensor, nn


class BottleneckAdapter(nn.Module):
    """``h + Up(ReLU(Down(h)))``: a residual bottleneck inserted after a frozen layer.

    Houlsby et al. (2019) insert it after each sub-layer of a frozen network and train only it (and
    the head). The up-projection starts at zero, so at initialization the adapter is exactly the
    identity and the adapted network computes exactly the pretrained function.

    Args:
        dim: feature size D of the layer output it follows.
        bottleneck: hidden width m (m << D).

    Shapes:
        h: [*, D] -> [*, D]
    """

    def __init__(self, dim: int, bottleneck: int) -> None:
        super().__init__()
        self.down = nn.Linear(dim, bottleneck)
        self.up = nn.Linear(bottleneck, dim)
        nn.init.zeros_(self.up.weight)
        nn.init.zeros_(self.up.bias)

    def forward(self, h: Tensor) -> Tensor:
        return h + self.up(F.relu(self.down(h)))

    def hook(self, module: nn.Module, inputs: tuple, output: Tensor) -> Tensor:
        """A forward hook that adapts ``module``'s output (a bound method: a deep copy of the model stays wired)."""
        return self(output)


__all__ = ["BottleneckAdapter"]

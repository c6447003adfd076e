"""Faster exact-fp32 CPU inference for ``nn.Linear`` through oneDNN.

PyTorch's CPU ``addmm`` goes to MKL, which on some CPUs (measured here on AMD EPYC with AVX-512)
reaches well under half of what oneDNN's fp32 inner product does on the same matrices. The oneDNN
linear op that PyTorch's own compiler uses for frozen CPU inference,
``torch.ops.mkldnn._linear_pointwise``, takes ordinary dense tensors, so a ``Linear`` can call it
directly. It is a private op, so it is used only where a probe shows it exists and agrees with
``F.linear``, and only for inference: fp32 CPU tensors, gradients off, autocast off. Everything else
(training, GPUs, bf16 autocast) goes through ``F.linear`` unchanged.
"""

from __future__ import annotations

import functools

import torch
import torch.nn.functional as F
from torch import Tensor, nn


ONEDNN_MIN_ROWS = 2048
"""Products with fewer input rows go to ``F.linear``. oneDNN builds a primitive for every new input shape:
about 2 ms per shape up to a few hundred rows (AMD EPYC with AVX2, one thread, 300 -> 600 features),
against 0.2-3 ms for the product itself, and a predictor or a fine-tuning loop meets a new row count at
nearly every batch (one molecule: ~20 rows). From about 1,500 rows the build is lost in the product
(``fast_linear.MIN_ROWS`` draws the same line for training)."""


@functools.lru_cache(maxsize=1)
def onednn_linear_available() -> bool:
    """Whether the oneDNN linear op exists here and matches ``F.linear`` on a probe."""
    op = getattr(getattr(torch.ops, "mkldnn", None), "_linear_pointwise", None)
    if op is None or not torch.backends.mkldnn.is_available():
        return False
    try:
        gen = torch.Generator().manual_seed(0)
        x, w, b = (torch.randn(*s, generator=gen) for s in ((7, 5), (3, 5), (3,)))
        with torch.no_grad():
            return bool(torch.allclose(op(x, w, b, "none", [], ""), F.linear(x, w, b), atol=1e-5, rtol=1e-5))
    except (RuntimeError, TypeError):
        return False


class OneDNNLinear(nn.Linear):
    """An ``nn.Linear`` (same parameters and state dict) whose CPU fp32 inference runs on oneDNN.

    Shapes:
        x: [N, in_features] -> [N, out_features]
    """

    def forward(self, x: Tensor) -> Tensor:
        if (
            x.device.type == "cpu"
            and x.dtype == torch.float32
            and x.dim() == 2
            and x.size(0) >= ONEDNN_MIN_ROWS
            and not torch.is_grad_enabled()
            and not torch.is_autocast_enabled("cpu")
            and onednn_linear_available()
        ):
            return torch.ops.mkldnn._linear_pointwise(x, self.weight, self.bias, "none", [], "")
        return F.linear(x, self.weight, self.bias)


def use_onednn_linears(model: nn.Module) -> nn.Module:
    """Make every plain ``nn.Linear`` of ``model`` a ``OneDNNLinear`` in place (parameters unchanged)."""
    for module in model.modules():
        if type(module) is nn.Linear:
            module.__class__ = OneDNNLinear
    return model

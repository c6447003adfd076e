"""Linear layers for CPU training on the fastest exact fp32 GEMM of each product (forward and backward).

A training step of a ``Linear`` is three matrix products: ``y = x W^T + b``, ``grad_x = grad_y W`` and
``grad_W = grad_y^T x``. PyTorch sends all three to MKL. Measured on this project's CPU (AMD EPYC,
AVX2, one thread, N = 5,500 atoms, 300 <-> 600 features) oneDNN's inner product is faster for the first
two (35 vs 41 ms and 40 vs 60 ms) and MKL for the third (38-47 vs 49-57 ms), so ``linear`` takes
oneDNN's op (``torch.ops.mkldnn._linear_pointwise``, the one ``molssl.nn.onednn`` uses for inference,
behind the same probe) for ``y`` and ``grad_x``, MKL for ``grad_W``, and fuses a following ReLU into the
forward product (oneDNN post-op; the backward masks the gradient by the output). Both libraries compute
in fp32 without reduced-precision shortcuts: results agree with ``F.linear`` to float rounding, and a
run is bitwise repeatable on a given machine and thread count.

The fast path serves fp32 CPU tensors of at least ``MIN_ROWS`` rows outside autocast: oneDNN builds a
primitive for every new row count (batches of molecules all differ), which a product of a few hundred
rows (a fine-tuning batch of 32 molecules) does not earn back, while pretraining's thousands of atoms
per batch do. Anything else (GPUs, bf16 autocast, float64,
a PyTorch without the op) is ``F.linear`` (and ``F.relu``) unchanged. ``run_mlp`` runs an
``nn.Sequential`` of Linear / ReLU / other modules with it, keeping the modules (and state dict keys) as
they are.
"""

from __future__ import annotations

from typing import Any

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from molssl.nn.onednn import onednn_linear_available

#: fewest rows (atoms) for which ``linear`` takes the oneDNN/MKL path; smaller inputs take ``F.linear``
MIN_ROWS = 2048


def fast_path_applies(x: Tensor) -> bool:
    """Whether ``linear`` takes the oneDNN/MKL path for ``x`` (fp32 CPU, 2-D, no autocast, op present)."""
    return (
        x.device.type == "cpu"
        and x.dtype == torch.float32
        and x.dim() == 2
        and not torch.is_autocast_enabled("cpu")
        and onednn_linear_available()
    )


class _LinearFunction(torch.autograd.Function):
    """``act(x W^T + b)`` (act = ReLU or identity): oneDNN forward and input gradient, MKL weight gradient."""

    @staticmethod
    def forward(ctx: Any, x: Tensor, weight: Tensor, bias: Tensor | None, relu: bool) -> Tensor:
        out = torch.ops.mkldnn._linear_pointwise(x, weight, bias, "relu" if relu else "none", [], "")
        ctx.relu = relu
        ctx.has_bias = bias is not None
        ctx.save_for_backward(x, weight, out if relu else None)
        return out

    @staticmethod
    def backward(ctx: Any, grad: Tensor) -> tuple[Tensor | None, Tensor | None, Tensor | None, None]:
        x, weight, out = ctx.saved_tensors
        grad = grad.contiguous()
        if ctx.relu:
            grad = torch.ops.aten.threshold_backward(grad, out, 0)  # ReLU'(z) = [out > 0]
        grad_x = grad_w = grad_b = None
        if ctx.needs_input_grad[0]:
            # grad_y @ W as an inner product with weight W^T ([in, out], a small copy)
            grad_x = torch.ops.mkldnn._linear_pointwise(grad, weight.t().contiguous(), None, "none", [], "")
        if ctx.needs_input_grad[1]:
            grad_w = grad.t().mm(x)  # [out, N] @ [N, in]
        if ctx.has_bias and ctx.needs_input_grad[2]:
            grad_b = grad.sum(0)
        return grad_x, grad_w, grad_b, None


def linear(x: Tensor, weight: Tensor, bias: Tensor | None = None, relu: bool = False) -> Tensor:
    """``F.linear(x, weight, bias)``, followed by ReLU when ``relu``, on the fastest CPU GEMMs.

    Shapes:
        x: [N, in], weight: [out, in], bias: [out] -> [N, out]
    """
    if fast_path_applies(x) and weight.dtype == torch.float32 and weight.device.type == "cpu" and x.size(0) >= MIN_ROWS:
        return _LinearFunction.apply(x.contiguous(), weight, bias, relu)
    out = F.linear(x, weight, bias)
    return F.relu(out) if relu else out


def run_mlp(mlp: nn.Sequential, x: Tensor) -> Tensor:
    """``mlp(x)`` with each ``nn.Linear`` (and a ``nn.ReLU`` right after it) through ``linear``.

    Shapes:
        x: [N, in] -> [N, out]
    """
    modules = list(mlp)
    i = 0
    while i < len(modules):
        module = modules[i]
        if type(module) is nn.Linear:
            relu = i + 1 < len(modules) and type(modules[i + 1]) is nn.ReLU
            x = linear(x, module.weight, module.bias, relu=relu)
            i += 2 if relu else 1
        else:
            x = module(x)
            i += 1
    return x


__all__ = ["MIN_ROWS", "fast_path_applies", "linear", "run_mlp"]

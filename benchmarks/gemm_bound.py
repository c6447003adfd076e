"""The GEMM-only bound of a training step: its dense matrix products alone, each on the fastest kernel.

``record_gemms(fn)`` runs ``fn`` once under a ``TorchDispatchMode`` and lists every dense matrix
product it dispatches, forward and backward, after autocast (so a bf16 step lists bf16 products):
``aten.mm``, ``aten.addmm``, ``aten.bmm`` and oneDNN's ``mkldnn._linear_pointwise``, as (M, K, N,
dtype, count) with ``count`` = the batch of a ``bmm``. Sparse products (the CSR neighbour sums) are not
GEMMs and are left out, as is everything else (gathers, norms, the optimizer).

``GemmBound(gemms)`` picks, for each distinct product, the fastest of the kernels PyTorch offers on
this machine for it: MKL ``mm`` with either operand stored transposed or not (NN, NT, TN) and oneDNN's
inner product; ``run()`` then computes every product of the list once on its kernel (inputs prepared
beforehand, outputs allocated as the step allocates them). Timed like a step, interleaved with the
steps, its throughput is the bound: a step that did nothing but its matrix products, each at the best
speed available for that shape, layout included.
"""

from __future__ import annotations

import statistics
import time
from collections import Counter
from typing import Any, Callable

import torch
from torch.utils._python_dispatch import TorchDispatchMode

Gemm = tuple[int, int, int, torch.dtype, int]  # M, K, N, dtype, batch count


class _Recorder(TorchDispatchMode):
    def __init__(self) -> None:
        super().__init__()
        self.gemms: list[Gemm] = []

    def __torch_dispatch__(self, func, types, args=(), kwargs=None):
        kwargs = kwargs or {}
        name = str(func.overloadpacket).split(".")[-1] if hasattr(func, "overloadpacket") else str(func)
        dense = [a for a in args if isinstance(a, torch.Tensor)]
        if all(t.layout == torch.strided for t in dense):
            if name == "mm":
                (m, k), n = args[0].shape, args[1].shape[1]
                self.gemms.append((m, k, n, args[0].dtype, 1))
            elif name == "addmm":
                (m, k), n = args[1].shape, args[2].shape[1]
                self.gemms.append((m, k, n, args[1].dtype, 1))
            elif name == "bmm":
                b, m, k = args[0].shape
                self.gemms.append((m, k, args[1].shape[2], args[0].dtype, b))
            elif name == "_linear_pointwise":
                x, w = args[0], args[1]
                self.gemms.append((x.numel() // x.shape[-1], x.shape[-1], w.shape[0], x.dtype, 1))
        return func(*args, **kwargs)


def record_gemms(fn: Callable[[], Any]) -> list[Gemm]:
    """The dense matrix products ``fn()`` dispatches (forward and backward), in order."""
    recorder = _Recorder()
    with recorder:
        fn()
    return recorder.gemms


def _kernels(m: int, k: int, n: int, dtype: torch.dtype, count: int) -> dict[str, Callable[[], Any]]:
    gen = torch.Generator().manual_seed(0)
    a = torch.randn(count, m, k, generator=gen).to(dtype)
    b = torch.randn(count, k, n, generator=gen).to(dtype)
    if count > 1:
        return {"bmm": lambda: torch.bmm(a, b)}
    a, b = a[0], b[0]
    at, bt = a.t().contiguous(), b.t().contiguous()  # the operands stored transposed
    kernels = {
        "mkl NN": lambda: a.mm(b),
        "mkl NT": lambda: a.mm(bt.t()),
        "mkl TN": lambda: at.t().mm(b),
    }
    op = getattr(getattr(torch.ops, "mkldnn", None), "_linear_pointwise", None)
    if op is not None and torch.backends.mkldnn.is_available():
        try:
            op(a[:2], bt, None, "none", [], "")
            kernels["onednn"] = lambda: op(a, bt, None, "none", [], "")
        except (RuntimeError, TypeError):
            pass
    return kernels


class GemmBound:
    """The products of ``gemms`` on the fastest kernel each (chosen by timing ``repeats`` runs of every kernel).

    Attributes:
        choice: per distinct product, the kernel chosen and its median milliseconds.
    """

    def __init__(self, gemms: list[Gemm], repeats: int = 5) -> None:
        self.counts = Counter(gemms)
        self.calls: list[Callable[[], Any]] = []
        self.choice: dict[Gemm, tuple[str, float]] = {}
        for gemm, times in self.counts.items():
            kernels = _kernels(*gemm)
            timings: dict[str, list[float]] = {name: [] for name in kernels}
            for fn in kernels.values():
                fn()
            for _ in range(repeats):  # interleaved, so that load changes hit every kernel alike
                for name, fn in kernels.items():
                    start = time.process_time()
                    fn()
                    timings[name].append(time.process_time() - start)
            best = min(timings, key=lambda name: statistics.median(timings[name]))
            self.choice[gemm] = (best, statistics.median(timings[best]) * 1e3)
            self.calls += [kernels[best]] * times

    @property
    def flops(self) -> float:
        """Floating-point operations of the listed products (2 M K N each)."""
        return sum(2.0 * m * k * n * count * times for (m, k, n, _, count), times in self.counts.items())

    def run(self) -> None:
        """Every product of the list once, on its chosen kernel."""
        for call in self.calls:
            call()


__all__ = ["GemmBound", "record_gemms"]

"""Run the Triton kernels on the GPU when there is one, else on CPU tensors under Triton's interpreter.

``TRITON_INTERPRET=1`` must be set before ``molssl.ops._triton`` defines its kernels, so it is set
here, when pytest collects this directory. Should some earlier test module have imported the kernels
already (compiled for a GPU), they are imported afresh in interpreted form. Triton itself may have been
imported before (``import torch_geometric`` does); the kernels do not depend on that (see
``molssl.ops._triton.reductions``). Only a missing Triton skips these tests: on a plain CPU machine
with Triton installed (CI) they always run.
"""

from __future__ import annotations

import importlib
import os
import sys

import pytest
import torch

ON_GPU = torch.cuda.is_available() and os.environ.get("TRITON_INTERPRET", "0") in ("", "0")
if not ON_GPU:
    os.environ["TRITON_INTERPRET"] = "1"

#: where the kernel tests put their tensors
DEVICE = torch.device("cuda" if ON_GPU else "cpu")

#: the input dtypes the kernels are tested in against the reference (float64 has its gradchecks)
DTYPES = [torch.float32, torch.bfloat16, torch.float16]


def _interpreted_kernels():
    """``molssl.ops._triton`` built for the interpreter, re-imported if it was compiled for a GPU."""
    import molssl.ops._triton as kernels

    if kernels.INTERPRETED:
        return kernels
    for name in [m for m in sys.modules if m == "molssl.ops._triton" or m.startswith("molssl.ops._triton.")]:
        del sys.modules[name]
    kernels = importlib.import_module("molssl.ops._triton")
    importlib.import_module("molssl.ops.dispatch")._TRITON = None  # the dispatch picks up the new module
    return kernels


def kernels_or_skip():
    """``molssl.ops._triton`` ready for ``DEVICE``; skips the module only when Triton is not installed."""
    pytest.importorskip("triton", reason="the Triton kernels need triton (pip install -e '.[test]')")
    if ON_GPU:
        import molssl.ops._triton as kernels

        return kernels
    kernels = _interpreted_kernels()
    if not kernels.INTERPRETED:
        pytest.fail("the Triton kernels did not build for the interpreter although TRITON_INTERPRET=1 is set")
    return kernels


def unsorted_index(num_rows: int, dim_size: int, seed: int, empty: tuple[int, ...] = ()) -> torch.Tensor:
    """Random segment ids in ``[0, dim_size)`` that leave the segments in ``empty`` without rows."""
    g = torch.Generator().manual_seed(seed)
    used = torch.tensor([s for s in range(dim_size) if s not in empty])
    return used[torch.randint(len(used), (num_rows,), generator=g)]


# name -> (rows E, segments S, trailing shape, index maker); together they cover empty segments (in
# the middle and trailing), a single row, single-row segments, unsorted ids, many short segments, a long segment
# read in several steps, and wide (two feature blocks) and narrow (a vector) rows
CASES = {
    "empty_segments": (40, 9, (5,), lambda e, s: unsorted_index(e, s, 0, empty=(1, s - 2, s - 1))),
    "single_element": (1, 3, (4,), lambda e, s: torch.tensor([1])),
    "single_rows": (12, 12, (3,), lambda e, s: torch.randperm(s, generator=torch.Generator().manual_seed(1))),
    "unsorted": (60, 7, (2, 3), lambda e, s: unsorted_index(e, s, 2)),
    "many_segments": (400, 200, (2,), lambda e, s: unsorted_index(e, s, 3)),
    "long_segment": (100, 3, (4,), lambda e, s: unsorted_index(e, s, 4, empty=(0,))),
    "wide": (16, 4, (300,), lambda e, s: unsorted_index(e, s, 5)),
    "narrow": (50, 7, (), lambda e, s: unsorted_index(e, s, 6, empty=(3,))),
}


def make_case(name: str, dtype: torch.dtype, seed: int = 0) -> tuple[torch.Tensor, torch.Tensor, int]:
    """``(src, index, dim_size)`` of case ``name`` on ``DEVICE``; ``src`` is exactly representable in ``dtype``."""
    num_rows, dim_size, shape, make_index = CASES[name]
    g = torch.Generator().manual_seed(seed)
    src = torch.randn(num_rows, *shape, generator=g, dtype=torch.float64).to(dtype)
    return src.to(DEVICE), make_index(num_rows, dim_size).to(DEVICE), dim_size


#: forward and gradient tolerances against the float64 reference: float32 accumulation, one rounding
#: (Triton's interpreter truncates float32 -> bfloat16 where GPUs round to nearest: up to one ulp)
TOLERANCE = {
    torch.float64: {"rtol": 1e-10, "atol": 1e-10},
    torch.float32: {"rtol": 1e-5, "atol": 1e-5},
    torch.float16: {"rtol": 2e-3, "atol": 2e-3},
    torch.bfloat16: {"rtol": 1.6e-2, "atol": 1.6e-2},
}


def assert_matches_reference(run, reference, src: torch.Tensor, exact: bool = False, seed: int = 0) -> None:
    """``run(src)`` (the kernels) against ``reference(src)`` in float64: values, dtype and gradients.

    ``exact``: the forward must be bitwise equal to the float64 result rounded to ``src.dtype`` (max,
    min: no arithmetic). The gradient is pulled back with the same random output gradient.
    """
    dtype = src.dtype
    tolerance = TOLERANCE[dtype]
    src_kernel = src.detach().clone().requires_grad_(True)
    src_exact = src.detach().to(torch.float64).requires_grad_(True)
    out = run(src_kernel)
    expected = reference(src_exact)
    assert out.dtype == dtype and out.shape == expected.shape
    if exact:
        torch.testing.assert_close(out, expected.to(dtype), rtol=0, atol=0, equal_nan=True)
    else:
        torch.testing.assert_close(out, expected.to(dtype), equal_nan=True, **tolerance)
    g = torch.Generator().manual_seed(seed)
    grad_out = torch.randn(out.shape, generator=g, dtype=torch.float64).to(dtype).to(out.device)
    (grad,) = torch.autograd.grad(out, src_kernel, grad_out)
    (expected_grad,) = torch.autograd.grad(expected, src_exact, grad_out.to(torch.float64))
    assert grad.dtype == dtype
    torch.testing.assert_close(grad, expected_grad.to(dtype), **tolerance)

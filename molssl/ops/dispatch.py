"""Which backend a scatter, segment or softmax call runs, the process-wide settings, and the shared checks.

The leaf of ``molssl.ops``: each operation (``scatter``, ``segment``, ``segment_softmax``, one file each)
validates its arguments and picks its backend here, then runs the reference or a kernel. Two backends:

* ``"torch"``: the pure-torch reference (``molssl.ops.reference``: ``index_add``/``scatter_reduce``).
  Runs anywhere, supports every dtype, and is differentiable to any order.
* ``"triton"``: the Triton kernels (``molssl.ops._triton``), for float16, bfloat16, float32 and
  float64 (16-bit inputs accumulated in float32). Once differentiable.

Which one runs (``resolve_backend`` answers it without running anything):

1. the ``backend=`` argument of the call, else the process-wide setting (``set_backend``, the
   ``use_backend`` context manager, initially the ``MOLSSL_OPS_BACKEND`` environment variable),
   else ``"auto"``;
2. ``"auto"`` means Triton when ``src`` is a CUDA tensor of a kernel dtype, Triton is importable
   and the call is not being traced by ``torch.compile`` (which generates its own kernels); torch
   otherwise (every CPU tensor; a Triton that is installed but fails to import warns once);
3. ``"triton"`` forces the kernels and fails loudly (never a silent fallback) when they cannot run:
   Triton missing (``ImportError``), an unsupported dtype (``TypeError``), or a CPU tensor while the
   kernels are compiled for a GPU (``RuntimeError``). CPU tensors run under Triton's interpreter
   when ``TRITON_INTERPRET=1`` was set before the kernels were first used: that is how the tests
   check the kernels without a GPU;
4. ``"torch"`` forces the reference.

Calls without rows or segments take the reference on either backend. The torch backend ignores ``ptr``
and ``order`` (``index_add``/``scatter_reduce`` need neither, and gathering ``src[perm]`` for a segment
reduction would only add a copy on CPU); both are still checked.

Determinism (the ``deterministic=`` argument, else the process-wide setting, initially the
``MOLSSL_OPS_DETERMINISTIC`` environment variable, else ``torch.are_deterministic_algorithms_enabled()``):
on the Triton backend a deterministic call gives bitwise-identical results and gradients run to run.
The reference follows torch's own rules (on CUDA, ``index_add`` uses atomics unless
``torch.use_deterministic_algorithms(True)``).

The checks look at shapes, dtypes and devices only, never at values on the device (that would be a
host synchronization): ``ptr`` values are checked on CPU only, and ``order`` by its shapes and device
(that it is the order of ``index`` is the caller's contract).
"""

from __future__ import annotations

import contextlib
import functools
import importlib.util
import os
import warnings
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import torch
from torch import Tensor

from molssl.ops.order import SegmentOrder, check_order, sort_segments

#: the backends ``scatter`` and friends can be asked for
BACKENDS = ("auto", "torch", "triton")

#: input dtypes the Triton kernels accept (16-bit floats are accumulated in float32)
TRITON_DTYPES = (torch.float16, torch.bfloat16, torch.float32, torch.float64)

_ENV_BACKEND = "MOLSSL_OPS_BACKEND"
_ENV_DETERMINISTIC = "MOLSSL_OPS_DETERMINISTIC"


def _check_backend(backend: str) -> str:
    if backend not in BACKENDS:
        raise ValueError(f"unknown backend {backend!r}; valid backends: {', '.join(BACKENDS)}")
    return backend


def _env_deterministic() -> bool | None:
    value = os.environ.get(_ENV_DETERMINISTIC, "").strip().lower()
    if value in ("", "auto"):
        return None
    if value in ("0", "1", "false", "true"):
        return value in ("1", "true")
    raise ValueError(f"{_ENV_DETERMINISTIC}={value!r}; use 1 or 0 (or leave it unset to follow torch)")


@dataclass
class _Settings:
    backend: str
    deterministic: bool | None


_SETTINGS = _Settings(_check_backend(os.environ.get(_ENV_BACKEND, "auto").strip() or "auto"), _env_deterministic())


def set_backend(backend: str = "auto", *, deterministic: bool | None = None) -> None:
    """Select the backend (and determinism) of every later call that does not choose its own.

    Args:
        backend: ``"auto"``, ``"torch"`` or ``"triton"`` (see the module docstring for the rules).
        deterministic: require bitwise-reproducible results from the Triton kernels; ``None``
            follows ``torch.are_deterministic_algorithms_enabled()``.
    """
    if deterministic is not None and not isinstance(deterministic, bool):
        raise ValueError(f"deterministic must be a bool or None, got {deterministic!r}")
    _SETTINGS.backend = _check_backend(backend)
    _SETTINGS.deterministic = deterministic


def get_backend() -> tuple[str, bool | None]:
    """The process-wide ``(backend, deterministic)`` setting."""
    return _SETTINGS.backend, _SETTINGS.deterministic


@contextlib.contextmanager
def use_backend(backend: str = "auto", *, deterministic: bool | None = None) -> Iterator[None]:
    """Within the block, calls that do not choose their own use ``backend`` and ``deterministic``.

    Not thread-local: it changes the process-wide setting and restores it on exit. Autograd's backward
    runs the backend chosen in the forward, whatever the setting at ``backward()`` time.

    Example::

        with molssl.ops.use_backend("torch"):
            loss = model(batch)  # the pure-torch reference, e.g. for double backward
    """
    previous = get_backend()
    set_backend(backend, deterministic=deterministic)
    try:
        yield
    finally:
        set_backend(previous[0], deterministic=previous[1])


_TRITON: Any = None  # molssl.ops._triton once imported


@functools.cache
def triton_available() -> bool:
    """Whether Triton is installed (checked once, without importing it)."""
    return importlib.util.find_spec("triton") is not None


def kernels() -> Any:
    """``molssl.ops._triton``, imported on first use (it imports Triton and defines the kernels)."""
    global _TRITON
    if _TRITON is None:
        try:
            import molssl.ops._triton as module
        except ImportError as error:
            raise ImportError(
                f"the triton backend of molssl.ops needs Triton ({error}); install it with "
                "pip install 'molssl[gpu]', or use backend='torch' or 'auto'"
            ) from error
        _TRITON = module
    return _TRITON


@functools.cache
def _kernels_importable() -> bool:
    """Whether ``molssl.ops._triton`` imports; ``"auto"`` falls back to torch (with a warning) if not."""
    try:
        kernels()
    except ImportError as error:
        warnings.warn(f"{error}; molssl.ops falls back to the torch backend", RuntimeWarning, stacklevel=3)
        return False
    return True


def _compiling() -> bool:
    is_compiling = getattr(torch.compiler, "is_compiling", None)
    return bool(is_compiling is not None and is_compiling())


def resolve_backend(src: Tensor, backend: str | None = None) -> str:
    """The backend, ``"torch"`` or ``"triton"``, that a call on ``src`` with ``backend`` runs.

    Raises the error a forced ``"triton"`` would raise when the kernels cannot take ``src``.
    """
    choice = _check_backend(_SETTINGS.backend if backend is None else backend)
    if choice == "torch":
        return "torch"
    if choice == "auto":
        usable = (
            src.is_cuda
            and src.dtype in TRITON_DTYPES
            and not _compiling()
            and triton_available()
            and _kernels_importable()
        )
        return "triton" if usable else "torch"
    if src.dtype not in TRITON_DTYPES:
        raise TypeError(
            f"the triton backend takes {', '.join(str(d) for d in TRITON_DTYPES)} inputs, got {src.dtype}; "
            "use backend='torch' or 'auto'"
        )
    loaded = kernels()
    if src.device.type != "cuda" and not (src.device.type == "cpu" and loaded.INTERPRETED):
        raise RuntimeError(
            f"the triton kernels run on CUDA tensors, got a tensor on {src.device}; CPU tensors run only under "
            "Triton's interpreter (set TRITON_INTERPRET=1 before molssl's kernels are first used, as the tests "
            "do); otherwise use backend='torch' or 'auto'"
        )
    return "triton"


def resolve_deterministic(deterministic: bool | None) -> bool:
    """The call's ``deterministic``, else the process-wide setting, else torch's."""
    if deterministic is not None:
        return bool(deterministic)
    if _SETTINGS.deterministic is not None:
        return _SETTINGS.deterministic
    return torch.are_deterministic_algorithms_enabled()


def _is_size(value: Any) -> bool:
    # a Tensor would need a host synchronization; SymInts (torch.compile) have __index__ and pass
    return not isinstance(value, (bool, Tensor)) and hasattr(type(value), "__index__") and value >= 0


def check_index(src: Tensor, index: Tensor, dim_size: int) -> None:
    """``index`` gives one segment id per row of ``src``; ``dim_size`` is a count (shape checks only)."""
    if index.dim() != 1:
        raise ValueError(f"index must be 1-D, got shape {tuple(index.shape)}")
    if src.dim() == 0 or src.size(0) != index.size(0):
        raise ValueError(
            f"src has {src.size(0) if src.dim() else 0} rows along dim 0 but index has {index.size(0)}; "
            "they must match (one segment id per row of src)"
        )
    if index.dtype not in (torch.int64, torch.int32):
        raise ValueError(f"index must hold integer segment ids (torch.long), got {index.dtype}")
    if index.device != src.device:
        raise ValueError(f"index is on {index.device} but src on {src.device}; put them on the same device")
    if not _is_size(dim_size):
        raise ValueError(f"dim_size must be a non-negative int (the number of segments), got {dim_size!r}")


def check_ptr(ptr: Tensor, num_rows: int, dim_size: int | None = None) -> None:
    """Check CSR offsets: 1-D integers, ``dim_size + 1`` of them; on CPU also ``0 ... num_rows``, sorted.

    The values are checked only on CPU, where reading them costs no device synchronization.
    """
    if ptr.dim() != 1 or ptr.numel() < 1 or ptr.dtype not in (torch.int64, torch.int32):
        raise ValueError(
            f"ptr must be a 1-D integer tensor of segment offsets (S + 1 values), got {ptr.dtype} of shape "
            f"{tuple(ptr.shape)}"
        )
    if dim_size is not None and ptr.numel() != dim_size + 1:
        raise ValueError(f"ptr has {ptr.numel()} offsets but dim_size is {dim_size}; it needs dim_size + 1")
    if ptr.device.type != "cpu":
        return
    if int(ptr[0]) != 0 or int(ptr[-1]) != num_rows:
        raise ValueError(
            f"ptr must start at 0 and end at the number of rows ({num_rows}), got {int(ptr[0])} ... {int(ptr[-1])}"
        )
    if bool((ptr[1:] < ptr[:-1]).any()):
        raise ValueError("ptr must be non-decreasing (the offsets of a sorted index)")


def check_offsets(src: Tensor, dim_size: int, ptr: Tensor | None, order: SegmentOrder | None) -> None:
    """Check the optional ``ptr`` (sorted index) or ``order`` (unsorted index) of a call; at most one."""
    if ptr is not None and order is not None:
        raise ValueError(
            "pass ptr (the offsets of a sorted index) or order (the SegmentOrder of an unsorted one), not both"
        )
    if ptr is not None:
        check_ptr(ptr, src.size(0), dim_size)
    if order is not None:
        check_order(order, src.size(0), dim_size, src.device)
        check_ptr(order.ptr, src.size(0), dim_size)


def rows(src: Tensor) -> Tensor:
    """``src`` as a contiguous [E, F] matrix (F = product of the trailing dims; 1 for a vector)."""
    return src.reshape(src.size(0), -1).contiguous()


def sort_index(index: Tensor, dim_size: int) -> tuple[Tensor, Tensor]:
    """The per-call stable sort of an unsorted ``index`` before a segment kernel (``perm``, ``ptr``).

    What a call without ``ptr`` or ``order`` pays on the segment path; operations call it through this
    module, so a test can make it unreachable.
    """
    return sort_segments(index, dim_size)


__all__ = [
    "BACKENDS", "TRITON_DTYPES", "check_index", "check_offsets", "check_ptr", "get_backend", "kernels", "resolve_backend",
    "resolve_deterministic", "rows", "set_backend", "sort_index", "triton_available", "use_backend",
]  # fmt: skip

"""Keep freed tensor memory in the process on glibc, so training steps stop paying page faults.

Every training step frees and reallocates the same large buffers (activations, gradients, a batch's
features: hundreds of KiB to tens of MiB). With glibc's defaults, blocks above the mmap threshold are
returned to the kernel on ``free`` and the next step's allocation faults every 4 KiB page back in,
zeroed; the top of the heap is trimmed the same way. Measured on ``molssl example --epochs 2 --seeds 0``
(2-core CPU, loaded): 2.04M minor page faults and 7.1 s of system time with glibc's defaults, 0.57-0.83M
and 2.0-3.2 s with the settings below, identical results (``benchmarks/results/allocator.jsonl``).

``keep_freed_memory()`` raises the mmap threshold to its glibc maximum (32 MiB on 64-bit) and the trim
threshold to 1 GiB through ``mallopt``: the process's resident memory then stays near its peak instead
of shrinking between steps, the usual trade of training processes (PyTorch's own guidance suggests the
same settings, or jemalloc/tcmalloc). It changes no number a run computes. It does nothing off glibc,
when the user set ``MALLOC_MMAP_THRESHOLD_`` / ``MALLOC_TRIM_THRESHOLD_`` (their choice wins), or when
``MOLSSL_ALLOCATOR=system``. Training entry points call it (``pretrain``, ``PropertyPredictor.fit``,
the CLI); it is idempotent.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import functools
import logging
import os
import platform

logger = logging.getLogger(__name__)

#: glibc's ``mallopt`` parameters (malloc.h)
_M_TRIM_THRESHOLD = -1
_M_MMAP_THRESHOLD = -3
#: glibc caps the mmap threshold at HEAP_MAX_SIZE / 2: 32 MiB on 64-bit
MMAP_THRESHOLD = 32 * 2**20
TRIM_THRESHOLD = 2**30

@functools.cache
def keep_freed_memory() -> bool:
    """Set glibc's mmap and trim thresholds for training (see the module docstring); True if they were set.

    Returns False, changing nothing, off Linux/glibc, under ``MOLSSL_ALLOCATOR=system`` or when the user
    set glibc's own variables. Calls after the first return the first call's answer.
    """
    if os.environ.get("MOLSSL_ALLOCATOR", "").lower() == "system":
        return False
    if any(v in os.environ for v in ("MALLOC_MMAP_THRESHOLD_", "MALLOC_TRIM_THRESHOLD_", "GLIBC_TUNABLES")):
        return False
    if platform.system() != "Linux" or platform.libc_ver()[0] != "glibc":
        return False
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
        mallopt = libc.mallopt
    except (OSError, AttributeError):
        return False
    mallopt.argtypes, mallopt.restype = [ctypes.c_int, ctypes.c_int], ctypes.c_int
    ok = mallopt(_M_MMAP_THRESHOLD, MMAP_THRESHOLD) == 1 and mallopt(_M_TRIM_THRESHOLD, TRIM_THRESHOLD) == 1
    if not ok:
        logger.debug("glibc refused the mallopt settings; the allocator keeps its defaults")
    return ok


__all__ = ["keep_freed_memory", "MMAP_THRESHOLD", "TRIM_THRESHOLD"]

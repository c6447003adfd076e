"""Every kernel compiles for real GPUs (sm_90 H100/H200, sm_80 A100) ahead of time, without one.

The interpreter runs the kernels' Python, not Triton's compiler, so these builds are what catch code
that the interpreter accepts and the compiler rejects. They go down to the cubin with the ptxas that
ships with Triton and need no GPU or driver. Each runs in a fresh process without
``TRITON_INTERPRET`` (``compile_kernels.py``).
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.ops._triton.conftest import kernels_or_skip

kernels_or_skip()

ROOT = Path(__file__).resolve().parents[3]


def compile_in_a_fresh_process(dtype: str, arch: int) -> None:
    pytest.importorskip("triton.compiler", reason="needs Triton's compiler")
    env = {k: v for k, v in os.environ.items() if k != "TRITON_INTERPRET"}
    env.setdefault("TRITON_DEFAULT_FP_FUSION", "1")
    done = subprocess.run(
        [sys.executable, "-m", "tests.ops._triton.compile_kernels", "--dtype", dtype, "--arch", str(arch)],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=600, check=False,
    )  # fmt: skip
    if "unexpected keyword argument 'constexprs'" in done.stderr:
        pytest.skip("this Triton's ASTSource predates the constexprs argument (triton<3.3)")
    assert done.returncode == 0, done.stderr[-4000:]


def test_kernels_compile_for_h100_in_float32():
    compile_in_a_fresh_process("fp32", 90)


@pytest.mark.slow
@pytest.mark.parametrize("dtype", ["bf16", "fp16", "fp64"])
@pytest.mark.parametrize("arch", [80, 90])
def test_kernels_compile_for_every_dtype_and_architecture(dtype, arch):
    compile_in_a_fresh_process(dtype, arch)

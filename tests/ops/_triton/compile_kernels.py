"""Build every Triton kernel of molssl.ops for a GPU architecture, ahead of time and without a GPU.

Run in its own process by ``test_compile.py``: compiling needs ``triton.language`` imported without
``TRITON_INTERPRET``, which the kernel tests set for the whole test process.

    python -m tests.ops._triton.compile_kernels --dtype fp32 --arch 90
"""

from __future__ import annotations

import argparse
import importlib
import os

import triton
import triton.language as tl
from triton.backends.compiler import GPUTarget
from triton.compiler import ASTSource

from molssl.ops._triton.launch import RowBlocks, SegmentBlocks


def build(kernel, pointers: dict[str, str], ints: tuple[str, ...], constants: dict, num_warps: int, arch: int) -> None:
    signature = {**pointers, **{name: "i32" for name in ints}, **{name: "constexpr" for name in constants}}
    source = ASTSource(fn=kernel, signature=signature, constexprs=constants)
    compiled = triton.compile(source, target=GPUTarget("cuda", arch, 32), options={"num_warps": num_warps})
    assert compiled.asm["cubin"], kernel


def kernel_builds(modules: dict, dtype: str, arch: int) -> list:
    """(kernel, pointers, ints, constants, num_warps) for every kernel, with molecular-batch blocks."""
    segment, scatter, softmax = modules["segment_reduce"], modules["scatter_reduce"], modules["segment_softmax"]
    p = f"*{dtype}"
    acc = tl.float64 if dtype == "fp64" else tl.float32
    builds = []
    edges, pooling, heads = (
        SegmentBlocks.for_shape(220_000, 100_000, 300),
        SegmentBlocks.for_shape(100_000, 4_096, 64),
        SegmentBlocks.for_shape(220_000, 100_000, 1),
    )
    for reduce in ("sum", "mean", "max", "min"):
        for blocks, has_perm in ((edges, True), (pooling, False)):
            shape = {"ACC": acc, "BLOCK_S": blocks.segments, "BLOCK_E": blocks.rows, "BLOCK_F": blocks.features}
            builds.append((segment._segment_reduce_forward_kernel,
                           {"src_ptr": p, "offsets_ptr": "*i64", "perm_ptr": "*i64", "out_ptr": p},
                           ("num_segments", "num_features"), {"REDUCE": reduce, "HAS_PERM": has_perm, **shape},
                           blocks.num_warps))  # fmt: skip
            builds.append((segment._segment_reduce_backward_kernel,
                           {"grad_out_ptr": p, "src_ptr": p, "out_ptr": p, "offsets_ptr": "*i64", "perm_ptr": "*i64",
                            "grad_src_ptr": p},
                           ("num_segments", "num_features"), {"REDUCE": reduce, "HAS_PERM": has_perm, **shape},
                           blocks.num_warps))  # fmt: skip
        if dtype == "fp64":
            continue  # float64 never takes the atomic kernels
        rows = RowBlocks.for_shape(300)
        tile = {"BLOCK_E": rows.rows, "BLOCK_F": rows.features}
        builds.append((scatter._scatter_forward_kernel,
                       {"src_ptr": p, "index_ptr": "*i64", "acc_ptr": "*fp32", "count_ptr": "*i32"},
                       ("num_rows", "num_segments", "num_features"), {"REDUCE": reduce, **tile}, rows.num_warps))  # fmt: skip
        builds.append((scatter._scatter_finalize_kernel,
                       {"acc_ptr": "*fp32", "count_ptr": "*i32", "out_ptr": p}, ("num_segments", "num_features"),
                       {"REDUCE": reduce, "BLOCK_S": edges.segments, "BLOCK_F": edges.features}, edges.num_warps))  # fmt: skip
        builds.append((scatter._scatter_backward_kernel,
                       {"grad_out_ptr": p, "index_ptr": "*i64", "count_ptr": "*i32", "src_ptr": p, "out_ptr": p,
                        "ties_ptr": "*i32", "grad_src_ptr": p},
                       ("num_rows", "num_segments", "num_features"), {"REDUCE": reduce, **tile}, rows.num_warps))  # fmt: skip
    if dtype != "fp64":
        rows = RowBlocks.for_shape(300)
        builds.append((scatter._scatter_ties_kernel, {"src_ptr": p, "index_ptr": "*i64", "out_ptr": p, "ties_ptr": "*i32"},
                       ("num_rows", "num_segments", "num_features"), {"BLOCK_E": rows.rows, "BLOCK_F": rows.features}, rows.num_warps))  # fmt: skip
    shape = {"ACC": acc, "BLOCK_S": heads.segments, "BLOCK_E": heads.rows, "BLOCK_F": heads.features}
    builds.append((softmax._segment_softmax_forward_kernel,
                   {"src_ptr": p, "offsets_ptr": "*i64", "perm_ptr": "*i64", "out_ptr": p},
                   ("num_segments", "num_features"), {"HAS_PERM": True, **shape}, heads.num_warps))  # fmt: skip
    builds.append((softmax._segment_softmax_backward_kernel,
                   {"grad_out_ptr": p, "out_ptr": p, "offsets_ptr": "*i64", "perm_ptr": "*i64", "grad_src_ptr": p},
                   ("num_segments", "num_features"), {"HAS_PERM": False, **shape}, heads.num_warps))  # fmt: skip
    return builds


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--dtype", default="fp32", choices=["fp32", "bf16", "fp16", "fp64"])
    parser.add_argument("--arch", type=int, default=90)
    args = parser.parse_args()
    if os.environ.get("TRITON_INTERPRET", "0") not in ("", "0"):
        raise SystemExit("unset TRITON_INTERPRET: the interpreter cannot compile kernels")
    modules = {name: importlib.import_module(f"molssl.ops._triton.{name}")
               for name in ("segment_reduce", "scatter_reduce", "segment_softmax")}  # fmt: skip
    builds = kernel_builds(modules, args.dtype, args.arch)
    for kernel, pointers, ints, constants, num_warps in builds:
        build(kernel, pointers, ints, constants, num_warps, args.arch)
    print(f"compiled {len(builds)} kernels for sm_{args.arch} ({args.dtype})")


if __name__ == "__main__":
    main()

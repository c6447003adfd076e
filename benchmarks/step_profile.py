"""Where a pretraining step's time goes, op by op, against its GEMM-only bound (issue 15).

For each ``--methods`` method (default GIN 5x300, fp32, batch 256 MOSES, one thread, built and stepped
exactly as ``benchmarks/pretrain_speed.py`` does) this times, interleaved over ``--rounds`` rounds on
the first ``--batches`` batches:

* the whole optimizer step (process CPU time), and
* its GEMM-only bound (``benchmarks.gemm_bound``: the step's own dense products, each on the fastest
  kernel this machine offers for its shape),

then runs ``--batches`` more steps under a ``TorchDispatchMode`` that times every ATen op it dispatches
(process CPU time around each call, forward and backward) and splits the step into:

* ``dense products``: ``mkldnn._linear_pointwise``, ``mm``, ``addmm``, ``bmm``, the ops the bound
  counts, and how much slower they ran in the step than in the bound;
* ``everything else``: per op (neighbour sums, ReLU backward, BatchNorm, bias-gradient sums, the
  elementwise sums, the optimizer's ops, ...).

``--compile-probe`` also times ``torch.compile`` (inductor) of the encoder's BatchNorm + ReLU, forward
and backward, against eager at the batch's shape: whether a compiler pays for the fusible ops here.

The dispatch timing adds a few microseconds per op, so its total is a little above the plain step's.
The printed table and a row per method (``results/step_profile.jsonl``) say what a faster step would
have to remove: the products' excess over the bound, and each of the other ops.

Run:
    python benchmarks/step_profile.py                            # attr_masking
    python benchmarks/step_profile.py --methods attr_masking graphcl --rounds 4
    python benchmarks/step_profile.py --methods --compile-probe   # only the torch.compile probe
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from collections import defaultdict
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import torch  # noqa: E402
from torch.utils._python_dispatch import TorchDispatchMode  # noqa: E402

from benchmarks.gemm_bound import GemmBound, record_gemms  # noqa: E402
from benchmarks.pretrain_speed import collate, corpus_store, make_step  # noqa: E402
from benchmarks.record import append_rows, command_line  # noqa: E402
from molssl.methods import get_method  # noqa: E402
from molssl.nn.encoder import EncoderConfig  # noqa: E402
from molssl.pretrain.trainer import DEFAULT_ENCODER  # noqa: E402

#: the ops the GEMM-only bound counts (``gemm_bound._Recorder``)
DENSE_PRODUCTS = ("mkldnn._linear_pointwise", "aten.mm", "aten.addmm", "aten.bmm")


class OpTimer(TorchDispatchMode):
    """Process CPU seconds and calls per ATen op dispatched while active."""

    def __init__(self) -> None:
        super().__init__()
        self.seconds: dict[str, float] = defaultdict(float)
        self.calls: dict[str, int] = defaultdict(int)

    def __torch_dispatch__(self, func, types, args=(), kwargs=None):
        start = time.process_time()
        out = func(*args, **(kwargs or {}))
        name = str(func.overloadpacket) if hasattr(func, "overloadpacket") else str(func)
        self.seconds[name] += time.process_time() - start
        self.calls[name] += 1
        return out


def profile_method(name: str, scheme: Any, batches: list, rounds: int, bound_repeats: int) -> dict:
    """Step vs bound medians (ms) and the per-op split of ``name``'s fp32 step on ``batches`` (of ``scheme``)."""
    cls = get_method(name)
    torch.manual_seed(0)
    model = cls(EncoderConfig(scheme=scheme, **DEFAULT_ENCODER), cls.config_class())
    step = make_step(model, "fp32", lambda out: out.loss)
    bounds = [GemmBound(record_gemms(lambda: step(batch, 0)), bound_repeats) for batch in batches]
    for i, batch in enumerate(batches):  # warm-up
        step(batch, i)
    step_s, bound_s = [], []
    for r in range(rounds):
        for i, batch in enumerate(batches):
            start = time.process_time()
            step(batch, len(batches) * (r + 1) + i)
            step_s.append(time.process_time() - start)
            start = time.process_time()
            bounds[i].run()
            bound_s.append(time.process_time() - start)
    timer = OpTimer()
    with timer:
        for i, batch in enumerate(batches):
            step(batch, 10_000 + i)
    per_step = {op: s / len(batches) * 1e3 for op, s in timer.seconds.items()}  # ms per step
    dense = sum(ms for op, ms in per_step.items() if op in DENSE_PRODUCTS)
    step_ms, bound_ms = statistics.median(step_s) * 1e3, statistics.median(bound_s) * 1e3
    others = sorted(((op, ms) for op, ms in per_step.items() if op not in DENSE_PRODUCTS), key=lambda kv: -kv[1])
    return {
        "method": name, "median_step_ms": round(step_ms, 1), "median_bound_ms": round(bound_ms, 1),
        "fraction_of_bound_cpu": round(bound_ms / step_ms, 3),
        "dispatch_timed_step_ms": round(sum(per_step.values()), 1), "dense_products_ms": round(dense, 1),
        "dense_products_over_bound_ms": round(dense - bound_ms, 1), "other_ops_ms": round(sum(ms for _, ms in others), 1),
        "other_ops": {op: [round(ms, 2), timer.calls[op] // len(batches)] for op, ms in others[:20]},
    }  # fmt: skip


def compile_probe(rows: int, dim: int = 300, repeats: int = 15) -> dict:
    """Eager vs ``torch.compile`` (inductor, dynamic shapes) of the encoder's BatchNorm + ReLU, forward and
    backward, at a batch's ``rows`` x ``dim``: the largest block of the step's other ops a compiler could fuse.

    Both are timed interleaved (process CPU ms, medians); a compiler that is missing or fails is recorded
    as the error it raised.
    """
    import torch.nn.functional as F

    def block(x, weight, bias, mean, var):
        return F.relu(F.batch_norm(x, mean, var, weight, bias, True, 0.1, 1e-5))

    gen = torch.Generator().manual_seed(0)
    x = torch.randn(rows, dim, generator=gen, requires_grad=True)
    weight, bias = torch.ones(dim, requires_grad=True), torch.zeros(dim, requires_grad=True)
    mean, var = torch.zeros(dim), torch.ones(dim)
    grad = torch.randn(rows, dim, generator=gen)
    out: dict = {"rows": rows, "dim": dim}
    start = time.perf_counter()
    try:
        compiled = torch.compile(block, dynamic=True)
        compiled(x, weight, bias, mean, var).backward(grad)
    except Exception as exc:  # no C++ compiler, an unsupported platform: the eager path is what runs
        return {**out, "error": f"{type(exc).__name__}: {exc}"[:300]}
    out["compile_s"] = round(time.perf_counter() - start, 1)
    times: dict[str, list[float]] = {"eager": [], "compiled": []}
    for _ in range(repeats):
        for name, fn in (("eager", block), ("compiled", compiled)):
            start = time.process_time()
            fn(x, weight, bias, mean, var).backward(grad)
            times[name].append(time.process_time() - start)
    for name, values in times.items():
        out[f"{name}_ms"] = round(statistics.median(values) * 1e3, 2)
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--methods", nargs="*", default=["attr_masking"])
    parser.add_argument("--batches", type=int, default=2, help="batches of 256 the rounds cycle over (default 2)")
    parser.add_argument("--rounds", type=int, default=4, help="interleaved step/bound rounds (default 4)")
    parser.add_argument("--bound-repeats", type=int, default=3, help="timings per kernel when choosing the fastest")
    parser.add_argument("--molecules", type=int, default=5000)
    parser.add_argument("--compile-probe", action="store_true",
                        help="also time torch.compile of BatchNorm + ReLU against eager at the batch's shape")  # fmt: skip
    parser.add_argument("--no-record", action="store_true")
    args = parser.parse_args()

    torch.set_num_threads(1)
    load_1m = round(os.getloadavg()[0], 2)
    store = corpus_store(args.molecules)
    batches = collate(store.graphs, 256)[: args.batches]
    print(f"{len(batches)} batches of 256 MOSES molecules ({statistics.mean(b.num_nodes for b in batches):.0f} atoms), "
          f"GIN 5x300 fp32, 1 thread, load average {load_1m}")  # fmt: skip
    rows = []
    for name in args.methods:
        row = profile_method(name, store.spec, batches, args.rounds, args.bound_repeats)
        rows.append({"what": "step_profile", "precision": "fp32", "batch_size": 256, "batches": len(batches),
                     "rounds": args.rounds, "threads": 1, "load_avg_1m_at_start": load_1m, **row})  # fmt: skip
        step_ms = row["dispatch_timed_step_ms"]
        print(f"\n{name}: step {row['median_step_ms']:.0f} ms CPU, GEMM-only bound {row['median_bound_ms']:.0f} ms "
              f"({row['fraction_of_bound_cpu']:.1%} of bound); under op timing {step_ms:.0f} ms: dense products "
              f"{row['dense_products_ms']:.0f} ms ({row['dense_products_over_bound_ms']:+.0f} ms over the bound), other ops "
              f"{row['other_ops_ms']:.0f} ms ({row['other_ops_ms'] / step_ms:.1%})")  # fmt: skip
        for op, (ms, calls) in row["other_ops"].items():
            print(f"  {op:40s} {ms:7.1f} ms {ms / step_ms:6.1%}  {calls} calls/step")
    if args.compile_probe:
        probe = compile_probe(int(batches[0].num_nodes))
        rows.append({"what": "compile_probe", "block": "BatchNorm1d(300) + ReLU, forward + backward", "threads": 1,
                     "load_avg_1m_at_start": load_1m, **probe})  # fmt: skip
        print(f"\ntorch.compile probe (BatchNorm + ReLU fwd+bwd, {probe['rows']} x {probe['dim']}): {probe}")
    if not args.no_record:
        path = append_rows("step_profile", rows, command_line())
        print(f"recorded in {path.relative_to(ROOT)}")


if __name__ == "__main__":
    main()

"""Scatter/segment kernels on molecular batch shapes, and a GIN training step with and without them.

Kernels: message aggregation (directed bonds -> target atoms, unsorted index), pooling (atoms -> their
graph, sorted, with ``batch.ptr``) and attention softmax (scores over each atom's incoming bonds), in
forward and forward+backward, on real MOSES batches of 256-4096 graphs and feature sizes 64-600.
Contenders, measured in the same run on the same tensors:

* ``stock``: what a PyTorch user writes: ``index_add_`` (sum), ``scatter_reduce`` (mean, amax), the
  max-shifted softmax with them; the baseline of every ratio;
* ``molssl torch``: ``molssl.ops`` on the ``torch`` backend (the CPU fallback);
* ``molssl triton``, ``molssl triton deterministic``, ``molssl triton ptr`` (pooling with offsets):
  the kernels, on CUDA only;
* ``torch_scatter``: ``scatter`` / ``segment_csr`` / ``scatter_softmax``, when installed.

Each row has the median, 20th and 80th percentile times, the achieved bandwidth (compulsory bytes:
inputs read once, outputs written once) and, on a GPU of the peak table, its fraction of the peak.
GPU timings use ``triton.testing.do_bench`` (L2 flushed between runs); CPU timings a wall clock.

The training step: ``GNNEncoder(EncoderConfig(scheme="hu"))`` (5 GIN layers of 300), mean readout
with ``batch.ptr``, a linear head, MSE on random targets, AdamW, on the same batches and weights.
Contenders: backend ``torch``; ``triton, atomics per call`` and ``triton, sort per call
(deterministic)`` (the encoder's edge order switched off: every aggregation of every layer uses atomics,
or sorts ``edge_index[1]`` again); ``triton, order once per batch`` (the default: the encoder sorts
``edge_index[1]`` once per forward and every layer runs the segment kernel through that order,
deterministic); ``triton, order at collate`` (the order computed in numpy by ``to_batch(...,
edge_order=True)``, moved to the GPU by the encoder).

On a machine without a GPU only ``stock`` and ``molssl torch`` run; the training step then records the
GPU contenders as rows without times (``pending``) so the table says what is still to be measured.

Run:
    python benchmarks/scatter_kernels.py            # GPU: the full grid (256-4096 graphs, 64-600 features)
    python benchmarks/scatter_kernels.py --quick    # CPU: 256 and 1,024 graphs, 64 and 300, one thread (~1 min)
"""

from __future__ import annotations

import argparse
import copy
import gzip
import os
import shlex
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import torch

import molssl
from benchmarks.record import append_rows
from molssl.graph.batch import edge_order_of, to_batch
from molssl.nn import EncoderConfig, GNNEncoder
from molssl.nn.readout import MeanReadout
from molssl.ops import scatter, segment_softmax, triton_available, use_backend

CORPUS = ROOT / "datasets" / "moses" / "moses_50k.smi.gz"

#: peak DRAM bandwidth (GB/s) by GPU name fragment, most specific first; the entry used is recorded
PEAK_GBPS = [
    ("H200", 4800.0, "H200: 4.8 TB/s"),
    ("H100 NVL", 3900.0, "H100 NVL: 3.9 TB/s"),
    ("H100 PCIe", 2000.0, "H100 PCIe: 2.0 TB/s"),
    ("H100", 3350.0, "H100 SXM: 3.35 TB/s"),
    ("A100-SXM4-80GB", 2039.0, "A100 80GB SXM: 2.0 TB/s"),
    ("A100 80GB", 1935.0, "A100 80GB PCIe: 1.9 TB/s"),
    ("A100", 1555.0, "A100 40GB: 1.55 TB/s"),
]

DTYPES = {"fp32": torch.float32, "bf16": torch.bfloat16, "fp16": torch.float16}


def peak_bandwidth(device: torch.device) -> tuple[float | None, str | None]:
    """Peak GB/s of the GPU and the table entry used; ``(None, None)`` on CPU or an unknown GPU."""
    if device.type != "cuda":
        return None, None
    name = torch.cuda.get_device_name(device)
    for fragment, gbps, label in PEAK_GBPS:
        if fragment in name:
            return gbps, label
    return None, None


def load_batches(graph_counts: list[int], device: torch.device) -> dict[int, object]:
    """Real MOSES batches of each size (the first molecules of the embedded sample), on ``device``."""
    with gzip.open(CORPUS, "rt") as fh:
        smiles = [line.strip() for line in fh][1 : max(graph_counts) + 1]
    graphs = molssl.featurize_many(smiles, scheme="hu").graphs
    return {b: to_batch(graphs.select(list(range(b)))).to(device) for b in graph_counts}


def timer(device: torch.device, repeats: int) -> Callable[[Callable[[], object]], tuple[float, float, float]]:
    """A function timing ``fn``: (median, p20, p80) in milliseconds."""
    if device.type == "cuda":
        import triton.testing

        def bench(fn: Callable[[], object]) -> tuple[float, float, float]:
            median, p20, p80 = triton.testing.do_bench(
                fn, quantiles=[0.5, 0.2, 0.8], warmup=25, rep=max(100, 10 * repeats)
            )
            return median, p20, p80

        return bench

    def wall(fn: Callable[[], object]) -> tuple[float, float, float]:
        fn()
        times = []
        for _ in range(repeats):
            t = time.perf_counter()
            fn()
            times.append((time.perf_counter() - t) * 1e3)
        times.sort()
        q = statistics.quantiles(times, n=10) if len(times) > 1 else times * 9
        return statistics.median(times), q[1], q[7]

    return wall


# the stock PyTorch paths (what the kernels are measured against)


def stock_scatter(src: torch.Tensor, index: torch.Tensor, dim_size: int, reduce: str) -> torch.Tensor:
    out = src.new_zeros(dim_size, src.size(1))
    if reduce == "sum":
        return out.index_add_(0, index, src)
    expanded = index.view(-1, 1).expand_as(src)
    return out.scatter_reduce(0, expanded, src, reduce={"mean": "mean", "max": "amax"}[reduce], include_self=False)


def stock_softmax(src: torch.Tensor, index: torch.Tensor, dim_size: int) -> torch.Tensor:
    expanded = index.view(-1, 1).expand_as(src)
    peak = src.new_zeros(dim_size, src.size(1)).scatter_reduce(0, expanded, src.detach(), "amax", include_self=False)
    exp = (src - peak.index_select(0, index)).exp()
    return exp / src.new_zeros(dim_size, src.size(1)).index_add_(0, index, exp).index_select(0, index)


def contenders(op: str, reduce: str, on_gpu: bool, ptr: torch.Tensor) -> dict[str, Callable]:
    """name -> fn(src, index, dim_size) for one operation."""
    if op == "softmax":
        table: dict[str, Callable] = {
            "stock": stock_softmax,
            "molssl torch": lambda s, i, n: segment_softmax(s, i, n, backend="torch"),
        }
        if on_gpu:
            table["molssl triton"] = lambda s, i, n: segment_softmax(s, i, n, backend="triton")
    else:
        table = {
            "stock": lambda s, i, n: stock_scatter(s, i, n, reduce),
            "molssl torch": lambda s, i, n: scatter(s, i, n, reduce, backend="torch"),
        }
        if on_gpu:
            table["molssl triton"] = lambda s, i, n: scatter(s, i, n, reduce, backend="triton", deterministic=False)
            table["molssl triton deterministic"] = lambda s, i, n: scatter(
                s, i, n, reduce, backend="triton", deterministic=True
            )
            if op == "pool":
                table["molssl triton ptr"] = lambda s, i, n: scatter(s, i, n, reduce, ptr=ptr, backend="triton")
    try:
        import torch_scatter
    except ImportError:
        return table
    if op == "softmax":
        from torch_scatter.composite import scatter_softmax

        table["torch_scatter"] = lambda s, i, n: scatter_softmax(s, i, dim=0, dim_size=n)
    elif op == "pool":
        table["torch_scatter"] = lambda s, i, n: torch_scatter.segment_csr(s, ptr, reduce=reduce)
    else:
        table["torch_scatter"] = lambda s, i, n: torch_scatter.scatter(s, i, dim=0, dim_size=n, reduce=reduce)
    return table


def compulsory_bytes(op: str, reduce: str, rows: int, segments: int, features: int, item: int, backward: bool) -> int:
    """Bytes every implementation must move: inputs read once, outputs written once (index: int64)."""
    if op == "softmax":
        forward = 2 * rows * features * item + rows * 8
        return forward + (3 * rows * features * item + rows * 8 if backward else 0)
    forward = rows * features * item + rows * 8 + segments * features * item
    if not backward:
        return forward
    grad = segments * features * item + rows * 8 + rows * features * item
    if reduce == "max":
        grad += rows * features * item + segments * features * item  # src and out, to find the maxima
    return forward + grad


def kernel_rows(args: argparse.Namespace, batches: dict, device: torch.device) -> list[dict]:
    on_gpu = device.type == "cuda"
    bench = timer(device, args.repeats)
    peak, peak_label = peak_bandwidth(device)
    rows = []
    for graphs, batch in batches.items():
        shapes = {
            "aggregate": (batch.edge_index[1].contiguous(), batch.num_nodes),  # bonds -> target atom
            "pool": (batch.batch, graphs),  # atoms -> graph, sorted
            "softmax": (batch.edge_index[1].contiguous(), batch.num_nodes),  # scores over incoming bonds
        }
        for op, (index, dim_size) in shapes.items():
            for reduce in ("softmax",) if op == "softmax" else args.reduces:
                dims = [args.heads] if op == "softmax" else args.dims
                for features in dims:
                    for dtype_name in args.dtypes:
                        dtype = DTYPES[dtype_name]
                        g = torch.Generator(device=device).manual_seed(0)
                        src = torch.randn(index.numel(), features, device=device, dtype=dtype, generator=g)
                        grad = torch.randn(
                            (index.numel() if op == "softmax" else dim_size, features),
                            device=device,
                            dtype=dtype,
                            generator=g,
                        )
                        table = contenders(op, reduce, on_gpu, batch.ptr)
                        expected = table["stock"](src.float(), index, dim_size)
                        results = {}
                        for name, fn in table.items():
                            if name.startswith("molssl"):  # checked against stock (in float32) before timing
                                tol = 1e-4 if dtype == torch.float32 else 5e-2
                                out = fn(src, index, dim_size).float()
                                torch.testing.assert_close(out, expected, rtol=tol, atol=tol)
                            leaf = src.detach().requires_grad_(True)
                            results[(name, "forward")] = bench(lambda f=fn, s=src, i=index, n=dim_size: f(s, i, n))
                            results[(name, "forward+backward")] = bench(
                                lambda f=fn, s=leaf, i=index, n=dim_size, g=grad: torch.autograd.grad(f(s, i, n), s, g)
                            )
                        for (name, mode), (median, p20, p80) in results.items():
                            base = results[("stock", mode)][0]
                            moved = compulsory_bytes(
                                op, reduce, index.numel(), dim_size, features, src.element_size(), mode != "forward"
                            )
                            gbps = moved / (median * 1e-3) / 1e9
                            row = {
                                "what": "kernel", "op": op, "reduce": reduce, "pass": mode, "graphs": graphs,
                                "rows": index.numel(), "segments": dim_size, "features": features,
                                "dtype": dtype_name, "contender": name, "median_ms": round(median, 4),
                                "p20_ms": round(p20, 4), "p80_ms": round(p80, 4), "gbps": round(gbps, 1),
                                "fraction_of_peak": round(gbps / peak, 3) if peak else None,
                                "peak": peak_label, "speedup_vs_stock": round(base / median, 3),
                            }  # fmt: skip
                            if name == "molssl triton deterministic":
                                row["vs_triton_fast"] = round(median / results[("molssl triton", mode)][0], 3)
                            rows.append(row)
                            print(
                                f"{op:9s} {reduce:7s} {mode:16s} B={graphs:<5d} F={features:<4d} {dtype_name} "
                                f"{name:28s} {median:9.4f} ms {gbps:8.1f} GB/s"
                                + (f" ({gbps / peak:.0%} of peak)" if peak else "")
                                + f"  x{base / median:.2f} vs stock"
                            )
    return rows


#: training-step contenders: name -> (backend, deterministic, the encoder's edge order on, order attached at collate)
TRAIN_MODES = {
    "torch": ("torch", None, True, False),
    "triton, atomics per call": ("triton", False, False, False),
    "triton, sort per call (deterministic)": ("triton", True, False, False),
    "triton, order once per batch": ("triton", None, True, False),
    "triton, order at collate": ("triton", None, True, True),
}


def train_step_rows(args: argparse.Namespace, batches: dict, device: torch.device) -> list[dict]:
    on_gpu = device.type == "cuda"
    modes = TRAIN_MODES if on_gpu else {"torch": TRAIN_MODES["torch"]}
    bench = timer(device, args.repeats)
    rows = []
    graphs = args.train_graphs
    batch = batches[graphs] if graphs in batches else load_batches([graphs], device)[graphs]
    # the same batch with the order collate would attach (computed on the CPU; a shallow copy shares the rest)
    collated = copy.copy(batch)
    collated._edge_order = edge_order_of(batch.edge_index[1].cpu().numpy(), batch.num_nodes)
    target = torch.randn(graphs, 1, device=device)
    readout = MeanReadout(300)
    results = {}
    for name, (backend, deterministic, use_order, at_collate) in modes.items():
        torch.manual_seed(0)
        encoder = GNNEncoder(EncoderConfig(scheme="hu")).to(device)
        encoder.use_segment_order = use_order
        head = torch.nn.Linear(encoder.out_dim, 1).to(device)
        params = list(encoder.parameters()) + list(head.parameters())
        optimizer = torch.optim.AdamW(params, lr=1e-3)

        def step(
            encoder=encoder, head=head, optimizer=optimizer, backend=backend, deterministic=deterministic,
            batch=collated if at_collate else batch,
        ) -> None:  # fmt: skip
            with use_backend(backend, deterministic=deterministic):
                pooled = readout(encoder(batch), batch.batch, graphs, ptr=batch.ptr)
                loss = torch.nn.functional.mse_loss(head(pooled), target)
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()

        for _ in range(3):
            step()
        results[name] = bench(step)
    shape = {"what": "gin_train_step", "graphs": graphs, "nodes": batch.num_nodes, "edges": batch.edge_index.size(1)}
    for name, (median, p20, p80) in results.items():
        row = {
            **shape, "contender": f"molssl {name}", "median_ms": round(median, 3), "p20_ms": round(p20, 3),
            "p80_ms": round(p80, 3), "speedup_vs_torch": round(results["torch"][0] / median, 3),
        }  # fmt: skip
        rows.append(row)
        print(
            f"GIN train step, {graphs} graphs, backend {name:38s} {median:9.3f} ms  x{results['torch'][0] / median:.2f}"
        )
    if not on_gpu:
        pending = {"median_ms": None, "status": "pending (needs a GPU)"}
        rows += [{**shape, "contender": f"molssl {name}", **pending} for name in TRAIN_MODES if name != "torch"]
    return rows


def versions(device: torch.device) -> dict:
    out: dict = {
        "device": torch.cuda.get_device_name(device) if device.type == "cuda" else "cpu",
        "threads": torch.get_num_threads(),
        "load_average": round(os.getloadavg()[0], 2),  # a shared machine: how busy it was at the start
    }
    if device.type == "cuda":
        out["cuda"] = torch.version.cuda
    if triton_available():
        import triton

        out["triton"] = triton.__version__
    try:
        import torch_scatter

        out["torch_scatter"] = torch_scatter.__version__
    except ImportError:
        out["torch_scatter"] = "not installed"
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--graphs", type=int, nargs="+", default=[256, 1024, 4096])
    parser.add_argument("--dims", type=int, nargs="+", default=[64, 300, 600])
    parser.add_argument("--heads", type=int, default=1, help="columns of the softmax scores")
    parser.add_argument("--reduces", nargs="+", default=["sum", "mean", "max"])
    parser.add_argument(
        "--dtypes", nargs="+", default=None, choices=sorted(DTYPES), help="default: fp32 bf16 on GPU, fp32 on CPU"
    )
    parser.add_argument("--repeats", type=int, default=20)
    parser.add_argument("--train-graphs", type=int, default=256, help="graphs per batch of the training step")
    parser.add_argument("--skip-train", action="store_true")
    parser.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    parser.add_argument("--threads", type=int, default=None, help="torch CPU threads (default: torch's choice)")
    parser.add_argument("--no-record", action="store_true")
    parser.add_argument(
        "--quick", action="store_true", help="CPU preset: --graphs 256 1024 --dims 64 300 --repeats 11 --threads 1"
    )
    args = parser.parse_args()
    if args.quick:
        args.graphs, args.dims, args.repeats, args.threads = [256, 1024], [64, 300], 11, 1
    device = torch.device(args.device)
    if args.threads:
        torch.set_num_threads(args.threads)
    args.dtypes = args.dtypes or (["fp32", "bf16"] if device.type == "cuda" else ["fp32"])

    batches = load_batches(args.graphs, device)
    meta = versions(device)
    _, peak_label = peak_bandwidth(device)
    print(f"device {meta['device']}; peak {peak_label or 'unknown (fractions of peak not reported)'}; "
          f"triton {meta.get('triton')}; torch_scatter {meta['torch_scatter']}")  # fmt: skip
    rows = kernel_rows(args, batches, device)
    if not args.skip_train:
        rows += train_step_rows(args, batches, device)
    if device.type != "cuda":
        for row in rows:
            row["note"] = "CPU: the torch fallback vs stock torch only; the Triton kernels' GPU figures are pending"
    rows = [{**row, **meta} for row in rows]
    if not args.no_record:
        path = append_rows("scatter_kernels", rows, "python benchmarks/scatter_kernels.py " + shlex.join(sys.argv[1:]))
        print(f"recorded {len(rows)} rows in {path}")


if __name__ == "__main__":
    main()

"""Pretraining throughput (graphs/s) of every registered method vs a plain PyG GINE forward/backward.

Every method of ``molssl.methods.METHODS`` (looked up when the script runs, so methods added later are
included) is built as the training loop builds it (``get_method(name)(EncoderConfig(scheme, **the
loop's default GIN: 5 x 300, Hu et al.), its default config)``) and timed over whole optimizer steps
taken the way ``molssl.pretrain.trainer`` takes them: a generator seeded per step, the method's forward
(its own batch construction included: masks, substructures, negatives, views) under
``torch.autocast("cpu", dtype=torch.bfloat16)`` for bf16, ``zero_grad``, backward, Adam step.

Baseline, in the same run on the same batches: a plain PyTorch Geometric model, five
``torch_geometric.nn.GINEConv`` layers of 300 (MLP 300-600-300, eps fixed at 0, self-loops added with
``add_self_loops`` and the scheme's self-loop bond, BatchNorm, ReLU but after the last layer), atom and
bond embeddings summed over the feature columns as in Hu et al., a linear head on the node vectors and
cross-entropy against the atom types, forward/backward/Adam. (``GINEConv`` applies ReLU to each
message, ``ReLU(h_j + e_ji)``; Hu et al.'s GIN sums messages without it.)

Batches: 256 molecules of the embedded MOSES sample (the first ``--molecules`` of it, featurized into a
molecule store under ``benchmarks/_work/``), collated beforehand by ``StoreLoader`` in the loop's own
order (shuffled with seed 0, full batches), so every contender sees the same batches and the timings
exclude batching (timed separately: the ``StoreLoader batching`` row). Methods that need labels
(``supervised``) train on the embedded SIDER set (27 tasks), whose molecules are larger; the baseline
is timed on those batches too and their ratio uses it.

Timing: ``--warmup`` untimed steps per contender and precision, then ``--repeats`` rounds in which
every contender (and precision) in turn takes ``--steps`` timed steps; we report the median over the
rounds of graphs/s and its ratio to the baseline's median on the same batches and precision, both per
wall-clock second and per CPU second of this process: on a shared machine the wall clock measures our
share of the cores as much as the code, while with one thread the CPU-time figure is close to what a
core of our own would give (cache and memory-bandwidth contention still leak in).
``torch.set_num_threads(--threads)`` (default 1) is fixed for the whole run and recorded.

Two more contenders per method, same batches, interleaved with the rest (issue 15):

* ``<method> (stock kernels)``: the same model with molssl's CPU fast paths switched off
  (``molssl.nn.fast_linear`` and ``molssl.ops.adjacency``: every Linear on ``F.linear``, the neighbour
  sums as gather + ``index_add``): what the step cost before them;
* ``GEMM-only bound of <method>`` (for ``--bound-methods``): the dense matrix products that method's
  step dispatches on each batch, forward and backward, after autocast (recorded once per batch and
  precision by ``benchmarks.gemm_bound.record_gemms``), each on the fastest kernel this machine offers
  for its shape and layout (MKL NN/NT/TN or oneDNN, chosen by timing), and nothing else. A method's
  ``fraction_of_bound`` is its graphs/s over the bound's on the same batches and precision.

The timed steps cycle over the first ``--batches`` batches (default 4) so that the bound is recorded
for every batch it is compared on.

bf16 is autocast; on a CPU without native bf16 instructions (no AVX512-BF16/AMX, e.g. the AMD EPYC
with AVX2 this was last run on) oneDNN emulates it and bf16 is several times slower than fp32: the
``native_bf16`` column says which case a row is.

Last, the real loop end to end: ``molssl.pretrain.pretrain`` on the same store for ``--loop-methods``
with ``TrainConfig(steps=2 * --steps, log_every=--steps, checkpoint_every=2 * --steps)``. Its second
metrics row (steady state: loader batching, seeding, meters; no warm-up, no checkpoint) and the whole
call's wall time (setup, checkpoint, loss plot, encoder save) against the isolated step's median show
what the loop adds (CPU time taken at the metrics rows through ``on_log``). One run each, so noisier
than the interleaved figures.

Run:
    python benchmarks/pretrain_speed.py                          # all methods, fp32 and bf16, 1 thread (~8 min
                                                                 # on 2 shared cores with 8 methods)
    python benchmarks/pretrain_speed.py --methods attr_masking context_pred --precisions bf16 --steps 10
    python benchmarks/pretrain_speed.py --methods attr_masking context_pred graphcl --precisions fp32  # issue 15
"""

from __future__ import annotations

import argparse
import contextlib
import gzip
import os
import shutil
import statistics
import sys
import time
import traceback
from pathlib import Path
from collections import Counter
from typing import Any, Callable

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import torch  # noqa: E402
import torch.nn.functional as F  # noqa: E402
from torch import nn  # noqa: E402

import molssl.nn.fast_linear as fast_linear  # noqa: E402
import molssl.ops.adjacency as adjacency  # noqa: E402
from benchmarks.gemm_bound import GemmBound, record_gemms  # noqa: E402
from benchmarks.record import append_rows, command_line  # noqa: E402
from molssl.chem.schemes import FeaturizationSpec  # noqa: E402
from molssl.data.embedded import default_corpus, embedded_file  # noqa: E402
from molssl.data.loader import StoreLoader  # noqa: E402
from molssl.data.store_build import build_store  # noqa: E402
from molssl.methods import METHODS, get_method  # noqa: E402
from molssl.nn.encoder import EncoderConfig  # noqa: E402
from molssl.pretrain import TrainConfig, pretrain  # noqa: E402
from molssl.pretrain.data import labeled_data  # noqa: E402
from molssl.pretrain.trainer import DEFAULT_ENCODER, step_seed  # noqa: E402

WORK = ROOT / "benchmarks" / "_work"
SIDER = "moleculenet/sider.csv"
BASELINE = "baseline: PyG GINEConv 5x300 + linear head + CE"
AUTOCAST = {"fp32": None, "bf16": torch.bfloat16}
STOCK = " (stock kernels)"
BOUND = "GEMM-only bound of "


def native_bf16() -> bool:
    """Whether this CPU has bf16 instructions (AVX512-BF16 or AMX); without them oneDNN emulates bf16."""
    try:
        flags = Path("/proc/cpuinfo").read_text()
    except OSError:
        return False
    return "avx512_bf16" in flags or "amx_bf16" in flags


@contextlib.contextmanager
def stock_kernels(on: bool):
    """Switch molssl's CPU fast paths (fused oneDNN/MKL linears, CSR neighbour sums) off while ``on``."""
    saved = fast_linear.fast_path_applies, adjacency.sparse_path_applies
    if on:
        fast_linear.fast_path_applies = adjacency.sparse_path_applies = lambda x: False
    try:
        yield
    finally:
        fast_linear.fast_path_applies, adjacency.sparse_path_applies = saved


class PlainGINE(nn.Module):
    """Plain PyG GINE stack with Hu et al.'s summed atom/bond embeddings, a linear head and cross-entropy.

    Shapes:
        batch.x: [N, 2] long, batch.edge_index: [2, E], batch.edge_attr: [E, 2] long -> loss []
    """

    def __init__(self, scheme: FeaturizationSpec, dim: int = 300, num_layers: int = 5) -> None:
        super().__init__()
        from torch_geometric.nn import GINEConv

        self.atom_embeddings = nn.ModuleList(nn.Embedding(v, dim) for v in scheme.atom_vocab)
        self.bond_embeddings = nn.ModuleList(
            nn.ModuleList(nn.Embedding(v, dim) for v in scheme.bond_vocab) for _ in range(num_layers)
        )
        self.convs = nn.ModuleList(
            GINEConv(nn.Sequential(nn.Linear(dim, 2 * dim), nn.ReLU(), nn.Linear(2 * dim, dim)), train_eps=False)
            for _ in range(num_layers)
        )
        self.norms = nn.ModuleList(nn.BatchNorm1d(dim) for _ in range(num_layers))
        self.register_buffer("self_loop", torch.tensor(scheme.self_loop_token, dtype=torch.long), persistent=False)
        self.num_classes = int(scheme.atom_mask_token[0])  # the real atom types (the mask token excluded)
        self.head = nn.Linear(dim, self.num_classes)

    def forward(self, batch: Any, generator: torch.Generator | None = None) -> torch.Tensor:
        from torch_geometric.utils import add_self_loops

        x = batch.x
        edge_index, edge_attr = add_self_loops(batch.edge_index, batch.edge_attr, fill_value=self.self_loop, num_nodes=x.size(0))
        h = sum(emb(x[:, i]) for i, emb in enumerate(self.atom_embeddings))
        for layer, (conv, norm) in enumerate(zip(self.convs, self.norms)):
            e = sum(emb(edge_attr[:, i]) for i, emb in enumerate(self.bond_embeddings[layer]))
            h = norm(conv(h, edge_index, e))
            if layer < len(self.convs) - 1:
                h = F.relu(h)
        return F.cross_entropy(self.head(h).float(), x[:, 0])


def make_step(model: nn.Module, precision: str, loss_of: Callable[[Any], Any]) -> Callable[[Any, int], None]:
    """One optimizer step as ``molssl.pretrain.trainer`` takes it (constant lr, no clipping, no scaler)."""
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-3)
    dtype = AUTOCAST[precision]
    model.train()

    def step(batch: Any, step_index: int) -> None:
        seed = step_seed(0, 0, step_index)
        torch.manual_seed(seed)
        generator = torch.Generator(device="cpu")
        generator.manual_seed(seed)
        with torch.autocast("cpu", dtype=dtype or torch.float32, enabled=dtype is not None):
            loss = loss_of(model(batch, generator))
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()

    return step


def corpus_store(n: int):
    """The molecule store of the first ``n`` molecules of the embedded MOSES sample (built once, reused)."""
    WORK.mkdir(parents=True, exist_ok=True)
    path = WORK / f"moses_first{n}.smi"
    if not path.is_file():
        with gzip.open(default_corpus(), "rt") as fh:
            lines = [line.strip() for line in fh]
        tmp = path.with_suffix(".tmp")
        tmp.write_text("\n".join(lines[: n + 1]) + "\n")  # header line + n SMILES
        os.replace(tmp, path)
    return build_store(path, scheme="hu", cache_dir=WORK / "stores")


def collate(graphs, batch_size: int, targets=None) -> list:
    """The loop's first-epoch batches (shuffled with seed 0, full batches only)."""
    loader = StoreLoader(graphs, batch_size=batch_size, shuffle=True, seed=0, drop_last=True, targets=targets)
    loader.set_epoch(0)
    return list(loader)


def _stock_call(step: Callable, batch: Any, index: int) -> None:
    with stock_kernels(True):
        step(batch, index)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--methods", nargs="+", default=None, help="registered method names (default: all of METHODS)")
    parser.add_argument("--precisions", nargs="+", default=["fp32", "bf16"], choices=sorted(AUTOCAST))
    parser.add_argument("--steps", type=int, default=3, help="timed optimizer steps per contender per repeat (default 3)")
    parser.add_argument("--repeats", type=int, default=3, help="interleaved repeats (default 3)")
    parser.add_argument("--warmup", type=int, default=1, help="untimed steps per contender and precision first (default 1)")
    parser.add_argument("--batch-size", type=int, default=256)
    parser.add_argument("--molecules", type=int, default=5000, help="MOSES molecules in the benchmark store (default 5000)")
    parser.add_argument("--threads", type=int, default=1, help="torch.set_num_threads (default 1)")
    parser.add_argument("--loop-methods", nargs="*", default=["attr_masking", "context_pred"],
                        help="methods run end to end through molssl.pretrain.pretrain (fp32; none: skip)")  # fmt: skip
    parser.add_argument("--bound-methods", nargs="*", default=["attr_masking", "context_pred", "graphcl"],
                        help="methods whose GEMM-only bound is measured (none: skip)")  # fmt: skip
    parser.add_argument("--bound-repeats", type=int, default=3, help="timings per kernel when choosing the fastest (default 3)")
    parser.add_argument("--no-stock", action="store_true", help="skip the stock-kernel contenders")
    parser.add_argument("--batches", type=int, default=4, help="timed steps cycle over this many batches (default 4)")
    parser.add_argument("--no-record", action="store_true", help="print only, do not append to results/")
    args = parser.parse_args()

    torch.set_num_threads(args.threads)
    load_1m = round(os.getloadavg()[0], 2)
    t_start = time.perf_counter()
    names = list(METHODS) if args.methods is None else args.methods
    for name in names:
        get_method(name)  # unknown names fail here, listing the valid ones
    print(f"registered methods: {', '.join(METHODS)}; timing: {', '.join(names)}")

    store = corpus_store(args.molecules)
    scheme = store.spec
    encoder_config = EncoderConfig(scheme=scheme, **DEFAULT_ENCODER)
    t = time.perf_counter()
    batch_sets = {"moses": collate(store.graphs, args.batch_size)}
    batching_s = (time.perf_counter() - t) / len(batch_sets["moses"])
    labeled = None
    if any(get_method(n).needs_labels for n in names):
        labeled = labeled_data(str(embedded_file(SIDER)), scheme="hu")
        batch_sets["sider"] = collate(labeled.graphs, args.batch_size, targets=labeled.targets)
    atoms = {k: statistics.mean(b.num_nodes for b in v) for k, v in batch_sets.items()}
    print(f"{len(store)} MOSES molecules in {store.path.relative_to(ROOT)}; batch {args.batch_size}: "
          + ", ".join(f"{k} {len(v)} batches of {atoms[k]:.0f} atoms on average" for k, v in batch_sets.items())
          + f"; torch threads {torch.get_num_threads()}; load average {load_1m}")  # fmt: skip

    # contenders: (label, method name or None for the baseline, batch set) -> model, loss extractor
    contenders: dict[tuple[str, str], tuple[nn.Module, Callable]] = {}
    errors: dict[str, str] = {}
    for data in batch_sets:
        torch.manual_seed(0)
        contenders[(BASELINE, data)] = (PlainGINE(scheme), lambda out: out)
    for name in names:
        cls = get_method(name)
        data = "sider" if cls.needs_labels else "moses"
        try:
            options = cls.prepare_data(labeled, {}, 1)[1] if cls.needs_labels else {}
            for label in (name,) if args.no_stock else (name, name + STOCK):
                torch.manual_seed(0)
                model = cls(encoder_config, cls.config_class.from_dict(options))
                contenders[(label, data)] = (model, lambda out: out.loss)
        except Exception as exc:  # a method being written right now may not build yet: say so, time the rest
            errors[name] = f"{type(exc).__name__}: {exc}"
            print(f"  {name}: cannot build: {errors[name]}")

    steps: dict[tuple[str, str, str], Callable] = {}
    for precision in args.precisions:
        for key, (model, loss_of) in contenders.items():
            step = make_step(model, precision, loss_of)
            if key[0].endswith(STOCK):
                step = (lambda inner: lambda batch, i: _stock_call(inner, batch, i))(step)
            steps[key + (precision,)] = step
    batch_sets = {k: v[: args.batches] for k, v in batch_sets.items()}

    # the GEMM-only bound of each --bound-methods method, per batch and precision
    bound_info: dict[tuple, dict] = {}
    for name in [m for m in (args.bound_methods or []) if m in names]:
        data = "sider" if get_method(name).needs_labels else "moses"
        for precision in args.precisions:
            if (name, data, precision) not in steps:
                continue
            t = time.perf_counter()
            per_batch = {}
            for batch in batch_sets[data]:
                per_batch[id(batch)] = GemmBound(record_gemms(lambda: steps[(name, data, precision)](batch, 0)), args.bound_repeats)
            steps[(BOUND + name, data, precision)] = (lambda table: lambda batch, i: table[id(batch)].run())(per_batch)
            contenders[(BOUND + name, data)] = (nn.Module(), None)
            first = next(iter(per_batch.values()))
            bound_info[(name, data, precision)] = {
                "gemm_gflop_per_step": round(first.flops / 1e9, 2), "gemms_per_step": len(first.calls),
                "kernels_chosen": dict(Counter(k for k, _ in first.choice.values()))}  # fmt: skip
            print(f"  GEMM-only bound of {name} ({precision}): {len(first.calls)} products, {first.flops / 1e9:.1f} GFLOP per step, "
                  f"kernels {bound_info[(name, data, precision)]['kernels_chosen']} ({time.perf_counter() - t:.0f} s to choose)")  # fmt: skip

    def run(key, count: int, offset: int) -> tuple[float, float]:
        """Wall-clock and process CPU seconds of ``count`` steps of contender ``key``."""
        batches = batch_sets[key[1]]
        wall, cpu = time.perf_counter(), time.process_time()
        for i in range(count):
            steps[key](batches[(offset + i) % len(batches)], offset + i)
        return time.perf_counter() - wall, time.process_time() - cpu

    for key in list(steps):
        try:
            run(key, args.warmup, 0)
        except Exception as exc:  # record the failure, time the rest
            errors[key[0]] = f"{type(exc).__name__}: {exc}"
            print(f"  {key[0]} ({key[2]}): step failed: {errors[key[0]]}")
            traceback.print_exc()
            del steps[key]
    rates: dict[tuple, list[float]] = {k: [] for k in steps}
    cpu_rates: dict[tuple, list[float]] = {k: [] for k in steps}
    for r in range(args.repeats):
        for key in steps:
            wall, cpu = run(key, args.steps, args.warmup + r * args.steps)
            rates[key].append(args.steps * args.batch_size / wall)
            cpu_rates[key].append(args.steps * args.batch_size / cpu)
        print(f"  repeat {r + 1}/{args.repeats} done ({time.perf_counter() - t_start:.0f} s)")

    med = {k: statistics.median(v) for k, v in rates.items()}
    cpu_med = {k: statistics.median(v) for k, v in cpu_rates.items()}
    common = {"batch_size": args.batch_size, "steps_per_repeat": args.steps, "repeats": args.repeats,
              "warmup_steps": args.warmup, "threads": args.threads, "load_avg_1m_at_start": load_1m}  # fmt: skip
    rows = []
    print(f"\nmedians over {args.repeats} interleaved repeats of {args.steps} steps (warm-up {args.warmup} excluded), "
          f"batch {args.batch_size}, GIN 5x300, {args.threads} thread(s); graphs per wall-clock second and per "
          "CPU second of this process (the latter is what a core we had to ourselves would give)")  # fmt: skip
    print(f"{'contender':48s} {'data':5s} {'prec':4s} {'params':>9s} {'graphs/s':>8s} {'ms/step':>7s} {'x base':>6s}"
          f" {'graphs/cpu-s':>12s} {'x base':>6s}")  # fmt: skip
    for precision in args.precisions:
        for (label, data), (model, _) in contenders.items():
            key = (label, data, precision)
            if key not in med:
                continue
            base, cpu_base = med.get((BASELINE, data, precision)), cpu_med.get((BASELINE, data, precision))
            ratio = med[key] / base if base else None
            cpu_ratio = cpu_med[key] / cpu_base if cpu_base else None
            params = sum(p.numel() for p in model.parameters())
            bound_key = (BOUND + label.removesuffix(STOCK), data, precision)
            of_bound = med[key] / med[bound_key] if bound_key in med and bound_key != key else None
            of_bound_cpu = cpu_med[key] / cpu_med[bound_key] if of_bound is not None else None
            print(f"{label:48s} {data:5s} {precision:4s} {params:9,d} {med[key]:8.0f} {args.batch_size / med[key] * 1e3:7.0f} "
                  f"{'' if ratio is None else f'{ratio:5.2f}x'} {cpu_med[key]:12.0f} {'' if cpu_ratio is None else f'{cpu_ratio:5.2f}x'}"
                  f"{'' if of_bound is None else f'   {of_bound:5.1%} / {of_bound_cpu:5.1%} of bound'}")  # fmt: skip
            rows.append({"what": "pretrain_step", "method": label, "precision": precision, "data": data,
                         "mean_atoms_per_batch": round(atoms[data], 1), "parameters": params,
                         "median_graphs_per_s": round(med[key], 1), "median_ms_per_step": round(args.batch_size / med[key] * 1e3, 1),
                         "ratio_vs_baseline": None if ratio is None else round(ratio, 3),
                         "median_graphs_per_cpu_s": round(cpu_med[key], 1),
                         "ratio_vs_baseline_cpu": None if cpu_ratio is None else round(cpu_ratio, 3),
                         "all_graphs_per_s": [round(v, 1) for v in rates[key]],
                         "all_graphs_per_cpu_s": [round(v, 1) for v in cpu_rates[key]],
                         "fraction_of_bound": None if of_bound is None else round(of_bound, 3),
                         "fraction_of_bound_cpu": None if of_bound_cpu is None else round(of_bound_cpu, 3),
                         "fraction_of_bound_cpu_per_repeat": None if of_bound is None else
                         [round(a / b, 3) for a, b in zip(cpu_rates[key], cpu_rates[bound_key])],
                         **bound_info.get((label.removeprefix(BOUND), data, precision), {}),
                         "native_bf16": native_bf16(), **common})  # fmt: skip
    for name, message in errors.items():
        rows.append({"what": "pretrain_step", "method": name, "error": message, **common})
    batching_rate = args.batch_size / batching_s
    print(f"StoreLoader batching (moses, outside the timings above): {batching_rate:,.0f} graphs/s ({batching_s * 1e3:.1f} ms/batch)")
    rows.append({"what": "pretrain_step", "method": "StoreLoader batching only (moses)", "data": "moses",
                 "mean_atoms_per_batch": round(atoms["moses"], 1), "median_graphs_per_s": round(batching_rate, 1),
                 "median_ms_per_step": round(batching_s * 1e3, 2), **common})  # fmt: skip

    # the real loop, end to end
    loop_methods = [m for m in (args.loop_methods or []) if m in names and (m, "moses", "fp32") in med]
    if loop_methods:
        print(f"\nmolssl.pretrain.pretrain end to end, fp32, {2 * args.steps} steps, metrics every {args.steps}")
    for name in loop_methods:
        out = WORK / "pretrain_speed_runs" / name
        shutil.rmtree(out, ignore_errors=True)
        train = TrainConfig(steps=2 * args.steps, batch_size=args.batch_size, progress=False, log_every=args.steps,
                            checkpoint_every=2 * args.steps, device="cpu", precision="fp32")  # fmt: skip
        marks: list[float] = []  # CPU time at each metrics row: the second interval is steady state
        wall, cpu = time.perf_counter(), time.process_time()
        result = pretrain(name, store, out, train=train, on_log=lambda row: marks.append(time.process_time()))
        wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
        first, steady = result.metrics[0]["graphs_per_s"], result.metrics[-1]["graphs_per_s"]
        steady_cpu = args.steps * args.batch_size / (marks[-1] - marks[-2])
        isolated, isolated_cpu = med[(name, "moses", "fp32")], cpu_med[(name, "moses", "fp32")]
        graphs = 2 * args.steps * args.batch_size
        print(f"{name:14s} loop steady {steady:4.0f} graphs/s ({steady / isolated:.2f}x the isolated step's {isolated:.0f}), "
              f"{steady_cpu:4.0f} graphs/cpu-s ({steady_cpu / isolated_cpu:.2f}x {isolated_cpu:.0f}); first interval {first:.0f} "
              f"graphs/s; whole call {wall:.1f} s = {graphs / wall:.0f} graphs/s, {graphs / cpu:.0f} graphs/cpu-s")  # fmt: skip
        rows.append({"what": "pretrain_loop", "method": name, "precision": "fp32", "data": "moses", "steps": 2 * args.steps,
                     "log_every": args.steps, "loop_graphs_per_s_steady": round(steady, 1),
                     "isolated_step_median_graphs_per_s": round(isolated, 1), "loop_steady_vs_isolated": round(steady / isolated, 3),
                     "loop_graphs_per_cpu_s_steady": round(steady_cpu, 1), "isolated_step_median_graphs_per_cpu_s": round(isolated_cpu, 1),
                     "loop_steady_vs_isolated_cpu": round(steady_cpu / isolated_cpu, 3),
                     "loop_graphs_per_s_first_interval": round(first, 1), "call_wall_s": round(wall, 2),
                     "call_graphs_per_s": round(graphs / wall, 1), "call_graphs_per_cpu_s": round(graphs / cpu, 1),
                     "batch_size": args.batch_size, "threads": args.threads, "load_avg_1m_at_start": load_1m})  # fmt: skip
        shutil.rmtree(out, ignore_errors=True)

    print(f"\ntotal {time.perf_counter() - t_start:.0f} s")
    if not args.no_record:
        path = append_rows("pretrain_speed", rows, command_line())
        print(f"recorded in {path.relative_to(ROOT)}")


if __name__ == "__main__":
    main()

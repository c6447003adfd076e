"""Peak memory and time of pretraining steps with and without activation checkpointing (issue 14).

Each configuration runs in its own subprocess (so each peak RSS is its own): an attribute-masking
pretraining step (forward, backward, Adam) of a GIN encoder on batches of 256 molecules of the
embedded MOSES sample, fp32 on the CPU, one warm-up step then ``--steps`` timed ones, all on the same
batches (loader seed 0). Encoders: the 5 x 300 GIN of Hu et al. and a deeper, wider 10 x 600 one.
Figures per subprocess:

* ``peak_rss_mb``: ``resource.getrusage(RUSAGE_SELF).ru_maxrss`` at the end (whole process);
* ``setup_rss_mb``: the same high-water mark after loading the data, building the model and its
  Adam state, before the first step; ``step_peak_mb`` = peak - setup: what training steps add
  (gradients, activations kept for backward, temporaries);
* ``saved_for_backward_mb``: the bytes autograd keeps for backward in one forward, counted with
  ``torch.autograd.graph.saved_tensors_hooks`` (with checkpointing: what is kept outside the
  checkpointed layers; each layer's input, held by the checkpoint itself, is not counted);
* ``ms_per_step``: median wall time over the timed steps, and ``cpu_ms_per_step`` the median process
  CPU time (``time.process_time``; with one thread the work itself, robust to a machine shared with
  other jobs, where wall time is mostly waiting).

Baseline and candidate are interleaved (off, on, on, off, ...) over ``--repeats`` rounds; the table
gives medians over rounds and the ratios on/off. Rows go to ``results/activation_checkpointing.jsonl``.

Run:
    python benchmarks/activation_checkpointing.py --repeats 2 --steps 2 --threads 1
    python benchmarks/activation_checkpointing.py --table     # medians over every recorded round
"""

from __future__ import annotations

import argparse
import json
import math
import os
import resource
import shlex
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

SUITE = "activation_checkpointing"
ENCODERS = {"gin_5x300": (5, 300), "gin_10x600": (10, 600)}
BATCH_SIZE = 256


def _rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # Linux: KiB


def child(layers: int, dim: int, checkpointing: bool, steps: int, threads: int) -> dict:
    """Train ``1 + steps`` steps in this process and return its figures."""
    import torch

    from molssl.data.loader import StoreLoader
    from molssl.methods import get_method
    from molssl.nn.encoder import EncoderConfig, set_activation_checkpointing
    from molssl.pretrain.data import unlabeled_data

    torch.set_num_threads(threads)
    data = unlabeled_data(None)
    method_cls = get_method("attr_masking")
    torch.manual_seed(0)
    model = method_cls(EncoderConfig(scheme=data.scheme, num_layers=layers, emb_dim=dim), method_cls.config_class())
    set_activation_checkpointing(model, checkpointing)
    model.train()
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-3)
    for p in model.parameters():  # Adam's moments exist before the first step, so setup holds them
        optimizer.state[p]["exp_avg"] = torch.zeros_like(p)
        optimizer.state[p]["exp_avg_sq"] = torch.zeros_like(p)
        optimizer.state[p]["step"] = torch.tensor(0.0)
    batches = list(zip(range(1 + steps), StoreLoader(data.graphs, batch_size=BATCH_SIZE, shuffle=True, seed=0, drop_last=True)))
    setup = _rss_mb()
    saved = 0

    def pack(tensor):
        nonlocal saved
        saved += tensor.numel() * tensor.element_size()
        return tensor

    times, cpu_times = [], []
    for i, batch in batches:
        generator = torch.Generator().manual_seed(i)
        start, cpu_start = time.perf_counter(), time.process_time()
        if i == 0:
            with torch.autograd.graph.saved_tensors_hooks(pack, lambda t: t):
                loss = model(batch, generator).loss
        else:
            loss = model(batch, generator).loss
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
        if i > 0:
            times.append(time.perf_counter() - start)
            cpu_times.append(time.process_time() - cpu_start)
    return {
        "encoder": f"gin_{layers}x{dim}", "num_layers": layers, "emb_dim": dim, "activation_checkpointing": checkpointing,
        "batch_size": BATCH_SIZE, "atoms_first_batch": int(batches[0][1].num_nodes), "setup_rss_mb": round(setup, 1),
        "peak_rss_mb": round(_rss_mb(), 1), "step_peak_mb": round(_rss_mb() - setup, 1),
        "saved_for_backward_mb": round(saved / 2**20, 1), "ms_per_step": round(1000 * statistics.median(times), 1),
        "cpu_ms_per_step": round(1000 * statistics.median(cpu_times), 1),
        "steps_timed": steps, "threads": threads, "final_loss": float(loss.detach()),
    }  # fmt: skip


def _load() -> str:
    try:
        return " ".join(f"{x:.2f}" for x in os.getloadavg())
    except OSError:
        return "n/a"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--encoders", nargs="+", default=list(ENCODERS), choices=list(ENCODERS))
    parser.add_argument("--repeats", type=int, default=2)
    parser.add_argument("--steps", type=int, default=3, help="timed steps per subprocess (after one warm-up step)")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--table", action="store_true", help="print the summary of every recorded row and exit")
    parser.add_argument("--child", nargs=3, type=int, metavar=("LAYERS", "DIM", "CHECKPOINTING"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        layers, dim, checkpointing = args.child
        print(json.dumps(child(layers, dim, bool(checkpointing), args.steps, args.threads)))
        return
    from benchmarks.record import append_rows, recorded

    if args.table:
        print(summary(recorded(SUITE)))
        return
    command = "python benchmarks/activation_checkpointing.py " + shlex.join(sys.argv[1:])
    rows = []
    for repeat in range(args.repeats):
        for name in args.encoders:
            order = (False, True) if repeat % 2 == 0 else (True, False)  # interleave which runs first
            for checkpointing in order:
                layers, dim = ENCODERS[name]
                cmd = [sys.executable, __file__, "--child", str(layers), str(dim), str(int(checkpointing)),
                       "--steps", str(args.steps), "--threads", str(args.threads)]  # fmt: skip
                load_before = _load()
                proc = subprocess.run(cmd, capture_output=True, text=True, check=False)
                if proc.returncode != 0:
                    raise SystemExit(f"{name} checkpointing={checkpointing} failed:\n{proc.stderr[-3000:]}")
                row = {"what": "activation_checkpointing", **json.loads(proc.stdout.strip().splitlines()[-1]),
                       "repeat": repeat, "load_avg_before": load_before}  # fmt: skip
                rows.append(row)
                append_rows(SUITE, [row], command)
                print(json.dumps(row), flush=True)
    print(summary(rows))


def summary(rows: list[dict]) -> str:
    """Markdown: per encoder, medians over rounds without/with checkpointing and the ratios."""
    out = ["| encoder | rounds | peak RSS MB off / on | step peak MB off / on (ratio) | saved for backward MB off / on | "
           "CPU ms/step off / on (ratio) | wall ms/step off / on |", "|---|---|---|---|---|---|---|"]  # fmt: skip
    for name in dict.fromkeys(r["encoder"] for r in rows):
        off = [r for r in rows if r["encoder"] == name and not r["activation_checkpointing"]]
        on = [r for r in rows if r["encoder"] == name and r["activation_checkpointing"]]
        if not off or not on:
            continue

        def med(group: list[dict], key: str) -> float:
            values = [r[key] for r in group if key in r]
            return statistics.median(values) if values else math.nan

        cpu_off, cpu_on = med(off, "cpu_ms_per_step"), med(on, "cpu_ms_per_step")
        out.append(
            f"| {name} | {min(len(off), len(on))} | {med(off, 'peak_rss_mb'):.0f} / {med(on, 'peak_rss_mb'):.0f} | "
            f"{med(off, 'step_peak_mb'):.0f} / {med(on, 'step_peak_mb'):.0f} ({med(on, 'step_peak_mb') / med(off, 'step_peak_mb'):.2f}) | "
            f"{med(off, 'saved_for_backward_mb'):.0f} / {med(on, 'saved_for_backward_mb'):.0f} | "
            f"{cpu_off:.0f} / {cpu_on:.0f} ({cpu_on / cpu_off:.2f}) | {med(off, 'ms_per_step'):.0f} / {med(on, 'ms_per_step'):.0f} |"
        )  # fmt: skip
    return "\n".join(out)


if __name__ == "__main__":
    main()

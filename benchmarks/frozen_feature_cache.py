"""Linear probe with and without the frozen-feature cache: CPU time and equality of the runs, in the same process.

A linear probe freezes the encoder and puts it in eval mode; without the cache the fine-tuning loop still
runs it on every training batch of every epoch. With it (``molssl.tasks.frozen_features``, the default)
the encoder runs once per molecule and the head trains on its stored outputs. This suite times one
linear-probe run of ``benchmarks/zoo_transfer.py`` (its ``fit_one``: the zoo's converted encoder, dropout
0.5, mean readout, Adam 1e-3, batch 32, scaffold split, one torch thread) per architecture, first with the
encoder run per batch, then with the cache, and compares the two runs: best epoch, valid/test at the best
and last epochs, and the largest difference of any epoch's loss, valid and test score.

Timings are CPU seconds of this process (one thread), the two paths measured one after the other in the same
run, on a shared machine: read the ratio, not the seconds.

``--recheck`` reruns linear-probe rows that ``zoo_transfer.py`` recorded before the cache existed, with it,
and records both sets of numbers: whether rows from before and after the change are comparable.

Run:
    python benchmarks/frozen_feature_cache.py --archs gcn gat --dataset bbbp --epochs 50
    python benchmarks/frozen_feature_cache.py --recheck gcn:none:bbbp:0 gat:none:clintox:0 --epochs 50
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from benchmarks.record import append_rows, command_line  # noqa: E402
from benchmarks.zoo_transfer import ARCHS, fit_one, zoo_name  # noqa: E402

SUITE = "frozen_feature_cache"


def timed_probe(arch: str, init: str, dataset: str, seed: int, epochs: int, cache: bool) -> tuple[dict, float, float]:
    """One linear-probe run: its seed record (with per-epoch history), CPU seconds and wall seconds."""
    from molssl.zoo import pretrained_dir

    encoder_dir = None if zoo_name(arch, init) is None else str(pretrained_dir(zoo_name(arch, init)))
    start, cpu = time.perf_counter(), time.process_time()
    predictor = fit_one(arch, dataset, seed, "linear_probe", epochs, encoder_dir, frozen_feature_cache=cache)
    return predictor.metrics_["per_seed"][0], time.process_time() - cpu, time.perf_counter() - start


def compare(arch: str, init: str, dataset: str, seed: int, epochs: int) -> dict:
    """Both paths of one run and how they differ."""
    plain, plain_cpu, plain_wall = timed_probe(arch, init, dataset, seed, epochs, cache=False)
    cached, cached_cpu, cached_wall = timed_probe(arch, init, dataset, seed, epochs, cache=True)
    largest = max(abs(a[key] - b[key]) for a, b in zip(plain["history"], cached["history"], strict=True) for key in ("loss", "valid", "test"))
    fields = ("best_epoch", "valid_at_best", "test_at_best", "valid_at_last", "test_at_last")
    return {
        "what": "linear_probe_cpu_time", "arch": arch, "init": init, "encoder": zoo_name(arch, init), "dataset": dataset,
        "seed": seed, "epochs": epochs, "threads": 1,
        "cpu_seconds_per_batch_encoder": round(plain_cpu, 2), "cpu_seconds_cached": round(cached_cpu, 2),
        "cpu_ratio": round(plain_cpu / cached_cpu, 2),
        "wall_seconds_per_batch_encoder": round(plain_wall, 2), "wall_seconds_cached": round(cached_wall, 2),
        "per_batch_encoder": {k: plain[k] for k in fields}, "cached": {k: cached[k] for k in fields},
        "same_best_epoch": plain["best_epoch"] == cached["best_epoch"],
        "max_abs_difference_any_epoch": largest,
    }  # fmt: skip


def recheck(arch: str, init: str, dataset: str, seed: int, epochs: int) -> dict:
    """A linear-probe row ``zoo_transfer.py`` recorded before the cache, rerun with it: both sets of numbers."""
    from benchmarks.zoo_transfer import recorded

    key = (arch, init, dataset, seed, "linear_probe", epochs)
    before = next((r for r in recorded() if (r["arch"], r["init"], r["dataset"], r["seed"], r["mode"], r["epochs"]) == key), None)
    if before is None:
        raise SystemExit(f"zoo_transfer.jsonl has no linear-probe row {key}")
    now, cpu, wall = timed_probe(arch, init, dataset, seed, epochs, cache=True)
    pairs = {"best_epoch": "best_epoch", "valid_at_best": "valid_at_best", "test_at_best_valid": "test_at_best",
             "valid_at_last_epoch": "valid_at_last", "test_at_last_epoch": "test_at_last"}  # fmt: skip
    return {
        "what": "zoo_probe_row_rechecked", "arch": arch, "init": init, "encoder": zoo_name(arch, init), "dataset": dataset,
        "seed": seed, "epochs": epochs, "recorded": {k: before[k] for k in pairs}, "recorded_commit": before.get("commit"),
        "recorded_date": before.get("date"), "recorded_minutes_wall": before.get("minutes"),
        "cached": {k: now[v] for k, v in pairs.items()}, "cpu_seconds_cached": round(cpu, 2), "wall_seconds_cached": round(wall, 2),
        "max_abs_difference": max(abs(before[k] - now[v]) for k, v in pairs.items() if k != "best_epoch"),
        "same_best_epoch": before["best_epoch"] == now["best_epoch"],
    }  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--archs", nargs="+", default=["gcn", "gat"], choices=list(ARCHS))
    parser.add_argument("--init", default="supervised_contextpred", help="the zoo encoder's pretraining ('none': random init)")
    parser.add_argument("--dataset", default="bbbp")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--epochs", type=int, default=50)
    parser.add_argument("--recheck", nargs="+", metavar="ARCH:INIT:DATASET:SEED", default=[],
                        help="instead: rerun these recorded zoo_transfer linear-probe rows with the cache and compare")  # fmt: skip
    args = parser.parse_args()
    command = command_line()
    if args.recheck:
        jobs = [(arch, init, dataset, int(seed)) for arch, init, dataset, seed in (spec.split(":") for spec in args.recheck)]
        rows = (recheck(*job, args.epochs) for job in jobs)
    else:
        rows = (compare(arch, args.init, args.dataset, args.seed, args.epochs) for arch in args.archs)
    for row in rows:
        append_rows(SUITE, [row], command)
        print(json.dumps(row), flush=True)


if __name__ == "__main__":
    main()

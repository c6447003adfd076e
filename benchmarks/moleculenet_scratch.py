"""GIN from scratch on MoleculeNet under the fine-tuning protocol of Hu et al. (ICLR 2020).

Protocol: scaffold split 80/10/10 (deterministic), GIN 5 layers x 300, mean readout, dropout 0.5,
Adam lr 1e-3, batch 32, 100 epochs; test ROC-AUC (RMSE for regression) at the best-validation epoch
and at the last epoch; one run per (dataset, seed). Each finished run appends a row to
``results/moleculenet_scratch.jsonl``; a rerun skips the (dataset, seed, epochs) rows already there, so
a killed run resumes. ``--jobs`` runs that many processes with one torch thread each.

Run:
    python benchmarks/moleculenet_scratch.py --datasets bbbp bace clintox sider --seeds 0 1 2 --jobs 2
    python benchmarks/moleculenet_scratch.py --table        # print the table of recorded rows
"""

from __future__ import annotations

import argparse
import json
import math
import os
import statistics
import sys
import time
from concurrent.futures import ProcessPoolExecutor, as_completed
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from benchmarks.record import RESULTS, append_rows, command_line  # noqa: E402

SUITE = "moleculenet_scratch"
# Hu et al. 2020, Table 1, "No pre-train" GIN, test ROC-AUC (%) mean +- std over 10 seeds
HU_NO_PRETRAIN = {"bbbp": "65.8 +- 4.5", "bace": "70.1 +- 5.4", "clintox": "58.0 +- 4.4", "sider": "57.3 +- 1.6"}


def run_one(dataset: str, seed: int, epochs: int, threads: int) -> dict:
    import torch

    torch.set_num_threads(threads)
    from molssl.tasks.finetune import FinetuneConfig
    from molssl.tasks.predictor import PropertyPredictor

    start = time.perf_counter()
    config = FinetuneConfig(epochs=epochs, batch_size=32, lr=1e-3, seeds=(seed,))
    predictor = PropertyPredictor(encoder="gin", scheme="hu", readout="mean", dropout=0.5).fit(dataset, config=config, atom_order="input")
    s = predictor.metrics_["per_seed"][0]
    return {
        "what": "finetune_scratch", "dataset": dataset, "seed": seed, "epochs": epochs, "metric": predictor.metrics_["metric"],
        "test_at_best_valid": s["test_at_best"], "valid_at_best": s["valid_at_best"], "best_epoch": s["best_epoch"],
        "test_at_last_epoch": s["test_at_last"], "split_sizes": predictor.info_["split"]["sizes"],
        "skipped": len(predictor.info_["skipped"]), "minutes": round((time.perf_counter() - start) / 60, 2),
    }  # fmt: skip


def recorded() -> list[dict]:
    path = RESULTS / f"{SUITE}.jsonl"
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()] if path.exists() else []


def table(rows: list[dict]) -> str:
    lines = ["| dataset | metric | seeds | test at best valid | test at last epoch | valid at best | Hu et al. 2020 (no pretrain) |",
             "|---|---|---|---|---|---|---|"]  # fmt: skip
    by_dataset: dict[str, list[dict]] = {}
    for r in rows:
        by_dataset.setdefault(r["dataset"], []).append(r)

    def fmt(values: list[float], scale: float) -> str:
        vals = [v * scale for v in values if not math.isnan(v)]
        if not vals:
            return "n/a"
        return f"{statistics.mean(vals):.1f} +- {statistics.stdev(vals):.1f}" if len(vals) > 1 else f"{vals[0]:.1f}"

    for dataset, rs in by_dataset.items():
        scale = 100.0 if rs[0]["metric"] == "roc_auc" else 1.0
        cols = []
        for key in ("test_at_best_valid", "test_at_last_epoch", "valid_at_best"):
            values = [r[key] for r in rs]
            if scale == 1.0:
                vals = [v for v in values if not math.isnan(v)]
                cols.append(f"{statistics.mean(vals):.3f} +- {statistics.stdev(vals):.3f}" if len(vals) > 1 else f"{vals[0]:.3f}")
            else:
                cols.append(fmt(values, scale))
        lines.append(f"| {dataset} | {rs[0]['metric']} | {len(rs)} (epochs {rs[0]['epochs']}) | " + " | ".join(cols)
                     + f" | {HU_NO_PRETRAIN.get(dataset, '')} |")  # fmt: skip
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--datasets", nargs="+", default=["bbbp", "bace", "clintox", "sider", "esol", "freesolv", "lipophilicity"])
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--epochs", type=int, default=100)
    parser.add_argument("--jobs", type=int, default=2)
    parser.add_argument("--table", action="store_true", help="only print the table of recorded rows")
    args = parser.parse_args()
    if args.table:
        print(table([r for r in recorded() if r["epochs"] == args.epochs]))
        return
    done = {(r["dataset"], r["seed"], r["epochs"]) for r in recorded()}
    todo = [(d, s) for s in args.seeds for d in args.datasets if (d, s, args.epochs) not in done]
    command = command_line()
    threads = max(1, (os.cpu_count() or 1) // args.jobs)
    print(f"{len(todo)} runs to do ({len(done)} recorded), {args.jobs} jobs x {threads} threads", flush=True)
    with ProcessPoolExecutor(max_workers=args.jobs) as pool:
        futures = {pool.submit(run_one, d, s, args.epochs, threads): (d, s) for d, s in todo}
        for future in as_completed(futures):  # record each run as soon as it ends
            row = future.result()
            append_rows(SUITE, [row], command)
            print(json.dumps(row), flush=True)
    print(table([r for r in recorded() if r["epochs"] == args.epochs]))


if __name__ == "__main__":
    main()

"""Transfer at CPU scale: pretrain on MOSES molecules, fine-tune on MoleculeNet, vs no pretraining.

Protocol (a reduced form of Hu et al., ICLR 2020, Table 1):
  pretraining: each method on the embedded 50,000-molecule MOSES sample (Hu et al.: 2M ZINC15
    molecules, 100 epochs), GIN 5 x 300 (JK last, no dropout), Adam 1e-3, batch 256, ``--pretrain-steps``
    steps (default 195 = one epoch), seed 0;
  fine-tuning: BBBP, BACE, ClinTox, SIDER with the deterministic scaffold split 80/10/10, GIN with mean
    readout and dropout 0.5, Adam 1e-3, batch 32, ``--epochs`` epochs (Hu et al.: 100), seeds 0..N-1;
    the test ROC-AUC at the best-validation epoch is reported (selection on validation only), and the
    same seeds and splits are used for every method including ``none`` (no pretraining).

Each finished fine-tuning run appends a row to ``results/transfer.jsonl``; a rerun skips the rows already
there and resumes unfinished pretraining runs, so a killed benchmark continues.

Run:
    python benchmarks/transfer.py --methods none attr_masking context_pred edge_pred infomax --jobs 2
    python benchmarks/transfer.py --table
"""

from __future__ import annotations

import argparse
import json
import math
import os
import shlex
import statistics
import sys
import time
from concurrent.futures import ProcessPoolExecutor, as_completed
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from benchmarks.record import RESULTS, append_rows  # noqa: E402

SUITE = "transfer"
WORK = ROOT / "benchmarks" / "_work" / "transfer"
DATASETS = ["bbbp", "bace", "clintox", "sider"]
# Hu et al. 2020, Table 1 (GIN, test ROC-AUC %, mean over 10 seeds): no pretraining, attribute masking,
# context prediction, edge prediction, infomax (node-level only rows) and their 8-dataset averages
HU_TABLE = {
    "none": {"bbbp": 65.8, "bace": 70.1, "clintox": 58.0, "sider": 57.3, "avg8": 67.0},
    "infomax": {"bbbp": 68.8, "bace": 75.9, "clintox": 69.9, "sider": 58.4, "avg8": 70.2},
    "edge_pred": {"bbbp": 67.3, "bace": 79.9, "clintox": 64.1, "sider": 60.4, "avg8": 70.3},
    "attr_masking": {"bbbp": 64.3, "bace": 79.3, "clintox": 71.8, "sider": 61.0, "avg8": 71.1},
    "context_pred": {"bbbp": 68.0, "bace": 79.6, "clintox": 65.9, "sider": 60.9, "avg8": 70.9},
    # 8-dataset averages with GIN as the GraphMAE paper tabulates them (Hou et al. 2022, Table 3)
    "graphcl": {"avg8": 70.8},
    "graphmae": {"avg8": 73.8},
}


def pretrain_one(method: str, steps: int, threads: int) -> dict:
    import torch

    torch.set_num_threads(threads)
    from molssl.pretrain import TrainConfig, pretrain

    out = WORK / f"{method}-{steps}"
    finished = (out / "encoder" / "config.json").is_file()
    start = time.perf_counter()
    train = TrainConfig(steps=steps, batch_size=256, lr=1e-3, seed=0, log_every=15, checkpoint_every=15, progress=False)
    result = pretrain(method, None, out, train=train, resume=True)
    rows = result.metrics
    return {"method": method, "encoder_dir": str(result.encoder_dir), "steps": result.steps,
            "first_loss": rows[0]["loss"], "final_loss": rows[-1]["loss"],
            "minutes": round((time.perf_counter() - start) / 60, 2), "already_recorded": finished}  # fmt: skip


def finetune_one(method: str, encoder_dir: str | None, dataset: str, seed: int, epochs: int, pretrain_steps: int, threads: int) -> dict:
    import torch

    torch.set_num_threads(threads)
    from molssl.tasks.finetune import FinetuneConfig
    from molssl.tasks.predictor import PropertyPredictor

    start = time.perf_counter()
    config = FinetuneConfig(epochs=epochs, batch_size=32, lr=1e-3, seeds=(seed,))
    predictor = PropertyPredictor(encoder="gin", scheme="hu", readout="mean", dropout=0.5)
    predictor.fit(dataset, config=config, pretrained=encoder_dir)
    s = predictor.metrics_["per_seed"][0]
    return {
        "what": "transfer", "method": method, "pretrain_steps": 0 if method == "none" else pretrain_steps,
        "pretrain_corpus": None if method == "none" else "embedded MOSES 50k", "dataset": dataset, "seed": seed,
        "epochs": epochs, "metric": predictor.metrics_["metric"], "test_at_best_valid": s["test_at_best"],
        "valid_at_best": s["valid_at_best"], "best_epoch": s["best_epoch"], "test_at_last_epoch": s["test_at_last"],
        "minutes": round((time.perf_counter() - start) / 60, 2),
    }  # fmt: skip


def recorded() -> list[dict]:
    path = RESULTS / f"{SUITE}.jsonl"
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()] if path.exists() else []


def _key(row: dict) -> tuple:
    return row["method"], row["pretrain_steps"], row["dataset"], row["seed"], row["epochs"]


def table(rows: list[dict]) -> str:
    """Mean +- std (over seeds) of the test ROC-AUC at the best-validation epoch, and the average."""
    groups: dict[tuple, dict[str, list[float]]] = {}
    for r in rows:
        groups.setdefault((r["method"], r["pretrain_steps"], r["epochs"]), {}).setdefault(r["dataset"], []).append(r["test_at_best_valid"] * 100)
    lines = ["| method | pretrain steps | fine-tune epochs | " + " | ".join(DATASETS) + " | average | vs none | Hu et al. avg (8 sets) |",
             "|---" * (len(DATASETS) + 6) + "|"]  # fmt: skip
    baseline = {}
    for (method, steps, epochs), by_set in sorted(groups.items(), key=lambda kv: (kv[0][0] != "none", kv[0])):
        means = {d: statistics.mean(v) for d, v in by_set.items() if v}
        cells = []
        for d in DATASETS:
            v = by_set.get(d, [])
            cells.append("n/a" if not v else f"{statistics.mean(v):.1f} +- {statistics.stdev(v):.1f} ({len(v)})" if len(v) > 1 else f"{v[0]:.1f} (1)")
        avg = statistics.mean(means[d] for d in DATASETS if d in means) if all(d in means for d in DATASETS) else math.nan
        if method == "none":
            baseline[epochs] = avg
        delta = avg - baseline.get(epochs, math.nan)
        hu = HU_TABLE.get(method, {}).get("avg8")
        lines.append(f"| {method} | {steps} | {epochs} | " + " | ".join(cells) + f" | {avg:.1f} | "
                     + ("" if method == "none" else f"{delta:+.1f}") + f" | {hu if hu is not None else ''} |")  # fmt: skip
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--methods", nargs="+", default=["none", "attr_masking", "context_pred", "edge_pred", "infomax"])
    parser.add_argument("--datasets", nargs="+", default=DATASETS)
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--epochs", type=int, default=10, help="fine-tuning epochs (Hu et al.: 100)")
    parser.add_argument("--pretrain-steps", type=int, default=195, help="pretraining steps of 256 molecules (195 = one epoch of 50k)")
    parser.add_argument("--jobs", type=int, default=2)
    parser.add_argument("--table", action="store_true", help="only print the table of recorded rows")
    args = parser.parse_args()
    if args.table:
        print(table(recorded()))
        return
    command = "python " + " ".join(shlex.quote(a) for a in sys.argv)
    threads = max(1, (os.cpu_count() or 1) // args.jobs)
    done = {_key(r) for r in recorded()}
    todo = [(m, d, s) for s in args.seeds for d in args.datasets for m in args.methods
            if (m, 0 if m == "none" else args.pretrain_steps, d, s, args.epochs) not in done]  # fmt: skip
    need = sorted({m for m, _, _ in todo if m != "none"})
    print(f"{len(todo)} fine-tuning runs to do ({len(done)} recorded); pretraining {need}; {args.jobs} jobs x {threads} threads", flush=True)
    encoders: dict[str, str | None] = {"none": None}
    with ProcessPoolExecutor(max_workers=args.jobs) as pool:
        for future in as_completed([pool.submit(pretrain_one, m, args.pretrain_steps, threads) for m in need]):
            info = future.result()
            encoders[info["method"]] = info["encoder_dir"]
            if not info.pop("already_recorded"):
                append_rows(SUITE + "_pretrain", [info], command)
            print(json.dumps(info), flush=True)
        futures = [pool.submit(finetune_one, m, encoders[m], d, s, args.epochs, args.pretrain_steps, threads) for m, d, s in todo]
        for future in as_completed(futures):  # record each run as soon as it ends
            row = future.result()
            append_rows(SUITE, [row], command)
            print(json.dumps(row), flush=True)
    print(table(recorded()))


if __name__ == "__main__":
    main()

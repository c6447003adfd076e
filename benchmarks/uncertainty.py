"""What ``--ensemble``, temperature scaling and the domain flag give on real MoleculeNet sets (issue 16).

For each dataset and split seed (random scaffold split 80/10/10), one ``PropertyPredictor.fit`` with
``ensemble=True`` over three training seeds (GIN, 5x300 by default; the Hu et al. protocol otherwise) and, on the
test split, measured in the same run:

* the ensemble's mean prediction vs each seed's own model (the baseline: what ``--ensemble`` replaces);
* regression: Spearman correlation between the ensemble spread (``<task>_std``) and the absolute error;
  RMSE of the trivial training-mean predictor;
* classification: negative log-likelihood and expected calibration error (10 equal-width bins) of the
  mean probability before and after the temperature fitted on validation (ROC-AUC is unchanged by it);
* the domain flag: how many test molecules are flagged, and their error vs the others'.

Run:
    python benchmarks/uncertainty.py --datasets esol bace --split-seeds 0 1 2 --epochs 20 --num-layers 3 --emb-dim 128
    python benchmarks/uncertainty.py --table       # the table of recorded rows
"""

from __future__ import annotations

import argparse
import shlex
import statistics
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from benchmarks.record import append_rows, recorded  # noqa: E402

SUITE = "uncertainty"


def expected_calibration_error(labels: np.ndarray, probs: np.ndarray, bins: int = 10) -> float:
    """Mean |accuracy - confidence| over equal-width probability bins, weighted by bin size (binary)."""
    edges = np.linspace(0, 1, bins + 1)
    which = np.clip(np.digitize(probs, edges[1:-1]), 0, bins - 1)
    total = 0.0
    for b in range(bins):
        in_bin = which == b
        if in_bin.any():
            total += in_bin.sum() * abs(labels[in_bin].mean() - probs[in_bin].mean())
    return float(total / len(labels))


def binary_nll(labels: np.ndarray, probs: np.ndarray) -> float:
    p = np.clip(probs, 1e-7, 1 - 1e-7)
    return float(-np.mean(labels * np.log(p) + (1 - labels) * np.log(1 - p)))


def run_one(dataset: str, split_seed: int, epochs: int, seeds: tuple[int, ...], num_layers: int = 5, emb_dim: int = 300) -> dict:
    from scipy.stats import spearmanr

    from molssl.tasks.predictor import PropertyPredictor

    start = time.perf_counter()
    predictor = PropertyPredictor(encoder="gin", device="cpu", num_layers=num_layers, emb_dim=emb_dim).fit(
        dataset, split="random_scaffold", split_seed=split_seed, epochs=epochs, seeds=seeds, ensemble=True, atom_order="input"
    )
    report = predictor.metrics_["test_report"]
    metric = predictor.metrics_["metric"]
    frame = predictor.fit_predictions_
    test = frame[frame["split"] == "test"]
    task_type = predictor.model_.config.task_type
    row = {
        "what": "ensemble_uncertainty", "dataset": dataset, "split_seed": split_seed, "epochs": epochs, "seeds": list(seeds),
        "encoder": f"gin {num_layers}x{emb_dim}",
        "task_type": task_type, "metric": metric, "test_molecules": len(test),
        "seed_metrics": report["metrics"][metric]["per_seed"], "ensemble_metric": report["ensemble"][metric],
        "best_valid_seed_metric": next(s["test_at_best"] for s in predictor.metrics_["per_seed"] if s["seed"] == predictor.info_["best_seed"]),
    }  # fmt: skip
    tasks = predictor.task_names
    errors, flagged = [], (test["domain"] != "").to_numpy() if "domain" in test else None
    if task_type == "regression":
        rho = []
        for t in tasks:
            observed = test[f"{t}_true"].notna().to_numpy()
            error = np.abs(test[f"{t}"].to_numpy() - test[f"{t}_true"].to_numpy())
            rho.append(float(spearmanr(test[f"{t}_std"].to_numpy()[observed], error[observed]).statistic))
            errors.append(error)
        row["spearman_std_vs_abs_error"] = float(np.mean(rho))
        row["baseline_rmse"] = report["baseline"]["rmse"]["mean"]
    else:
        before, after, nll_before, nll_after = [], [], [], []
        for t in tasks:
            observed = test[f"{t}_true"].notna().to_numpy()
            y = test[f"{t}_true"].to_numpy()[observed]
            p, q = test[f"{t}"].to_numpy()[observed], test[f"{t}_calibrated"].to_numpy()[observed]
            before.append(expected_calibration_error(y, p))
            after.append(expected_calibration_error(y, q))
            nll_before.append(binary_nll(y, p))
            nll_after.append(binary_nll(y, q))
            errors.append(np.abs(test[f"{t}_true"].to_numpy() - test[f"{t}"].to_numpy()))
        row.update({"ece_before": float(np.mean(before)), "ece_after": float(np.mean(after)),
                    "nll_before": float(np.mean(nll_before)), "nll_after": float(np.mean(nll_after)),
                    "temperatures": predictor.info_["calibration"]["temperatures"]})  # fmt: skip
    mean_error = np.nanmean(np.stack(errors), axis=0)
    row["domain_flagged"] = int(flagged.sum())
    row["domain_reasons"] = test.loc[flagged, "domain"].tolist()[:10]
    row["abs_error_flagged"] = float(np.nanmean(mean_error[flagged])) if flagged.any() else None
    row["abs_error_inside"] = float(np.nanmean(mean_error[~flagged]))
    row["minutes"] = round((time.perf_counter() - start) / 60, 2)
    return row


def table(rows: list[dict]) -> str:
    """Markdown: per dataset, medians over split seeds."""
    lines = ["| dataset | encoder, epochs | metric | splits | each seed's model (median) | ensemble (median) | ensemble better in | "
             "calibration / spread | domain-flagged test molecules: mean abs error flagged vs inside |",
             "|---|---|---|---|---|---|---|---|---|"]  # fmt: skip
    for dataset, encoder, epochs in sorted({(r["dataset"], r["encoder"], r["epochs"]) for r in rows}):
        runs = [r for r in rows if (r["dataset"], r["encoder"], r["epochs"]) == (dataset, encoder, epochs)]
        higher = runs[0]["task_type"] != "regression"
        seeds = statistics.median(v for r in runs for v in r["seed_metrics"])
        ens = statistics.median(r["ensemble_metric"] for r in runs)
        better = sum((r["ensemble_metric"] > max(r["seed_metrics"])) if higher else (r["ensemble_metric"] < min(r["seed_metrics"])) for r in runs)
        if higher:
            extra = (f"ECE {statistics.median(r['ece_before'] for r in runs):.3f} -> {statistics.median(r['ece_after'] for r in runs):.3f}, "
                     f"NLL {statistics.median(r['nll_before'] for r in runs):.3f} -> {statistics.median(r['nll_after'] for r in runs):.3f}")
        else:
            extra = (f"Spearman(std, abs error) {statistics.median(r['spearman_std_vs_abs_error'] for r in runs):.2f}; "
                     f"training-mean RMSE {statistics.median(r['baseline_rmse'] for r in runs):.3f}")
        flagged = [r for r in runs if r["abs_error_flagged"] is not None]
        domain = (f"{sum(r['domain_flagged'] for r in runs)} of {sum(r['test_molecules'] for r in runs)}: "
                  + (f"{statistics.median(r['abs_error_flagged'] for r in flagged):.3f} vs "
                     f"{statistics.median(r['abs_error_inside'] for r in flagged):.3f}" if flagged else "none flagged"))
        lines.append(f"| {dataset} | {encoder}, {epochs} | {runs[0]['metric']} | {len(runs)} | {seeds:.3f} | {ens:.3f} | {better} of {len(runs)} "
                     f"(beats every seed) | {extra} | {domain} |")  # fmt: skip
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--datasets", nargs="+", default=["esol", "bbbp"])
    parser.add_argument("--split-seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--epochs", type=int, default=30)
    parser.add_argument("--num-layers", type=int, default=5)
    parser.add_argument("--emb-dim", type=int, default=300)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--table", action="store_true", help="print the table of recorded rows and exit")
    args = parser.parse_args()
    if args.table:
        print(table([r for r in recorded(SUITE) if r.get("what") == "ensemble_uncertainty"]))
        return
    import torch

    torch.set_num_threads(args.threads)
    command = "python benchmarks/uncertainty.py " + shlex.join(sys.argv[1:])
    encoder = f"gin {args.num_layers}x{args.emb_dim}"
    done = {(r["dataset"], r["split_seed"], r["epochs"], tuple(r["seeds"]), r["encoder"]) for r in recorded(SUITE)}
    for split_seed in args.split_seeds:  # interleave datasets so a partial run covers each
        for dataset in args.datasets:
            if (dataset, split_seed, args.epochs, tuple(args.seeds), encoder) in done:
                continue
            row = run_one(dataset, split_seed, args.epochs, tuple(args.seeds), args.num_layers, args.emb_dim)
            append_rows(SUITE, [row], command)
            print({k: v for k, v in row.items() if k != "temperatures"}, flush=True)


if __name__ == "__main__":
    main()

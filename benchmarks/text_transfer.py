"""SMILES transformer transfer: from scratch vs MLM-pretrained vs randomized-SMILES contrastive, beside a GIN.

Pretraining (``molssl.pretrain``, the shared loop): ``mlm`` and ``smiles_contrastive`` on the embedded
50k MOSES sample for ``--pretrain-steps`` steps of ``--pretrain-batch`` molecules (Adam, lr 5e-4, seed 0),
the same encoder size for both; runs are cached in ``benchmarks/_work/text_transfer/`` and resumed if
interrupted. Fine-tuning (``PropertyPredictor``, the GNNs' protocol): scaffold split 80/10/10 of the
embedded MoleculeNet sets, ``--epochs`` epochs, batch 32, Adam 1e-3, selection on validation, test
reported at the best-validation epoch, one row per (variant, dataset, seed):

* ``gin``: GIN (``--gin-layers`` x ``--gin-dim``) from scratch, the graph baseline of the same protocol;
* ``text_scratch``: the SMILES transformer from a random init;
* ``text_mlm``, ``text_contrastive``: the same transformer from the pretrained encoders.

Each row also holds the randomized-SMILES prediction spread (``molssl.text.invariance``) of the
selected model on the first ``--spread-molecules`` test molecules, each written 1 + ``--spread-views``
ways: mean std of the prediction over a molecule's writings and, for classifiers, the share of
molecules whose predicted class flips. Rows go to ``results/text_transfer.jsonl`` as each run ends; a
rerun skips recorded rows (resumable).

Run:
    python benchmarks/text_transfer.py --datasets bbbp --seeds 0 --epochs 5 --pretrain-steps 100  # the recorded slice
    python benchmarks/text_transfer.py --datasets bbbp bace clintox sider esol lipo --seeds 0 1 2 --epochs 100 \\
        --pretrain-steps 20000 --size small                                                   # the intended scale (GPU)
    python benchmarks/text_transfer.py --plan | --report
"""

from __future__ import annotations

import argparse
import shlex
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from benchmarks.record import append_rows, recorded, todo_or_plan  # noqa: E402

SUITE = "text_transfer"
WORK = ROOT / "benchmarks" / "_work" / "text_transfer"
DATASETS = ["bbbp", "bace", "clintox", "sider", "esol", "lipo"]
VARIANTS = {"gin": None, "text_scratch": None, "text_mlm": "mlm", "text_contrastive": "smiles_contrastive"}


def pretrained_encoder(method: str, args: argparse.Namespace) -> Path:
    """Pretrain (or find, or resume) the encoder of ``method``; returns its run directory."""
    from molssl.pretrain import TrainConfig, pretrain

    run = WORK / f"{method}_{args.size}_s{args.pretrain_steps}_b{args.pretrain_batch}"
    if (run / "encoder" / "config.json").is_file():
        return run
    train = TrainConfig(steps=args.pretrain_steps, batch_size=args.pretrain_batch, lr=5e-4, log_every=10,
                        checkpoint_every=50 if args.pretrain_steps % 50 == 0 else 10, progress=False,
                        precision=args.precision, device=args.device)  # fmt: skip
    pretrain(method, None, run, train=train, encoder={"kind": "smiles_transformer", **size_options(args.size)},
             resume=(run / "config.json").is_file())  # fmt: skip
    return run


def size_options(size: str) -> dict:
    from molssl.text.encoder import PRESETS

    return dict(PRESETS[size])


def run_one(variant: str, dataset: str, seed: int, args: argparse.Namespace) -> dict:
    import torch

    torch.set_num_threads(args.threads)
    from molssl.tasks.predictor import PropertyPredictor
    from molssl.text.invariance import prediction_spread

    method = VARIANTS[variant]
    pretrained = pretrained_encoder(method, args) if method else None
    if variant == "gin":
        predictor = PropertyPredictor(encoder="gin", num_layers=args.gin_layers, emb_dim=args.gin_dim, device=args.device)
    else:
        predictor = PropertyPredictor(encoder="smiles_transformer", device=args.device, **size_options(args.size))
    start_cpu, start = time.process_time(), time.perf_counter()
    predictor.fit(dataset, pretrained=pretrained, epochs=args.epochs, batch_size=32, lr=1e-3, seeds=(seed,))
    fit_cpu, fit_wall = time.process_time() - start_cpu, time.perf_counter() - start
    frame = predictor.fit_predictions_
    test_smiles = frame.loc[frame["split"] == "test", "smiles"].tolist()[: args.spread_molecules]
    spread = prediction_spread(predictor, test_smiles, views=args.spread_views, seed=seed)
    metrics = predictor.metrics_
    return {
        "variant": variant, "dataset": dataset, "seed": seed, "epochs": args.epochs, "metric": metrics["metric"],
        "test_at_best_valid": metrics["test_at_best_valid"]["mean"], "valid_at_best_valid": metrics["valid_at_best_valid"]["mean"],
        "test_at_last_epoch": metrics["test_at_last_epoch"]["mean"], "best_epoch": metrics["per_seed"][0]["best_epoch"],
        "pretrain_method": method, "pretrain_steps": args.pretrain_steps if method else 0, "pretrain_batch": args.pretrain_batch,
        "size": args.size if variant != "gin" else f"gin {args.gin_layers}x{args.gin_dim}",
        "parameters": metrics["total_parameters"], "fit_cpu_s": fit_cpu, "fit_wall_s": fit_wall,
        "spread": {"molecules": spread.molecules, "views": spread.views, **{t: s for t, s in spread.per_task.items()}},
    }  # fmt: skip


def report(args: argparse.Namespace) -> None:
    rows = [r for r in recorded(SUITE) if r["epochs"] == args.epochs]
    print(f"| dataset | metric | {' | '.join(VARIANTS)} |")
    print("|---|---|" + "---|" * len(VARIANTS))
    for dataset in DATASETS:
        cells, metric = [], ""
        for variant in VARIANTS:
            values = [r["test_at_best_valid"] for r in rows if r["dataset"] == dataset and r["variant"] == variant]
            spreads = [statistics.mean(s["mean_std"] for k, s in r["spread"].items() if isinstance(s, dict))
                       for r in rows if r["dataset"] == dataset and r["variant"] == variant]  # fmt: skip
            metric = next((r["metric"] for r in rows if r["dataset"] == dataset), metric)
            cells.append(f"{statistics.median(values):.3f} (n={len(values)}; spread {statistics.median(spreads):.3f})"
                         if values else "-")  # fmt: skip
        if any(c != "-" for c in cells):
            print(f"| {dataset} | {metric} | {' | '.join(cells)} |")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--datasets", nargs="+", default=DATASETS, choices=DATASETS)
    parser.add_argument("--variants", nargs="+", default=list(VARIANTS), choices=list(VARIANTS))
    parser.add_argument("--seeds", nargs="+", type=int, default=[0])
    parser.add_argument("--epochs", type=int, default=5)
    parser.add_argument("--size", default="tiny", help="SMILES transformer preset (tiny, small, chemberta)")
    parser.add_argument("--pretrain-steps", type=int, default=100)
    parser.add_argument("--pretrain-batch", type=int, default=64)
    parser.add_argument("--precision", default="fp32", choices=("fp32", "bf16"))
    parser.add_argument("--gin-layers", type=int, default=3)
    parser.add_argument("--gin-dim", type=int, default=64)
    parser.add_argument("--spread-molecules", type=int, default=50)
    parser.add_argument("--spread-views", type=int, default=4)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--plan", action="store_true", help="list the runs not recorded yet")
    parser.add_argument("--report", action="store_true", help="print the Markdown table of the recorded rows")
    args = parser.parse_args()
    if args.report:
        return report(args)
    runs = [(v, d, s) for d in args.datasets for s in args.seeds for v in args.variants]  # variants of one (d, s) together
    done = {(r["variant"], r["dataset"], r["seed"]) for r in recorded(SUITE)
            if r["epochs"] == args.epochs and r["pretrain_steps"] in (0, args.pretrain_steps)}  # fmt: skip
    todo = todo_or_plan(runs, done, args.plan)
    if not todo:
        return
    command = "python benchmarks/text_transfer.py " + shlex.join(sys.argv[1:])
    for task in todo:
        row = run_one(*task, args)
        append_rows(SUITE, [row], command)
        print(row, flush=True)


if __name__ == "__main__":
    main()

"""In-distribution vs out-of-distribution test scores of an encoder with and without pretraining (issue 22).

The pretrained encoder (``--pretrained``: a zoo name or a checkpoint directory, see ``encoders.py``) is by
default the converted release of Hu et al. (2020), ``hu2020/gcn_supervised_contextpred`` (the pretraining
that carries a gain at our scale, see ``zoo_transfer.py``); a GIN pretrained by ``molssl pretrain`` is
passed as its ``encoder/`` directory. The baseline is the same architecture from a random initialization.
Both are fine-tuned with molssl's protocol (dropout 0.5, Adam 1e-3, batch 32, mean readout, test at the
best-validation epoch) on BBBP, BACE (ROC-AUC) and ESOL (RMSE) under:

- ``random``: the in-distribution reference (random rows, seeded);
- ``scaffold``: the usual scaffold split;
- ``size``: small molecules train, large ones test;
- ``scaffold_cluster``: Butina clusters of scaffolds (Tanimoto >= 0.6) held out whole;
- ``property_range``: ESOL only, test on the highest solubilities;
- ``low_data_k16`` / ``_k64`` / ``_k256``: k labelled molecules from the scaffold split's train part, seed = draw.

Sun et al. (NeurIPS 2022, "Does GNN pretraining help molecular representation?") report that pretraining
gains shrink under such shifts; this suite measures it for our encoders. Every run appends one row to
``results/ood.jsonl`` naming its encoder in ``pretrained`` (rows recorded before the field are the Hu
GCN's); a rerun skips recorded rows of the same encoder (resumable; add seeds later).

Run:
    python benchmarks/ood.py --epochs 20 --seeds 0 1 2              # the whole grid
    python benchmarks/ood.py --datasets bbbp --splits random scaffold size --epochs 5 --seeds 0   # a slice
    python benchmarks/ood.py --pretrained runs/am/encoder --epochs 20 --seeds 0   # a GIN pretrained by molssl
    python benchmarks/ood.py --plan | --report
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

from benchmarks.encoders import architecture, finetune_encoder_config, resolve_encoder  # noqa: E402
from benchmarks.record import recorded, run_and_record, todo_or_plan  # noqa: E402

SUITE = "ood"
DATASETS = ["bbbp", "bace", "esol"]
SPLITS = ["random", "scaffold", "size", "scaffold_cluster", "property_range", "low_data_k16", "low_data_k64", "low_data_k256"]
INITS = ["none", "pretrained"]
ZOO = "hu2020/gcn_supervised_contextpred"


def register_low_data_splits() -> None:
    """``low_data_k<k>``: the registered ``low_data`` splitter with ``k`` fixed (so ``fit(split=name)`` takes it)."""
    from molssl.data.splits_registry import SPLITTERS

    def fixed(k: int):  # noqa: ANN202
        def low_data_k(smiles, labels=None, **options):  # noqa: ANN001, ANN202 - the registry's signature
            return SPLITTERS["low_data"](smiles, labels, k=k, **options)

        return low_data_k

    for k in (16, 64, 256):
        if f"low_data_k{k}" not in SPLITTERS:
            SPLITTERS.register(f"low_data_k{k}", fixed(k))


def run_one(dataset: str, split: str, init: str, seed: int, epochs: int, label: str, encoder_dir: str) -> dict:
    import torch

    torch.set_num_threads(1)
    from molssl.tasks.finetune import FinetuneConfig
    from molssl.tasks.predictor import PropertyPredictor

    register_low_data_splits()
    start, cpu = time.perf_counter(), time.process_time()
    config = finetune_encoder_config(encoder_dir)
    predictor = PropertyPredictor(encoder=config, readout="mean")
    finetune = FinetuneConfig(epochs=epochs, batch_size=32, lr=1e-3, seeds=(seed,))
    # the split's seed is the run's seed: random draws, cluster order and low-data draws vary with it
    predictor.fit(dataset, config=finetune, split=split, split_seed=seed, pretrained=None if init == "none" else encoder_dir,
                  atom_order="input")  # the rows recorded before the option
    s = predictor.metrics_["per_seed"][0]
    return {
        "what": SUITE, "dataset": dataset, "split": split, "init": init, "pretrained": label,
        "encoder": label if init != "none" else f"{architecture(config)} random init",
        "seed": seed, "epochs": epochs, "metric": predictor.metrics_["metric"], "sizes": predictor.info_["split"]["sizes"],
        "test_at_best_valid": s["test_at_best"], "valid_at_best": s["valid_at_best"], "best_epoch": s["best_epoch"],
        "test_at_last_epoch": s["test_at_last"], "minutes": round((time.perf_counter() - start) / 60, 2),
        "cpu_s": round(time.process_time() - cpu, 1),  # this worker's CPU (one torch thread): wall time is mostly waiting here
    }  # fmt: skip


def encoder_of(row: dict) -> str:
    """The label of the encoder a row belongs to (its ``none`` rows: that encoder's architecture from a random
    init); rows recorded before ``pretrained`` existed are the Hu GCN's."""
    return row.get("pretrained", ZOO)


def init_of(row: dict) -> str:
    """``none`` or ``pretrained`` (rows recorded before ``--pretrained`` say ``supervised_contextpred``)."""
    return "none" if row["init"] == "none" else "pretrained"


def _key(row: dict) -> tuple:
    return row["dataset"], row["split"], init_of(row), row["seed"], row["epochs"], encoder_of(row)


def plan(datasets: list[str], splits: list[str], seeds: list[int], epochs: int, label: str) -> list[tuple]:
    """Seed by seed, dataset by dataset: each split with both inits side by side."""
    return [(d, s, i, seed, epochs, label) for seed in seeds for d in datasets for s in splits for i in INITS
            if not (s == "property_range" and d != "esol")]  # fmt: skip


def _apart(none: dict[int, float], pre: dict[int, float], sign: int) -> str:
    """"for" when every pretrained seed beats every scratch seed, "against" the reverse, "no" when the ranges
    overlap, "-" with fewer than 2 seeds of either (``sign``: +1 higher is better, -1 lower is better)."""
    if len(none) < 2 or len(pre) < 2:
        return "-"
    a, b = [sign * v for v in none.values()], [sign * v for v in pre.values()]
    return "for" if min(b) > max(a) else "against" if max(b) < min(a) else "no"


def report(rows: list[dict]) -> str:
    """Per encoder, epochs, dataset and split: test score (median over seeds) without and with pretraining, the
    gain of the medians, the gain seed by seed (a seed with both inits recorded), so a sign can be read per seed,
    and whether the two inits' ranges over seeds are apart ("for" / "against" pretraining; "-" under 2 seeds)."""
    out = []
    for label in dict.fromkeys(encoder_of(r) for r in rows):
        lines = [f"from {label}:", "", "| dataset | split | metric | no pretraining | pretrained | gain | gain per seed | ranges apart | seeds | epochs |",
                 "|---|---|---|---|---|---|---|---|---|---|"]  # fmt: skip
        cells: dict[tuple, dict[str, dict[int, float]]] = {}
        for r in (r for r in rows if encoder_of(r) == label):
            cells.setdefault((r["dataset"], r["split"], r["metric"], r["epochs"]), {}).setdefault(init_of(r), {})[r["seed"]] = r["test_at_best_valid"]
        order = sorted(cells.items(), key=lambda kv: (kv[0][3], DATASETS.index(kv[0][0]), SPLITS.index(kv[0][1])))
        for (dataset, split, metric, epochs), by_init in order:
            none, pre = by_init.get("none", {}), by_init.get("pretrained", {})
            scale = 100 if metric in ("rocauc", "roc_auc") else 1
            sign = 1 if metric in ("rocauc", "roc_auc") else -1  # positive = pretraining helps (RMSE: lower is better)
            a = statistics.median(none.values()) * scale if none else float("nan")
            b = statistics.median(pre.values()) * scale if pre else float("nan")
            per_seed = " / ".join(f"{sign * (pre[s] - none[s]) * scale:+.3g}" for s in sorted(set(none) & set(pre)))
            lines.append(f"| {dataset} | {split} | {metric} | {a:.3g} | {b:.3g} | {sign * (b - a):+.3g} | {per_seed} | {_apart(none, pre, sign)} | "
                         f"{len(set(none) & set(pre))} | {epochs} |")  # fmt: skip
        out.append("\n".join(lines) + "\n")
    return "\n".join(out)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--pretrained", default=ZOO, metavar="NAME_OR_DIR",
                        help=f"the pretrained encoder: a zoo name or a checkpoint directory (default {ZOO})")
    parser.add_argument("--datasets", nargs="+", default=DATASETS, choices=DATASETS)
    parser.add_argument("--splits", nargs="+", default=SPLITS, choices=SPLITS)
    parser.add_argument("--seeds", nargs="+", type=int, default=[0])
    parser.add_argument("--epochs", type=int, default=20)
    parser.add_argument("--jobs", type=int, default=1)
    parser.add_argument("--plan", action="store_true")
    parser.add_argument("--report", action="store_true")
    args = parser.parse_args()
    rows = recorded(SUITE)
    if args.report:
        print(report(rows), end="")
        return
    label, encoder_dir = resolve_encoder(args.pretrained)
    todo = todo_or_plan(plan(args.datasets, args.splits, args.seeds, args.epochs, label), {_key(r) for r in rows}, args.plan)
    if todo:
        run_and_record(SUITE, run_one, todo, args.jobs, "python benchmarks/ood.py " + shlex.join(sys.argv[1:]), encoder_dir)


if __name__ == "__main__":
    main()

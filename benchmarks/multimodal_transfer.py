"""Transfer of CLIP-aligned encoders: does alignment help the graph encoder, the text encoder, both?

Each encoder is fine-tuned three ways with the same protocol as ``benchmarks/text_transfer.py`` and
``zoo_transfer.py`` (``PropertyPredictor``: scaffold split 80/10/10 of the embedded MoleculeNet set,
``--epochs`` epochs, batch 32, Adam 1e-3, selection on validation, test at the best-validation epoch),
one row per (variant, dataset, seed); ESOL (regression, RMSE) beside the four classification sets:

* ``graph_scratch`` / ``text_scratch``: the GIN / SMILES transformer of the aligned run's size, random init;
* ``graph_own`` / ``text_own``: the same encoder pretrained on its own modality only (``attr_masking`` /
  ``mlm``) on the same molecules, steps, batch and learning rate as the alignment;
* ``graph_aligned`` / ``text_aligned``: ``<run>/encoders/graph`` / ``encoders/smiles`` of the
  ``clip_align`` run of ``benchmarks/multimodal_retrieval.py`` (same options; built or resumed here).

Runs live in ``benchmarks/_work/multimodal/``; rows go to ``results/multimodal_transfer.jsonl`` as each
fit ends, and a rerun skips recorded rows (resumable).

Run:
    python benchmarks/multimodal_transfer.py --datasets bbbp bace clintox sider esol --seeds 0 1 2 --epochs 5 \\
        --threads 1                                                                      # the recorded slice
    python benchmarks/multimodal_transfer.py --seeds 0 1 2 --epochs 100 \\
        --molecules 49000 --steps 20000 --size base                                     # the intended scale (GPU)
    python benchmarks/multimodal_transfer.py --plan | --report
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

from benchmarks.multimodal_retrieval import WORK, add_pretraining_options, aligned_run, moses_split, SIZES  # noqa: E402
from benchmarks.record import append_rows, recorded, todo_or_plan  # noqa: E402

SUITE = "multimodal_transfer"
DATASETS = ["bbbp", "bace", "clintox", "sider", "esol"]
VARIANTS = ["graph_scratch", "graph_own", "graph_aligned", "text_scratch", "text_own", "text_aligned"]
OWN_METHODS = {"graph": "attr_masking", "text": "mlm"}


def own_run(modality: str, seed: int, args: argparse.Namespace) -> Path:
    """The encoder pretrained on its own modality only, as large and as long as the aligned one."""
    from molssl.pretrain import TrainConfig, pretrain

    train_file, _ = moses_split(args.molecules, args.held_out)
    method = OWN_METHODS[modality]
    run = WORK / f"{method}_{args.size}_m{args.molecules}_s{args.steps}_b{args.batch}_seed{seed}"
    if (run / "encoder" / "config.json").is_file():
        return run
    prefix = "graph." if modality == "graph" else "smiles."
    encoder = {k.removeprefix(prefix): v for k, v in SIZES[args.size].items() if k.startswith(prefix)}
    encoder["kind"] = "gnn" if modality == "graph" else "smiles_transformer"
    train = TrainConfig(steps=args.steps, batch_size=args.batch, lr=args.lr, seed=seed, log_every=10,
                        checkpoint_every=50 if args.steps % 50 == 0 else 10, progress=False, device=args.device)  # fmt: skip
    pretrain(method, str(train_file), run, train=train, encoder=encoder, resume=(run / "config.json").is_file())
    return run


def run_one(variant: str, dataset: str, seed: int, args: argparse.Namespace) -> dict:
    import torch

    torch.set_num_threads(args.threads)
    from molssl.tasks.predictor import PropertyPredictor

    modality, how = variant.split("_")
    pretrained = None
    if how == "aligned":
        pretrained = aligned_run(args.modalities, args.pretrain_seed, args) / "encoders" / ("graph" if modality == "graph" else "smiles")
    elif how == "own":
        pretrained = own_run(modality, args.pretrain_seed, args) / "encoder"
    size = SIZES[args.size]
    if modality == "graph":
        predictor = PropertyPredictor(encoder="gin", num_layers=size["graph.num_layers"], emb_dim=size["graph.emb_dim"],
                                      device=args.device)  # fmt: skip
    else:
        predictor = PropertyPredictor(encoder="smiles_transformer", device=args.device,
                                      **{k.removeprefix("smiles."): v for k, v in size.items() if k.startswith("smiles.")})  # fmt: skip
    start_cpu = time.process_time()
    predictor.fit(dataset, pretrained=pretrained, epochs=args.epochs, batch_size=32, lr=1e-3, seeds=(seed,))
    metrics = predictor.metrics_
    return {
        "variant": variant, "dataset": dataset, "seed": seed, "epochs": args.epochs, "metric": metrics["metric"],
        "test_at_best_valid": metrics["test_at_best_valid"]["mean"], "valid_at_best_valid": metrics["valid_at_best_valid"]["mean"],
        "best_epoch": metrics["per_seed"][0]["best_epoch"], "size": args.size, "modalities": args.modalities,
        "pretrain_steps": args.steps if pretrained else 0, "pretrain_batch": args.batch, "molecules": args.molecules,
        "pretrain_seed": args.pretrain_seed, "fit_cpu_s": time.process_time() - start_cpu,
        "pretrained_sha256": predictor.info_.get("pretrained_sha256"),  # which weights: a re-created run may differ
    }  # fmt: skip


def report(args: argparse.Namespace) -> None:
    """Test at best validation per variant (median, min-max over fine-tuning seeds), then per-seed differences."""
    rows = [r for r in recorded(SUITE) if r["epochs"] == args.epochs]
    values = {}
    for r in rows:
        values.setdefault((r["dataset"], r["variant"]), {})[r["seed"]] = r["test_at_best_valid"]
    metrics = {r["dataset"]: r["metric"] for r in rows}
    print(f"| dataset | metric | {' | '.join(VARIANTS)} |")
    print("|---|---|" + "---|" * len(VARIANTS))
    for dataset in (d for d in DATASETS if d in metrics):
        cells = []
        for variant in VARIANTS:
            v = list(values.get((dataset, variant), {}).values())
            spread = f" ({min(v):.3f}-{max(v):.3f}, n={len(v)})" if len(v) > 1 else " (n=1)"
            cells.append(f"{statistics.median(v):.3f}{spread}" if v else "-")
        print(f"| {dataset} | {metrics[dataset]} | {' | '.join(cells)} |")
    print("\nPer-seed differences (same fine-tuning seed; rmse: negative is better), median [each seed]:\n")
    print("| dataset | encoder | aligned - scratch | own - scratch | aligned - own |")
    print("|---|---|---|---|---|")
    for dataset in (d for d in DATASETS if d in metrics):
        for modality in ("graph", "text"):
            cells = []
            for a, b in (("aligned", "scratch"), ("own", "scratch"), ("aligned", "own")):
                first, second = values.get((dataset, f"{modality}_{a}"), {}), values.get((dataset, f"{modality}_{b}"), {})
                diffs = [first[s] - second[s] for s in sorted(set(first) & set(second))]
                cells.append(f"{statistics.median(diffs):+.3f} [{', '.join(f'{d:+.3f}' for d in diffs)}]" if diffs else "-")
            print(f"| {dataset} | {modality} | {' | '.join(cells)} |")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--datasets", nargs="+", default=DATASETS, choices=DATASETS)
    parser.add_argument("--variants", nargs="+", default=VARIANTS, choices=VARIANTS)
    parser.add_argument("--seeds", nargs="+", type=int, default=[0], help="fine-tuning seeds")
    parser.add_argument("--epochs", type=int, default=5)
    parser.add_argument("--modalities", default="graph,smiles", help="the aligned run's modalities")
    parser.add_argument("--pretrain-seed", type=int, default=0)
    add_pretraining_options(parser)
    parser.add_argument("--plan", action="store_true", help="list the runs not recorded yet")
    parser.add_argument("--report", action="store_true", help="print the Markdown table of the recorded rows")
    args = parser.parse_args()
    if args.report:
        return report(args)
    runs = [(v, d, s) for d in args.datasets for s in args.seeds for v in args.variants]
    done = {(r["variant"], r["dataset"], r["seed"]) for r in recorded(SUITE)
            if r["epochs"] == args.epochs and (r["size"], r["molecules"], r["modalities"]) == (args.size, args.molecules, args.modalities)
            and r["pretrain_steps"] in (0, args.steps)}  # fmt: skip
    todo = todo_or_plan(runs, done, args.plan)
    if not todo:
        return
    command = "python benchmarks/multimodal_transfer.py " + shlex.join(sys.argv[1:])
    for task in todo:
        row = run_one(*task, args)
        append_rows(SUITE, [row], command)
        print(row, flush=True)


if __name__ == "__main__":
    main()

"""``molssl finetune``: fine-tune (or train from scratch) a property predictor under the literature protocol."""

from __future__ import annotations

import argparse
from pathlib import Path

from molssl.cli.finetune_modes import add_mode_arguments, format_trainable, mode_options, save_as_delta
from molssl.cli.predict import SMILES_COLUMN_HELP
from molssl.output_folder import OutputLayout

#: what ``molssl finetune`` writes into --out; a saved model or metrics.json is a finished run
FINETUNE_OUTPUTS = OutputLayout("molssl finetune", "fine-tuned model",
                                names=("model", "metrics.json", "learning_curve.png", "predictions.csv", "skipped.csv"),
                                finished=("model", "metrics.json"))  # fmt: skip


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("finetune", help="train a property predictor on labeled molecules (scaffold split, seeds)")
    p.add_argument("data", help="a CSV/TSV or SD file (.sdf, .sdf.gz; data fields are the columns) of labeled molecules, "
                   "or a MoleculeNet name (see `molssl datasets`)")
    p.add_argument("--smiles-column", default=None, help=SMILES_COLUMN_HELP)
    p.add_argument("--targets", nargs="+", default=None, metavar="COLUMN",
                   help="target columns or SD data fields (default: every numeric column but SMILES; text columns such as IDs "
                   "are kept and written beside the predictions)")
    p.add_argument("--task-type", choices=("classification", "multiclass", "regression"), default=None,
                   help="detected when omitted (0/1: classification; integers 0..K-1, 3-10 classes: multiclass; else regression)")
    p.add_argument("--ensemble", action="store_true",
                   help="keep every seed's model (two or more --seeds): predictions are their mean, with the spread over seeds as an uncertainty")
    p.add_argument("--standardize", choices=("none", "largest_fragment"), default="none",
                   help="largest_fragment keeps each molecule's parent fragment (strips salts); the model records it and "
                   "predict applies it (default none)")
    p.add_argument("--split", default="scaffold", help="a splitter of molssl split --help: scaffold (default), random_scaffold, random, stratified, size, scaffold_cluster, property_range, low_data")
    p.add_argument("--split-seed", type=int, default=0)
    p.add_argument("--encoder", default="gin", help="gin, gcn, sage or gat (default gin), smiles_transformer (molssl.text), or resnet / vit "
                        "(depictions; from --pretrained)")
    p.add_argument("--scheme", default="hu", help="featurization scheme (default hu)")
    p.add_argument("--readout", default="mean")
    p.add_argument("--num-layers", type=int, default=5)
    p.add_argument("--emb-dim", type=int, default=300)
    p.add_argument("--jk", default="last")
    p.add_argument("--dropout", type=float, default=0.5)
    p.add_argument("--virtual-node", action="store_true")
    p.add_argument("--sanitize", choices=("strict", "lenient"), default="strict",
                   help="lenient also keeps molecules that fail only RDKit's valence check (listed in metrics.json)")
    p.add_argument("--atom-order", choices=("canonical", "input"), default="canonical",
                   help="canonical: every spelling of a molecule gets the same graph and prediction (RDKit's chirality "
                        "tags depend on the written atom order); input: the SMILES's order, as pretrain-gnns and OGB")
    p.add_argument("--pretrained", type=Path, default=None,
                   help="encoder checkpoint directory, pretraining run folder (its encoder/), or zoo name (see `molssl zoo list`) to start from "
                        "(default: none, a randomly initialized encoder)")
    p.add_argument("--epochs", type=int, default=100)
    p.add_argument("--batch-size", type=int, default=32)
    p.add_argument("--lr", type=float, default=1e-3)
    p.add_argument("--encoder-lr", type=float, default=None, help="separate encoder learning rate (default: --lr)")
    p.add_argument("--weight-decay", type=float, default=0.0)
    p.add_argument("--activation-checkpointing", action="store_true",
                   help="recompute each encoder layer in backward instead of keeping its activations (less memory, same results)")
    add_mode_arguments(p)
    p.add_argument("--seeds", type=int, nargs="+", default=[0],
                   help="one run per seed; the report gives mean and std over them (the protocol of the papers: 0 1 2 ... 9)")
    p.add_argument("--jobs", type=int, default=1, help="seeds trained at once, each in its own process (same results as 1)")
    p.add_argument("--threads", type=int, default=None,
                   help="torch CPU threads (per seed process with --jobs; default: torch's choice, divided among the jobs)")
    p.add_argument("--device", default="auto", help="cpu, cuda, cuda:N, or auto (CUDA when present)")
    p.add_argument("--overwrite", action="store_true", help="replace the model and metrics a finished run left in --out")
    p.add_argument("--out", type=Path, required=True, help="output directory: the saved model and metrics.json")
    p.add_argument("--no-progress", action="store_true", help="no progress bar")
    p.set_defaults(run=run)


def format_metric(value: float | None) -> str:
    """A metric for the summary line; ``None`` is a value the metric could not be computed for."""
    return "undefined" if value is None else f"{value:.4f}"


def run(args: argparse.Namespace) -> int:
    from tqdm import tqdm

    from molssl.tasks.finetune import FinetuneConfig
    from molssl.output_folder import check_output_folder, clear_outputs
    from molssl.tasks.fit_plan import format_plan
    from molssl.tasks.predictor import PropertyPredictor

    check_output_folder(args.out, FINETUNE_OUTPUTS, overwrite=args.overwrite)  # before any work
    if args.threads is not None:
        import torch

        torch.set_num_threads(args.threads)
    config = FinetuneConfig(
        epochs=args.epochs, batch_size=args.batch_size, lr=args.lr, encoder_lr=args.encoder_lr,
        weight_decay=args.weight_decay, seeds=tuple(args.seeds), **mode_options(args),
        activation_checkpointing=args.activation_checkpointing,
    )  # fmt: skip
    gnn_options = dict(scheme=args.scheme, readout=args.readout, num_layers=args.num_layers, emb_dim=args.emb_dim, jk=args.jk,
                       dropout=args.dropout, virtual_node=args.virtual_node)  # fmt: skip
    # a SMILES transformer's size comes from --pretrained or the tiny preset; an image encoder's from --pretrained
    sized_elsewhere = args.encoder in ("smiles_transformer", "smiles-transformer", "resnet", "vit")
    predictor = PropertyPredictor(encoder=args.encoder, device=args.device, **({} if sized_elsewhere else gnn_options))
    bars: list = []  # drawn at the first epoch: after the plan, and never before an error in the data or options

    def print_plan(plan: dict) -> None:
        for line in format_plan(plan):
            print(line, flush=True)

    def progress(record: dict) -> None:
        if not args.no_progress and not bars:
            bars.append(tqdm(total=args.epochs * len(args.seeds), desc="finetune", unit="epoch"))
        for bar in bars:
            bar.set_postfix(seed=record["seed"], loss=f"{record['loss']:.4f}", valid=f"{record['valid']:.4f}", test=f"{record['test']:.4f}")
            bar.update(1)

    from molssl.tasks.calibration import format_calibration
    from molssl.tasks.finetune_report import format_report, format_stats
    from molssl.tasks.fit_outputs import write_fit_outputs

    try:
        predictor.fit(
            args.data, smiles_column=args.smiles_column, target_columns=args.targets, task_type=args.task_type,
            split=args.split, split_seed=args.split_seed, pretrained=args.pretrained, config=config, progress=progress,
            jobs=args.jobs, threads=args.threads, on_plan=print_plan,
            sanitize=args.sanitize, atom_order=args.atom_order, ensemble=args.ensemble, standardize=args.standardize,
        )  # fmt: skip
    finally:
        for bar in bars:
            bar.close()
    clear_outputs(args.out, FINETUNE_OUTPUTS)  # everything checked and trained: replace what an earlier run left
    predictor.save(args.out / "model", delta=save_as_delta(args))
    written = write_fit_outputs(predictor, args.out)
    m, info = predictor.metrics_, predictor.info_
    seeds = m["num_seeds"]

    def stats(key: str) -> str:
        return format_stats({**m[key], "std": m[key]["std"] if seeds > 1 else None})

    print(format_trainable(m))
    print(f"{m['metric']} over {seeds} seed(s): test at best valid {stats('test_at_best_valid')} "
          f"(valid {format_metric(m['valid_at_best_valid']['mean'])}); test at last epoch {stats('test_at_last_epoch')}")  # fmt: skip
    for line in format_report(m["test_report"], seeds):
        print(line)
    if info.get("calibration"):
        print("  " + format_calibration(info["calibration"], predictor.task_names))
    if info.get("standardized"):
        print(f"standardize {info['standardize']}: kept the parent fragment of {len(info['standardized'])} molecules "
              "(listed in metrics.json)")  # fmt: skip
    skipped = info.get("skipped", [])
    if skipped:
        print(f"skipped {len(skipped)} of {info['molecules']} molecules; the first {min(5, len(skipped))}:")
        for row in skipped[:5]:
            print(f"  row {row['index']}: {row['smiles'][:60]!r}: {row['reason']}")
        print(f"  all skipped rows with their reasons: {written['skipped']}")
    print(f"wrote {', '.join(str(p) for p in written.values())}")
    print(f"model saved to {args.out / 'model'}" + (f" (an ensemble of {seeds} seeds)" if info.get("ensemble") else ""))
    return 0

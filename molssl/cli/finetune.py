"""``molssl finetune``: fine-tune (or train from scratch) a property predictor under the literature protocol."""

from __future__ import annotations

import argparse
import json
from pathlib import Path


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("finetune", help="train a property predictor on labeled molecules (scaffold split, seeds)")
    p.add_argument("data", help="a CSV file of labeled molecules or a MoleculeNet name (see `molssl datasets`)")
    p.add_argument("--smiles-column", default=None)
    p.add_argument("--targets", nargs="+", default=None, metavar="COLUMN", help="target columns (default: all but SMILES)")
    p.add_argument("--task-type", choices=("classification", "regression"), default=None, help="detected when omitted")
    p.add_argument("--split", default="scaffold", help="scaffold, random_scaffold, random or stratified (default scaffold)")
    p.add_argument("--split-seed", type=int, default=0)
    p.add_argument("--encoder", default="gin", help="gin, gcn, sage or gat (default gin)")
    p.add_argument("--scheme", default="hu", help="featurization scheme (default hu)")
    p.add_argument("--readout", default="mean")
    p.add_argument("--num-layers", type=int, default=5)
    p.add_argument("--emb-dim", type=int, default=300)
    p.add_argument("--jk", default="last")
    p.add_argument("--dropout", type=float, default=0.5)
    p.add_argument("--virtual-node", action="store_true")
    p.add_argument("--sanitize", choices=("strict", "lenient"), default="strict",
                   help="lenient also keeps molecules that fail only RDKit's valence check (listed in metrics.json)")
    p.add_argument("--pretrained", type=Path, default=None,
                   help="encoder checkpoint directory to start from, or a zoo name (see `molssl zoo list`)")
    p.add_argument("--epochs", type=int, default=100)
    p.add_argument("--batch-size", type=int, default=32)
    p.add_argument("--lr", type=float, default=1e-3)
    p.add_argument("--encoder-lr", type=float, default=None, help="separate encoder learning rate")
    p.add_argument("--weight-decay", type=float, default=0.0)
    p.add_argument("--mode", choices=("full", "linear_probe", "last_k"), default="full")
    p.add_argument("--last-k", type=int, default=1)
    p.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    p.add_argument("--out", type=Path, required=True, help="output directory: the saved model and metrics.json")
    p.add_argument("--no-progress", action="store_true", help="no progress bar")
    p.set_defaults(run=run)


def format_metric(value: float | None) -> str:
    """A metric for the summary line; ``None`` is a value the metric could not be computed for."""
    return "undefined" if value is None else f"{value:.4f}"


def run(args: argparse.Namespace) -> int:
    from tqdm import tqdm

    from molssl.tasks.finetune import FinetuneConfig
    from molssl.tasks.predictor import PropertyPredictor

    config = FinetuneConfig(
        epochs=args.epochs, batch_size=args.batch_size, lr=args.lr, encoder_lr=args.encoder_lr,
        weight_decay=args.weight_decay, mode=args.mode, last_k=args.last_k, seeds=tuple(args.seeds),
    )  # fmt: skip
    predictor = PropertyPredictor(
        encoder=args.encoder, scheme=args.scheme, readout=args.readout, num_layers=args.num_layers,
        emb_dim=args.emb_dim, jk=args.jk, dropout=args.dropout, virtual_node=args.virtual_node,
    )  # fmt: skip
    bar = None if args.no_progress else tqdm(total=args.epochs * len(args.seeds), desc="finetune", unit="epoch")

    def progress(record: dict) -> None:
        if bar is not None:
            bar.set_postfix(seed=record["seed"], loss=f"{record['loss']:.4f}", valid=f"{record['valid']:.4f}", test=f"{record['test']:.4f}")
            bar.update(1)

    try:
        predictor.fit(
            args.data, smiles_column=args.smiles_column, target_columns=args.targets, task_type=args.task_type,
            split=args.split, split_seed=args.split_seed, pretrained=args.pretrained, config=config, progress=progress,
            sanitize=args.sanitize,
        )  # fmt: skip
    finally:
        if bar is not None:
            bar.close()
    predictor.save(args.out / "model")
    report = {"metrics": predictor.metrics_, "info": predictor.info_}
    (args.out / "metrics.json").write_text(json.dumps(report, indent=2))
    m = predictor.metrics_
    print(f"{m['metric']} over {m['num_seeds']} seed(s): test at best valid {format_metric(m['test_at_best_valid']['mean'])} "
          f"+- {format_metric(m['test_at_best_valid']['std'])} (valid {format_metric(m['valid_at_best_valid']['mean'])}); "
          f"test at last epoch {format_metric(m['test_at_last_epoch']['mean'])} +- {format_metric(m['test_at_last_epoch']['std'])}")  # fmt: skip
    skipped = predictor.info_.get("skipped", [])
    if skipped:
        print(f"skipped {len(skipped)} molecules (listed in {args.out / 'metrics.json'})")
    print(f"model saved to {args.out / 'model'}")
    return 0

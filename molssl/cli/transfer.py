"""``molssl transfer``: pretrain variants, fine-tune their snapshots on MoleculeNet, report (``molssl.tasks.transfer``)."""

from __future__ import annotations

import argparse
import dataclasses
import sys
from pathlib import Path
from typing import Any

from molssl.cli.config_options import key_value as _option
from molssl.pretrain.config import PRECISIONS

#: command-line options that set a TransferConfig field of the same name (None: not given)
_FIELDS = ("variants", "datasets", "pretrain_steps", "epochs", "seeds", "pretrain_batch_size", "pretrain_lr", "precision",
           "finetune_batch_size", "finetune_lr", "dropout", "mode", "workers", "pretrain_device")  # fmt: skip
_ENCODER = {"conv": "conv", "num_layers": "num_layers", "emb_dim": "emb_dim"}


def _variant_option(text: str) -> tuple[str, str, Any]:
    """``VARIANT:KEY=VALUE`` (``graphmae:mask_rate=0.5``): a method option of one variant."""
    variant, sep, rest = text.partition(":")
    if not sep or not variant:
        raise argparse.ArgumentTypeError(f"variant options are VARIANT:KEY=VALUE, got {text!r}")
    return (variant, *_option(rest))


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "transfer", help="the transfer table: pretrain variants, fine-tune each snapshot on MoleculeNet (resumable)",
        description="Pretrain each variant for each length, fine-tune every snapshot on each dataset with each seed, "
                    "and report test ROC-AUC at the best-validation and the last epoch beside the literature. Rows are "
                    "appended to OUT/rows.jsonl as they finish; rerunning resumes. Options not given are taken from OUT's "
                    "recorded experiment (else the defaults: Hu et al.'s protocol). Writes OUT/table.md and OUT/curve.png.",
    )  # fmt: skip
    p.add_argument("--out", type=Path, required=True, help="experiment directory")
    p.add_argument("--report", action="store_true", help="only rewrite table.md and curve.png from the recorded rows")
    p.add_argument("--variants", "--methods", nargs="+", dest="variants",
                   help="none, methods (molssl pretrain --method), descriptors+attr_masking (default: none attr_masking)")  # fmt: skip
    p.add_argument("--datasets", nargs="+", help="MoleculeNet classification sets (default: bbbp bace clintox sider)")
    p.add_argument("--pretrain-steps", nargs="+", type=int, help="increasing pretraining lengths (default 1000)")
    p.add_argument("--epochs", type=int, help="fine-tuning epochs (default 100, Hu et al.)")
    p.add_argument("--seeds", nargs="+", type=int, help="fine-tuning seeds (default 0 1 2)")
    p.add_argument("--option", "-o", type=_variant_option, action="append", default=[], metavar="VARIANT:KEY=VALUE",
                   help="method option of a variant, e.g. -o graphmae:mask_rate=0.5 (repeatable)")  # fmt: skip
    p.add_argument("--corpus", help="pretraining molecules: SMILES/CSV file or store directory (default: embedded MOSES 50k)")
    p.add_argument("--jobs", type=int, default=1, help="fine-tuning processes, one thread each (default 1)")
    g = p.add_argument_group("pretraining (defaults: GIN 5 x 300, Adam 1e-3 constant, batch 256, fp32)")
    g.add_argument("--encoder", dest="conv", help="conv: gin, gcn, sage, gat")
    g.add_argument("--num-layers", type=int)
    g.add_argument("--emb-dim", type=int)
    g.add_argument("--pretrain-batch-size", type=int)
    g.add_argument("--pretrain-lr", type=float)
    g.add_argument("--precision", choices=PRECISIONS)
    g.add_argument("--device", dest="pretrain_device", help="pretraining device (default auto); fine-tuning runs on the CPU")
    g.add_argument("--workers", type=int, help="featurization processes when the corpus's store is built")
    f = p.add_argument_group("fine-tuning (defaults: batch 32, Adam 1e-3, dropout 0.5, full)")
    f.add_argument("--batch-size", dest="finetune_batch_size", type=int)
    f.add_argument("--lr", dest="finetune_lr", type=float)
    f.add_argument("--dropout", type=float)
    f.add_argument("--mode", choices=["full", "linear_probe", "last_k"])
    p.add_argument("--no-progress", action="store_true", help="no progress lines or bars")
    p.set_defaults(run=run)


def _config(args: argparse.Namespace):
    """The experiment: OUT's recorded one (or the defaults) with the options given on the command line."""
    from molssl.tasks.transfer import CONFIG, load_transfer_config
    from molssl.tasks.transfer_config import TransferConfig

    base = load_transfer_config(args.out) if (args.out / CONFIG).is_file() else TransferConfig()
    changes: dict[str, Any] = {name: getattr(args, name) for name in _FIELDS if getattr(args, name) is not None}
    encoder = {key: getattr(args, name) for key, name in _ENCODER.items() if getattr(args, name) is not None}
    if encoder:
        changes["encoder"] = {**base.encoder, **encoder}
    if args.option:
        options = {variant: dict(values) for variant, values in base.variant_options.items()}
        for variant, key, value in args.option:
            options.setdefault(variant, {})[key] = value
        changes["variant_options"] = options
    if args.corpus is not None:
        changes["corpus"] = None if args.corpus == "embedded" else str(Path(args.corpus).resolve())
    return dataclasses.replace(base, **changes)


def _print_event(event: dict[str, Any]) -> None:
    if event["event"] == "plan":
        print(f"transfer: {event['todo']} fine-tuning runs to do ({event['recorded']} recorded)", file=sys.stderr, flush=True)
    elif event["event"] == "pretrained":
        loss = "n/a" if event["final_loss"] is None else f"{event['final_loss']:.4f}"
        print(f"transfer: {event['variant']} pretrained to {event['steps']} steps (from {event['resumed_from']}, "
              f"{event['minutes']:.1f} min, loss {loss}): {event['encoder_dir']}", file=sys.stderr, flush=True)  # fmt: skip
    elif event["event"] == "row":
        r = event["row"]
        print(f"transfer: [{event['done']}/{event['total']}] {r['variant']} {r['pretrain_steps']} steps, {r['dataset']} seed "
              f"{r['seed']}: test {r['test_at_best_valid']} at best valid (epoch {r['best_epoch']}), {r['minutes']:.1f} min",
              file=sys.stderr, flush=True)  # fmt: skip


def run(args: argparse.Namespace) -> int:
    from molssl.tasks.transfer import run_transfer
    from molssl.tasks.transfer_report import write_transfer_report

    if not args.report:
        run_transfer(_config(args), args.out, jobs=args.jobs, progress=None if args.no_progress else _print_event,
                     pretrain_progress_bar=not args.no_progress)  # fmt: skip
    table, curve = write_transfer_report(args.out)
    print(table.read_text(), end="")
    print(f"wrote {table} and {curve}")
    return 0

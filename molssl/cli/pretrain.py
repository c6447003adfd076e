"""``molssl pretrain``: pretrain a GNN encoder with one of the registered methods."""

from __future__ import annotations

import argparse
import json
from pathlib import Path


def _option(text: str) -> tuple[str, object]:
    """``key=value`` with a JSON value (``mask_rate=0.25``, ``mask_edge=true``); a bare word stays a string."""
    if "=" not in text:
        raise argparse.ArgumentTypeError(f"method options are key=value, got {text!r}")
    key, raw = text.split("=", 1)
    try:
        value = json.loads(raw)
    except json.JSONDecodeError:
        value = raw
    return key.strip(), value


def add_parser(sub: argparse._SubParsersAction) -> None:
    from molssl.methods import METHODS

    p = sub.add_parser("pretrain", help="pretrain a GNN encoder on unlabeled (or labeled) molecules",
                       description="Pretrain an encoder; the run directory's encoder/ is what `molssl finetune --pretrained` takes.")  # fmt: skip
    p.add_argument("--method", required=True, choices=sorted(METHODS), help="pretraining method")
    p.add_argument("--data", default="embedded",
                   help="SMILES/CSV file, store directory, or 'embedded' (the 50,000-molecule MOSES sample; default); "
                        "for --method supervised a labeled CSV or MoleculeNet name")  # fmt: skip
    p.add_argument("--out", type=Path, required=True, help="run directory")
    p.add_argument("--resume", action="store_true", help="continue the run in --out from its last checkpoint")
    p.add_argument("--overwrite", action="store_true",
                   help="replace the run --out holds (its files only), once the data and options were checked")
    p.add_argument("--scheme", default="hu", help="featurization scheme for files (default hu)")
    p.add_argument("--option", "-o", type=_option, action="append", default=[], metavar="KEY=VALUE",
                   help="method option, e.g. -o mask_rate=0.25 -o mask_edge=true (repeatable)")  # fmt: skip
    g = p.add_argument_group("encoder (default: GIN 5x300, JK last, no dropout, as Hu et al.)")
    g.add_argument("--encoder", default="gin", help="conv: gin, gcn, sage, gat")
    g.add_argument("--num-layers", type=int, default=5)
    g.add_argument("--emb-dim", type=int, default=300)
    g.add_argument("--jk", default="last")
    g.add_argument("--dropout", type=float, default=0.0)
    g.add_argument("--virtual-node", action="store_true")
    g.add_argument("--init", type=Path, help="start the encoder from this checkpoint or run directory")
    t = p.add_argument_group("training (defaults: Hu et al.: Adam 1e-3, batch 256, 100 epochs)")
    t.add_argument("--epochs", type=int, default=100)
    t.add_argument("--steps", type=int, help="total optimizer steps (overrides --epochs)")
    t.add_argument("--batch-size", type=int, default=256, help="molecules per step, over all processes")
    t.add_argument("--lr", type=float, default=1e-3)
    t.add_argument("--weight-decay", type=float, default=0.0)
    t.add_argument("--schedule", default="constant", choices=["constant", "cosine"])
    t.add_argument("--warmup-steps", type=int, default=0)
    t.add_argument("--precision", default="fp32", choices=["fp32", "bf16", "fp16"])
    t.add_argument("--grad-clip", type=float, default=0.0)
    t.add_argument("--seed", type=int, default=0)
    t.add_argument("--log-every", type=int, default=10)
    t.add_argument("--checkpoint-every", type=int, default=500)
    t.add_argument("--device", default="auto")
    t.add_argument("--activation-checkpointing", action="store_true",
                   help="recompute each encoder layer in backward instead of keeping its activations (less memory, "
                        "about a third more time; same results)")  # fmt: skip
    t.add_argument("--size-curriculum", type=float, default=0.0, metavar="FRACTION",
                   help="draw batches from the smallest molecules first over this fraction of the steps, then "
                        "uniformly (0 = off; default)")  # fmt: skip
    t.add_argument("--curriculum-start", type=float, default=0.2, metavar="SHARE",
                   help="share of the molecules, smallest first, the first curriculum step draws from (default 0.2)")
    t.add_argument("--workers", type=int, default=1, help="featurization processes when a store is built")
    t.add_argument("--targets", nargs="+", help="label columns of a CSV (supervised)")
    p.add_argument("--no-progress", action="store_true", help="no progress bar")
    p.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    from molssl.pretrain import TrainConfig, pretrain

    train = TrainConfig(
        epochs=args.epochs, steps=args.steps, batch_size=args.batch_size, lr=args.lr, weight_decay=args.weight_decay,
        schedule=args.schedule, warmup_steps=args.warmup_steps, precision=args.precision, grad_clip=args.grad_clip,
        seed=args.seed, log_every=args.log_every, checkpoint_every=args.checkpoint_every, device=args.device,
        progress=not args.no_progress, activation_checkpointing=args.activation_checkpointing,
        size_curriculum=args.size_curriculum, curriculum_start=args.curriculum_start,
    )  # fmt: skip
    encoder = {"conv": args.encoder, "num_layers": args.num_layers, "emb_dim": args.emb_dim, "jk": args.jk,
               "dropout": args.dropout, "virtual_node": args.virtual_node}  # fmt: skip
    result = pretrain(
        args.method, None if args.data == "embedded" else args.data, args.out, train=train,
        method_options=dict(args.option), encoder=encoder, scheme=args.scheme, init=args.init, resume=args.resume,
        workers=args.workers, target_columns=args.targets, overwrite=args.overwrite,
    )  # fmt: skip
    import torch.distributed as dist

    if not dist.is_initialized() or dist.get_rank() == 0:
        last = result.metrics[-1] if result.metrics else {}
        print(f"{args.method}: {result.steps} steps, final loss {last.get('loss', float('nan')):.4f}; "
              f"encoder saved to {result.encoder_dir} (fine-tune with --pretrained {result.encoder_dir})")  # fmt: skip
    return 0

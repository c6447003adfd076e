"""``molssl pretrain``: pretrain an encoder with one of the registered methods, on its modality's data.

The training options are generated from ``TrainConfig``'s fields (``molssl.cli.config_options``); the
command builds a ``molssl.pretrain.RunConfig`` (the run's config.json) and calls ``molssl.pretrain``.
"""

from __future__ import annotations

import argparse
import os
from pathlib import Path

from molssl.cli.config_options import add_config_options, config_from_args, key_value

#: the GNN encoder's options that have their own flags (graph methods; others take --encoder-option)
_GNN_FLAGS = ("conv", "num_layers", "emb_dim", "jk", "dropout", "virtual_node")


def add_parser(sub: argparse._SubParsersAction) -> None:
    from molssl.methods import METHODS
    from molssl.pretrain import TrainConfig

    p = sub.add_parser("pretrain", help="pretrain an encoder (graphs, images, ...) with a registered method",
                       description="Pretrain an encoder on the data of the method's modality; the run directory's "
                                   "encoder/ is what `molssl finetune --pretrained` (graphs) and `molssl probe` take.")  # fmt: skip
    p.add_argument("--method", required=True, choices=sorted(METHODS), help="pretraining method")
    p.add_argument("--data", default="embedded", metavar="DIR_OR_FILE",
                   help="the data, a file or directory of the method's modality, or 'embedded' (the modality's embedded "
                        "set: for graphs the 50,000-molecule MOSES sample; default), or an embedded set's name, which "
                        "picks its modality (mnist: images, fsdd: audio); for --method supervised a labeled CSV or "
                        "MoleculeNet name")  # fmt: skip
    p.add_argument("--modality", help="the data's modality, for a method of several (default: a named --data set's, else "
                                      "the method's first)")
    p.add_argument("--out", type=Path, required=True, help="run directory")
    p.add_argument("--resume", action="store_true", help="continue the run in --out from its last checkpoint")
    p.add_argument("--overwrite", action="store_true",
                   help="replace the run --out holds (its files only), once the data and options were checked")
    p.add_argument("--option", "-o", type=key_value, action="append", default=[], metavar="KEY=VALUE",
                   help="method option, e.g. -o mask_rate=0.25 -o mask_edge=true (repeatable)")  # fmt: skip
    d = p.add_argument_group("data")
    d.add_argument("--data-option", type=key_value, action="append", default=[], metavar="KEY=VALUE",
                   help="option of the modality's data, e.g. --data-option smiles_column=smiles (repeatable)")
    d.add_argument("--workers", type=int, default=1, help="processes that prepare the data (graphs: featurization)")
    d.add_argument("--scheme", help="graphs: featurization scheme for files (default hu; a store brings its own)")
    d.add_argument("--targets", nargs="+", help="graphs: label columns of a CSV (supervised; default: every numeric column but SMILES)")
    g = p.add_argument_group("encoder (default: the method's; graphs: GIN 5x300, JK last, no dropout, as Hu et al.)")
    g.add_argument("--encoder-kind", help="a registered encoder kind (gnn, resnet, vit, ...; default the method's)")
    g.add_argument("--encoder-option", type=key_value, action="append", default=[], metavar="KEY=VALUE",
                   help="encoder option, e.g. --encoder-option width=32 (repeatable)")
    g.add_argument("--encoder", dest="conv", help="GNN conv: gin, gcn, sage, gat (default gin)")
    g.add_argument("--num-layers", type=int, help="GNN layers (default 5)")
    g.add_argument("--emb-dim", type=int, help="GNN width (default 300)")
    g.add_argument("--jk", help="GNN jumping knowledge (default last)")
    g.add_argument("--dropout", type=float, help="GNN dropout (default 0)")
    g.add_argument("--virtual-node", action="store_true", default=None, help="GNN virtual node")
    g.add_argument("--init", type=Path, help="start the encoder from this checkpoint or run directory (default: none, random initialization)")
    t = p.add_argument_group("training (defaults: Hu et al.: Adam 1e-3, batch 256, 100 epochs)")
    add_config_options(t, TrainConfig)
    p.set_defaults(run=run)


def run_config(args: argparse.Namespace):
    """The ``RunConfig`` the parsed arguments describe."""
    from molssl.pretrain import DataConfig, RunConfig, TrainConfig

    encoder = {name: getattr(args, name) for name in _GNN_FLAGS if getattr(args, name) is not None}
    if args.encoder_kind is not None:
        encoder["kind"] = args.encoder_kind
    encoder.update(dict(args.encoder_option))
    options = {"scheme": args.scheme, "target_columns": args.targets}
    options = {k: v for k, v in options.items() if v is not None} | dict(args.data_option)
    data = DataConfig(path=None if args.data == "embedded" else args.data, modality=args.modality, options=options,
                      workers=args.workers)  # fmt: skip
    return RunConfig(method=args.method, method_config=dict(args.option), encoder=encoder, data=data,
                     train=config_from_args(args, TrainConfig), init=None if args.init is None else str(args.init))  # fmt: skip


def run(args: argparse.Namespace) -> int:
    from molssl.pretrain import pretrain

    result = pretrain(run_config(args), out=args.out, resume=args.resume, overwrite=args.overwrite)
    if int(os.environ.get("RANK", "0")) == 0:  # one summary under torchrun (the loop has left the process group)
        last = result.metrics[-1] if result.metrics else {}
        print(f"{args.method}: {result.steps} steps, final loss {last.get('loss', float('nan')):.4f}; "
              f"encoder saved to {result.encoder_dir} ({_next_step(result)})")  # fmt: skip
    return 0


def _next_step(result) -> str:
    """What takes the saved encoder: ``molssl probe`` for images and audio, ``finetune --pretrained`` otherwise."""
    import json

    source = json.loads((result.run_dir / "config.json").read_text()).get("source") or {}
    if source.get("modality") in ("image", "audio"):
        return f"probe with molssl probe --encoder {result.encoder_dir}"
    from molssl.nn.pretrained import aligned_encoders

    parts = aligned_encoders(result.encoder_dir)  # a multimodal run's encoders/<modality> -> kind
    return "fine-tune with " + (", ".join(f"--pretrained {p}" + ("" if kind == "gnn" else f" --encoder {kind}")
                                          for p, kind in parts.items()) or f"--pretrained {result.encoder_dir}")  # fmt: skip

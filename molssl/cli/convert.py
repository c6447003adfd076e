"""``molssl convert``: turn another project's pretrained weights into a molssl encoder checkpoint."""

from __future__ import annotations

import argparse
from pathlib import Path

from molssl.output_folder import OutputLayout

#: a converted checkpoint: a finished one in --out is replaced only with --overwrite
CONVERT_OUTPUTS = OutputLayout("molssl convert", "molssl checkpoint", names=("config.json", "model.safetensors"),
                               finished=("config.json",))  # fmt: skip


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("convert", help="convert released pretrained weights into a molssl encoder checkpoint")
    formats = p.add_subparsers(dest="convert_format", required=True, metavar="FORMAT")
    pg = formats.add_parser("pretrain-gnns", help="a .pth of snap-stanford/pretrain-gnns (Hu et al. 2020)")
    pg.add_argument("file", type=Path, help="the .pth file (a state dict of the reference GNN)")
    pg.add_argument("--arch", required=True, choices=("gcn", "sage", "gat", "gin"),
                    help="the file's architecture: the file does not record it (graphsage files: sage)")
    pg.add_argument("--out", type=Path, required=True, help="checkpoint directory to write (config.json + safetensors)")
    pg.add_argument("--overwrite", action="store_true", help="replace the checkpoint --out holds")
    pg.set_defaults(run=run_pretrain_gnns)


def run_pretrain_gnns(args: argparse.Namespace) -> int:
    from molssl.checkpoint import load_checkpoint
    from molssl.nn.encoder import EncoderConfig
    from molssl.output_folder import check_output_folder
    from molssl.zoo import convert_pretrain_gnns

    check_output_folder(args.out, CONVERT_OUTPUTS, overwrite=args.overwrite)
    out = convert_pretrain_gnns(args.file, args.arch, args.out)  # replaces a checkpoint there in one rename
    config, _, extra = load_checkpoint(out)
    encoder = EncoderConfig.from_dict(config["encoder"])
    print(f"{args.file} -> {out}: {encoder.conv}, {encoder.num_layers} layers x {encoder.emb_dim}, "
          f"scheme {encoder.scheme.name}" + (f", {encoder.conv_options}" if encoder.conv_options else ""))  # fmt: skip
    for note in extra["converted_from"]["notes"]:
        print(f"note: {note}")
    print(f"use it with: molssl finetune DATA --pretrained {out} --out DIR")
    return 0

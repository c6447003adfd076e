"""``molssl zoo``: list, inspect and fetch the named pretrained encoders (``molssl.zoo``)."""

from __future__ import annotations

import argparse
import json
from pathlib import Path


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("zoo", help="named pretrained encoders (list, show, fetch)")
    actions = p.add_subparsers(dest="zoo_command", required=True, metavar="ACTION")
    lst = actions.add_parser("list", help="list the zoo's encoders and whether each is available offline")
    lst.set_defaults(run=list_entries)
    show = actions.add_parser("show", help="an encoder's architecture, parameters, source, licence and measured transfer")
    show.add_argument("name", help="a zoo name, e.g. hu2020/gcn_supervised_contextpred")
    show.add_argument("--json", action="store_true", help="print plain data instead of text")
    show.set_defaults(run=show_entry)
    fetch = actions.add_parser("fetch", help="download (or take --file), verify, convert and cache an encoder")
    fetch.add_argument("name")
    fetch.add_argument("--file", type=Path, default=None, help="the original file, already on this machine")
    fetch.add_argument("--timeout", type=float, default=60.0, help="seconds per blocking network operation")
    fetch.set_defaults(run=fetch_entry)


def _availability(entry) -> str:
    from molssl.data.embedded import embedded_file
    from molssl.zoo import cached_dir

    if (cached_dir(entry) / "config.json").is_file():
        return "cached"
    if entry.embedded is not None:
        try:
            embedded_file(entry.embedded)
            return "embedded"
        except FileNotFoundError:
            pass
    return "fetch"


def _num_parameters(entry) -> int:
    from molssl.nn.encoder import GNNEncoder

    return sum(p.numel() for p in GNNEncoder(entry.encoder_config()).parameters())


def list_entries(args: argparse.Namespace) -> int:
    from molssl.zoo import list_entries as entries

    rows = [(e.name, e.arch, f"{_num_parameters(e):,}", _availability(e), e.description) for e in entries()]
    widths = [max(len(r[i]) for r in rows + [("name", "arch", "parameters", "available", "")]) for i in range(4)]
    header = ("name", "arch", "parameters", "available", "pretraining")
    for row in [header, *rows]:
        print("  ".join(cell.ljust(w) for cell, w in zip(row[:4], widths)) + "  " + row[4])
    print("available: cached (converted), embedded (converted on first use, offline), fetch (`molssl zoo fetch NAME`)")
    return 0


def _transfer_lines(measured: dict) -> list[str]:
    lines = [f"transfer     test ROC-AUC % at the best-validation epoch, mean +- std (seeds); {measured['protocol']}",
             f"             command: {measured['command']}"]  # fmt: skip
    for mode, parts in measured["modes"].items():
        for who, by_set in (("this encoder", parts["encoder"]), ("no pretraining", parts["none"])):
            cells = [f"{d} {v['mean']:.1f}" + (f" +- {v['std']:.1f}" if v["n"] > 1 else "") + f" ({v['n']})"
                     for d, v in by_set.items()]  # fmt: skip
            lines.append(f"  {mode:<13}{who:<16}" + (" | ".join(cells) if cells else "not measured"))
    return lines


def show_entry(args: argparse.Namespace) -> int:
    from molssl.zoo import cached_dir, get_entry
    from molssl.zoo.measured import measured_transfer

    entry = get_entry(args.name)
    data = {**entry.to_dict(), "num_parameters": _num_parameters(entry), "available": _availability(entry),
            "cache": str(cached_dir(entry)), "transfer": measured_transfer(entry.name)}  # fmt: skip
    if args.json:
        print(json.dumps(data, indent=2))
        return 0
    options = f", {data['conv_options']}" if data["conv_options"] else ""
    lines = [
        entry.name,
        f"architecture {entry.arch}{options}, {entry.num_layers} layers x {entry.emb_dim}, JK last; scheme {entry.scheme}",
        f"parameters   {data['num_parameters']:,}",
        f"pretraining  {entry.description}",
        f"source       {entry.url}",
        f"             {entry.page}",
        f"sha256       {entry.sha256 or 'not published; verified by the git blob id'}",
        f"git blob id  {entry.git_blob_sha1}",
        f"available    {data['available']} (cache: {data['cache']})",
        f"licence      {entry.license}",
        f"citation     {entry.citation}",
    ]  # fmt: skip
    lines += _transfer_lines(data["transfer"]) if data["transfer"] else ["transfer     not measured yet (benchmarks/zoo_transfer.py)"]
    print("\n".join(lines))
    return 0


def fetch_entry(args: argparse.Namespace) -> int:
    from molssl.zoo import pretrained_dir

    directory = pretrained_dir(args.name, file=args.file, download=args.file is None, timeout=args.timeout)
    print(f"{args.name}: converted checkpoint in {directory}")
    return 0

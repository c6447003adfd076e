"""The ``molssl`` command: dispatches to one module per subcommand."""

from __future__ import annotations

import argparse
import logging
import sys
from typing import Sequence

from molssl import __version__
from molssl.cli.help_format import MolsslParser
from molssl.cli import audit, convert, datasets, embed, example, featurize, finetune, ogb, predict, pretrain, probe, split, store, stress, transfer, zoo

SUBCOMMANDS = {"example": example, "featurize": featurize, "pretrain": pretrain, "finetune": finetune, "predict": predict, "embed": embed, "split": split, "datasets": datasets, "ogb": ogb, "store": store, "zoo": zoo, "convert": convert, "transfer": transfer, "probe": probe, "audit": audit, "stress": stress}


def build_parser() -> argparse.ArgumentParser:
    parser = MolsslParser(prog="molssl", description="Self-supervised learning on molecules.")
    parser.add_argument("--version", action="version", version=f"molssl {__version__}")
    parser.add_argument("-v", "--verbose", action="store_true", help="log debug messages")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for name, module in SUBCOMMANDS.items():
        module.add_parser(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.DEBUG if args.verbose else logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    if not args.verbose:  # their INFO lines (font cache, categorical units) would land inside the progress bars
        for noisy in ("matplotlib", "PIL"):
            logging.getLogger(noisy).setLevel(logging.WARNING)
    from molssl.allocator import keep_freed_memory

    keep_freed_memory()  # every command that trains or predicts
    try:
        return int(args.run(args) or 0)
    except (ValueError, OSError, EOFError, RuntimeError, KeyError) as exc:
        print(f"molssl {args.command}: error: {error_message(exc)}", file=sys.stderr)
        return 2


def error_message(exc: BaseException) -> str:
    """One line for the user: ``PATH: reason`` for a file the system could not open, else the message."""
    if isinstance(exc, OSError) and exc.filename is not None and exc.strerror:
        return f"{exc.filename}: {exc.strerror}"
    return " ".join(str(exc).split("\n")) if str(exc) else type(exc).__name__


if __name__ == "__main__":
    sys.exit(main())

"""``molssl datasets``: list the MoleculeNet catalog, which sets are embedded, and where the others come from."""

from __future__ import annotations

import argparse


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("datasets", help="list the MoleculeNet datasets molssl knows, and which ship with it")
    p.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    from molssl.data.catalog import MOLECULENET, find_dataset_file, local_file_origin

    print(f"{'name':<14} {'task':<15} {'tasks':>5} {'metric':<8} {'split':<9} {'here':<9} file or url")
    embedded = 0
    for info in MOLECULENET.values():
        try:
            path = find_dataset_file(info.key)
        except FileNotFoundError:
            here, where = "missing", f"download {info.url}"
        else:
            here, where = local_file_origin(path), str(path)
            embedded += here == "embedded"
        print(f"{info.name:<14} {info.task_type:<15} {info.num_tasks:>5} {info.metric:<8} {info.split:<9} {here:<9} {where}")
    print(f"\n{embedded} of {len(MOLECULENET)} sets are embedded (a trimmed copy ships with molssl): `molssl finetune NAME` "
          "runs on them as they are; a missing set needs its file (download it from the url, then set MOLSSL_DATA to its folder)")
    return 0

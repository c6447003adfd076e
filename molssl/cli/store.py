"""``molssl store``: check molecule stores against their checksums, and clean the store cache."""

from __future__ import annotations

import argparse
import sys
import warnings
from pathlib import Path


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("store", help="verify molecule stores, or clean leftovers of interrupted builds from the cache")
    actions = p.add_subparsers(dest="action", required=True, metavar="ACTION")
    verify = actions.add_parser("verify", help="check every file of each store against the sha256 recorded when it was built")
    verify.add_argument("stores", nargs="+", type=Path, metavar="DIR", help="store directories (as molssl featurize prints them)")
    verify.set_defaults(run=run_verify)
    clean = actions.add_parser("clean", help="remove what interrupted store builds left in the cache")
    clean.add_argument("--cache-dir", type=Path, default=None, help="where stores live (default $MOLSSL_CACHE or ~/.cache/molssl)")
    clean.set_defaults(run=run_clean)


def run_verify(args: argparse.Namespace) -> int:
    """Exit status 0 when every store is intact, 1 when one is damaged (each problem is printed)."""
    from molssl.data.store import MoleculeStore, StoreCorruptError

    status = 0
    for path in args.stores:
        try:
            store = MoleculeStore(path)
            report = store.verify()
        except StoreCorruptError as exc:
            print(f"DAMAGED {exc}", file=sys.stderr)
            status = 1
            continue
        print(f"ok {path}: {len(store):,} molecules, {report['files']} files, {report['bytes'] / 1e6:.1f} MB match their sha256 "
              f"({report['seconds']:.2f} s)")  # fmt: skip
    return status


def run_clean(args: argparse.Namespace) -> int:
    from molssl.data.store_build import default_cache_dir, remove_stale_builds

    cache = args.cache_dir or default_cache_dir()
    with warnings.catch_warnings(record=True) as caught:  # printed below, once
        warnings.simplefilter("always")
        removed = remove_stale_builds(cache)
    for warning in caught:
        print(warning.message)
    print(f"{cache}: removed {len(removed)} leftover(s) of interrupted builds")
    return 0

"""Molecule store: build time, reload time, integrity checks, and batching throughput straight from the store.

``reuse`` is a second ``build_store`` of the same file: it finds the store and verifies every file's sha256
before reusing it. ``open`` is ``MoleculeStore(path)`` (the cheap checks only: sizes, dtypes, shapes,
offsets); ``verify`` is ``MoleculeStore.verify()`` alone (every file's sha256), median of the repeats.

Batching is compared, in the same run, with PyG's own path: ``Batch.from_data_list`` over ``Data``
objects already in memory (what a PyG ``DataLoader`` over an in-memory dataset does per batch).

Run:
    python benchmarks/store_speed.py                                   # embedded 50k MOSES sample
    python benchmarks/store_speed.py --corpus PATH/train.csv.gz        # full MOSES (1.58M), see datasets/moses
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from torch_geometric.data import Batch  # noqa: E402

from benchmarks.record import append_rows, command_line  # noqa: E402
from molssl.data.loader import StoreLoader  # noqa: E402
from molssl.data.store import MoleculeStore  # noqa: E402
from molssl.data.store_build import build_store  # noqa: E402

CORPUS = ROOT / "datasets" / "moses" / "moses_50k.smi.gz"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--corpus", type=Path, default=CORPUS)
    parser.add_argument("--scheme", default="hu")
    parser.add_argument("--workers", type=int, default=os.cpu_count())
    parser.add_argument("--batch-size", type=int, default=256)
    parser.add_argument("--batches", type=int, default=400, help="batches timed per repeat")
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--cache-dir", type=Path, default=None, help="default: a fresh temporary directory")
    parser.add_argument("--no-record", action="store_true")
    args = parser.parse_args()

    cache = args.cache_dir or Path(tempfile.mkdtemp(prefix="molssl-bench-"))
    t = time.perf_counter()
    store = build_store(args.corpus, scheme=args.scheme, cache_dir=cache, workers=args.workers)
    build_s = time.perf_counter() - t
    t = time.perf_counter()
    store = build_store(args.corpus, scheme=args.scheme, cache_dir=cache)  # second run: reuse
    reuse_s = time.perf_counter() - t
    opens, verifies = [], []
    for _ in range(args.repeats):
        t = time.perf_counter()
        store = MoleculeStore(store.path)
        opens.append(time.perf_counter() - t)
        t = time.perf_counter()
        store.verify()
        verifies.append(time.perf_counter() - t)
    open_s, verify_s = statistics.median(opens), statistics.median(verifies)
    n = len(store)
    size_mb = sum(f.stat().st_size for f in store.path.iterdir()) / 1e6
    print(f"{args.corpus.name}: {n} molecules ({store.meta['counts']['skipped']} skipped), scheme {args.scheme}")
    print(f"build {build_s:.1f} s ({n / build_s:.0f} mol/s, {args.workers} workers); reuse (with sha256 verification) {reuse_s:.3f} s; "
          f"open {open_s * 1e3:.2f} ms; verify {verify_s * 1e3:.1f} ms ({size_mb / verify_s:.0f} MB/s)")  # fmt: skip

    loader = StoreLoader(store.graphs, batch_size=args.batch_size, shuffle=True)
    order = loader.order()
    k = min(args.batches, len(loader))
    ours, theirs = [], []
    pool = order[: k * args.batch_size]
    data_list = [store.graph(int(i)) for i in pool]  # the in-memory Data objects PyG's loader would hold
    for _ in range(args.repeats):
        t = time.perf_counter()
        for b, batch in zip(range(k), loader.batches()):
            pass
        ours.append(k * args.batch_size / (time.perf_counter() - t))
        t = time.perf_counter()
        for b in range(k):
            Batch.from_data_list(data_list[b * args.batch_size : (b + 1) * args.batch_size])
        theirs.append(k * args.batch_size / (time.perf_counter() - t))
    ours_med, theirs_med = statistics.median(ours), statistics.median(theirs)
    print(f"batching (batch {args.batch_size}, shuffled, {k} batches x {args.repeats}): store {ours_med:.0f} graphs/s, "
          f"Batch.from_data_list {theirs_med:.0f} graphs/s ({ours_med / theirs_med:.1f}x)")  # fmt: skip
    rows = [{
        "what": "store", "corpus": args.corpus.name, "scheme": args.scheme, "molecules": n,
        "skipped": store.meta["counts"]["skipped"], "workers": args.workers, "build_s": round(build_s, 2),
        "build_mol_per_s": round(n / build_s), "reuse_s": round(reuse_s, 3), "open_ms": round(open_s * 1e3, 2),
        "verify_ms": round(verify_s * 1e3, 1), "verify_mb_per_s": round(size_mb / verify_s),
        "store_mb": round(size_mb, 1), "batch_size": args.batch_size,
        "median_graphs_per_s": round(ours_med), "baseline_from_data_list_graphs_per_s": round(theirs_med),
        "speedup_vs_from_data_list": round(ours_med / theirs_med, 2),
    }]  # fmt: skip
    if not args.no_record:
        path = append_rows("store_speed", rows, command_line())
        print(f"recorded in {path.relative_to(ROOT)}")


if __name__ == "__main__":
    main()

"""Context prediction extraction per molecule: molssl's batched extraction vs the reference's networkx one.

Hu et al. (ICLR 2020, snap-stanford/pretrain-gnns) extract each molecule's substructure / context pair
in the data loader (``ExtractSubstructureContextPair``): networkx graph from the Data object, three
``single_source_shortest_path_length`` calls (cutoffs K, r1, r2), the induced subgraphs relabelled and
turned back into tensors, and the anchor intersection. ``reference_transform`` below re-implements those
steps, one molecule at a time as the reference runs them. molssl's ``extract_context_pair`` does the
same for a whole collated batch with torch operations.

Both run on the same MOSES molecules in the same process, interleaved over several repeats, on one
thread (the reference is single-threaded; the issue asks for the cost per molecule on one core). We
report the median time per molecule and the ratio. The reference's input Data objects and molssl's
collated batches are built before timing (the transform only adds attributes to its Data object, so
each repeat reuses them); a second molssl row also times the collation (``to_batch``),
which the reference pipeline pays separately in its own collate function.

Run:
    python benchmarks/context_extraction.py                  # 10,000 molecules, batches of 256, K = 5
    python benchmarks/context_extraction.py --n 2000 --repeats 3 --no-record
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

import networkx as nx
import numpy as np
import torch
from torch_geometric.data import Data

import molssl
from molssl.data.corpus import read_smiles_file
from molssl.data.embedded import default_corpus
from molssl.graph.batch import to_batch
from molssl.graph.context import extract_context_pair, random_centers

ROOT = Path(__file__).resolve().parents[1]


def _to_networkx(data: Data) -> nx.Graph:
    """The reference's Data -> networkx conversion: atoms with their two features, one edge per bond pair."""
    g = nx.Graph()
    x = data.x.cpu().numpy()
    for i in range(x.shape[0]):
        g.add_node(i, atom_type=x[i][0], chirality=x[i][1])
    edge_index = data.edge_index.cpu().numpy()
    edge_attr = data.edge_attr.cpu().numpy()
    for j in range(0, edge_index.shape[1], 2):  # both directions of a bond are adjacent columns
        u, v = int(edge_index[0, j]), int(edge_index[1, j])
        if not g.has_edge(u, v):
            g.add_edge(u, v, bond_type=edge_attr[j][0], bond_dir=edge_attr[j][1])
    return g


def _relabelled_tensors(g: nx.Graph, nodes) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, dict]:
    """Induced subgraph on ``nodes`` renumbered 0..n-1 and converted back to x, edge_index, edge_attr."""
    sub = g.subgraph(nodes)
    mapping = {old: new for new, old in enumerate(sub.nodes())}
    sub = nx.relabel_nodes(sub, mapping, copy=True)
    x = torch.tensor(np.array([[a["atom_type"], a["chirality"]] for _, a in sub.nodes(data=True)]), dtype=torch.long)
    pairs, feats = [], []
    for u, v, b in sub.edges(data=True):
        f = [b["bond_type"], b["bond_dir"]]
        pairs += [(u, v), (v, u)]
        feats += [f, f]
    if pairs:
        edge_index = torch.tensor(np.array(pairs).T, dtype=torch.long)
        edge_attr = torch.tensor(np.array(feats), dtype=torch.long)
    else:
        edge_index = torch.empty((2, 0), dtype=torch.long)
        edge_attr = torch.empty((0, 2), dtype=torch.long)
    return x, edge_index, edge_attr, mapping


def reference_transform(data: Data, k: int, l1: int, l2: int, root: int | None = None, rng=None) -> Data:
    """pretrain-gnns' per-molecule substructure/context extraction, step by step (K, r1, r2 >= 1)."""
    if root is None:
        root = int(rng.integers(data.num_nodes))
    g = _to_networkx(data)
    substruct_nodes = nx.single_source_shortest_path_length(g, root, k).keys()
    if len(substruct_nodes) > 0:
        x, edge_index, edge_attr, mapping = _relabelled_tensors(g, substruct_nodes)
        data.x_substruct, data.edge_index_substruct, data.edge_attr_substruct = x, edge_index, edge_attr
        data.center_substruct_idx = torch.tensor([mapping[root]])
    inner = nx.single_source_shortest_path_length(g, root, l1).keys()
    outer = nx.single_source_shortest_path_length(g, root, l2).keys()
    context_nodes = set(inner).symmetric_difference(set(outer))
    if len(context_nodes) > 0:
        x, edge_index, edge_attr, context_map = _relabelled_tensors(g, context_nodes)
        data.x_context, data.edge_index_context, data.edge_attr_context = x, edge_index, edge_attr
    overlap = list(context_nodes.intersection(set(substruct_nodes)))
    if len(overlap) > 0:
        data.overlap_context_substruct_idx = torch.tensor([context_map[i] for i in overlap])
    return data


def _sizes(piece, i: int) -> tuple[int, int]:
    """Atoms and directed edges of graph ``i`` of a subgraph batch."""
    return int(piece.ptr[i + 1] - piece.ptr[i]), int((piece.batch[piece.edge_index[0]] == i).sum())


def _check_agreement(graphs, batch, k: int, r1: int, r2: int) -> int:
    """Same centres -> same sizes of both graphs and anchor sets from both implementations (the tests
    compare the node sets themselves with networkx); returns the number of molecules checked."""
    centers = random_centers(batch.ptr, torch.Generator().manual_seed(0))
    pair = extract_context_pair(batch, k, r1, r2, center_atom=centers)
    for i in range(batch.num_graphs):
        ref = reference_transform(graphs.graph(i), k, r1, r2, root=int(centers[i] - batch.ptr[i]))
        has_context = "x_context" in ref and "overlap_context_substruct_idx" in ref
        expected = (
            (len(ref.x_substruct), ref.edge_index_substruct.shape[1]),
            (len(ref.x_context), ref.edge_index_context.shape[1]) if "x_context" in ref else (0, 0),
            len(ref.overlap_context_substruct_idx) if has_context else 0,
            has_context,
        )
        ours = (_sizes(pair.substructure, i), _sizes(pair.context, i), int((pair.anchor_batch == i).sum()),
                bool(pair.has_context[i]))  # fmt: skip
        if ours != expected:
            raise AssertionError(f"molecule {i}: molssl gives {ours}, the reference {expected}")
    return batch.num_graphs


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--n", type=int, default=10000, help="molecules (default 10000)")
    parser.add_argument("--batch-size", type=int, default=256)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--num-layers", type=int, default=5, help="K (default 5, as Hu et al.)")
    parser.add_argument("--csize", type=int, default=3, help="r2 - r1 (default 3, as Hu et al.)")
    parser.add_argument("--threads", type=int, default=1, help="torch threads for molssl (default 1: per core)")
    parser.add_argument("--device", default="cpu", help="device for molssl's extraction (default cpu)")
    parser.add_argument("--no-record", action="store_true", help="print only, do not append to results/")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    k, r1 = args.num_layers, args.num_layers - 1
    r2 = r1 + args.csize
    device = torch.device(args.device)

    smiles = read_smiles_file(default_corpus()).smiles[: args.n]
    graphs = molssl.featurize_many(smiles, scheme="hu", on_error="skip").graphs
    n = len(graphs)
    starts = range(0, n, args.batch_size)
    parts = [graphs.select(np.arange(s, min(s + args.batch_size, n))) for s in starts]
    batches = [to_batch(p).to(device) for p in parts]
    datas = [graphs.graph(i) for i in range(n)]
    checked = _check_agreement(parts[0], to_batch(parts[0]), k, r1, r2)

    def sync() -> None:
        if device.type == "cuda":
            torch.cuda.synchronize()

    def ours() -> None:
        gen = torch.Generator(device=device).manual_seed(0)
        for b in batches:
            extract_context_pair(b, k, r1, r2, generator=gen)
        sync()

    def ours_with_collation() -> None:
        gen = torch.Generator(device=device).manual_seed(0)
        for p in parts:
            extract_context_pair(to_batch(p).to(device), k, r1, r2, generator=gen)
        sync()

    def reference() -> None:
        # the transform only adds attributes, so it can rerun on the same Data objects (no copy timed)
        rng = np.random.default_rng(0)
        for d in datas:
            reference_transform(d, k, r1, r2, rng=rng)

    contenders = {
        "reference networkx per molecule (pretrain-gnns transform)": reference,
        f"molssl extract_context_pair ({device.type})": ours,
        f"molssl to_batch + extract_context_pair ({device.type})": ours_with_collation,
    }
    ours()  # warm-up (allocator, lazy imports)
    times: dict[str, list[float]] = {name: [] for name in contenders}
    for _ in range(args.repeats):
        for name, fn in contenders.items():
            t = time.perf_counter()
            fn()
            times[name].append((time.perf_counter() - t) / n * 1e6)

    med = {name: statistics.median(v) for name, v in times.items()}
    ref_us = med["reference networkx per molecule (pretrain-gnns transform)"]
    print(f"{n} MOSES molecules, batches of {args.batch_size}, K={k}, r1={r1}, r2={r2}, {args.threads} thread(s), "
          f"{args.repeats} interleaved repeats; graph and anchor sizes agree with the reference on {checked} molecules")  # fmt: skip
    print(f"{'contender':60s} {'us/mol':>8s} {'mol/s':>10s} {'speedup':>9s}")
    rows = []
    for name, us in med.items():
        print(f"{name:60s} {us:8.2f} {1e6 / us:10.0f} {ref_us / us:8.1f}x")
        rows.append({"what": "context_extraction", "contender": name, "dataset": "moses_50k", "molecules": n,
                     "batch_size": args.batch_size, "num_layers": k, "r1": r1, "r2": r2, "threads": args.threads,
                     "device": device.type, "repeats": args.repeats, "median_us_per_mol": round(us, 3),
                     "all_us_per_mol": [round(t, 3) for t in times[name]],
                     "speedup_vs_reference": round(ref_us / us, 2), "agreement_checked_molecules": checked})  # fmt: skip
    if not args.no_record:
        sys.path.insert(0, str(ROOT))
        from benchmarks.record import append_rows, command_line

        path = append_rows("context_extraction", rows, command_line())
        print(f"recorded in {path.relative_to(ROOT)}")


if __name__ == "__main__":
    main()

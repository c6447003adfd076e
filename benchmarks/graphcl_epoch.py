"""One GraphCL epoch end to end: molssl's batched views vs a per-graph augmentation loader after the reference.

GraphCL's transfer-learning code for molecules (You et al., NeurIPS 2020,
``transferLearning_MoleculeNet_PPI/chem``) makes its two views in the data loader: a PyG
``InMemoryDataset`` whose ``get(i)`` slices molecule ``i`` out of the collated tensors and applies the
view's augmentation to that one graph in Python/numpy (``drop_nodes``, ``subgraph``, ``permute_edges``,
``mask_nodes``), two ``DataLoader``s (one per view, same shuffled order, ``shuffle=False``) collate
the views, and the training loop zips them. molssl's ``graphcl`` instead batches the plain molecules
(``StoreLoader``) and augments the whole batch at once on the device (``molssl.augment``).

Contenders, the same molecules in the same batches (the loop's epoch-0 order of the embedded MOSES
sample's first ``--molecules``, full batches of ``--batch-size``), the same model (molssl's
``GraphCL`` with the Hu et al. GIN 5x300, mean pool, projection head, the reference's loss), the same
optimizer (Adam 1e-3) and the same initial weights:

* ``molssl``: ``StoreLoader`` batches, ``GraphCL.forward`` (batched ``node_drop`` + ``subgraph`` views),
  backward, step: what ``molssl.pretrain.pretrain`` does per step;
* ``reference loader``: ``ReferenceViews`` below, a ``torch.utils.data.Dataset`` written after the
  reference's (not copied): each ``__getitem__`` slices one molecule out of the flat store arrays into
  tensors, applies the augmentation to it with numpy, and returns a PyG ``Data``; two
  ``torch_geometric.loader.DataLoader`` collate the views (``--workers`` processes each, default 0:
  everything in this process, which on 2 shared cores is also the fastest); ``GraphCL.contrast`` on
  the two views, backward, step.

The per-graph augmentations use the reference's algorithms and counts where molssl's do
(``int(n * ratio)`` atoms dropped; subgraph growth from a random atom through a random frontier atom;
``int(m * ratio)`` bonds removed; ``int(n * ratio)`` atoms given the mask token) and molssl's meaning of
the ratio (the fraction removed, growth over the whole molecule) so both sides encode graphs of the
same sizes. They are vectorized with numpy per graph where the reference loops over edges in Python
(``for n in range(edge_num)``): the baseline here is faster than the reference's own code, so the
ratio understates molssl's advantage over it.

* ``reference pipeline``: the reference end to end, its loader and its model: the same two
  ``ReferenceViews`` loaders feeding ``ReferenceGraphCL`` below, a model written after the reference's
  (pretrain-gnns' ``GNN`` as GraphCL uses it, not copied): five PyG ``MessagePassing`` GIN layers of 300
  whose messages ``h_j + e_ji`` are gathered per edge and summed at the target (self-loops appended with
  ``add_self_loops`` and the scheme's self-loop bond), bond embeddings per layer, MLP 300-600-300,
  BatchNorm, ReLU but after the last layer; ``global_mean_pool``, projection head 300-300-300 and the
  reference's ``loss_cl`` (T = 0.1). Same optimizer; its own initial weights (another module tree), so
  its losses differ from the others'. The ratio of ``molssl`` to it is molssl's GraphCL epoch against
  GraphCL's own, both on this CPU; the ratio to ``reference loader`` isolates the data path.

Two more contenders time the data path alone, the views of the same epoch without the model:
``molssl views only`` (``StoreLoader`` + ``GraphCL.views``) and ``reference views only`` (the two
reference loaders). On a CPU the encoder steps, the same on both sides, take most of an epoch, so the
end-to-end ratio is bounded by how small the reference's loader share is; the data-path ratio is what
molssl's batched augmentations change.

Timing: ``--repeats`` epochs of each contender, interleaved (molssl first, then the reference, then
molssl ...), wall clock and CPU time of this process plus finished child processes (the loader
workers). We report each epoch, the medians and the ratio of medians, and the per-repeat ratios.

Run:
    python benchmarks/graphcl_epoch.py                     # 2,560 molecules (10 batches of 256), 3 repeats
    python benchmarks/graphcl_epoch.py --molecules 5000 --workers 2
    python benchmarks/graphcl_epoch.py --contenders molssl "reference pipeline"   # a subset
    python benchmarks/graphcl_epoch.py --molecules 1536 --colour-rows   # MLP rows left per 1-WL colour class (no timing)
"""

from __future__ import annotations

import argparse
import os
import resource
import statistics
import sys
import time
from pathlib import Path
from typing import Any, Callable

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import numpy as np  # noqa: E402
import torch  # noqa: E402
from torch_geometric.data import Data  # noqa: E402
from torch_geometric.nn import MessagePassing  # noqa: E402

from benchmarks.pretrain_speed import corpus_store  # noqa: E402
from benchmarks.record import append_rows, command_line  # noqa: E402
from molssl.data.loader import StoreLoader  # noqa: E402
from molssl.graph.arrays import GraphArrays  # noqa: E402
from molssl.methods import get_method  # noqa: E402
from molssl.nn.encoder import EncoderConfig  # noqa: E402
from molssl.pretrain.trainer import DEFAULT_ENCODER, step_seed  # noqa: E402

REFERENCE_AUGS = ("node_drop", "subgraph", "edge_perturb", "attr_mask")
CONTENDERS = ("molssl", "reference loader", "reference pipeline", "molssl views only", "reference views only")
#: the baseline each contender's speed-up is taken against
BASELINE_OF = {"molssl": "reference pipeline", "reference loader": "reference pipeline", "reference pipeline": "reference pipeline",
               "molssl views only": "reference views only", "reference views only": "reference views only"}  # fmt: skip


def _keep_atoms(x: np.ndarray, edge_index: np.ndarray, edge_attr: np.ndarray, keep: np.ndarray):
    """The graph induced by the sorted atoms ``keep`` (atoms renumbered, edges with a removed end dropped)."""
    new_id = np.full(x.shape[0], -1, dtype=np.int64)
    new_id[keep] = np.arange(keep.size)
    src, dst = new_id[edge_index[0]], new_id[edge_index[1]]
    kept_edges = (src >= 0) & (dst >= 0)
    return x[keep], np.stack([src[kept_edges], dst[kept_edges]]), edge_attr[kept_edges]


def drop_nodes(x, edge_index, edge_attr, ratio: float, rng: np.random.RandomState, mask_token):
    """Remove ``int(n * ratio)`` uniformly random atoms and their bonds (the reference's ``drop_nodes``)."""
    n = x.shape[0]
    perm = rng.permutation(n)
    return _keep_atoms(x, edge_index, edge_attr, np.sort(perm[int(n * ratio):]))


def subgraph(x, edge_index, edge_attr, ratio: float, rng: np.random.RandomState, mask_token):
    """Keep ``n - int(n * ratio)`` atoms grown from a random atom through random frontier atoms (``subgraph``).

    The reference's loop (neighbours looked up by scanning ``edge_index``, a Python set as frontier), with
    the frontier really grown (the reference's ``union`` result is discarded) and a new random seed when
    a fragment is exhausted, as molssl's ``Subgraph``.
    """
    n = x.shape[0]
    target = n - int(n * ratio)
    kept: list[int] = []
    taken = np.zeros(n, dtype=bool)
    frontier: set[int] = set()
    while len(kept) < target:
        if not frontier:
            node = int(rng.choice(np.flatnonzero(~taken)))
        else:
            node = int(rng.choice(sorted(frontier)))
            frontier.discard(node)
        kept.append(node)
        taken[node] = True
        frontier |= {int(v) for v in edge_index[1][edge_index[0] == node] if not taken[v]}
    return _keep_atoms(x, edge_index, edge_attr, np.sort(np.asarray(kept, dtype=np.int64)))


def permute_edges(x, edge_index, edge_attr, ratio: float, rng: np.random.RandomState, mask_token):
    """Remove ``int(m * ratio)`` random bonds of ``m`` (both directions; edges 2k, 2k + 1 are bond k)."""
    bonds = edge_index.shape[1] // 2
    keep_bond = np.ones(bonds, dtype=bool)
    keep_bond[rng.choice(bonds, int(bonds * ratio), replace=False)] = False
    keep = np.repeat(keep_bond, 2)
    return x, edge_index[:, keep], edge_attr[keep]


def mask_nodes(x, edge_index, edge_attr, ratio: float, rng: np.random.RandomState, mask_token):
    """Give ``int(n * ratio)`` random atoms the scheme's mask token (the reference's ``mask_nodes``)."""
    n = x.shape[0]
    x = x.copy()
    x[rng.choice(n, int(n * ratio), replace=False)] = mask_token
    return x, edge_index, edge_attr


PER_GRAPH: dict[str, Callable] = {
    "node_drop": drop_nodes, "subgraph": subgraph, "edge_perturb": permute_edges, "attr_mask": mask_nodes,
}  # fmt: skip


class ReferenceViews(torch.utils.data.Dataset):
    """One augmented view of each molecule, made per graph in ``__getitem__`` (after GraphCL's ``MoleculeDataset_aug``).

    Args:
        graphs: the flat molecule arrays (a store's ``graphs``).
        order: molecule of each dataset position (the epoch's shuffled order; the loader does not shuffle).
        aug: a key of ``PER_GRAPH``; ratio: its ratio.
        mask_token: the scheme's atom mask row (``attr_mask``).
        seed: seed of this dataset's numpy generator (the reference draws from numpy's global one).
    """

    def __init__(self, graphs: GraphArrays, order: np.ndarray, aug: str, ratio: float, mask_token, seed: int) -> None:
        self.graphs, self.order = graphs, order
        self.augment, self.ratio = PER_GRAPH[aug], ratio
        self.mask_token = np.asarray(mask_token)
        self.rng = np.random.RandomState(seed)

    def __len__(self) -> int:
        return len(self.order)

    def __getitem__(self, i: int) -> Data:
        g, gr = int(self.order[i]), self.graphs
        a0, a1, e0, e1 = gr.atom_ptr[g], gr.atom_ptr[g + 1], gr.edge_ptr[g], gr.edge_ptr[g + 1]
        x, edge_index, edge_attr = self.augment(
            gr.x[a0:a1], gr.edge_index[:, e0:e1], gr.edge_attr[e0:e1], self.ratio, self.rng, self.mask_token
        )
        return Data(x=torch.from_numpy(np.ascontiguousarray(x, dtype=np.int64)),
                    edge_index=torch.from_numpy(np.ascontiguousarray(edge_index, dtype=np.int64)),
                    edge_attr=torch.from_numpy(np.ascontiguousarray(edge_attr, dtype=np.int64)))  # fmt: skip


class ReferenceGIN(MessagePassing):
    """pretrain-gnns' GIN layer as a PyG ``MessagePassing``: ``MLP(sum_{j in N(i) + i} (h_j + e_ji))``.

    Shapes:
        x: [N, D], edge_index: [2, E + N] (self-loops appended), edge_embedding: [E + N, D] -> [N, D]
    """

    def __init__(self, dim: int) -> None:
        super().__init__(aggr="add")
        self.mlp = torch.nn.Sequential(torch.nn.Linear(dim, 2 * dim), torch.nn.ReLU(), torch.nn.Linear(2 * dim, dim))

    def forward(self, x: torch.Tensor, edge_index: torch.Tensor, edge_embedding: torch.Tensor) -> torch.Tensor:
        return self.mlp(self.propagate(edge_index, x=x, edge_embedding=edge_embedding))

    def message(self, x_j: torch.Tensor, edge_embedding: torch.Tensor) -> torch.Tensor:
        return x_j + edge_embedding  # [E + N, D]: one message per edge, as the reference


class ReferenceGraphCL(torch.nn.Module):
    """GraphCL's molecular model written after the reference: pretrain-gnns' GNN, mean pool, projection, ``loss_cl``.

    Atom and bond features are embedded per column and summed (bond embeddings per layer); self-loops
    are appended for every forward with the scheme's self-loop bond token.

    Shapes:
        view.x: [N, F_atom], view.edge_index: [2, E], view.edge_attr: [E, F_bond] -> z [B, D]; loss []
    """

    def __init__(self, scheme: Any, dim: int = 300, num_layers: int = 5, temperature: float = 0.1) -> None:
        super().__init__()
        emb = torch.nn.Embedding
        self.atom_embeddings = torch.nn.ModuleList(emb(v, dim) for v in scheme.atom_vocab)
        self.bond_embeddings = torch.nn.ModuleList(
            torch.nn.ModuleList(emb(v, dim) for v in scheme.bond_vocab) for _ in range(num_layers)
        )
        self.convs = torch.nn.ModuleList(ReferenceGIN(dim) for _ in range(num_layers))
        self.norms = torch.nn.ModuleList(torch.nn.BatchNorm1d(dim) for _ in range(num_layers))
        self.projection = torch.nn.Sequential(torch.nn.Linear(dim, dim), torch.nn.ReLU(), torch.nn.Linear(dim, dim))
        self.register_buffer("self_loop", torch.tensor(scheme.self_loop_token, dtype=torch.long), persistent=False)
        self.temperature = temperature

    def project(self, view: Any) -> torch.Tensor:
        from torch_geometric.nn import global_mean_pool
        from torch_geometric.utils import add_self_loops

        x = view.x
        edge_index, edge_attr = add_self_loops(view.edge_index, view.edge_attr, fill_value=self.self_loop, num_nodes=x.size(0))
        h = sum(e(x[:, i]) for i, e in enumerate(self.atom_embeddings))  # [N, D]
        last = len(self.convs) - 1
        for layer, (conv, norm) in enumerate(zip(self.convs, self.norms)):
            bond = sum(e(edge_attr[:, i]) for i, e in enumerate(self.bond_embeddings[layer]))  # [E + N, D]
            h = norm(conv(h, edge_index, bond))
            if layer < last:
                h = torch.relu(h)
        return self.projection(global_mean_pool(h, view.batch, size=int(view.num_graphs)))  # [B, D]

    def loss(self, view1: Any, view2: Any) -> torch.Tensor:
        """The reference's ``loss_cl``: ``-mean log(pos / (sum_row - pos))`` over cosine similarities / T."""
        z1, z2 = self.project(view1), self.project(view2)
        cosine = (z1 @ z2.t()) / torch.outer(z1.norm(dim=1), z2.norm(dim=1))  # [B, B]
        sim = torch.exp(cosine / self.temperature)
        positive = sim.diagonal()
        return -torch.log(positive / (sim.sum(dim=1) - positive)).mean()


def _cpu() -> float:
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    return time.process_time() + children.ru_utime + children.ru_stime


def colour_rows(model: Any, loader: StoreLoader, num_layers: int, args: argparse.Namespace) -> None:
    """The share of the encoder's MLP rows left if each layer ran once per 1-WL colour class (issue 15).

    ``molssl.nn.colour_class_inference`` does this for prediction; training could too where dropout is
    0 (GraphCL's default), with BatchNorm statistics weighted by class size. This counts, over the views
    of one epoch (the molssl contender's seeds), sum over layers of colours / (layers x atoms): the
    fraction of the dense products' rows, and so of their FLOPs, that such a step would keep.
    """
    from molssl.nn.colour_class_inference import colour_classes

    atoms = colours = 0
    for i, batch in enumerate(loader):
        for view in model.views(batch, torch.Generator().manual_seed(step_seed(0, 0, i))):
            classes = colour_classes(view.x.numpy(), view.edge_index.numpy(), view.edge_attr.numpy(), num_layers)
            atoms += num_layers * view.num_nodes
            colours += sum(classes.counts[1:])
    print(f"GraphCL views of one epoch: {colours:,} colour rows for {atoms:,} atom rows over {num_layers} layers: {colours / atoms:.3f}")
    row = {"what": "graphcl_colour_rows", "aug1": args.aug1, "aug2": args.aug2, "aug_ratio": args.ratio, "molecules": len(loader) * args.batch_size,
           "batch_size": args.batch_size, "layers": num_layers, "atom_rows": atoms, "colour_rows": colours,
           "colour_row_fraction": round(colours / atoms, 4)}  # fmt: skip
    if not args.no_record:
        path = append_rows("graphcl_epoch", [row], command_line())
        print(f"recorded in {path.relative_to(ROOT)}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--molecules", type=int, default=2560, help="first MOSES molecules of the embedded sample (default 2560)")
    parser.add_argument("--batch-size", type=int, default=256)
    parser.add_argument("--repeats", type=int, default=3, help="epochs per contender, interleaved (default 3)")
    parser.add_argument("--aug1", default="node_drop", choices=REFERENCE_AUGS)
    parser.add_argument("--aug2", default="subgraph", choices=REFERENCE_AUGS)
    parser.add_argument("--ratio", type=float, default=0.2, help="aug_ratio of both views (default 0.2)")
    parser.add_argument("--workers", type=int, default=0, help="DataLoader workers of each reference loader (default 0)")
    parser.add_argument("--threads", type=int, default=1, help="torch.set_num_threads (default 1)")
    parser.add_argument("--contenders", nargs="+", default=list(CONTENDERS), choices=CONTENDERS,
                        help="contenders to time (default: all; a speed-up needs its baseline among them)")  # fmt: skip
    parser.add_argument("--no-record", action="store_true")
    parser.add_argument("--colour-rows", action="store_true",
                        help="only count the MLP rows one epoch's molssl views would need per 1-WL colour class (no timing)")
    args = parser.parse_args()

    from torch_geometric.loader import DataLoader

    torch.set_num_threads(args.threads)
    load_1m = round(os.getloadavg()[0], 2)
    store = corpus_store(args.molecules)
    scheme = store.spec
    options = {"aug1": args.aug1, "aug2": args.aug2, "aug_ratio1": args.ratio, "aug_ratio2": args.ratio}
    cls = get_method("graphcl")
    config = cls.config_class.from_dict(options)
    encoder_config = EncoderConfig(scheme=scheme, **DEFAULT_ENCODER)
    loader = StoreLoader(store.graphs, batch_size=args.batch_size, shuffle=True, seed=0, drop_last=True)
    loader.set_epoch(0)
    order = loader.order()
    mask_token = scheme.atom_mask_token

    models: dict[str, Any] = {}
    for name in ("molssl", "reference loader"):
        torch.manual_seed(0)
        model = cls(encoder_config, config)
        model.train()
        models[name] = (model, torch.optim.Adam(model.parameters(), lr=1e-3))

    def step(model, optimizer, output) -> float:
        optimizer.zero_grad(set_to_none=True)
        output.loss.backward()
        optimizer.step()
        return float(output.loss.detach())

    def molssl_epoch(repeat: int) -> list[float]:
        model, optimizer = models["molssl"]
        losses = []
        for i, batch in enumerate(loader):
            generator = torch.Generator().manual_seed(step_seed(repeat, 0, i))
            losses.append(step(model, optimizer, model(batch, generator)))
        return losses

    def reference_loaders(repeat: int) -> list:
        return [
            DataLoader(ReferenceViews(store.graphs, order, aug, args.ratio, mask_token, seed=2 * repeat + k),
                       batch_size=args.batch_size, shuffle=False, drop_last=True, num_workers=args.workers)
            for k, aug in enumerate((args.aug1, args.aug2))
        ]  # fmt: skip

    def reference_epoch(repeat: int) -> list[float]:
        model, optimizer = models["reference loader"]
        return [step(model, optimizer, model.contrast(v1, v2)) for v1, v2 in zip(*reference_loaders(repeat))]

    torch.manual_seed(0)
    reference_model = ReferenceGraphCL(scheme, temperature=config.temperature).train()
    reference_optimizer = torch.optim.Adam(reference_model.parameters(), lr=1e-3)

    def reference_pipeline_epoch(repeat: int) -> list[float]:
        losses = []
        for v1, v2 in zip(*reference_loaders(repeat)):
            reference_optimizer.zero_grad(set_to_none=True)
            loss = reference_model.loss(v1, v2)
            loss.backward()
            reference_optimizer.step()
            losses.append(float(loss.detach()))
        return losses

    def molssl_views(repeat: int) -> list[float]:
        model = models["molssl"][0]
        out = []
        for i, batch in enumerate(loader):
            v1, v2 = model.views(batch, torch.Generator().manual_seed(step_seed(repeat, 0, i)))
            out.append(float(v1.num_nodes + v2.num_nodes))
        return out

    def reference_views(repeat: int) -> list[float]:
        return [float(v1.num_nodes + v2.num_nodes) for v1, v2 in zip(*reference_loaders(repeat))]

    if args.colour_rows:
        colour_rows(models["molssl"][0], loader, encoder_config.num_layers, args)
        return

    every = {"molssl": molssl_epoch, "reference loader": reference_epoch, "reference pipeline": reference_pipeline_epoch,
             "molssl views only": molssl_views, "reference views only": reference_views}  # fmt: skip
    contenders = {name: every[name] for name in CONTENDERS if name in args.contenders}
    times: dict[str, list[tuple[float, float]]] = {k: [] for k in contenders}
    steps_per_epoch = len(loader)
    print(f"GraphCL ({args.aug1} {args.ratio} / {args.aug2} {args.ratio}), {len(store)} MOSES molecules, {steps_per_epoch} "
          f"batches of {args.batch_size}, GIN 5x300, {args.threads} thread(s), reference workers {args.workers}, load {load_1m}")  # fmt: skip
    for repeat in range(args.repeats):
        for name, epoch in contenders.items():
            wall, cpu = time.perf_counter(), _cpu()
            losses = epoch(repeat)
            wall, cpu = time.perf_counter() - wall, _cpu() - cpu
            assert len(losses) == steps_per_epoch and all(np.isfinite(losses)), (name, losses)
            times[name].append((wall, cpu))
            print(f"  repeat {repeat + 1}: {name:16s} {wall:6.1f} s wall, {cpu:6.1f} s CPU, loss {losses[0]:.3f} -> {losses[-1]:.3f}")

    rows = []
    for name, values in times.items():
        base = BASELINE_OF[name] if BASELINE_OF[name] in times else name
        ref_wall = statistics.median(w for w, _ in times[base])
        ref_cpu = statistics.median(c for _, c in times[base])
        wall, cpu = statistics.median(w for w, _ in values), statistics.median(c for _, c in values)
        per_repeat = [round(r[1] / m[1], 2) for m, r in zip(values, times[base])]
        speedup_vs_loader = None
        if name == "molssl" and "reference loader" in times:  # same model both sides: the data path's share
            speedup_vs_loader = round(statistics.median(c for _, c in times["reference loader"]) / cpu, 2)
        row = {"what": "graphcl_epoch", "contender": name, "baseline": base, "aug1": args.aug1, "aug2": args.aug2, "aug_ratio": args.ratio,
               "molecules": len(store), "batch_size": args.batch_size, "steps_per_epoch": steps_per_epoch,
               "median_epoch_wall_s": round(wall, 2), "median_epoch_cpu_s": round(cpu, 2),
               "speedup_vs_reference_wall": round(ref_wall / wall, 2), "speedup_vs_reference_cpu": round(ref_cpu / cpu, 2),
               "epochs_wall_s": [round(w, 2) for w, _ in values], "epochs_cpu_s": [round(c, 2) for _, c in values],
               "speedup_cpu_per_repeat": per_repeat if name != base else None,
               "speedup_vs_reference_loader_same_model_cpu": speedup_vs_loader,
               "reference_workers": args.workers, "threads": args.threads, "repeats": args.repeats, "load_avg_1m_at_start": load_1m}  # fmt: skip
        rows.append(row)
        print(f"{name:20s} median epoch {wall:6.1f} s wall ({ref_wall / wall:4.2f}x {base}), {cpu:6.1f} s CPU "
              f"({ref_cpu / cpu:4.2f}x){'; per-repeat CPU ratios ' + str(per_repeat) if name != base else ''}")  # fmt: skip
    views = times.get("reference views only")
    for name in ("reference pipeline", "reference loader"):
        if views and name in times:
            share = statistics.median(c for _, c in views) / statistics.median(c for _, c in times[name])
            print(f"the reference loader's views are {share:.0%} of the {name!r} epoch's CPU time; its encoder steps the rest")
    if not args.no_record:
        path = append_rows("graphcl_epoch", rows, command_line())
        print(f"recorded in {path.relative_to(ROOT)}")


if __name__ == "__main__":
    main()

"""Fine-tuning epoch time on BBBP: molssl's protocol loop vs a plain PyTorch Geometric loop.

One epoch of the fine-tuning protocol = train on the training molecules in shuffled batches of 32, then
score valid and test (ROC-AUC), as Hu et al.'s ``finetune.py`` and ``molssl.tasks.seed_run.run_seed``
do every epoch.

Data: the embedded MoleculeNet BBBP copy, molecules RDKit parses (``featurize_table``, skips listed),
the deterministic scaffold split 80/10/10 (``molssl.data.splits.scaffold_split``) used by both sides.

Contenders, same molecules, split, model shape and hyperparameters (GIN 5 x 300, BatchNorm, ReLU but
after the last layer, dropout 0.5, mean pooling, linear head, BCE with logits on the labels present,
Adam 1e-3, train batch 32, eval batch 256, one torch thread):

* ``molssl``: ``molssl.tasks.finetune.finetune`` with ``PropertyModel(PredictorConfig(GIN, scheme
  "ogb"))`` (OGB's 9 atom / 3 bond features, the features of ``smiles2graph``) on ``featurize_table``
  graphs; the epoch time is the interval between its per-epoch progress records (train + valid + test);
* ``baseline: PyG``: ``ogb.utils.smiles2graph`` per molecule into ``torch_geometric.data.Data`` (once,
  before timing, as molssl's featurization), ``torch_geometric.loader.DataLoader``, a model of
  ``ogb.graphproppred.mol_encoder.AtomEncoder`` / ``BondEncoder`` and ``torch_geometric.nn.GINEConv`` (a
  plain PyG GIN with edge features; message ``ReLU(h_j + e_ji)``, learned eps and MLP Linear-BatchNorm-ReLU-
  Linear, as OGB's GIN and molssl's GIN on the ``ogb`` scheme), ``global_mean_pool``,
  sklearn's ``roc_auc_score`` on valid and test after every epoch.

Timing: ``--rounds`` rounds, each running ``--epochs`` epochs of molssl then of the baseline (fresh
model each round, seed = round); per-epoch wall and CPU seconds of this process. We report the median
epoch of each contender over all rounds but each round's first (warm-up) epoch, the ratio of medians,
and the per-round ratios.

Run:
    python benchmarks/finetune_speed.py                 # 3 rounds x 3 epochs (~5 min on 2 shared cores)
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import numpy as np  # noqa: E402
import torch  # noqa: E402
import torch.nn.functional as F  # noqa: E402
from torch import nn  # noqa: E402

from benchmarks.record import append_rows, command_line  # noqa: E402
from molssl.data.embedded import embedded_file  # noqa: E402
from molssl.data.labeled import featurize_table, read_labeled_csv  # noqa: E402
from molssl.data.splits import scaffold_split  # noqa: E402
from molssl.nn.encoder import EncoderConfig  # noqa: E402
from molssl.tasks.finetune import FinetuneConfig, finetune  # noqa: E402
from molssl.tasks.model import ModelFactory, PredictorConfig  # noqa: E402

BBBP = "moleculenet/bbbp.csv"


class PlainGIN(nn.Module):
    """A plain PyG GIN for graph property prediction (OGB encoders, GINEConv, mean pool, linear head).

    Shapes:
        batch.x: [N, 9] long, batch.edge_index: [2, E], batch.edge_attr: [E, 3] long -> [B, T]
    """

    def __init__(self, num_tasks: int, dim: int = 300, num_layers: int = 5, dropout: float = 0.5) -> None:
        super().__init__()
        from ogb.graphproppred.mol_encoder import AtomEncoder, BondEncoder
        from torch_geometric.nn import GINEConv

        self.atom_encoder = AtomEncoder(dim)
        self.bond_encoders = nn.ModuleList(BondEncoder(dim) for _ in range(num_layers))
        self.convs = nn.ModuleList(
            GINEConv(nn.Sequential(nn.Linear(dim, 2 * dim), nn.BatchNorm1d(2 * dim), nn.ReLU(), nn.Linear(2 * dim, dim)),
                     train_eps=True)
            for _ in range(num_layers)
        )
        self.norms = nn.ModuleList(nn.BatchNorm1d(dim) for _ in range(num_layers))
        self.head = nn.Linear(dim, num_tasks)
        self.dropout = dropout

    def forward(self, batch) -> torch.Tensor:
        from torch_geometric.nn import global_mean_pool

        h = self.atom_encoder(batch.x)
        for layer, (conv, norm, bond) in enumerate(zip(self.convs, self.norms, self.bond_encoders)):
            h = norm(conv(h, batch.edge_index, bond(batch.edge_attr)))
            if layer < len(self.convs) - 1:
                h = F.relu(h)
            h = F.dropout(h, self.dropout, training=self.training)
        return self.head(global_mean_pool(h, batch.batch, size=batch.num_graphs))


def baseline_epochs(data_list: list, labels: np.ndarray, split, epochs: int, seed: int) -> list[tuple[float, float, float, float]]:
    """(wall s, CPU s, valid AUC, test AUC) of each epoch of the plain PyG loop."""
    from sklearn.metrics import roc_auc_score
    from torch_geometric.loader import DataLoader

    train, valid, test = split
    torch.manual_seed(seed)
    model = PlainGIN(labels.shape[1])
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-3)
    train_loader = DataLoader([data_list[i] for i in train], batch_size=32, shuffle=True)
    eval_loaders = [DataLoader([data_list[i] for i in part], batch_size=256) for part in (valid, test)]

    def score(loader, part) -> float:
        model.eval()
        with torch.no_grad():
            logits = torch.cat([model(b) for b in loader]).numpy()
        y = labels[part]
        aucs = [roc_auc_score(y[:, t][~np.isnan(y[:, t])], logits[:, t][~np.isnan(y[:, t])]) for t in range(y.shape[1])]
        return float(np.mean(aucs))

    out = []
    for _ in range(epochs):
        wall, cpu = time.perf_counter(), time.process_time()
        model.train()
        for batch in train_loader:
            optimizer.zero_grad()
            logits = model(batch)
            y = batch.y.view(logits.shape)
            present = ~torch.isnan(y)
            loss = F.binary_cross_entropy_with_logits(logits[present], y[present])
            loss.backward()
            optimizer.step()
        v, t = score(eval_loaders[0], valid), score(eval_loaders[1], test)
        out.append((time.perf_counter() - wall, time.process_time() - cpu, v, t))
    return out


def molssl_epochs(graphs, labels: np.ndarray, split, epochs: int, seed: int, scheme: dict) -> list[tuple[float, float, float, float]]:
    """(wall s, CPU s, valid AUC, test AUC) of each epoch of ``molssl.tasks.finetune``."""
    config = PredictorConfig(encoder=EncoderConfig(scheme=scheme, conv="gin", num_layers=5, emb_dim=300, dropout=0.5))
    marks = [(time.perf_counter(), time.process_time())]
    records = []

    def progress(record: dict) -> None:
        marks.append((time.perf_counter(), time.process_time()))
        records.append(record)

    finetune(ModelFactory(config), graphs, labels, split, FinetuneConfig(epochs=epochs, batch_size=32, seeds=(seed,)), progress)
    # the first interval also holds finetune's setup (a model built to read the task type, the split check)
    return [(b[0] - a[0], b[1] - a[1], r["valid"], r["test"]) for a, b, r in zip(marks, marks[1:], records)]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--epochs", type=int, default=3, help="epochs per round and contender (the first is warm-up)")
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--no-record", action="store_true")
    args = parser.parse_args()
    if args.epochs < 2:
        parser.error("--epochs must be >= 2 (each round's first epoch is warm-up)")

    from ogb.utils import smiles2graph
    from torch_geometric.data import Data

    torch.set_num_threads(args.threads)
    load_1m = round(os.getloadavg()[0], 2)
    table = read_labeled_csv(embedded_file(BBBP))
    result = featurize_table(table, scheme="ogb")
    labels = table.labels[result.indices]
    smiles = [table.smiles[i] for i in result.indices]
    split = tuple(np.asarray(p) for p in scaffold_split(smiles))
    data_list = []
    for s, y in zip(smiles, labels):
        g = smiles2graph(s)
        data_list.append(Data(x=torch.from_numpy(g["node_feat"]).long(), edge_index=torch.from_numpy(g["edge_index"]).long(),
                              edge_attr=torch.from_numpy(g["edge_feat"]).long(), y=torch.from_numpy(y).float().view(1, -1)))  # fmt: skip
    scheme = EncoderConfig(scheme="ogb").scheme
    print(f"BBBP: {len(smiles)} molecules ({len(result.skipped)} skipped), scaffold split {[len(p) for p in split]}, "
          f"{args.threads} thread(s), load {load_1m}")  # fmt: skip

    epochs: dict[str, list] = {"molssl": [], "baseline: PyG": []}
    round_ratios = []
    for r in range(args.rounds):
        m = molssl_epochs(result.graphs, labels, split, args.epochs, r, scheme)
        b = baseline_epochs(data_list, labels, split, args.epochs, r)
        epochs["molssl"] += m[1:]
        epochs["baseline: PyG"] += b[1:]
        round_ratios.append(round(statistics.median(e[1] for e in b[1:]) / statistics.median(e[1] for e in m[1:]), 2))
        print(f"  round {r + 1}: molssl epochs CPU {[round(e[1], 1) for e in m]} s (valid/test AUC last {m[-1][2]:.3f}/{m[-1][3]:.3f}); "
              f"PyG {[round(e[1], 1) for e in b]} s ({b[-1][2]:.3f}/{b[-1][3]:.3f}); CPU ratio {round_ratios[-1]}x")  # fmt: skip

    base_wall = statistics.median(e[0] for e in epochs["baseline: PyG"])
    base_cpu = statistics.median(e[1] for e in epochs["baseline: PyG"])
    rows = []
    for name, values in epochs.items():
        wall, cpu = statistics.median(e[0] for e in values), statistics.median(e[1] for e in values)
        print(f"{name:14s} median epoch {wall:6.2f} s wall ({base_wall / wall:4.2f}x the baseline), {cpu:6.2f} s CPU ({base_cpu / cpu:4.2f}x)")
        rows.append({"what": "finetune_epoch", "contender": name, "dataset": "bbbp", "molecules": len(smiles),
                     "split_sizes": [len(p) for p in split], "batch_size": 32, "eval": "valid+test every epoch",
                     "median_epoch_wall_s": round(wall, 3), "median_epoch_cpu_s": round(cpu, 3),
                     "speedup_vs_baseline_wall": round(base_wall / wall, 2), "speedup_vs_baseline_cpu": round(base_cpu / cpu, 2),
                     "epochs_cpu_s": [round(e[1], 2) for e in values],
                     "round_speedups_cpu": round_ratios if name == "molssl" else None,
                     "rounds": args.rounds, "epochs_per_round": args.epochs, "threads": args.threads, "load_avg_1m_at_start": load_1m})  # fmt: skip
    if not args.no_record:
        path = append_rows("finetune_speed", rows, command_line())
        print(f"recorded in {path.relative_to(ROOT)}")


if __name__ == "__main__":
    main()

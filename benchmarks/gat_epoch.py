"""Fine-tuning epoch of the converted GAT (Hu et al.'s 5 x 300, 2 heads, legacy softmax): scores per node vs per edge.

A GAT layer scores edge j -> i as ``att . [W h_i || W h_j + e_ji]``. Written as one dot product over the
concatenation, every edge gathers ``W h_i`` ([E, H, D]), concatenates and multiplies a [E, H, 2D] tensor;
the backward scatters the gathered rows back. ``molssl.nn.conv.gat.GATConv`` splits it as
``att_i . W h_i + att_j . W h_j + att_j . e_ji``: the two node terms are computed once per node ([N, H])
and gathered as scalars, only the bond term is per edge. Same function up to float rounding.

Here one model (``hu2020/gat_supervised_contextpred``'s config, dropout 0.5, mean readout, Adam 1e-3, BCE)
trains on BACE's first 1,210 molecules (the size of the zoo benchmark's training split) in shuffled batches
of 32, alternating epochs between the concatenated form (this file's baseline, the previous GATConv.forward)
and GATConv's own forward, swapped in place on every layer (same weights continue); one torch thread; CPU
seconds of this process per epoch, medians and their ratio (interleaved in one process, so the machine's
load hits both alike). The first epoch of each is a warm-up and left out.

Run:
    python benchmarks/gat_epoch.py [--epochs 4]
"""

from __future__ import annotations

import argparse
import sys
import time
import types
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import torch  # noqa: E402
import torch.nn.functional as F  # noqa: E402

from benchmarks.record import append_rows, command_line, contender_rows, interleaved_epochs  # noqa: E402
from molssl.data.labeled import featurize_table, read_labeled_csv  # noqa: E402
from molssl.data.loader import StoreLoader  # noqa: E402
from molssl.nn.conv.gat import GATConv, legacy_softmax  # noqa: E402
from molssl.nn.conv.self_loops import add_self_loops, self_loop_order  # noqa: E402
from molssl.nn.encoder import EncoderConfig  # noqa: E402
from molssl.ops import scatter, segment_softmax  # noqa: E402
from molssl.tasks.model import PredictorConfig, PropertyModel  # noqa: E402
from molssl.zoo import get_entry  # noqa: E402

TRAIN_MOLECULES = 1210


def concatenated_forward(self: GATConv, x, edge_index, edge_attr, order=None):
    """The baseline: GATConv.forward with the scores as one dot product over [W h_i || m_ji] per edge."""
    num_nodes = x.size(0)
    x = self.linear(x).view(num_nodes, self.heads, self.dim)
    edge_index, edge_embedding = add_self_loops(
        edge_index, self.bond_embedding(edge_attr), self.self_loop(self.bond_embedding), num_nodes
    )
    order = None if order is None else self_loop_order(order)
    source, target = edge_index
    messages = x.index_select(0, source) + edge_embedding.view(-1, self.heads, self.dim)
    scores = (torch.cat([x.index_select(0, target), messages], dim=-1) * self.att).sum(dim=-1)
    scores = F.leaky_relu(scores, self.negative_slope)
    if self.softmax == "standard":
        alpha = segment_softmax(scores, target, dim_size=num_nodes, order=order)
    else:
        alpha = legacy_softmax(scores, target, num_nodes, order)
    out = scatter(messages * alpha.unsqueeze(-1), target, dim_size=num_nodes, reduce="sum", order=order)
    return out.mean(dim=1) + self.bias


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--epochs", type=int, default=4, help="epochs per contender, warm-up included (default 4)")
    parser.add_argument("--no-record", action="store_true")
    args = parser.parse_args()
    torch.set_num_threads(1)
    torch.manual_seed(0)

    saved = get_entry("hu2020/gat_supervised_contextpred").encoder_config()
    encoder = EncoderConfig.from_dict({**saved.to_dict(), "dropout": 0.5})
    table = read_labeled_csv(ROOT / "datasets" / "moleculenet" / "bace.csv")
    result = featurize_table(table, encoder.scheme.name)
    labels = table.labels[result.indices]
    model = PropertyModel(PredictorConfig(encoder=encoder, task_names=tuple(table.task_names))).train()
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-3)
    loader = StoreLoader(result.graphs, batch_size=32, shuffle=True, seed=0, indices=list(range(TRAIN_MOLECULES)), targets=labels)
    convs = [m for m in model.modules() if isinstance(m, GATConv)]
    if len(convs) != encoder.num_layers:
        raise RuntimeError(f"expected {encoder.num_layers} GATConv layers, found {len(convs)}")

    kinds = ("scores per edge (concatenated)", "scores per node (GATConv)")

    def use(kind: str) -> None:
        for conv in convs:
            if kind == kinds[0]:
                conv.forward = types.MethodType(concatenated_forward, conv)
            else:
                conv.__dict__.pop("forward", None)

    def epoch(number: int) -> float:
        loader.set_epoch(number)
        start = time.process_time()
        for batch in loader:
            optimizer.zero_grad()
            logits = model(batch)
            mask = ~torch.isnan(batch.y.float())
            loss = F.binary_cross_entropy_with_logits(logits[mask], batch.y.float()[mask])
            loss.backward()
            optimizer.step()
        return time.process_time() - start

    cpu, med = interleaved_epochs(kinds, use, epoch, args.epochs)
    print(f"GAT 5x300 2 heads legacy softmax (dropout 0.5), BACE {TRAIN_MOLECULES} molecules, batch 32, 1 thread, "
          f"{args.epochs} interleaved epochs each (first left out); CPU s per epoch")  # fmt: skip
    rows = contender_rows(cpu, med, kinds[0], "speedup_vs_concatenated", model="GAT 5x300 heads 2 legacy softmax dropout 0.5",
                          dataset="bace", molecules=TRAIN_MOLECULES, batch_size=32, threads=1, epochs=args.epochs)
    if not args.no_record:
        path = append_rows("gat_epoch", rows, command_line())
        print(f"recorded in {path.relative_to(ROOT)}")


if __name__ == "__main__":
    main()

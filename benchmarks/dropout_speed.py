"""Fine-tuning epoch of the README's main job with torch's ``nn.Dropout`` vs molssl's ``Dropout``.

``molssl example`` fine-tunes Hu et al.'s GCN (5 x 300, dropout 0.5, mean readout) on the embedded BACE
in batches of 32. py-spy put torch's CPU dropout (``bernoulli_``, drawn element by element) at 18% of
that fine-tuning; ``molssl.nn.dropout.Dropout`` draws the same Bernoulli mask from one vectorized
uniform per unit. Here one model trains on BACE's first 1,210 molecules (the size of the example's
training split) in shuffled batches of 32 (Adam 1e-3, BCE), alternating epochs between the two dropout
modules swapped in place (same weights continue), one torch thread; CPU seconds of this process per
epoch, medians and their ratio (an interleaved comparison in one process, so the machine's load hits
both alike). The first epoch of each is a warm-up and left out.

Run:
    python benchmarks/dropout_speed.py [--epochs 4]
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import torch  # noqa: E402

from benchmarks.record import append_rows, command_line, contender_rows, interleaved_epochs  # noqa: E402
from molssl.data.labeled import featurize_table, read_labeled_csv  # noqa: E402
from molssl.data.loader import StoreLoader  # noqa: E402
from molssl.nn.dropout import Dropout  # noqa: E402
from molssl.nn.encoder import EncoderConfig  # noqa: E402
from molssl.nn.pretrained import load_encoder_state  # noqa: E402
from molssl.tasks.model import PredictorConfig, PropertyModel  # noqa: E402
from molssl.zoo import resolve_pretrained  # noqa: E402

TRAIN_MOLECULES = 1210


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--epochs", type=int, default=4, help="epochs per contender, warm-up included (default 4)")
    parser.add_argument("--no-record", action="store_true")
    args = parser.parse_args()
    torch.set_num_threads(1)
    torch.manual_seed(0)

    saved, _ = load_encoder_state(resolve_pretrained("hu2020/gcn_supervised_contextpred"))
    encoder = EncoderConfig.from_dict({**saved.to_dict(), "dropout": 0.5})
    table = read_labeled_csv(ROOT / "datasets" / "moleculenet" / "bace.csv")
    result = featurize_table(table, encoder.scheme.name)
    labels = table.labels[result.indices]
    model = PropertyModel(PredictorConfig(encoder=encoder, task_names=tuple(table.task_names))).train()
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-3)
    loader = StoreLoader(result.graphs, batch_size=32, shuffle=True, seed=0, indices=list(range(TRAIN_MOLECULES)), targets=labels)
    layers = model.encoder.dropouts if hasattr(model, "encoder") else None
    if layers is None:
        raise RuntimeError("PropertyModel has no .encoder.dropouts to swap")

    def use(kind: str) -> None:
        for i, layer in enumerate(layers):
            layers[i] = torch.nn.Dropout(layer.p) if kind == "torch nn.Dropout" else Dropout(layer.p)

    def epoch(number: int) -> float:
        loader.set_epoch(number)
        start = time.process_time()
        for batch in loader:
            optimizer.zero_grad()
            loss = torch.nn.functional.binary_cross_entropy_with_logits(model(batch), batch.y.float())
            loss.backward()
            optimizer.step()
        return time.process_time() - start

    kinds = ("torch nn.Dropout", "molssl Dropout")
    cpu, med = interleaved_epochs(kinds, use, epoch, args.epochs)
    print(f"GCN 5x300 (dropout 0.5), BACE {TRAIN_MOLECULES} molecules, batch 32, 1 thread, {args.epochs} interleaved epochs each "
          f"(first left out); CPU s per epoch")  # fmt: skip
    rows = contender_rows(cpu, med, "torch nn.Dropout", "speedup_vs_torch_dropout", model="GCN 5x300 dropout 0.5", dataset="bace",
                          molecules=TRAIN_MOLECULES, batch_size=32, threads=1, epochs=args.epochs)
    if not args.no_record:
        path = append_rows("dropout_speed", rows, command_line())
        print(f"recorded in {path.relative_to(ROOT)}")


if __name__ == "__main__":
    main()

"""Prediction speed, SMILES to numbers, for the default GIN (Hu et al.: 5 layers x 300, hu scheme).

``PropertyPredictor.predict`` (featurize, batch from flat arrays, forward, DataFrame) in fp32 and in
bf16 autocast, against the path users stitch together today, measured in the same run with the same
architecture and weights: ``ogb.utils.smiles2graph`` per molecule -> ``Data`` objects -> PyG
``DataLoader`` -> forward (fp32). The model is untrained: speed does not depend on the weights.

Throughput: ``--rounds`` rounds, each running baseline, fp32 and bf16 once (interleaved, so that a
change in the machine's load hits all three); the ratio to the baseline is taken within each round and
reported as min / median / max over rounds, on the wall clock and on this process's CPU time (with one
thread on a shared machine the wall clock also counts the time the process waits for a core). Each round also times featurization alone (molssl's
``featurize_many`` vs smiles2graph + ``Data``), to show how much of each path is featurization and how
much the shared model.

Model only: the same two models run over batches built beforehand (molssl's ``StoreLoader`` batches,
PyG ``DataLoader`` batches of the stitched ``Data``), so each round also says how much of each path is
the shared model; ``1 / (model share of molssl's path)`` of the baseline's time bounds what any
featurization could give (printed as the bound).

Latency: one SMILES and 32 SMILES -> predictions, molssl vs the stitched path, interleaved; each
repeat takes new molecules (as a user's next request would), median milliseconds of wall clock and of
this process's CPU time (which other processes on a shared machine disturb less). The same repeats
time the parts of both paths on the same molecules: featurization alone, and the model alone on a
batch built beforehand (predict's inference path vs the plain forward). ``--latency-only`` skips the
throughput rounds.

Run:
    python benchmarks/predict_speed.py [--n 2000] [--rounds 5] [--threads 1] [--no-bf16] [--latency-only]
"""

from __future__ import annotations

import argparse
import gzip
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import torch  # noqa: E402

from benchmarks.record import append_rows, command_line  # noqa: E402
from molssl.chem.featurize import featurize_many  # noqa: E402
from molssl.tasks.model import PredictorConfig, PropertyModel, count_parameters  # noqa: E402
from molssl.tasks.predictor import PropertyPredictor  # noqa: E402

CORPUS = ROOT / "datasets" / "moses" / "moses_50k.smi.gz"
BASELINE = "smiles2graph + PyG DataLoader + same GIN fp32 (ogb features)"


def _spread(values: list[float]) -> dict:
    return {"min": round(min(values), 3), "median": round(statistics.median(values), 3), "max": round(max(values), 3)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--n", type=int, default=2000, help="molecules per throughput pass (default 2000)")
    parser.add_argument("--rounds", type=int, default=5, help="interleaved rounds (default 5)")
    parser.add_argument("--batch-size", type=int, default=128)
    parser.add_argument("--threads", type=int, default=None, help="torch threads (default: torch's own)")
    parser.add_argument("--latency-repeats", type=int, default=15)
    parser.add_argument("--no-bf16", action="store_true", help="leave out bf16 autocast (emulated, slow, on CPUs without bf16)")
    parser.add_argument("--latency-only", action="store_true", help="only the latency rows (no throughput rounds)")
    parser.add_argument("--no-record", action="store_true")
    args = parser.parse_args()
    if args.threads is not None:
        torch.set_num_threads(args.threads)

    from ogb.utils import smiles2graph
    from torch_geometric.data import Data
    from torch_geometric.loader import DataLoader

    with gzip.open(CORPUS, "rt") as fh:
        pool = [line.strip() for line in fh][1:]
    smiles = pool[: args.n]
    torch.manual_seed(0)
    predictor = PropertyPredictor(encoder="gin", scheme="hu")
    predictor.model_ = PropertyModel(PredictorConfig(encoder=predictor.encoder_config, task_names=("y",))).eval()
    # the same architecture and weights on OGB's features, for the stitched-together baseline
    ogb_predictor = PropertyPredictor(encoder="gin", scheme="ogb")
    ogb_model = PropertyModel(PredictorConfig(encoder=ogb_predictor.encoder_config, task_names=("y",))).eval()

    def stitched_graphs(batch: list[str]) -> list:
        graphs = []
        for s in batch:
            g = smiles2graph(s)
            graphs.append(Data(x=torch.from_numpy(g["node_feat"]), edge_index=torch.from_numpy(g["edge_index"]),
                               edge_attr=torch.from_numpy(g["edge_feat"]), num_nodes=g["num_nodes"]))  # fmt: skip
        return graphs

    def baseline(batch: list[str]) -> None:
        graphs = stitched_graphs(batch)
        with torch.inference_mode():
            for loader_batch in DataLoader(graphs, batch_size=args.batch_size):
                torch.sigmoid(ogb_model(loader_batch))

    from molssl.data.loader import StoreLoader
    from molssl.nn.onednn import use_onednn_linears
    from molssl.tasks.predict_graphs import model_outputs

    threads = torch.get_num_threads()
    rows: list[dict] = []
    if not args.latency_only:  # throughput rounds
        own_batches = list(StoreLoader(featurize_many(smiles, scheme="hu").graphs, batch_size=args.batch_size))
        stitched_batches = list(DataLoader(stitched_graphs(smiles), batch_size=args.batch_size))
        own_model = use_onednn_linears(PropertyModel(predictor.model_.config).eval())  # as predict runs it
        own_model.load_state_dict(predictor.model_.state_dict())

        def model_only(model, batches: list) -> None:
            with torch.inference_mode():
                for batch in batches:
                    torch.sigmoid(model_outputs(model, batch))  # the plain forward but where predict computes per colour class

        throughput = {
            "molssl predict fp32": lambda: predictor.predict(smiles, batch_size=args.batch_size),
            "molssl predict bf16": lambda: predictor.predict(smiles, batch_size=args.batch_size, precision="bf16"),
            BASELINE: lambda: baseline(smiles),
            "featurization only: molssl featurize_many (hu)": lambda: featurize_many(smiles, scheme="hu"),
            "featurization only: smiles2graph + Data (ogb)": lambda: stitched_graphs(smiles),
            "model only: molssl batches, predict's model": lambda: model_only(own_model, own_batches),
            "model only: PyG DataLoader batches, same GIN": lambda: model_only(ogb_model, stitched_batches),
        }
        if args.no_bf16:
            del throughput["molssl predict bf16"]
        for fn in throughput.values():  # warm-up: the oneDNN probe, first-call allocations, record caches
            fn()
        rates: dict[str, list[float]] = {k: [] for k in throughput}
        cpu_rates: dict[str, list[float]] = {k: [] for k in throughput}
        for _ in range(args.rounds):
            for name, fn in throughput.items():
                t, c = time.perf_counter(), time.process_time()
                fn()
                rates[name].append(len(smiles) / (time.perf_counter() - t))
                cpu_rates[name].append(len(smiles) / (time.process_time() - c))
        ratios = {name: [r / b for r, b in zip(values, rates[BASELINE])] for name, values in rates.items()}
        cpu_ratios = {name: [r / b for r, b in zip(values, cpu_rates[BASELINE])] for name, values in cpu_rates.items()}

        print(f"{len(smiles)} MOSES molecules, default GIN ({count_parameters(predictor.model_):,} parameters), batch "
              f"{args.batch_size}, {threads} threads, {args.rounds} interleaved rounds; ratio to the baseline within each round")  # fmt: skip
        print(f"{'contender':56s} {'mol/s':>8s}  ratio min / median / max   {'mol/CPU-s':>9s}  CPU ratio min / median / max")
        for name, values in rates.items():
            spread, cpu_spread = _spread(ratios[name]), _spread(cpu_ratios[name])
            print(f"{name:56s} {statistics.median(values):8.0f}  {spread['min']:.2f} / {spread['median']:.2f} / {spread['max']:.2f}"
                  f"   {statistics.median(cpu_rates[name]):9.0f}  {cpu_spread['min']:.2f} / {cpu_spread['median']:.2f} / {cpu_spread['max']:.2f}")  # fmt: skip
            rows.append({"what": "predict", "contender": name, "molecules": len(smiles), "batch_size": args.batch_size,
                         "threads": threads, "rounds": args.rounds, "median_mol_per_s": round(statistics.median(values)),
                         "all_mol_per_s": [round(v) for v in values], "speedup_vs_baseline": spread,
                         "median_mol_per_cpu_s": round(statistics.median(cpu_rates[name])),
                         "all_mol_per_cpu_s": [round(v) for v in cpu_rates[name]], "cpu_speedup_vs_baseline": cpu_spread})  # fmt: skip
        share_molssl = statistics.median(rates["molssl predict fp32"]) / statistics.median(rates["featurization only: molssl featurize_many (hu)"])
        share_base = statistics.median(rates[BASELINE]) / statistics.median(rates["featurization only: smiles2graph + Data (ogb)"])
        print(f"featurization share of the time: molssl fp32 {share_molssl:.0%}, baseline {share_base:.0%}")
        model_share = statistics.median(rates["molssl predict fp32"]) / statistics.median(rates["model only: molssl batches, predict's model"])
        base_model_share = statistics.median(rates[BASELINE]) / statistics.median(rates["model only: PyG DataLoader batches, same GIN"])
        bound = [b / m for b, m in zip(rates["model only: molssl batches, predict's model"], rates[BASELINE])]
        print(f"model share of the time: molssl fp32 {model_share:.0%}, baseline {base_model_share:.0%}; bound with molssl's "
              f"model and free featurization: {statistics.median(bound):.2f}x the baseline (min {min(bound):.2f})")  # fmt: skip
        rows.append({"what": "predict_shares", "molecules": len(smiles), "threads": threads, "rounds": args.rounds,
                     "featurization_share_molssl": round(share_molssl, 3), "featurization_share_baseline": round(share_base, 3),
                     "model_share_molssl": round(model_share, 3), "model_share_baseline": round(base_model_share, 3),
                     "bound_vs_baseline": _spread(bound)})  # fmt: skip

    # latency: new molecules every repeat; the parts (featurization, model) show where each path's time goes
    from molssl.graph.batch import to_batch

    def model_part(model, batch) -> None:
        with torch.inference_mode():
            torch.sigmoid(model_outputs(model, batch) if model is predictor.model_ else model(batch))

    latency_pool = pool[args.n :]
    for size in (1, 32):
        predictor.predict(latency_pool[:size])
        baseline(latency_pool[:size])
        times: dict[str, list[float]] = {}
        cpu_times: dict[str, list[float]] = {}
        for r in range(args.latency_repeats):
            batch = latency_pool[(r + 1) * size : (r + 2) * size]
            own_batch = to_batch(featurize_many(batch, scheme="hu").graphs)
            pyg_batch = next(iter(DataLoader(stitched_graphs(batch), batch_size=args.batch_size)))
            contenders = (
                ("molssl predict fp32", lambda: predictor.predict(batch)),
                (BASELINE, lambda: baseline(batch)),
                ("part: molssl featurize_many (hu)", lambda: featurize_many(batch, scheme="hu")),
                ("part: smiles2graph + Data (ogb)", lambda: stitched_graphs(batch)),
                ("part: model, predict's path on its batch", lambda: model_part(predictor.model_, own_batch)),
                ("part: model, plain forward on the PyG batch", lambda: model_part(ogb_model, pyg_batch)),
            )  # fmt: skip
            for name, fn in contenders:
                t, c = time.perf_counter(), time.process_time()
                fn()
                times.setdefault(name, []).append((time.perf_counter() - t) * 1e3)
                cpu_times.setdefault(name, []).append((time.process_time() - c) * 1e3)
        base_ms, base_cpu = statistics.median(times[BASELINE]), statistics.median(cpu_times[BASELINE])
        for name, values in times.items():
            ms, cpu_ms = statistics.median(values), statistics.median(cpu_times[name])
            print(f"latency, {size:2d} SMILES: {name:56s} {ms:8.1f} ms  {base_ms / ms:5.2f}x   CPU {cpu_ms:8.1f} ms  {base_cpu / cpu_ms:5.2f}x")
            rows.append({"what": "predict_latency", "contender": name, "molecules": size, "threads": threads,
                         "repeats": args.latency_repeats, "median_ms": round(ms, 2),
                         "all_ms": [round(v, 2) for v in values], "speedup_vs_baseline": round(base_ms / ms, 3),
                         "median_cpu_ms": round(cpu_ms, 2), "cpu_speedup_vs_baseline": round(base_cpu / cpu_ms, 3),
                         "all_cpu_ms": [round(v, 2) for v in cpu_times[name]]})  # fmt: skip
    if not args.no_record:
        path = append_rows("predict_speed", rows, command_line())
        print(f"recorded in {path.relative_to(ROOT)}")


if __name__ == "__main__":
    main()

"""The architecture comparison of Hu et al. (2020, Table 2) with the released encoders, under molssl's protocol.

For GCN, GraphSAGE and GAT: no pretraining vs. the converted released encoders (``molssl.zoo``,
``hu2020/<arch>_supervised_contextpred``, ``_contextpred``, ``_supervised``), fine-tuned on BBBP, BACE,
ClinTox and SIDER (the embedded copies) with molssl's protocol: deterministic scaffold split 80/10/10,
dropout 0.5, Adam 1e-3, batch 32, mean readout, ``--epochs`` epochs (Hu et al.: 100); test ROC-AUC at
the best-validation epoch and at the last epoch; seeds 0..N-1 (Hu et al.: 10). The baseline of each
architecture is the same encoder (same config, GAT with the legacy softmax of the released models)
from a random initialization. ``linear_probe`` rows freeze the encoder (pretrained or random) and train
the readout's head only.

Every run appends one row (arch, init, dataset, seed, mode, epochs) to
``results/zoo_transfer.jsonl`` as soon as it ends; a rerun skips the rows already there, so a killed run
resumes and more seeds can be added later. The default order puts the most informative rows first:
GCN none vs. supervised_contextpred (seed 0), then GAT, GraphSAGE, then contextpred, then seeds 1, 2,
then the linear probes.

Run:
    nohup python benchmarks/zoo_transfer.py --epochs 50 --seeds 0 1 2 --jobs 1 > benchmarks/_work/zoo_transfer.log 2>&1 &
    python benchmarks/zoo_transfer.py --plan          # what would run, in order
    python benchmarks/zoo_transfer.py --report        # the tables (Markdown), the gains with their seed spread,
                                                      # and datasets/pretrain-gnns/transfer.json
"""

from __future__ import annotations

import argparse
import json
import math
import statistics
import sys
import time
from concurrent.futures import ProcessPoolExecutor, as_completed
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from benchmarks.record import RESULTS, append_rows, command_line, todo_or_plan  # noqa: E402

SUITE = "zoo_transfer"
DATASETS = ["bbbp", "bace", "clintox", "sider"]
ARCHS = {"gcn": "gcn", "sage": "graphsage", "gat": "gat"}  # molssl conv -> the release's file prefix
INITS = ["none", "supervised_contextpred", "contextpred", "supervised"]
MODES = ["full", "linear_probe"]
TRANSFER_JSON = ROOT / "datasets" / "pretrain-gnns" / "transfer.json"
# Hu et al. 2020, Table 2: test ROC-AUC (%) averaged over the 8 MoleculeNet sets, no pretraining and Sup.+ContextPred
HU_TABLE2 = {"gcn": (68.9, 72.2), "sage": (68.3, 70.3), "gat": (66.8, 60.3)}


def zoo_name(arch: str, init: str) -> str | None:
    return None if init == "none" else f"hu2020/{ARCHS[arch]}_{init}"


def fit_one(arch: str, dataset: str, seed: int, mode: str, epochs: int, encoder_dir: str | None, frozen_feature_cache: bool = True):
    """One fine-tuning run of the protocol (one torch thread); returns the fitted ``PropertyPredictor``.

    ``frozen_feature_cache``: linear probes train the head on the frozen encoder's outputs computed once per
    molecule (``molssl.tasks.frozen_features``; the same run to float rounding); False runs the encoder per batch.
    """
    import torch

    torch.set_num_threads(1)
    from molssl.tasks.finetune import FinetuneConfig
    from molssl.tasks.predictor import PropertyPredictor
    from molssl.zoo import get_entry

    # the baseline is the converted architecture itself (GAT: legacy softmax), from a random init
    config = get_entry(f"hu2020/{ARCHS[arch]}_supervised_contextpred").encoder_config()
    config = type(config).from_dict({**config.to_dict(), "dropout": 0.5})
    predictor = PropertyPredictor(encoder=config, readout="mean")
    finetune = FinetuneConfig(epochs=epochs, batch_size=32, lr=1e-3, seeds=(seed,), mode=mode, frozen_feature_cache=frozen_feature_cache)
    predictor.fit(dataset, config=finetune, pretrained=encoder_dir, atom_order="input")  # pretrain-gnns featurizes as written
    return predictor


def run_one(arch: str, init: str, dataset: str, seed: int, mode: str, epochs: int, encoder_dir: str | None) -> dict:
    start, cpu = time.perf_counter(), time.process_time()
    predictor = fit_one(arch, dataset, seed, mode, epochs, encoder_dir)
    s = predictor.metrics_["per_seed"][0]
    return {
        "what": "zoo_transfer", "arch": arch, "init": init, "encoder": zoo_name(arch, init), "dataset": dataset,
        "seed": seed, "mode": mode, "epochs": epochs, "metric": predictor.metrics_["metric"],
        "test_at_best_valid": s["test_at_best"], "valid_at_best": s["valid_at_best"], "best_epoch": s["best_epoch"],
        "test_at_last_epoch": s["test_at_last"], "valid_at_last_epoch": s["valid_at_last"],
        "num_parameters": predictor.info_["num_parameters"], "minutes": round((time.perf_counter() - start) / 60, 2),
        "cpu_minutes": round((time.process_time() - cpu) / 60, 2),
        # linear probes since the cache: the frozen encoder ran once per molecule (equal results, tests/tasks/test_frozen_features.py)
        "frozen_feature_cache": mode == "linear_probe",
    }  # fmt: skip


def recorded() -> list[dict]:
    """The recorded rows, the first of each run key only: two processes working through the same plan (one
    started before the other recorded its rows) would record a run twice, and a second copy is no new seed."""
    path = RESULTS / f"{SUITE}.jsonl"
    rows = [json.loads(line) for line in path.read_text().splitlines() if line.strip()] if path.exists() else []
    first: dict[tuple, dict] = {}
    for row in rows:
        first.setdefault(_key(row), row)
    if len(first) < len(rows):
        print(f"{len(rows) - len(first)} rows repeat a recorded run (same arch, init, dataset, seed, mode, epochs); the first of each is used",
              file=sys.stderr)  # fmt: skip
    return list(first.values())


def _key(row: dict) -> tuple:
    return row["arch"], row["init"], row["dataset"], row["seed"], row["mode"], row["epochs"]


def plan(archs: list[str], inits: list[str], datasets: list[str], seeds: list[int], modes: list[str], epochs: int) -> list[tuple]:
    """Every run, most informative first: full fine-tuning of seed 0 by arch (GCN, GAT, SAGE) and init, then more seeds, then probes."""
    arch_order = [a for a in ("gcn", "gat", "sage") if a in archs]
    init_order = [i for i in INITS if i in inits]
    runs = []
    for mode in [m for m in MODES if m in modes]:
        for seed in seeds:
            # seed 0 of the headline comparison (none vs supervised_contextpred) before contextpred and supervised
            for group in ([i for i in init_order if i in ("none", "supervised_contextpred")],
                          [i for i in init_order if i not in ("none", "supervised_contextpred")]):  # fmt: skip
                for arch in arch_order:
                    for init in group:
                        for dataset in datasets:
                            runs.append((arch, init, dataset, seed, mode, epochs))
    return runs


def _stats(values: list[float]) -> dict:
    return {"mean": statistics.mean(values), "std": statistics.stdev(values) if len(values) > 1 else 0.0, "n": len(values)}


def _cell(values: list[float]) -> str:
    s = _stats(values)
    return f"{s['mean']:.1f} +- {s['std']:.1f} ({s['n']})" if s["n"] > 1 else f"{s['mean']:.1f} (1)"


def _number(value: float, fmt: str) -> str:
    return "n/a" if math.isnan(value) else fmt.format(value)


def _groups(rows: list[dict], epochs: int, field: str) -> dict[tuple, dict[str, list[float]]]:
    groups: dict[tuple, dict[str, list[float]]] = {}
    for r in rows:
        if r["epochs"] == epochs:
            groups.setdefault((r["mode"], r["arch"], r["init"]), {}).setdefault(r["dataset"], []).append(100 * r[field])
    return groups


def table(rows: list[dict], epochs: int, field: str = "test_at_best_valid") -> str:
    """Mean +- std (seeds) per dataset, the 4-set average and its difference to no pretraining, per mode."""
    groups = _groups(rows, epochs, field)
    lines = []
    for mode in MODES:
        keys = sorted((k for k in groups if k[0] == mode), key=lambda k: (list(ARCHS).index(k[1]), INITS.index(k[2])))
        if not keys:
            continue
        lines += [f"{mode} ({field.replace('_', ' ')}, {epochs} epochs)", "",
                  "| arch | init | " + " | ".join(DATASETS) + " | average | vs none | Hu et al. avg (8 sets) |",
                  "|---" * (len(DATASETS) + 5) + "|"]  # fmt: skip
        for _, arch, init in keys:
            by_set = groups[(mode, arch, init)]
            cells = [_cell(by_set[d]) if d in by_set else "n/a" for d in DATASETS]
            avg = statistics.mean(statistics.mean(by_set[d]) for d in DATASETS) if all(d in by_set for d in DATASETS) else math.nan
            base = groups.get((mode, arch, "none"), {})
            base_avg = statistics.mean(statistics.mean(base[d]) for d in DATASETS) if all(d in base for d in DATASETS) else math.nan
            paper = {"none": HU_TABLE2[arch][0], "supervised_contextpred": HU_TABLE2[arch][1]}.get(init) if mode == "full" else None
            delta = "" if init == "none" else _number(avg - base_avg, "{:+.1f}")
            lines.append(f"| {arch} | {init} | " + " | ".join(cells) + f" | {_number(avg, '{:.1f}')} | {delta} | "
                         + f"{paper if paper is not None else ''} |")  # fmt: skip
        lines.append("")
    return "\n".join(lines)


def gains(rows: list[dict], epochs: int, field: str = "test_at_best_valid") -> str:
    """Per mode, arch and pretrained init: the gain over the same architecture from a random init on each set,
    marked ``*`` where the two rows' seed ranges do not overlap, and the 4-set average gain seed by seed (seeds
    with every set recorded for both rows), so whether a gain is beyond the seed spread can be read off."""
    cells: dict[tuple, dict[int, float]] = {}
    for r in rows:
        if r["epochs"] == epochs:
            cells.setdefault((r["mode"], r["arch"], r["init"], r["dataset"]), {})[r["seed"]] = 100 * r[field]
    lines = [f"gain over a random init ({field.replace('_', ' ')}, {epochs} epochs; * = seed ranges apart)", "",
             "| mode | arch | init | " + " | ".join(DATASETS) + " | average | 4-set average gain per seed |",
             "|---" * (len(DATASETS) + 5) + "|"]  # fmt: skip
    for mode in MODES:
        for arch in ARCHS:
            for init in INITS[1:]:
                pairs = [(cells.get((mode, arch, "none", d), {}), cells.get((mode, arch, init, d), {})) for d in DATASETS]
                if not all(a and b for a, b in pairs):
                    continue
                parts = []
                for a, b in pairs:
                    apart = min(b.values()) > max(a.values()) or max(b.values()) < min(a.values())
                    parts.append(f"{statistics.mean(b.values()) - statistics.mean(a.values()):+.1f}{'*' if apart else ''}")
                average = statistics.mean(statistics.mean(b.values()) - statistics.mean(a.values()) for a, b in pairs)
                seeds = sorted(set.intersection(*(set(a) & set(b) for a, b in pairs)))
                per_seed = " / ".join(f"{statistics.mean(b[s] - a[s] for a, b in pairs):+.1f}" for s in seeds)
                lines.append(f"| {mode} | {arch} | {init} | " + " | ".join(parts) + f" | {average:+.1f} | {per_seed} |")
    return "\n".join(lines) + "\n"


def summary(rows: list[dict], epochs: int, command: str) -> dict:
    """The plain-data summary ``molssl zoo show`` prints (``molssl.zoo.measured``)."""
    encoders: dict[str, dict] = {}
    arch_of = {}
    for (mode, arch, init), by_set in _groups(rows, epochs, "test_at_best_valid").items():
        name = zoo_name(arch, init) or f"none/{arch}"
        arch_of[name] = arch
        encoders.setdefault(name, {})[mode] = {d: _stats(by_set[d]) for d in DATASETS if d in by_set}
    for arch, prefix in ARCHS.items():
        for init in INITS[1:]:
            arch_of.setdefault(f"hu2020/{prefix}_{init}", arch)
    seeds = sorted({r["seed"] for r in rows if r["epochs"] == epochs})
    protocol = (f"molssl fine-tuning, scaffold split, dropout 0.5, Adam 1e-3, batch 32, mean readout, {epochs} epochs, "
                f"seeds {seeds}; benchmarks/zoo_transfer.py")  # fmt: skip
    return {"protocol": protocol, "command": command, "arch_of": arch_of, "encoders": encoders}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--archs", nargs="+", default=list(ARCHS), choices=list(ARCHS))
    parser.add_argument("--inits", nargs="+", default=INITS[:3], choices=INITS)
    parser.add_argument("--probe-inits", nargs="+", default=INITS, choices=INITS, help="inits of the linear-probe rows")
    parser.add_argument("--datasets", nargs="+", default=DATASETS)
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--modes", nargs="+", default=MODES, choices=MODES)
    parser.add_argument("--epochs", type=int, default=50, help="fine-tuning epochs (Hu et al.: 100)")
    parser.add_argument("--jobs", type=int, default=1, help="processes, one torch thread each")
    parser.add_argument("--plan", action="store_true", help="list the runs still to do, in order, and exit")
    parser.add_argument("--report", action="store_true", help="print the tables of recorded rows and write transfer.json")
    args = parser.parse_args()
    if args.report:
        rows = recorded()
        commands = sorted({r["command"] for r in rows if r["epochs"] == args.epochs})
        for field in ("test_at_best_valid", "test_at_last_epoch"):
            print(table(rows, args.epochs, field))
            print(gains(rows, args.epochs, field))
        TRANSFER_JSON.write_text(json.dumps(summary(rows, args.epochs, "; ".join(commands)), indent=2) + "\n")
        print(f"wrote {TRANSFER_JSON.relative_to(ROOT)}")
        return
    done = {_key(r) for r in recorded()}
    runs = [r for r in plan(args.archs, args.inits, args.datasets, args.seeds, ["full"], args.epochs) if "full" in args.modes]
    if "linear_probe" in args.modes:
        runs += plan(args.archs, args.probe_inits, args.datasets, args.seeds, ["linear_probe"], args.epochs)
    todo = todo_or_plan(runs, done, args.plan)
    if todo is None:
        return
    from molssl.zoo import pretrained_dir

    # resolve (convert and cache) every encoder once, here, before the workers read them
    encoders = {name: str(pretrained_dir(name)) for name in {zoo_name(a, i) for a, i, *_ in todo} - {None}}
    command = command_line()
    print(f"{len(todo)} runs to do ({len(runs) - len(todo)} recorded); {args.jobs} jobs x 1 thread", flush=True)
    with ProcessPoolExecutor(max_workers=args.jobs) as pool:
        futures = {pool.submit(run_one, *r, encoders.get(zoo_name(r[0], r[1]))): r for r in todo}
        for future in as_completed(futures):  # record each run as soon as it ends
            try:
                row = future.result()
            except Exception as exc:  # one failed run is reported and left for the next rerun; the others go on
                print(f"run {futures[future]} failed: {type(exc).__name__}: {exc}", flush=True)
                continue
            append_rows(SUITE, [row], command)
            print(json.dumps(row), flush=True)
    print(table(recorded(), args.epochs))


if __name__ == "__main__":
    main()

"""The report of a transfer experiment: a Markdown table beside the literature and the compute-vs-gain curve.

Numbers are percent. Per variant and pretraining length: per dataset the mean +- std (unbiased) over
seeds and their count; the average over datasets (the mean of the per-dataset means); its seed std
(the std over seeds of each seed's average over the datasets, from the seeds that have every dataset);
the difference to ``none``, and whether it exceeds the seed std of both (else it is within the noise
of the seeds). Then, paired by (dataset, seed) with ``none``, each seed's difference, the cells where the
variant is higher and its mean best-validation score (``paired_table``). Rows whose metric was undefined
(null) are left out.
"""

from __future__ import annotations

import os
import statistics
from pathlib import Path
from typing import Any, Sequence

from molssl.eval.literature import SOURCES, TRANSFER_ROC_AUC, TRANSFER_SOURCE
from molssl.files import write_text_atomic
from molssl.pretrain.plot import save_figure
from molssl.tasks.transfer import read_rows
from molssl.tasks.transfer_config import NONE

FIELDS = {"test_at_best_valid": "at the best-validation epoch", "test_at_last_epoch": "at the last epoch"}
TABLE = "table.md"
CURVE = "curve.png"


def _std(values: Sequence[float]) -> float | None:
    return statistics.stdev(values) if len(values) > 1 else None


def _datasets(rows: Sequence[dict[str, Any]]) -> list[str]:
    return list(dict.fromkeys(r["dataset"] for r in rows))


def summarize(rows: Sequence[dict[str, Any]], field: str = "test_at_best_valid") -> list[dict[str, Any]]:
    """Per (variant, pretraining steps), in report order: the numbers the table and the curve show (percent).

    Returns:
        Dicts with ``variant``, ``pretrain_steps``, ``graphs_seen``, ``datasets`` ({name: {"mean", "std",
        "n"}}), ``average`` (None unless every dataset has a value), ``seed_std`` and ``complete_seeds``.
    """
    datasets = _datasets(rows)
    groups: dict[tuple[str, int], dict[str, dict[int, float]]] = {}
    graphs: dict[tuple[str, int], int] = {}
    for r in rows:
        if r.get(field) is not None:
            groups.setdefault((r["variant"], r["pretrain_steps"]), {}).setdefault(r["dataset"], {})[r["seed"]] = 100 * r[field]
            graphs[(r["variant"], r["pretrain_steps"])] = r.get("graphs_seen", 0)
    variants = list(dict.fromkeys([NONE] + [r["variant"] for r in rows]))
    out = []
    for key in sorted(groups, key=lambda k: (variants.index(k[0]), k[1])):
        by_set = groups[key]
        stats = {d: {"mean": statistics.mean(v.values()), "std": _std(list(v.values())), "n": len(v)} for d, v in by_set.items()}
        complete = sorted(set.intersection(*(set(by_set.get(d, {})) for d in datasets)))
        per_seed = [statistics.mean(by_set[d][s] for d in datasets) for s in complete]
        average = statistics.mean(stats[d]["mean"] for d in datasets) if all(d in stats for d in datasets) else None
        out.append({"variant": key[0], "pretrain_steps": key[1], "graphs_seen": graphs[key], "datasets": stats,
                    "average": average, "seed_std": _std(per_seed), "complete_seeds": len(complete)})  # fmt: skip
    return out


def _cell(mean: float | None, std: float | None, n: int) -> str:
    if mean is None:
        return "n/a"
    return f"{mean:.1f} +- {std:.1f} ({n})" if std is not None else f"{mean:.1f} ({n})"


def _literature(variant: str, datasets: Sequence[str]) -> tuple[str, str]:
    """The literature's average over ``datasets`` (when it has them all) and over its eight sets."""
    published = TRANSFER_ROC_AUC.get(variant, {})
    these = f"{statistics.mean(published[d] for d in datasets):.1f}" if published and all(d in published for d in datasets) else ""
    return these, str(published.get("avg8", ""))


def _section(rows: Sequence[dict[str, Any]], field: str) -> list[str]:
    datasets = _datasets(rows)
    summary = summarize(rows, field)
    metric = rows[0].get("metric", "roc_auc").replace("roc_auc", "ROC-AUC")
    base = next((s for s in summary if s["variant"] == NONE), None)
    lines = [f"### test {metric} (%) {FIELDS[field]}", "",
             "| variant | pretrain steps | graphs seen | " + " | ".join(datasets)
             + " | average +- seed std (seeds) | vs none | beyond seed std of both | literature (these sets) | literature (8 sets) |",
             "|---" * (len(datasets) + 8) + "|"]  # fmt: skip
    for s in summary:
        cells = [_cell(s["datasets"][d]["mean"], s["datasets"][d]["std"], s["datasets"][d]["n"]) if d in s["datasets"] else "n/a" for d in datasets]
        delta, beyond = "", ""
        if s["variant"] != NONE and base is not None and s["average"] is not None and base["average"] is not None:
            diff = s["average"] - base["average"]
            delta = f"{diff:+.1f}"
            if s["seed_std"] is None or base["seed_std"] is None:
                beyond = "n/a (needs 2 seeds)"
            else:
                beyond = "yes" if abs(diff) > s["seed_std"] and abs(diff) > base["seed_std"] else "no"
        these, eight = _literature(s["variant"], datasets)
        lines.append(f"| {s['variant']} | {s['pretrain_steps']} | {s['graphs_seen']:,} | " + " | ".join(cells)
                     + f" | {_cell(s['average'], s['seed_std'], s['complete_seeds'])} | {delta} | {beyond} | {these} | {eight} |")  # fmt: skip
    return lines + [""]


def paired_table(rows: Sequence[dict[str, Any]], field: str = "test_at_best_valid") -> list[str]:
    """Markdown lines comparing each pretrained row set with ``none`` cell by cell: every row shares its split and
    fine-tuning seed with the ``none`` row of its (dataset, seed), so per seed the mean over datasets of the
    difference (points), the (dataset, seed) cells where the variant is higher, and the mean best-validation
    score (the only score that may choose a snapshot for later experiments). Rows without ``field`` are left out.
    """
    score = {(r["variant"], r["pretrain_steps"], r["dataset"], r["seed"]): r for r in rows if r.get(field) is not None}
    none = {(d, s): r for (v, _, d, s), r in score.items() if v == NONE}
    if not none:
        return []
    seeds = sorted({s for _, s in none})
    lines = [f"### paired with none (same dataset and seed), test {FIELDS[field]}", "",
             "| variant | pretrain steps | vs none per seed (" + " / ".join(map(str, seeds)) + ") | cells higher | mean valid at best |",
             "|---|---|---|---|---|"]  # fmt: skip
    for variant, steps in sorted({(v, n) for v, n, _, _ in score if v != NONE}):
        cells = {key: score[variant, steps, *key] for key in none if (variant, steps, *key) in score}
        per_seed = []
        for seed in seeds:
            gains = [100 * (r[field] - none[key][field]) for key, r in cells.items() if key[1] == seed]
            per_seed.append(f"{statistics.mean(gains):+.1f}" if gains else "-")
        higher = sum(r[field] > none[key][field] for key, r in cells.items())
        valid = [r["valid_at_best"] for r in cells.values() if r.get("valid_at_best") is not None]
        mean_valid = f"{100 * statistics.mean(valid):.1f}" if valid else "n/a"
        lines.append(f"| {variant} | {steps} | {' / '.join(per_seed)} | {higher} of {len(cells)} | {mean_valid} |")
    return lines + [""]


def transfer_table(rows: Sequence[dict[str, Any]]) -> str:
    """The Markdown report of transfer rows (``molssl.tasks.transfer``): test at best valid and at the last epoch, literature beside.

    Raises:
        ValueError: no rows.
    """
    if not rows:
        raise ValueError("no transfer rows to report yet")
    datasets = _datasets(rows)
    lines = ["Per dataset: mean +- std over seeds (count). Average: mean over the datasets of the per-dataset means; seed "
             "std: std over seeds of each seed's average over the datasets. Beyond seed std of both: |vs none| exceeds the "
             "seed std of the variant and of none. Literature: published GIN results (sources below), other protocols.", ""]  # fmt: skip
    for field in FIELDS:
        lines += _section(rows, field)
    lines += paired_table(rows)
    quoted = [v for v in dict.fromkeys(r["variant"] for r in rows) if v in TRANSFER_ROC_AUC]
    if quoted:
        lines += ["### Literature (test ROC-AUC %, GIN)", "", "| variant | " + " | ".join(datasets) + " | 8 sets | source |",
                  "|---" * (len(datasets) + 3) + "|"]  # fmt: skip
        for v in quoted:
            lines.append(f"| {v} | " + " | ".join(str(TRANSFER_ROC_AUC[v].get(d, "")) for d in datasets)
                         + f" | {TRANSFER_ROC_AUC[v].get('avg8', '')} | {TRANSFER_SOURCE[v]} |")  # fmt: skip
        lines += [""] + [f"- {key}: {SOURCES[key]}" for key in dict.fromkeys(TRANSFER_SOURCE[v] for v in quoted)] + [""]
    return "\n".join(lines)


def transfer_curve_plot(rows: Sequence[dict[str, Any]], path: str | os.PathLike, field: str = "test_at_best_valid") -> Path:
    """Plot the average test metric over the datasets against pretraining graphs seen, as a PNG at ``path``.

    One line per variant with error bars of its seed std; ``none`` as a horizontal band (mean +- seed std).
    Written to a temporary file and renamed, so a reader never sees half a picture.
    """
    import matplotlib

    matplotlib.use("Agg", force=False)
    import matplotlib.pyplot as plt

    path = Path(path)
    summary = [s for s in summarize(rows, field) if s["average"] is not None]
    fig, ax = plt.subplots(figsize=(7.5, 4.8))
    for s in (s for s in summary if s["variant"] == NONE):
        ax.axhline(s["average"], color="0.3", linewidth=1.2, label="none (mean +- seed std)")
        if s["seed_std"] is not None:
            ax.axhspan(s["average"] - s["seed_std"], s["average"] + s["seed_std"], color="0.5", alpha=0.2)
    for variant in dict.fromkeys(s["variant"] for s in summary if s["variant"] != NONE):
        points = [s for s in summary if s["variant"] == variant]
        ax.errorbar([s["graphs_seen"] for s in points], [s["average"] for s in points], yerr=[s["seed_std"] or 0.0 for s in points],
                    marker="o", capsize=3, linewidth=1.4, label=variant)  # fmt: skip
    if any(s["graphs_seen"] > 0 for s in summary):
        ax.set_xscale("log")
    ax.set_xlabel("pretraining graphs seen (steps x batch size)")
    ax.set_ylabel(f"average test ROC-AUC (%) {FIELDS[field]}")
    ax.set_title("Transfer vs. pretraining compute: " + ", ".join(_datasets(rows)), fontsize=10)
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8)
    fig.tight_layout()
    return save_figure(fig, path, dpi=110)


def write_transfer_report(out_dir: str | os.PathLike) -> tuple[Path, Path]:
    """Write ``table.md`` and ``curve.png`` into an experiment directory from its rows.

    Raises:
        ValueError: the directory has no rows yet.
    """
    out = Path(out_dir)
    rows = read_rows(out)
    if not rows:
        raise ValueError(f"{out}: no rows in {out / 'rows.jsonl'} yet; run the experiment first")
    table = out / TABLE
    write_text_atomic(table, f"# Transfer: fine-tuning after pretraining ({out.name})\n\n" + transfer_table(rows) + "\n")
    return table, transfer_curve_plot(rows, out / CURVE)

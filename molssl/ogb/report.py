"""Harness records -> the Markdown table of an OGB leaderboard, with what a reader must know under it.

The columns are the leaderboard's: Rank, Method, Ext. data, Test <metric>, Validation <metric>,
Contact, References, #Params, Hardware, Date; scores as ``mean ± std`` over the seeds (unbiased std).
Below each table, one line per method says what the numbers cannot: unfinished seeds, fewer than the
10 seeds the leaderboard asks for, data that is not the official release, non-standard features, the
external data, and how the parameters were counted.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, Mapping, Sequence

from molssl.ogb.catalog import get_ogb_dataset

LEADERBOARD_SEEDS = 10


def _cell(text: Any) -> str:
    return str(text if text is not None else "").replace("|", "\\|").replace("\n", " ")


def mean_std(stats: Mapping[str, Any], digits: int = 4) -> str:
    """``"0.7707 ± 0.0149"``; ``"0.7707"`` from a single seed; ``"n/a"`` from none."""
    if stats.get("mean") is None:
        return "n/a"
    if stats.get("std") is None:
        return f"{stats['mean']:.{digits}f}"
    return f"{stats['mean']:.{digits}f} ± {stats['std']:.{digits}f}"


def _date(record: Mapping[str, Any]) -> str:
    stamp = record.get("updated") or record.get("created")
    try:
        return datetime.fromisoformat(stamp).strftime("%b %d, %Y")
    except (TypeError, ValueError):
        return ""


def _hardware(record: Mapping[str, Any]) -> str:
    seen: list[str] = []
    for seed in record.get("seeds", {}).values():
        if seed.get("hardware") and seed["hardware"] not in seen:
            seen.append(seed["hardware"])
    return "; ".join(seen)


def leaderboard_row(record: Mapping[str, Any]) -> dict[str, str]:
    """One record as the leaderboard's columns (strings)."""
    info = get_ogb_dataset(record["dataset"])
    summary = record["summary"]
    external = record.get("external_data") or {}
    ext = "No"
    if external.get("used"):
        ext = f"Yes ({external['description']})" if external.get("description") else "Yes"
    return {
        "Method": record["method"],
        "Ext. data": ext,
        f"Test {info.metric_display}": mean_std(summary["test"]),
        f"Validation {info.metric_display}": mean_std(summary["valid"]),
        "Contact": record.get("contact", ""),
        "References": record.get("references", ""),
        "#Params": f"{record['num_parameters']['all_stages']:,}",
        "Hardware": _hardware(record),
        "Date": _date(record),
    }


def notes(record: Mapping[str, Any]) -> list[str]:
    """What a reader of the row must know: completeness, data, features, external data, parameters."""
    summary, method = record["summary"], record["method"]
    out = []
    done, requested = summary["finished_seeds"], summary["requested_seeds"]
    if not summary["complete"]:
        out.append(f"{len(done)} of {len(requested)} seeds finished ({', '.join(map(str, done)) or 'none'}); rerun the same command to finish")
    if len(requested) < LEADERBOARD_SEEDS:
        out.append(f"{len(requested)} seed(s); the leaderboard asks for {LEADERBOARD_SEEDS} (seeds 0-9)")
    data = record.get("data", {})
    if not data.get("official", True):
        prov = data.get("provenance")
        if prov is not None:
            out.append(f"data built by molssl from {prov.get('source', 'another source')}, not the official OGB release: not a leaderboard result")
        else:
            reasons = "; ".join(data.get("not_official_because") or ["no reason recorded"])
            out.append(f"data not verified as the official OGB release ({reasons}): not a leaderboard result")
    features = record.get("features", {})
    if features.get("features") not in (None, "full"):
        out.append(f"features: {features.get('source')}")
    if features.get("unfeaturizable"):
        out.append(f"{len(features['unfeaturizable'])} molecule(s) the scheme cannot represent were scored as graphs without atoms")
    config = record.get("config", {})
    if config.get("epochs") != 100:
        out.append(f"{config.get('epochs')} epochs (the official baselines train 100)")
    external = record.get("external_data") or {}
    if external.get("used") and not external.get("description"):
        out.append("uses external data (a pretrained encoder) whose source is not recorded: name it before submitting")
    params = record.get("num_parameters", {})
    if params.get("reserved_embedding_rows"):
        out.append(f"#Params counts every parameter, including {params['reserved_embedding_rows']:,} mask-token embedding rows that "
                   f"OGB's features never index ({params['model_without_reserved_rows']:,} without them)")  # fmt: skip
    if params.get("pretraining_stage_unknown"):
        out.append("#Params: the checkpoint does not record its pretraining-stage parameter count; only the fine-tuned model is counted")
    if not summary.get("evaluator_matches_protocol", True):
        out.append("on some seed molssl's own selection differs from the Evaluator's on the raw outputs; the Evaluator's numbers "
                   "are reported (see the record)")
    return [f"{method}: {n}" for n in out]


def _rank_key(record: Mapping[str, Any], higher_is_better: bool) -> float:
    mean = record["summary"]["test"]["mean"]
    if mean is None:
        return float("inf")
    return -mean if higher_is_better else mean


def markdown_table(records: Sequence[Mapping[str, Any]]) -> str:
    """A leaderboard-style Markdown table per dataset, ranked by mean test score, with notes."""
    by_dataset: dict[str, list[Mapping[str, Any]]] = {}
    for record in records:
        by_dataset.setdefault(record["dataset"], []).append(record)
    blocks = []
    for name, group in by_dataset.items():
        info = get_ogb_dataset(name)

        ranked = sorted(group, key=lambda record, better_high=info.higher_is_better: _rank_key(record, better_high))
        rows = [leaderboard_row(r) for r in ranked]
        columns = ["Rank", *rows[0]]
        lines = [f"### {name} ({info.metric_display})", "", "| " + " | ".join(columns) + " |", "|" + "---|" * len(columns)]
        for rank, row in enumerate(rows, start=1):
            lines.append("| " + " | ".join([str(rank), *(_cell(v) for v in row.values())]) + " |")
        extra = [n for r in ranked for n in notes(r)]
        if extra:
            lines += [""] + [f"- {_cell(n)}" for n in extra]
        blocks.append("\n".join(lines))
    return "\n\n".join(blocks)


__all__ = ["LEADERBOARD_SEEDS", "leaderboard_row", "markdown_table", "mean_std", "notes"]

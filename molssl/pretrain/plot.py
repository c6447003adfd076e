"""The loss curve of a pretraining run as a PNG: loss, the method's own metrics, and the collapse monitors."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Sequence

from molssl.files import staged_file

#: monitor columns drawn under the loss when present in the rows
MONITOR_KEYS = ("effective_rank", "emb_std", "uniformity", "alignment")
#: columns of every row that are bookkeeping, not something the method learns (and the loop's throughput
#: columns ``<unit>_per_s``, ``<unit>_seen``: ``graphs_per_s``, ``images_seen``, ...)
LOOP_KEYS = ("step", "epoch", "loss", "lr", "collapse_warning")
LOOP_SUFFIXES = ("_per_s", "_seen")


def method_metric_keys(rows: Sequence[dict]) -> list[str]:
    """The numeric columns a method logged besides its loss (e.g. ``atom_acc``, ``bond_loss``), in first-seen order."""
    keys: dict[str, None] = {}
    for row in rows:
        for key, value in row.items():
            if key in LOOP_KEYS or key in MONITOR_KEYS or key.endswith(LOOP_SUFFIXES):
                continue
            if isinstance(value, (int, float)) and not isinstance(value, bool):
                keys.setdefault(key)
    return list(keys)


def plot_curves(rows: Sequence[dict], path: str | os.PathLike, title: str = "", min_effective_rank: float | None = None) -> Path:
    """Draw ``loss`` against ``step``, each method metric and each logged monitor in its own panel, into a PNG.

    Method metrics are the other numeric columns a method logs (``method_metric_keys``: ``atom_acc`` of
    attribute masking, ...). The effective-rank panel shows the collapse threshold as a labelled dashed
    line, and rows the loop flagged as collapsed are marked in red on every panel.

    Written to a temporary file and renamed, so a reader never sees half a picture.
    """
    import matplotlib

    matplotlib.use("Agg", force=False)
    import matplotlib.pyplot as plt

    path = Path(path)
    monitors = method_metric_keys(rows) + [k for k in MONITOR_KEYS if any(k in r for r in rows)]
    fig, axes = plt.subplots(1 + len(monitors), 1, figsize=(7, 2.6 * (1 + len(monitors))), sharex=True, squeeze=False)
    steps = [r["step"] for r in rows]
    ax = axes[0, 0]
    dots = {"marker": "o", "markersize": 3} if len(rows) <= 20 else {}  # a short run's few rows: a line alone may show nothing
    ax.plot(steps, [r["loss"] for r in rows], color="tab:blue", linewidth=1.2, **dots)
    flagged = [r for r in rows if r.get("collapse_warning")]
    if flagged:
        ax.scatter([r["step"] for r in flagged], [r["loss"] for r in flagged], color="tab:red", s=12, zorder=3, label="collapse warning")
        ax.legend(loc="upper right", fontsize=8)
    ax.set_ylabel("loss")
    ax.set_title(title)
    ax.grid(alpha=0.3)
    for i, key in enumerate(monitors, start=1):
        pts = [(r["step"], r[key]) for r in rows if key in r]
        axes[i, 0].plot([p[0] for p in pts], [p[1] for p in pts], color="tab:orange", linewidth=1.2, **dots)
        axes[i, 0].set_ylabel(key)
        if key == "effective_rank" and min_effective_rank is not None:
            axes[i, 0].axhline(min_effective_rank, color="tab:red", linestyle="--", linewidth=1,
                               label=f"collapse warning below {min_effective_rank:g}")
            axes[i, 0].legend(loc="upper right", fontsize=8)
        marked = [(r["step"], r[key]) for r in flagged if key in r]
        if marked:
            axes[i, 0].scatter([p[0] for p in marked], [p[1] for p in marked], color="tab:red", s=12, zorder=3)
        axes[i, 0].grid(alpha=0.3)
    axes[-1, 0].set_xlabel("step")
    fig.tight_layout()
    return save_figure(fig, path, dpi=100)


def save_figure(fig, path: str | os.PathLike, dpi: int = 100) -> Path:
    """Write a matplotlib figure to ``path`` atomically (``molssl.files.staged_file``) and close it."""
    import matplotlib.pyplot as plt

    path = Path(path)
    try:
        with staged_file(path, suffix=path.suffix) as tmp:
            fig.savefig(tmp, dpi=dpi)
    finally:
        plt.close(fig)
    return path

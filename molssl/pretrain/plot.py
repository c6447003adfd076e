"""The loss curve of a pretraining run as a PNG: loss, and the collapse monitors when they were logged."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Sequence

#: monitor columns drawn under the loss when present in the rows
MONITOR_KEYS = ("effective_rank", "emb_std", "uniformity", "alignment")


def plot_curves(rows: Sequence[dict], path: str | os.PathLike, title: str = "", min_effective_rank: float | None = None) -> Path:
    """Draw ``loss`` against ``step`` (and each logged monitor in its own panel) into a PNG at ``path``.

    The effective-rank panel shows the collapse threshold as a dashed line, and rows the loop flagged
    as collapsed are marked in red on every panel.

    Written to a temporary file and renamed, so a reader never sees half a picture.
    """
    import matplotlib

    matplotlib.use("Agg", force=False)
    import matplotlib.pyplot as plt

    path = Path(path)
    monitors = [k for k in MONITOR_KEYS if any(k in r for r in rows)]
    fig, axes = plt.subplots(1 + len(monitors), 1, figsize=(7, 2.6 * (1 + len(monitors))), sharex=True, squeeze=False)
    steps = [r["step"] for r in rows]
    ax = axes[0, 0]
    ax.plot(steps, [r["loss"] for r in rows], color="tab:blue", linewidth=1.2)
    flagged = [r for r in rows if r.get("collapse_warning")]
    if flagged:
        ax.scatter([r["step"] for r in flagged], [r["loss"] for r in flagged], color="tab:red", s=12, zorder=3, label="collapse warning")
        ax.legend(loc="upper right", fontsize=8)
    ax.set_ylabel("loss")
    ax.set_title(title)
    ax.grid(alpha=0.3)
    for i, key in enumerate(monitors, start=1):
        pts = [(r["step"], r[key]) for r in rows if key in r]
        axes[i, 0].plot([p[0] for p in pts], [p[1] for p in pts], color="tab:orange", linewidth=1.2)
        axes[i, 0].set_ylabel(key)
        if key == "effective_rank" and min_effective_rank is not None:
            axes[i, 0].axhline(min_effective_rank, color="tab:red", linestyle="--", linewidth=1)
        marked = [(r["step"], r[key]) for r in flagged if key in r]
        if marked:
            axes[i, 0].scatter([p[0] for p in marked], [p[1] for p in marked], color="tab:red", s=12, zorder=3)
        axes[i, 0].grid(alpha=0.3)
    axes[-1, 0].set_xlabel("step")
    fig.tight_layout()
    return save_figure(fig, path, dpi=100)


def save_figure(fig, path: Path, dpi: int = 100) -> Path:
    """Write a matplotlib figure to ``path`` atomically (temporary sibling, then rename) and close it."""
    import matplotlib.pyplot as plt

    tmp = path.with_name(f".{path.name}.tmp.png")
    fig.savefig(tmp, dpi=dpi)
    plt.close(fig)
    os.replace(tmp, path)
    return path

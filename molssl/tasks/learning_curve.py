"""The learning curve of a fine-tuning run as a PNG: training loss, validation and test metric per epoch, every seed."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Sequence

from molssl.pretrain.plot import save_figure


def plot_learning_curve(histories: Sequence[Sequence[dict]], metric: str, path: str | os.PathLike, title: str = "",
                        best_epochs: Sequence[int] | None = None) -> Path:  # fmt: skip
    """Draw one line per seed in three panels (loss, valid ``metric``, test ``metric``) into ``path``.

    Args:
        histories: per seed, the epoch records of ``molssl.tasks.finetune`` (``seed``, ``epoch``, ``loss``,
            ``valid``, ``test``; a NaN or None value leaves a gap).
        metric: the metric's name, for the axis labels.
        path: the PNG to write (atomically, as the pretraining loss plot).
        title: a title above the first panel.
        best_epochs: per seed, the epoch selected on validation, marked with a dot in the valid and test panels.
    """
    import matplotlib

    matplotlib.use("Agg", force=False)
    import matplotlib.pyplot as plt
    from matplotlib.ticker import MaxNLocator

    fig, axes = plt.subplots(3, 1, figsize=(7, 7.5), sharex=True)
    colors = plt.rcParams["axes.prop_cycle"].by_key()["color"]
    marker = None
    panels = (("loss", "training loss"), ("valid", f"valid {metric}"), ("test", f"test {metric}"))
    for i, history in enumerate(histories):
        if not history:
            continue
        color = colors[i % len(colors)]
        epochs = [r["epoch"] for r in history]
        for ax, (key, _) in zip(axes, panels):
            ax.plot(epochs, [float("nan") if r.get(key) is None else r[key] for r in history], color=color, linewidth=1.2,
                    label=f"seed {history[0]['seed']}")  # fmt: skip
        chosen = [r for r in history if best_epochs is not None and r["epoch"] == best_epochs[i]]
        for ax, key in ((axes[1], "valid"), (axes[2], "test")):  # where the choice was made, and what it gives
            if chosen and chosen[0].get(key) is not None:
                marker = ax.scatter([chosen[0]["epoch"]], [chosen[0][key]], color=color, s=18, zorder=3,
                                    label="epoch selected on valid")  # fmt: skip
    for ax, (_, label) in zip(axes, panels):
        ax.set_ylabel(label)
        ax.grid(alpha=0.3)
    if len(histories) > 1:
        axes[0].legend(loc="best", fontsize=8)
    if marker is not None:  # "best": the legend goes where it hides the fewest lines and marks
        axes[2].legend(handles=[marker], loc="best", fontsize=8)
    axes[-1].xaxis.set_major_locator(MaxNLocator(integer=True))
    axes[0].set_title(title)
    axes[-1].set_xlabel("epoch")
    fig.tight_layout()
    return save_figure(fig, Path(path), dpi=100)


__all__ = ["plot_learning_curve"]

"""The learning-curve plot: a panel per quantity, a line per seed, the selected epoch marked and never hidden."""

from __future__ import annotations

import numpy as np

from molssl.tasks import learning_curve


def _history(seed: int, epochs: int = 6) -> list[dict]:
    # a run that keeps improving: the selected epoch is the last, the test metric lowest there (bottom right)
    return [{"seed": seed, "epoch": e, "loss": 1.0 / e, "valid": 2.0 - 0.2 * e - 0.01 * seed, "test": 2.1 - 0.2 * e}
            for e in range(1, epochs + 1)]  # fmt: skip


def _drawn(monkeypatch, tmp_path, histories, best):
    figures = []

    def keep(fig, path, dpi=100):
        fig.canvas.draw()
        figures.append(fig)
        return path

    monkeypatch.setattr(learning_curve, "save_figure", keep)
    learning_curve.plot_learning_curve(histories, "rmse", tmp_path / "curve.png", title="esol", best_epochs=best)
    return figures[0]


def test_the_selected_epoch_is_marked_on_valid_and_test_and_no_legend_covers_it(monkeypatch, tmp_path):
    for histories in ([_history(0)], [_history(0), _history(1)]):
        fig = _drawn(monkeypatch, tmp_path, histories, [6] * len(histories))
        loss, valid, test = fig.axes
        assert [ax.get_ylabel() for ax in fig.axes] == ["training loss", "valid rmse", "test rmse"]
        assert len(loss.get_lines()) == len(histories)
        for ax in (valid, test):
            points = np.concatenate([c.get_offsets() for c in ax.collections])
            assert len(points) == len(histories) and (points[:, 0] == 6).all()
            shown = ax.transData.transform(points)
            for legend in (a.get_legend() for a in fig.axes):
                if legend is None:
                    continue
                box = legend.get_window_extent()
                assert not any(box.contains(x, y) for x, y in shown), "a legend hides the selected epoch"

"""The pretraining loss plot: a panel per method metric and monitor, a labelled collapse threshold."""

from __future__ import annotations

import molssl.pretrain.plot as plot
from molssl.pretrain import pretrain
from tests.pretrain.conftest import SMALL_ENCODER, fast


def test_method_metrics_get_panels_and_the_threshold_a_label(store, tmp_path, monkeypatch):
    rows = pretrain("attr_masking", store, tmp_path / "run", encoder=SMALL_ENCODER, train=fast(steps=10)).metrics
    assert plot.method_metric_keys(rows) == ["atom_acc"]  # attribute masking's accuracy on the masked atoms
    drawn = {}
    original = plot.save_figure

    def capture(fig, path, dpi=100):
        drawn["labels"] = [ax.get_ylabel() for ax in fig.axes]
        drawn["legends"] = [t.get_text() for ax in fig.axes if ax.get_legend() for t in ax.get_legend().get_texts()]
        return original(fig, path, dpi)

    monkeypatch.setattr(plot, "save_figure", capture)
    path = plot.plot_curves(rows, tmp_path / "loss.png", "attr_masking", min_effective_rank=2.0)
    assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert drawn["labels"][:3] == ["loss", "atom_acc", "effective_rank"] and "uniformity" in drawn["labels"]
    assert "collapse warning below 2" in drawn["legends"]


def test_bookkeeping_columns_are_not_method_metrics():
    rows = [{"step": 1, "epoch": 0, "loss": 1.0, "lr": 1e-3, "graphs_per_s": 10.0, "graphs_seen": 32, "collapse_warning": True,
             "effective_rank": 3.0, "bond_acc": 0.5, "note": "text"}]  # fmt: skip
    assert plot.method_metric_keys(rows) == ["bond_acc"]


def test_a_short_run_with_one_logged_row_still_shows_its_points(tmp_path, monkeypatch):
    # a few steps log one row: a bare line of one point is invisible, every panel looked empty
    rows = [{"step": 6, "epoch": 1, "loss": 4.8, "atom_acc": 0.05, "effective_rank": 12.0}]
    markers = []

    def capture(fig, path, dpi=100):
        markers.extend(line.get_marker() for ax in fig.axes for line in ax.get_lines() if len(line.get_xdata()) == 1)
        return path

    monkeypatch.setattr(plot, "save_figure", capture)
    plot.plot_curves(rows, tmp_path / "loss.png", "attr_masking")
    assert len(markers) == 3 and all(m not in (None, "None", "", " ") for m in markers)

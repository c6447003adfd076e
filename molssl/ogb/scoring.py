"""Scoring a harness run as the leaderboard does: OGB's ``Evaluator`` on the raw outputs after every epoch."""

from __future__ import annotations

from typing import Any, Mapping

import numpy as np

from molssl.ogb.catalog import OgbDatasetInfo
from molssl.ogb.layout import OgbDataError, OgbDataset
from molssl.tasks.predict_graphs import predict_graphs
from molssl.tasks.model import PropertyModel
from molssl.tasks.target_scaler import TargetScaler


class OfficialScores:
    """Scores the model being trained with OGB's ``Evaluator`` after every epoch, as the official loop does.

    The Evaluator sees the raw outputs (logits for classification, values in the label units for
    regression), and the epoch of best validation score is the first best (``np.argmax`` /
    ``np.argmin`` over the epochs). Scoring in eval mode uses no randomness, so training is unchanged.
    """

    def __init__(self, evaluator: Any, info: OgbDatasetInfo, graphs: Any, labels: np.ndarray, parts: tuple[np.ndarray, np.ndarray],
                 scaler: TargetScaler | None, batch_size: int) -> None:  # fmt: skip
        self.evaluator, self.info, self.graphs, self.labels, self.scaler = evaluator, info, graphs, labels, scaler
        self.parts = {"valid": parts[0], "test": parts[1]}
        self.batch_size = batch_size
        self.history: list[dict[str, Any]] = []
        self.best: dict[str, Any] | None = None
        self.best_predictions: dict[str, np.ndarray] = {}

    def score(self, model: PropertyModel, epoch_record: Mapping[str, Any]) -> dict[str, Any]:
        entry: dict[str, Any] = {"epoch": epoch_record["epoch"], "loss": epoch_record["loss"]}
        predictions = {}
        for part, idx in self.parts.items():
            outputs = predict_graphs(model, self.graphs, idx, self.batch_size)
            predictions[part] = outputs if self.scaler is None else self.scaler.inverse_transform(outputs)
            entry[part] = float(self.evaluator.eval({"y_true": self.labels[idx], "y_pred": predictions[part]})[self.info.eval_metric])
        entry["protocol_valid"], entry["protocol_test"] = epoch_record["valid"], epoch_record["test"]
        self.history.append(entry)
        if self.best is None or (entry["valid"] > self.best["valid"] if self.info.higher_is_better else entry["valid"] < self.best["valid"]):
            self.best, self.best_predictions = entry, predictions
        return entry


def check_scorable(data: OgbDataset, labels: np.ndarray) -> None:
    if not data.info.is_classification:
        return
    for part, idx in zip(("train", "valid", "test"), data.split):
        y = labels[idx]
        if not any(((y[:, t] == 1).any() and (y[:, t] == 0).any()) for t in range(y.shape[1])):
            raise OgbDataError(
                f"{data.directory}: no task has both classes in the {part} split, so {data.info.metric_display} is "
                "undefined there; the split or labels are not usable"
            )



__all__ = ["OfficialScores", "check_scorable"]

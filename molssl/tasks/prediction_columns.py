"""The columns of a prediction table: one layout for ``PropertyPredictor.predict`` and fine-tuning's predictions.csv.

Per task ``t``:

* classification: ``t`` (probability of class 1, the members' mean), ``t_std`` (spread over ensemble
  members), ``t_calibrated`` (temperature-scaled probability);
* multiclass: ``t`` (most probable class), ``t_prob_<c>`` per class, ``t_std`` (spread of the chosen
  class's probability), ``t_calibrated_prob_<c>``;
* regression: ``t`` (value in the training units), ``t_std``.

``_std`` columns appear only for an ensemble, ``_calibrated`` only for a calibrated classifier. Rows that
were not predicted hold NaN.
"""

from __future__ import annotations

from typing import Any, Sequence

import numpy as np

from molssl.tasks.ensemble import EnsemblePrediction


def _class_column(values: np.ndarray) -> Any:
    """Class indices as integers (``2``, not ``2.0``, in a CSV), missing where ``values`` is NaN."""
    import pandas as pd

    return pd.array([None if np.isnan(v) else int(v) for v in values], dtype="Int64")


def prediction_columns(prediction: EnsemblePrediction, task_names: Sequence[str], task_type: str, rows: np.ndarray,
                       num_rows: int) -> dict[str, np.ndarray]:  # fmt: skip
    """Named columns of length ``num_rows`` (floats; a multiclass task's class an integer column with missing
    values); ``prediction`` row i goes to row ``rows[i]``.

    Shapes:
        prediction.values: [M, T] or [M, T, C]; rows: [M] -> each column [num_rows]
    """
    rows = np.asarray(rows, dtype=np.int64)

    def column(values: np.ndarray) -> np.ndarray:
        out = np.full(num_rows, np.nan, dtype=np.float64)
        out[rows] = values
        return out

    columns: dict[str, np.ndarray] = {}
    for j, t in enumerate(task_names):
        if task_type == "multiclass":
            probs = prediction.values[:, j]  # [M, C]
            chosen = probs.argmax(axis=1)
            columns[t] = _class_column(column(chosen.astype(np.float64)))
            for c in range(probs.shape[1]):
                columns[f"{t}_prob_{c}"] = column(probs[:, c])
            if prediction.spread is not None:
                columns[f"{t}_std"] = column(prediction.spread[np.arange(len(chosen)), j, chosen])
            if prediction.calibrated is not None:
                for c in range(probs.shape[1]):
                    columns[f"{t}_calibrated_prob_{c}"] = column(prediction.calibrated[:, j, c])
            continue
        columns[t] = column(prediction.values[:, j])
        if prediction.spread is not None:
            columns[f"{t}_std"] = column(prediction.spread[:, j])
        if prediction.calibrated is not None:
            columns[f"{t}_calibrated"] = column(prediction.calibrated[:, j])
    return columns




def prediction_frame(smiles: Sequence[str], result: Any, outputs: np.ndarray, config: Any, scaler: Any, info: dict,
                     parents: Sequence[str] | None = None):  # fmt: skip
    """The DataFrame ``PropertyPredictor.predict`` returns: one row per input, in input order.

    Columns: ``smiles``, ``parent_smiles`` (when ``parents`` are given), the prediction columns above, ``domain`` (why a molecule lies outside the training
    domain, "" inside it; only when the model records its domain) and ``error`` ("" or why it was not
    predicted).

    Args:
        smiles: the inputs as given.
        result: their ``FeaturizeResult``.
        outputs: [S, M, T] (or [S, M, T, C]) raw outputs of the S members on the M featurized molecules.
        config: the members' ``PredictorConfig``.
        scaler: the regression ``TargetScaler`` (None for classifiers).
        info: the predictor's ``info_`` (``calibration``, ``domain``).
        parents: the standardized SMILES that were featurized (a model fitted with a standardizer).
    """
    import pandas as pd

    from molssl.tasks.domain import TrainingDomain
    from molssl.text.inputs import molecule_scheme
    from molssl.tasks.ensemble import combine

    calibration = info.get("calibration")
    prediction = combine(outputs, config.task_type, scaler, calibration["temperatures"] if calibration else None)
    columns: dict[str, Any] = {"smiles": list(smiles)}
    if parents is not None:
        columns["parent_smiles"] = list(parents)
    columns.update(prediction_columns(prediction, config.task_names, config.task_type, result.indices, len(smiles)))
    if info.get("domain"):
        domain = [""] * len(smiles)
        scheme = molecule_scheme(config.encoder)  # a text model's domain is read off the graphs too
        reasons = TrainingDomain.from_dict(info["domain"]).check(result.graphs, scheme) if len(result) else []
        for i, reason in zip(result.indices.tolist(), reasons):
            domain[i] = reason
        columns["domain"] = domain
    errors = [""] * len(smiles)
    for row in result.skipped:
        errors[row.index] = row.reason
    columns["error"] = errors
    # one construction: adding columns to a built frame costs more than the frame for a short list
    # (pandas 3, one molecule: 530 us with two insertions, 228 us at once)
    return pd.DataFrame(columns)


__all__ = ["prediction_columns", "prediction_frame"]

"""What a fitted property predictor knows beyond its weights, and the files a fine-tuning run writes.

``assess_fit`` turns the seeds' selected models into: the ensemble members (when asked for), the
per-task test report (``molssl.tasks.finetune_report``), temperatures fitted on validation
(``molssl.tasks.calibration``), the training domain (``molssl.tasks.domain``) and a prediction for every
molecule with its split. ``write_fit_outputs`` writes ``metrics.json``, ``learning_curve.png``,
``predictions.csv`` and ``skipped.csv`` into a run folder.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Sequence

import numpy as np
import torch

from molssl.checkpoint import load_weights
from molssl.files import staged_file, write_text_atomic
from molssl.graph.arrays import GraphArrays
from molssl.tasks.calibration import calibration_gap, fit_temperatures, probability_logits
from molssl.tasks.domain import TrainingDomain
from molssl.tasks.ensemble import combine, member_outputs
from molssl.tasks.finetune_report import score_test_split
from molssl.tasks.model import PredictorConfig, PropertyModel
from molssl.tasks.prediction_columns import prediction_columns
from molssl.tasks.target_scaler import TargetScaler

SPLIT_NAMES = ("train", "valid", "test")


@dataclass
class FitAssessment:
    """The outputs of ``assess_fit``.

    Attributes:
        members: every seed's selected model when ``ensemble``, else empty.
        report: the per-task test report (plain data).
        calibration: temperatures and validation NLL before/after (classifiers), and the tasks whose
            validation labels could fit no temperature (``kept_at_1``: task -> reason), else None.
        domain: the training molecules' elements and size range.
        predictions: one row per kept molecule: SMILES as given (and ``parent_smiles``), extra columns, split, targets (``<task>_true``),
            the predictor's columns (``molssl.tasks.prediction_columns``) and ``domain``.
    """

    members: list[PropertyModel]
    report: dict[str, Any]
    calibration: dict[str, Any] | None
    domain: TrainingDomain
    predictions: Any = field(repr=False, default=None)


def build_member(config: PredictorConfig, state: dict[str, torch.Tensor], source: str, device: torch.device) -> PropertyModel:
    """A model of ``config`` holding ``state``, in eval mode on ``device``."""
    model = PropertyModel(config)
    load_weights(model, state, source)
    return model.to(device).eval()


def assess_fit(config: PredictorConfig, states: Sequence[dict[str, torch.Tensor]], best_index: int, graphs: GraphArrays,
               labels: np.ndarray, split: Sequence[np.ndarray], scaler: TargetScaler | None, *, ensemble: bool,
               smiles: Sequence[str], extra: dict[str, list[str]], scheme: dict, device: torch.device,
               batch_size: int = 256, inputs: Any = None, parents: Sequence[str] | None = None) -> FitAssessment:  # fmt: skip
    """Score, calibrate and describe the seeds' selected models.

    Args:
        config: the models' config.
        states: every seed's best-validation weights, in seed order.
        best_index: the seed whose model is kept alone when not ``ensemble``.
        graphs, labels: the kept molecules ([M] graphs, [M, T] labels).
        split: (train, valid, test) indices into them.
        scaler: the regression target scaler.
        ensemble: keep every seed's model and predict with their mean and spread.
        smiles, extra: the kept molecules' SMILES and the file's other columns (for predictions.csv).
        scheme: the featurization scheme's description (for the domain).
        device: where the models run.
        batch_size: molecules per forward pass.
        parents: the standardized SMILES that were featurized, when a standardizer ran (a ``parent_smiles`` column).
        inputs: what the models read when not ``graphs`` (a text model's ``molssl.text.inputs.TokenizedMolecules``);
            ``graphs`` still give the training domain.
    """
    import pandas as pd

    task_type = config.task_type
    models = [build_member(config, state, "the fine-tuned seed", device) for state in states]
    outputs = member_outputs(models, graphs if inputs is None else inputs, batch_size=batch_size)  # [S, M, T(, C)]
    train, valid, test = (np.asarray(s, dtype=np.int64) for s in split)
    report = score_test_split(task_type, config.task_names, labels, split, outputs[:, test], scaler,
                              ensemble_outputs=outputs[:, test] if ensemble and len(states) > 1 else None)  # fmt: skip
    used = outputs if ensemble else outputs[best_index : best_index + 1]
    calibration = None
    if task_type in ("classification", "multiclass"):
        mean_valid = combine(used[:, valid], task_type, scaler).values
        temps, before, after = fit_temperatures(probability_logits(mean_valid, task_type), labels[valid], task_type)
        calibration = {"method": "temperature scaling (Guo et al. 2017), fitted on the validation split", "temperatures": temps,
                       "valid_nll_before": [None if np.isnan(v) else v for v in before],
                       "valid_nll_after": [None if np.isnan(v) else v for v in after],
                       "kept_at_1": {t: why for j, t in enumerate(config.task_names) if (why := calibration_gap(labels[valid, j]))}}  # fmt: skip
    prediction = combine(used, task_type, scaler, calibration["temperatures"] if calibration else None)
    split_of = np.empty(len(smiles), dtype=object)
    for name, idx in zip(SPLIT_NAMES, (train, valid, test)):
        split_of[idx] = name
    parent_column = {"parent_smiles": list(parents)} if parents is not None else {}
    frame = pd.DataFrame({"smiles": list(smiles), **parent_column, **extra, "split": split_of})
    for j, t in enumerate(config.task_names):
        frame[f"{t}_true"] = labels[:, j]
    for name, values in prediction_columns(prediction, config.task_names, task_type, np.arange(len(smiles)), len(smiles)).items():
        frame[name] = values
    domain = TrainingDomain.from_graphs(graphs, scheme, train)
    frame["domain"] = domain.check(graphs, scheme)  # valid and test molecules can lie outside the training domain
    return FitAssessment(members=models if ensemble else [], report=report, calibration=calibration, domain=domain,
                         predictions=frame)  # fmt: skip


def format_skipped(rows: Sequence[Any], total: int, limit: int = 5) -> str:
    """``skipped 2 of 300 molecules; the first 2: row 3: 'C1CC': SMILES syntax error ...`` for a log or terminal.

    Args:
        rows: the skipped rows (``SkippedRow`` records or their ``to_dict()``).
        total: how many molecules there were.
        limit: how many rows to show.
    """
    shown = []
    for row in rows[:limit]:
        record = row if isinstance(row, dict) else row.to_dict()
        smiles = str(record["smiles"])
        shown.append(f"row {record['index']}: {(smiles[:57] + '...') if len(smiles) > 60 else smiles!r}: {record['reason']}")
    more = f"; ... ({len(rows) - limit} more)" if len(rows) > limit else ""
    return f"skipped {len(rows)} of {total} molecules; " + "; ".join(shown) + more


def write_fit_outputs(predictor: Any, directory: str | os.PathLike) -> dict[str, Path]:
    """Write a fitted ``PropertyPredictor``'s run files into ``directory``; returns them by kind.

    ``metrics.json`` (metrics and info), ``learning_curve.png`` (``molssl.tasks.learning_curve``),
    ``predictions.csv`` (every molecule with its split, targets and predictions) and, when molecules were
    skipped, ``skipped.csv`` (row, SMILES, reason for each).
    """
    import pandas as pd

    from molssl.tasks.learning_curve import plot_learning_curve

    out = Path(directory)
    out.mkdir(parents=True, exist_ok=True)
    written: dict[str, Path] = {}
    metrics = predictor.metrics_ or {}
    path = out / "metrics.json"
    write_text_atomic(path, json.dumps({"metrics": metrics, "info": predictor.info_}, indent=2))
    written["metrics"] = path
    per_seed = metrics.get("per_seed") or []
    if per_seed:
        written["learning_curve"] = plot_learning_curve(
            [s["history"] for s in per_seed], metrics["metric"], out / "learning_curve.png",
            title=f"{Path(str(predictor.info_.get('source', ''))).name}: {metrics['metric']} per epoch",
            best_epochs=[s["best_epoch"] for s in per_seed],
        )  # fmt: skip
    if getattr(predictor, "fit_predictions_", None) is not None:
        path = out / "predictions.csv"
        with staged_file(path) as tmp:
            predictor.fit_predictions_.to_csv(tmp, index=False)
        written["predictions"] = path
    skipped = predictor.info_.get("skipped") or []
    if skipped:
        path = out / "skipped.csv"
        with staged_file(path) as tmp:
            pd.DataFrame(skipped).rename(columns={"index": "row"}).to_csv(tmp, index=False)
        written["skipped"] = path
    return written


__all__ = ["FitAssessment", "assess_fit", "build_member", "format_skipped", "write_fit_outputs"]

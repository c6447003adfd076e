"""The fine-tuning protocol of the pretraining literature, as library code.

Train for N epochs; after every epoch evaluate train/valid/test; select the epoch with the best
validation metric and report test at that epoch, and also test at the last epoch (published papers
disagree on which to quote); repeat over seeds and report mean and standard deviation. Hu et al.
(ICLR 2020): 100 epochs, batch size 32, Adam with lr 1e-3, dropout 0.5, ROC-AUC, scaffold split.

Here: ``finetune`` checks the split, runs every seed (in this process or in worker processes) and gathers
their results (``FinetuneResult``). One seed's training loop is ``molssl.tasks.seed_run``; the
hyperparameters are ``molssl.tasks.finetune_config.FinetuneConfig``.
"""

from __future__ import annotations

import dataclasses
import logging
import math
import warnings
from dataclasses import dataclass, field
from typing import Any, Callable, Sequence

import numpy as np
import torch

from molssl.eval.metrics import DEFAULT_METRIC, Metric, get_metric
from molssl.graph.arrays import GraphArrays
from molssl.tasks.finetune_config import FinetuneConfig
from molssl.tasks.model import PropertyModel
from molssl.tasks.predict_graphs import resolve_device
from molssl.tasks.seed_run import EpochHook, SeedResult, SeedTask, improves, run_seed
from molssl.tasks.target_scaler import TargetScaler

logger = logging.getLogger(__name__)


@dataclass
class FinetuneResult:
    """All seeds of a fine-tuning run, with mean and (unbiased) standard deviation."""

    metric: str
    higher_is_better: bool
    seeds: list[SeedResult]
    best_state: dict[str, torch.Tensor] = field(repr=False, default_factory=dict)
    best_seed: int = 0
    #: every seed's best-validation weights, in the order of ``seeds`` (the members of an ensemble)
    states: list[dict[str, torch.Tensor]] = field(repr=False, default_factory=list)

    def summary(self) -> dict[str, Any]:
        """Mean and std over seeds, and every seed's numbers, as plain JSON data.

        A value the metric could not be computed for (NaN: non-finite predictions) is ``None``, with a
        ``RuntimeWarning`` naming where; a mean over seeds that include one is ``None`` too.
        """

        def stats(values: list[float]) -> dict[str, float | None]:
            arr = np.asarray(values, dtype=np.float64)
            if np.isnan(arr).any():
                return {"mean": None, "std": None}
            return {"mean": float(arr.mean()), "std": float(arr.std(ddof=1)) if len(arr) > 1 else 0.0}

        summary: dict[str, Any] = {"metric": self.metric, "num_seeds": len(self.seeds),
                                   "trainable_parameters": self.seeds[0].trainable_parameters if self.seeds else None,
                                   "total_parameters": self.seeds[0].total_parameters if self.seeds else None}  # fmt: skip
        for key, field_name in (("test_at_best_valid", "test_at_best"), ("valid_at_best_valid", "valid_at_best"),
                                ("test_at_last_epoch", "test_at_last"), ("valid_at_last_epoch", "valid_at_last")):  # fmt: skip
            summary[key] = stats([getattr(s, field_name) for s in self.seeds])
        undefined: list[str] = [key for key, value in summary.items() if isinstance(value, dict) and value["mean"] is None]
        summary["per_seed"] = [_nan_to_none(dataclasses.asdict(s), f"seed {s.seed}", undefined) for s in self.seeds]
        if undefined:
            shown = ", ".join(undefined[:8]) + (f", ... ({len(undefined) - 8} more)" if len(undefined) > 8 else "")
            warnings.warn(
                f"{self.metric} was undefined (NaN: the model's predictions were not finite) for {shown}; saved as null",
                RuntimeWarning,
                stacklevel=2,
            )
        return summary


def _nan_to_none(value: Any, where: str, found: list[str]) -> Any:
    """``value`` with every float NaN replaced by ``None`` (JSON has no NaN); appends where each was to ``found``."""
    if isinstance(value, float) and math.isnan(value):
        found.append(where)
        return None
    if isinstance(value, dict):
        return {k: _nan_to_none(v, f"{where} {k}", found) for k, v in value.items()}
    if isinstance(value, list):
        return [_nan_to_none(v, f"{where}[{i}]", found) for i, v in enumerate(value)]
    return value


def _task_coverage(labels: np.ndarray, metric: Metric) -> list[str | None]:
    """Per task, why ``metric`` cannot score it on these labels (``None`` when it can).

    The rule of ``molssl.eval.metrics``: ROC-AUC and PR-AUC need both classes among a task's observed
    labels, RMSE and MAE one observed label.

    Shapes:
        labels: [N, T], NaN = missing
    """
    reasons: list[str | None] = []
    for column in labels.T:
        observed = column[~np.isnan(column)]
        if observed.size == 0:
            reasons.append("no labels")
        elif metric.task_type == "classification" and not ((observed == 0).any() and (observed == 1).any()):
            reasons.append(f"only {int(observed[0])}s ({observed.size} labels)")
        elif metric.task_type == "multiclass" and np.unique(observed).size < 2:
            reasons.append(f"only class {int(observed[0])} ({observed.size} labels)")
        else:
            reasons.append(None)
    return reasons


def check_scoreable(labels: np.ndarray, split: Sequence[np.ndarray], metric: Metric, task_names: Sequence[str] | None = None,
                    source: str | None = None) -> None:  # fmt: skip
    """Refuse a split on which the metric is undefined for a whole part, before any training.

    A part (train, valid, test) where no task can be scored would make every score of it undefined;
    a part where only some tasks cannot be scored is fine (the metric averages over the others, as
    OGB's ``Evaluator``) and is logged as a warning naming them.

    Args:
        labels: [M, T] labels, NaN = missing.
        split: (train, valid, test) indices into ``labels``.
        metric: the selection/report metric.
        task_names: names of the T tasks, for the messages.
        source: the data's file or name, for the messages.

    Raises:
        ValueError: naming the part, its size and why each task cannot be scored there.
    """
    names = list(task_names) if task_names is not None else [f"task {j}" for j in range(labels.shape[1])]
    prefix = f"{source}: " if source else ""
    for part, idx in zip(("train", "valid", "test"), split):
        reasons = _task_coverage(labels[idx], metric)
        unscoreable = [f"{names[j]!r}: {why}" for j, why in enumerate(reasons) if why is not None]
        shown = "; ".join(unscoreable[:10]) + (f"; ... ({len(unscoreable) - 10} more)" if len(unscoreable) > 10 else "")
        if len(unscoreable) == len(reasons):
            need = {"classification": "both classes (0 and 1)", "multiclass": "two classes"}.get(metric.task_type, "an observed label")
            raise ValueError(
                f"{prefix}the {part} part ({len(idx)} molecules) has no task {metric.name} can score ({shown}); each "
                f"part needs a task with {need}. Use more molecules, another split (e.g. split='stratified' or "
                "'random') or another split seed"
            )
        if unscoreable:
            logger.warning("%s%s cannot score %d of %d task(s) on the %s part (%s); it averages over the others",
                           prefix, metric.name, len(unscoreable), len(reasons), part, shown)  # fmt: skip


def finetune(
    make_model: Callable[[], PropertyModel],
    graphs: GraphArrays,
    labels: np.ndarray,
    split: Sequence[np.ndarray],
    config: FinetuneConfig,
    progress: Callable[[dict], None] | None = None,
    *,
    on_epoch: EpochHook | None = None,
    task_names: Sequence[str] | None = None,
    source: str | None = None,
    device: str | torch.device | None = None,
    jobs: int = 1,
    threads: int | None = None,
) -> tuple[FinetuneResult, TargetScaler | None]:
    """Run the protocol over every seed.

    Args:
        make_model: builds a fresh model (with pretrained weights loaded, if any); called per seed
            after seeding, so initialization is reproducible. With ``jobs > 1`` it must be picklable
            (a module-level function or a callable object such as ``molssl.tasks.model.ModelFactory``).
        graphs: all featurized molecules.
        labels: [M, T] float labels with NaN = missing.
        split: (train, valid, test) indices into ``graphs``.
        config: protocol hyperparameters.
        progress: called after every epoch with that epoch's record (in the calling process, also
            when seeds run in worker processes).
        on_epoch: called after every epoch with the model being trained (in eval mode) and that epoch's
            record, before ``progress``: to score or inspect the model as it trains (e.g. OGB's
            Evaluator in ``molssl.ogb``). The model lives where it trains, so seeds then run in this
            process: ``jobs > 1`` with several seeds is refused.
        task_names, source: the tasks' names and the data's file or name, for messages.
        device: where to train (``"cpu"``, ``"cuda"``, ``"cuda:N"``, ``"auto"``); None = where
            ``make_model`` puts the model. Batches follow the model's device.
        jobs: seeds trained at once, each in its own process (``molssl.tasks.seed_pool``); 1 = in this
            process, one seed after the other. The results are the same either way (each seed is
            seeded on its own) given the same number of threads per seed.
        threads: torch threads per seed process when ``jobs > 1`` (default: this process's threads
            divided among the jobs, at least 1); ignored when ``jobs == 1``.

    Returns:
        The result (per seed, summary, and the best-validation weights of the best seed) and the
        target scaler used for regression (None for classification).

    Raises:
        ValueError: a split part is empty, or the metric can score no task on it (``check_scoreable``).
    """
    train, valid, test = (np.asarray(s, dtype=np.int64) for s in split)
    if len(train) == 0 or len(valid) == 0 or len(test) == 0:
        raise ValueError(f"{f'{source}: ' if source else ''}every split part must be non-empty, got train={len(train)}, "
                         f"valid={len(valid)}, test={len(test)}; use more molecules or other split fractions")  # fmt: skip
    if jobs < 1:
        raise ValueError(f"jobs must be >= 1, got {jobs}")
    if on_epoch is not None and jobs > 1 and len(config.seeds) > 1:
        raise ValueError(f"on_epoch needs the model in this process, but jobs={jobs} trains seeds in worker processes; pass jobs=1")
    labels = np.asarray(labels, dtype=np.float32)
    if labels.ndim == 1:
        labels = labels[:, None]
    task_type = make_model().config.task_type
    metric = get_metric(config.metric or DEFAULT_METRIC[task_type])
    check_scoreable(labels, (train, valid, test), metric, task_names, source)
    scaler = TargetScaler.fit(labels[train]) if task_type == "regression" else None
    targets = scaler.transform(labels) if scaler is not None else labels
    task = SeedTask(make_model=make_model, graphs=graphs, labels=labels, targets=targets, split=(train, valid, test),
                    config=config, metric=metric.name, task_type=task_type, scaler=scaler,
                    device=None if device is None else resolve_device(device))  # fmt: skip

    if jobs > 1 and len(config.seeds) > 1:
        from molssl.tasks.seed_pool import run_seeds_in_processes

        outcomes = run_seeds_in_processes(run_seed, task, config.seeds, jobs, threads, progress)
    else:
        outcomes = [run_seed(task, seed, progress, on_epoch) for seed in config.seeds]

    results: list[SeedResult] = []
    best_overall: tuple[float, dict, int] | None = None
    for result, best_state in outcomes:
        results.append(result)
        if best_overall is None or improves(metric, result.valid_at_best, best_overall[0]):
            best_overall = (result.valid_at_best, best_state, result.seed)
    assert best_overall is not None
    return (
        FinetuneResult(metric=metric.name, higher_is_better=metric.higher_is_better, seeds=results,
                       best_state=best_overall[1], best_seed=best_overall[2], states=[state for _, state in outcomes]),
        scaler,
    )  # fmt: skip


# FinetuneConfig is what ``finetune`` takes: callers import both from here
__all__ = ["FinetuneConfig", "FinetuneResult", "check_scoreable", "finetune"]

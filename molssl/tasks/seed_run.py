"""One seed of the fine-tuning protocol: train for the configured epochs, score valid and test after each,
keep the best-validation weights (``run_seed``); everything random is seeded from the seed here."""

from __future__ import annotations

import logging
import math
import random
from dataclasses import dataclass, field
from typing import Callable, Sequence

import numpy as np
import torch

from molssl.data.loader import StoreLoader
from molssl.eval.metrics import Metric, get_metric
from molssl.graph.arrays import GraphArrays
from molssl.nn.encoder import set_activation_checkpointing
from molssl.tasks.finetune_config import FinetuneConfig
from molssl.tasks.finetune_modes import make_optimizer, training_phases
from molssl.tasks.frozen_features import FrozenFeatures
from molssl.tasks.losses import loss_for_task
from molssl.tasks.model import PropertyModel, frozen_modules_eval, set_trainable
from molssl.tasks.predict_graphs import model_device, outputs_to_predictions, predict_graphs
from molssl.tasks.target_scaler import TargetScaler

logger = logging.getLogger(__name__)

#: ``on_epoch(model, record)``: called after every epoch with the model being trained and the epoch's record
EpochHook = Callable[[PropertyModel, dict], None]


@dataclass
class SeedResult:
    """One seed's run: per-epoch history and the numbers the protocol reports."""

    seed: int
    best_epoch: int
    valid_at_best: float
    test_at_best: float
    valid_at_last: float
    test_at_last: float
    history: list[dict] = field(default_factory=list)
    #: parameters that trained in any phase, and all parameters of the model (PEFT modules included)
    trainable_parameters: int | None = None
    total_parameters: int | None = None


def improves(metric: Metric, candidate: float, best: float | None) -> bool:
    """Whether ``candidate`` replaces ``best`` in model selection; an undefined (NaN) score never wins."""
    if math.isnan(candidate):
        return False
    return best is None or math.isnan(best) or metric.is_better(candidate, best)


def seed_everything(seed: int) -> None:
    """Seed Python, numpy and torch."""
    random.seed(seed)
    np.random.seed(seed % 2**32)
    torch.manual_seed(seed)


@dataclass(frozen=True)
class SeedTask:
    """Everything one seed of the protocol needs, as plain picklable data (a seed may run in another process).

    Attributes:
        make_model: builds a fresh model (picklable when seeds run in processes: a module-level
            function or a callable object, not a closure).
        graphs: all featurized molecules.
        labels: [M, T] float labels, NaN = missing (what the metric scores).
        targets: [M, T] training targets (labels, standardized for regression).
        split: (train, valid, test) indices into ``graphs``.
        config: protocol hyperparameters.
        metric: name of the selection/report metric.
        task_type: ``"classification"`` or ``"regression"``.
        scaler: the regression target scaler (None for classification).
        device: where the model trains (None: where ``make_model`` put it).
    """

    make_model: Callable[[], PropertyModel]
    graphs: GraphArrays
    labels: np.ndarray
    targets: np.ndarray
    split: tuple[np.ndarray, np.ndarray, np.ndarray]
    config: FinetuneConfig
    metric: str
    task_type: str
    scaler: TargetScaler | None
    device: torch.device | None = None


def score_split(model: PropertyModel, task: SeedTask, idx: np.ndarray, features: FrozenFeatures | None = None) -> float:
    """The protocol metric of ``model`` on the molecules ``idx`` (NaN when it is undefined there)."""
    return score_splits(model, task, [idx], features)[0]


def score_splits(model: PropertyModel, task: SeedTask, parts: Sequence[np.ndarray], features: FrozenFeatures | None = None) -> list[float]:
    """The protocol metric of ``model`` on each part (e.g. valid and test), predicted in one pass over all of them.

    One ``predict_graphs`` over the concatenated parts fills whole evaluation batches across their
    boundary instead of ending each part with a partial one (evaluation is per molecule: the same outputs up
    to float rounding). With ``features`` (the frozen encoder's stored outputs) the rest of the model runs on them.
    """
    metric = get_metric(task.metric)
    sizes = [len(idx) for idx in parts]
    every = np.concatenate([np.asarray(idx, dtype=np.int64) for idx in parts]) if parts else np.zeros(0, dtype=np.int64)
    if features is not None:
        outputs = features.predict(model, every, task.config.eval_batch_size).astype(np.float64)
    else:
        outputs = predict_graphs(model, task.graphs, every, task.config.eval_batch_size).astype(np.float64)
    # an order-only metric (ROC-AUC, PR-AUC) scores the logits, as OGB's Evaluator does: a sigmoid would tie large ones
    preds = outputs if metric.order_only else outputs_to_predictions(outputs, task.task_type, task.scaler)
    scores = []
    for idx, part_preds in zip(parts, np.split(preds, np.cumsum(sizes)[:-1])):
        try:
            scores.append(float(metric.fn(task.labels[idx], part_preds)))
        except ValueError as exc:  # e.g. no task with both classes in a tiny split
            logger.warning("metric %s undefined on %d molecules: %s", metric.name, len(idx), exc)
            scores.append(math.nan)
    return scores


def run_seed(
    task: SeedTask, seed: int, progress: Callable[[dict], None] | None = None, on_epoch: EpochHook | None = None
) -> tuple[SeedResult, dict[str, torch.Tensor]]:
    """One seed of the protocol: train ``config.epochs`` epochs, evaluating valid/test after each.

    Everything random is seeded from ``seed`` here, so a seed gives the same result in this process or
    in a worker process (with the same number of threads). After every epoch ``on_epoch(model, record)``
    sees the model being trained (in eval mode), then ``progress(record)`` the record. In a phase where
    the whole encoder is frozen and in eval mode (``linear_probe``, LP-FT's first phase), the encoder runs
    once per molecule and the rest of the model trains and is scored on its stored outputs
    (``config.frozen_feature_cache``, ``molssl.tasks.frozen_features``): the same run up to float rounding.

    Returns:
        The seed's result and its best-validation weights (on the CPU).
    """
    config = task.config
    metric = get_metric(task.metric)
    train, valid, test = task.split
    loss_fn = loss_for_task(task.task_type)
    seed_everything(seed)
    model = task.make_model()
    set_activation_checkpointing(model, config.activation_checkpointing)
    if task.device is not None:
        model = model.to(task.device)
    device = model_device(model)
    phases = training_phases(config.mode, config.epochs, config.lp_epochs)  # LP-FT: a fresh optimizer per phase
    trained: set[int] = set()
    loader = StoreLoader(task.graphs, batch_size=config.batch_size, shuffle=True, seed=seed, indices=train, targets=task.targets)
    best: tuple[float, int, float, dict] | None = None
    history: list[dict] = []
    features: FrozenFeatures | None = None  # the frozen encoder's outputs, while it is wholly frozen
    for epoch in range(1, config.epochs + 1):
        if epoch in phases:
            set_trainable(model, phases[epoch], config.last_k)
            optimizer = make_optimizer(model, config.lr, config.encoder_lr, config.weight_decay)
            trained |= {id(p) for p in model.parameters() if p.requires_grad}
        model.train()
        frozen_modules_eval(model)
        if epoch in phases:
            features = None
            if config.frozen_feature_cache:
                features = FrozenFeatures.build(model, task.graphs, np.concatenate(task.split), config.eval_batch_size)
        loader.set_epoch(epoch)
        # BatchNorm cannot train on a single graph's readout
        skip_single = any(isinstance(m, torch.nn.BatchNorm1d) and m.training for m in model.modules())
        losses = []
        for idx in loader.index_batches():
            if len(idx) < 2 and skip_single:
                continue
            if features is None:
                batch = loader.collate(idx).to(device)
                outputs, targets = model(batch), batch.y
            else:
                outputs, targets = features.outputs(model, idx), loader.targets_of(idx).to(device)
            optimizer.zero_grad()
            loss = loss_fn(outputs, targets)
            loss.backward()
            optimizer.step()
            losses.append(loss.detach().item())
        valid_score, test_score = score_splits(model, task, [valid, test], features)
        record = {"seed": seed, "epoch": epoch, "loss": float(np.mean(losses)) if losses else math.nan,
                  "train": score_split(model, task, train, features) if config.eval_train else None,
                  "valid": valid_score, "test": test_score}  # fmt: skip
        history.append(record)
        if on_epoch is not None:
            on_epoch(model, record)
        if progress is not None:
            progress(record)
        if best is None or improves(metric, record["valid"], best[0]):
            best = (record["valid"], epoch, record["test"], {k: v.detach().to("cpu", copy=True) for k, v in model.state_dict().items()})
    assert best is not None
    result = SeedResult(
        seed=seed, best_epoch=best[1], valid_at_best=best[0], test_at_best=best[2],
        valid_at_last=history[-1]["valid"], test_at_last=history[-1]["test"], history=history,
        trainable_parameters=sum(p.numel() for p in model.parameters() if id(p) in trained),
        total_parameters=sum(p.numel() for p in model.parameters()),
    )  # fmt: skip
    return result, best[3]


__all__ = ["EpochHook", "SeedResult", "SeedTask", "improves", "run_seed", "score_split", "score_splits", "seed_everything"]

"""The fine-tuning protocol of the pretraining literature, as library code.

Train for N epochs; after every epoch evaluate train/valid/test; select the epoch with the best
validation metric and report test at that epoch, and also test at the last epoch (published papers
disagree on which to quote); repeat over seeds and report mean and standard deviation. Hu et al.
(ICLR 2020): 100 epochs, batch size 32, Adam with lr 1e-3, dropout 0.5, ROC-AUC, scaffold split.
"""

from __future__ import annotations

import dataclasses
import logging
import math
import random
import warnings
from dataclasses import dataclass, field
from typing import Any, Callable, Mapping, Sequence

import numpy as np
import torch

from molssl.ssl.checks import check_known_keys
from molssl.data.loader import StoreLoader
from molssl.eval.metrics import DEFAULT_METRIC, Metric, get_metric
from molssl.graph.arrays import GraphArrays
from molssl.nn.encoder import set_activation_checkpointing
from molssl.peft import PEFT_METHODS
from molssl.tasks.finetune_modes import check_mode_options, make_optimizer, training_phases
from molssl.tasks.losses import loss_for_task
from molssl.tasks.model import PropertyModel, frozen_modules_eval, set_trainable
from molssl.tasks.target_scaler import TargetScaler

logger = logging.getLogger(__name__)

#: fine-tuning modes: everything, a frozen encoder, its last k layers, a PEFT method, or LP-FT
MODES = ("full", "linear_probe", "last_k", *PEFT_METHODS, "lp_ft")
#: ``on_epoch(model, record)``: called after every epoch with the model being trained and the epoch's record
EpochHook = Callable[[PropertyModel, dict], None]


@dataclass(frozen=True, kw_only=True)
class FinetuneConfig:
    """Hyperparameters of the fine-tuning protocol (defaults: Hu et al. 2020).

    Attributes:
        epochs: training epochs per seed.
        batch_size: training batch size.
        lr: learning rate of the head (and readout).
        encoder_lr: learning rate of the encoder; None = ``lr``.
        weight_decay: Adam weight decay.
        mode: ``"full"``, ``"linear_probe"`` (frozen encoder), ``"last_k"``, a parameter-efficient
            method (``"adapter"``, ``"lora"``, ``"bitfit"``, ``"gpf"``, ``"gpf_plus"``: ``molssl.peft``)
            or ``"lp_ft"`` (Kumar et al., ICLR 2022: ``lp_epochs`` epochs of linear probing, then full
            fine-tuning with a fresh optimizer for the rest).
        last_k: trainable encoder layers in ``last_k`` mode.
        peft: options of the PEFT ``mode`` (fields of ``molssl.peft.PeftConfig`` but ``method``, e.g.
            ``{"lora_rank": 4}``); empty = its defaults. Only for PEFT modes.
        lp_epochs: linear-probing epochs of ``lp_ft`` (default: half of ``epochs``). Only for ``lp_ft``.
        seeds: one run per seed.
        metric: selection/report metric; None = ROC-AUC for classification, one-vs-rest ROC-AUC for multiclass, RMSE for regression.
        eval_batch_size: batch size for evaluation.
        eval_train: also score the training set every epoch (costs a pass over it; only logged).
        activation_checkpointing: recompute each encoder layer in backward instead of keeping its
            activations (``molssl.nn.activation_checkpointing``): same results, less memory, more time.
    """

    epochs: int = 100
    batch_size: int = 32
    lr: float = 1e-3
    encoder_lr: float | None = None
    weight_decay: float = 0.0
    mode: str = "full"
    last_k: int = 1
    peft: dict[str, Any] = field(default_factory=dict)
    lp_epochs: int | None = None
    seeds: tuple[int, ...] = (0,)
    metric: str | None = None
    eval_batch_size: int = 256
    eval_train: bool = False
    activation_checkpointing: bool = False

    def __post_init__(self) -> None:
        if self.epochs < 1 or self.batch_size < 1 or self.eval_batch_size < 1:
            raise ValueError("epochs, batch_size and eval_batch_size must be >= 1")
        if self.lr <= 0 or (self.encoder_lr is not None and self.encoder_lr < 0) or self.weight_decay < 0:
            raise ValueError("lr must be > 0, encoder_lr and weight_decay >= 0")
        if self.mode not in MODES:
            raise ValueError(f"unknown fine-tuning mode {self.mode!r}; valid modes: {', '.join(MODES)}")
        object.__setattr__(self, "lp_epochs", check_mode_options(self.mode, self.peft, self.lp_epochs, self.epochs))
        if not isinstance(self.activation_checkpointing, bool):
            raise ValueError(f"activation_checkpointing must be a bool, got {self.activation_checkpointing!r}")
        if not self.seeds:
            raise ValueError("seeds must not be empty")
        object.__setattr__(self, "seeds", tuple(int(s) for s in self.seeds))
        if self.metric is not None:
            get_metric(self.metric)

    def to_dict(self) -> dict[str, Any]:
        return {**dataclasses.asdict(self), "seeds": list(self.seeds)}


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


def improves(metric: Metric, candidate: float, best: float | None) -> bool:
    """Whether ``candidate`` replaces ``best`` in model selection; an undefined (NaN) score never wins."""
    if math.isnan(candidate):
        return False
    return best is None or math.isnan(best) or metric.is_better(candidate, best)


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


def seed_everything(seed: int) -> None:
    """Seed Python, numpy and torch."""
    random.seed(seed)
    np.random.seed(seed % 2**32)
    torch.manual_seed(seed)


def model_device(model: torch.nn.Module) -> torch.device:
    """The device a model's parameters live on (the CPU for a model without parameters)."""
    return next((p.device for p in model.parameters()), torch.device("cpu"))


def resolve_device(device: str | torch.device | None) -> torch.device:
    """A torch device from ``"cpu"``, ``"cuda"``, ``"cuda:N"`` or ``"auto"`` (CUDA when present, else the CPU).

    Raises:
        ValueError: an unknown device name, or a CUDA device on a machine without CUDA.
    """
    if device is None or device == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    try:
        resolved = torch.device(device)
    except RuntimeError as exc:
        raise ValueError(f"unknown device {device!r} ({exc}); use cpu, cuda, cuda:N or auto") from None
    if resolved.type == "cuda" and not torch.cuda.is_available():
        raise ValueError(f"device {device!r} asked for, but this machine has no CUDA device; use cpu or auto")
    return resolved


@torch.no_grad()
def predict_graphs(model: PropertyModel, graphs: GraphArrays, indices: np.ndarray | None = None, batch_size: int = 256) -> np.ndarray:
    """Raw model outputs (logits or standardized values) for graphs, in order; shape [M, T].

    Batches are built on the CPU and moved to the model's device; outputs come back to the CPU.
    """
    model.eval()
    device = model_device(model)
    loader = StoreLoader(graphs, batch_size=batch_size, indices=indices)
    outs = [model(batch.to(device)).float().cpu() for batch in loader]
    if not outs:
        return np.zeros((0, model.config.num_tasks), dtype=np.float32)
    return torch.cat(outs).numpy()


def outputs_to_predictions(outputs: np.ndarray, task_type: str, scaler: TargetScaler | None) -> np.ndarray:
    """Logits -> probabilities (classification; softmax over the last axis for multiclass [M, T, C]);
    standardized -> original units (regression)."""
    if task_type == "classification":
        return 1.0 / (1.0 + np.exp(-outputs))
    if task_type == "multiclass":
        shifted = np.exp(outputs - outputs.max(axis=-1, keepdims=True))
        return shifted / shifted.sum(axis=-1, keepdims=True)
    return scaler.inverse_transform(outputs) if scaler is not None else outputs


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


def score_split(model: PropertyModel, task: SeedTask, idx: np.ndarray) -> float:
    """The protocol metric of ``model`` on the molecules ``idx`` (NaN when it is undefined there)."""
    return score_splits(model, task, [idx])[0]


def score_splits(model: PropertyModel, task: SeedTask, parts: Sequence[np.ndarray]) -> list[float]:
    """The protocol metric of ``model`` on each part (e.g. valid and test), predicted in one pass over all of them.

    One ``predict_graphs`` over the concatenated parts fills whole evaluation batches across their
    boundary instead of ending each part with a partial one (evaluation is per molecule: the same outputs up
    to float rounding).
    """
    metric = get_metric(task.metric)
    sizes = [len(idx) for idx in parts]
    every = np.concatenate([np.asarray(idx, dtype=np.int64) for idx in parts]) if parts else np.zeros(0, dtype=np.int64)
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
    sees the model being trained (in eval mode), then ``progress(record)`` the record.

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
    for epoch in range(1, config.epochs + 1):
        if epoch in phases:
            set_trainable(model, phases[epoch], config.last_k)
            optimizer = make_optimizer(model, config.lr, config.encoder_lr, config.weight_decay)
            trained |= {id(p) for p in model.parameters() if p.requires_grad}
        model.train()
        frozen_modules_eval(model)
        loader.set_epoch(epoch)
        losses = []
        for batch in loader:
            if batch.num_graphs < 2 and any(isinstance(m, torch.nn.BatchNorm1d) and m.training for m in model.modules()):
                continue  # BatchNorm cannot train on a single graph's readout
            batch = batch.to(device)
            optimizer.zero_grad()
            loss = loss_fn(model(batch), batch.y)
            loss.backward()
            optimizer.step()
            losses.append(loss.detach().item())
        valid_score, test_score = score_splits(model, task, [valid, test])
        record = {"seed": seed, "epoch": epoch, "loss": float(np.mean(losses)) if losses else math.nan,
                  "train": score_split(model, task, train) if config.eval_train else None,
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


def config_from_mapping(data: Mapping[str, Any]) -> FinetuneConfig:
    """``FinetuneConfig`` from plain data (unknown keys are an error)."""
    check_known_keys(FinetuneConfig, data)
    return FinetuneConfig(**{**data, "seeds": tuple(data.get("seeds", (0,)))})

"""The pretraining loop shared by every method: data, optimizer, precision, logging, checkpoints, DDP.

``pretrain(method, data, out)`` trains a ``molssl.methods`` method on unlabeled molecules (or labeled
ones for supervised pretraining) and leaves a run directory (``molssl.pretrain.run_dir``) whose
``encoder/`` fine-tuning loads (``PropertyPredictor.fit(pretrained=...)``). A killed run continues
with ``resume=True`` exactly where its last checkpoint left it: same step, weights, optimizer moments,
data order and random draws, so it ends with the parameters an uninterrupted run would have had.
"""

from __future__ import annotations

import json
import logging
import math
import os
import time
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Mapping

import numpy as np
import torch

from molssl import __version__
from molssl.checkpoint import CheckpointError, load_weights, remove_staged_copies, staged_copies
from molssl.chem.schemes import FeaturizationSpec
from molssl.data.loader import StoreLoader
from molssl.data.size_curriculum import SizeCurriculumLoader
from molssl.methods import get_method
from molssl.methods.base import PretrainMethod
from molssl.nn.encoder import EncoderConfig, set_activation_checkpointing
from molssl.nn.pretrained import checkpoint_in, load_encoder_state, save_encoder
from molssl.pretrain.config import RESUMABLE_CHANGES, TrainConfig
from molssl.pretrain.data import PretrainData, labeled_data, unlabeled_data
from molssl.pretrain.distributed import (
    DistContext,
    all_reduce_mean,
    barrier,
    setup_distributed,
    teardown,
)
from molssl.pretrain.run_dir import RunDirectory, RunDirectoryError
from molssl.pretrain.train_state import Progress, load_state, save_state
from molssl.ssl.monitors import CollapseMonitor, collapse_metrics

logger = logging.getLogger(__name__)

RUN_FORMAT = "molssl-pretrain-run"
RUN_FORMAT_VERSION = 1
#: encoder defaults of Hu et al. (2020) for pretraining: 5 GIN layers of 300, JK last, no dropout
DEFAULT_ENCODER = {"conv": "gin", "num_layers": 5, "emb_dim": 300, "jk": "last", "dropout": 0.0}
#: rows of the embedding matrix the collapse monitors look at (enough for a stable effective rank)
MONITOR_ROWS = 1024


@dataclass
class PretrainResult:
    """What a finished run left: its directory, final encoder checkpoint and logged rows."""

    run_dir: Path
    encoder_dir: Path
    steps: int
    metrics: list[dict[str, Any]]

    @property
    def final_loss(self) -> float:
        return self.metrics[-1]["loss"] if self.metrics else math.nan


def step_seed(seed: int, rank: int, step: int) -> int:
    """The seed of one step's random draws: a hash of (run seed, rank, step)."""
    return int(np.random.SeedSequence([seed, rank, step]).generate_state(1, dtype=np.uint64)[0] >> 1)


def _encoder_config(scheme: FeaturizationSpec, encoder: EncoderConfig | Mapping[str, Any] | None) -> EncoderConfig:
    if isinstance(encoder, EncoderConfig):
        if encoder.scheme != scheme:
            raise ValueError(
                f"the encoder config is for scheme {encoder.scheme.label} but the data is featurized with {scheme.label}"
            )
        return encoder
    options = {**DEFAULT_ENCODER, **dict(encoder or {})}
    options.pop("scheme", None)
    return EncoderConfig(scheme=scheme, **options)


def _check_resume(old: Mapping[str, Any], new: Mapping[str, Any], path: Path) -> None:
    """Refuse to resume a run directory with a different run than the one it holds.

    A ``train`` option the run's config.json lacks (written before the option existed) counts as its
    default.
    """
    new = json.loads(json.dumps(new))  # compare as written: tuples read back as lists
    defaults = json.loads(json.dumps(TrainConfig().to_dict()))
    diffs = []
    for key in sorted(set(old) | set(new)):
        if key == "train":
            a, b = {**defaults, **old.get(key, {})}, {**defaults, **new.get(key, {})}
            diffs += [f"train.{k}" for k in sorted(set(a) | set(b)) if k not in RESUMABLE_CHANGES and a.get(k) != b.get(k)]
        elif key not in ("molssl_version",) and old.get(key) != new.get(key):
            diffs.append(key)
    if diffs:
        raise RunDirectoryError(
            f"{path} holds a different run (differs in {', '.join(diffs)}); resume with the same options, "
            f"or use another output directory (only {', '.join(RESUMABLE_CHANGES)} may change on resume)"
        )


def _load_data(method_cls: type[PretrainMethod], data: Any, scheme: str, workers: int, target_columns: list[str] | None,
               task_type: str | None, options: Mapping[str, Any] | None, ctx: DistContext) -> tuple[PretrainData, dict[str, Any]]:  # fmt: skip
    """Load the data and let the method prepare it (its targets, the options the data decides).

    Rank 0 featurizes (or finds the cached store) and computes what the method caches first; the other
    ranks then open the same files.
    """

    def load() -> tuple[PretrainData, dict[str, Any]]:
        if method_cls.needs_labels:
            if data is None:
                raise ValueError(f"method {method_cls.name!r} trains on labels: pass a labeled CSV or a MoleculeNet name as data")
            loaded = data if isinstance(data, PretrainData) else labeled_data(
                data, scheme=scheme, target_columns=target_columns, task_type=task_type, workers=workers)  # fmt: skip
            if loaded.targets is None:
                raise ValueError(f"method {method_cls.name!r} needs labeled data; {loaded.description.get('kind')} data has no labels")
        else:
            loaded = data if isinstance(data, PretrainData) else unlabeled_data(data, scheme=scheme, workers=workers)
        return method_cls.prepare_data(loaded, dict(options or {}), workers)

    if ctx.is_main:
        result = load()
    barrier(ctx)
    if not ctx.is_main:
        result = load()
    return result


def _no_full_batch(prepared: PretrainData, train: TrainConfig) -> ValueError:
    return ValueError(f"{prepared.origin}: {len(prepared.graphs)} molecules make no full batch of {train.batch_size}; lower batch_size")


class _Meter:
    """Sums of the logged scalars over a logging interval, kept on the device until a row is written."""

    def __init__(self) -> None:
        self.sums: dict[str, torch.Tensor] = {}
        self.count = 0

    def add(self, loss: torch.Tensor, metrics: Mapping[str, torch.Tensor]) -> None:
        for key, value in {"loss": loss, **metrics}.items():
            value = value.detach().float()
            self.sums[key] = self.sums[key] + value if key in self.sums else value
        self.count += 1

    def means(self, ctx: DistContext) -> dict[str, float]:
        keys = sorted(self.sums)
        stacked = torch.stack([self.sums[k] for k in keys]) / max(self.count, 1)
        values = all_reduce_mean(stacked, ctx).cpu().tolist()
        self.sums, self.count = {}, 0
        return dict(zip(keys, values))


def pretrain(
    method: str = "attr_masking",
    data: Any = None,
    out: str | os.PathLike = "runs/pretrain",
    *,
    train: TrainConfig | None = None,
    method_options: Mapping[str, Any] | None = None,
    encoder: EncoderConfig | Mapping[str, Any] | None = None,
    scheme: str = "hu",
    init: str | os.PathLike | None = None,
    resume: bool = False,
    workers: int = 1,
    target_columns: list[str] | None = None,
    task_type: str | None = None,
    min_effective_rank: float = 2.0,
    on_log: Callable[[dict[str, Any]], None] | None = None,
    overwrite: bool = False,
) -> PretrainResult:
    """Pretrain an encoder with a registered method and write a run directory.

    Args:
        method: a key of ``molssl.methods.METHODS`` (``attr_masking``, ``context_pred``, ...).
        data: unlabeled molecules (``None`` = the embedded MOSES sample, a SMILES/CSV file, a store
            directory, a ``MoleculeStore``), or for ``supervised`` a labeled CSV / MoleculeNet name.
        out: the run directory.
        train: the loop's options (``TrainConfig``); defaults of Hu et al.
        method_options: the method's options (fields of its config class).
        encoder: an ``EncoderConfig`` or overrides of the default GIN (``{"num_layers": 3}``).
        scheme: featurization scheme for files (a store brings its own).
        init: start the encoder from this checkpoint (an encoder or predictor checkpoint, or a run
            directory): e.g. supervised pretraining after a self-supervised one. Its scheme must match.
        resume: continue the run in ``out`` from its newest complete checkpoint (also one an interrupted
            save left beside ``state/``); from step 0 only if the run has no progress (no state written).
        overwrite: replace a run ``out`` holds (its files only), once everything else was validated.
        workers: featurization processes when a store has to be built.
        target_columns, task_type: of a labeled CSV (``supervised``).
        min_effective_rank: warn when the embeddings' effective rank falls below this (collapse).
        on_log: called on rank 0 with every metrics row (after it is written).

    Returns:
        ``PretrainResult`` with the run and encoder directories.

    Raises:
        RunDirectoryError: ``out`` holds a run with progress and neither ``resume`` nor ``overwrite`` is set
            (checked before any work), holds a different run, or (with ``resume``) has progress but no
            loadable state. A run that failed before its first checkpoint blocks nothing.
        FloatingPointError: the loss became NaN or infinite.
    """
    train = train or TrainConfig()
    method_cls = get_method(method)
    ctx = setup_distributed(train.device)
    try:
        return _run(method_cls, data, Path(out), train, method_options, encoder, scheme, init, resume, workers,
                    target_columns, task_type, min_effective_rank, on_log, ctx, overwrite)  # fmt: skip
    finally:
        teardown(ctx)


def _run(method_cls, data, out, train, method_options, encoder, scheme, init, resume, workers, target_columns,
         task_type, min_effective_rank, on_log, ctx: DistContext, overwrite: bool = False) -> PretrainResult:  # fmt: skip
    if train.precision == "fp16" and ctx.device.type != "cuda":
        raise ValueError("precision 'fp16' needs a CUDA device (it trains with a gradient scaler); use 'bf16' on CPU")
    if train.batch_size % ctx.world_size:
        raise ValueError(f"batch_size {train.batch_size} must be divisible by the number of processes ({ctx.world_size})")
    run = RunDirectory(out)
    run.check(resume=resume, overwrite=overwrite)  # before featurizing: a run there is refused now
    method_cls.check_options(method_options)  # the user's options, before featurizing (the data may add some)
    prepared, options = _load_data(method_cls, data, scheme, workers, target_columns, task_type, method_options, ctx)
    encoder_config = _encoder_config(prepared.scheme, encoder)
    config = method_cls.config_class.from_dict(options)

    torch.manual_seed(train.seed)  # identical initial weights on every rank
    model = method_cls(encoder_config, config)
    init_path = None
    if init is not None:
        init_path = checkpoint_in(init)  # a run folder stands for its encoder/
        init_config, state = load_encoder_state(init_path, expected_scheme=prepared.scheme)
        if init_config.to_dict() != encoder_config.to_dict():
            raise ValueError(f"{init_path}: the checkpoint's encoder ({init_config.conv}, {init_config.num_layers} layers of "
                             f"{init_config.emb_dim}) differs from this run's; pass encoder=the checkpoint's config")  # fmt: skip
        load_weights(model.encoder, state, init_path)
    model.to(ctx.device)
    set_activation_checkpointing(model, train.activation_checkpointing)

    run_config = {
        "format": RUN_FORMAT, "format_version": RUN_FORMAT_VERSION, "molssl_version": __version__,
        "method": method_cls.name, "method_config": config.to_dict(), "encoder": encoder_config.to_dict(),
        "train": train.to_dict(), "data": prepared.description, "world_size": ctx.world_size,
        "init": None if init_path is None else str(init_path.resolve()),
    }  # fmt: skip
    if len(prepared.graphs) < train.batch_size:  # before writing anything
        raise _no_full_batch(prepared, train)
    if ctx.is_main:
        if resume and run.has_progress():  # without progress a resume starts over with the new options
            _check_resume(run.read_config(), run_config, run.path)
        run.start(run_config, resume, overwrite)
    barrier(ctx)

    opt_cls = torch.optim.AdamW if train.optimizer == "adamw" else torch.optim.Adam
    optimizer = opt_cls(model.parameters(), lr=train.lr, weight_decay=train.weight_decay)
    scaler = torch.amp.GradScaler("cuda", enabled=train.precision == "fp16") if ctx.device.type == "cuda" else None
    progress = _resume(run, model, optimizer, scaler, ctx) if resume else Progress()
    if ctx.is_main and run.metrics_path.exists():
        run.truncate_metrics(progress.step)

    loader_options = dict(batch_size=train.batch_size // ctx.world_size, shuffle=True, seed=train.seed, drop_last=True,
                          targets=prepared.targets, rank=ctx.rank, world_size=ctx.world_size)  # fmt: skip
    loader = StoreLoader(prepared.graphs, **loader_options)
    if len(loader) == 0:
        raise _no_full_batch(prepared, train)
    total = train.total_steps(len(loader))
    if train.size_curriculum:
        loader = SizeCurriculumLoader(prepared.graphs, steps=math.ceil(train.size_curriculum * total),
                                      start=train.curriculum_start, **loader_options)  # fmt: skip
    net = model
    if ctx.distributed:
        from torch.nn.parallel import DistributedDataParallel

        net = DistributedDataParallel(model, device_ids=[ctx.device] if ctx.device.type == "cuda" else None,
                                      find_unused_parameters=method_cls.may_skip_parameters)  # fmt: skip
    monitor = CollapseMonitor(min_effective_rank)
    autocast_dtype = {"bf16": torch.bfloat16, "fp16": torch.float16}.get(train.precision)
    title = f"{method_cls.name} on {prepared.description.get('molecules')} molecules"

    bar = None
    if train.progress and ctx.is_main:
        from tqdm import tqdm

        bar = tqdm(total=total, initial=progress.step, desc=method_cls.name, unit="step", dynamic_ncols=True)
    meter = _Meter()
    interval_start, interval_graphs = time.perf_counter(), 0
    model.train()
    try:
        while progress.step < total:
            loader.set_epoch(progress.epoch)
            for batch in loader.batches(start=progress.batch_in_epoch):
                if progress.step >= total:
                    break
                seed = step_seed(train.seed, ctx.rank, progress.step)
                torch.manual_seed(seed)  # dropout and any other global draw of this step
                generator = torch.Generator(device=ctx.device)
                generator.manual_seed(seed)
                batch = batch.to(ctx.device)
                lr = train.lr_at(progress.step, total)
                for group in optimizer.param_groups:
                    group["lr"] = lr
                with torch.autocast(ctx.device.type, dtype=autocast_dtype or torch.float32, enabled=autocast_dtype is not None):
                    output = net(batch, generator)
                optimizer.zero_grad(set_to_none=True)
                if scaler is not None and scaler.is_enabled():
                    scaler.scale(output.loss).backward()
                    if train.grad_clip:
                        scaler.unscale_(optimizer)
                        torch.nn.utils.clip_grad_norm_(model.parameters(), train.grad_clip)
                    scaler.step(optimizer)
                    scaler.update()
                else:
                    output.loss.backward()
                    if train.grad_clip:
                        torch.nn.utils.clip_grad_norm_(model.parameters(), train.grad_clip)
                    optimizer.step()
                meter.add(output.loss, output.metrics)
                progress.step += 1
                progress.batch_in_epoch += 1
                progress.graphs_seen += train.batch_size
                interval_graphs += train.batch_size

                if progress.step % train.log_every == 0 or progress.step == total:
                    row = _log_row(meter, ctx, progress, lr, output, interval_graphs, time.perf_counter() - interval_start)
                    progress.train_seconds += time.perf_counter() - interval_start
                    interval_start, interval_graphs = time.perf_counter(), 0
                    if not math.isfinite(row["loss"]):
                        raise FloatingPointError(
                            f"the loss became {row['loss']} at step {progress.step}; lower lr, set grad_clip, or use "
                            f"fp32 (now {train.precision}); the last checkpoint in {run.state_dir} is intact"
                        )
                    message = monitor.check(row, advice=method_cls.collapse_advice)
                    if message:
                        row["collapse_warning"] = True
                        if ctx.is_main:
                            warnings.warn(f"step {progress.step}: {message}", RuntimeWarning, stacklevel=2)
                    if ctx.is_main:
                        run.append_metrics([row])
                        if on_log is not None:
                            on_log(row)
                    if bar is not None:
                        bar.set_postfix(loss=f"{row['loss']:.4f}", graphs_s=f"{row['graphs_per_s']:.0f}")
                if bar is not None:
                    bar.update(1)
                if progress.step % train.checkpoint_every == 0 or progress.step == total:
                    _checkpoint(run, model, optimizer, scaler, progress, run_config, ctx, title, min_effective_rank)
            else:
                progress.epoch += 1
                progress.batch_in_epoch = 0
    finally:
        if bar is not None:
            bar.close()

    if ctx.is_main:
        save_encoder(model.encoder, run.encoder_dir, extra={"method": method_cls.name, "steps": progress.step,
                                                            "method_config": config.to_dict()})  # fmt: skip
    barrier(ctx)
    return PretrainResult(run.path, run.encoder_dir, progress.step, run.read_metrics())


def _log_row(meter: _Meter, ctx: DistContext, progress: Progress, lr: float, output, graphs: int, seconds: float) -> dict[str, Any]:
    row: dict[str, Any] = {"step": progress.step, "epoch": progress.epoch, **meter.means(ctx), "lr": lr,
                           "graphs_per_s": graphs / seconds if seconds > 0 else 0.0, "graphs_seen": progress.graphs_seen}  # fmt: skip
    if output.embeddings is not None:
        z = output.embeddings[:MONITOR_ROWS].float()
        z2 = None if output.embeddings2 is None else output.embeddings2[:MONITOR_ROWS].float()
        row.update(collapse_metrics(z, z2))
    return row


def _resume(run: RunDirectory, model, optimizer, scaler, ctx: DistContext) -> Progress:
    """Restore the newest complete training state of ``run``, or ``Progress()`` for a run with no progress.

    A run has progress once it has written a training state (``state/`` or a copy an interrupted save
    left beside it, ``.state.tmp-*`` / ``.state.old-*``, complete or not) or its final ``encoder/``.
    Without progress the run starts at step 0 (nothing saved is lost: the metric rows are redone);
    with progress but no loadable state, resuming is an error rather than a silent restart.

    Raises:
        RunDirectoryError: the run has progress but no complete, verified state.
    """
    state = run.state_dir
    if not state.exists() and not staged_copies(state) and not run.encoder_dir.exists():
        logger.info("%s: no training state saved yet; starting at step 0", run.path)
        return Progress()
    try:
        progress, _, used = load_state(state, model, optimizer, scaler, newest=True)
    except CheckpointError as exc:
        raise RunDirectoryError(
            f"{run.path}: cannot resume: the run has saved progress but no loadable training state ({exc}). To "
            f"restart it from step 0, remove {state} and the .state.* directories beside it; or start a new run "
            "in another directory"
        ) from exc
    logger.info("resuming %s at step %d (epoch %d, batch %d) from %s", run.path, progress.step, progress.epoch,
                progress.batch_in_epoch, used)  # fmt: skip
    barrier(ctx)  # every rank has read it before rank 0 removes what it supersedes
    if ctx.is_main:
        remove_staged_copies(state, keep=used)  # the others are incomplete, or older than the one resumed from
    return progress


def _checkpoint(run: RunDirectory, model, optimizer, scaler, progress: Progress, run_config: dict, ctx: DistContext,
                title: str, min_effective_rank: float) -> None:  # fmt: skip
    """Save the resumable state (rank 0) and redraw the loss curve; rows logged later are redone on resume."""
    if ctx.is_main:
        save_state(run.state_dir, model, optimizer, scaler, progress, run_config)
        run.plot(title, min_effective_rank)
    barrier(ctx)

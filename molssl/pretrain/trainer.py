"""Pretraining runs: ``pretrain(RunConfig, out)`` trains any registered method on its modality's data.

``pretrain`` opens the data as a ``DataSource`` (``molssl.pretrain.source``), builds the method with
its encoder (``molssl.nn.encoders``), and hands both to the shared loop (``molssl.pretrain.loop``); it
leaves a run directory (``molssl.pretrain.run_dir``) whose ``encoder/`` fine-tuning and probing load.
A killed run continues with ``resume=True`` exactly where its last checkpoint left it: same step,
weights, optimizer moments, data order and random draws, so it ends with the parameters an
uninterrupted run would have had. The same holds for every modality: the loop knows none of them.
"""

from __future__ import annotations

import json
import logging
import math
import os
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any, Callable, Mapping

import torch

from molssl import __version__
from molssl.checkpoint import CheckpointError, load_weights, remove_staged_copies, staged_copies
from molssl.methods import get_method
from molssl.methods.base import PretrainMethod
from molssl.nn.encoders import config_from_dict, config_to_dict, kind_of
from molssl.nn.pretrained import checkpoint_in, load_encoder_state, save_encoder
from molssl.pretrain.batch_order import BatchOrder
from molssl.pretrain.config import RESUMABLE_CHANGES, DataConfig, RunConfig, TrainConfig
from molssl.pretrain.distributed import DistContext, barrier, setup_distributed, teardown
from molssl.pretrain.loop import MONITOR_ROWS, TrainingLoop, step_seed
from molssl.pretrain.run_dir import RunDirectory, RunDirectoryError
from molssl.pretrain.source import DataSource, named_data_modality, open_source
from molssl.pretrain.train_state import Progress, load_state

logger = logging.getLogger(__name__)

RUN_FORMAT = "molssl-pretrain-run"
#: 2: config.json is a ``RunConfig`` (data = what was asked, source = what was found, encoder with its kind)
RUN_FORMAT_VERSION = 2
#: encoder defaults of Hu et al. (2020) for graph pretraining: 5 GIN layers of 300, JK last, no dropout
DEFAULT_ENCODER = {k: v for k, v in PretrainMethod.default_encoder.items() if k != "kind"}
#: config.json keys that may differ when a run is resumed (besides ``train.RESUMABLE_CHANGES``)
_RESUMABLE_KEYS = ("molssl_version", "data.path", "data.workers")


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


def pretrain(
    method: str | RunConfig = "attr_masking",
    data: Any = None,
    out: str | os.PathLike = "runs/pretrain",
    *,
    modality: str | None = None,
    data_options: Mapping[str, Any] | None = None,
    train: TrainConfig | None = None,
    method_options: Mapping[str, Any] | None = None,
    encoder: Any = None,
    scheme: str | None = None,
    init: str | os.PathLike | None = None,
    resume: bool = False,
    workers: int = 1,
    target_columns: list[str] | None = None,
    task_type: str | None = None,
    min_effective_rank: float | None = None,
    on_log: Callable[[dict[str, Any]], None] | None = None,
    overwrite: bool = False,
) -> PretrainResult:
    """Pretrain an encoder with a registered method and write a run directory.

    Either pass a ``RunConfig`` (``pretrain(RunConfig(...), out=...)``; ``RunConfig.from_dict`` of a
    run's config.json repeats that run), or the method's name and the options below, which build one.

    Args:
        method: a ``RunConfig``, or a key of ``molssl.methods.METHODS`` (``attr_masking``, ``simclr``, ...).
        data: what to train on, as ``molssl pretrain --data`` takes it: ``None`` or ``"embedded"`` (the
            modality's embedded data: for graphs the MOSES sample), the name of an embedded set (``"mnist"``,
            ``"fsdd"``: it picks its modality, see ``molssl.pretrain.source.NAMED_DATA``), a file or
            directory, or an object the modality's opener accepts (graphs: a ``MoleculeStore`` or
            ``GraphArrays``), or a ``DataSource``; for ``supervised`` a labeled CSV / MoleculeNet name.
            With a ``RunConfig``, an object here replaces ``config.data.path``. A name or path is
            recorded in config.json and reopened on resume; an in-memory object is not.
        out: the run directory.
        modality: the data's modality (``--modality``), for a method of several; default the one a named
            data set implies, else the method's first.
        data_options: the modality opener's options (``--data-option KEY=VALUE``; e.g. audio
            ``{"takes": "10-49", "label": "speaker"}``); recorded in config.json with the data.
        train: the loop's options (``TrainConfig``); defaults of Hu et al.
        method_options: the method's options (fields of its config class).
        encoder: an encoder config object, or ``{"kind": ..., **options}``, or overrides of the method's
            default encoder (``{"num_layers": 3}``).
        scheme: graphs: featurization scheme for files (default ``hu``; a store brings its own).
        init: start the encoder from this checkpoint (an encoder or predictor checkpoint, or a run
            directory): e.g. supervised pretraining after a self-supervised one. Its preprocessing
            (for graphs, the scheme) must match.
        resume: continue the run in ``out`` from its newest complete checkpoint (also one an interrupted
            save left beside ``state/``); from step 0 only if the run has no progress (no state written).
        overwrite: replace a run ``out`` holds (its files only), once everything else was validated.
        workers: processes that prepare the data (graphs: featurization when a store is built).
        target_columns, task_type: graphs: of a labeled CSV (``supervised``).
        min_effective_rank: warn when the embeddings' effective rank falls below this (collapse);
            default ``train.min_effective_rank``.
        on_log: called on rank 0 with every metrics row (after it is written).

    Returns:
        ``PretrainResult`` with the run and encoder directories.

    Raises:
        RunDirectoryError: ``out`` holds a run with progress and neither ``resume`` nor ``overwrite`` is set
            (checked before any work), holds a different run, or (with ``resume``) has progress but no
            loadable state. A run that failed before its first checkpoint blocks nothing.
        FloatingPointError: the loss became NaN or infinite.
    """
    from molssl.allocator import keep_freed_memory

    keep_freed_memory()
    if isinstance(method, RunConfig):
        given = {"train": train, "method_options": method_options, "encoder": encoder, "scheme": scheme, "init": init,
                 "target_columns": target_columns, "task_type": task_type, "min_effective_rank": min_effective_rank,
                 "modality": modality, "data_options": data_options}  # fmt: skip
        clashing = sorted(k for k, v in given.items() if v is not None) + (["workers"] if workers != 1 else [])
        if clashing:
            raise TypeError(f"pass {', '.join(clashing)} inside the RunConfig, not beside it")
        config = method
    else:
        config = _keyword_config(method, data, modality=modality, data_options=data_options, train=train,
                                 method_options=method_options, encoder=encoder, scheme=scheme, init=init, workers=workers,
                                 target_columns=target_columns, task_type=task_type,
                                 min_effective_rank=min_effective_rank)  # fmt: skip
    data_object = None if data is None or isinstance(data, (str, os.PathLike)) else data
    if isinstance(method, RunConfig) and data is not None and data_object is None:
        config = replace(config, data=replace(config.data, path=str(data)))
    ctx = setup_distributed(config.train.device)
    try:
        return _Run(config, Path(out), ctx, data_object).start(resume, overwrite, on_log)
    finally:
        teardown(ctx)


def _keyword_config(method: str, data: Any, *, modality: str | None, data_options: Mapping[str, Any] | None,
                    train: TrainConfig | None, method_options: Mapping[str, Any] | None, encoder: Any, scheme: str | None,
                    init: Any, workers: int, target_columns: list[str] | None, task_type: str | None,
                    min_effective_rank: float | None) -> RunConfig:  # fmt: skip
    """The ``RunConfig`` of ``pretrain``'s keyword form (as ``molssl pretrain`` builds it from its flags)."""
    train = train or TrainConfig()
    if min_effective_rank is not None:
        train = replace(train, min_effective_rank=min_effective_rank)
    if encoder is None or isinstance(encoder, Mapping):
        encoder_dict = dict(encoder or {})
    else:
        encoder_dict = config_to_dict(encoder)
    options = {"scheme": scheme, "target_columns": target_columns, "task_type": task_type}
    options = {k: v for k, v in options.items() if v is not None} | dict(data_options or {})
    path = None
    if isinstance(data, (str, os.PathLike)):
        path = str(data)
    elif getattr(data, "path", None) is not None and not isinstance(data, DataSource):  # a MoleculeStore
        path = str(data.path)
    data_config = DataConfig(path=path, modality=modality, options=options, workers=workers)
    return RunConfig(method=method, method_config=dict(method_options or {}), encoder=encoder_dict, data=data_config,
                     train=train, init=None if init is None else str(init))  # fmt: skip


def _encoder_config(method_cls: type[PretrainMethod], requested: Mapping[str, Any], source: DataSource) -> Any:
    """The encoder config of the run: the request on the method's default, with what the data decides.

    An option the data decides (``source.encoder_options()``: the featurization scheme, the channels)
    that the request sets to something else is an error.
    """
    requested = dict(requested)
    default = dict(method_cls.default_encoder)
    kind = requested.get("kind", default.get("kind"))
    base = default if kind == default.get("kind") else {"kind": kind}
    decided = source.encoder_options()
    config = config_from_dict({**base, **requested, **decided})
    for key in sorted(set(decided) & set(requested)):
        as_requested = config_to_dict(config_from_dict({**base, **requested, **{k: v for k, v in decided.items() if k != key}}))
        if as_requested != config_to_dict(config):
            raise ValueError(f"the encoder's {key} differs from the data's; {source.origin} decides it: leave {key} out of "
                             "the encoder options")  # fmt: skip
    return config


def _method_modality(method_cls: type[PretrainMethod], data: DataConfig, data_object: Any) -> str:
    """The run's modality: a ``DataSource``'s, else ``data.modality``, else a named data set's, else the method's first.

    Raises:
        ValueError: the method does not train on it, or ``data.modality`` is not the named data set's.
    """
    supported = method_cls.modalities()
    named = named_data_modality(data.path) if data_object is None else None
    if isinstance(data_object, DataSource):
        modality = data_object.modality
    else:
        modality = data.modality or named or supported[0]
    if named is not None and named != modality:
        raise ValueError(f"{data.path!r} is the embedded {named} data set, but the run asks for {modality} data; set the "
                         f"modality to {named} or leave it out (a file of that name: give it as ./{data.path})")  # fmt: skip
    if modality not in supported:
        given = f"{data.path!r} is the embedded {named} data set" if named else f"not {modality}"
        raise ValueError(f"method {method_cls.name!r} trains on {', '.join(supported)} data, {given}")
    return modality


def _upgrade(old: Mapping[str, Any], new: Mapping[str, Any]) -> dict[str, Any]:
    """A config.json of format 1 (before ``RunConfig``) in today's shape, for comparing on resume."""
    old = dict(old)
    if old.get("format_version", 1) < 2:
        old["source"] = old.pop("data", None)
        old["data"] = new.get("data")  # not recorded then; the source decides
        old["encoder"] = {"kind": "gnn", **(old.get("encoder") or {})}
        old["format_version"] = new.get("format_version")
    return old


def _check_resume(old: Mapping[str, Any], new: Mapping[str, Any], path: Path) -> None:
    """Refuse to resume a run directory with a different run than the one it holds.

    A ``train`` option the run's config.json lacks (written before the option existed) counts as its
    default.
    """
    new = json.loads(json.dumps(new))  # compare as written: tuples read back as lists
    old = _upgrade(old, new)
    defaults = json.loads(json.dumps(TrainConfig().to_dict()))
    diffs = []
    for key in sorted(set(old) | set(new)):
        if key in ("train", "data"):
            a, b = old.get(key) or {}, new.get(key) or {}
            if key == "train":
                a, b = {**defaults, **a}, {**defaults, **b}
            resumable = RESUMABLE_CHANGES if key == "train" else [k.split(".", 1)[1] for k in _RESUMABLE_KEYS if k.startswith("data.")]
            diffs += [f"{key}.{k}" for k in sorted(set(a) | set(b)) if k not in resumable and a.get(k) != b.get(k)]
        elif key not in _RESUMABLE_KEYS and old.get(key) != new.get(key):
            diffs.append(key)
    if diffs:
        raise RunDirectoryError(
            f"{path} holds a different run (differs in {', '.join(diffs)}); resume with the same options, "
            f"or use another output directory (only {', '.join([*RESUMABLE_CHANGES, *_RESUMABLE_KEYS[1:]])} may change on resume)"
        )


class _Run:
    """One pretraining run on this rank: prepares the data, method and directory, then trains."""

    def __init__(self, config: RunConfig, out: Path, ctx: DistContext, data_object: Any = None) -> None:
        self.config, self.ctx, self.data_object = config, ctx, data_object
        self.method_cls = get_method(config.method)
        self.run = RunDirectory(out)

    def start(self, resume: bool, overwrite: bool, on_log: Callable[[dict[str, Any]], None] | None) -> PretrainResult:
        config, ctx, method_cls, run = self.config, self.ctx, self.method_cls, self.run
        train = config.train
        if train.precision == "fp16" and ctx.device.type != "cuda":
            raise ValueError("precision 'fp16' needs a CUDA device (it trains with a gradient scaler); use 'bf16' on CPU")
        if train.batch_size % ctx.world_size:
            raise ValueError(f"batch_size {train.batch_size} must be divisible by the number of processes ({ctx.world_size})")
        run.check(resume=resume, overwrite=overwrite)  # before reading the data: a run there is refused now
        method_cls.check_options(config.method_config)  # the user's options, before reading (the data may add some)
        source, options = self._load_data()
        encoder_config = _encoder_config(method_cls, config.encoder, source)
        method_config = method_cls.config_class.from_dict(options)

        torch.manual_seed(train.seed)  # identical initial weights on every rank
        model = method_cls(encoder_config, method_config)
        init_path = None if config.init is None else self._load_init(model, encoder_config, source)
        model.to(ctx.device)
        if train.activation_checkpointing:
            _checkpoint_activations(model)

        resolved = replace(config, method_config=method_config.to_dict(), encoder=config_to_dict(encoder_config),
                           data=replace(config.data, modality=source.modality),
                           init=None if init_path is None else str(init_path.resolve()))  # fmt: skip
        run_config = {"format": RUN_FORMAT, "format_version": RUN_FORMAT_VERSION, "molssl_version": __version__,
                      **resolved.to_dict(), "source": source.describe(), "world_size": ctx.world_size}  # fmt: skip
        curriculum_steps = 0
        order = BatchOrder(source, train.batch_size, train.seed, ctx.rank, ctx.world_size)
        if order.batches_per_epoch == 0:  # before writing anything
            raise self._no_full_batch(source, train)
        if train.size_curriculum:
            curriculum_steps = math.ceil(train.size_curriculum * train.total_steps(order.batches_per_epoch))
            order = BatchOrder(source, train.batch_size, train.seed, ctx.rank, ctx.world_size, curriculum_steps,
                               train.curriculum_start)  # fmt: skip
        if ctx.is_main:
            if resume and run.has_progress():  # without progress a resume starts over with the new options
                _check_resume(run.read_config(), run_config, run.path)
            run.start(run_config, resume, overwrite)
        barrier(ctx)

        opt_cls = torch.optim.AdamW if train.optimizer == "adamw" else torch.optim.Adam
        optimizer = opt_cls(model.parameters(), lr=train.lr, weight_decay=train.weight_decay)
        scaler = torch.amp.GradScaler("cuda", enabled=train.precision == "fp16") if ctx.device.type == "cuda" else None
        progress = self._resume(model, optimizer, scaler) if resume else Progress()
        if ctx.is_main and run.metrics_path.exists():
            run.truncate_metrics(progress.step)
        net = model
        if ctx.distributed:
            from torch.nn.parallel import DistributedDataParallel

            net = DistributedDataParallel(model, device_ids=[ctx.device] if ctx.device.type == "cuda" else None,
                                          find_unused_parameters=method_cls.may_skip_parameters)  # fmt: skip
        title = f"{method_cls.name} on {len(source)} {source.unit}"
        loop = TrainingLoop(model, net, optimizer, scaler, source, order, train, run, run_config, ctx, title,
                            method_cls.collapse_advice, on_log)  # fmt: skip
        model.set_total_steps(loop.total)
        progress = loop.run(progress)

        if ctx.is_main:
            extra = {"method": method_cls.name, "steps": progress.step, "method_config": method_config.to_dict()}
            save_encoder(model.encoder, run.encoder_dir, source=source, extra=extra)
            if callable(getattr(model, "save_encoders", None)):  # a method of several encoders: each alone, encoders/<name>/
                model.save_encoders(run.path / "encoders", source, extra)
        barrier(ctx)
        return PretrainResult(run.path, run.encoder_dir, progress.step, run.read_metrics())

    def _load_data(self) -> tuple[DataSource, dict[str, Any]]:
        """Open the data and let the method prepare it (its targets, the options the data decides).

        Rank 0 reads (featurizes, decodes, or finds the cache) and computes what the method caches first;
        the other ranks then open the same files.
        """
        config, method_cls = self.config, self.method_cls
        modality = _method_modality(method_cls, config.data, self.data_object)
        data = self.data_object if self.data_object is not None else config.data.path

        def load() -> tuple[DataSource, dict[str, Any]]:
            source = open_source(modality, data, config.data.options, labels=method_cls.needs_labels, workers=config.data.workers)
            return method_cls.prepare_data(source, dict(config.method_config), config.data.workers)

        if self.ctx.is_main:
            result = load()
        barrier(self.ctx)
        if not self.ctx.is_main:
            result = load()
        return result

    def _load_init(self, model: PretrainMethod, encoder_config: Any, source: DataSource) -> Path:
        """Load the encoder weights of ``config.init`` into ``model``; its preprocessing and encoder must match."""
        init_path = checkpoint_in(self.config.init)  # a run folder stands for its encoder/
        init_config, state = load_encoder_state(init_path, expected_preprocessing=source.preprocessing())
        if config_to_dict(init_config) != config_to_dict(encoder_config):
            raise ValueError(f"{init_path}: the checkpoint's encoder ({kind_of(init_config)}: {_summary(init_config)}) differs "
                             f"from this run's ({_summary(encoder_config)}); pass encoder=the checkpoint's config")  # fmt: skip
        load_weights(model.encoder, state, init_path)
        return init_path

    def _resume(self, model: torch.nn.Module, optimizer: torch.optim.Optimizer, scaler: torch.amp.GradScaler | None) -> Progress:
        """Restore the newest complete training state of the run, or ``Progress()`` for a run with no progress.

        A run has progress once it has written a training state (``state/`` or a copy an interrupted save
        left beside it, ``.state.tmp-*`` / ``.state.old-*``, complete or not) or its final ``encoder/``.
        Without progress the run starts at step 0 (nothing saved is lost: the metric rows are redone);
        with progress but no loadable state, resuming is an error rather than a silent restart.

        Raises:
            RunDirectoryError: the run has progress but no complete, verified state.
        """
        run = self.run
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
        barrier(self.ctx)  # every rank has read it before rank 0 removes what it supersedes
        if self.ctx.is_main:
            remove_staged_copies(state, keep=used)  # the others are incomplete, or older than the one resumed from
        return progress

    @staticmethod
    def _no_full_batch(source: DataSource, train: TrainConfig) -> ValueError:
        return ValueError(f"{source.origin}: {len(source)} {source.unit} make no full batch of {train.batch_size}; lower batch_size")


def _checkpoint_activations(model: torch.nn.Module) -> None:
    """Switch on activation checkpointing in every encoder of ``model`` that offers it.

    An encoder offers it with a bool attribute ``activation_checkpointing`` (``GNNEncoder``: per layer);
    a method may hold several encoders (context prediction's context GNN, an EMA teacher).

    Raises:
        ValueError: ``model`` holds no encoder that offers it.
    """
    encoders = [m for m in model.modules() if isinstance(getattr(m, "activation_checkpointing", None), bool)]
    if not encoders:
        raise ValueError(f"activation checkpointing works per encoder layer, and this {type(model).__name__} has no encoder that "
                         "offers it (an activation_checkpointing attribute); leave activation_checkpointing off")  # fmt: skip
    for encoder in encoders:
        encoder.activation_checkpointing = True


def _summary(config: Any) -> str:
    """A short description of an encoder config for messages (its options except the long ones)."""
    data = config.to_dict()
    return ", ".join(f"{k}={v}" for k, v in data.items() if not isinstance(v, (dict, list)))


__all__ = ["DEFAULT_ENCODER", "MONITOR_ROWS", "PretrainResult", "pretrain", "step_seed"]

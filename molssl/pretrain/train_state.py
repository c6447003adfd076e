"""The resumable state of a training run as a plain-data checkpoint (JSON + safetensors, no pickle).

Everything that decides what the next step does is saved: the method's weights and buffers, the
optimizer's moments and step counts, the fp16 gradient scaler, and where the run is (step, epoch,
batch within the epoch). Randomness needs no state: the data order is a function of (seed, epoch) and
every step's generator is seeded from (seed, rank, step), so a resumed run draws what an
uninterrupted one would have drawn.
"""

from __future__ import annotations

import os
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import torch
from torch import Tensor, nn

from molssl.checkpoint import CheckpointError, load_weights, read_checkpoint, reading_checkpoint, save_checkpoint
from molssl.files import json_safe

STATE_KIND = "pretrain_state"


@dataclass
class Progress:
    """Where a run is: ``step`` optimizer steps done, in ``epoch``, at batch ``batch_in_epoch`` of it.

    ``items_seen`` counts the items (molecules, images, ...) of all ranks trained on so far.
    """

    step: int = 0
    epoch: int = 0
    batch_in_epoch: int = 0
    items_seen: int = 0
    train_seconds: float = 0.0

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> "Progress":
        """From ``asdict`` output, also of states written when the count was ``graphs_seen``."""
        data = dict(data)
        if "graphs_seen" in data:
            data["items_seen"] = data.pop("graphs_seen")
        return cls(**data)


def optimizer_to_plain(optimizer: torch.optim.Optimizer) -> tuple[dict[str, Tensor], dict[str, Any]]:
    """Split an optimizer's state into tensors (``optimizer.<param>.<key>``) and JSON data."""
    state = optimizer.state_dict()
    tensors: dict[str, Tensor] = {}
    scalars: dict[str, dict[str, Any]] = {}
    for param_id, entries in state["state"].items():
        for key, value in entries.items():
            if isinstance(value, Tensor):
                tensors[f"optimizer.{param_id}.{key}"] = value
            else:
                scalars.setdefault(str(param_id), {})[key] = json_safe(value)
    return tensors, {"param_groups": json_safe(state["param_groups"]), "scalars": scalars}


def optimizer_from_plain(tensors: dict[str, Tensor], plain: dict[str, Any]) -> dict[str, Any]:
    """The ``optimizer.state_dict()`` that ``optimizer_to_plain`` split."""
    state: dict[int, dict[str, Any]] = {}
    for name, value in tensors.items():
        _, param_id, key = name.split(".", 2)
        state.setdefault(int(param_id), {})[key] = value
    for param_id, entries in plain["scalars"].items():
        state.setdefault(int(param_id), {}).update(entries)
    groups = [dict(g, betas=tuple(g["betas"])) if "betas" in g else dict(g) for g in plain["param_groups"]]
    return {"state": state, "param_groups": groups}


def save_state(
    directory: str | os.PathLike,
    model: nn.Module,
    optimizer: torch.optim.Optimizer,
    scaler: torch.amp.GradScaler | None,
    progress: Progress,
    run_config: dict[str, Any],
) -> Path:
    """Write the resumable state atomically (a kill during the write leaves the previous state intact)."""
    opt_tensors, opt_plain = optimizer_to_plain(optimizer)
    tensors = {f"model.{k}": v for k, v in model.state_dict().items()}
    tensors.update(opt_tensors)
    config = {"kind": STATE_KIND, "scheme": run_config["encoder"].get("scheme"), "run": run_config}
    extra = {
        "progress": asdict(progress),
        "optimizer": opt_plain,
        "scaler": scaler.state_dict() if scaler is not None and scaler.is_enabled() else None,
    }
    return save_checkpoint(directory, config, tensors, extra=extra)


def load_state(
    directory: str | os.PathLike,
    model: nn.Module,
    optimizer: torch.optim.Optimizer,
    scaler: torch.amp.GradScaler | None,
    newest: bool = False,
) -> tuple[Progress, dict[str, Any], Path]:
    """Restore a state written by ``save_state`` into ``model``, ``optimizer`` and ``scaler``.

    Args:
        directory: the state directory (``RUN/state``).
        model, optimizer, scaler: restored in place.
        newest: use the newest complete copy among ``directory`` and the copies interrupted saves left
            beside it (``molssl.checkpoint.read_checkpoint``); otherwise ``directory`` unless it is
            missing or incomplete.

    Returns:
        The progress, the run configuration stored with it, and the directory it was read from.

    Raises:
        CheckpointError: no complete state, or one that does not fit the model and optimizer.
    """
    found = read_checkpoint(directory, newest=newest)
    config, tensors, extra = found.config, found.state_dict, found.extra
    if config.get("kind") != STATE_KIND:
        raise CheckpointError(f"{found.path}: not a pretraining state (kind {config.get('kind')!r})")
    model_state = {k[len("model."):]: v for k, v in tensors.items() if k.startswith("model.")}
    load_weights(model, model_state, found.path)
    # load_state_dict moves the moments to each parameter's device and keeps step counts where torch wants them
    opt_tensors = {k: v for k, v in tensors.items() if k.startswith("optimizer.")}
    with reading_checkpoint(found.path, "the training state"):
        optimizer.load_state_dict(optimizer_from_plain(opt_tensors, extra["optimizer"]))
        if scaler is not None and extra.get("scaler"):
            scaler.load_state_dict(extra["scaler"])
        progress = Progress.from_dict(extra["progress"])
        run_config = config["run"]
    return progress, run_config, found.path

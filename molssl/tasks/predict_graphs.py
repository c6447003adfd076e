"""Running a property model over featurized molecules: devices, batched raw outputs, and outputs as predictions."""

from __future__ import annotations

import numpy as np
import torch

from molssl.data.loader import StoreLoader
from molssl.graph.arrays import GraphArrays
from molssl.nn.colour_class_inference import embed_by_colour_classes
from molssl.nn.small_batch_inference import embed_small_batch
from molssl.tasks.model import PropertyModel
from molssl.tasks.target_scaler import TargetScaler


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


def model_outputs(model: PropertyModel, batch) -> torch.Tensor:
    """``model(batch)`` for inference (gradients off): once per Weisfeiler-Leman colour class where
    ``molssl.nn.colour_class_inference`` applies (the default GIN on the CPU: equal up to the order of
    floating-point sums, about 2x faster), for batches too small for it the per-atom forward without
    its per-layer repeated work (``molssl.nn.small_batch_inference``: bitwise equal), the ordinary
    forward otherwise.

    Shapes:
        batch: B graphs -> [B, T] (or [B, T, C] for multiclass)
    """
    embedded = None
    if model.readout is not None:
        embedded = embed_by_colour_classes(model.encoder, model.readout, batch)
        if embedded is None:
            embedded = embed_small_batch(model.encoder, model.readout, batch)
    return model(batch) if embedded is None else model.head_outputs(embedded)


@torch.no_grad()
def predict_graphs(model: PropertyModel, graphs: GraphArrays, indices: np.ndarray | None = None, batch_size: int = 256) -> np.ndarray:
    """Raw model outputs (logits or standardized values) for graphs, in order; shape [M, T].

    Batches are built on the CPU and moved to the model's device; outputs come back to the CPU.
    """
    if any(module.training for module in model.modules()):  # reading the flags costs a third of eval()'s writes
        model.eval()
    device = model_device(model)
    loader = StoreLoader(graphs, batch_size=batch_size, indices=indices)
    outs = [model_outputs(model, batch.to(device)).float().cpu() for batch in loader]
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


__all__ = ["model_device", "model_outputs", "outputs_to_predictions", "predict_graphs", "resolve_device"]

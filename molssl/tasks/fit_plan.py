"""What a fine-tuning run is about to do, known before its first epoch: data, task type, split, budget, model.

``PropertyPredictor.fit(on_plan=...)`` hands it over once the data is featurized and split, so a user sees
the detected task type and the plan before waiting for training; ``molssl finetune`` prints it.
"""

from __future__ import annotations

from typing import Any, Sequence

import torch


def trainable_count(model: torch.nn.Module) -> int:
    """Parameters that will train (``requires_grad``)."""
    return sum(p.numel() for p in model.parameters() if p.requires_grad)


def fit_plan(*, source: str, task_type: str, task_type_reason: str | None, task_names: Sequence[str], molecules: int,
             featurized: int, split: str, sizes: Sequence[int], epochs: int, seeds: Sequence[int], mode: str,
             model: torch.nn.Module, device: torch.device, jobs: int, pretrained: str | None) -> dict[str, Any]:  # fmt: skip
    """The plan as plain data.

    Args:
        model: one model as it will train (``set_trainable`` applied), for the parameter counts.
        Other arguments: as their names say; ``sizes`` are the train/valid/test molecule counts.
    """
    return {
        "source": source, "task_type": task_type, "task_type_reason": task_type_reason, "tasks": list(task_names),
        "molecules": molecules, "featurized": featurized, "split": split, "sizes": [int(n) for n in sizes],
        "epochs": epochs, "seeds": [int(s) for s in seeds], "mode": mode,
        "trainable_parameters": trainable_count(model), "total_parameters": sum(p.numel() for p in model.parameters()),
        "device": str(device), "jobs": jobs, "pretrained": pretrained,
    }  # fmt: skip


def format_plan(plan: dict[str, Any]) -> list[str]:
    """The plan as lines for a terminal."""
    tasks = plan["tasks"]
    shown = ", ".join(tasks[:6]) + (f", ... ({len(tasks)} tasks)" if len(tasks) > 6 else "")
    skipped = plan["molecules"] - plan["featurized"]
    reason = f" ({plan['task_type_reason']})" if plan.get("task_type_reason") else ""
    train, valid, test = plan["sizes"]
    seeds = plan["seeds"]
    return [
        f"data: {plan['source']}: {plan['molecules']} molecules" + (f", {skipped} skipped" if skipped else "") + f"; target(s): {shown}",
        f"task type: {plan['task_type']}{reason}",
        f"split: {plan['split']}: train {train}, valid {valid}, test {test}",
        f"training: {plan['epochs']} epochs x {len(seeds)} seed(s) ({' '.join(map(str, seeds))}), mode {plan['mode']}, "
        f"{plan['trainable_parameters']:,} of {plan['total_parameters']:,} parameters trainable, on {plan['device']}"
        + (f", {plan['jobs']} seeds at once" if plan["jobs"] > 1 else ""),
        "encoder: " + (f"from {plan['pretrained']}" if plan.get("pretrained") else "random initialization (from scratch)"),
    ]  # fmt: skip


__all__ = ["fit_plan", "format_plan", "trainable_count"]

"""Fine-tuning and prediction on labeled molecules (the downstream tasks of a pretrained encoder).

``finetune`` (the protocol: seeds, epochs, selection on validation), ``finetune_modes`` (full, linear
probe, last k layers, PEFT, LP-FT), ``model`` (``PropertyModel``: encoder + readout + head),
``predictor`` (``PropertyPredictor``: fit / predict / save, what ``molssl finetune`` runs), ``transfer``
(pretrain then fine-tune over a task suite), ``losses`` (supervised losses for labels with missing
entries; the self-supervised losses are ``molssl.ssl.losses``), ``target_scaler``, ``calibration``,
``ensemble``, ``domain`` (applicability domain), ``learning_curve``.
"""

from __future__ import annotations

from molssl.tasks.losses import masked_bce_with_logits, masked_cross_entropy, masked_mse
from molssl.tasks.target_scaler import TargetScaler

__all__ = ["TargetScaler", "masked_bce_with_logits", "masked_cross_entropy", "masked_mse"]

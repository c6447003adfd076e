"""Where parameter-efficient fine-tuning acts on an encoder (the encoder side of ``molssl.peft``).

For a ``GNNEncoder``:

* adapters: after each layer's ``conv -> BatchNorm`` (``batch_norms.<l>``), before the ReLU, dropout
  and residual, as Houlsby et al. place them after each sub-layer;
* prompts (GPF / GPF-plus): added to the atom embeddings ``h^0`` (``atom_embedding``), as the
  chemistry code of Fang et al. (2023) adds them after pretrain-gnns' ``x_embedding1 + x_embedding2``;
* LoRA: any ``nn.Linear`` of the encoder by name (default ``convs.*``: GIN's MLPs, the GCN/SAGE/GAT
  linear maps).

Any other encoder states its own sites with a ``peft_sites()`` method, and its config declares PEFT
support with a ``peft_lora_targets`` class attribute (its default LoRA patterns), so a ``PredictorConfig``
can check and record the choice before a model is built; the SMILES transformer does
(``molssl.text.encoder``). Nothing in the encoders changes: the modules act through forward hooks.
"""

from __future__ import annotations

import dataclasses
from typing import Any

from torch import nn

from molssl.nn.encoder import EncoderConfig, GNNEncoder
from molssl.peft import PeftConfig, PeftModules, PeftSites, attach_peft

#: the linear layers LoRA adapts in a GNN unless told otherwise
GNN_LORA_TARGETS: tuple[str, ...] = ("convs.*",)


def gnn_peft_sites(encoder: GNNEncoder) -> PeftSites:
    """The adapter and prompt sites of ``encoder``."""
    layers = tuple(f"batch_norms.{i}" for i in range(len(encoder.batch_norms)))
    dim = encoder.config.emb_dim
    return PeftSites(layer_outputs=layers, layer_dims=(dim,) * len(layers), input_features="atom_embedding", input_dim=dim,
                     lora_targets=GNN_LORA_TARGETS)  # fmt: skip


def encoder_peft_sites(encoder: nn.Module) -> PeftSites:
    """The PEFT sites of any encoder: a GNN's, or what its own ``peft_sites()`` states.

    Raises:
        ValueError: the encoder states no sites.
    """
    if isinstance(encoder, GNNEncoder):
        return gnn_peft_sites(encoder)
    sites = getattr(encoder, "peft_sites", None)
    if not callable(sites):
        raise ValueError(f"{type(encoder).__name__} states no parameter-efficient fine-tuning sites (no peft_sites()); "
                         "PEFT modes apply to the GNNs and the SMILES transformer")  # fmt: skip
    return sites()


def resolve_peft(config: PeftConfig, encoder_config: Any) -> PeftConfig:
    """``config`` for an encoder of ``encoder_config``, with ``lora_targets=None`` replaced by the encoder's default.

    Raises:
        ValueError: the encoder kind does not support PEFT (its config declares no ``peft_lora_targets``).
    """
    default = GNN_LORA_TARGETS if isinstance(encoder_config, EncoderConfig) else getattr(encoder_config, "peft_lora_targets", None)
    if default is None:
        raise ValueError(f"parameter-efficient fine-tuning (peft) attaches to the GNN and SMILES transformer encoders, not "
                         f"to {type(encoder_config).__name__}; use mode 'full', 'linear_probe', 'last_k' or 'lp_ft'")  # fmt: skip
    if config.method == "lora" and config.lora_targets is None:
        return dataclasses.replace(config, lora_targets=tuple(default))
    return config


def attach_encoder_peft(encoder: nn.Module, config: PeftConfig) -> PeftModules:
    """``attach_peft`` at the encoder's own sites (``encoder_peft_sites``)."""
    return attach_peft(encoder, config, encoder_peft_sites(encoder))


__all__ = ["GNN_LORA_TARGETS", "attach_encoder_peft", "encoder_peft_sites", "gnn_peft_sites", "resolve_peft"]

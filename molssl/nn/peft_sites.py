"""Where parameter-efficient fine-tuning acts on a ``GNNEncoder`` (the GNN side of ``molssl.peft``).

* adapters: after each layer's ``conv -> BatchNorm`` (``batch_norms.<l>``), before the ReLU, dropout
  and residual, as Houlsby et al. place them after each sub-layer;
* prompts (GPF / GPF-plus): added to the atom embeddings ``h^0`` (``atom_embedding``), as the
  chemistry code of Fang et al. (2023) adds them after pretrain-gnns' ``x_embedding1 + x_embedding2``;
* LoRA: any ``nn.Linear`` of the encoder by name (default ``convs.*``: GIN's MLPs, the GCN/SAGE/GAT
  linear maps).

Nothing in ``GNNEncoder`` changes: the modules act through forward hooks on these sub-modules.
"""

from __future__ import annotations

from molssl.nn.encoder import GNNEncoder
from molssl.peft import PeftConfig, PeftModules, PeftSites, attach_peft


def gnn_peft_sites(encoder: GNNEncoder) -> PeftSites:
    """The adapter and prompt sites of ``encoder``."""
    layers = tuple(f"batch_norms.{i}" for i in range(len(encoder.batch_norms)))
    dim = encoder.config.emb_dim
    return PeftSites(layer_outputs=layers, layer_dims=(dim,) * len(layers), input_features="atom_embedding", input_dim=dim)


def attach_gnn_peft(encoder: GNNEncoder, config: PeftConfig) -> PeftModules:
    """``attach_peft`` at the GNN encoder's sites."""
    return attach_peft(encoder, config, gnn_peft_sites(encoder))


__all__ = ["attach_gnn_peft", "gnn_peft_sites"]

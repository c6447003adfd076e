"""Neural-network building blocks for molecular graphs: embeddings, convs, encoders, readouts.

``GNNEncoder(EncoderConfig(scheme="hu"))`` maps a PyG batch of featurized molecules to node
representations; ``READOUTS`` pool them into graph vectors.
"""

from __future__ import annotations

from molssl.nn.conv import CONVS, GATConv, GCNConv, GINConv, SAGEConv, get_conv
from molssl.nn.embeddings import AtomEmbedding, BondEmbedding, CategoricalEmbedding
from molssl.nn.encoder import JK_MODES, EncoderConfig, GNNEncoder, VirtualNode, set_activation_checkpointing
from molssl.nn.encoders import ENCODERS, build_encoder, config_from_dict, config_to_dict, register_encoder
from molssl.nn.readout import (
    READOUTS,
    AttentionReadout,
    MaxReadout,
    MeanReadout,
    Readout,
    Set2SetReadout,
    SumReadout,
    get_readout,
)

__all__ = [
    "AtomEmbedding", "AttentionReadout", "BondEmbedding", "CONVS", "CategoricalEmbedding", "ENCODERS",
    "EncoderConfig", "GATConv", "GCNConv", "GINConv", "GNNEncoder", "JK_MODES", "MaxReadout", "MeanReadout",
    "READOUTS", "Readout", "SAGEConv", "Set2SetReadout", "SumReadout", "VirtualNode", "get_conv",
    "build_encoder", "config_from_dict", "config_to_dict", "get_readout", "register_encoder", "set_activation_checkpointing",
]  # fmt: skip

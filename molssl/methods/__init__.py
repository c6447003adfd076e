"""Pretraining methods, one per file, each a ``PretrainMethod`` on the shared loop of ``molssl.pretrain``.

``METHODS`` maps the names used by ``molssl pretrain --method`` to the classes.
"""

from __future__ import annotations

from molssl.methods.attribute_masking import AttributeMasking, AttributeMaskingConfig
from molssl.methods.barlow_twins import BarlowTwins, BarlowTwinsConfig
from molssl.methods.base import MethodConfig, MethodOutput, PretrainMethod
from molssl.methods.bgrl import BGRL, BGRLConfig
from molssl.methods.byol import BYOL, BYOLConfig
from molssl.methods.clip_align import CrossModalAlignment, CrossModalAlignmentConfig
from molssl.methods.context_prediction import ContextPrediction, ContextPredictionConfig
from molssl.methods.descriptors import DescriptorConfig, DescriptorPrediction
from molssl.methods.dino import DINO, DINOConfig
from molssl.methods.edge_prediction import EdgePrediction, EdgePredictionConfig
from molssl.methods.graph_infomax import GraphInfomax
from molssl.methods.graphcl import GraphCL, GraphCLConfig
from molssl.methods.graphmae import GraphMAE, GraphMAEConfig
from molssl.methods.infograph import InfoGraph, InfoGraphConfig
from molssl.methods.mae import MAE, MAEConfig
from molssl.methods.mlm import MaskedLanguageModelling, MLMConfig
from molssl.methods.simclr import SimCLR, SimCLRConfig
from molssl.methods.smiles_contrastive import SmilesContrastive, SmilesContrastiveConfig
from molssl.methods.smiles_descriptors import SmilesDescriptorConfig, SmilesDescriptorPrediction
from molssl.methods.supervised import SupervisedConfig, SupervisedPretraining
from molssl.methods.vicreg import VICReg, VICRegConfig
from molssl.registry import Registry

#: names used by ``molssl pretrain --method`` -> method classes (graphs, then text, then images and audio)
METHODS: Registry[type[PretrainMethod]] = Registry("pretraining method", {
    cls.name: cls
    for cls in (
        AttributeMasking, BGRL, ContextPrediction, DescriptorPrediction, EdgePrediction, GraphInfomax, GraphCL, GraphMAE, InfoGraph,
        SupervisedPretraining, MaskedLanguageModelling, SmilesContrastive, SmilesDescriptorPrediction, SimCLR, BYOL, MAE, DINO, BarlowTwins, VICReg,
        CrossModalAlignment,
    )
}, plural="methods")  # fmt: skip


def get_method(name: str) -> type[PretrainMethod]:
    """The method class registered under ``name``.

    Raises:
        ValueError: an unknown name (a ``molssl.registry.UnknownNameError``); the message lists the valid ones.
    """
    return METHODS[name]


__all__ = [
    "BGRL", "METHODS", "AttributeMasking", "AttributeMaskingConfig", "BGRLConfig", "ContextPrediction", "CrossModalAlignment", "CrossModalAlignmentConfig",
    "ContextPredictionConfig", "DescriptorConfig", "DescriptorPrediction", "EdgePrediction", "EdgePredictionConfig", "GraphCL", "GraphCLConfig", "GraphInfomax",
    "GraphMAE", "GraphMAEConfig", "InfoGraph", "InfoGraphConfig", "MethodConfig", "MethodOutput", "PretrainMethod",
    "SmilesDescriptorConfig", "SmilesDescriptorPrediction", "SupervisedConfig", "SupervisedPretraining", "get_method",
]  # fmt: skip

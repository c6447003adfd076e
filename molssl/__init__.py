"""molssl: self-supervised learning on molecules and graphs.

The top-level names are imported lazily so that ``import molssl`` stays light (no RDKit, PyG or
pandas until they are needed).
"""

from __future__ import annotations

import importlib
from typing import Any

__version__ = "0.1.0"

# public name -> module that defines it
_LAZY = {
    "featurize": "molssl.chem.featurize",
    "featurize_many": "molssl.chem.featurize",
    "FeaturizeResult": "molssl.chem.featurize",
    "SkippedRow": "molssl.chem.errors",
    "FeaturizationError": "molssl.chem.errors",
    "LenientRow": "molssl.chem.errors",
    "ParseOptions": "molssl.chem.parse",
    "get_scheme": "molssl.chem.schemes",
    "get_spec": "molssl.chem.schemes",
    "FeaturizationSpec": "molssl.chem.schemes",
    "SCHEMES": "molssl.chem.schemes",
    "MoleculeStore": "molssl.data.store",
    "build_store": "molssl.data.store_build",
    "StoreLoader": "molssl.data.loader",
    "scaffold_split": "molssl.data.splits",
    "random_scaffold_split": "molssl.data.splits",
    "random_split": "molssl.data.splits",
    "stratified_split": "molssl.data.splits",
    "read_labeled_csv": "molssl.data.labeled",
    "read_smiles_file": "molssl.data.corpus",
    "load_moleculenet": "molssl.data.catalog",
    "MOLECULENET": "molssl.data.catalog",
    "EncoderConfig": "molssl.nn.encoder",
    "GNNEncoder": "molssl.nn.encoder",
    "PropertyPredictor": "molssl.tasks.predictor",
    "FinetuneConfig": "molssl.tasks.finetune",
    "run_ogb": "molssl.ogb.harness",
    "load_pretrained": "molssl.zoo",
    "audit": "molssl.audit",
    "decontaminate": "molssl.audit",
    "stress_test": "molssl.eval.stress",
    "pretrain": "molssl.pretrain",
    "RunConfig": "molssl.pretrain.config",
    "DataConfig": "molssl.pretrain.config",
    "TrainConfig": "molssl.pretrain.config",
    "DataSource": "molssl.pretrain.source",
    "METHODS": "molssl.methods",
    "get_method": "molssl.methods",
    "PretrainMethod": "molssl.methods.base",
    "build_encoder": "molssl.nn.encoders",
    "load_encoder": "molssl.nn.pretrained",
}

__all__ = ["__version__", *_LAZY]


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'molssl' has no attribute {name!r}")
    imported = importlib.import_module(module)
    # molssl.pretrain is the subpackage, callable as its pretrain function (molssl.pretrain(...))
    value = imported if module == f"molssl.{name}" else getattr(imported, name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(__all__)

"""Which node and edge features a harness run uses, and the graphs that carry them.

* ``"full"``: OGB's 9 atom / 3 bond features, straight from the raw files (the leaderboard baselines);
  molssl's ``ogb`` scheme describes them (it equals ``ogb.utils.smiles2graph``).
* ``"simple"``: the first 2 atom features (atomic number, chirality) and the first 2 bond features (type,
  stereo), as OGB's example ``--feature simple`` keeps them; described by the derived scheme
  ``ogb-simple`` v1.
* a molssl scheme name (e.g. ``"hu"``): the SMILES of ``mapping/mol.csv.gz`` featurized by molssl, for
  encoders pretrained on that scheme. A molecule the scheme cannot represent becomes a graph without
  atoms (its prediction is the model's bias), so every graph of the official split is still scored; each
  is listed in the run's record.
"""

from __future__ import annotations

import logging
from typing import Any

import numpy as np

from molssl.chem.schemes import SCHEMES, FeaturizationSpec, get_spec
from molssl.graph.arrays import GraphArrays, offsets
from molssl.ogb.layout import OgbDataset

logger = logging.getLogger(__name__)

FULL, SIMPLE = "full", "simple"
#: scheme name of each feature set read from the raw files
RAW_FEATURE_SCHEMES = {FULL: "ogb", SIMPLE: "ogb-simple"}
UNFEATURIZABLE = ("empty", "raise")


def simple_scheme() -> FeaturizationSpec:
    """The ``ogb-simple`` v1 spec: the first 2 atom and bond columns of the ``ogb`` scheme."""
    full = get_spec("ogb")
    return FeaturizationSpec(
        name="ogb-simple",
        version=1,
        atom_features=full.atom_features[:2],
        bond_features=full.bond_features[:2],
        atom_vocab=full.atom_vocab[:2],
        bond_vocab=full.bond_vocab[:2],
        atom_mask_token=full.atom_mask_token[:2],
        bond_mask_token=full.bond_mask_token[:2],
    )


def scheme_for(features: str) -> FeaturizationSpec:
    """The featurization spec of a feature set or molssl scheme name."""
    if features == SIMPLE:
        return simple_scheme()
    if features == FULL:
        return get_spec("ogb")
    if features not in SCHEMES:
        raise ValueError(f"unknown features {features!r}; valid: {FULL}, {SIMPLE}, or a molssl scheme ({', '.join(sorted(SCHEMES))})")
    return get_spec(features)


def features_of_scheme(scheme: FeaturizationSpec) -> str:
    """The feature set that feeds an encoder built for ``scheme`` (e.g. a pretrained checkpoint's)."""
    name = scheme.name
    for features, scheme_name in RAW_FEATURE_SCHEMES.items():
        if name == scheme_name:
            return features
    if name in SCHEMES:
        return str(name)
    raise ValueError(
        f"the encoder was built for featurization scheme {name!r}, which molssl cannot produce from SMILES; "
        f"known schemes: ogb (features 'full'), ogb-simple ('simple'), {', '.join(sorted(set(SCHEMES) - {'ogb'}))}"
    )


def normalize_features(features: str) -> str:
    """``"ogb"`` is the full feature set (the same graphs); anything else is checked by ``scheme_for``."""
    features = FULL if features == "ogb" else features
    scheme_for(features)
    return features


def build_graphs(data: OgbDataset, features: str, workers: int = 1, on_unfeaturizable: str = "empty") -> tuple[GraphArrays, dict[str, Any]]:
    """The graphs of every molecule of ``data`` with the chosen features, and a description for the record.

    Args:
        data: the dataset read from disk.
        features: ``"full"``, ``"simple"`` or a molssl scheme name.
        workers: featurization processes (molssl schemes only).
        on_unfeaturizable: ``"empty"`` (a graph without atoms, listed in the description) or ``"raise"``.

    Returns:
        ``(graphs, info)`` with ``info`` = ``{"features", "scheme", "source", "unfeaturizable",
        "atom_count_mismatches"}``.
    """
    if on_unfeaturizable not in UNFEATURIZABLE:
        raise ValueError(f"on_unfeaturizable must be one of {', '.join(UNFEATURIZABLE)}, got {on_unfeaturizable!r}")
    features = normalize_features(features)
    scheme = scheme_for(features)
    info: dict[str, Any] = {"features": features, "scheme": scheme.to_dict(), "unfeaturizable": [], "atom_count_mismatches": 0}
    graphs = data.graphs
    if features == FULL:
        info["source"] = "raw/ files of the OGB layout (OGB's 9 atom / 3 bond features)"
        return graphs, info
    if features == SIMPLE:
        info["source"] = "raw/ files of the OGB layout, first 2 atom and 2 bond feature columns (OGB's --feature simple)"
        return GraphArrays(np.ascontiguousarray(graphs.x[:, :2]), graphs.edge_index, np.ascontiguousarray(graphs.edge_attr[:, :2]),
                           graphs.atom_ptr, graphs.edge_ptr), info  # fmt: skip
    from molssl.chem.featurize import featurize_many

    smiles = data.smiles()
    source = str(data.directory / "mapping/mol.csv.gz")
    result = featurize_many(smiles, scheme=features, on_error="skip" if on_unfeaturizable == "empty" else "raise", workers=workers, source=source)
    info["source"] = f"SMILES of mapping/mol.csv.gz featurized by molssl (scheme {scheme.name} v{scheme.version})"
    info["unfeaturizable"] = [s.to_dict() for s in result.skipped]
    if result.skipped:
        logger.warning("%d molecule(s) of %s cannot be featurized with scheme %s; they are scored as graphs without atoms:\n%s",
                       len(result.skipped), data.info.name, features, result.skipped_report())  # fmt: skip
    kept = result.indices
    atom_counts = np.zeros(len(smiles), dtype=np.int64)
    edge_counts = np.zeros(len(smiles), dtype=np.int64)
    atom_counts[kept] = result.graphs.num_atoms
    edge_counts[kept] = result.graphs.num_edges
    mismatches = int((atom_counts[kept] != data.graphs.num_atoms[kept]).sum())
    info["atom_count_mismatches"] = mismatches
    if mismatches:
        logger.warning("%d molecule(s) of %s have another atom count than raw/num-node-list.csv.gz", mismatches, data.info.name)
    g = result.graphs
    return GraphArrays(g.x, g.edge_index, g.edge_attr, offsets(atom_counts), offsets(edge_counts)), info


__all__ = ["FULL", "RAW_FEATURE_SCHEMES", "SIMPLE", "build_graphs", "features_of_scheme", "normalize_features", "scheme_for", "simple_scheme"]

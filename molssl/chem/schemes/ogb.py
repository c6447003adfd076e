"""The ``ogb`` scheme: exactly the features of ``ogb.utils.smiles2graph`` (OGB 1.3.x).

Atoms (9 columns, OGB's ``get_atom_feature_dims()`` = 119, 5, 12, 12, 10, 6, 6, 2, 2):
atomic number (Z - 1; anything outside 1..118, e.g. the wildcard ``*``, is 118 'misc'), chirality tag
(unspecified, CW, CCW, other, misc), total degree (0..10, misc), formal charge (-5..5, misc), total H
count (0..8, misc), radical electrons (0..4, misc), hybridization (SP, SP2, SP3, SP3D, SP3D2, misc),
aromatic, in ring. Bonds (3 columns, dims 5, 6, 2): type (single, double, triple, aromatic, misc),
stereo (none, Z, E, cis, trans, any; an unknown stereo falls on the last index, as in OGB), conjugated.

Each column also reserves one index past OGB's values as the mask token for attribute masking, so
embeddings for this scheme have ``atom_vocab`` = OGB dims + 1 rows.
"""

from __future__ import annotations

import functools
from typing import TYPE_CHECKING

import numpy as np

from molssl.chem.schemes.base import Scheme, categorical, enum_values
from molssl.chem.schemes.spec import FeaturizationSpec

if TYPE_CHECKING:
    from molssl.chem.mol_tables import MolTables

OGB_ATOM_DIMS = (119, 5, 12, 12, 10, 6, 6, 2, 2)
OGB_BOND_DIMS = (5, 6, 2)


@functools.cache
def _codes() -> dict[str, list[int]]:
    """RDKit enum values the scheme maps (read from RDKit on first featurization)."""
    from rdkit import Chem

    return {
        "chiral": enum_values(Chem.ChiralType, ["CHI_UNSPECIFIED", "CHI_TETRAHEDRAL_CW", "CHI_TETRAHEDRAL_CCW", "CHI_OTHER"]),
        "hybrid": enum_values(Chem.HybridizationType, ["SP", "SP2", "SP3", "SP3D", "SP3D2"]),
        "bond_type": enum_values(Chem.BondType, ["SINGLE", "DOUBLE", "TRIPLE", "AROMATIC"]),
        "stereo": enum_values(Chem.BondStereo, ["STEREONONE", "STEREOZ", "STEREOE", "STEREOCIS", "STEREOTRANS", "STEREOANY"]),
    }


class OgbScheme(Scheme):
    """OGB's molecular featurization (``ogb.utils.features``), bit for bit."""

    spec = FeaturizationSpec(
        name="ogb",
        version=1,
        atom_features=(
            "atomic_num", "chirality", "degree", "formal_charge", "num_hs",
            "num_radical_electrons", "hybridization", "is_aromatic", "is_in_ring",
        ),  # fmt: skip
        bond_features=("bond_type", "bond_stereo", "is_conjugated"),
        atom_vocab=tuple(d + 1 for d in OGB_ATOM_DIMS),
        bond_vocab=tuple(d + 1 for d in OGB_BOND_DIMS),
        atom_mask_token=OGB_ATOM_DIMS,
        bond_mask_token=OGB_BOND_DIMS,
    )

    def atom_features(self, tables: MolTables) -> np.ndarray:
        a, codes = tables.atoms, _codes()
        return np.stack(
            [
                categorical(a["atomic_num"], range(1, 119), 118),
                categorical(a["chiral_tag"], codes["chiral"], 4),
                categorical(a["total_degree"], range(0, 11), 11),
                categorical(a["formal_charge"], range(-5, 6), 11),
                categorical(a["total_num_hs"], range(0, 9), 9),
                categorical(a["num_radical_electrons"], range(0, 5), 5),
                categorical(a["hybridization"], codes["hybrid"], 5),
                a["is_aromatic"],
                a["is_in_ring"],
            ],
            axis=1,
        )

    def bond_features(self, tables: MolTables) -> np.ndarray:
        b, codes = tables.bonds, _codes()
        return np.stack(
            [
                categorical(b["bond_type"], codes["bond_type"], 4),
                categorical(b["bond_stereo"], codes["stereo"], 5),
                b["is_conjugated"],
            ],
            axis=1,
        )

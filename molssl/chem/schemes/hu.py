"""The ``hu`` scheme: the featurization of Hu et al., "Strategies for Pre-training Graph Neural Networks"
(ICLR 2020; snap-stanford/pretrain-gnns), with its reserved tokens made explicit.

Atoms, 2 columns, vocab (120, 3):
    atom type: ``Z - 1`` for elements 1..118; 118 = unknown element (the wildcard ``*``, Z = 0, which
        the reference cannot featurize); 119 = MASK, the token attribute masking writes (the reference's
        ``num_atom_type = 119``; its embedding has 120 rows).
    chirality: 0 = unspecified, 1 = tetrahedral CW, 2 = tetrahedral CCW. Non-tetrahedral tags (RDKit's
        CHI_OTHER, square-planar, trigonal-bipyramidal, octahedral, which the 2019 reference never
        met) are written as 0: the scheme represents tetrahedral centres only.
Bonds, 2 columns, vocab (6, 3), both directions of every bond:
    bond type: 0 single, 1 double, 2 triple, 3 aromatic; 4 = SELF-LOOP (the edge type GIN layers add);
        5 = MASK. A DATIVE bond is written as single: RDKit >= 2023 turns metal-ligand single bonds
        into dative ones during sanitization (e.g. cisplatin), where the 2019 reference saw single
        bonds. Other bond types (quadruple, hydrogen, ...) have no index in the reference vocabulary:
        such molecules are reported as not representable (use the ``ogb`` scheme for them).
    bond direction: 0 none, 1 end-up-right, 2 end-down-right (the ``/`` and ``\\`` of SMILES); other
        directions (wedges from mol files; SMILES never yields them) are written as 0.
"""

from __future__ import annotations

import functools
from typing import TYPE_CHECKING, NamedTuple

import numpy as np

from molssl.chem.schemes.base import Scheme, categorical, enum_values
from molssl.chem.schemes.spec import FeaturizationSpec

if TYPE_CHECKING:
    from molssl.chem.mol_tables import MolTables

UNKNOWN_ATOM = 118
MASK_ATOM = 119
SELF_LOOP_BOND = 4
MASK_BOND = 5


class _Codes(NamedTuple):
    """RDKit enum values the scheme maps (read from RDKit on first featurization)."""

    chiral: list[int]
    bond_type: list[int]
    dative: int
    bond_dir: list[int]
    bond_type_names: dict[int, str]


@functools.cache
def _codes() -> _Codes:
    from rdkit import Chem

    return _Codes(
        chiral=enum_values(Chem.ChiralType, ["CHI_UNSPECIFIED", "CHI_TETRAHEDRAL_CW", "CHI_TETRAHEDRAL_CCW"]),
        bond_type=enum_values(Chem.BondType, ["SINGLE", "DOUBLE", "TRIPLE", "AROMATIC"]),
        dative=enum_values(Chem.BondType, ["DATIVE"])[0],
        bond_dir=enum_values(Chem.BondDir, ["NONE", "ENDUPRIGHT", "ENDDOWNRIGHT"]),
        bond_type_names={int(v): str(m).split(".")[-1] for v, m in Chem.BondType.values.items()},
    )


class HuScheme(Scheme):
    """Hu et al. (2020) atom type + chirality, bond type + direction."""

    spec = FeaturizationSpec(
        name="hu",
        version=1,
        atom_features=("atom_type", "chirality"),
        bond_features=("bond_type", "bond_dir"),
        atom_vocab=(120, 3),
        bond_vocab=(6, 3),
        atom_mask_token=(MASK_ATOM, 0),
        bond_mask_token=(MASK_BOND, 0),
        self_loop_token=(SELF_LOOP_BOND, 0),
    )
    atom_columns = ("atomic_num", "chiral_tag")

    def atom_features(self, tables: MolTables) -> np.ndarray:
        a = tables.atoms
        return np.stack(
            [categorical(a["atomic_num"], range(1, 119), UNKNOWN_ATOM), categorical(a["chiral_tag"], _codes().chiral, 0)],
            axis=1,
        )

    def bond_features(self, tables: MolTables) -> np.ndarray:
        b, codes = tables.bonds, _codes()
        bond_type = np.where(b["bond_type"] == codes.dative, codes.bond_type[0], b["bond_type"])
        # unsupported bond types get 0 here; ``unsupported`` reports their molecules, which are dropped
        return np.stack([categorical(bond_type, codes.bond_type, 0), categorical(b["bond_dir"], codes.bond_dir, 0)], axis=1)

    def unsupported(self, tables: MolTables) -> list[tuple[int, str]]:
        bond_type, codes = tables.bonds["bond_type"], _codes()
        bad = ~np.isin(bond_type, codes.bond_type + [codes.dative])
        if not bad.any():
            return []
        mol_of_bond = np.searchsorted(tables.bond_ptr, np.flatnonzero(bad), side="right") - 1
        out: dict[int, str] = {}
        for mol, bond in zip(mol_of_bond.tolist(), np.flatnonzero(bad).tolist()):
            if mol not in out:
                kind = codes.bond_type_names.get(int(bond_type[bond]), str(bond_type[bond]))
                local = bond - int(tables.bond_ptr[mol])
                out[mol] = f"bond {local} has type {kind}, which scheme 'hu' cannot represent (use scheme 'ogb')"
        return sorted(out.items())

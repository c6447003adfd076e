"""Randomized SMILES: the same molecule written from a random atom ordering (Bjerrum, arXiv:1703.07076).

A SMILES string depends on the order the writer visits the atoms. RDKit's canonical order gives one
string per molecule; renumbering the atoms by a random permutation and writing without
canonicalization gives another valid SMILES of the same molecule (stereochemistry kept). The
permutation is drawn from a ``torch.Generator``, so a seeded generator gives the same strings on every
run (exact resume), independently of RDKit's own random state.
"""

from __future__ import annotations

import torch
from rdkit import Chem


def parse_molecule(smiles: str, where: str = "") -> Chem.Mol:
    """RDKit molecule of ``smiles``.

    Raises:
        ValueError: RDKit cannot read it (the message names ``where`` and the SMILES).
    """
    mol = Chem.MolFromSmiles(smiles) if isinstance(smiles, str) and smiles else None
    if mol is None:
        raise ValueError(f"{where + ': ' if where else ''}RDKit cannot parse SMILES {smiles!r}")
    return mol


def canonical_smiles(smiles: str) -> str:
    """RDKit's canonical isomeric SMILES of ``smiles``."""
    return Chem.MolToSmiles(parse_molecule(smiles))


def randomized_smiles(mol: Chem.Mol, generator: torch.Generator) -> str:
    """A SMILES of ``mol`` written from a random atom ordering drawn from ``generator``."""
    order = torch.randperm(mol.GetNumAtoms(), generator=generator).tolist()
    return Chem.MolToSmiles(Chem.RenumberAtoms(mol, order), canonical=False)

"""Bemis-Murcko scaffolds, computed exactly as the pretraining literature and OGB compute them."""

from __future__ import annotations

from rdkit import Chem, rdBase
from rdkit.Chem.Scaffolds import MurckoScaffold

from molssl.chem.errors import FeaturizationError
from molssl.chem.parse import ParseOptions, SanitizeMode, parse_smiles


def murcko_scaffold(
    smiles_or_mol: str | Chem.Mol, include_chirality: bool = True, sanitize: SanitizeMode = "strict"
) -> str:
    """Canonical SMILES of the Bemis-Murcko scaffold of a molecule (Bemis & Murcko, J. Med. Chem. 1996).

    The scaffold keeps the ring systems and the linkers between them and drops every side chain. It is
    RDKit's ``MurckoScaffold.MurckoScaffoldSmiles`` applied to the sanitized molecule, which is what
    pretrain-gnns (Hu et al., ICLR 2020) and OGB's ``ogbg-mol*`` scaffold splits use, so scaffolds
    computed here group molecules the same way theirs do.

    Args:
        smiles_or_mol: a SMILES string, parsed as the featurizer parses it (``molssl.chem.parse``: RDKit's
            sanitization, the same text checks, no size limits), or an RDKit molecule, used as given (one
            carrying explicit hydrogens or unsanitized can give a different scaffold than its SMILES would).
        include_chirality: keep stereo marks (``@``, ``/``) in the scaffold SMILES. The reference
            scaffold split uses True.
        sanitize: ``"lenient"`` also parses molecules that fail only RDKit's valence check, as
            ``featurize_many(..., sanitize="lenient")`` keeps them; ``"strict"`` (the default) rejects them.

    Returns:
        The scaffold SMILES; ``""`` for a molecule with no ring (all acyclic molecules share that
        scaffold). A molecule of several fragments keeps the ring-bearing ones, dot-separated.

    Raises:
        ValueError: naming the SMILES and the reason when it cannot be parsed or sanitized, is empty,
            has no atoms or whitespace inside it; or when ``smiles_or_mol`` is neither a string nor a molecule.
    """
    if isinstance(smiles_or_mol, Chem.Mol):
        mol = smiles_or_mol
    elif isinstance(smiles_or_mol, str):
        try:
            mol = parse_smiles(smiles_or_mol, ParseOptions(sanitize=sanitize, max_atoms=None, max_smiles_length=None))
        except FeaturizationError as error:
            raise ValueError(f"cannot compute the Murcko scaffold of SMILES {smiles_or_mol!r}: {error.reason}") from None
    else:
        raise ValueError(
            f"cannot compute a Murcko scaffold of a {type(smiles_or_mol).__name__}: "
            "pass a SMILES string or an RDKit Mol"
        )
    with rdBase.BlockLogs():  # RDKit warns about stray hydrogens while trimming side chains
        try:
            scaffold = MurckoScaffold.MurckoScaffoldSmiles(mol=mol, includeChirality=include_chirality)
        except Chem.AtomValenceException:
            if sanitize != "lenient":
                raise
            scaffold = _scaffold_without_valence_check(mol, include_chirality)
    return scaffold or ""


def _scaffold_without_valence_check(mol: Chem.Mol, include_chirality: bool) -> str:
    """``MurckoScaffoldSmiles`` with its property-cache update made non-strict, for hypervalent atoms."""
    scaffold = Chem.MurckoDecompose(mol)
    scaffold.ClearComputedProps()
    scaffold.UpdatePropertyCache(strict=False)
    Chem.GetSymmSSSR(scaffold)
    return Chem.MolToSmiles(scaffold, isomericSmiles=include_chirality)

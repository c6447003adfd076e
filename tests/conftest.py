"""Shared test fixtures: real molecules from the embedded data (never ../shared)."""

from __future__ import annotations

import csv
from pathlib import Path

import pytest
import torch

# The tests run tiny models, for which a second intra-op thread costs more than it gives (and on a
# shared 2-core machine much more): one thread keeps the suite fast and its timings stable.
torch.set_num_threads(1)

ROOT = Path(__file__).resolve().parents[1]
MOLECULENET = ROOT / "datasets" / "moleculenet"

# Awkward molecules every featurizer test runs on: charged, stereo, aromatic heterocycles, single atoms,
# salts and fragments, metals, wildcards, isotopes, explicit hydrogens, radicals, atom maps.
AWKWARD = [
    "[NH4+]", "[O-][N+](=O)c1ccccc1", "C[N+](C)(C)CC([O-])=O", "NCC(=O)O", "[O-]C(=O)C[NH3+]",
    "F/C=C/F", "F/C=C\\F", "C[C@H](N)O", "N[C@@H](C)C(=O)O", "C1C[C@H]2CC[C@@H]1C2", "CC=C=CC",
    "C/C=C/C=C/C", "O[C@H]1CC[C@@H](O)CC1",
    "c1cc[nH]c1", "c1ccncc1", "o1cccc1", "s1cccc1", "c1cc[se]c1", "c1ccc2[nH]ccc2c1", "n1ccn2c1cccc2",
    "Cn1cnc2c1c(=O)n(C)c(=O)n2C",
    "C", "O", "[Na+]", "[He]", "[Cl-]", "[H+]", "N",
    "CC(=O)[O-].[Na+]", "[Na+].[Cl-]", "CCN.Cl", "C1CC1.C1CC1.O",
    "[Fe+2]", "C[Mg]Br", "Cl[Pt](Cl)([NH3])[NH3]", "[Cu+2].[O-]S(=O)(=O)[O-]", "CC(=O)O[Hg]c1ccccc1",
    "*C", "c1cc(*)ccc1", "*c1ccccc1*", "[*:1]CC[*:2]",
    "[2H]C", "[13CH4]", "[2H][2H]", "[2H]OC", "[18F]c1ccccc1",
    "[H]C([H])([H])[H]", "[H][H]", "[HH]", "[H]N([H])C", "[H][C@]1(O)CCCCC1",
    "[CH3]", "[O]", "[CH2]C", "[N]=O",
    "[CH3:1]C", "S(=O)(=O)(F)(F)(F)F", "F[P-](F)(F)(F)(F)F", "ClF", "[Xe](F)(F)",
    "C1CCCCCCCCCCCCCCCCCC1", "c1ccc2cc3ccccc3cc2c1", "O=C1NC(=O)C(=O)N1",
    "N->[Fe]", "C[C@@](F)(Cl)Br", "[Og]", "[Ts]",
]  # fmt: skip


def moleculenet_smiles(name: str, limit: int | None = None) -> list[str]:
    """SMILES of an embedded MoleculeNet file (first column named smiles or mol)."""
    with open(MOLECULENET / f"{name}.csv", newline="") as fh:
        reader = csv.DictReader(fh)
        column = "smiles" if "smiles" in reader.fieldnames else "mol"
        out = [row[column] for row in reader]
    return out[:limit] if limit else out


def moleculenet_head(name: str, rows: int, directory: Path) -> Path:
    """The first ``rows`` rows of an embedded MoleculeNet CSV, written to ``directory/<name>_<rows>.csv``."""
    path = directory / f"{name}_{rows}.csv"
    with open(MOLECULENET / f"{name}.csv", newline="") as fh:
        lines = fh.read().splitlines(keepends=True)
    path.write_text("".join(lines[: rows + 1]))
    return path


@pytest.fixture(scope="session")
def real_smiles() -> list[str]:
    """About 3,000 real molecules from four embedded MoleculeNet sets (some do not parse)."""
    return moleculenet_smiles("bbbp") + moleculenet_smiles("clintox") + moleculenet_smiles("esol") + moleculenet_smiles("freesolv")

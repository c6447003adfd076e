"""Parent-fragment standardization on real salts from the embedded BBBP set."""

from __future__ import annotations

import pandas as pd
import pytest

from molssl.chem.standardize import standardize_smiles
from tests.conftest import MOLECULENET


def test_largest_fragment_strips_counter_ions_of_real_bbbp_salts():
    smiles = pd.read_csv(MOLECULENET / "bbbp.csv")["smiles"].tolist()
    salts = [s for s in smiles if "." in s][:20]
    assert len(salts) == 20
    out = standardize_smiles(["CCO", *salts, "not a smiles", "C.C"], "largest_fragment")
    assert out.smiles[0] == "CCO"  # one fragment: left exactly as given
    assert all("." not in s for s in out.smiles[1:21])
    assert out.smiles[21] == "not a smiles"  # the featurizer reports it with its reason
    assert [i for i, _ in out.changed] == list(range(1, 21)) + [22]
    assert standardize_smiles(["CC(=O)[O-].[Na+]"], "largest_fragment").smiles == ["CC(=O)[O-]"]
    assert standardize_smiles(salts, "none").smiles == salts
    with pytest.raises(ValueError, match="largest_fragment"):
        standardize_smiles(salts, "neutralize")

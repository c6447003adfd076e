"""Training-domain flags on real molecules."""

from __future__ import annotations

import pandas as pd

from molssl.chem.featurize import featurize_many
from molssl.chem.schemes import get_spec
from molssl.tasks.domain import TrainingDomain
from tests.conftest import MOLECULENET


def test_unseen_elements_and_sizes_are_flagged_with_the_reason():
    smiles = pd.read_csv(MOLECULENET / "esol.csv")["smiles"].tolist()[:300]
    for scheme in ("hu", "ogb"):
        train = featurize_many(smiles, scheme=scheme)
        domain = TrainingDomain.from_dict(TrainingDomain.from_graphs(train.graphs, get_spec(scheme)).to_dict())
        assert 6 in domain.elements and 34 not in domain.elements
        queries = featurize_many(["c1ccccc1O", "C[Se]C", "C" * (domain.max_atoms + 5), "C" * max(domain.min_atoms - 1, 0) or "[Se]"],
                                 scheme=scheme)
        reasons = domain.check(queries.graphs, get_spec(scheme))
        assert reasons[0] == ""
        assert reasons[1] == "element(s) not in training: Se"
        assert reasons[2] == f"{domain.max_atoms + 5} heavy atoms, training range {domain.min_atoms}-{domain.max_atoms}"
        assert reasons[3] != ""

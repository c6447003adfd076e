"""Stress tests: each rewrite keeps the compound (checked with RDKit directly), and the report counts real moves."""

from __future__ import annotations

import numpy as np
import pytest
from rdkit import Chem
from rdkit.Chem.MolStandardize import rdMolStandardize

from molssl.eval.stress import PERTURBATIONS, stress_table, stress_test

MOLECULES = [
    "CC(=O)Oc1ccccc1C(=O)O",  # aspirin: tautomers (enol forms)
    "Oc1ccccn1",  # 2-hydroxypyridine <-> 2-pyridone
    "C[NH3+]",  # a cation to neutralize
    "CC(=O)[O-].[Na+]",  # a salt to strip
    "[H]OC([H])([H])C",  # explicit hydrogens
    "F[C@H](Cl)Br",  # stereo
    "c1ccc2ccccc2c1",
]


def canonical(smiles: str) -> str:
    return Chem.MolToSmiles(Chem.MolFromSmiles(smiles))


def parent(smiles: str) -> str:
    mol = Chem.MolFromSmiles(smiles)
    return Chem.MolToSmiles(rdMolStandardize.LargestFragmentChooser(preferOrganic=True).choose(mol))


@pytest.mark.parametrize("smiles", MOLECULES)
def test_rewrites_keep_the_compound(smiles) -> None:
    for name in ("randomized_smiles", "toggle_hydrogens"):  # the very same molecule
        out = PERTURBATIONS[name](smiles, 3)
        assert out != smiles and canonical(out) == canonical(smiles)
    for name in ("add_salt", "add_water"):  # same parent, one more fragment
        out = PERTURBATIONS[name](smiles, 0)
        assert parent(out) == parent(smiles) and out.count(".") > smiles.count(".")
    stripped = PERTURBATIONS["strip_fragments"](smiles, 0)
    assert (stripped is None) == ("." not in smiles) and (stripped is None or canonical(stripped) == parent(smiles))
    taut = PERTURBATIONS["tautomer"](smiles, 0)
    if taut is not None:  # another tautomer: same formula, different structure, in RDKit's enumeration
        from rdkit.Chem.rdMolDescriptors import CalcMolFormula

        assert canonical(taut) != canonical(smiles) and CalcMolFormula(Chem.MolFromSmiles(taut)) == CalcMolFormula(Chem.MolFromSmiles(smiles))
    neutral = PERTURBATIONS["neutralize"](smiles, 0)
    if neutral is not None:
        assert Chem.GetFormalCharge(Chem.MolFromSmiles(neutral)) == 0 != Chem.GetFormalCharge(Chem.MolFromSmiles(smiles))


def test_applicability_on_known_cases() -> None:
    assert PERTURBATIONS["tautomer"]("Oc1ccccn1", 0) is not None and PERTURBATIONS["tautomer"]("C[NH3+]", 0) is None
    assert PERTURBATIONS["neutralize"]("C[NH3+]", 0) == "CN" and PERTURBATIONS["neutralize"]("CCO", 0) is None
    assert PERTURBATIONS["toggle_hydrogens"]("[H]OC([H])([H])C", 0) == "CCO"
    assert PERTURBATIONS["randomized_smiles"]("C1CC", 0) is None  # unparsable: not applicable


def test_report_counts_moves_against_a_hand_computed_reference() -> None:
    """A string-length 'model' moves under every rewrite that changes the length; counted by hand here."""

    def length_model(smiles):
        return np.array([len(s) if Chem.MolFromSmiles(s) is not None else np.nan for s in smiles], dtype=float)

    results = {r.perturbation: r for r in stress_test(length_model, MOLECULES + ["C1CC"], seed=3)}
    for name, rewrite in PERTURBATIONS.items():
        pairs = [(s, rewrite(s, 3)) for s in MOLECULES]
        pairs = [(s, t) for s, t in pairs if t is not None]
        changes = np.array([abs(len(t) - len(s)) for s, t in pairs], dtype=float)
        r = results[name]
        assert (r.applicable, r.predicted, r.failed) == (len(pairs), len(pairs), 0)
        assert r.moved == int((changes > 0).sum())
        assert r.max_abs_change == (changes.max() if changes.size else 0.0)
        assert r.mean_abs_change == pytest.approx(changes.mean() if changes.size else 0.0)
    table = stress_table(list(results.values()))
    assert table.count("\n") == len(PERTURBATIONS) + 2 and "| add_salt | 7 | 7 | 0 | 7 |" in table


def test_unknown_perturbation_and_bad_shapes() -> None:
    with pytest.raises(ValueError, match="unknown perturbation 'salt'; valid perturbations: add_salt"):
        stress_test(lambda s: np.zeros(len(s)), ["CCO"], perturbations=["salt"])
    with pytest.raises(ValueError, match=r"returned shape \(2,\) for 1 molecules"):
        stress_test(lambda s: np.zeros(2), ["CCO"])


def has_stereo(smiles: str) -> bool:
    mol = Chem.MolFromSmiles(smiles)
    return any(a.GetChiralTag() != Chem.ChiralType.CHI_UNSPECIFIED for a in mol.GetAtoms()) or any(
        b.GetStereo() != Chem.BondStereo.STEREONONE for b in mol.GetBonds())


def _bbbp_csv(path, n: int) -> tuple:
    """The first ``n`` BBBP molecules as a CSV (smiles, p_np) at ``path``, and their SMILES."""
    from molssl.data.catalog import load_moleculenet

    table = load_moleculenet("bbbp")
    smiles, labels = table.smiles[:n], table.labels[:n, 0]
    path.write_text("smiles,p_np\n" + "".join(f"{s},{int(y)}\n" for s, y in zip(smiles, labels)))
    return path, smiles


def test_canonical_atom_order_makes_a_graph_model_invariant_to_spelling(tmp_path) -> None:
    """The predictor's default (atom_order="canonical") moves no prediction under randomized SMILES, stereo or not,
    and keeps the order through save/load; a model fitted before the option predicts in input order."""
    from molssl.tasks.predictor import PropertyPredictor

    data, smiles = _bbbp_csv(tmp_path / "bbbp.csv", 120)
    model = PropertyPredictor(encoder="gin", num_layers=2, emb_dim=16).fit(data, epochs=1, seeds=(0,), split="random")
    assert model.info_["atom_order"] == "canonical"
    stereo = [s for s in smiles if has_stereo(s)]
    assert len(stereo) >= 10
    (randomized,) = stress_test(model, smiles, perturbations=["randomized_smiles"])
    assert randomized.applicable >= 110 and randomized.moved == 0
    model.save(tmp_path / "model")
    loaded = PropertyPredictor.load(tmp_path / "model")
    assert loaded.info_["atom_order"] == "canonical"
    (again,) = stress_test(loaded, stereo, perturbations=["randomized_smiles"])
    assert again.moved == 0
    # input order: stereo molecules move (the reason for the default)
    model_in = PropertyPredictor(encoder="gin", num_layers=2, emb_dim=16).fit(data, epochs=1, seeds=(0,), split="random", atom_order="input")
    (moved,) = stress_test(model_in, stereo, perturbations=["randomized_smiles"])
    assert moved.moved > 0
    # a model fitted before the option records no atom_order: it predicts in input order, as it was trained
    expected = model_in.predict(stereo)["p_np"].to_numpy()
    del model_in.info_["atom_order"]
    np.testing.assert_array_equal(model_in.predict(stereo)["p_np"].to_numpy(), expected)


@pytest.mark.slow
def test_graph_model_moves_under_randomized_smiles_only_for_stereo_molecules(tmp_path, capsys) -> None:
    """A GIN fitted on BBBP in input order (pretrain-gnns/OGB's), then the stress CLI on its saved model.

    Atom order moves no prediction of a molecule without stereo. With stereo it can: the ``hu`` (and OGB)
    chirality feature is RDKit's CW/CCW tag, which is relative to the order of the atom's neighbours, and
    ``hu``'s bond direction is relative to the writing direction, so another spelling can give another graph.
    The predictor's default, ``atom_order="canonical"``, removes that (the test above).
    """
    from molssl.cli.main import main
    from molssl.data.catalog import load_moleculenet
    from molssl.tasks.predictor import PropertyPredictor

    table = load_moleculenet("bbbp")
    model = PropertyPredictor(encoder="gin", num_layers=2, emb_dim=32).fit(table, epochs=1, seeds=(0,), atom_order="input")
    smiles = table.smiles[:60]
    results = {r.perturbation: r for r in stress_test(model, smiles, threshold=0.5)}
    randomized = results["randomized_smiles"]
    assert randomized.applicable >= 55
    assert randomized.moved > 0
    assert all(has_stereo(smiles[i]) for i in randomized.moved_rows)
    assert results["toggle_hydrogens"].moved <= sum(has_stereo(s) for s in smiles)
    assert results["add_salt"].moved > 0  # the salt's atoms are part of the graph
    model.save(tmp_path / "model")
    data = tmp_path / "mols.smi"
    data.write_text("\n".join(s for s in smiles if not has_stereo(s)) + "\n")
    assert main(["stress", str(tmp_path / "model"), "--input", str(data), "--perturbations", "randomized_smiles",
                 "--threshold", "0.5", "--out", str(tmp_path / "stress.json")]) == 0  # fmt: skip
    assert "| randomized_smiles |" in capsys.readouterr().out
    import json

    (row,) = json.loads((tmp_path / "stress.json").read_text())["results"]
    assert row["applicable"] > 20 and row["moved"] == 0

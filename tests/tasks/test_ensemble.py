"""Ensemble combination and packing, against hand computation."""

from __future__ import annotations

import numpy as np
import torch

from molssl.tasks.ensemble import combine, pack_members, pop_members
from molssl.tasks.target_scaler import TargetScaler


def test_combine_means_probabilities_and_reports_the_spread():
    logits = np.array([[[0.0]], [[2.0]], [[-1.0]]])  # 3 members, 1 molecule, 1 task
    probs = 1 / (1 + np.exp(-logits[:, 0, 0]))
    out = combine(logits, "classification", None, temperatures=[2.0])
    assert out.values[0, 0] == np.float64(probs.mean())
    assert np.isclose(out.spread[0, 0], probs.std())
    mean_logit = np.log(probs.mean() / (1 - probs.mean()))
    assert np.isclose(out.calibrated[0, 0], 1 / (1 + np.exp(-mean_logit / 2.0)))
    single = combine(logits[:1], "classification", None)
    assert single.spread is None and single.calibrated is None


def test_regression_members_are_combined_in_label_units():
    scaler = TargetScaler(mean=(10.0,), std=(2.0,))
    out = combine(np.array([[[1.0]], [[-1.0]]]), "regression", scaler)
    assert out.values[0, 0] == 10.0 and out.spread[0, 0] == 2.0


def test_pack_and_pop_members_round_trip():
    main = {"head.weight": torch.ones(2, 3), "head.bias": torch.zeros(2)}
    others = {1: {"head.weight": torch.full((2, 3), 2.0), "head.bias": torch.ones(2)}, 2: {"head.weight": torch.zeros(2, 3), "head.bias": torch.ones(2)}}
    packed = pack_members(main, others)
    assert set(packed) == {"head.weight", "head.bias", "ensemble.1.head.weight", "ensemble.1.head.bias", "ensemble.2.head.weight", "ensemble.2.head.bias"}
    popped = pop_members(packed)
    assert set(packed) == set(main) and sorted(popped) == [1, 2]
    assert torch.equal(popped[1]["head.weight"], others[1]["head.weight"])


def test_an_ensemble_of_one_seed_is_refused_before_any_work(tmp_path):
    # one model has no spread: the run would report no uncertainty while promising one
    import pytest

    from molssl.tasks.predictor import PropertyPredictor

    with pytest.raises(ValueError, match=r"ensemble needs two or more seeds \(--seeds 0 1 2; Python: seeds=\(0, 1, 2\)\)"):
        PropertyPredictor().fit(tmp_path / "not read.csv", ensemble=True, seeds=(0,))
    with pytest.raises(ValueError, match="two or more seeds"):
        PropertyPredictor().fit(tmp_path / "not read.csv", ensemble=True)

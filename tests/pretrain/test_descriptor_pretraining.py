"""Descriptor-prediction pretraining on the shared loop: learns, records its statistics, resumes exactly, combines."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch

from molssl.chem.descriptors import compute_descriptors
from molssl.nn.pretrained import load_encoder
from molssl.pretrain import pretrain
from tests.pretrain.conftest import SMALL_ENCODER, fast
from tests.pretrain.test_trainer import _interrupt_at, _mean_loss

NAMES = ["MolWt", "MolLogP", "TPSA", "NumHDonors", "NumHAcceptors", "RingCount", "FractionCSP3", "qed"]


def test_descriptors_learn_and_record_their_statistics(store, tmp_path):
    result = pretrain("descriptors", store, tmp_path / "run", encoder=SMALL_ENCODER, method_options={"descriptors": NAMES},
                      train=fast(steps=150, log_every=10, checkpoint_every=150, lr=3e-3))  # fmt: skip
    rows = result.metrics
    assert _mean_loss(rows[-3:]) < 0.6 * _mean_loss(rows[:2]), [round(r["loss"], 3) for r in rows]
    config = json.loads((result.run_dir / "config.json").read_text())
    assert config["method_config"]["descriptors"] == NAMES and config["method_config"]["num_targets"] == len(NAMES)
    recorded = config["source"]["descriptor_targets"]
    raw = compute_descriptors(store.all_smiles(), NAMES).values.astype(np.float64)
    assert recorded["names"] == NAMES
    np.testing.assert_allclose(recorded["scaler"]["median"], np.nanmedian(raw, axis=0))
    assert recorded["failed_molecules"] == 0


def test_resume_is_exact(store, tmp_path):
    options = {"descriptors": NAMES, "attr_masking_weight": 0.5}
    train = fast(steps=30)
    full = pretrain("descriptors", store, tmp_path / "full", encoder=SMALL_ENCODER, method_options=options, train=train)
    with pytest.raises(KeyboardInterrupt):
        pretrain("descriptors", store, tmp_path / "cut", encoder=SMALL_ENCODER, method_options=options, train=train,
                 on_log=_interrupt_at(25))  # fmt: skip
    resumed = pretrain("descriptors", store, tmp_path / "cut", encoder=SMALL_ENCODER, method_options=options, train=train, resume=True)
    a, b = load_encoder(full.encoder_dir).state_dict(), load_encoder(resumed.encoder_dir).state_dict()
    assert all(torch.equal(a[k], b[k]) for k in a)
    assert [r["loss"] for r in full.metrics] == [r["loss"] for r in resumed.metrics]
    assert all("masking_loss" in r and "descriptor_loss" in r for r in full.metrics)


def test_in_memory_graphs_are_refused(store, tmp_path):
    with pytest.raises(ValueError, match="SMILES file or molecule store"):
        pretrain("descriptors", store.graphs, tmp_path / "run", encoder=SMALL_ENCODER, train=fast(steps=5))


@pytest.mark.parametrize("first, then", [("attr_masking", "descriptors"), ("descriptors", "attr_masking")])
def test_chains_with_another_method(first, then, store, tmp_path):
    """``--init``: either order starts the second run from the first run's encoder (lr ~0 keeps its weights)."""
    options = {"descriptors": {"descriptors": NAMES}}
    a = pretrain(first, store, tmp_path / "a", encoder=SMALL_ENCODER, method_options=options.get(first), train=fast(steps=10))
    b = pretrain(then, store, tmp_path / "b", encoder=SMALL_ENCODER, method_options=options.get(then), init=a.run_dir,
                 train=fast(steps=10, lr=1e-9))  # fmt: skip
    assert json.loads((b.run_dir / "config.json").read_text())["init"].endswith("encoder")
    before, after = load_encoder(a.encoder_dir).state_dict(), load_encoder(b.encoder_dir).state_dict()
    weights = [k for k in before if k.endswith("weight")]
    assert weights and all(torch.allclose(before[k], after[k], atol=1e-6) for k in weights)
    fresh = pretrain(then, store, tmp_path / "c", encoder=SMALL_ENCODER, method_options=options.get(then), train=fast(steps=10, lr=1e-9))
    fresh_weights = load_encoder(fresh.encoder_dir).state_dict()
    assert not all(torch.allclose(before[k], fresh_weights[k], atol=1e-6) for k in weights)  # the init is what carried them

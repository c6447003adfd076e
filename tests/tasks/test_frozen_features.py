"""The frozen-feature cache of the fine-tuning loop: the same runs as running the frozen encoder per batch,
on real MoleculeNet molecules, and no cache wherever something before the head trains or is stochastic."""

from __future__ import annotations

import logging
import re

import numpy as np
import pandas as pd
import pytest
import torch

from molssl.chem.featurize import featurize_many
from molssl.data.loader import StoreLoader
from molssl.data.splits_registry import get_splitter
from molssl.nn.encoder import EncoderConfig, GNNEncoder
from molssl.tasks import frozen_features
from molssl.tasks.finetune import FinetuneConfig, finetune
from molssl.tasks.frozen_features import FrozenFeatures, frozen_feature_obstacle
from molssl.tasks.model import ModelFactory, PredictorConfig, PropertyModel, frozen_modules_eval, set_trainable
from tests.conftest import MOLECULENET


def _load(name: str, rows: int) -> tuple:
    """The first ``rows`` molecules of an embedded set: graphs, [M, T] labels (NaN kept), scaffold split, task names."""
    frame = pd.read_csv(MOLECULENET / f"{name}.csv").iloc[:rows]
    result = featurize_many(frame["smiles"].tolist(), scheme="hu", on_error="skip")
    columns = [c for c in frame.columns if c not in ("smiles", "name", "mol_id")]
    labels = frame[columns].to_numpy(dtype=np.float32)[result.indices]
    smiles = [frame["smiles"].iloc[i] for i in result.indices.tolist()]
    split = tuple(get_splitter("scaffold")(smiles, frac_train=0.8, frac_valid=0.1, frac_test=0.1))
    return result.graphs, labels, split, tuple(columns)


@pytest.fixture(scope="module")
def bbbp():
    return _load("bbbp", 400)


def _config(task_names, task_type="classification", readout="mean", conv="gin", encoder_options=None, num_classes=None,
            **peft) -> PredictorConfig:  # fmt: skip
    encoder = EncoderConfig(scheme="hu", conv=conv, num_layers=2, emb_dim=16, dropout=0.5, **(encoder_options or {}))
    return PredictorConfig(encoder=encoder, readout=readout, task_type=task_type, task_names=task_names, peft=peft or None,
                           num_classes=num_classes)  # fmt: skip


def _run(config: PredictorConfig, data, cache: bool, monkeypatch, **finetune_options) -> tuple:
    """One seed with and without the cache: result, encoder forwards, torch RNG state afterwards."""
    graphs, labels, split, _ = data
    calls = []
    forward = GNNEncoder.forward
    monkeypatch.setattr(GNNEncoder, "forward", lambda self, batch: calls.append(int(batch.num_graphs)) or forward(self, batch))
    options = {"epochs": 4, "batch_size": 32, "seeds": (3,), "eval_batch_size": 64, **finetune_options}
    result, _ = finetune(ModelFactory(config), graphs, labels, split, FinetuneConfig(frozen_feature_cache=cache, **options))
    monkeypatch.setattr(GNNEncoder, "forward", forward)
    return result, calls, torch.get_rng_state()


def _assert_same_run(plain, cached) -> None:
    a, b = plain[0].seeds[0], cached[0].seeds[0]
    assert a.best_epoch == b.best_epoch
    for ra, rb in zip(a.history, b.history, strict=True):
        for key in ("loss", "valid", "test"):
            assert ra[key] == pytest.approx(rb[key], abs=1e-6), (ra, rb)
    for name, value in plain[0].best_state.items():
        torch.testing.assert_close(cached[0].best_state[name], value, atol=1e-6, rtol=1e-5)
    assert torch.equal(plain[2], cached[2])  # the same draws from torch's generator: none, or the same ones


@pytest.mark.parametrize(("name", "rows", "task_type"), [("bbbp", 400, "classification"), ("esol", 300, "regression"),
                                                        ("sider", 300, "classification")])  # fmt: skip
def test_linear_probe_on_stored_features_is_the_same_run(name, rows, task_type, monkeypatch):
    data = _load(name, rows)
    assert name != "sider" or len(data[3]) == 27
    config = _config(data[3], task_type)
    plain = _run(config, data, False, monkeypatch, mode="linear_probe")
    cached = _run(config, data, True, monkeypatch, mode="linear_probe")
    _assert_same_run(plain, cached)
    molecules = sum(len(part) for part in data[2])
    assert sum(cached[1]) == molecules  # the encoder saw each molecule once, in evaluation-size batches
    # per batch: 4 epochs of training batches (scoring the GIN runs by colour class, not through forward)
    assert sum(plain[1]) == 4 * len(data[2][0])


def test_lp_ft_stores_features_for_its_probing_phase_only(bbbp, monkeypatch):
    config = _config(bbbp[3])
    plain = _run(config, bbbp, False, monkeypatch, mode="lp_ft", epochs=5, lp_epochs=2)
    cached = _run(config, bbbp, True, monkeypatch, mode="lp_ft", epochs=5, lp_epochs=2)
    _assert_same_run(plain, cached)  # the full phase's dropout draws the same masks
    molecules = sum(len(part) for part in bbbp[2])
    assert sum(cached[1]) == molecules + 3 * len(bbbp[2][0])  # stored once, then 3 full epochs of training batches
    assert sum(plain[1]) == 5 * len(bbbp[2][0])


def test_other_encoder_forms_and_multiclass_heads_are_the_same_run(monkeypatch):
    """A GAT with a virtual node, residual layers and concatenated jumping knowledge (the virtual node is frozen
    too in a linear probe), and a multiclass head (ESOL's solubility in three bins)."""
    graphs, labels, split, _ = _load("esol", 300)
    classes = np.digitize(labels, np.quantile(labels, [1 / 3, 2 / 3])).astype(np.float32)  # [M, 1] in {0, 1, 2}
    data = (graphs, classes, split, ("solubility_bin",))
    options = {"virtual_node": True, "residual": True, "jk": "concat"}
    config = _config(data[3], "multiclass", conv="gat", encoder_options=options, num_classes=3)
    plain = _run(config, data, False, monkeypatch, mode="linear_probe")
    cached = _run(config, data, True, monkeypatch, mode="linear_probe")
    _assert_same_run(plain, cached)
    assert sum(cached[1]) == sum(len(part) for part in split)


def test_a_readout_with_parameters_trains_on_stored_node_vectors(bbbp, monkeypatch):
    config = _config(bbbp[3], readout="attention")
    plain = _run(config, bbbp, False, monkeypatch, mode="linear_probe")
    cached = _run(config, bbbp, True, monkeypatch, mode="linear_probe")
    _assert_same_run(plain, cached)
    assert sum(cached[1]) == sum(len(part) for part in bbbp[2])
    assert not torch.equal(plain[0].best_state["readout.gate.weight"], PropertyModel(config).readout.gate.weight)  # it trained


def _probe_model(config: PredictorConfig, mode: str, **options) -> PropertyModel:
    model = PropertyModel(config)
    set_trainable(model, mode, **options)
    model.train()
    frozen_modules_eval(model)
    return model


def test_stored_outputs_equal_the_models_own(bbbp):
    graphs, _, split, names = bbbp
    for readout, kind in (("mean", "pooled"), ("set2set", "nodes")):
        model = _probe_model(_config(names, readout=readout), "linear_probe")
        features = FrozenFeatures.build(model, graphs, split[1], batch_size=7)
        assert features is not None and features.kind == kind
        idx = split[1][::-1][:20]
        batch = StoreLoader(graphs, batch_size=20, indices=idx).collate(idx)
        torch.testing.assert_close(features.outputs(model, idx), model(batch), atol=1e-6, rtol=1e-5)
        with pytest.raises(ValueError, match="have no stored encoder outputs"):
            features.embed(model, split[0][:3])


@pytest.mark.parametrize(("mode", "peft", "reason"), [
    ("full", {}, "encoder parameters train"),
    ("last_k", {}, r"encoder parameters train \(convs\.1\."),
    ("adapter", {"method": "adapter"}, "encoder parameters train"),
    ("lora", {"method": "lora"}, "encoder parameters train"),
    ("bitfit", {}, "encoder parameters train"),
    ("gpf", {"method": "gpf"}, "encoder parameters train"),
])  # fmt: skip
def test_no_cache_where_the_encoder_trains(bbbp, mode, peft, reason, caplog):
    model = _probe_model(_config(bbbp[3], **peft), mode)
    assert frozen_feature_obstacle(model) is not None
    with caplog.at_level(logging.DEBUG, logger=frozen_features.__name__):
        assert FrozenFeatures.build(model, bbbp[0], bbbp[2][0], 64) is None
    assert "no frozen-feature cache" in caplog.text
    assert re.search(reason, caplog.text), caplog.text
    (record,) = [r for r in caplog.records if "no frozen-feature cache" in r.getMessage()]
    assert record.levelno == logging.DEBUG  # the ordinary case is not announced on every fine-tuning run


def test_no_cache_for_an_encoder_in_training_mode_or_an_overridden_model(bbbp):
    config = _config(bbbp[3])
    model = _probe_model(config, "linear_probe")
    assert frozen_feature_obstacle(model) is None
    model.encoder.dropouts[0].train()  # a dropout left on would draw a new mask every batch
    assert frozen_feature_obstacle(model) == "encoder modules are in training mode (dropouts.0)"

    class Noisy(PropertyModel):
        def embed(self, batch):
            return super().embed(batch) + torch.randn(1)

    noisy = Noisy(config)
    set_trainable(noisy, "linear_probe")
    noisy.train()
    frozen_modules_eval(noisy)
    assert "Noisy is not a plain PropertyModel (overrides embed)" == frozen_feature_obstacle(noisy)


def test_node_vectors_over_the_memory_limit_are_not_stored(bbbp, monkeypatch, caplog):
    model = _probe_model(_config(bbbp[3], readout="attention"), "linear_probe")
    monkeypatch.setattr(frozen_features, "NODE_CACHE_MAX_BYTES", 1000)
    with caplog.at_level(logging.INFO, logger=frozen_features.__name__):
        assert FrozenFeatures.build(model, bbbp[0], bbbp[2][0], 64) is None
    assert "GiB (limit NODE_CACHE_MAX_BYTES)" in caplog.text
    assert FrozenFeatures.build(_probe_model(_config(bbbp[3]), "linear_probe"), bbbp[0], bbbp[2][0], 64) is not None  # pooled: no limit


def test_the_cache_can_be_turned_off(bbbp, monkeypatch):
    config = _config(bbbp[3])
    _, calls, _ = _run(config, bbbp, False, monkeypatch, mode="linear_probe", epochs=1)
    assert len(calls) == -(-len(bbbp[2][0]) // 32)  # the training batches (scoring runs by colour class)
    assert FinetuneConfig.from_dict(FinetuneConfig(frozen_feature_cache=False).to_dict()).frozen_feature_cache is False
    with pytest.raises(ValueError, match="frozen_feature_cache must be a bool"):
        FinetuneConfig(frozen_feature_cache="no")


def test_a_smiles_transformer_probe_stores_its_pooled_vectors(monkeypatch):
    from molssl.text.encoder import SmilesTransformer, SmilesTransformerConfig
    from molssl.text.inputs import TokenizedMolecules

    frame = pd.read_csv(MOLECULENET / "bbbp.csv").iloc[:200]
    encoder = SmilesTransformerConfig.preset("tiny", max_length=64)
    inputs = TokenizedMolecules(frame["smiles"].tolist(), encoder)
    split = tuple(get_splitter("scaffold")(frame["smiles"].tolist(), frac_train=0.8, frac_valid=0.1, frac_test=0.1))
    data = (inputs, frame[["p_np"]].to_numpy(dtype=np.float32), split, ("p_np",))
    config = PredictorConfig(encoder=encoder, task_names=("p_np",))
    calls = []
    forward = SmilesTransformer.forward
    monkeypatch.setattr(SmilesTransformer, "forward", lambda self, ids: calls.append(len(ids)) or forward(self, ids))
    results = [_run(config, data, cache, monkeypatch, mode="linear_probe") for cache in (False, True)]
    _assert_same_run(*results)
    assert sum(calls) == 4 * len(split[0]) + 4 * (len(split[1]) + len(split[2])) + len(frame)  # per batch and epoch, then once

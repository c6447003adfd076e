"""PEFT modes and LP-FT on a GNN property model: exact start, what trains, LoRA merge, delta checkpoints."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
import torch

from molssl.chem.featurize import featurize_many
from molssl.data.loader import StoreLoader
from molssl.nn.encoder import EncoderConfig, GNNEncoder
from molssl.nn.pretrained import save_encoder
from molssl.peft import BaseMismatchError, PeftConfig, get_peft
from molssl.tasks.finetune import FinetuneConfig, finetune
from molssl.tasks.model import ModelFactory, PredictorConfig, PropertyModel
from molssl.tasks.predictor import PropertyPredictor
from tests.conftest import MOLECULENET, moleculenet_head, moleculenet_smiles
from tests.peft.conftest import assert_merged_lora_predicts_the_same, assert_trains_only_its_parameters

SMALL = {"num_layers": 2, "emb_dim": 32}
# awkward molecules: charged salt, aromatic, stereo, single atom, metal
SMILES = ["CC(=O)[O-].[Na+]", "c1ccccc1O", "C[C@H](N)C(=O)O", "[Cl-]", "CC[Sn](CC)(CC)CC", "O=C1NC(=O)c2ccccc21"]


@pytest.fixture(scope="module")
def batch():
    graphs = featurize_many(SMILES, scheme="hu").graphs
    return next(iter(StoreLoader(graphs, batch_size=len(SMILES))))


@pytest.fixture(scope="module")
def bbbp_csv(tmp_path_factory):
    return moleculenet_head("bbbp", 240, tmp_path_factory.mktemp("data"))


@pytest.fixture(scope="module")
def pretrained(tmp_path_factory):
    torch.manual_seed(123)
    encoder = GNNEncoder(EncoderConfig(scheme="hu", conv="gin", dropout=0.5, **SMALL))
    path = tmp_path_factory.mktemp("enc") / "encoder"
    save_encoder(encoder, path)
    return encoder, path


def _models(pretrained, peft: dict | None, conv: str = "gin"):
    """The pretrained model without PEFT and with it, same encoder weights and head."""
    encoder, _ = pretrained
    enc_config = encoder.config if conv == "gin" else EncoderConfig(scheme="hu", conv=conv, **SMALL)
    state = encoder.state_dict() if conv == "gin" else GNNEncoder(enc_config).state_dict()
    plain = ModelFactory(PredictorConfig(encoder=enc_config), state)()
    adapted = ModelFactory(PredictorConfig(encoder=enc_config, peft=peft), state)()
    adapted.head.load_state_dict(plain.head.state_dict())
    adapted.readout.load_state_dict(plain.readout.state_dict())
    return plain.eval(), adapted.eval()


@pytest.mark.parametrize("conv", ["gin", "gcn", "gat"])
@pytest.mark.parametrize("method", ["adapter", "lora"])
def test_adapters_and_lora_start_exactly_at_the_pretrained_function(pretrained, batch, method, conv):
    plain, adapted = _models(pretrained, {"method": method}, conv)
    assert torch.equal(adapted(batch), plain(batch))
    with torch.no_grad():
        for p in get_peft(adapted.encoder).parameters():
            p.add_(0.2 * torch.randn_like(p))
    assert not torch.allclose(adapted(batch), plain(batch))  # the modules act (not bypassed by a fast path)


@pytest.mark.parametrize("method", ["adapter", "lora", "bitfit", "gpf", "gpf_plus"])
def test_only_the_intended_parameters_get_gradients(pretrained, batch, method):
    _, model = _models(pretrained, {"method": method})
    assert_trains_only_its_parameters(model, method, batch, lambda name: ".batch_norms." in name or ".norm" in name)


def test_lora_merged_into_the_weights_predicts_the_same(pretrained, batch):
    _, model = _models(pretrained, {"method": "lora", "lora_rank": 4})
    assert_merged_lora_predicts_the_same(model, batch, 4)  # 2 layers x the GIN MLP's 2 linear maps


def test_lp_ft_first_phase_leaves_the_encoder_untouched(pretrained):
    encoder, _ = pretrained
    smiles = moleculenet_smiles("bbbp", 160)
    frame = pd.read_csv(MOLECULENET / "bbbp.csv").set_index("smiles")
    labels = frame.loc[smiles, "p_np"].to_numpy(np.float32)[:, None]
    graphs = featurize_many(smiles, scheme="hu").graphs
    built: list[PropertyModel] = []

    def make_model() -> PropertyModel:
        built.append(ModelFactory(PredictorConfig(encoder=encoder.config), encoder.state_dict())())
        return built[-1]

    snapshots = {}

    def progress(record: dict) -> None:
        snapshots[record["epoch"]] = {k: v.clone() for k, v in built[-1].encoder.state_dict().items()}

    rng = np.random.default_rng(0).permutation(len(smiles))
    split = (rng[:120], rng[120:140], rng[140:])
    config = FinetuneConfig(epochs=3, lp_epochs=2, mode="lp_ft", batch_size=32)
    result, _ = finetune(make_model, graphs, labels, split, config, progress)
    base = encoder.state_dict()
    for epoch in (1, 2):  # linear probing: every encoder tensor, batch-norm statistics included, unchanged
        assert all(torch.equal(snapshots[epoch][k], base[k]) for k in base), epoch
    assert any(not torch.equal(snapshots[3][k], base[k]) for k in base if k.startswith("convs.0."))
    summary = result.summary()
    assert summary["trainable_parameters"] == summary["total_parameters"] == sum(p.numel() for p in built[-1].parameters())


def test_fit_save_delta_load_predicts_the_same_and_refuses_another_base(pretrained, bbbp_csv, tmp_path):
    _, path = pretrained
    predictor = PropertyPredictor(**SMALL).fit(bbbp_csv, pretrained=path, epochs=2, mode="lora", peft={"lora_rank": 4})
    m = predictor.metrics_
    peft_params = sum(p.numel() for p in get_peft(predictor.model_.encoder).parameters())
    head = sum(p.numel() for n, p in predictor.model_.named_parameters() if not n.startswith("encoder."))
    assert m["trainable_parameters"] == peft_params + head < m["total_parameters"]
    assert predictor.model_.config.peft == PeftConfig(method="lora", lora_rank=4, lora_targets=("convs.*",)).to_dict()  # the GNN default

    predictor.save(tmp_path / "delta", delta=True)
    config = json.loads((tmp_path / "delta" / "config.json").read_text())["config"]
    assert config["kind"] == "property_predictor_delta" and config["base"]["name"] == str(path.resolve())
    from safetensors import safe_open

    with safe_open(tmp_path / "delta" / "model.safetensors", "pt") as fh:
        keys = set(fh.keys())
    assert keys == {k for k in predictor.model_.state_dict() if not k.startswith("encoder.") or k.startswith("encoder.peft.")}
    smiles = ["CCO", "c1ccccc1N", "CC(=O)[O-].[Na+]", "C1CC("]
    before = predictor.predict(smiles)
    pd.testing.assert_frame_equal(PropertyPredictor.load(tmp_path / "delta").predict(smiles), before)
    predictor.save(tmp_path / "full")  # the same model as a full checkpoint predicts the same too
    pd.testing.assert_frame_equal(PropertyPredictor.load(tmp_path / "full").predict(smiles), before)

    torch.manual_seed(7)
    save_encoder(GNNEncoder(EncoderConfig(scheme="hu", conv="gin", dropout=0.5, **SMALL)), tmp_path / "other")
    with pytest.raises(BaseMismatchError, match="trained on base encoder .*encoder.*other weights"):
        PropertyPredictor.load(tmp_path / "delta", base=tmp_path / "other")


def test_delta_needs_a_pretrained_start(bbbp_csv, tmp_path):
    predictor = PropertyPredictor(**SMALL).fit(bbbp_csv, epochs=1, mode="bitfit")
    assert predictor.metrics_["trainable_parameters"] < predictor.metrics_["total_parameters"]
    with pytest.raises(ValueError, match="trained from scratch"):
        predictor.save(tmp_path / "d", delta=True)

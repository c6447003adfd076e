"""The loop trains any modality: a non-graph DataSource, encoder kind and method run through the same
``pretrain``, resume exactly, and leave an encoder checkpoint that records its kind and preprocessing."""

from __future__ import annotations

import json

import pytest
import torch

import molssl
import molssl.methods
from molssl.nn.pretrained import PreprocessingMismatchError, load_encoder, load_encoder_state
from molssl.pretrain import DataConfig, RunConfig, pretrain
from tests.conftest import MOLECULENET
from tests.pretrain.conftest import fast
from tests.pretrain.vector_modality import MODALITY, MaskedFeatures, MLPEncoder

ESOL = MOLECULENET / "esol.csv"  # 1,128 molecules: 17 batches of 64 per epoch


@pytest.fixture
def method():
    with molssl.methods.METHODS.override(MaskedFeatures.name, MaskedFeatures):
        yield MaskedFeatures.name


def _config(method, **train) -> RunConfig:
    options = {"steps": 40, "batch_size": 64, "lr": 3e-3, "log_every": 5, "checkpoint_every": 20, **train}
    return RunConfig(method=method, data=DataConfig(path=str(ESOL)), train=fast(**options))


def _weights(run):
    return load_encoder(run / "encoder").state_dict()


def _rows(result):
    return [{k: v for k, v in r.items() if k != "vectors_per_s"} for r in result.metrics]


def test_a_non_graph_modality_trains_and_resumes_exactly(method, tmp_path):
    config = _config(method, size_curriculum=0.5)  # 40 steps cross two epochs; the curriculum draws by heavy atoms
    full = pretrain(config, out=tmp_path / "full")
    rows = full.metrics
    assert [r["step"] for r in rows] == list(range(5, 41, 5)) and rows[-1]["vectors_seen"] == 40 * 64
    assert all("effective_rank" in r and "vectors_per_s" in r for r in rows)

    def interrupt(row):
        if row["step"] == 25:
            raise KeyboardInterrupt("simulated kill")

    with pytest.raises(KeyboardInterrupt):
        pretrain(config, out=tmp_path / "cut", on_log=interrupt)
    resumed = pretrain(config, out=tmp_path / "cut", resume=True)
    a, b = _weights(tmp_path / "full"), _weights(tmp_path / "cut")
    assert all(torch.equal(a[k], b[k]) for k in a)
    assert _rows(full) == _rows(resumed)

    recorded = json.loads((tmp_path / "full" / "config.json").read_text())
    assert recorded["data"]["modality"] == MODALITY and recorded["encoder"] == {"kind": "mlp_test", "in_dim": 8, "hidden": 32}
    assert recorded["source"]["rows"] == 1128 and not (tmp_path / "full" / "scheme.json").exists()
    # config.json is the run: replayed (through the top-level molssl.pretrain), it trains to the same weights
    again = molssl.pretrain(RunConfig.from_dict(recorded), out=tmp_path / "again")
    c = _weights(again.run_dir)
    assert all(torch.equal(a[k], c[k]) for k in a)
    uniform = pretrain(_config(method), out=tmp_path / "uniform").metrics
    assert [r["loss"] for r in uniform] != [r["loss"] for r in rows]  # the curriculum drew other batches
    assert sum(r["loss"] for r in uniform[-2:]) < 0.8 * sum(r["loss"] for r in uniform[:2]), [round(r["loss"], 3) for r in uniform]


def test_the_encoder_checkpoint_records_kind_and_preprocessing(method, tmp_path):
    result = pretrain(_config(method, steps=5, log_every=5, checkpoint_every=5), out=tmp_path / "run")
    encoder = load_encoder(result.encoder_dir)
    assert isinstance(encoder, MLPEncoder) and encoder.config.in_dim == 8
    stored = json.loads((result.encoder_dir / "config.json").read_text())["config"]
    assert stored["encoder_kind"] == "mlp_test" and stored["scheme"] is None
    preprocessing = stored["preprocessing"]
    assert preprocessing["descriptors"][0] == "MolWt" and len(preprocessing["mean"]) == 8
    config, _ = load_encoder_state(result.encoder_dir, expected_preprocessing=preprocessing)
    assert config == encoder.config
    with pytest.raises(PreprocessingMismatchError, match="noise: pretrained with 0.01, asked for 0.5"):
        load_encoder_state(result.encoder_dir, expected_preprocessing={**preprocessing, "noise": 0.5})


def test_encoder_options_the_data_decides_cannot_be_overridden(method, tmp_path):
    config = RunConfig(method=method, data=DataConfig(path=str(ESOL)), encoder={"in_dim": 5}, train=fast(steps=1))
    with pytest.raises(ValueError, match="encoder's in_dim differs from the data's"):
        pretrain(config, out=tmp_path / "run")
    assert not (tmp_path / "run").exists()


def test_a_named_data_set_picks_the_modality_and_clashes_are_refused(tmp_path):
    with pytest.raises(ValueError, match="'attr_masking' trains on graph data, 'fsdd' is the embedded audio data set"):
        pretrain("attr_masking", "fsdd", tmp_path / "run", train=fast(steps=1))
    with pytest.raises(ValueError, match="'mnist' is the embedded image data set, but the run asks for audio data"):
        pretrain("byol", "mnist", tmp_path / "run", modality="audio", train=fast(steps=1))
    with pytest.raises(TypeError, match="pass data_options, modality inside the RunConfig"):
        pretrain(RunConfig(method="byol"), out=tmp_path / "run", modality="audio", data_options={"takes": "10-49"})
    assert not (tmp_path / "run").exists()


def test_a_graph_method_refuses_other_data(tmp_path):
    config = RunConfig(method="attr_masking", data=DataConfig(path=str(ESOL), modality=MODALITY), train=fast(steps=1))
    with pytest.raises(ValueError, match=f"method 'attr_masking' trains on graph data, not {MODALITY}"):
        pretrain(config, out=tmp_path / "run")

"""The harness end to end on the fixture copy: protocol, Evaluator equality, resume, pretrained encoders, errors."""

from __future__ import annotations

import dataclasses
import json

import numpy as np
import pytest
from ogb.graphproppred import Evaluator

from molssl.checkpoint import SchemeMismatchError
from molssl.data.catalog import load_moleculenet
from molssl.eval.metrics import get_metric
from molssl.nn.encoder import EncoderConfig, GNNEncoder
from molssl.nn.pretrained import save_encoder
from molssl.ogb.harness import run_ogb
from molssl.ogb.layout import OgbLayoutError
from molssl.ogb.model_init import declared_external_data, parameter_counts, resolve_model
from molssl.ogb.record import RecordMismatchError, load_record
from molssl.ogb.run_config import OgbRunConfig
from molssl.ogb.writer import build_ogb_dataset
from molssl.tasks.model import PredictorConfig, PropertyModel
from tests.ogb.conftest import NAME

# small model and few epochs: the protocol is what is tested here, not the accuracy
SMALL = {"encoder": "gin-virtual", "num_layers": 2, "emb_dim": 16, "epochs": 2, "seeds": 2, "download": False}


@pytest.fixture(scope="module")
def reference(ogb_root, tmp_path_factory):
    out = tmp_path_factory.mktemp("run") / "gin-virtual"
    return run_ogb(NAME, root=ogb_root, out=out, save_predictions=True, **SMALL), out


def _strict_json(path):
    def refuse(value):
        raise ValueError(f"non-standard JSON constant {value}")

    return json.loads(path.read_text(), parse_constant=refuse)


def test_record_follows_the_protocol(reference):
    record, out = reference
    assert _strict_json(out / "record.json") == record == load_record(out)
    assert record["dataset"] == NAME and record["metric"] == "rocauc" and record["method"] == "GIN-virtual"
    assert record["summary"]["complete"] and record["summary"]["finished_seeds"] == [0, 1]
    for seed in record["seeds"].values():
        history = seed["history"]
        valid = [h["valid"] for h in history]
        assert seed["best_epoch"] == int(np.argmax(valid)) + 1  # the first best epoch, as OGB's np.argmax
        assert seed["test"] == history[seed["best_epoch"] - 1]["test"] and seed["test_at_last_epoch"] == history[-1]["test"]
        # molssl's own protocol selects the same epoch with exactly the same numbers
        assert seed["evaluator_matches_protocol"] and seed["protocol"]["best_epoch"] == seed["best_epoch"]
        assert seed["protocol"]["test"] == seed["test"] and seed["protocol"]["valid"] == seed["valid"]
        assert [h["protocol_valid"] for h in history] == valid and [h["protocol_test"] for h in history] == [h["test"] for h in history]
    tests = [record["seeds"][s]["test"] for s in ("0", "1")]
    valids = [record["seeds"][s]["valid"] for s in ("0", "1")]
    assert record["summary"]["test"] == {"mean": pytest.approx(np.mean(tests)), "std": pytest.approx(np.std(tests, ddof=1))}
    assert record["summary"]["valid"]["std"] == pytest.approx(np.std(valids, ddof=1))
    assert record["data"]["official"] is False and record["data"]["split"]["sizes"] == [272, 34, 34]
    assert record["features"]["features"] == "full" and record["features"]["scheme"]["name"] == "ogb"
    assert record["external_data"] == {"used": False, "description": None}
    assert record["versions"]["ogb"] and record["seeds"]["0"]["hardware"]
    params = record["num_parameters"]
    assert params["all_stages"] == params["model"] == params["model_without_reserved_rows"] + params["reserved_embedding_rows"]
    table = (out / "leaderboard.md").read_text()
    assert "| Rank | Method | Ext. data | Test ROC-AUC | Validation ROC-AUC | Contact | References | #Params | Hardware | Date |" in table
    test, valid = record["summary"]["test"], record["summary"]["valid"]
    assert f"| 1 | GIN-virtual | No | {test['mean']:.4f} ± {test['std']:.4f} | {valid['mean']:.4f} ± {valid['std']:.4f} |" in table
    assert "not a leaderboard result" in table


def test_recorded_numbers_equal_ogbs_evaluator(reference):
    record, out = reference
    evaluator = Evaluator(NAME)
    for part in ("valid", "test"):
        y_true = np.load(out / "predictions" / f"y_true_{part}.npy")
        assert y_true.shape == (34, 1)
        for seed in ("0", "1"):
            y_pred = np.load(out / "predictions" / f"seed{seed}_{part}.npy")
            theirs = evaluator.eval({"y_true": y_true, "y_pred": y_pred})["rocauc"]
            assert record["seeds"][seed][part] == theirs
            assert get_metric("rocauc").fn(y_true, y_pred) == theirs  # molssl's metric: the same number
            assert record["seeds"][seed]["history"][record["seeds"][seed]["best_epoch"] - 1][part] == theirs


def test_resume_after_kill_continues_with_missing_seeds(ogb_root, reference, tmp_path):
    out = tmp_path / "run"
    seen = []

    def killed_in_seed_1(record):
        seen.append((record["seed"], record["epoch"]))
        if record["seed"] == 1:
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        run_ogb(NAME, root=ogb_root, out=out, progress=killed_in_seed_1, **SMALL)
    partial = load_record(out)
    assert list(partial["seeds"]) == ["0"] and not partial["summary"]["complete"]
    assert "1 of 2 seeds finished (0)" in (out / "leaderboard.md").read_text()

    seen.clear()
    resumed = run_ogb(NAME, root=ogb_root, out=out, progress=lambda r: seen.append((r["seed"], r["epoch"])), **SMALL)
    assert seen == [(1, 1), (1, 2)]  # only the missing seed trained
    assert resumed["seeds"]["0"] == partial["seeds"]["0"]  # nothing lost or redone
    for seed in ("0", "1"):  # and deterministic: the same numbers as an uninterrupted run
        assert {k: v for k, v in resumed["seeds"][seed].items() if k not in ("seconds", "finished")} == {
            k: v for k, v in reference[0]["seeds"][seed].items() if k not in ("seconds", "finished")
        }
    assert resumed["summary"]["test"] == reference[0]["summary"]["test"]

    seen.clear()
    more = run_ogb(NAME, root=ogb_root, out=out, progress=lambda r: seen.append(r["seed"]), **{**SMALL, "seeds": 3})
    assert set(seen) == {2} and more["summary"]["finished_seeds"] == [0, 1, 2]


def test_other_configuration_in_the_same_folder_is_refused(ogb_root, reference):
    _, out = reference
    with pytest.raises(RecordMismatchError, match=r"differs in: config.*config\.epochs"):
        run_ogb(NAME, root=ogb_root, out=out, **{**SMALL, "epochs": 3})


def _checkpoint(tmp_path, scheme, extra):
    encoder = GNNEncoder(EncoderConfig(scheme=scheme, conv="gin", num_layers=2, emb_dim=16))
    save_encoder(encoder, tmp_path / f"enc-{scheme}", extra=extra)
    return tmp_path / f"enc-{scheme}"


def test_pretrained_encoder_declares_external_data_and_all_parameters(ogb_root, tmp_path):
    ckpt = _checkpoint(tmp_path, "ogb", {"external_data": "ZINC15 (2M molecules)", "num_parameters": 123_456})
    config = OgbRunConfig(dataset=NAME, init=str(ckpt), epochs=1, seeds=1)
    encoder, features, init = resolve_model(config)
    assert features == "full" and encoder.conv == "gin" and not encoder.virtual_node and encoder.dropout == 0.5
    record = run_ogb(config, root=ogb_root, out=tmp_path / "run", download=False)
    assert record["external_data"]["used"] and record["external_data"]["description"] == "ZINC15 (2M molecules)"
    assert record["method"] == "GIN (pre-trained on ZINC15 (2M molecules))"
    params = record["num_parameters"]
    assert params["all_stages"] == params["model"] + 123_456 - init.encoder_parameters
    assert "Yes (ZINC15 (2M molecules))" in (tmp_path / "run" / "leaderboard.md").read_text()
    with pytest.raises(ValueError, match=r"conv='gcn' \(checkpoint: 'gin'\)"):
        resolve_model(OgbRunConfig(dataset=NAME, init=str(ckpt), encoder="gcn-virtual"))


def test_pretrained_hu_encoder_gets_molssl_features_and_mismatches_are_errors(ogb_root, tmp_path):
    ckpt = _checkpoint(tmp_path, "hu", {})
    record = run_ogb(NAME, root=ogb_root, out=tmp_path / "run", init=str(ckpt), epochs=1, seeds=1, download=False)
    features = record["features"]
    assert features["features"] == "hu" and features["scheme"]["name"] == "hu"
    assert "mapping/mol.csv.gz featurized by molssl" in features["source"] and features["atom_count_mismatches"] == 0
    assert record["method"] == "GIN (pre-trained) (molssl hu features)"
    assert record["num_parameters"]["pretraining_stage_unknown"] and record["num_parameters"]["reserved_embedding_rows"] == 0
    with pytest.raises(SchemeMismatchError, match="scheme 'hu'"):
        resolve_model(OgbRunConfig(dataset=NAME, init=str(ckpt), features="full"))


def test_simple_features(ogb_root, tmp_path):
    record = run_ogb(NAME, root=ogb_root, out=tmp_path / "run", features="simple", encoder="gin", num_layers=2, emb_dim=8,
                     epochs=1, seeds=1, download=False)  # fmt: skip
    scheme = record["model"]["predictor"]["encoder"]["scheme"]
    assert scheme["name"] == "ogb-simple" and scheme["atom_vocab"] == [120, 6] and scheme["bond_vocab"] == [6, 7]
    assert record["method"] == "GIN (simple features)" and "first 2 atom and 2 bond" in record["features"]["source"]


def test_unrepresentable_molecule_is_scored_as_an_empty_graph(ogb_root, tmp_path):
    from molssl.chem.errors import FeaturizationError
    from molssl.ogb.features import build_graphs
    from molssl.ogb.layout import read_ogb_dataset
    from molssl.ogb.writer import write_ogb_dataset

    data = read_ogb_dataset(ogb_root, NAME)
    smiles = data.smiles()
    smiles[3] = "C$C"  # a quadruple bond: OGB's features hold it, the hu scheme cannot
    from molssl.chem.featurize import featurize_many

    write_ogb_dataset(tmp_path / "ogbg_molbbbp", featurize_many(smiles, scheme="ogb").graphs, data.labels, data.split, smiles, ["p_np"])
    changed = read_ogb_dataset(tmp_path, NAME, cache=False)
    graphs, info = build_graphs(changed, "hu")
    assert len(graphs) == len(smiles) and graphs.num_atoms[3] == 0 and graphs.num_atoms[4] == data.graphs.num_atoms[4]
    assert [s["index"] for s in info["unfeaturizable"]] == [3]
    with pytest.raises(FeaturizationError, match="QUADRUPLE"):
        build_graphs(changed, "hu", on_unfeaturizable="raise")


def test_regression_dataset_uses_rmse_in_original_units(tmp_path):
    table = load_moleculenet("esol")
    rows = np.arange(0, len(table), 4)
    subset = dataclasses.replace(table, smiles=[table.smiles[i] for i in rows], labels=table.labels[rows], rows=rows)
    build_ogb_dataset(subset, "ogbg-molesol", tmp_path)
    record = run_ogb("ogbg-molesol", root=tmp_path, out=tmp_path / "run", encoder="gcn", num_layers=2, emb_dim=8, epochs=1,
                     seeds=1, download=False, save_predictions=True)  # fmt: skip
    assert record["metric"] == "rmse" and "standardized" in record["protocol"]["training"]
    y_true = np.load(tmp_path / "run" / "predictions" / "y_true_test.npy")
    y_pred = np.load(tmp_path / "run" / "predictions" / "seed0_test.npy")
    assert record["seeds"]["0"]["test"] == Evaluator("ogbg-molesol").eval({"y_true": y_true, "y_pred": y_pred})["rmse"]
    assert record["seeds"]["0"]["evaluator_matches_protocol"] and 0.1 < record["seeds"]["0"]["test"] < 10
    history = record["seeds"]["0"]["history"]
    assert [(h["valid"], h["test"]) for h in history] == [(h["protocol_valid"], h["protocol_test"]) for h in history]  # exactly


def test_official_baseline_parameter_counts():
    # OGB's examples/graphproppred/mol GNN, one task, 5 x 300 with OGB 1.3.6's feature sizes (174 atom and
    # 13 bond embedding rows): GIN 52,200 + 5 x (366,001 + 600) + 301 = 1,885,506; the virtual node adds
    # 300 + 4 x 362,400. (The leaderboard's tables, 1,885,206 and 3,336,306, predate one atom feature value.)
    for name, expected in (("gin", 1_885_506), ("gin-virtual", 3_336_606), ("gcn", 528_001), ("gcn-virtual", 1_979_101)):
        encoder, features, _ = resolve_model(OgbRunConfig(dataset="ogbg-molhiv", encoder=name))
        model = PropertyModel(PredictorConfig(encoder=encoder, task_names=("HIV_active",)))
        counts = parameter_counts(model, features)
        assert counts["model_without_reserved_rows"] == expected
        assert counts["reserved_embedding_rows"] == (9 + 5 * 3) * 300


def test_bad_requests(ogb_root, tmp_path):
    with pytest.raises(ValueError, match="did you mean 'ogbg-molhiv'"):
        run_ogb("ogbg-molhiw", root=ogb_root)
    with pytest.raises(ValueError, match="unknown encoder 'gin-virtal'"):
        OgbRunConfig(dataset=NAME, encoder="gin-virtal")
    with pytest.raises(ValueError, match="unknown features 'fancy'"):
        OgbRunConfig(dataset=NAME, features="fancy")
    with pytest.raises(OgbLayoutError, match="ogbg_molhiv"):
        run_ogb("ogbg-molhiv", root=tmp_path, download=False, seeds=1, epochs=1)


@pytest.mark.gpu
@pytest.mark.skipif(not __import__("torch").cuda.is_available(), reason="needs a CUDA device; this machine has none")
def test_the_harness_trains_on_cuda(ogb_root, tmp_path):
    """On a GPU: batches follow the model there (no wrapper model), and the Evaluator's numbers match the protocol's."""
    record = run_ogb(NAME, root=ogb_root, out=tmp_path / "cuda", device="cuda", **{**SMALL, "seeds": 1})
    seed = record["seeds"]["0"]
    assert "GPU" in seed["hardware"] and seed["evaluator_matches_protocol"]


def test_seed_lists_and_defaults():
    assert OgbRunConfig(dataset="molhiv").seeds == tuple(range(10))
    assert OgbRunConfig(dataset="molhiv", seeds=[3, 7]).seeds == (3, 7)
    with pytest.raises(ValueError, match="distinct"):
        OgbRunConfig(dataset="molhiv", seeds=[1, 1])
    encoder, features, init = resolve_model(OgbRunConfig(dataset="molhiv"))
    assert (encoder.conv, encoder.virtual_node, encoder.num_layers, encoder.emb_dim, encoder.dropout, encoder.jk) == ("gin", True, 5, 300, 0.5, "last")
    assert features == "full" and init is None


def test_property_predictor_checkpoint_declares_its_training_labels(tmp_path):
    from molssl.tasks.predictor import PropertyPredictor

    encoder = EncoderConfig(scheme="ogb", conv="gcn", num_layers=2, emb_dim=8)
    predictor = PropertyPredictor(encoder=encoder)
    predictor.model_ = PropertyModel(PredictorConfig(encoder=encoder, task_names=("y",)))
    predictor.info_ = {"source": "tox21.csv"}
    predictor.save(tmp_path / "model")
    encoder_config, features, init = resolve_model(OgbRunConfig(dataset=NAME, init=str(tmp_path / "model")))
    assert encoder_config.conv == "gcn" and features == "full" and init.kind == "property_predictor"
    assert declared_external_data(init, None)["description"] == "labels of tox21.csv"
    assert declared_external_data(init, "PubChem")["description"] == "PubChem"


def test_nothing_is_unpickled(ogb_copy, tmp_path, monkeypatch):
    """OGB's PygGraphPropPredDataset needs torch.load of a pickle; the harness reads CSV and .npy only."""
    import pickle

    import torch

    def refuse(*args, **kwargs):
        raise AssertionError("unpickling attempted")

    for module, name in ((torch, "load"), (pickle, "load"), (pickle, "loads")):
        monkeypatch.setattr(module, name, refuse)
    for _ in range(2):  # parse, then from the .npy cache
        record = run_ogb(NAME, root=ogb_copy, out=tmp_path / "run", encoder="gcn", num_layers=2, emb_dim=8, epochs=1,
                         seeds=1, download=False)  # fmt: skip
    assert record["summary"]["complete"]


def test_third_party_rebuild_is_not_recorded_as_official(bbbp_subset, tmp_path):
    """A copy without molssl_build.json whose graph count is not the release's is unofficial, in record and table."""
    from molssl.chem.featurize import featurize_many
    from molssl.data.splits import scaffold_split
    from molssl.ogb.writer import write_ogb_dataset

    graphs = featurize_many(bbbp_subset.smiles, scheme="ogb").graphs
    write_ogb_dataset(tmp_path / "ogbg_molhiv", graphs, bbbp_subset.labels, scaffold_split(bbbp_subset.smiles), bbbp_subset.smiles,
                      ["HIV_active"])  # fmt: skip
    record = run_ogb("ogbg-molhiv", root=tmp_path, out=tmp_path / "run", encoder="gin", num_layers=1, emb_dim=8, epochs=1, seeds=1,
                     download=False)  # fmt: skip
    data = record["data"]
    assert data["official"] is False and data["provenance"] is None
    assert data["not_official_because"] == ["340 graphs, but the official ogbg-molhiv release has 41,127"]
    table = (tmp_path / "run" / "leaderboard.md").read_text()
    assert "not verified as the official OGB release (340 graphs, but the official ogbg-molhiv release has 41,127): not a leaderboard result" in table


def test_protocol_equals_the_evaluator_exactly_when_outputs_saturate(ogb_root, tmp_path, recwarn):
    """A large learning rate drives logits past where float32 probabilities round to 0 or 1 (ties the logits do not have):
    molssl's protocol must still score exactly what OGB's Evaluator scores, epoch by epoch."""
    record = run_ogb(NAME, root=ogb_root, out=tmp_path / "run", encoder="gin", num_layers=2, emb_dim=16, epochs=3, seeds=2, lr=1.0,
                     download=False)  # fmt: skip
    for seed in record["seeds"].values():
        for h in seed["history"]:
            assert (h["protocol_valid"], h["protocol_test"]) == (h["valid"], h["test"]), (seed["seed"], h["epoch"])
        assert seed["evaluator_matches_protocol"]
        assert (seed["protocol"]["best_epoch"], seed["protocol"]["valid"], seed["protocol"]["test"]) == (seed["best_epoch"], seed["valid"], seed["test"])
    assert record["summary"]["evaluator_matches_protocol"]
    assert "differs from the Evaluator" not in (tmp_path / "run" / "leaderboard.md").read_text()
    assert not [w for w in recwarn if "overflow" in str(w.message)]


def test_a_record_without_finished_seeds_blocks_no_retry(ogb_root, tmp_path):
    out = tmp_path / "run"

    def stop(record):
        raise KeyboardInterrupt("stopped in the first epoch")

    with pytest.raises(KeyboardInterrupt):
        run_ogb(NAME, root=ogb_root, out=out, progress=stop, **SMALL)
    assert load_record(out)["seeds"] == {}
    retried = run_ogb(NAME, root=ogb_root, out=out, device="cpu", **{**SMALL, "epochs": 1, "seeds": 1})
    assert retried["config"]["epochs"] == 1 and retried["summary"]["finished_seeds"] == [0]

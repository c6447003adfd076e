"""The fine-tuning protocol's device plumbing and parallel seeds, on real BBBP molecules (tiny models)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import torch
from torch_geometric.data.data import BaseData

from molssl.chem.featurize import featurize_many
from molssl.chem.schemes import get_spec
from molssl.data.splits_registry import get_splitter
from molssl.eval.metrics import get_metric
from molssl.nn.encoder import EncoderConfig
from molssl.tasks.finetune import FinetuneConfig, finetune
from molssl.tasks.predict_graphs import predict_graphs, resolve_device
from molssl.tasks.model import ModelFactory, PredictorConfig, PropertyModel
from tests.conftest import MOLECULENET


@pytest.fixture(scope="module")
def bbbp():
    """160 BBBP molecules, their labels and a scaffold split."""
    frame = pd.read_csv(MOLECULENET / "bbbp.csv").iloc[:160]
    result = featurize_many(frame["smiles"].tolist(), scheme="hu", on_error="skip")
    labels = frame["p_np"].to_numpy(dtype=np.float32)[result.indices][:, None]
    smiles = [frame["smiles"].iloc[i] for i in result.indices.tolist()]
    split = tuple(get_splitter("scaffold")(smiles, frac_train=0.8, frac_valid=0.1, frac_test=0.1))
    config = PredictorConfig(encoder=EncoderConfig(scheme=get_spec("hu"), num_layers=2, emb_dim=16, dropout=0.5),
                             task_type="classification", task_names=("p_np",))  # fmt: skip
    return result.graphs, labels, split, ModelFactory(config)


def test_batches_follow_the_models_device(bbbp, monkeypatch):
    """Every training and evaluation batch is moved to the model's device (recorded on the CPU)."""
    graphs, labels, split, make_model = bbbp
    moves: list[torch.device] = []
    original = BaseData.to  # a batch's .to

    def recording_to(self, device, *args, **kwargs):
        moves.append(torch.device(device))
        return original(self, device, *args, **kwargs)

    monkeypatch.setattr(BaseData, "to", recording_to)
    config = FinetuneConfig(epochs=1, batch_size=32, seeds=(0,), eval_batch_size=64)
    finetune(make_model, graphs, labels, split, config, device="cpu")
    train_batches = -(-len(split[0]) // 32)
    eval_batches = -(-(len(split[1]) + len(split[2])) // 64)  # valid and test scored in one pass
    assert len(moves) == train_batches + eval_batches
    assert set(moves) == {torch.device("cpu")}


def test_predict_graphs_returns_cpu_outputs_in_order(bbbp):
    graphs, _, _, make_model = bbbp
    model = make_model().eval()
    idx = np.array([5, 0, 17])
    together = predict_graphs(model, graphs, idx, batch_size=2)
    one_by_one = np.concatenate([predict_graphs(model, graphs, idx[[i]]) for i in range(3)])
    assert together.shape == (3, 1) and np.allclose(together, one_by_one, atol=1e-5)


def test_resolve_device():
    assert resolve_device("cpu") == torch.device("cpu")
    assert resolve_device("auto") == torch.device("cuda" if torch.cuda.is_available() else "cpu")
    with pytest.raises(ValueError, match="unknown device 'gpu0'"):
        resolve_device("gpu0")
    if not torch.cuda.is_available():
        with pytest.raises(ValueError, match="no CUDA device"):
            resolve_device("cuda:0")


def test_parallel_seeds_equal_sequential(bbbp):
    """jobs=2 (spawned workers, 1 thread each) gives exactly the sequential run's numbers and weights."""
    graphs, labels, split, make_model = bbbp
    config = FinetuneConfig(epochs=2, batch_size=32, seeds=(0, 1, 2))
    assert torch.get_num_threads() == 1  # tests/conftest.py: the sequential run uses one thread too
    seen: list[tuple[int, int]] = []
    sequential, _ = finetune(make_model, graphs, labels, split, config)
    parallel, _ = finetune(make_model, graphs, labels, split, config, jobs=2, threads=1,
                           progress=lambda r: seen.append((r["seed"], r["epoch"])))  # fmt: skip
    assert sorted(seen) == [(s, e) for s in (0, 1, 2) for e in (1, 2)]  # every epoch reported in this process
    assert [s.seed for s in parallel.seeds] == [0, 1, 2]
    for a, b in zip(sequential.seeds, parallel.seeds):
        assert a.history == b.history
    assert parallel.best_seed == sequential.best_seed
    for key, value in sequential.best_state.items():
        assert torch.equal(value, parallel.best_state[key]), key
    assert len({s.test_at_last for s in sequential.seeds}) > 1  # the seeds really differ


def test_parallel_seeds_need_a_picklable_model_factory(bbbp):
    graphs, labels, split, make_model = bbbp

    def closure() -> PropertyModel:
        return make_model()

    with pytest.raises(ValueError, match="picklable make_model"):
        finetune(closure, graphs, labels, split, FinetuneConfig(epochs=1, seeds=(0, 1)), jobs=2)


@pytest.mark.gpu
@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device; this machine has none")
def test_finetune_on_cuda_matches_the_cpu_run(bbbp):
    """On a GPU: the model trains there, batches follow it, and the result is close to the CPU run's."""
    graphs, labels, split, make_model = bbbp
    config = FinetuneConfig(epochs=2, batch_size=32, seeds=(0,))
    cpu, _ = finetune(make_model, graphs, labels, split, config, device="cpu")
    gpu, _ = finetune(make_model, graphs, labels, split, config, device="cuda")
    assert all(t.device.type == "cpu" for t in gpu.best_state.values())  # best weights come back to the CPU
    assert gpu.seeds[0].history[0]["loss"] == pytest.approx(cpu.seeds[0].history[0]["loss"], rel=1e-3)


def test_activation_checkpointing_gives_the_same_fine_tuning(bbbp):
    """Dropout 0.5 replayed in every recomputed layer: the same epochs, scores and weights to float tolerance."""
    graphs, labels, split, make_model = bbbp
    plain, _ = finetune(make_model, graphs, labels, split, FinetuneConfig(epochs=2, batch_size=32, seeds=(0,)))
    config = FinetuneConfig(epochs=2, batch_size=32, seeds=(0,), activation_checkpointing=True)
    checkpointed, _ = finetune(make_model, graphs, labels, split, config)
    for a, b in zip(plain.seeds[0].history, checkpointed.seeds[0].history):
        assert a["epoch"] == b["epoch"] and a["loss"] == pytest.approx(b["loss"], rel=1e-5)
        assert a["valid"] == pytest.approx(b["valid"], abs=1e-6) and a["test"] == pytest.approx(b["test"], abs=1e-6)
    for key, value in plain.best_state.items():
        torch.testing.assert_close(checkpointed.best_state[key], value, rtol=1e-5, atol=1e-6, msg=key)
    with pytest.raises(ValueError, match="activation_checkpointing must be a bool"):
        FinetuneConfig(activation_checkpointing="yes")


def test_on_epoch_gets_the_trained_model_and_the_epochs_record(bbbp):
    graphs, labels, split, make_model = bbbp
    seen: list[tuple[dict, float, dict]] = []
    progress: list[dict] = []

    def on_epoch(model, record):
        assert not model.training  # scored in eval mode, as the protocol scores
        valid = get_metric("roc_auc").fn(labels[split[1]], predict_graphs(model, graphs, split[1]))
        seen.append((record, valid, {k: v.clone() for k, v in model.state_dict().items()}))

    config = FinetuneConfig(epochs=3, batch_size=32, seeds=(0, 1))
    outcome, _ = finetune(make_model, graphs, labels, split, config, progress.append, on_epoch=on_epoch)
    assert [r["epoch"] for r, _, _ in seen] == [1, 2, 3, 1, 2, 3] and [r for r, _, _ in seen] == progress
    # the hook's own scoring of the model it was handed is the protocol's valid score of that epoch
    assert [v for _, v, _ in seen] == pytest.approx([r["valid"] for r, _, _ in seen], abs=1e-6)
    # and the weights it saw at the best seed's best epoch are the weights finetune returns
    best = outcome.seeds[[s.seed for s in outcome.seeds].index(outcome.best_seed)]
    state = seen[3 * [0, 1].index(outcome.best_seed) + best.best_epoch - 1][2]
    assert state.keys() == outcome.best_state.keys() and all(torch.equal(state[k], outcome.best_state[k]) for k in state)


def test_on_epoch_with_seeds_in_worker_processes_is_refused(bbbp):
    graphs, labels, split, make_model = bbbp
    with pytest.raises(ValueError, match="on_epoch needs the model in this process.*jobs=1"):
        finetune(make_model, graphs, labels, split, FinetuneConfig(epochs=1, seeds=(0, 1)), on_epoch=lambda m, r: None, jobs=2)

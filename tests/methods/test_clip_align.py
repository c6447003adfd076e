"""Cross-modal alignment on the shared loop: its loss is CLIP's over every pair, it trains from Python and the CLI,
resumes bitwise, lowers its loss on real molecules, and each aligned encoder fine-tunes through PropertyPredictor."""

from __future__ import annotations

import json
from itertools import combinations

import pytest
import torch

from molssl.methods import get_method
from molssl.methods.clip_align import CrossModalAlignment, CrossModalAlignmentConfig
from molssl.multimodal.encoder import MultimodalEncoderConfig
from molssl.multimodal.retrieval import cross_modal_retrieval, embed_source
from molssl.checkpoint import CheckpointError
from molssl.nn.pretrained import checkpoint_in, load_encoder, load_encoder_state
from molssl.peft import state_sha256
from molssl.pretrain import DataConfig, RunConfig, TrainConfig, pretrain
from molssl.ssl.losses import cross_modal_info_nce
from molssl.tasks.embedding import load_embedder
from molssl.tasks.predictor import PropertyPredictor
from tests.conftest import moleculenet_head
from tests.multimodal.conftest import open_built, write_corpus  # noqa: F401  (open_built: the fixture)
from tests.text.conftest import moses_slice

SMALL = {"graph.num_layers": 2, "graph.emb_dim": 32, "smiles.dim": 32, "smiles.depth": 1, "smiles.heads": 2,
         "image.width": 4, "image.blocks": [1, 1, 1, 1]}  # fmt: skip


@pytest.fixture(scope="module")
def corpus(tmp_path_factory):
    return write_corpus(tmp_path_factory.mktemp("clip") / "molecules.smi", n_moses=96)


def _method(source, **options) -> CrossModalAlignment:
    modalities = options.setdefault("modalities", source.modalities)
    encoder = {k: v for k, v in SMALL.items() if k.split(".")[0] in modalities}
    torch.manual_seed(0)
    return CrossModalAlignment(MultimodalEncoderConfig.from_dict({**source.encoder_options(), **encoder}),
                               CrossModalAlignmentConfig(projection_dim=16, **options))  # fmt: skip


def test_config_checks_its_options():
    assert CrossModalAlignmentConfig.from_dict({"modalities": "graph,smiles,image"}).modalities == ("graph", "smiles", "image")
    assert get_method("clip_align") is CrossModalAlignment
    with pytest.raises(ValueError, match="at least 2"):
        CrossModalAlignmentConfig(modalities=("graph",))
    with pytest.raises(ValueError, match="image_objective_weight"):
        CrossModalAlignmentConfig(modalities=("graph", "smiles"), image_objective_weight=1.0)
    with pytest.raises(ValueError, match="max_logit_scale"):
        CrossModalAlignmentConfig(temperature=0.001)


def test_loss_is_the_mean_of_clips_loss_over_every_pair(corpus, open_built):
    source = open_built(corpus[0], ("graph", "smiles", "image"))
    method = _method(source).eval()  # no dropout: the two passes below see the same network
    batch = source.batch(torch.arange(12), torch.Generator())
    out = method(batch, torch.Generator())
    z = method.embed(batch)
    scale = 1 / 0.07
    expected = [cross_modal_info_nce(z[a], z[b], scale) for a, b in combinations(("graph", "smiles", "image"), 2)]
    assert out.loss.item() == pytest.approx(torch.stack(expected).mean().item(), rel=1e-5)
    assert out.metrics["graph_image_loss"].item() == pytest.approx(expected[1].item(), rel=1e-5)
    assert out.embeddings.shape == (12, 16) and isinstance(method.log_logit_scale, torch.nn.Parameter)
    fixed = _method(source, learn_temperature=False, temperature=0.2)
    assert "log_logit_scale" not in dict(fixed.named_parameters()) and fixed.logit_scale().item() == pytest.approx(5.0)


def test_own_objectives_share_the_aligned_encoders(corpus, open_built):
    source = open_built(corpus[0], ("graph", "smiles"))
    method = _method(source, graph_objective_weight=0.5, smiles_objective_weight=0.25)
    method.encoder.encoders["smiles"].eval()  # no dropout: the loss is checked against the logged parts
    assert method.objectives["graph"].encoder is method.encoder.encoders["graph"]
    assert not [k for k in method.state_dict() if k.startswith("objectives.") and ".encoder." in k]  # weights saved once
    batch = source.batch(torch.arange(12), torch.Generator())
    out = method(batch, torch.Generator().manual_seed(1))
    alone = method.config.alignment_weight * (out.metrics["graph_smiles_loss"])
    own = 0.5 * out.metrics["graph_attr_masking_loss"] + 0.25 * out.metrics["smiles_mlm_loss"]
    assert out.loss.item() == pytest.approx((alone + own).item(), rel=1e-5)
    out.loss.backward()
    assert method.objectives["graph"].atom_head.weight.grad is not None
    assert method.objectives["smiles"].head[0].weight.grad is not None


def test_mae_on_a_vit_depiction_encoder_joins_the_alignment_of_three(corpus, open_built):
    """The image's own objective (MAE, Masked Autoencoders, He et al. 2022) runs on the aligned ViT itself, weighted."""
    source = open_built(corpus[0], ("graph", "smiles", "image"))
    vit = {"image.kind": "vit", "image.image_size": 32, "image.patch_size": 8, "image.dim": 32, "image.depth": 1,
           "image.heads": 2}  # fmt: skip
    encoder = {**source.encoder_options(), **{k: v for k, v in SMALL.items() if not k.startswith("image.")}, **vit}
    torch.manual_seed(0)
    method = CrossModalAlignment(MultimodalEncoderConfig.from_dict(encoder),
                                 CrossModalAlignmentConfig(projection_dim=16, image_objective_weight=0.5,
                                                           modalities=("graph", "smiles", "image")))  # fmt: skip
    mae = method.objectives["image"]
    assert mae.encoder is method.encoder.encoders["image"] and type(mae.encoder).__name__ == "ViT"
    out = method(source.batch(torch.arange(12), torch.Generator()), torch.Generator().manual_seed(1))
    pairs = [out.metrics[f"{a}_{b}_loss"] for a, b in combinations(("graph", "smiles", "image"), 2)]
    assert out.loss.item() == pytest.approx((torch.stack(pairs).mean() + 0.5 * out.metrics["image_mae_loss"]).item(), rel=1e-5)
    out.loss.backward()
    own = dict(mae.named_parameters())  # the decoder's (the encoder is the aligned one, not registered twice)
    assert own and all(p.grad is not None for p in own.values())
    assert method.encoder.encoders["image"].patch_embed.weight.grad is not None


def _config(corpus, steps=8, **options) -> RunConfig:
    method_config = {"modalities": "graph,smiles", "projection_dim": 16, "smiles_objective_weight": 0.5, **options}
    modalities = method_config["modalities"].split(",")
    return RunConfig(method="clip_align", method_config=method_config,
                     encoder={k: v for k, v in SMALL.items() if k.split(".")[0] in modalities},
                     data=DataConfig(path=str(corpus), options={"smiles_form": "randomized", "depict_size": 32}),
                     train=TrainConfig(device="cpu", progress=False, steps=steps, batch_size=16, lr=2e-3, log_every=2,
                                       checkpoint_every=4))  # fmt: skip


def test_resume_is_exact_and_each_encoder_fine_tunes(corpus, tmp_path, monkeypatch):
    monkeypatch.setenv("MOLSSL_CACHE", str(tmp_path / "cache"))
    config = _config(corpus[0])
    full = pretrain(config, out=tmp_path / "full")

    def interrupt(row):
        if row["step"] == 6:
            raise KeyboardInterrupt("simulated kill")

    with pytest.raises(KeyboardInterrupt):
        pretrain(config, out=tmp_path / "cut", on_log=interrupt)
    resumed = pretrain(config, out=tmp_path / "cut", resume=True)
    strip = lambda rows: [{k: v for k, v in r.items() if not k.endswith("_per_s")} for r in rows]  # noqa: E731
    assert strip(full.metrics) == strip(resumed.metrics)
    for modality in ("graph", "smiles"):
        a = load_encoder(tmp_path / "full" / "encoders" / modality).state_dict()
        b = load_encoder(tmp_path / "cut" / "encoders" / modality).state_dict()
        assert a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a)
    recorded = json.loads((tmp_path / "full" / "encoders" / "smiles" / "config.json").read_text())["config"]
    assert recorded["encoder_kind"] == "smiles_transformer" and recorded["preprocessing"]["max_length"] == 128
    data = moleculenet_head("bbbp", 200, tmp_path)
    graph = PropertyPredictor(device="cpu").fit(data, pretrained=tmp_path / "full" / "encoders" / "graph", epochs=1, seeds=(0,))
    assert graph.model_.config.encoder.emb_dim == 32 and graph.info_["pretrained_sha256"]
    text = PropertyPredictor(encoder="smiles_transformer", device="cpu").fit(
        data, pretrained=tmp_path / "full" / "encoders" / "smiles", epochs=1, seeds=(0,))
    assert text.model_.config.encoder.dim == 32
    # the run folder (or its multimodal encoder/) stands for its encoder of the kind fine-tuned: same weights
    from_run = PropertyPredictor(device="cpu").fit(data, pretrained=tmp_path / "full", epochs=1, seeds=(0,))
    assert from_run.info_["pretrained"] == str(tmp_path / "full" / "encoders" / "graph")
    assert from_run.info_["pretrained_sha256"] == graph.info_["pretrained_sha256"]
    from molssl.cli.main import main

    code = main(["finetune", str(data), "--encoder", "smiles_transformer", "--pretrained", str(tmp_path / "full" / "encoder"),
                 "--out", str(tmp_path / "ft"), "--epochs", "1", "--device", "cpu", "--no-progress"])  # fmt: skip
    info = json.loads((tmp_path / "ft" / "metrics.json").read_text())["info"]
    assert code == 0 and info["pretrained"] == str(tmp_path / "full" / "encoders" / "smiles")
    assert info["pretrained_sha256"] == text.info_["pretrained_sha256"]
    with pytest.raises(CheckpointError, match=r"multimodal .*encoders/graph \(gnn\), .*encoders/smiles \(smiles_transformer\)"):
        checkpoint_in(tmp_path / "full", "resnet")  # no depiction encoder in a graph+SMILES run
    with pytest.raises(CheckpointError, match="multimodal .*; embed with one of them"):
        load_embedder(tmp_path / "full")  # which modality's embedding is meant is the caller's choice


def test_three_modalities_from_the_cli(corpus, tmp_path, monkeypatch, capsys):
    from molssl.cli.main import main

    monkeypatch.setenv("MOLSSL_CACHE", str(tmp_path / "cache"))
    run = tmp_path / "run"
    options = [arg for k, v in SMALL.items() for arg in ("--encoder-option", f"{k}={json.dumps(v)}")]
    code = main(["pretrain", "--method", "clip_align", "-o", "modalities=graph,smiles,image", "-o", "projection_dim=16",
                 "--data", str(corpus[0]), "--data-option", "depict_size=32", "--out", str(run), "--steps", "4",
                 "--batch-size", "16", "--log-every", "2", "--checkpoint-every", "2", "--device", "cpu", "--no-progress",
                 *options])  # fmt: skip
    assert code == 0
    rows = [json.loads(line) for line in (run / "metrics.jsonl").read_text().splitlines()]
    assert {"graph_smiles_loss", "graph_image_loss", "smiles_image_loss", "logit_scale"} <= set(rows[-1])
    assert sorted(p.name for p in (run / "encoders").iterdir()) == ["graph", "image", "smiles"]
    source = json.loads((run / "config.json").read_text())["source"]
    assert source["unrepresentable"]["graph"]["count"] == 2 and source["modalities"] == ["graph", "smiles", "image"]
    assert type(load_encoder(run / "encoders" / "image")).__name__ == "ResNet"
    closing = capsys.readouterr().out.splitlines()[-1]  # how to fine-tune each part
    assert f"--pretrained {run / 'encoders' / 'graph'}," in closing
    assert f"--pretrained {run / 'encoders' / 'smiles'} --encoder smiles_transformer" in closing
    assert f"--pretrained {run / 'encoders' / 'image'} --encoder resnet" in closing
    # the aligned ResNet fine-tunes through PropertyPredictor on depictions drawn and normalized as it records
    data = moleculenet_head("bbbp", 200, tmp_path)
    image = PropertyPredictor(encoder="resnet", device="cpu").fit(data, pretrained=run, epochs=1, seeds=(0,), batch_size=64)
    weights = load_encoder_state(run / "encoders" / "image")[1]
    assert image.info_["pretrained"] == str(run / "encoders" / "image")
    assert image.info_["pretrained_sha256"] == state_sha256(weights) and image.info_["preprocessing"]["image_size"] == [32, 32]
    image.save(tmp_path / "image-model")
    molecules = ["CCO", "c1ccccc1O", "C1CC"]
    again = PropertyPredictor.load(tmp_path / "image-model", device="cpu").predict(molecules)
    assert again["p_np"].equals(image.predict(molecules)["p_np"]) and again["error"][2]
    code = main(["finetune", str(data), "--encoder", "resnet", "--pretrained", str(run), "--out", str(tmp_path / "ft"),
                 "--epochs", "1", "--batch-size", "64", "--device", "cpu", "--no-progress"])  # fmt: skip
    assert code == 0 and json.loads((tmp_path / "ft" / "metrics.json").read_text())["info"]["pretrained"].endswith("image")
    capsys.readouterr()
    code = main(["finetune", str(data), "--pretrained", str(run / "encoders" / "image"), "--out", str(tmp_path / "ft-gin"),
                 "--epochs", "1", "--device", "cpu", "--no-progress"])  # fmt: skip
    assert code != 0 and "holds a 'resnet' encoder, not a graph encoder" in capsys.readouterr().err
    with pytest.raises(ValueError, match="pretrained image encoder|an image encoder checkpoint"):
        PropertyPredictor(encoder="resnet", device="cpu").fit(data, epochs=1)


def _rank_step(rank: int, world_size: int, init: str, encoder: dict, options: dict, state: dict, batches: list,
               out: str) -> None:
    """One rank of ``test_ddp_gathers_negatives_and_gives_the_whole_batchs_gradient``: the method wrapped in DDP as
    the trainer wraps it, forward and backward on this rank's half of the batch, with and without gather."""
    import torch.distributed as dist
    from torch.nn.parallel import DistributedDataParallel

    torch.set_num_threads(1)
    dist.init_process_group("gloo", init_method=init, rank=rank, world_size=world_size)
    try:
        results = {}
        for gather in (True, False):
            method = CrossModalAlignment(MultimodalEncoderConfig.from_dict(encoder),
                                         CrossModalAlignmentConfig.from_dict({**options, "gather": gather}))  # fmt: skip
            method.load_state_dict(state)
            net = DistributedDataParallel(method.eval())  # eval: no dropout, BatchNorm's running statistics on every rank
            loss = net(batches[rank], torch.Generator()).loss
            loss.backward()
            results[gather] = {"loss": loss.detach(), "grads": {n: p.grad.clone() for n, p in method.named_parameters()}}
            del net, loss  # DDP's reducer goes while its process group lives (freed after destroy, it hung a rank once)
        torch.save(results, f"{out}.{rank}")
        dist.barrier()  # neither rank tears its group down while the other still talks to it
    finally:
        dist.destroy_process_group()


def test_ddp_gathers_negatives_and_gives_the_whole_batchs_gradient(corpus, open_built, tmp_path):
    """2 gloo ranks (DDP, as the trainer wraps the method), each with half of 16 molecules in graph, SMILES and image:
    with gather, the ranks' mean loss and DDP's averaged gradient of every parameter (encoders, projection heads,
    temperature) are those of one process on all 16; without it each rank contrasts only its 8 (a lower loss, other
    gradients). The same run through torchrun and the CLI is the slow test below."""
    import torch.multiprocessing as mp

    source = open_built(corpus[0], ("graph", "smiles", "image"))
    method = _method(source).eval()
    whole = source.batch(torch.arange(16), torch.Generator())
    halves = [source.batch(torch.arange(8 * r, 8 * r + 8), torch.Generator()) for r in range(2)]
    loss = method(whole, torch.Generator()).loss
    loss.backward()
    grads = {n: p.grad for n, p in method.named_parameters()}
    encoder = method.encoder.config.to_dict()
    # forked, not spawned: the ranks inherit this process's imports (spawning re-imports torch, PyG and RDKit in each,
    # most of the test's time); each rank uses one thread, as DataLoader's forked workers do
    mp.start_processes(_rank_step, args=(2, f"file://{tmp_path / 'rendezvous'}", encoder, method.config.to_dict(),
                                         method.state_dict(), halves, str(tmp_path / "out")),
                       nprocs=2, join=True, start_method="fork")  # fmt: skip
    ranks = [torch.load(tmp_path / f"out.{r}") for r in range(2)]
    gathered, alone = [[r[g] for r in ranks] for g in (True, False)]
    assert torch.stack([r["loss"] for r in gathered]).mean().item() == pytest.approx(loss.item(), rel=1e-5)
    for name, grad in grads.items():
        for r in gathered:
            assert torch.allclose(r["grads"][name], grad, rtol=1e-3, atol=1e-6), name
    assert {n.split(".")[2] for n in grads if n.startswith("encoder.")} == {"graph", "smiles", "image"}
    assert all(grads[n].abs().sum() > 0 for n in ("log_logit_scale", "projections.image.mlp.0.weight"))
    alone_loss = torch.stack([r["loss"] for r in alone]).mean().item()
    assert alone_loss < loss.item() - 0.3, (alone_loss, loss.item())  # about ln 8 against ln 16 at the start
    assert not torch.allclose(alone[0]["grads"]["log_logit_scale"], grads["log_logit_scale"], rtol=1e-2)


@pytest.mark.slow
def test_two_ranks_contrast_against_the_global_batch(corpus, tmp_path):
    """torchrun, 2 CPU processes (gloo), the CLI and the loop end to end: with gather, each rank's negatives are the
    whole global batch, so the losses are those of one process on the same batches (within per-rank dropout/BatchNorm
    noise); without it a rank contrasts only its half batch and the loss starts far lower (fewer negatives); the
    closing line is printed once. Five launches (2.5-4 minutes on a loaded 2-core machine): slow; the default run
    checks the same gather and DDP gradient exactly (test_ddp_gathers_negatives_and_gives_the_whole_batchs_gradient)."""
    import os
    import subprocess
    import sys

    env = {**os.environ, "OMP_NUM_THREADS": "1", "MOLSSL_CACHE": str(tmp_path / "cache")}
    options = [arg for k, v in SMALL.items() if k.split(".")[0] != "image" for arg in ("--encoder-option", f"{k}={json.dumps(v)}")]

    def losses(name: str, nproc: int, *extra: str) -> list[float]:
        launcher = [sys.executable, "-m", "torch.distributed.run", "--standalone", f"--nproc-per-node={nproc}"] if nproc > 1 else [sys.executable]
        done = subprocess.run([*launcher, "-m", "molssl", "pretrain", "--method", "clip_align", "-o", "modalities=graph,smiles",
                               "-o", "projection_dim=16", *extra, "--data", str(corpus[0]), "--out", str(tmp_path / name),
                               "--steps", "3", "--batch-size", "32", "--log-every", "1", "--device", "cpu", "--no-progress", *options],
                              env=env, capture_output=True, text=True, timeout=300)  # fmt: skip
        assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-4000:]
        assert done.stdout.count("encoders/graph") == 1  # one summary, from rank 0
        return [json.loads(line)["loss"] for line in (tmp_path / name / "metrics.jsonl").read_text().splitlines()]

    one, two, alone = losses("one", 1), losses("two", 2), losses("alone", 2, "-o", "gather=false")
    assert json.loads((tmp_path / "two" / "config.json").read_text())["world_size"] == 2
    assert all(abs(a - b) / a < 0.05 for a, b in zip(one, two)), (one, two)
    assert alone[0] < 0.85 * one[0], (one, alone)


@pytest.mark.slow
def test_alignment_lowers_the_loss_and_beats_chance_on_moses(tmp_path, monkeypatch):
    """Real molecules: 300 steps of graph+SMILES on 2,048 embedded MOSES molecules; held-out retrieval above chance."""
    from molssl.multimodal.source import open_multimodal_source

    monkeypatch.setenv("MOLSSL_CACHE", str(tmp_path / "cache"))
    smiles = moses_slice(2304)
    (tmp_path / "train.smi").write_text("SMILES\n" + "\n".join(smiles[:2048]) + "\n")
    (tmp_path / "held.smi").write_text("SMILES\n" + "\n".join(smiles[2048:]) + "\n")
    config = _config(tmp_path / "train.smi", steps=300, smiles_objective_weight=0.0)
    result = pretrain(config, out=tmp_path / "run")
    losses = [r["loss"] for r in result.metrics]
    assert sum(losses[-10:]) / 10 < 0.6 * sum(losses[:5]) / 5, losses
    held = open_multimodal_source(tmp_path / "held.smi").with_modalities(("graph", "smiles"))
    before = cross_modal_retrieval(embed_source(_method(held), held))
    method = CrossModalAlignment.from_run(tmp_path / "run")
    after = cross_modal_retrieval(embed_source(method, held))
    assert after["graph->smiles/recall@1"] > 5 * after["chance/recall@1"], (before, after)
    assert after["graph->smiles/mean_rank"] < before["graph->smiles/mean_rank"]

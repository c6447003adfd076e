"""The per-atom inference path for a handful of molecules: bitwise equal to the plain forward on real and awkward
molecules, the cached self-loop rows follow the weights, and it steps aside wherever it would not compute the same."""

from __future__ import annotations

import dataclasses

import pytest
import torch

import molssl
from molssl.graph.batch import to_batch
from molssl.nn import EncoderConfig, GNNEncoder, get_readout
from molssl.nn.colour_class_inference import MIN_ATOMS
from molssl.nn.onednn import use_onednn_linears
from molssl.nn.small_batch_inference import embed_small_batch
from tests.conftest import AWKWARD, moleculenet_smiles
from tests.nn.test_encoder import warmed_up

SMALL = {"num_layers": 3, "emb_dim": 16}


def batch_of(smiles: list[str]):
    return to_batch(molssl.featurize_many(smiles, scheme="hu", on_error="skip").graphs)


def plain(encoder, pool, batch) -> torch.Tensor:
    return pool(encoder(batch), batch.batch, batch.num_graphs, batch.ptr)


@pytest.mark.parametrize("readout", ["mean", "sum"])
def test_bitwise_equal_to_the_plain_forward_one_molecule_at_a_time(readout):
    """Every awkward molecule the scheme represents (charged, stereo, single atoms, salts, metals, wildcards,
    isotopes) and real BBBP molecules, alone and in small groups, with BatchNorm statistics that are not the identity."""
    warm = batch_of(moleculenet_smiles("bbbp", 40))
    encoder = use_onednn_linears(warmed_up(EncoderConfig(scheme="hu", **SMALL), warm))
    pool = get_readout(readout)(encoder.out_dim).eval()
    singles = [[s] for s in AWKWARD + moleculenet_smiles("bbbp", 20)]
    groups = [moleculenet_smiles("bbbp", 60)[i : i + 3] for i in range(0, 60, 3)] + [["CCO", "[Na+].[Cl-]", "c1ccccc1"]]
    checked = 0
    with torch.inference_mode():
        for smiles in singles + groups:
            batch = batch_of(smiles)
            if batch.num_graphs == 0 or batch.num_nodes >= MIN_ATOMS:
                continue
            got = embed_small_batch(encoder, pool, batch)
            assert got is not None, smiles
            assert torch.equal(got, plain(encoder, pool, batch)), smiles
            checked += 1
    assert checked > 80


def test_the_default_gin_bitwise_under_no_grad_too():
    batch = batch_of(moleculenet_smiles("bbbp", 3))
    assert batch.num_nodes < MIN_ATOMS
    encoder = warmed_up(EncoderConfig(scheme="hu"), batch)
    pool = get_readout("mean")(encoder.out_dim).eval()
    with torch.no_grad():
        assert torch.equal(embed_small_batch(encoder, pool, batch), plain(encoder, pool, batch))


def test_cached_self_loop_rows_follow_changed_weights():
    batch = batch_of(["CC(=O)Nc1ccc(O)cc1"])
    encoder = warmed_up(EncoderConfig(scheme="hu", **SMALL), batch)
    pool = get_readout("mean")(encoder.out_dim).eval()
    with torch.no_grad():
        before = embed_small_batch(encoder, pool, batch)
        table = encoder.convs[1].bond_embedding.embeddings[0].weight
        table.add_(0.5)  # in place: the version counter moves
        after = embed_small_batch(encoder, pool, batch)
        assert not torch.equal(before, after)
        assert torch.equal(after, plain(encoder, pool, batch))
        fresh = GNNEncoder(encoder.config).eval()  # load_state_dict copies into the same tensors
        fresh.load_state_dict(encoder.state_dict())
        encoder.load_state_dict(warmed_up(EncoderConfig(scheme="hu", **SMALL), batch_of(["CCN"])).state_dict())
        assert torch.equal(embed_small_batch(encoder, pool, batch), plain(encoder, pool, batch))
        assert torch.equal(embed_small_batch(fresh, pool, batch), after)
        encoder.convs[0].bond_embedding.embeddings[1].weight = torch.nn.Parameter(torch.randn_like(table[:3]))  # a new tensor
        assert torch.equal(embed_small_batch(encoder, pool, batch), plain(encoder, pool, batch))


def test_steps_aside_where_it_would_not_compute_the_same_thing():
    batch = batch_of(moleculenet_smiles("bbbp", 2))
    encoder = warmed_up(EncoderConfig(scheme="hu", **SMALL), batch)
    mean = get_readout("mean")(encoder.out_dim).eval()
    with torch.enable_grad():
        assert embed_small_batch(encoder, mean, batch) is None  # training-style call
    with torch.no_grad():
        assert embed_small_batch(encoder, mean, batch) is not None
        big = batch_of(moleculenet_smiles("bbbp", 12))
        assert big.num_nodes >= MIN_ATOMS and embed_small_batch(encoder, mean, big) is None  # colour classes' size
        with torch.autocast("cpu", dtype=torch.bfloat16):
            assert embed_small_batch(encoder, mean, batch) is None
        assert embed_small_batch(encoder, get_readout("max")(encoder.out_dim), batch) is None
        assert embed_small_batch(GNNEncoder(encoder.config).double().eval(), mean, batch) is None  # float32 only
        assert embed_small_batch(encoder.train(), mean, batch) is None
        encoder.eval()
        handle = encoder.convs[0].register_forward_hook(lambda module, args, out: out + 1)  # as PEFT adapters attach
        assert embed_small_batch(encoder, mean, batch) is None
        handle.remove()
        for change in ({"conv": "gcn"}, {"virtual_node": True}, {"jk": "concat"}, {"residual": True}):
            other = GNNEncoder(dataclasses.replace(encoder.config, **change)).eval()
            assert embed_small_batch(other, mean, batch) is None, change


def test_a_bond_value_or_edge_outside_the_batch_is_an_error_not_a_wrong_sum():
    batch = batch_of(["CCO"])
    encoder = GNNEncoder(EncoderConfig(scheme="hu", **SMALL)).eval()
    batch.edge_attr[0, 0] = encoder.convs[0].bond_embedding.vocab[0]  # would land in the next atom's count cells
    with torch.no_grad(), pytest.raises(ValueError, match="bond feature column 0"):
        embed_small_batch(encoder, get_readout("mean")(encoder.out_dim).eval(), batch)
    batch = batch_of(["CCO"])
    batch.edge_index[0, 0] = batch.num_nodes  # an atom the batch does not have
    with torch.no_grad(), pytest.raises(ValueError, match="node outside"):
        embed_small_batch(encoder, get_readout("mean")(encoder.out_dim).eval(), batch)

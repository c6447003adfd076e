"""Bitwise resume on the CPU fast paths (issue 15): oneDNN/MKL linears and the CSR neighbour sum.

The loop tests' batches (32 molecules, ~700 atoms) are below ``fast_linear.MIN_ROWS``, so they train on
``F.linear``; here the threshold is lowered so every MLP product of the GIN takes the oneDNN/MKL path,
as pretraining's batches of 256 molecules do, and a killed-and-resumed run must still end with the
uninterrupted run's parameters bit for bit.
"""

from __future__ import annotations

import pytest
import torch

import molssl.nn.fast_linear as fast_linear
import molssl.ops.adjacency as adjacency
from molssl.nn.pretrained import load_encoder
from molssl.pretrain import pretrain
from tests.pretrain.conftest import SMALL_ENCODER, fast
from tests.pretrain.test_trainer import _interrupt_at


@pytest.mark.skipif(not fast_linear.onednn_linear_available(), reason="this PyTorch has no usable oneDNN linear op")
def test_resume_on_the_fast_paths_gives_the_uninterrupted_parameters(store, tmp_path, monkeypatch):
    calls = {"linear": 0, "sparse": 0}
    linear_apply, sparse_apply = fast_linear._LinearFunction.apply, adjacency._SparseNeighbourSum.apply

    def counted(kind, apply):
        def wrapper(*args):
            calls[kind] += 1
            return apply(*args)

        return wrapper

    monkeypatch.setattr(fast_linear, "MIN_ROWS", 1)
    monkeypatch.setattr(fast_linear._LinearFunction, "apply", counted("linear", linear_apply))
    monkeypatch.setattr(adjacency._SparseNeighbourSum, "apply", counted("sparse", sparse_apply))
    train = fast(steps=15, checkpoint_every=5)  # 400 molecules / 32: crosses an epoch boundary after the kill
    full = pretrain("attr_masking", store, tmp_path / "full", encoder=SMALL_ENCODER, train=train)
    assert calls["linear"] >= 15 * 2 * 2 and calls["sparse"] >= 15 * 2  # every step: 2 layers x 2 linears, 2 sums
    with pytest.raises(KeyboardInterrupt):
        pretrain("attr_masking", store, tmp_path / "cut", encoder=SMALL_ENCODER, train=train, on_log=_interrupt_at(10))
    resumed = pretrain("attr_masking", store, tmp_path / "cut", encoder=SMALL_ENCODER, train=train, resume=True)
    a, b = load_encoder(full.encoder_dir).state_dict(), load_encoder(resumed.encoder_dir).state_dict()
    assert all(torch.equal(a[k], b[k]) for k in a)
    assert [r["loss"] for r in full.metrics] == [r["loss"] for r in resumed.metrics]

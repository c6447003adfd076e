"""CLIP's symmetric InfoNCE against a loop over queries written from the formula."""

from __future__ import annotations

import math

import pytest
import torch

from molssl.ssl.losses import cross_modal_info_nce


def naive(a, b, scale, a_keys, b_keys, offset):
    """Both directions' mean of -log softmax at the partner, one query at a time."""
    def one_way(queries, keys):
        total = 0.0
        for i, q in enumerate(queries):
            q = q / q.norm()
            logits = [scale * float(q @ (k / k.norm())) for k in keys]
            total += -(logits[offset + i] - math.log(sum(math.exp(x) for x in logits)))
        return total / len(queries)

    return (one_way(a, b_keys) + one_way(b, a_keys)) / 2


def test_matches_the_naive_loop_with_and_without_gathered_keys():
    g = torch.Generator().manual_seed(0)
    a, b = torch.randn(6, 5, generator=g, dtype=torch.float64), torch.randn(6, 5, generator=g, dtype=torch.float64)
    assert cross_modal_info_nce(a, b, 2.5).item() == pytest.approx(naive(a, b, 2.5, a, b, 0), rel=1e-10)
    # as rank 1 of 3 sees it: its rows sit at offset 6 of the gathered keys
    a_keys = torch.cat([torch.randn(6, 5, generator=g, dtype=torch.float64), a, torch.randn(6, 5, generator=g, dtype=torch.float64)])
    b_keys = torch.cat([torch.randn(6, 5, generator=g, dtype=torch.float64), b, torch.randn(6, 5, generator=g, dtype=torch.float64)])
    got = cross_modal_info_nce(a, b, torch.tensor(14.0, dtype=torch.float64), a_keys=a_keys, b_keys=b_keys, offset=6)
    assert got.item() == pytest.approx(naive(a, b, 14.0, a_keys, b_keys, 6), rel=1e-10)


def test_a_learnable_scale_gets_a_gradient_and_bad_inputs_are_refused():
    a, b = torch.randn(4, 3), torch.randn(4, 3)
    log_scale = torch.tensor(math.log(1 / 0.07), requires_grad=True)
    cross_modal_info_nce(a, b, log_scale.exp()).backward()
    assert log_scale.grad is not None and log_scale.grad != 0
    perfect = cross_modal_info_nce(a, a.clone(), 100.0)
    assert perfect < cross_modal_info_nce(a, b, 100.0)
    with pytest.raises(ValueError, match="logit_scale"):
        cross_modal_info_nce(a, b, 0.0)
    with pytest.raises(ValueError, match="offset"):
        cross_modal_info_nce(a, b, 1.0, a_keys=a, b_keys=b, offset=2)

"""Collapse monitors: naive references, a collapsed encoder is flagged, a healthy one passes, no NaN on edge cases."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from molssl.ssl.monitors import CollapseMonitor, collapse_metrics


def gaussian(b: int, d: int, seed: int = 0) -> torch.Tensor:
    return torch.randn(b, d, generator=torch.Generator().manual_seed(seed))


def naive_metrics(z: torch.Tensor, z2: torch.Tensor | None = None) -> dict[str, float]:
    rows = z.double().numpy()
    unit = [r / np.linalg.norm(r) for r in rows]
    b, d = rows.shape
    stds = []
    for j in range(d):
        col = [u[j] for u in unit]
        mean = sum(col) / b
        stds.append(math.sqrt(sum((x - mean) ** 2 for x in col) / b))
    singular = np.linalg.svd(rows - rows.mean(0), compute_uv=False)
    p = [s / singular.sum() for s in singular]
    entropy = -sum(x * math.log(x) for x in p if x > 0)
    pairs = [math.exp(-2 * float(np.sum((unit[i] - unit[j]) ** 2))) for i in range(b) for j in range(i + 1, b)]
    out = {"emb_std": sum(stds) / d, "effective_rank": math.exp(entropy), "uniformity": math.log(sum(pairs) / len(pairs))}
    if z2 is not None:
        other = [r / np.linalg.norm(r) for r in z2.double().numpy()]
        out["alignment"] = sum(float(np.sum((u - v) ** 2)) for u, v in zip(unit, other)) / b
    return out


def test_matches_naive_reference():
    z = gaussian(24, 6)
    z2 = z + 0.3 * gaussian(24, 6, seed=1)
    metrics = collapse_metrics(z, z2)
    assert set(metrics) == {"emb_std", "effective_rank", "uniformity", "alignment"}
    for key, value in naive_metrics(z, z2).items():
        assert metrics[key] == pytest.approx(value, rel=1e-4), key
    assert set(collapse_metrics(z)) == {"emb_std", "effective_rank", "uniformity"}
    assert all(isinstance(v, float) for v in metrics.values())


def test_effective_rank_of_k_equal_directions_is_k():
    for k in (1, 3, 5):
        axes = torch.eye(8)[:k]
        z = torch.cat([axes, -axes])  # centered, k equal singular values
        assert collapse_metrics(z)["effective_rank"] == pytest.approx(k, rel=1e-5)


@pytest.mark.parametrize("value", [0.0, 0.1, 3.7, -1e3])
def test_constant_embeddings_are_collapsed(value):
    z = torch.full((256, 64), value)
    metrics = collapse_metrics(z, z.clone())
    assert metrics["emb_std"] == pytest.approx(0.0, abs=1e-6)
    assert metrics["effective_rank"] == 0.0  # not the entropy of rounding noise
    assert metrics["uniformity"] == pytest.approx(0.0, abs=1e-6)
    assert metrics["alignment"] == pytest.approx(0.0, abs=1e-6)
    message = CollapseMonitor().check(metrics)
    assert message is not None and "effective rank" in message and "below 2" in message


def test_encoder_with_constant_output_is_flagged():
    encoder = torch.nn.Linear(16, 32)
    with torch.no_grad():
        encoder.weight.zero_()
    metrics = collapse_metrics(encoder(gaussian(128, 16)))
    assert CollapseMonitor(min_effective_rank=2.0).check(metrics) is not None


def test_dimensional_collapse_to_one_direction_is_flagged():
    z = gaussian(128, 1) @ gaussian(1, 32, seed=1) + 5.0  # rank one after centering
    metrics = collapse_metrics(z)
    assert metrics["effective_rank"] == pytest.approx(1.0, abs=1e-3)
    assert CollapseMonitor().check(metrics) is not None


def test_healthy_gaussian_embeddings_pass():
    b, d = 1024, 32
    metrics = collapse_metrics(gaussian(b, d))
    assert metrics["effective_rank"] > 0.9 * d
    assert metrics["emb_std"] == pytest.approx(1 / math.sqrt(d), rel=0.05)
    assert metrics["uniformity"] < -3.5  # near the -4 of uniform points on a high-dimensional sphere
    assert CollapseMonitor().check(metrics) is None
    assert CollapseMonitor(min_effective_rank=d + 1).check(metrics) is not None


def test_alignment_of_identical_and_opposite_views():
    z = gaussian(16, 8)
    assert collapse_metrics(z, 2 * z)["alignment"] == pytest.approx(0.0, abs=1e-6)
    assert collapse_metrics(z, -z)["alignment"] == pytest.approx(4.0, rel=1e-5)


def test_single_row_and_float64_and_bf16_give_no_nan():
    one = collapse_metrics(gaussian(1, 8), gaussian(1, 8, seed=1))
    assert one["emb_std"] == 0.0 and one["effective_rank"] == 0.0 and one["uniformity"] == 0.0
    assert math.isfinite(one["alignment"])
    z = gaussian(64, 8)
    assert collapse_metrics(z.double())["effective_rank"] == pytest.approx(collapse_metrics(z)["effective_rank"], rel=1e-5)
    assert all(math.isfinite(v) for v in collapse_metrics(z.bfloat16()).values())


def test_no_gradient_is_tracked():
    z = gaussian(8, 4).requires_grad_(True)
    collapse_metrics(z)
    assert z.grad is None


def test_non_finite_embeddings_give_nan_and_a_message():
    z = gaussian(8, 4)
    z[3, 1] = float("nan")
    metrics = collapse_metrics(z)
    assert all(math.isnan(v) for v in metrics.values())
    assert "not finite" in CollapseMonitor().check(metrics)
    assert math.isnan(collapse_metrics(gaussian(8, 4), z)["alignment"])


def test_validation():
    with pytest.raises(ValueError, match="2-D"):
        collapse_metrics(torch.randn(8))
    with pytest.raises(ValueError, match="at least 1 row"):
        collapse_metrics(torch.randn(0, 4))
    with pytest.raises(ValueError, match="shapes must match"):
        collapse_metrics(torch.randn(8, 4), torch.randn(7, 4))
    with pytest.raises(ValueError, match="min_effective_rank"):
        CollapseMonitor(min_effective_rank=0)
    with pytest.raises(KeyError, match="effective_rank"):
        CollapseMonitor().check({"emb_std": 0.1})

"""Temperature scaling against a brute-force NLL search, on logits whose true temperature is known."""

from __future__ import annotations

import numpy as np
import pytest

from molssl.tasks.calibration import (
    MAX_TEMPERATURE,
    MIN_TEMPERATURE,
    calibration_gap,
    fit_temperatures,
    format_calibration,
    probability_logits,
    scale_logits,
)


def _nll_binary(z, y, t):
    """The naive negative log-likelihood, on log-probabilities (stable for large logits)."""
    log_p, log_q = -np.logaddexp(0, -z / t), -np.logaddexp(0, z / t)
    return -np.mean(y * log_p + (1 - y) * log_q)


def test_binary_temperature_is_the_nll_minimum_and_recovers_overconfidence():
    rng = np.random.default_rng(0)
    true_logits = rng.normal(scale=2.0, size=(4000, 2))
    labels = (rng.random((4000, 2)) < 1 / (1 + np.exp(-true_logits))).astype(float)
    labels[::7, 1] = np.nan
    overconfident = true_logits * 3.0  # a model 3x too sure: the fitted temperature should be about 3
    temps, before, after = fit_temperatures(overconfident, labels, "classification")
    assert temps[0] == pytest.approx(3.0, rel=0.1) and temps[1] == pytest.approx(3.0, rel=0.1)
    grid = np.exp(np.linspace(np.log(0.05), np.log(20), 4001))
    rows = ~np.isnan(labels[:, 1])
    brute = grid[np.argmin([_nll_binary(overconfident[rows, 1], labels[rows, 1], t) for t in grid])]
    assert temps[1] == pytest.approx(brute, rel=0.01)
    assert after[0] < before[0]
    calibrated = scale_logits(overconfident, temps, "classification")
    # ranking unchanged: calibration never moves ROC-AUC
    assert (np.argsort(calibrated[:, 0]) == np.argsort(overconfident[:, 0])).all()


def test_multiclass_temperature_and_logit_round_trip():
    rng = np.random.default_rng(1)
    logits = rng.normal(size=(3000, 1, 3)) * 2
    probs = np.exp(logits) / np.exp(logits).sum(-1, keepdims=True)
    labels = np.array([[rng.choice(3, p=p[0])] for p in probs], dtype=float)
    temps, _, _ = fit_temperatures(logits / 2.0, labels, "multiclass")  # underconfident: T about 0.5
    assert temps[0] == pytest.approx(0.5, rel=0.1)
    np.testing.assert_allclose(scale_logits(probability_logits(probs, "multiclass"), [1.0], "multiclass"), probs, rtol=1e-6)
    with pytest.raises(ValueError, match="classifiers"):
        fit_temperatures(logits[:, :, 0], labels, "regression")
    assert fit_temperatures(np.zeros((3, 1)), np.full((3, 1), np.nan), "classification")[0] == [1.0]


def test_a_task_of_one_class_on_validation_keeps_temperature_one():
    # all-negative validation labels have no NLL minimum: a fit would push every probability to 0 (T at its bound)
    rng = np.random.default_rng(2)
    logits = rng.normal(size=(200, 2))
    labels = np.stack([(rng.random(200) < 0.5).astype(float), np.zeros(200)], axis=1)
    temps, before, after = fit_temperatures(logits, labels, "classification")
    assert temps[1] == 1.0 and before[1] == after[1] and np.isfinite(before[1])
    assert temps[0] != 1.0
    assert calibration_gap(labels[:, 1]) == "only 0s on validation (200 labels)"
    assert calibration_gap(labels[:, 0]) is None and calibration_gap(np.full(3, np.nan)) == "no validation labels"
    multiclass = np.full((50, 1), 2.0)
    assert fit_temperatures(rng.normal(size=(50, 1, 3)), multiclass, "multiclass")[0] == [1.0]


def test_format_calibration_names_each_task_and_why_one_kept_temperature_one():
    text = format_calibration({"temperatures": [0.6105, 1.0], "kept_at_1": {"rare": "only 0s on validation (204 labels)"}},
                              ["p_np", "rare"])  # fmt: skip
    assert text == ("calibration (temperature scaling on validation): p_np T=0.611; "
                    "rare T=1 (only 0s on validation (204 labels))")  # fmt: skip


def test_format_calibration_says_when_a_temperature_sits_at_a_search_bound():
    found = fit_temperatures(np.array([[3.0], [2.0], [-2.0], [-3.0]]), np.array([[0.0], [0.0], [1.0], [1.0]]), "classification")[0]
    assert found == [pytest.approx(MAX_TEMPERATURE, rel=1e-3)]  # logits ranked backwards: flattest is best
    text = format_calibration({"temperatures": found + [MIN_TEMPERATURE, 0.7]}, ["backwards", "sharp", "fine"])
    assert "backwards T=20 (the search's upper bound" in text and "sharp T=0.05 (the search's lower bound" in text
    assert text.endswith("fine T=0.7")

"""Evaluation protocols on frozen embeddings, for every modality: weighted kNN and a linear probe.

- ``knn_predict``: the weighted k-nearest-neighbour classifier of the SSL literature (Wu et al., "Unsupervised
  Feature Learning via Non-Parametric Instance Discrimination", CVPR 2018; used by DINO, solo-learn, lightly):
  cosine similarity to the labelled bank, the ``k`` most similar items vote for their class with weight
  ``exp(similarity / T)``, the class with the largest sum wins (k = 20 or 200, T = 0.07).
- ``fit_linear_probe`` / ``linear_probe``: multinomial logistic regression on standardized frozen features
  (L-BFGS, full batch, on the embeddings' device), its L2 strength chosen on the validation part and the
  test accuracy reported at that strength.
- ``probe``: both protocols on one labelled embedding matrix, split stratified into train/validation/test.
- ``embed``: the frozen embeddings of a ``DataSource`` under an encoder (``encoder(input)`` in eval mode,
  no gradients); ``pixels`` for the raw-input baseline.

Nothing here knows a modality beyond ``encoder_input``: an image batch is encoded through its normalized
pixels, any other batch is passed to the encoder as it is.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Any, Mapping, Sequence

import numpy as np
import torch
import torch.nn.functional as F
from torch import Tensor, nn

#: L2 strengths tried by ``linear_probe`` (mean cross-entropy + l2 / 2 * ||W||^2), strongest first
DEFAULT_L2_GRID = (1e-1, 1e-2, 1e-3, 1e-4, 1e-5)


def _check_labelled(name: str, x: Tensor, y: Tensor) -> None:
    if x.dim() != 2 or not x.is_floating_point():
        raise ValueError(f"{name} embeddings must be a float [N, D] matrix, got {tuple(x.shape)} {x.dtype}")
    if y.dim() != 1 or y.size(0) != x.size(0) or y.dtype != torch.int64:
        raise ValueError(f"{name} labels must be [N] int64 with N = {x.size(0)}, got {tuple(y.shape)} {y.dtype}")


# ------------------------------------------------------------------------------------------------- kNN


def knn_predict(bank: Tensor, bank_labels: Tensor, queries: Tensor, num_classes: int, k: int = 20,
                temperature: float = 0.07, chunk_size: int = 1024) -> Tensor:  # fmt: skip
    """Class scores of weighted kNN with cosine similarity (Wu et al. 2018).

    For query ``q`` with the ``k`` most similar bank items ``N_k(q)`` (cosine similarity ``s_i``), the score of
    class ``c`` is ``sum_{i in N_k(q), y_i = c} exp(s_i / temperature)``. ``k`` larger than the bank uses the
    whole bank. Queries are processed ``chunk_size`` at a time to bound memory.

    Shapes:
        bank: [N, D]; bank_labels: [N] int64; queries: [M, D] -> [M, num_classes]
    """
    _check_labelled("bank", bank, bank_labels)
    if queries.dim() != 2 or queries.size(1) != bank.size(1):
        raise ValueError(f"queries must be [M, {bank.size(1)}], got {tuple(queries.shape)}")
    if k < 1 or temperature <= 0:
        raise ValueError(f"k must be >= 1 and temperature > 0, got k={k}, temperature={temperature}")
    bank = F.normalize(bank.float(), dim=1)
    k = min(k, bank.size(0))
    scores = []
    for chunk in F.normalize(queries.float(), dim=1).split(chunk_size):
        similarity = chunk @ bank.T  # [m, N]
        top_similarity, top_index = similarity.topk(k, dim=1)  # [m, k]
        weights = (top_similarity / temperature).exp()
        votes = torch.zeros(chunk.size(0), num_classes, device=chunk.device)
        scores.append(votes.scatter_add_(1, bank_labels[top_index], weights))  # [m, C]
    return torch.cat(scores)


def knn_accuracy(bank: Tensor, bank_labels: Tensor, queries: Tensor, query_labels: Tensor, k: int = 20,
                 temperature: float = 0.07) -> float:  # fmt: skip
    """Fraction of queries whose weighted-kNN class (``knn_predict``) is their label."""
    _check_labelled("query", queries, query_labels)
    num_classes = int(max(bank_labels.max(), query_labels.max())) + 1
    predicted = knn_predict(bank, bank_labels, queries, num_classes, k, temperature).argmax(1)
    return float((predicted == query_labels).float().mean())


# ----------------------------------------------------------------------------------------- linear probe


@dataclass
class LinearProbe:
    """A fitted multinomial logistic regression on standardized features.

    Shapes:
        mean, scale: [D]; weight: [D, C]; bias: [C]
    """

    mean: Tensor
    scale: Tensor
    weight: Tensor
    bias: Tensor
    l2: float

    def logits(self, x: Tensor) -> Tensor:
        """Shapes: x [N, D] -> [N, C]"""
        return ((x - self.mean) / self.scale) @ self.weight + self.bias

    def accuracy(self, x: Tensor, y: Tensor) -> float:
        return float((self.logits(x).argmax(1) == y).float().mean())


def _fit_standardized(z: Tensor, y: Tensor, num_classes: int, l2: float, init: tuple[Tensor, Tensor] | None,
                      max_iter: int) -> tuple[Tensor, Tensor]:  # fmt: skip
    """Minimize ``mean CE(z W + b, y) + l2 / 2 * ||W||^2`` (bias unpenalized) by L-BFGS. Shapes: z [N, D]"""
    weight = torch.zeros(z.size(1), num_classes, dtype=z.dtype, device=z.device)
    bias = torch.zeros(num_classes, dtype=z.dtype, device=z.device)
    if init is not None:
        weight, bias = init[0].clone(), init[1].clone()
    weight.requires_grad_(True)
    bias.requires_grad_(True)
    optimizer = torch.optim.LBFGS([weight, bias], lr=1, max_iter=max_iter, history_size=20,
                                  tolerance_grad=1e-9, tolerance_change=1e-12, line_search_fn="strong_wolfe")  # fmt: skip

    def closure() -> Tensor:
        optimizer.zero_grad()
        loss = F.cross_entropy(z @ weight + bias, y) + 0.5 * l2 * weight.square().sum()
        loss.backward()
        return loss

    with torch.enable_grad():
        optimizer.step(closure)
    return weight.detach(), bias.detach()


def fit_linear_probe(x: Tensor, y: Tensor, num_classes: int, l2: float = 1e-4, max_iter: int = 100,
                     init: LinearProbe | None = None) -> LinearProbe:  # fmt: skip
    """Multinomial logistic regression on ``x`` standardized with its own mean and std.

    Minimizes ``mean_i CE(z_i W + b, y_i) + l2 / 2 * ||W||^2`` with ``z = (x - mean) / std``, which is
    scikit-learn's ``LogisticRegression(C=1 / (l2 * N))`` on ``z``. Computed in float64.

    Shapes:
        x: [N, D]; y: [N] int64 -> LinearProbe with weight [D, num_classes]
    """
    _check_labelled("train", x, y)
    x = x.double()
    mean = x.mean(0)
    scale = x.std(0, unbiased=False).clamp_min(1e-8)  # a constant feature stays 0 after centering
    start = None if init is None else (init.weight.double(), init.bias.double())
    weight, bias = _fit_standardized((x - mean) / scale, y, num_classes, float(l2), start, max_iter)
    return LinearProbe(mean, scale, weight, bias, float(l2))


def linear_probe(train: tuple[Tensor, Tensor], val: tuple[Tensor, Tensor], test: tuple[Tensor, Tensor] | None = None,
                 l2_grid: Sequence[float] = DEFAULT_L2_GRID, max_iter: int = 100) -> dict[str, Any]:  # fmt: skip
    """Fit a linear probe per L2 strength on ``train``, select on ``val`` accuracy, report ``test`` at that one.

    Strengths are fitted strongest first, each warm-started from the previous solution; a tie on validation
    keeps the stronger regularization.

    Returns:
        ``{"l2": selected, "train_accuracy", "val_accuracy", "test_accuracy" (None without test),
        "val_by_l2": {l2: accuracy}}``
    """
    (x_train, y_train), (x_val, y_val) = train, val
    _check_labelled("validation", x_val, y_val)
    parts = [y_train, y_val] + ([test[1]] if test is not None else [])
    num_classes = int(max(int(p.max()) for p in parts)) + 1
    best: LinearProbe | None = None
    best_accuracy = -1.0
    by_l2: dict[str, float] = {}
    previous: LinearProbe | None = None
    for l2 in sorted(l2_grid, reverse=True):
        previous = fit_linear_probe(x_train, y_train, num_classes, l2, max_iter, init=previous)
        accuracy = previous.accuracy(x_val.double(), y_val)
        by_l2[f"{l2:g}"] = accuracy
        if accuracy > best_accuracy:
            best, best_accuracy = previous, accuracy
    assert best is not None
    return {
        "l2": best.l2,
        "train_accuracy": best.accuracy(x_train.double(), y_train),
        "val_accuracy": best_accuracy,
        "test_accuracy": None if test is None else best.accuracy(test[0].double(), test[1]),
        "val_by_l2": by_l2,
    }


# ----------------------------------------------------------------------------------------------- protocol


def probe(embeddings: Tensor, labels: Tensor, *, seed: int = 0, fractions: tuple[float, float, float] = (0.6, 0.2, 0.2),
          ks: Sequence[int] = (20, 200), temperature: float = 0.07, l2_grid: Sequence[float] = DEFAULT_L2_GRID,
          split: Sequence[Any] | None = None) -> dict[str, Any]:  # fmt: skip
    """kNN and linear-probe accuracy of frozen ``embeddings``, on a stratified train/validation/test split.

    kNN classifies the test items with the train items as the bank (no choice is made on validation, so its
    validation accuracy is reported alongside); the linear probe selects its L2 strength on validation.
    ``split`` (train, validation and test row indices) replaces the stratified split, e.g. a data set's
    customary one (``fractions`` and ``seed`` are then unused).

    Shapes:
        embeddings: [N, D]; labels: [N] int64
    """
    from molssl.data.splits import stratified_split

    _check_labelled("probe", embeddings, labels)
    if split is None:
        split = stratified_split(labels.cpu().numpy(), *fractions, seed=seed)
    part = {name: torch.as_tensor(np.array(rows), device=embeddings.device) for name, rows in
            zip(("train", "val", "test"), split)}  # fmt: skip
    x = {name: embeddings[rows] for name, rows in part.items()}
    y = {name: labels[rows] for name, rows in part.items()}
    knn = {
        str(k): {"val_accuracy": knn_accuracy(x["train"], y["train"], x["val"], y["val"], k, temperature),
                 "test_accuracy": knn_accuracy(x["train"], y["train"], x["test"], y["test"], k, temperature)}
        for k in ks
    }  # fmt: skip
    linear = linear_probe((x["train"], y["train"]), (x["val"], y["val"]), (x["test"], y["test"]), l2_grid)
    return {
        "items": {name: int(rows.numel()) for name, rows in part.items()},
        "dim": embeddings.size(1),
        "seed": seed,
        "knn": knn,
        "knn_temperature": temperature,
        "linear": linear,
    }


def encoder_input(batch: Any) -> Any:
    """What an encoder takes from ``batch``: an image batch's normalized pixels, anything else unchanged."""
    normalized = getattr(batch, "normalized", None)
    return normalized() if callable(normalized) else batch


def embed(encoder: nn.Module | None, source: Any, *, batch_size: int = 256, device: str | torch.device = "cpu",
          indices: Tensor | None = None) -> tuple[Tensor, Tensor]:  # fmt: skip
    """Frozen embeddings and labels of ``source``'s items (all, or ``indices``), in item order.

    ``encoder=None`` gives the flattened encoder inputs (the raw-pixel baseline for images), or the batch's
    ``raw_features()`` where it has them (audio: the log-mel averaged over each clip's frames). The encoder is
    put in eval mode (batch-norm running statistics, no dropout) and run without gradients.

    Shapes:
        -> embeddings [N, D] float32 on ``device``; labels [N] int64 on ``device``
    """
    if indices is None:
        indices = torch.arange(len(source))
    generator = torch.Generator().manual_seed(0)  # sources draw nothing when collating for evaluation
    was_training = encoder.training if encoder is not None else False
    if encoder is not None:
        encoder.to(device).eval()
    embeddings, labels = [], []
    try:
        with torch.inference_mode():
            for chunk in indices.split(batch_size):
                batch = source.batch(chunk, generator)
                batch_labels = getattr(batch, "labels", None)
                if batch_labels is None:
                    raise ValueError(f"{getattr(source, 'path', 'the data')}: probing needs labelled items")
                inputs = encoder_input(batch)
                inputs = inputs.to(device) if isinstance(inputs, Tensor) else batch.to(device)
                raw = getattr(batch, "raw_features", None)  # a modality's own raw baseline (audio: mean log-mel)
                if encoder is not None:
                    out = encoder(inputs)
                else:
                    out = raw().to(device) if callable(raw) else inputs.flatten(1)
                embeddings.append(out.float())
                labels.append(batch_labels.to(device))
    finally:
        if encoder is not None and was_training:
            encoder.train()
    return torch.cat(embeddings), torch.cat(labels)


def pixels(source: Any, **options: Any) -> tuple[Tensor, Tensor]:
    """The raw-input baseline: flattened normalized inputs as embeddings (``embed(None, ...)``)."""
    return embed(None, source, **options)


def probe_representations(data: Any = None, *, encoder: str | os.PathLike | None = None, random_init: bool = False,
                          encoder_config: Mapping[str, Any] | None = None, raw: bool = False,
                          modality: str | None = None, data_options: Mapping[str, Any] | None = None, seed: int = 0,
                          device: str | torch.device = "cpu", batch_size: int = 256, **protocol: Any,
                          ) -> dict[str, dict[str, Any]]:  # fmt: skip
    """``probe`` of each representation asked for, on one labelled data set (what ``molssl probe`` runs).

    Args:
        data: the labelled data (``open_source``'s ``data``; None = the modality's embedded default).
        encoder: an encoder checkpoint (or a pretraining run folder): probed as ``"pretrained"``. The data is
            prepared as the checkpoint records (image normalization); other size or channels are an error.
        random_init: also probe ``"random_init"``: the same encoder config (``encoder``'s, else
            ``encoder_config``) with fresh weights from ``seed``.
        encoder_config: ``{"kind": ..., **options}`` of the random encoder when no checkpoint is given.
        raw: also probe ``"raw"``: the flattened encoder inputs (pixels).
        modality: of the data (default: the checkpoint's, else a named data set's (``"fsdd"``: audio), else
            "image").
        protocol: ``probe`` keywords (``ks``, ``temperature``, ``fractions``, ``l2_grid``). A source with a
            customary split (``source.probe_split(seed)`` not None, e.g. FSDD's takes) is probed on it.

    Returns:
        representation name -> ``probe`` result (with ``"encoder"``, the encoder config, where one was used).
    """
    from molssl.nn.encoders import build_encoder, config_from_dict, config_to_dict
    from molssl.nn.pretrained import aligned_encoders, checkpoint_in, describe_aligned, load_encoder, recorded_preprocessing
    from molssl.checkpoint import CheckpointError, read_checkpoint
    from molssl.pretrain.source import named_data_modality, open_source

    if encoder is None and not random_init and not raw:
        raise ValueError("nothing to probe: give an encoder checkpoint, random_init with an encoder config, or raw")
    recorded: dict[str, Any] = {}
    if encoder is not None:
        parts = aligned_encoders(checkpoint_in(encoder))
        if parts:
            raise CheckpointError(f"{describe_aligned(encoder, parts)}; probe one of them")
        found = read_checkpoint(checkpoint_in(encoder))
        recorded = recorded_preprocessing(found.config)
        modality = modality or (found.config.get("source") or {}).get("modality")
    source = open_source(modality or named_data_modality(data) or "image", data, dict(data_options or {}), labels=True)
    if recorded and hasattr(source, "with_preprocessing"):
        source = source.with_preprocessing(recorded)
    customary = getattr(source, "probe_split", None)
    if callable(customary) and customary(seed) is not None:
        protocol = {**protocol, "split": customary(seed)}
    results: dict[str, dict[str, Any]] = {}
    config = None
    if encoder is not None:
        model = load_encoder(encoder, expected_preprocessing=source.preprocessing() if recorded else None)
        config = model.config
        x, y = embed(model, source, batch_size=batch_size, device=device)
        results["pretrained"] = {**probe(x, y, seed=seed, **protocol), "encoder": config_to_dict(config)}
    if random_init:
        if config is None:
            if encoder_config is None:
                raise ValueError("random_init needs an encoder checkpoint or an encoder config ({'kind': ..., ...})")
            config = config_from_dict({**dict(encoder_config), **source.encoder_options()})
        torch.manual_seed(seed)
        model = build_encoder(config)
        x, y = embed(model, source, batch_size=batch_size, device=device)
        results["random_init"] = {**probe(x, y, seed=seed, **protocol), "encoder": config_to_dict(config)}
    if raw:
        x, y = pixels(source, batch_size=batch_size, device=device)
        results["raw"] = probe(x, y, seed=seed, **protocol)
    for result in results.values():
        result["data"] = source.describe()
    return results


__all__ = [
    "DEFAULT_L2_GRID", "LinearProbe", "embed", "encoder_input", "fit_linear_probe", "knn_accuracy", "knn_predict",
    "linear_probe", "pixels", "probe", "probe_representations",
]  # fmt: skip

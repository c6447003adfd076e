"""Molecule embeddings from a saved model: a fine-tuned predictor or a pretrained encoder, graph or text.

``embed_smiles(model, smiles)`` reads the molecules the way the model was trained to (the GNN's
featurization scheme; a text model's vocabulary, after the same molecule check as a GNN) and returns one
vector per molecule: a predictor's readout output (what its head sees), a pretrained GNN encoder's
mean-pooled atom states, or a text encoder's pooled output. A molecule that cannot be read gets a row
of NaN and its reason; nothing is dropped.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Any, Sequence

import numpy as np
import torch

from molssl.tasks.predict_graphs import model_device, resolve_device


@dataclass
class Embeddings:
    """One embedding per input molecule.

    Attributes:
        smiles: the inputs, in order.
        values: [M, D] float32, NaN rows for molecules that could not be read.
        errors: one string per input: "" or why it has no embedding.
        model: what produced them (path and kind), as plain data.
    """

    smiles: list[str]
    values: np.ndarray
    errors: list[str]
    model: dict[str, Any]

    def to_frame(self):
        """A pandas DataFrame: ``smiles``, ``e0`` .. ``e{D-1}``, ``error``."""
        import pandas as pd

        frame = pd.DataFrame(self.values, columns=[f"e{j}" for j in range(self.values.shape[1])])
        frame.insert(0, "smiles", self.smiles)
        frame["error"] = self.errors
        return frame


class _EncoderEmbedder(torch.nn.Module):
    """A pretrained encoder with the pooling that makes one vector per molecule (GNN: mean over atoms)."""

    def __init__(self, encoder: torch.nn.Module, config: Any) -> None:
        super().__init__()
        from molssl.nn.encoder import EncoderConfig
        from molssl.nn.readout import MeanReadout

        self.encoder = encoder
        self.readout = MeanReadout(encoder.out_dim) if isinstance(config, EncoderConfig) else None

    def embed(self, batch: Any) -> torch.Tensor:
        if self.readout is None:
            return self.encoder(batch.ids)
        h = self.encoder(batch)
        return self.readout(h, batch.batch, int(batch.num_graphs), getattr(batch, "ptr", None))


def load_embedder(model: str | os.PathLike, device: str | torch.device = "auto") -> tuple[torch.nn.Module, Any, dict[str, Any]]:
    """The module with an ``embed(batch)`` method, its encoder config and a description, from a checkpoint.

    ``model`` is a property predictor (``molssl finetune`` output or ``PropertyPredictor.save``) or a
    pretrained encoder (``molssl pretrain`` output), either as the folder or the run folder holding it.

    Raises:
        CheckpointError: not a predictor or encoder checkpoint, or a multimodal run (its encoders listed).
    """
    from molssl.checkpoint import read_checkpoint
    from molssl.nn.pretrained import aligned_encoders, checkpoint_in, describe_aligned, load_encoder_state
    from molssl.nn.encoders import build_encoder
    from molssl.checkpoint import CheckpointError, load_weights

    path = checkpoint_in(model)
    parts = aligned_encoders(path)
    if parts:  # which modality's embedding is meant is the caller's choice
        raise CheckpointError(f"{describe_aligned(model, parts)}; embed with one of them")
    kind = read_checkpoint(path).config.get("kind")
    device = resolve_device(device)
    if kind == "property_predictor":
        from molssl.tasks.predictor import PropertyPredictor

        predictor = PropertyPredictor.load(path, device=device)
        return predictor.model_, predictor.model_.config.encoder, {"path": str(path), "kind": kind}
    config, state = load_encoder_state(path)
    encoder = build_encoder(config)
    load_weights(encoder, state, path)
    return _EncoderEmbedder(encoder, config).to(device).eval(), config, {"path": str(path), "kind": kind}


@torch.no_grad()
def embed_smiles(model: str | os.PathLike, smiles: Sequence[str], *, batch_size: int = 256,
                 device: str | torch.device = "auto") -> Embeddings:  # fmt: skip
    """Embed every SMILES with the model saved at ``model`` (see ``load_embedder``).

    Shapes:
        -> Embeddings.values [len(smiles), D]
    """
    from molssl.chem.featurize import featurize_many
    from molssl.data.loader import StoreLoader
    from molssl.text.inputs import model_inputs, molecule_scheme

    embedder, config, described = load_embedder(model, device)
    smiles = list(smiles)
    result = featurize_many(smiles, scheme=molecule_scheme(config).name, on_error="skip")
    kept = result.indices.tolist()
    dim = config.out_dim if not hasattr(embedder, "head") else embedder.head.in_features
    values = np.full((len(smiles), dim), np.nan, dtype=np.float32)
    errors = [""] * len(smiles)
    for skipped in result.skipped:
        errors[skipped.index] = skipped.reason
    if kept:
        inputs = model_inputs(config, result.graphs, [smiles[i] for i in kept])
        embedder.eval()
        on = model_device(embedder)
        parts = [embedder.embed(batch.to(on)).float().cpu() for batch in StoreLoader(inputs, batch_size=batch_size)]
        values[kept] = torch.cat(parts).numpy()
    return Embeddings(smiles, values, errors, {**described, "encoder": type(config).__name__})

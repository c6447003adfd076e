"""Frozen-feature cache of the fine-tuning loop: a frozen, eval-mode encoder's outputs computed once per molecule.

In ``linear_probe`` and in LP-FT's linear-probing phase the whole encoder is frozen and in eval mode
(``molssl.tasks.model.set_trainable`` and ``frozen_modules_eval``), so every epoch it maps each molecule
to the same vectors, and re-running it on every batch is nearly all of such a run's cost (a 50-epoch
probe of the zoo's GCN on BBBP: ~1.5 CPU-minutes, the GAT's 5-7). ``FrozenFeatures`` runs it once over
the molecules of the split and the loop trains and scores the rest of the model on what it stored:

- ``"pooled"``: one vector per molecule (``PropertyModel.embed``) when the readout has no parameters
  (mean, sum, max) or the encoder pools its own inputs (the SMILES transformer, image encoders); only
  the head runs per batch.
- ``"nodes"``: the encoder's node vectors when the readout has parameters (attention, Set2Set): the
  readout trains, so it runs per batch on the stored nodes, then the head.

Why this is the same run: an eval-mode GNN maps each molecule independently of the others in its batch
(batch norm uses its running statistics, messages stay inside a molecule), so the stored vectors equal
those of a training batch up to float rounding; shuffling draws from the loader's own seeded generator,
and neither path draws from torch's (nothing stochastic acts in eval mode, and the head is a bare
``Linear``), so LP-FT's full phase starts from the same generator state. ``frozen_feature_obstacle``
names what rules the cache out for a model (None when nothing does): trainable encoder parameters (a
PEFT method's modules, BitFit's biases, ``last_k``'s layers, ``full``), encoder modules in training mode
(dropout, batch norm statistics), a model class that overrides ``forward``/``embed``/``head_outputs``,
or node vectors over ``NODE_CACHE_MAX_BYTES``. The fine-tuning loop (``molssl.tasks.seed_run``) then runs
the model on every batch as before.
"""

from __future__ import annotations

import logging
from typing import Literal

import numpy as np
import torch
from torch import Tensor

from molssl.data.loader import StoreLoader
from molssl.graph.arrays import offsets, ranges_to_index
from molssl.tasks.model import PropertyModel

logger = logging.getLogger(__name__)

#: the most memory stored node vectors may take (the readout has parameters); above it the loop runs the encoder per batch
NODE_CACHE_MAX_BYTES = 2 * 1024**3


def frozen_feature_obstacle(model: PropertyModel) -> str | None:
    """Why ``model``, as it is set to train now, cannot train on stored encoder outputs (None: it can).

    Call after ``set_trainable`` and ``frozen_modules_eval``: the encoder must be wholly frozen and in
    eval mode.
    """
    overridden = [name for name in ("forward", "embed", "head_outputs") if getattr(type(model), name) is not getattr(PropertyModel, name)]
    if not isinstance(model, PropertyModel) or overridden:
        return f"{type(model).__name__} is not a plain PropertyModel (overrides {', '.join(overridden) or 'its type'})"
    trainable = [name for name, p in model.encoder.named_parameters() if p.requires_grad]
    if trainable:
        shown = ", ".join(trainable[:3]) + (f", ... ({len(trainable)} in all)" if len(trainable) > 3 else "")
        return f"encoder parameters train ({shown})"
    training = [name or type(model.encoder).__name__ for name, m in model.encoder.named_modules() if m.training]
    if training:
        return f"encoder modules are in training mode ({', '.join(training[:3])}{', ...' if len(training) > 3 else ''})"
    return None


class FrozenFeatures:
    """A frozen encoder's outputs for a set of molecules, computed once; the model's outputs from them.

    Build with ``FrozenFeatures.build`` (None when ``frozen_feature_obstacle`` names an obstacle).
    ``kind`` is ``"pooled"`` (one vector per molecule, the readout's output) or ``"nodes"`` (the
    encoder's node vectors; the readout runs on them per call).

    Shapes:
        pooled: [U, readout dim]; nodes: [A, D] (A = atoms of the U molecules); counts: [U] atoms each
    """

    def __init__(self, kind: Literal["pooled", "nodes"], molecules: np.ndarray, num_molecules: int, features: Tensor,
                 counts: np.ndarray | None = None) -> None:  # fmt: skip
        self.kind = kind
        self.features = features
        self.row = np.full(num_molecules, -1, dtype=np.int64)  # molecule index -> stored row
        self.row[molecules] = np.arange(len(molecules))
        self.counts = counts
        self.starts = offsets(counts)[:-1] if counts is not None else None

    @classmethod
    @torch.no_grad()
    def build(cls, model: PropertyModel, graphs, indices: np.ndarray, batch_size: int) -> "FrozenFeatures | None":
        """The encoder outputs of molecules ``indices`` of ``graphs`` (on the model's device), or None with the
        reason logged when the model cannot use them (``frozen_feature_obstacle``, node vectors too large).

        Runs the encoder as it is (frozen, eval mode) in batches of ``batch_size``; modes are not changed.
        """
        obstacle = frozen_feature_obstacle(model)
        pooled = model.readout is None or not any(True for _ in model.readout.parameters())
        num_atoms = getattr(graphs, "num_atoms", None)
        molecules = np.unique(np.asarray(indices, dtype=np.int64))
        if obstacle is None and not pooled and num_atoms is not None:
            size = int(num_atoms[molecules].sum()) * model.encoder.out_dim * 4
            if size > NODE_CACHE_MAX_BYTES:
                obstacle = f"its node vectors would take {size / 1024**3:.1f} GiB (limit NODE_CACHE_MAX_BYTES)"
        if obstacle is not None:
            # a training encoder is the ordinary case (full fine-tuning, PEFT): said only under --verbose
            trains = any(p.requires_grad for p in model.encoder.parameters())
            logger.log(logging.DEBUG if trains else logging.INFO,
                       "fine-tuning runs the encoder on every batch (no frozen-feature cache): %s", obstacle)  # fmt: skip
            return None
        device = next((p.device for p in model.parameters()), torch.device("cpu"))
        parts, counts = [], []
        for batch in StoreLoader(graphs, batch_size=batch_size, indices=molecules):
            batch = batch.to(device)
            if pooled:
                parts.append(model.embed(batch))
            else:
                parts.append(model.encoder(batch))
                counts.append(torch.bincount(batch.batch, minlength=int(batch.num_graphs)).cpu().numpy())
        width = model.head.in_features if pooled else model.encoder.out_dim
        features = torch.cat(parts) if parts else torch.zeros(0, width, device=device)
        kind: Literal["pooled", "nodes"] = "pooled" if pooled else "nodes"
        logger.info("fine-tuning on stored %s encoder outputs of %d molecules (the encoder is frozen and in eval mode)", kind, len(molecules))
        return cls(kind, molecules, len(graphs), features, np.concatenate(counts).astype(np.int64) if counts else None)

    def embed(self, model: PropertyModel, idx: np.ndarray) -> Tensor:
        """``model.embed`` of the molecules ``idx`` from the stored outputs (the readout runs for ``"nodes"``).

        Shapes:
            idx: [B] molecule indices -> [B, readout dim]
        """
        rows = self.row[np.asarray(idx, dtype=np.int64)]
        if (rows < 0).any():
            raise ValueError(f"molecules {np.asarray(idx)[rows < 0][:5].tolist()} have no stored encoder outputs")
        device = self.features.device
        if self.kind == "pooled":
            return self.features.index_select(0, torch.from_numpy(rows).to(device))
        counts = self.counts[rows]
        nodes = self.features.index_select(0, torch.from_numpy(ranges_to_index(self.starts[rows], counts)).to(device))
        counts_t = torch.from_numpy(counts).to(device)
        graph = torch.repeat_interleave(torch.arange(len(rows), device=device), counts_t)  # [A_b]
        ptr = torch.from_numpy(offsets(counts)).to(device)
        return model.readout(nodes, graph, len(rows), ptr)

    def outputs(self, model: PropertyModel, idx: np.ndarray) -> Tensor:
        """``model(batch)`` for the molecules ``idx``, from the stored outputs: [B, T] (or [B, T, C] multiclass)."""
        return model.head_outputs(self.embed(model, idx))

    @torch.no_grad()
    def predict(self, model: PropertyModel, idx: np.ndarray, batch_size: int) -> np.ndarray:
        """Raw outputs for molecules ``idx`` in eval mode, as ``predict_graphs`` gives them; shape [M, T] on the CPU."""
        model.eval()
        idx = np.asarray(idx, dtype=np.int64)
        outs = [self.outputs(model, idx[i : i + batch_size]).float().cpu() for i in range(0, len(idx), batch_size)]
        if not outs:
            return np.zeros((0, model.config.num_tasks), dtype=np.float32)
        return torch.cat(outs).numpy()


__all__ = ["NODE_CACHE_MAX_BYTES", "FrozenFeatures", "frozen_feature_obstacle"]

"""GraphMAE: reconstruct masked atom types through a re-masked GNN decoder (Hou et al., KDD 2022).

Hou et al., "GraphMAE: Self-Supervised Masked Graph Autoencoders" (KDD 2022), in the setting of its
molecular transfer-learning code (``chem/pretraining.py``, ``chem/model.py``, ``chem/util.py``):

1. Mask 25% of each molecule's atoms (``mask_rate``): their features become the featurization
   scheme's atom mask token (``hu``: atom type 119, chirality 0), so the [MASK] token is the learned
   row 119 of the encoder's ``AtomEmbedding``, as in the reference (its ``MaskAtom`` writes
   ``[119, 0]`` into the 120-row atom table).
2. Encode the corrupted molecule: node representations ``h`` [N, D].
3. Decode: ``PReLU`` -> ``Linear(D, D, bias=False)`` (encoder-to-decoder projection) -> re-mask, i.e.
   set the masked atoms' rows to zero (``remask="zero"``, the reference; ``"token"`` writes a learned
   vector initialized to zero instead, the paper's [DMASK]) -> one GIN layer with its own bond
   embeddings and self-loops whose MLP is ``Linear(D, 2D) - ReLU - Linear(2D, C)``, C = 119 atom types.
   ``decoder="linear"`` is the reference's alternative: a single ``Linear(D, C)`` on ``h``, no
   projection and no re-masking.
4. Reconstruct what the reference reconstructs: the one-hot atom type (the first atom feature
   column, C = 119 classes; chirality is not reconstructed) of the masked atoms only, with the
   scaled cosine error ``mean_i (1 - cos(pred_i, onehot_i))^alpha`` and ``alpha = 1`` (the chem
   default ``--alpha_l 1.0``; the paper's gamma, larger for its node-classification datasets).

The reference masks ``int(n * 0.25 + 1)`` atoms of an ``n``-atom molecule; here ``ceil(n * 0.25)``
(at least one), the count ``molssl``'s attribute masking uses, which differs only when ``n / 4`` is a
whole number (one atom fewer here). Bond masking (``--mask_edge``, off by default there) is not
implemented. Training in the reference: 100 epochs of 256 molecules, Adam 1e-3, no weight decay.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from molssl.augment.masked_atoms import MaskedBatch, atom_type_classes, mask_attributes
from molssl.chem.schemes import FeaturizationSpec
from molssl.methods.base import (
    MethodConfig,
    MethodOutput,
    PretrainMethod,
    accuracy,
    check_fraction,
)
from molssl.nn.conv import GINConv
from molssl.nn.encoder import EncoderConfig
from molssl.nn.readout import MeanReadout
from molssl.ssl.losses import scaled_cosine_error

#: decoders of the reference's chem code that molssl builds
DECODERS = ("gin", "linear")
#: what the masked atoms' decoder inputs are replaced with
REMASKS = ("zero", "token")


@dataclass(frozen=True, kw_only=True)
class GraphMAEConfig(MethodConfig):
    """Options of GraphMAE (defaults of its molecular pretraining script).

    Attributes:
        mask_rate: fraction of each molecule's atoms masked (0.25): ``ceil(n * rate)``, at least one.
        alpha: exponent of the scaled cosine error, >= 1 (chem default 1.0).
        decoder: ``"gin"`` (one GIN layer, the reference's default) or ``"linear"``.
        remask: ``"zero"`` (the reference) or ``"token"`` (a learned decoder mask vector).
    """

    mask_rate: float = 0.25
    alpha: float = 1.0
    decoder: str = "gin"
    remask: str = "zero"

    def __post_init__(self) -> None:
        check_fraction("mask_rate", self.mask_rate)
        alpha = self.alpha
        if isinstance(alpha, bool) or not isinstance(alpha, (int, float)) or not 1.0 <= alpha < float("inf"):
            raise ValueError(f"alpha must be a finite number >= 1, got {alpha!r}")
        if self.decoder not in DECODERS:
            raise ValueError(f"unknown decoder {self.decoder!r}; valid decoders: {', '.join(DECODERS)}")
        if self.remask not in REMASKS:
            raise ValueError(f"unknown remask {self.remask!r}; valid choices: {', '.join(REMASKS)}")


class GraphMAEDecoder(nn.Module):
    """GraphMAE's decoder: PReLU, encoder-to-decoder projection, re-mask, one GIN layer to C outputs.

    Args:
        dim: size D of the encoder's node representations.
        num_classes: size C of the reconstruction target.
        scheme: the featurization spec, for the GIN layer's bond embeddings.
        kind: ``"gin"`` or ``"linear"`` (a single ``Linear(D, C)``, no re-masking).
        remask: ``"zero"`` or ``"token"``.

    Shapes:
        h: [N, D], edge_index: [2, E], edge_attr: [E, F_bond], masked: [N] (bool) -> [N, C]
    """

    def __init__(self, dim: int, num_classes: int, scheme: FeaturizationSpec, kind: str = "gin", remask: str = "zero") -> None:
        super().__init__()
        self.kind = kind
        if kind == "linear":
            self.linear = nn.Linear(dim, num_classes)
            return
        self.activation = nn.PReLU()
        self.encoder_to_decoder = nn.Linear(dim, dim, bias=False)
        self.token = nn.Parameter(torch.zeros(dim)) if remask == "token" else None
        self.conv = GINConv(dim, scheme.bond_vocab, scheme.self_loop_token)
        # the GIN MLP's last layer maps to the C targets instead of back to D (Linear(2D, C))
        self.conv.mlp[-1] = nn.Linear(2 * dim, num_classes)

    def forward(self, h: Tensor, edge_index: Tensor, edge_attr: Tensor, masked: Tensor) -> Tensor:
        if self.kind == "linear":
            return self.linear(h)
        x = self.encoder_to_decoder(self.activation(h))  # [N, D]
        fill = self.token.to(x.dtype) if self.token is not None else x.new_zeros(())
        x = torch.where(masked.unsqueeze(1), fill, x)  # the decoder must rebuild masked atoms from context
        return self.conv(x, edge_index, edge_attr)  # [N, C]


class GraphMAE(PretrainMethod):
    """Mask atoms, encode, re-mask and decode, reconstruct the masked atom types (Hou et al., KDD 2022).

    The collapse monitors see the mean-pooled encoder representations of the masked molecules.

    Shapes:
        batch.x: [N, F_atom], batch.edge_index: [2, E] (bond k as edges 2k and 2k+1),
        batch.ptr: [B + 1] -> loss []; embeddings: [B, D]
    """

    name = "graphmae"
    config_class = GraphMAEConfig
    collapse_advice = "lower the learning rate (lr), or raise mask_rate (a harder reconstruction)"

    def __init__(self, encoder_config: EncoderConfig, config: GraphMAEConfig | None = None) -> None:
        super().__init__(encoder_config, config)
        dim = self.encoder.out_dim
        self.num_classes = atom_type_classes(self.scheme)
        self.decoder = GraphMAEDecoder(dim, self.num_classes, self.scheme, self.config.decoder, self.config.remask)
        self.pool = MeanReadout(dim)

    def mask(self, batch: Any, generator: torch.Generator) -> MaskedBatch:
        """The masked batch and which atoms were masked (``atom_index``) with their types (``atom_target``)."""
        return mask_attributes(batch, self.scheme, self.config.mask_rate, generator)

    def forward(self, batch: Any, generator: torch.Generator) -> MethodOutput:
        masked = self.mask(batch, generator)
        corrupted = masked.batch
        h = self.encoder(corrupted)  # [N, D]
        is_masked = torch.zeros(h.size(0), dtype=torch.bool, device=h.device).index_fill_(0, masked.atom_index, True)
        pred = self.decoder(h, corrupted.edge_index, corrupted.edge_attr, is_masked)  # [N, C]
        pred_masked = pred.index_select(0, masked.atom_index).float()  # [M, C]
        target = F.one_hot(masked.atom_target, self.num_classes).to(pred_masked.dtype)  # [M, C]
        loss = scaled_cosine_error(pred_masked, target, self.config.alpha)
        graphs = self.pool(h, corrupted.batch, int(corrupted.num_graphs), getattr(corrupted, "ptr", None))
        metrics = {"atom_acc": accuracy(pred_masked, masked.atom_target)}
        return MethodOutput(loss, metrics, embeddings=graphs.detach())


__all__ = ["DECODERS", "REMASKS", "GraphMAE", "GraphMAEConfig", "GraphMAEDecoder"]

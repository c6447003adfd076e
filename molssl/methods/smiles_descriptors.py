"""MolBERT's descriptor regression on SMILES: predict a molecule's RDKit descriptors from its text, with MLM.

Fabian et al., "Molecular representation learning with language models and domain-relevant auxiliary
tasks" (2020): a BERT over SMILES pretrained with masked language modelling plus the regression of
standardized RDKit descriptors (their "PhysChem" task) from the pooled output; MLM + PhysChem was their
best combination. Here one forward pass of the corrupted sequence serves both: its token states at the
chosen positions predict the original tokens (``molssl.methods.mlm``, BERT's 15% and 80/10/10), its
pooled embedding predicts the descriptors through a two-layer MLP, and the loss is
``descriptor loss + mlm_weight * MLM loss``. With ``mlm_weight=0`` the sequence is not corrupted and only
the descriptors are regressed.

Targets are the graph method's (``molssl.methods.descriptors``, ``molssl.data.descriptor_targets``): every
RDKit 2D descriptor or a chosen subset, computed once per corpus and cached, standardized by the corpus
median and IQR and clipped; values RDKit could not compute are NaN and masked out of the MSE.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any, ClassVar, Mapping

import torch

from molssl.methods.base import MethodOutput, PretrainMethod
from molssl.methods.descriptors import DescriptorTargetsConfig, check_descriptor_options, prepare_descriptor_targets
from molssl.methods.mlm import MaskedLanguageModelling, MLMConfig
from molssl.ssl.heads import ProjectionHead
from molssl.tasks.losses import masked_mse


@dataclass(frozen=True, kw_only=True)
class SmilesDescriptorConfig(DescriptorTargetsConfig, MLMConfig):
    """Options of MolBERT-style pretraining: those of ``DescriptorTargetsConfig``, of ``MLMConfig``, and:

    Attributes:
        mlm_weight: weight of the masked-language-modelling loss (0: descriptors only, uncorrupted input).
    """

    mlm_weight: float = 1.0

    def __post_init__(self) -> None:
        DescriptorTargetsConfig.__post_init__(self)
        MLMConfig.__post_init__(self)
        if not (isinstance(self.mlm_weight, (int, float)) and not isinstance(self.mlm_weight, bool) and self.mlm_weight >= 0):
            raise ValueError(f"mlm_weight must be a number >= 0, got {self.mlm_weight!r}")

    def mlm_config(self) -> MLMConfig:
        """The masking options alone."""
        return MLMConfig(**{f.name: getattr(self, f.name) for f in dataclasses.fields(MLMConfig)})


class SmilesDescriptorPrediction(PretrainMethod):
    """Regress standardized RDKit descriptors from the pooled SMILES embedding, plus MLM (see the module docstring).

    Shapes:
        batch.ids: [B, L], batch.y: [B, K] float (NaN = masked) -> loss []; embeddings: [B, D]
    """

    name = "smiles_descriptors"
    config_class = SmilesDescriptorConfig
    modality: ClassVar[str] = "text"
    default_encoder: ClassVar[dict[str, Any]] = {"kind": "smiles_transformer"}
    collapse_advice = "lower the learning rate (lr)"

    @classmethod
    def check_options(cls, options: Mapping[str, Any] | None) -> None:
        """The user's options as the config checks them, ``num_targets`` counted from named ``descriptors``."""
        check_descriptor_options(cls.config_class, options)

    @classmethod
    def prepare_data(cls, data: Any, options: dict[str, Any], workers: int = 1) -> tuple[Any, dict[str, Any]]:
        """Compute (or read from the cache) the standardized descriptors of the source's SMILES and attach them.

        The names, the standardization statistics and what could not be computed are recorded in the
        source's description (``descriptor_targets``).
        """
        if not callable(getattr(data, "with_targets", None)) or getattr(data, "views", 1) != 1:
            raise ValueError(f"smiles_descriptors trains on one SMILES per molecule (molssl.text.data.SmilesSource with "
                             f"views=1), got {type(data).__name__}")  # fmt: skip
        targets, description, options = prepare_descriptor_targets(data, options, workers)
        return data.with_targets(targets, {"descriptor_targets": description["descriptor_targets"]}), options

    def __init__(self, encoder_config: Any, config: SmilesDescriptorConfig | None = None) -> None:
        super().__init__(encoder_config, config)
        dim = self.encoder.out_dim
        self.head = ProjectionHead(dim, self.config.num_targets, self.config.hidden_dim or dim, num_layers=2, batch_norm=False)
        self.mlm: MaskedLanguageModelling | None = None
        if self.config.mlm_weight > 0:
            mlm = MaskedLanguageModelling(encoder_config, self.config.mlm_config())
            # One encoder, two objectives: the MLM head trains with this method on this encoder, held as a
            # plain attribute so its weights appear once in state_dict and checkpoints.
            del mlm._modules["encoder"]
            object.__setattr__(mlm, "encoder", self.encoder)
            self.mlm = mlm

    def forward(self, batch: Any, generator: torch.Generator) -> MethodOutput:
        if batch.y is None:
            raise ValueError("smiles_descriptors needs descriptor targets on the batch (batch.y); open the data through "
                             "prepare_data (the pretraining loop does)")  # fmt: skip
        ids = batch.ids  # [B, L]
        metrics: dict[str, torch.Tensor] = {}
        if self.mlm is not None:
            mlm_loss, states, seen, metrics = self.mlm.masked_step(ids, generator)  # states of the corrupted ids
            pooled = self.encoder.pool(states, seen)  # [B, D]
        else:
            pooled = self.encoder(ids)  # [B, D]
        out = self.head(pooled).float()  # [B, K]
        y = batch.y.float().reshape(out.shape)
        loss = masked_mse(out, y)
        metrics = {**metrics, "descriptor_loss": loss.detach(), "observed": (~torch.isnan(y)).float().mean().detach()}
        if self.mlm is not None:
            metrics["mlm_loss"] = mlm_loss.detach()
            loss = loss + self.config.mlm_weight * mlm_loss
        return MethodOutput(loss, metrics, pooled.detach())

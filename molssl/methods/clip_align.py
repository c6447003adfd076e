"""Cross-modal alignment of one molecule's graph, SMILES and depiction encoders (CLIP-style).

Radford et al., "Learning Transferable Visual Models From Natural Language Supervision" (CLIP, ICML
2021), applied to the modalities a molecule comes in for free (as MolCLIP-like and MoleculeSTM-like
work pairs a molecule's structure with another view of it): every modality has its encoder
(``molssl.multimodal.encoder``) and a projection head into a shared space; for every pair of the
chosen modalities the symmetric InfoNCE of CLIP (``molssl.ssl.cross_modal_info_nce``) makes the i-th
molecule's projections in both modalities a positive pair and every other molecule of the batch a
negative. Under DDP the projections of all ranks are gathered (``molssl.ssl.gather_rows``), so the
negatives are the whole global batch, as CLIP's. The temperature is learned (CLIP: a log-parametrized
inverse temperature starting at 1/0.07, clipped at 100) or fixed. Optionally each modality keeps its
own objective on its own encoder, added with a weight: attribute masking on graphs
(``molssl.methods.attribute_masking``), masked language modelling on SMILES (``molssl.methods.mlm``),
MAE on depictions (``molssl.methods.mae``, a ViT image encoder); those methods' heads are used as they
are, over the shared encoder.

The data is a ``molssl.multimodal.source.MultimodalSource``; ``prepare_data`` builds the chosen
modalities of its molecules. After the run the trainer saves each aligned encoder as that modality's
ordinary checkpoint in ``<run>/encoders/<modality>/`` (``save_encoders``), which ``PropertyPredictor``
fine-tunes like any other.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from itertools import combinations
from pathlib import Path
from typing import Any, ClassVar

import torch
from torch import Tensor, nn

from molssl.methods.base import MethodConfig, MethodOutput, PretrainMethod
from molssl.methods.joint_embedding import retrieval_top1
from molssl.multimodal.modalities import MODALITIES, check_modalities
from molssl.ssl.checks import check_nonnegative_float, check_positive_float, check_positive_int
from molssl.ssl.gather import gather_rows
from molssl.ssl.heads import ProjectionHead
from molssl.ssl.losses import cross_modal_info_nce

#: each modality's own objective (a registered method name)
OWN_OBJECTIVES: dict[str, str] = {"graph": "attr_masking", "smiles": "mlm", "image": "mae"}


@dataclass(frozen=True, kw_only=True)
class CrossModalAlignmentConfig(MethodConfig):
    """Options of cross-modal alignment.

    Attributes:
        modalities: the 2 or 3 modalities aligned (``graph``, ``smiles``, ``image``; ``"graph,smiles"`` works).
        temperature: the softmax temperature (the starting one when learned; CLIP: 0.07).
        learn_temperature: learn it (CLIP), else keep it fixed.
        max_logit_scale: the learned inverse temperature is clipped at this (CLIP: 100).
        projection_dim: size of the shared space.
        projection_layers: layers of each modality's projection head (1: a linear map as CLIP's).
        gather: under DDP, contrast against the projections of every rank (the global batch).
        alignment_weight: weight of the alignment loss (the mean over pairs of modalities).
        graph_objective_weight: weight of attribute masking on the graph encoder (0: off).
        smiles_objective_weight: weight of masked language modelling on the SMILES encoder (0: off).
        image_objective_weight: weight of MAE on the image encoder (0: off; needs a ViT).
    """

    modalities: tuple[str, ...] = ("graph", "smiles")
    temperature: float = 0.07
    learn_temperature: bool = True
    max_logit_scale: float = 100.0
    projection_dim: int = 128
    projection_layers: int = 2
    gather: bool = True
    alignment_weight: float = 1.0
    graph_objective_weight: float = 0.0
    smiles_objective_weight: float = 0.0
    image_objective_weight: float = 0.0

    def __post_init__(self) -> None:
        names = check_modalities(self.modalities, least=2)
        object.__setattr__(self, "modalities", names)
        check_positive_float("temperature", self.temperature)
        check_positive_float("max_logit_scale", self.max_logit_scale)
        if 1 / self.temperature > self.max_logit_scale:
            raise ValueError(f"1 / temperature ({1 / self.temperature:g}) exceeds max_logit_scale ({self.max_logit_scale:g})")
        for name in ("learn_temperature", "gather"):
            if not isinstance(getattr(self, name), bool):
                raise ValueError(f"{name} must be a bool, got {getattr(self, name)!r}")
        check_positive_int("projection_dim", self.projection_dim)
        check_positive_int("projection_layers", self.projection_layers)
        check_nonnegative_float("alignment_weight", self.alignment_weight)
        for modality in MODALITIES:
            weight = check_nonnegative_float(f"{modality}_objective_weight", self.objective_weight(modality))
            if weight and modality not in names:
                raise ValueError(f"{modality}_objective_weight is set but {modality} is not among the modalities {list(names)}")

    def objective_weight(self, modality: str) -> float:
        """The weight of ``modality``'s own objective."""
        return getattr(self, f"{modality}_objective_weight")


def _sharing(method: PretrainMethod, encoder: nn.Module) -> PretrainMethod:
    """``method`` (an own objective) running on ``encoder``, which stays registered only in the aligned encoder."""
    del method._modules["encoder"]  # the copy it built; its heads fit ``encoder`` (same config)
    object.__setattr__(method, "encoder", encoder)  # a plain attribute: the weights are saved once, under encoder.*
    return method


class CrossModalAlignment(PretrainMethod):
    """CLIP's symmetric InfoNCE between every pair of the chosen modalities (see the module docstring).

    Shapes:
        batch: MultimodalBatch of B molecules -> loss []; embeddings, embeddings2: [B, projection_dim]
        (the first two modalities' projections)
    """

    name = "clip_align"
    config_class = CrossModalAlignmentConfig
    modality: ClassVar[str] = "multimodal"
    default_encoder: ClassVar[dict[str, Any]] = {"kind": "multimodal"}
    collapse_advice = "lower the learning rate (lr), or fix the temperature (learn_temperature=false)"

    def __init__(self, encoder_config: Any, config: CrossModalAlignmentConfig | None = None) -> None:
        super().__init__(encoder_config, config)
        config = self.config
        if set(self.encoder.config.modalities) != set(config.modalities):
            raise ValueError(f"the encoder has parts {list(self.encoder.config.modalities)} but the method aligns "
                             f"{list(config.modalities)}; give encoder options only of the aligned modalities")  # fmt: skip
        dims = self.encoder.config.out_dims
        self.projections = nn.ModuleDict({
            m: ProjectionHead(dims[m], config.projection_dim, hidden_dim=dims[m], num_layers=config.projection_layers,
                              batch_norm=False)
            for m in config.modalities
        })  # fmt: skip
        scale = torch.tensor(math.log(1 / config.temperature))
        if config.learn_temperature:
            self.log_logit_scale = nn.Parameter(scale)
        else:
            self.register_buffer("log_logit_scale", scale)
        self.objectives = nn.ModuleDict({m: self._own_objective(m) for m in config.modalities if config.objective_weight(m)})

    def _own_objective(self, modality: str) -> PretrainMethod:
        from molssl.methods import get_method

        method = get_method(OWN_OBJECTIVES[modality])(self.encoder.config.encoders[modality])
        return _sharing(method, self.encoder.encoders[modality])

    @classmethod
    def prepare_data(cls, data: Any, options: dict[str, Any], workers: int = 1) -> tuple[Any, dict[str, Any]]:
        """The multimodal source built in the chosen modalities (featurized, tokenized, depicted once)."""
        if not callable(getattr(data, "with_modalities", None)):
            raise ValueError(f"clip_align trains on a molssl.multimodal.source.MultimodalSource, got {type(data).__name__}")
        modalities = cls.config_class.from_dict(options).modalities
        return data.with_modalities(modalities, workers), options

    def set_total_steps(self, total_steps: int) -> None:
        for objective in self.objectives.values():
            objective.set_total_steps(total_steps)

    def logit_scale(self) -> Tensor:
        """The inverse temperature, clipped at ``max_logit_scale``."""
        return self.log_logit_scale.exp().clamp(max=self.config.max_logit_scale)

    def embed(self, batch: Any, projected: bool = True) -> dict[str, Tensor]:
        """Each modality's embeddings of ``batch``: projected into the shared space (float32), or the encoders'.

        Shapes:
            -> {modality: [B, projection_dim or D_modality]}
        """
        embeddings = self.encoder.embed(batch)
        if not projected:
            return embeddings
        return {m: self.projections[m](h).float() for m, h in embeddings.items()}

    def forward(self, batch: Any, generator: torch.Generator) -> MethodOutput:
        config = self.config
        z = self.embed(batch)  # {m: [B, P]}
        keys = {m: gather_rows(zm) if config.gather else (zm, 0) for m, zm in z.items()}  # {m: ([W*B, P], offset)}
        scale = self.logit_scale()
        metrics: dict[str, Tensor] = {"logit_scale": scale.detach()}
        pair_losses = []
        for a, b in combinations(config.modalities, 2):
            (a_keys, offset), (b_keys, _) = keys[a], keys[b]
            pair = cross_modal_info_nce(z[a], z[b], scale, a_keys=a_keys, b_keys=b_keys, offset=offset)
            pair_losses.append(pair)
            metrics[f"{a}_{b}_loss"] = pair.detach()
            metrics[f"{a}_{b}_top1"] = (retrieval_top1(z[a], z[b]) + retrieval_top1(z[b], z[a])) / 2
        loss = config.alignment_weight * torch.stack(pair_losses).mean()
        for m, objective in self.objectives.items():
            own = objective(batch.part(m), generator)
            loss = loss + config.objective_weight(m) * own.loss
            metrics[f"{m}_{OWN_OBJECTIVES[m]}_loss"] = own.loss.detach()
        first, second = config.modalities[:2]
        return MethodOutput(loss, metrics, z[first].detach(), z[second].detach())

    @classmethod
    def from_run(cls, run: str | Path) -> "CrossModalAlignment":
        """The aligned model of a finished (or checkpointed) run, projection heads included, in eval mode.

        Raises:
            ValueError: the run is not a ``clip_align`` run.
            CheckpointError: it has no readable training state.
        """
        import json

        from molssl.checkpoint import load_weights, read_checkpoint

        run = Path(run)
        config = json.loads((run / "config.json").read_text())
        if config.get("method") != cls.name:
            raise ValueError(f"{run}: a {config.get('method')!r} run, not a {cls.name} run")
        method = cls(config["encoder"], cls.config_class.from_dict(config["method_config"]))
        tensors = read_checkpoint(run / "state").state_dict
        load_weights(method, {k.removeprefix("model."): v for k, v in tensors.items() if k.startswith("model.")}, run / "state")
        return method.eval()

    def save_encoders(self, directory: str | Path, source: Any, extra: dict[str, Any] | None = None) -> dict[str, Path]:
        """Save each aligned encoder as its modality's ordinary encoder checkpoint, ``directory/<modality>/``.

        ``source`` is the ``MultimodalSource`` trained on: each checkpoint records its modality's part
        (the scheme, the tokenizer, the image normalization), so fine-tuning checks its data against it.
        """
        from molssl.nn.pretrained import save_encoder

        saved = {}
        for m in self.config.modalities:
            path = Path(directory) / m
            save_encoder(self.encoder.encoders[m], path, source=source.part(m),
                         extra={**(extra or {}), "aligned_with": [o for o in self.config.modalities if o != m]})  # fmt: skip
            saved[m] = path
        return saved


__all__ = ["OWN_OBJECTIVES", "CrossModalAlignment", "CrossModalAlignmentConfig"]

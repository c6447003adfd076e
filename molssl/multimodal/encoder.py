"""One encoder per modality of the same molecules, as one registered encoder kind (``"multimodal"``).

A cross-modal method (``molssl.methods.clip_align``) pretrains a graph encoder, a SMILES encoder and an
image encoder together; the loop builds, checkpoints and resumes them as one module of this kind. Each
part is an ordinary encoder of its own kind (``"gnn"``, ``"smiles_transformer"``, ``"resnet"``/``"vit"``)
and is saved alone afterwards as that modality's encoder checkpoint, which fine-tuning loads like any
other. The options of a part are given nested (``{"graph": {"num_layers": 3}}``) or dotted
(``{"graph.num_layers": 3}``, what ``--encoder-option graph.num_layers=3`` and the data's decided options,
``MultimodalSource.encoder_options``, give); a part's options start from its modality's default below.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, ClassVar

import torch
from torch import Tensor, nn

from molssl.multimodal.modalities import MODALITIES
from molssl.nn.encoders import build_encoder, config_from_dict, config_to_dict, register_encoder
from molssl.nn.readout import MeanReadout

#: each modality's encoder unless told otherwise: Hu et al.'s GIN (5 x 300, JK last), the default SMILES
#: transformer, a ResNet-18 with the small-image stem
DEFAULT_ENCODERS: dict[str, dict[str, Any]] = {
    "graph": {"kind": "gnn", "conv": "gin", "num_layers": 5, "emb_dim": 300, "jk": "last", "dropout": 0.0},
    "smiles": {"kind": "smiles_transformer"},
    "image": {"kind": "resnet", "small_images": True},
}


@dataclass(frozen=True)
class MultimodalEncoderConfig:
    """The encoder config of every modality (plain data through ``to_dict``/``from_dict``).

    Attributes:
        encoders: modality (``graph``, ``smiles``, ``image``) -> that part's registered encoder config.
    """

    kind: ClassVar[str] = "multimodal"
    encoders: Mapping[str, Any]

    def __post_init__(self) -> None:
        unknown = sorted(set(self.encoders) - set(MODALITIES))
        if unknown or not self.encoders:
            raise ValueError(f"a multimodal encoder needs parts among {', '.join(MODALITIES)}, got {sorted(self.encoders)}")
        object.__setattr__(self, "encoders", {m: self.encoders[m] for m in MODALITIES if m in self.encoders})

    @property
    def modalities(self) -> tuple[str, ...]:
        return tuple(self.encoders)

    @property
    def out_dims(self) -> dict[str, int]:
        """Embedding size of each part."""
        return {m: config.out_dim for m, config in self.encoders.items()}

    @property
    def out_dim(self) -> int:
        """Size of the concatenated embedding of all parts (``MultimodalEncoder.forward``)."""
        return sum(self.out_dims.values())

    def to_dict(self) -> dict[str, Any]:
        return {m: config_to_dict(config) for m, config in self.encoders.items()}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> "MultimodalEncoderConfig":
        """Build from nested (``{"graph": {...}}``) and dotted (``{"graph.emb_dim": 64}``) options; dotted win.

        Raises:
            ValueError: a key that names no modality (the valid forms listed), or a part's invalid options.
        """
        parts: dict[str, dict[str, Any]] = {}
        dotted = []
        for key, value in dict(data).items():
            modality, _, option = str(key).partition(".")
            if modality not in MODALITIES:
                raise ValueError(f"unknown multimodal encoder option {key!r}; give <modality>.<option> or <modality>: "
                                 f"{{options}} with modality one of {', '.join(MODALITIES)}")  # fmt: skip
            if option:
                dotted.append((modality, option, value))
            else:
                nested = value.to_dict() if hasattr(value, "to_dict") else dict(value)
                parts.setdefault(modality, {}).update(nested)
        for modality, option, value in dotted:
            parts.setdefault(modality, {})[option] = value
        encoders = {}
        for modality, options in parts.items():
            default = DEFAULT_ENCODERS[modality]
            kind = options.get("kind", default["kind"])
            base = default if kind == default["kind"] else {"kind": kind}
            encoders[modality] = config_from_dict({**base, **options})
        return cls(encoders)


class MultimodalEncoder(nn.Module):
    """The encoders of the modalities of ``config``, each embedding a molecule of its batch part.

    Shapes:
        embed: MultimodalBatch of B molecules -> {modality: [B, D_modality]}
        forward: -> [B, sum of D_modality] (the embeddings concatenated in the config's order)
    """

    def __init__(self, config: MultimodalEncoderConfig) -> None:
        super().__init__()
        self.config = config
        self.encoders = nn.ModuleDict({m: build_encoder(c) for m, c in config.encoders.items()})
        self.graph_readout = MeanReadout(config.encoders["graph"].out_dim) if "graph" in config.encoders else None

    @property
    def out_dim(self) -> int:
        return self.config.out_dim

    def embed_part(self, modality: str, part: Any) -> Tensor:
        """The molecule embeddings of one modality's batch: a mean-pooled graph, the pooled SMILES, the image's.

        Shapes:
            part: B molecules -> [B, D_modality]
        """
        encoder = self.encoders[modality]
        if modality == "graph":
            h = encoder(part)  # [N, D] atom states
            return self.graph_readout(h, part.batch, int(part.num_graphs), getattr(part, "ptr", None))
        if modality == "smiles":
            return encoder(part.ids if part.views == 1 else part.view(0))
        return encoder(part.normalized())

    def embed(self, batch: Any) -> dict[str, Tensor]:
        """Every modality's embeddings of ``batch`` (a ``MultimodalBatch``), row i of each the same molecule."""
        return {m: self.embed_part(m, batch.part(m)) for m in self.encoders}

    def forward(self, batch: Any) -> Tensor:
        return torch.cat(list(self.embed(batch).values()), dim=1)


register_encoder("multimodal", MultimodalEncoderConfig, MultimodalEncoder)

__all__ = ["DEFAULT_ENCODERS", "MultimodalEncoder", "MultimodalEncoderConfig"]

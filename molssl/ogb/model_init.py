"""The model of an OGB harness run: its encoder config and features, the checkpoint it starts from, what it counts.

``resolve_model`` turns an ``OgbRunConfig`` into the encoder config, the feature set and the pretrained
weights (``init``); ``parameter_counts`` gives the leaderboard's #Params; ``declared_external_data`` and
``default_method`` word what the leaderboard table says about the model.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Mapping

import torch

from molssl.files import file_sha256
from molssl.nn.encoder import EncoderConfig, GNNEncoder
from molssl.ogb.features import FULL, SIMPLE, features_of_scheme, scheme_for
from molssl.ogb.run_config import DEFAULT_ENCODER, OGB_ENCODERS, OgbRunConfig
from molssl.tasks.model import PropertyModel, count_parameters

logger = logging.getLogger(__name__)

_DISPLAY = {"gin": "GIN", "gcn": "GCN", "sage": "GraphSAGE", "gat": "GAT"}


@dataclass
class PretrainedInit:
    """A checkpoint a run starts from: its encoder weights and what it records."""

    path: Path
    state: dict[str, torch.Tensor]
    kind: str
    extra: dict[str, Any]
    digest: str
    encoder_parameters: int


def resolve_model(config: OgbRunConfig) -> tuple[EncoderConfig, str, PretrainedInit | None]:
    """The encoder config, the feature set and the pretrained weights (``init``) of a run.

    Raises:
        SchemeMismatchError: ``config.features`` is not what the checkpoint was built for.
        ValueError: an explicit encoder option differs from the checkpoint's.
    """
    from molssl.checkpoint import CONFIG_FILE, load_checkpoint
    from molssl.nn.pretrained import load_encoder_state

    if config.init is None:
        features = config.features or FULL
        conv, virtual = OGB_ENCODERS[config.encoder or DEFAULT_ENCODER]
        encoder = EncoderConfig(
            scheme=scheme_for(features), conv=conv, virtual_node=virtual, num_layers=config.num_layers or 5,
            emb_dim=config.emb_dim or 300, jk=config.jk or "last", residual=bool(config.residual), dropout=config.dropout,
        )  # fmt: skip
        return encoder, features, None
    path = Path(config.init)
    ckpt_config, _, extra = load_checkpoint(path)
    stored, _ = load_encoder_state(path)
    features = config.features or features_of_scheme(stored.scheme)
    stored, state = load_encoder_state(path, expected_scheme=scheme_for(features))  # a scheme mismatch raises
    wanted = {"num_layers": config.num_layers, "emb_dim": config.emb_dim, "jk": config.jk, "residual": config.residual}
    if config.encoder is not None:
        wanted["conv"], wanted["virtual_node"] = OGB_ENCODERS[config.encoder]
    differing = {k: (v, getattr(stored, k)) for k, v in wanted.items() if v is not None and v != getattr(stored, k)}
    if differing:
        listed = ", ".join(f"{k}={given!r} (checkpoint: {have!r})" for k, (given, have) in differing.items())
        raise ValueError(f"the encoder of {path} differs from the one asked for: {listed}; leave these options out to use the checkpoint's")
    encoder = EncoderConfig.from_dict({**stored.to_dict(), "dropout": config.dropout})
    init = PretrainedInit(path=path, state=state, kind=str(ckpt_config.get("kind")), extra=dict(extra or {}),
                 digest=file_sha256(path / CONFIG_FILE), encoder_parameters=count_parameters(GNNEncoder(stored)))  # fmt: skip
    return encoder, features, init


def declared_external_data(init: PretrainedInit | None, given: str | None) -> dict[str, Any]:
    if init is None:
        return {"used": given is not None, "description": given}
    description = given
    if description is None:
        pretraining = init.extra.get("pretraining") if isinstance(init.extra.get("pretraining"), Mapping) else {}
        trained_on = (init.extra.get("info") or {}).get("source") if init.kind == "property_predictor" else None
        candidates = (init.extra.get("external_data"), *(pretraining.get(k) for k in ("data", "corpus", "dataset")),
                      f"labels of {trained_on}" if trained_on else None)  # fmt: skip
        for value in candidates:
            if isinstance(value, str) and value:
                description = value
                break
    if description is None:
        logger.warning("the checkpoint %s does not record its pretraining data; pass external_data= (the leaderboard asks for it)", init.path)
    return {"used": True, "description": description, "checkpoint": str(init.path), "checkpoint_kind": init.kind}


def default_method(encoder: EncoderConfig, features: str, external: dict[str, Any], pretrained: bool) -> str:
    name = _DISPLAY.get(encoder.conv, encoder.conv.upper()) + ("-virtual" if encoder.virtual_node else "")
    if pretrained:
        name += f" (pre-trained on {external['description']})" if external.get("description") else " (pre-trained)"
    elif external.get("used"):
        name += f" (external data: {external['description']})"
    if features == SIMPLE:
        name += " (simple features)"
    elif features != FULL:
        name += f" (molssl {features} features)"
    return name


def parameter_counts(model: PropertyModel, features: str, init: PretrainedInit | None = None) -> dict[str, Any]:
    """The leaderboard's #Params (``all_stages``: every parameter of every training stage) and its parts.

    ``model`` counts every parameter of the fine-tuned model. With the ``full``/``simple`` features,
    ``reserved_embedding_rows`` are the embedding rows of the ogb schemes' mask tokens, which OGB's
    features never index; without them the count equals that of OGB's example model of the same
    configuration (e.g. GIN-virtual, 5 x 300, one task: 3,336,606 with OGB 1.3.6's feature sizes).
    With ``init``, the pretraining stage's count comes from the checkpoint's ``extra["num_parameters"]``
    (its parameters beyond the shared encoder are added), else it is flagged as unknown.
    """
    from molssl.nn.embeddings import CategoricalEmbedding

    total = count_parameters(model)
    reserved = 0
    if features in (FULL, SIMPLE):  # the ogb schemes' mask-token rows, which OGB's features never index
        reserved = sum(len(m.vocab) * m.dim for m in model.modules() if isinstance(m, CategoricalEmbedding))
    out: dict[str, Any] = {"model": total, "reserved_embedding_rows": reserved, "model_without_reserved_rows": total - reserved,
                           "pretraining_stage": None, "all_stages": total}  # fmt: skip
    if init is not None:
        stage = init.extra.get("num_parameters")
        if isinstance(stage, int) and not isinstance(stage, bool) and stage >= init.encoder_parameters:
            out["pretraining_stage"] = stage
            out["all_stages"] = total + stage - init.encoder_parameters  # the encoder is shared by both stages
        else:
            out["pretraining_stage_unknown"] = True
    return out



__all__ = ["PretrainedInit", "declared_external_data", "default_method", "parameter_counts", "resolve_model"]

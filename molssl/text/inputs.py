"""What a fine-tuned text model reads: each molecule's token ids, batched by the fine-tuning loader.

``TokenizedMolecules`` stands where a graph model's ``GraphArrays`` stand in ``molssl.tasks``
(``finetune``, ``predict_graphs``, ``StoreLoader``): same length, same indices, and a ``collate`` that
turns a list of molecule indices (and the labels ``{"y": ...}``) into a ``TokenBatch``. Molecules are
tokenized once, with the encoder's own vocabulary; unknown tokens and truncated SMILES are counted.

Which molecules a text model keeps is decided exactly as for a graph model (the graph featurization of
``CHECK_SCHEME`` must succeed), so a text and a graph model are fitted and scored on identical molecules,
splits and seeds; the same graphs give the training domain.
"""

from __future__ import annotations

from typing import Any, Sequence

import numpy as np

from molssl.text.batch import TokenBatch, pad_ids
from molssl.text.encoder import SmilesTransformerConfig

#: the graph featurization that decides which molecules a text model keeps (as a GIN fitted on the same data)
CHECK_SCHEME = "hu"


class TokenizedMolecules:
    """Token ids of molecules, collated into ``TokenBatch`` es.

    Args:
        smiles: the molecules, as written in the data.
        config: the encoder (its vocabulary and ``max_length``).
    """

    def __init__(self, smiles: Sequence[str], config: SmilesTransformerConfig) -> None:
        tokenizer = config.tokenizer()
        encodings = [tokenizer.encode(s, max_length=config.max_length) for s in smiles]
        self.ids = [e.ids for e in encodings]
        self.unknown_tokens = sum(e.unknown for e in encodings)
        self.truncated = sum(e.truncated for e in encodings)

    def __len__(self) -> int:
        return len(self.ids)

    def collate(self, indices: np.ndarray, extra: dict[str, Any] | None = None) -> TokenBatch:
        """The batch of molecules ``indices``; ``extra["y"]`` ([B, T] labels) rides along.

        Shapes:
            indices: [B] -> TokenBatch.ids [B, L]
        """
        y = None if extra is None else extra.get("y")
        return TokenBatch(pad_ids([self.ids[i] for i in np.asarray(indices).tolist()]), y=y)

    def describe(self) -> dict[str, int]:
        """Counts worth reporting: molecules, unknown tokens, truncated SMILES."""
        return {"molecules": len(self), "unknown_tokens": self.unknown_tokens, "truncated": self.truncated}


def text_encoder_config(encoder: Any, options: dict[str, Any]) -> SmilesTransformerConfig | None:
    """The text encoder ``PropertyPredictor(encoder=...)`` asks for, or None when it asks for a GNN.

    ``encoder`` is a ``SmilesTransformerConfig`` or ``"smiles_transformer"`` (``"smiles-transformer"``), then
    ``options`` are its fields plus ``size`` (a preset of ``molssl.text.encoder.PRESETS``, default ``tiny``).
    """
    if isinstance(encoder, SmilesTransformerConfig):
        return encoder
    if encoder not in ("smiles_transformer", "smiles-transformer"):
        return None
    options = dict(options)
    return SmilesTransformerConfig.preset(options.pop("size", "tiny"), **options)


def molecule_scheme(encoder_config: Any) -> Any:
    """The graph featurization that decides which molecules a model keeps: a GNN's own, ``CHECK_SCHEME`` for text
    and image models."""
    from molssl.chem.schemes import get_spec
    from molssl.nn.encoder import EncoderConfig

    return encoder_config.scheme if isinstance(encoder_config, EncoderConfig) else get_spec(CHECK_SCHEME)


def model_inputs(encoder_config: Any, graphs: Any, smiles: Sequence[str], preprocessing: Any = None) -> Any:
    """What the model reads for the kept molecules: their ``graphs`` (GNN), their tokens (text), or their depictions
    (an image encoder: drawn and normalized as ``preprocessing``, its checkpoint's record, says)."""
    from molssl.vision.molecule_inputs import DepictedMolecules, is_image_encoder

    if isinstance(encoder_config, SmilesTransformerConfig):
        return TokenizedMolecules(smiles, encoder_config)
    if is_image_encoder(encoder_config):
        if preprocessing is None:
            raise ValueError("an image model reads depictions prepared as its pretrained encoder records: fit it from a "
                             "pretrained image encoder (pretrained=..., --pretrained)")  # fmt: skip
        return DepictedMolecules(smiles, preprocessing)
    return graphs

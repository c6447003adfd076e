"""Masked language modelling on SMILES tokens (BERT, Devlin et al. 2019; ChemBERTa, MolBERT, SMILES-BERT).

Devlin et al., "BERT: Pre-training of Deep Bidirectional Transformers for Language Understanding"
(NAACL 2019), applied to SMILES as ChemBERTa (Chithrananda et al. 2020), MolBERT (Fabian et al. 2020) and
SMILES-BERT (Wang et al. 2019) do: 15% of each sequence's real tokens (never ``[CLS]``, ``[SEP]``,
``[PAD]`` or ``[UNK]``) are chosen; of those, 80% become ``[MASK]``, 10% a random vocabulary token and
10% stay as they are; the encoder's token states at the chosen positions predict the original tokens
through an MLM head (BERT's ``Linear - GELU - LayerNorm - Linear(D, V)``), trained with cross-entropy.

``masking="tokens"`` chooses exactly ``round(rate * n)`` (at least one) of a sequence's ``n`` tokens
(``molssl.ssl.masking.ratio_mask``); ``masking="spans"`` chooses non-overlapping runs of
``span_length`` consecutive tokens (SpanBERT, Joshi et al. 2020; ``molssl.ssl.masking.span_mask``),
placed over the longest sequence's token positions, so a shorter sequence gets the spans that fall on
its tokens (on average its share of ``rate``).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, ClassVar

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from molssl.methods.base import MethodConfig, MethodOutput, PretrainMethod, accuracy
from molssl.ssl.checks import check_fraction, check_positive_int
from molssl.ssl.masking import ratio_mask, span_mask
from molssl.text.tokenizer import SPECIAL_TOKENS, SmilesTokenizer

#: ids below this are special tokens: never chosen, never drawn as replacements
NUM_SPECIAL = len(SPECIAL_TOKENS)

MLM_MASKINGS = ("tokens", "spans")


@dataclass(frozen=True, kw_only=True)
class MLMConfig(MethodConfig):
    """Options of masked language modelling (defaults: BERT).

    Attributes:
        mask_rate: fraction of each sequence's real tokens chosen for prediction.
        mask_token_rate: fraction of the chosen tokens replaced by ``[MASK]``.
        random_token_rate: fraction of the chosen tokens replaced by a random vocabulary token (the
            rest stay unchanged).
        masking: ``"tokens"`` (single tokens) or ``"spans"`` (runs of ``span_length`` tokens).
        span_length: tokens per span, for ``masking="spans"``.
    """

    mask_rate: float = 0.15
    mask_token_rate: float = 0.8
    random_token_rate: float = 0.1
    masking: str = "tokens"
    span_length: int = 3

    def __post_init__(self) -> None:
        check_fraction("mask_rate", self.mask_rate)
        check_fraction("mask_token_rate", self.mask_token_rate, low_open=False)
        check_fraction("random_token_rate", self.random_token_rate, low_open=False)
        if self.mask_token_rate + self.random_token_rate > 1:
            raise ValueError(f"mask_token_rate + random_token_rate must be <= 1, got "
                             f"{self.mask_token_rate} + {self.random_token_rate}")  # fmt: skip
        if self.masking not in MLM_MASKINGS:
            raise ValueError(f"unknown masking {self.masking!r}; valid maskings: {', '.join(MLM_MASKINGS)}")
        check_positive_int("span_length", self.span_length)


def choose_targets(ids: Tensor, config: MLMConfig, generator: torch.Generator) -> Tensor:
    """The positions to predict: ``config.mask_rate`` of every row's real (non-special) tokens.

    Shapes:
        ids: [B, L] -> [B, L] bool
    """
    real = ids >= NUM_SPECIAL  # [B, L]
    counts = real.sum(1)  # [B]
    rank = real.long().cumsum(1) - 1  # [B, L], index of each real token among its row's real tokens
    if config.masking == "tokens":
        ptr = torch.cat([counts.new_zeros(1), counts.cumsum(0)])  # [B + 1]
        flat = ratio_mask(ptr, config.mask_rate, num_elements=int(ptr[-1]), generator=generator)  # [N_real]
        chosen = torch.zeros_like(real)
        chosen[real] = flat  # boolean indexing walks rows in order, as the segments of ``ptr``
        return chosen
    width = max(int(counts.max()), config.span_length)
    spans = span_mask(ids.size(0), width, config.mask_rate, config.span_length, generator=generator, device=ids.device)
    return real & spans.gather(1, rank.clamp(min=0, max=width - 1))  # [B, L]


def corrupt(ids: Tensor, targets: Tensor, config: MLMConfig, generator: torch.Generator, vocab_size: int,
            mask_id: int = SmilesTokenizer.mask_id) -> Tensor:  # fmt: skip
    """BERT's 80/10/10 corruption of the chosen positions: ``[MASK]``, a random real token, or unchanged.

    Shapes:
        ids, targets: [B, L] -> [B, L]
    """
    draw = torch.rand(ids.shape, generator=generator, device=ids.device)  # [B, L]
    random_ids = torch.randint(NUM_SPECIAL, vocab_size, ids.shape, generator=generator, device=ids.device)
    masked = targets & (draw < config.mask_token_rate)
    randomized = targets & (draw >= config.mask_token_rate) & (draw < config.mask_token_rate + config.random_token_rate)
    return torch.where(masked, torch.full_like(ids, mask_id), torch.where(randomized, random_ids, ids))


class MaskedLanguageModelling(PretrainMethod):
    """Predict the chosen tokens of corrupted SMILES (BERT's MLM; see the module docstring).

    Shapes:
        batch.ids: [B, L] -> loss []; embeddings: [B, D] (pooled states of the corrupted input)
    """

    name = "mlm"
    config_class = MLMConfig
    modality: ClassVar[str] = "text"
    default_encoder: ClassVar[dict[str, Any]] = {"kind": "smiles_transformer"}
    collapse_advice = "lower the learning rate (lr)"

    def __init__(self, encoder_config: Any, config: MLMConfig | None = None) -> None:
        super().__init__(encoder_config, config)
        dim = self.encoder.out_dim
        self.vocab_size = encoder_config.vocab_size
        self.head = nn.Sequential(nn.Linear(dim, dim), nn.GELU(), nn.LayerNorm(dim), nn.Linear(dim, self.vocab_size))

    def masked_step(self, ids: Tensor, generator: torch.Generator) -> tuple[Tensor, Tensor, Tensor, dict[str, Tensor]]:
        """Choose and corrupt tokens of ``ids``, encode the corrupted sequences and score the chosen tokens.

        Shapes:
            ids: [B, L] -> (loss [], states [B, L, D], corrupted [B, L], metrics)
        """
        targets = choose_targets(ids, self.config, generator)  # [B, L]
        corrupted = corrupt(ids, targets, self.config, generator, self.vocab_size)
        states = self.encoder.forward_tokens(corrupted)  # [B, L, D]
        logits = self.head(states[targets]).float()  # [M, V]
        truth = ids[targets]  # [M]
        loss = F.cross_entropy(logits, truth) if truth.numel() else states.sum() * 0.0
        metrics = {"accuracy": accuracy(logits, truth),
                   "mask_fraction": (targets.sum() / (ids >= NUM_SPECIAL).sum().clamp(min=1)).detach()}  # fmt: skip
        return loss, states, corrupted, metrics

    def forward(self, batch: Any, generator: torch.Generator) -> MethodOutput:
        ids = batch.ids if batch.views == 1 else batch.view(0)  # [B, L]
        loss, states, corrupted, metrics = self.masked_step(ids, generator)
        return MethodOutput(loss, metrics, self.encoder.pool(states, corrupted).detach())

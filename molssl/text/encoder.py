"""A pre-LN transformer encoder over SMILES tokens, with its plain-data config (kind ``"smiles_transformer"``).

The BERT-style encoder of the SMILES language models (ChemBERTa, Chithrananda et al. 2020; MolBERT,
Fabian et al. 2020; SMILES-BERT, Wang et al. 2019) with the pre-LN layout of Xiong et al., "On Layer
Normalization in the Transformer Architecture" (ICML 2020), which trains without warm-up tricks at small
scale: ``x + Attn(LN(x))``, ``x + MLP(LN(x))``, a final LN. Positions are learned absolute embeddings or
rotary (Su et al., "RoFormer", 2021). Attention is ``F.scaled_dot_product_attention`` with a key-padding
mask; padding is token id 0 (``[PAD]``), so the ids alone say which positions are real.

Sizes go from ``tiny`` (CPU tests) to ChemBERTa's 6 layers x 12 heads x 768 (``PRESETS``). The config
carries the whole vocabulary (``molssl.text.tokenizer``), so an encoder checkpoint is self-contained and a
model is never fed ids of another vocabulary (``check_tokenizer``).
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import Any, ClassVar, Mapping

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from molssl.nn.encoders import register_encoder
from molssl.peft.attach import PeftSites
from molssl.ssl.checks import check_positive_int, check_unit_interval, kind_config_kwargs
from molssl.text.tokenizer import SmilesTokenizer

POSITIONS = ("learned", "rotary")
POOLINGS = ("cls", "mean")
#: named sizes: ``tiny`` for CPU tests, ``small``, and ChemBERTa's base size
PRESETS: dict[str, dict[str, Any]] = {
    "tiny": {"dim": 64, "depth": 2, "heads": 4},
    "small": {"dim": 256, "depth": 6, "heads": 8},
    "chemberta": {"dim": 768, "depth": 6, "heads": 12},
}


def _default_vocabulary() -> dict[str, Any]:
    from molssl.text.default_vocabulary import default_tokenizer

    return default_tokenizer().to_dict()


@dataclass(frozen=True, kw_only=True)
class SmilesTransformerConfig:
    """What a ``SmilesTransformer`` is (plain data).

    Attributes:
        vocabulary: the tokenizer's ``to_dict()`` (default: ``smiles_v1``); its size sets the embedding rows.
        dim: model width D.
        depth: number of transformer blocks.
        heads: attention heads (must divide ``dim``).
        mlp_ratio: hidden size of each block's MLP, as a multiple of ``dim``.
        max_length: most tokens per sequence, ``[CLS]`` and ``[SEP]`` included.
        positions: ``"learned"`` absolute position embeddings or ``"rotary"`` (RoPE on queries and keys).
        dropout: dropout on attention weights, residual branches and embeddings.
        pooling: molecule embedding: the ``[CLS]`` token's output or the mean over real tokens.
    """

    kind: ClassVar[str] = "smiles_transformer"
    #: the linear layers LoRA adapts unless told otherwise: each block's attention projections (Hu et al. 2022
    #: adapt attention weights); declaring it marks the encoder as supporting PEFT (``molssl.nn.peft_sites``)
    peft_lora_targets: ClassVar[tuple[str, ...]] = ("blocks.*.qkv", "blocks.*.proj")

    vocabulary: dict[str, Any] = field(default_factory=_default_vocabulary)
    dim: int = 64
    depth: int = 2
    heads: int = 4
    mlp_ratio: float = 4.0
    max_length: int = 128
    positions: str = "learned"
    dropout: float = 0.1
    pooling: str = "cls"

    def __post_init__(self) -> None:
        tokenizer = SmilesTokenizer.from_dict(self.vocabulary)  # validates the vocabulary
        object.__setattr__(self, "vocabulary", tokenizer.to_dict())
        for name in ("dim", "depth", "heads", "max_length"):
            check_positive_int(name, getattr(self, name))
        if self.dim % self.heads or (self.dim // self.heads) % 2:
            raise ValueError(f"heads ({self.heads}) must divide dim ({self.dim}) into an even head size")
        if not isinstance(self.mlp_ratio, (int, float)) or self.mlp_ratio <= 0:
            raise ValueError(f"mlp_ratio must be > 0, got {self.mlp_ratio!r}")
        if self.max_length < 3:
            raise ValueError(f"max_length must be >= 3 ([CLS], a token, [SEP]), got {self.max_length}")
        check_unit_interval("dropout", self.dropout)
        if self.positions not in POSITIONS:
            raise ValueError(f"unknown positions {self.positions!r}; valid: {', '.join(POSITIONS)}")
        if self.pooling not in POOLINGS:
            raise ValueError(f"unknown pooling {self.pooling!r}; valid: {', '.join(POOLINGS)}")

    @classmethod
    def preset(cls, name: str, **options: Any) -> "SmilesTransformerConfig":
        """A named size of ``PRESETS`` with ``options`` overriding its fields."""
        if name not in PRESETS:
            raise ValueError(f"unknown size {name!r}; valid sizes: {', '.join(PRESETS)}")
        return cls(**{**PRESETS[name], **options})

    @property
    def out_dim(self) -> int:
        """Size of the pooled molecule embedding."""
        return self.dim

    @property
    def vocab_size(self) -> int:
        return len(self.tokenizer())

    def tokenizer(self) -> SmilesTokenizer:
        """The tokenizer whose ids this encoder reads."""
        return SmilesTokenizer.from_dict(self.vocabulary)

    @property
    def scheme(self) -> dict[str, Any]:
        """The preprocessing record (tokenizer name, size, digest), the text analogue of a featurization scheme."""
        return self.tokenizer().describe()

    def to_dict(self) -> dict[str, Any]:
        """Plain data, with ``kind`` (what the encoder registry dispatches on)."""
        return {"kind": self.kind, **dataclasses.asdict(self)}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> "SmilesTransformerConfig":
        """Inverse of ``to_dict``; an unknown key or another kind is an error."""
        return cls(**kind_config_kwargs(cls, data))


def rotary_tables(length: int, head_dim: int, device: torch.device, dtype: torch.dtype) -> tuple[Tensor, Tensor]:
    """Cosines and sines of RoFormer's rotation angles ``pos / 10000^(2i/d)`` (Su et al. 2021).

    Shapes:
        -> cos, sin: [L, head_dim / 2]
    """
    inv_freq = 1.0 / (10000 ** (torch.arange(0, head_dim, 2, device=device, dtype=torch.float32) / head_dim))
    angles = torch.arange(length, device=device, dtype=torch.float32)[:, None] * inv_freq[None, :]  # [L, d/2]
    return angles.cos().to(dtype), angles.sin().to(dtype)


def apply_rotary(x: Tensor, cos: Tensor, sin: Tensor) -> Tensor:
    """Rotate consecutive feature pairs ``(x_2i, x_2i+1)`` of queries or keys by their position's angles.

    Shapes:
        x: [B, H, L, d], cos/sin: [L, d/2] -> [B, H, L, d]
    """
    even, odd = x[..., 0::2], x[..., 1::2]  # [B, H, L, d/2]
    rotated = torch.stack([even * cos - odd * sin, even * sin + odd * cos], dim=-1)  # [B, H, L, d/2, 2]
    return rotated.flatten(-2)


class TransformerBlock(nn.Module):
    """One pre-LN block: ``x + Attn(LN(x))`` then ``x + MLP(LN(x))``.

    Shapes:
        x: [B, L, D], keep: [B, 1, 1, L] (True = a real key) -> [B, L, D]
    """

    def __init__(self, dim: int, heads: int, mlp_ratio: float, dropout: float) -> None:
        super().__init__()
        self.heads = heads
        self.dropout = dropout
        self.norm1 = nn.LayerNorm(dim)
        self.qkv = nn.Linear(dim, 3 * dim)
        self.proj = nn.Linear(dim, dim)
        self.norm2 = nn.LayerNorm(dim)
        hidden = int(round(dim * mlp_ratio))
        self.mlp = nn.Sequential(nn.Linear(dim, hidden), nn.GELU(), nn.Linear(hidden, dim))
        self.drop = nn.Dropout(dropout)

    def forward(self, x: Tensor, keep: Tensor, rotary: tuple[Tensor, Tensor] | None = None) -> Tensor:
        b, n, d = x.shape
        q, k, v = self.qkv(self.norm1(x)).view(b, n, 3, self.heads, d // self.heads).permute(2, 0, 3, 1, 4)  # [B, H, L, d]
        if rotary is not None:
            q, k = apply_rotary(q, *rotary), apply_rotary(k, *rotary)
        attn = F.scaled_dot_product_attention(q, k, v, attn_mask=keep, dropout_p=self.dropout if self.training else 0.0)
        x = x + self.drop(self.proj(attn.transpose(1, 2).reshape(b, n, d)))  # [B, H, L, d] -> [B, L, D]
        return x + self.drop(self.mlp(self.norm2(x)))


class SmilesTransformer(nn.Module):
    """Pre-LN transformer encoder of token ids; ``forward`` gives one embedding per molecule.

    Args:
        config: the architecture and vocabulary.

    Shapes:
        ids: [B, L] int64, ``[PAD]`` (0) after each sequence's end
        forward_tokens(ids) -> [B, L, D]; forward(ids) -> [B, D]
    """

    def __init__(self, config: SmilesTransformerConfig) -> None:
        super().__init__()
        self.config = config
        self.pad_id = SmilesTokenizer.pad_id
        self.token_embedding = nn.Embedding(config.vocab_size, config.dim)
        self.position_embedding = nn.Embedding(config.max_length, config.dim) if config.positions == "learned" else None
        self.embedding_dropout = nn.Dropout(config.dropout)
        self.blocks = nn.ModuleList(TransformerBlock(config.dim, config.heads, config.mlp_ratio, config.dropout)
                                    for _ in range(config.depth))  # fmt: skip
        self.norm = nn.LayerNorm(config.dim)
        self.reset_parameters()

    def reset_parameters(self) -> None:
        """BERT's initialization: normal(0, 0.02) weights, zero biases, unit LayerNorms."""
        for module in self.modules():
            if isinstance(module, (nn.Linear, nn.Embedding)):
                nn.init.normal_(module.weight, std=0.02)
            if isinstance(module, nn.Linear) and module.bias is not None:
                nn.init.zeros_(module.bias)

    @property
    def out_dim(self) -> int:
        return self.config.dim

    def check_ids(self, ids: Tensor) -> None:
        """Shape and length checks (no values read, so no device synchronization)."""
        if ids.dim() != 2 or ids.dtype != torch.long:
            raise ValueError(f"ids must be a [B, L] int64 tensor, got {ids.dtype} {tuple(ids.shape)}")
        if ids.size(1) > self.config.max_length:
            raise ValueError(f"sequences of {ids.size(1)} tokens exceed max_length={self.config.max_length}; "
                             "truncate them when tokenizing (TokenBatch / SmilesSource max_length)")  # fmt: skip

    def forward_tokens(self, ids: Tensor) -> Tensor:
        """Contextual token states (padding positions hold values nobody should read).

        Shapes:
            ids: [B, L] -> [B, L, D]
        """
        self.check_ids(ids)
        keep = (ids != self.pad_id)[:, None, None, :]  # [B, 1, 1, L]: queries attend only to real keys
        x = self.token_embedding(ids)  # [B, L, D]
        rotary = None
        if self.position_embedding is not None:
            x = x + self.position_embedding.weight[: ids.size(1)]
        else:
            rotary = rotary_tables(ids.size(1), self.config.dim // self.config.heads, ids.device, x.dtype)
        x = self.embedding_dropout(x)
        for block in self.blocks:
            x = block(x, keep, rotary)
        return self.norm(x)

    def pool(self, states: Tensor, ids: Tensor) -> Tensor:
        """One vector per sequence: the ``[CLS]`` state or the mean over real tokens.

        Shapes:
            states: [B, L, D], ids: [B, L] -> [B, D]
        """
        if self.config.pooling == "cls":
            return states[:, 0]
        real = (ids != self.pad_id).unsqueeze(-1).to(states.dtype)  # [B, L, 1]
        return (states * real).sum(1) / real.sum(1).clamp(min=1.0)

    def forward(self, ids: Tensor) -> Tensor:
        """Molecule embeddings.

        Shapes:
            ids: [B, L] -> [B, D]
        """
        return self.pool(self.forward_tokens(ids), ids)

    def peft_sites(self) -> PeftSites:
        """Where parameter-efficient fine-tuning acts (``molssl.peft``).

        Adapters follow each block's two sub-layers, the attention output projection and the MLP, before
        dropout and the residual sum (Houlsby et al. 2019); prompts (GPF) are added to the token
        embeddings, before the positions; LoRA adapts ``config.peft_lora_targets`` unless told otherwise.
        """
        layers = tuple(name for i in range(len(self.blocks)) for name in (f"blocks.{i}.proj", f"blocks.{i}.mlp"))
        dim = self.config.dim
        return PeftSites(layer_outputs=layers, layer_dims=(dim,) * len(layers), input_features="token_embedding", input_dim=dim,
                         lora_targets=self.config.peft_lora_targets)  # fmt: skip

    def layers(self) -> list[nn.Module]:
        """Trainable blocks from input to output (embeddings first), for ``last_k`` fine-tuning."""
        first = nn.ModuleList([m for m in (self.token_embedding, self.position_embedding) if m is not None])
        return [first, *self.blocks[:-1], nn.ModuleList([self.blocks[-1], self.norm])]


def check_same_vocabulary(expected: Mapping[str, Any], found: Mapping[str, Any], where: str) -> None:
    """Refuse token ids of another vocabulary: ``ValueError`` naming both digests."""
    a, b = SmilesTokenizer.from_dict(expected).digest(), SmilesTokenizer.from_dict(found).digest()
    if a != b:
        raise ValueError(f"{where}: the SMILES vocabulary differs from the encoder's (sha256 {b[:12]} vs {a[:12]}); "
                         "tokenize with the encoder's own tokenizer (config.tokenizer())")  # fmt: skip


register_encoder(SmilesTransformerConfig.kind, SmilesTransformerConfig, SmilesTransformer)

__all__ = ["POOLINGS", "POSITIONS", "PRESETS", "SmilesTransformer", "SmilesTransformerConfig", "TransformerBlock",
           "apply_rotary", "check_same_vocabulary", "rotary_tables"]  # fmt: skip

"""Atom and bond embeddings: one learned table per categorical feature column, summed.

Hu et al., "Strategies for Pre-training Graph Neural Networks" (ICLR 2020) embed each atom as
``x_embedding1(atom_type) + x_embedding2(chirality)`` and each bond likewise; OGB's ``AtomEncoder`` and
``BondEncoder`` do the same over their 9 and 3 columns. Both initialize every table Xavier-uniform.
The table sizes come from a featurization spec (``FeaturizationSpec.atom_vocab`` / ``.bond_vocab``),
reserved tokens (mask, self-loop) included.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import Tensor, nn

from molssl.ops import SegmentOrder, scatter


class CategoricalEmbedding(nn.Module):
    """Sum over feature columns of one ``nn.Embedding`` per column (Hu et al. 2020; OGB encoders).

    Args:
        vocab: number of values of each feature column (embedding rows), e.g. ``(120, 3)``.
        dim: embedding size D.
        what: what a row is ("atom", "bond"), for error messages.

    Shapes:
        features: [N, F] (long, column k in ``[0, vocab[k])``) -> [N, D]
    """

    def __init__(self, vocab: Sequence[int], dim: int, what: str = "feature") -> None:
        super().__init__()
        vocab = tuple(int(v) for v in vocab)
        if not vocab or any(v < 1 for v in vocab):
            raise ValueError(f"{what} vocab must be a non-empty list of positive sizes, got {list(vocab)}")
        if dim < 1:
            raise ValueError(f"embedding dim must be positive, got {dim}")
        self.vocab = vocab
        self.dim = dim
        self.what = what
        self.embeddings = nn.ModuleList(nn.Embedding(v, dim) for v in vocab)
        self.register_buffer("_limits", torch.tensor(vocab, dtype=torch.long), persistent=False)
        # first row of each column's table in the tables stacked along dim 0
        starts = torch.tensor((0, *vocab[:-1]), dtype=torch.long).cumsum(0)
        self.register_buffer("_starts", starts, persistent=False)
        self.reset_parameters()

    def reset_parameters(self) -> None:
        for embedding in self.embeddings:
            nn.init.xavier_uniform_(embedding.weight)

    def forward(self, features: Tensor) -> Tensor:
        self.check(features)
        return self.lookup(features)

    def lookup(self, features: Tensor) -> Tensor:
        """The embedding without the range check, for features already known to be valid (tokens)."""
        out = self.embeddings[0](features[:, 0])
        for k in range(1, len(self.embeddings)):
            out = out + self.embeddings[k](features[:, k])
        return out

    def aggregate(
        self, features: Tensor, index: Tensor, dim_size: int, order: SegmentOrder | None = None
    ) -> Tensor:
        """``scatter(self(features), index, dim_size, "sum")`` without materializing the [E, D] embeddings.

        The sum of the embeddings of the rows sent to segment i is ``sum_k counts_k[i] @ W_k``, where
        ``counts_k[i, v]`` counts those rows whose column k equals v: a [dim_size, vocab_k] count
        matrix times the table. For bonds (vocabularies of a few entries) this replaces a gather
        and a scatter of E x D values by a tiny matrix product.

        Without ``order`` the counts are one scatter of ones per column into ``dim_size * vocab_k``
        cells (``index_add`` on CPU). With ``order``, the ``SegmentOrder`` of ``index``, they are one
        segment sum of the rows' one-hot codes [E, sum_k vocab_k] through that order (no atomics, no
        sort on the Triton backend) and one product with the stacked tables.

        Shapes:
            features: [E, F] (long), index: [E], order: perm [E], ptr [dim_size + 1] -> [dim_size, D]
        """
        self.check(features)
        if order is not None:
            return self._aggregate_ordered(features, index, dim_size, order)
        out = None
        ones = torch.ones(index.shape, dtype=self.embeddings[0].weight.dtype, device=index.device)
        for k, embedding in enumerate(self.embeddings):
            # count (segment, value) pairs: segment i, value v is cell i * V_k + v of a flat [dim_size * V_k]
            # scatter, through molssl.ops like every aggregation (exact: small integers)
            cells = index * self.vocab[k] + features[:, k]  # [E]
            counts = scatter(ones, cells, dim_size=dim_size * self.vocab[k], reduce="sum").view(dim_size, -1)
            term = counts @ embedding.weight
            out = term if out is None else out + term
        return out

    def _aggregate_ordered(self, features: Tensor, index: Tensor, dim_size: int, order: SegmentOrder) -> Tensor:
        weights = [embedding.weight for embedding in self.embeddings]
        codes = features + self._starts  # [E, F] column k's values shifted to their block of the one-hot code
        one_hot = torch.zeros(features.size(0), sum(self.vocab), dtype=weights[0].dtype, device=features.device)
        one_hot.scatter_(1, codes, 1.0)  # [E, sum_k V_k]
        counts = scatter(one_hot, index, dim_size=dim_size, reduce="sum", order=order)  # exact: small integers
        return counts @ torch.cat(weights, dim=0)  # [dim_size, sum_k V_k] @ [sum_k V_k, D]

    def check(self, features: Tensor) -> None:
        """Raise a ``ValueError`` naming the column and value if a feature is outside its vocabulary.

        One vectorized comparison and a single host synchronization; the details are computed only
        when something is wrong. Out-of-range indices would otherwise read garbage rows or trip a
        device-side assert on GPU.
        """
        if features.dim() != 2 or features.size(1) != len(self.vocab):
            raise ValueError(
                f"{self.what} features must have shape [N, {len(self.vocab)}] (one column per entry of "
                f"vocab {list(self.vocab)}), got {list(features.shape)}; was the batch featurized with "
                "the scheme this model was built for?"
            )
        if features.dtype not in (torch.long, torch.int32):
            raise ValueError(f"{self.what} features must be integer indices (long), got {features.dtype}")
        bad = (features < 0) | (features >= self._limits)
        if bool(bad.any()):
            row, col = (int(i) for i in bad.nonzero()[0])
            raise ValueError(
                f"{self.what} feature column {col} has value {int(features[row, col])} at row {row}, outside "
                f"its vocabulary [0, {self.vocab[col]}) (vocab {list(self.vocab)}); was the batch featurized "
                "with the scheme this model was built for?"
            )

    def extra_repr(self) -> str:
        return f"vocab={list(self.vocab)}, dim={self.dim}"


class AtomEmbedding(CategoricalEmbedding):
    """Atom features -> vectors: the summed per-column embeddings of Hu et al. (2020) / OGB's AtomEncoder.

    Args:
        vocab: the scheme's ``atom_vocab`` (e.g. ``(120, 3)`` for ``hu``).
        dim: embedding size D.

    Shapes:
        x: [N, F_atom] (long) -> [N, D]
    """

    def __init__(self, vocab: Sequence[int], dim: int) -> None:
        super().__init__(vocab, dim, what="atom")


class BondEmbedding(CategoricalEmbedding):
    """Bond features -> vectors: the summed per-column embeddings of Hu et al. (2020) / OGB's BondEncoder.

    Args:
        vocab: the scheme's ``bond_vocab`` (e.g. ``(6, 3)`` for ``hu``, self-loop and mask included).
        dim: embedding size D.

    Shapes:
        edge_attr: [E, F_bond] (long) -> [E, D]
    """

    def __init__(self, vocab: Sequence[int], dim: int) -> None:
        super().__init__(vocab, dim, what="bond")

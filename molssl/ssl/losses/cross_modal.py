"""Symmetric InfoNCE between two modalities of the same items: the contrastive loss of CLIP.

Radford et al., "Learning Transferable Visual Models From Natural Language Supervision" (CLIP, ICML
2021), after ConVIRT (Zhang et al. 2020): the i-th item of modality A and the i-th of modality B are a
positive pair, every other item of the other modality a negative; the loss is the mean of the
cross-entropies of both directions (A queries B's keys, B queries A's keys) over cosine similarities
scaled by ``logit_scale`` (= 1 / temperature; CLIP learns it, starting at 1 / 0.07 and clipped at 100).
With rows gathered from other ranks (``molssl.ssl.gather.gather_rows``) this rank's rows query the keys
of the whole global batch.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor

from molssl.ssl.checks import check_pair


def cross_modal_info_nce(a: Tensor, b: Tensor, logit_scale: Tensor | float, *, a_keys: Tensor | None = None,
                         b_keys: Tensor | None = None, offset: int = 0) -> Tensor:  # fmt: skip
    """CLIP's symmetric InfoNCE of paired rows ``a`` and ``b`` (see the module docstring).

    With ``s`` the logit scale and rows L2-normalized::

        loss = ( mean_i -log softmax_j(s a_i.b_j)[offset + i] + mean_i -log softmax_j(s b_i.a_j)[offset + i] ) / 2

    where ``j`` runs over ``b_keys`` (resp. ``a_keys``), by default ``b`` (``a``) itself.

    Args:
        a, b: row i of both is the same item in two modalities (this rank's rows).
        logit_scale: the inverse temperature ``s`` > 0, a float or a 0-d tensor (learnable).
        a_keys, b_keys: the keys of each direction, e.g. every rank's rows gathered; they must hold
            ``a`` and ``b`` at rows ``offset .. offset + N``.
        offset: where this rank's rows start in the keys.

    Shapes:
        a, b: [N, D]; a_keys, b_keys: [M, D] with M >= offset + N -> []

    Raises:
        ValueError: mismatched shapes, keys too short for ``offset``, or a scale that is not positive.
    """
    check_pair("a", a, "b", b)
    if isinstance(logit_scale, (int, float)) and not logit_scale > 0:
        raise ValueError(f"logit_scale must be > 0, got {logit_scale}")
    a_keys = a if a_keys is None else a_keys
    b_keys = b if b_keys is None else b_keys
    for name, keys in (("a_keys", a_keys), ("b_keys", b_keys)):
        if keys.dim() != 2 or keys.size(1) != a.size(1) or keys.size(0) < offset + a.size(0):
            raise ValueError(f"{name} must be [M, {a.size(1)}] with M >= offset + N = {offset + a.size(0)}, got "
                             f"{tuple(keys.shape)}")  # fmt: skip
    qa, qb = F.normalize(a, dim=1), F.normalize(b, dim=1)
    ka, kb = F.normalize(a_keys, dim=1), F.normalize(b_keys, dim=1)
    targets = torch.arange(offset, offset + a.size(0), device=a.device)  # [N], the positives' columns
    a_to_b = F.cross_entropy(logit_scale * (qa @ kb.t()), targets)  # logits [N, M]
    b_to_a = F.cross_entropy(logit_scale * (qb @ ka.t()), targets)
    return (a_to_b + b_to_a) / 2


__all__ = ["cross_modal_info_nce"]

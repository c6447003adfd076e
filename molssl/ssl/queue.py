"""A FIFO memory queue of past embeddings, used as extra negatives for a contrastive loss.

He et al., "Momentum Contrast for Unsupervised Visual Representation Learning" (MoCo, CVPR 2020): the
keys of recent batches, detached and L2-normalized, serve as negatives for the current batch, decoupling
the number of negatives from the batch size.
"""

from __future__ import annotations

from typing import Any

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from molssl.ssl.checks import check_embeddings, check_positive_int


class MemoryQueue(nn.Module):
    """FIFO queue of the ``size`` most recent embeddings (MoCo, He et al. 2020), held in buffers.

    The embeddings, the write position and the fill level are buffers, so the queue moves with
    ``.to(device)`` and is saved and restored with the state dict. Their Python mirrors keep
    ``enqueue`` and ``negatives`` free of device synchronizations (the buffers are read back only
    when a state dict is loaded).

    Args:
        size: capacity K, the number of negatives once full.
        dim: embedding size D.
        normalize: L2-normalize embeddings on the way in (the losses compare cosines).

    Shapes:
        enqueue: [N, D]; negatives(): [min(filled, K), D]; ordered(): the same rows, oldest first
    """

    embeddings: Tensor
    pointer: Tensor
    filled: Tensor

    def __init__(self, size: int, dim: int, *, normalize: bool = True) -> None:
        super().__init__()
        self.size = check_positive_int("size", size)
        self.dim = check_positive_int("dim", dim)
        self.normalize = normalize
        self.register_buffer("embeddings", torch.zeros(size, dim))
        self.register_buffer("pointer", torch.zeros((), dtype=torch.long))  # next row to write = oldest row
        self.register_buffer("filled", torch.zeros((), dtype=torch.long))
        self._pointer = 0
        self._filled = 0
        self.register_load_state_dict_post_hook(_sync_counters)

    def __len__(self) -> int:
        return self._filled

    @property
    def is_full(self) -> bool:
        """Whether ``size`` embeddings have been enqueued."""
        return self._filled == self.size

    @torch.no_grad()
    def enqueue(self, z: Tensor) -> None:
        """Append a batch (detached, normalized), overwriting the oldest rows once full.

        Of a batch larger than the queue only its last ``size`` rows are kept.

        Shapes:
            z: [N, D]
        """
        check_embeddings("z", z)
        if z.size(1) != self.dim:
            raise ValueError(f"z must be [N, {self.dim}] for this queue, got shape {tuple(z.shape)}")
        z = z.detach()
        if self.normalize:
            z = F.normalize(z, dim=1)
        z = z.to(device=self.embeddings.device, dtype=self.embeddings.dtype)
        n = z.size(0)
        if n >= self.size:
            self.embeddings.copy_(z[n - self.size :])
            self._pointer = 0
        else:
            rows = (self._pointer + torch.arange(n, device=z.device)) % self.size  # wraps around the end
            self.embeddings.index_copy_(0, rows, z)
            self._pointer = (self._pointer + n) % self.size
        self._filled = min(self._filled + n, self.size)
        self.pointer.fill_(self._pointer)
        self.filled.fill_(self._filled)

    def negatives(self) -> Tensor:
        """The stored embeddings, in storage order (enough for negatives).

        A view of the queue's storage, not a copy: the next ``enqueue`` overwrites it in place. The
        losses of ``molssl.ssl.losses`` normalize it into a new tensor, so enqueuing the keys between
        the loss and its backward is safe; clone it to keep it.

        Shapes:
            output: [min(filled, K), D]
        """
        return self.embeddings if self.is_full else self.embeddings[: self._filled]

    def ordered(self) -> Tensor:
        """The stored embeddings from oldest to newest (a copy).

        Shapes:
            output: [min(filled, K), D]
        """
        if not self.is_full:
            return self.embeddings[: self._filled].clone()
        return torch.roll(self.embeddings, shifts=-self._pointer, dims=0)

    @torch.no_grad()
    def reset(self) -> None:
        """Empty the queue."""
        self.embeddings.zero_()
        self._pointer = self._filled = 0
        self.pointer.zero_()
        self.filled.zero_()

    def extra_repr(self) -> str:
        return f"size={self.size}, dim={self.dim}, normalize={self.normalize}"


def _sync_counters(module: MemoryQueue, incompatible_keys: Any) -> None:
    pointer, filled = int(module.pointer), int(module.filled)
    if not (0 <= pointer < module.size and 0 <= filled <= module.size):
        raise ValueError(
            f"loaded queue state has pointer {pointer} and filled {filled}, outside a queue of size "
            f"{module.size}; build the MemoryQueue with the size it was saved with"
        )
    module._pointer, module._filled = pointer, filled

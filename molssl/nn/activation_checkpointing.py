"""Activation checkpointing of one encoder layer: keep its input, recompute its inside during backward.

Chen et al., "Training Deep Nets with Sublinear Memory Cost" (2016), through PyTorch's non-reentrant
``torch.utils.checkpoint``. A layer's forward runs without keeping the tensors its backward needs (the
GIN MLP's hidden [N, 2D], the gathered messages [E, D], the normalized and dropped-out states); only
its input [N, D] is kept, and the backward reruns the layer to rebuild them. Two things must replay
exactly for the gradients to be those of the uncheckpointed layer:

* random draws (dropout): the checkpoint stores the RNG state before the forward and restores it for
  the recomputation (``preserve_rng_state``), so the same units are dropped;
* batch-norm running statistics: the recomputation normalizes with the same batch statistics but
  must not update the running mean, variance and batch count a second time, so during it every
  ``BatchNorm`` of the layer updates scratch copies of them instead (the same op, so the same
  tensors are saved for backward; in eval mode the running statistics are read as before).
"""

from __future__ import annotations

import contextlib
import functools
from collections.abc import Callable, Iterator, Sequence
from typing import Any

from torch import Tensor, nn
from torch.utils.checkpoint import checkpoint


@contextlib.contextmanager
def frozen_batch_norm_statistics(modules: Sequence[nn.Module]) -> Iterator[None]:
    """Within the block, the batch norms in ``modules`` compute as before but their statistics stay unchanged.

    Each one updates scratch copies of its running mean, variance and batch count, dropped on exit;
    the op itself is the same (it saves the same tensors for backward, as the checkpoint checks).
    """
    names = ("running_mean", "running_var", "num_batches_tracked")
    saved = []
    for module in modules:
        for norm in module.modules():
            if isinstance(norm, nn.modules.batchnorm._BatchNorm) and norm.track_running_stats:
                saved.append((norm, [getattr(norm, name) for name in names]))
                for name in names:
                    setattr(norm, name, getattr(norm, name).clone())
    try:
        yield
    finally:
        for norm, buffers in saved:
            for name, buffer in zip(names, buffers):
                setattr(norm, name, buffer)


def _contexts(modules: Sequence[nn.Module]) -> tuple[contextlib.AbstractContextManager, contextlib.AbstractContextManager]:
    """(forward context, recomputation context) for ``torch.utils.checkpoint``'s ``context_fn``."""
    return contextlib.nullcontext(), frozen_batch_norm_statistics(modules)


def checkpoint_layer(function: Callable[..., Tensor], *args: Any, modules: Sequence[nn.Module]) -> Tensor:
    """``function(*args)``, keeping none of its intermediate tensors for backward (recomputed instead).

    Args:
        function: the layer's computation; called again, with the same arguments, during backward.
        *args: its arguments (tensors and plain values).
        modules: the modules ``function`` runs, whose batch norms must not update their running
            statistics when the layer is recomputed.

    Returns:
        What ``function(*args)`` returns, with the same value and the same gradients.
    """
    return checkpoint(function, *args, use_reentrant=False, preserve_rng_state=True,
                      context_fn=functools.partial(_contexts, tuple(modules)))  # fmt: skip


__all__ = ["checkpoint_layer", "frozen_batch_norm_statistics"]

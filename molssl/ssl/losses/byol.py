"""Negative cosine similarity with a stop-gradient on the target: the loss of BYOL and SimSiam.

Grill et al., "Bootstrap Your Own Latent" (BYOL, NeurIPS 2020) regress an online prediction onto the
output of an EMA target network; Chen & He, "Exploring Simple Siamese Representation Learning"
(SimSiam, CVPR 2021) show the stop-gradient alone prevents collapse. BYOL writes the loss as
``2 - 2 cos``, SimSiam as ``-cos``: the same gradient up to a factor of 2; this is SimSiam's form.
"""

from __future__ import annotations

import torch.nn.functional as F
from torch import Tensor, nn

from molssl.ssl.checks import check_pair


def negative_cosine(prediction: Tensor, target: Tensor) -> Tensor:
    """Mean negative cosine similarity of each prediction to its (stop-gradient) target (SimSiam eq. 1; BYOL eq. 2).

    ``loss = -mean_i cos(prediction_i, stopgrad(target_i))``, in [-1, 1]. No gradient reaches
    ``target``; for the symmetric loss of both papers, call it twice with the views swapped and average.

    Args:
        prediction: output of the online branch's predictor.
        target: output of the target branch (EMA teacher in BYOL, the same encoder in SimSiam).

    Shapes:
        prediction, target: [N, D] -> output: [] scalar

    Raises:
        ValueError: on mismatched shapes or devices.
    """
    check_pair("prediction", prediction, "target", target)
    return -F.cosine_similarity(prediction, target.detach(), dim=1).mean()


class NegativeCosineLoss(nn.Module):
    """Negative cosine similarity with stop-gradient on the target (BYOL, SimSiam); see ``negative_cosine``.

    Shapes:
        prediction, target: [N, D] -> output: [] scalar
    """

    def forward(self, prediction: Tensor, target: Tensor) -> Tensor:
        return negative_cosine(prediction, target)

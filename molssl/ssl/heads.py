"""Projection and prediction heads: the small MLPs between an encoder and a self-supervised loss.

The projection head is SimCLR's (Chen et al., ICML 2020), which GraphCL (You et al., NeurIPS 2020)
puts after the graph readout; with ``last_batch_norm`` it is SimSiam's projector (Chen & He, CVPR 2021).
The prediction head is BYOL's predictor (Grill et al., NeurIPS 2020): a two-layer MLP that maps a
projection back into the same space. Both are described by a ``HeadConfig``, plain data that
round-trips through JSON for checkpoints.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from torch import Tensor, nn

from molssl.ssl.checks import check_positive_int
from molssl.ssl.plain_config import PlainConfig

#: activation between layers, by name
ACTIVATIONS: dict[str, Callable[[], nn.Module]] = {
    "relu": nn.ReLU,
    "gelu": nn.GELU,
    "prelu": nn.PReLU,
    "elu": nn.ELU,
    "silu": nn.SiLU,
}


@dataclass(frozen=True, kw_only=True)
class HeadConfig(PlainConfig):
    """Configuration of a ``ProjectionHead`` or ``PredictionHead`` (plain data).

    Attributes:
        in_dim: size of the input representation.
        out_dim: size of the output.
        hidden_dim: size of every hidden layer; ``None`` uses ``in_dim``.
        num_layers: number of linear layers (1 = a single linear map).
        batch_norm: BatchNorm after every hidden linear layer (SimCLR v2, BYOL, SimSiam).
        last_batch_norm: BatchNorm without affine parameters on the output (SimSiam's projector).
        activation: a key of ``ACTIVATIONS``, applied after every hidden layer.
    """

    in_dim: int
    out_dim: int
    hidden_dim: int | None = None
    num_layers: int = 2
    batch_norm: bool = True
    last_batch_norm: bool = False
    activation: str = "relu"

    def __post_init__(self) -> None:
        for name in ("in_dim", "out_dim", "num_layers"):
            check_positive_int(name, getattr(self, name))
        if self.hidden_dim is not None:
            check_positive_int("hidden_dim", self.hidden_dim)
        for name in ("batch_norm", "last_batch_norm"):
            if not isinstance(getattr(self, name), bool):
                raise TypeError(f"{name} must be a bool, got {getattr(self, name)!r}")
        if self.activation not in ACTIVATIONS:
            raise ValueError(f"unknown activation {self.activation!r}; valid activations: {', '.join(sorted(ACTIVATIONS))}")



def _build_mlp(config: HeadConfig) -> nn.Sequential:
    hidden = config.hidden_dim if config.hidden_dim is not None else config.in_dim
    dims = [config.in_dim] + [hidden] * (config.num_layers - 1) + [config.out_dim]
    layers: list[nn.Module] = []
    for i in range(config.num_layers - 1):
        # a bias before BatchNorm is cancelled by its mean subtraction
        layers.append(nn.Linear(dims[i], dims[i + 1], bias=not config.batch_norm))
        if config.batch_norm:
            layers.append(nn.BatchNorm1d(dims[i + 1]))
        layers.append(ACTIVATIONS[config.activation]())
    layers.append(nn.Linear(dims[-2], dims[-1], bias=not config.last_batch_norm))
    if config.last_batch_norm:
        layers.append(nn.BatchNorm1d(dims[-1], affine=False))
    return nn.Sequential(*layers)


class ProjectionHead(nn.Module):
    """MLP projection head of SimCLR (Chen et al., ICML 2020) and GraphCL; SimSiam's with ``last_batch_norm``.

    ``num_layers - 1`` blocks of Linear (-> BatchNorm) -> activation, then a final Linear (-> BatchNorm
    without affine parameters). The loss is computed on its output; downstream tasks use the encoder's
    representation before it.

    Args:
        in_dim, out_dim, hidden_dim, num_layers, batch_norm, last_batch_norm, activation: see
            ``HeadConfig``.

    Shapes:
        x: [N, in_dim] -> output: [N, out_dim]
    """

    def __init__(
        self,
        in_dim: int,
        out_dim: int,
        hidden_dim: int | None = None,
        num_layers: int = 2,
        *,
        batch_norm: bool = True,
        last_batch_norm: bool = False,
        activation: str = "relu",
    ) -> None:
        super().__init__()
        self.config = HeadConfig(
            in_dim=in_dim,
            out_dim=out_dim,
            hidden_dim=hidden_dim,
            num_layers=num_layers,
            batch_norm=batch_norm,
            last_batch_norm=last_batch_norm,
            activation=activation,
        )
        self.mlp = _build_mlp(self.config)

    @classmethod
    def from_config(cls, config: HeadConfig) -> ProjectionHead:
        """The head described by ``config``."""
        return cls(**config.to_dict())

    def forward(self, x: Tensor) -> Tensor:
        return self.mlp(x)


class PredictionHead(nn.Module):
    """BYOL's predictor (Grill et al., NeurIPS 2020): Linear -> BatchNorm -> activation -> Linear, ``dim`` to ``dim``.

    It maps the online projection into the target's space, so its output has the input's size (BYOL:
    256 -> 4096 -> 256; SimSiam: 2048 -> 512 -> 2048, a bottleneck).

    Args:
        dim: size of the projection it reads and predicts.
        hidden_dim: size of the hidden layer; ``None`` uses ``dim``.
        batch_norm: BatchNorm after the hidden layer.
        activation: a key of ``ACTIVATIONS``.

    Shapes:
        x: [N, dim] -> output: [N, dim]
    """

    def __init__(
        self, dim: int, hidden_dim: int | None = None, *, batch_norm: bool = True, activation: str = "relu"
    ) -> None:
        super().__init__()
        self.config = HeadConfig(
            in_dim=dim, out_dim=dim, hidden_dim=hidden_dim, num_layers=2, batch_norm=batch_norm, activation=activation
        )
        self.mlp = _build_mlp(self.config)

    @classmethod
    def from_config(cls, config: HeadConfig) -> PredictionHead:
        """The head described by ``config``, which must map ``in_dim`` to itself with two layers."""
        if config.out_dim != config.in_dim or config.num_layers != 2 or config.last_batch_norm:
            raise ValueError(
                "a PredictionHead maps dim -> dim with two layers and no output BatchNorm; got "
                f"{config}; use ProjectionHead.from_config for other shapes"
            )
        return cls(config.in_dim, config.hidden_dim, batch_norm=config.batch_norm, activation=config.activation)

    def forward(self, x: Tensor) -> Tensor:
        return self.mlp(x)

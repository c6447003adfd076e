"""A test-only modality on real data, to show the loop knows no graphs: RDKit descriptor vectors of ESOL.

``DescriptorVectors`` is a ``DataSource`` of the standardized 2D descriptors of MoleculeNet's ESOL
molecules (computed by RDKit from the embedded CSV), ``MLPConfig``/``MLPEncoder`` an encoder kind, and
``MaskedFeatures`` a method that hides a random subset of each vector and reconstructs it. The source
adds noise drawn from the loop's data generator, so exact resume also covers collation randomness.
"""

from __future__ import annotations

import csv
import dataclasses
import functools
import hashlib
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar

import torch
from torch import Tensor, nn

from molssl.methods.base import MethodConfig, MethodOutput, PretrainMethod
from molssl.nn.encoders import register_encoder
from molssl.pretrain.source import DataSource, register_source
from molssl.ssl.checks import check_known_keys

MODALITY = "descriptor_vectors"
NAMES = ("MolWt", "MolLogP", "TPSA", "NumHDonors", "NumHAcceptors", "RingCount", "NumRotatableBonds", "HeavyAtomCount")


class DescriptorVectors(DataSource):
    """Standardized RDKit descriptors of the molecules of a SMILES CSV (first column), one vector per molecule."""

    modality: ClassVar[str] = MODALITY
    unit: ClassVar[str] = "vectors"

    def __init__(self, path: Path, noise: float = 0.01) -> None:
        self.path, self.noise = Path(path), float(noise)
        x = _descriptors(self.path)  # [N, F]
        self.mean, self.std = x.mean(0), x.std(0)
        self.x = (x - self.mean) / self.std
        self.heavy_atoms = x[:, NAMES.index("HeavyAtomCount")].long()

    def __len__(self) -> int:
        return len(self.x)

    def batch(self, indices: Tensor, generator: torch.Generator) -> dict[str, Tensor]:
        x = self.x[indices]
        return {"x": x + self.noise * torch.randn(x.shape, generator=generator)}

    def describe(self) -> dict[str, Any]:
        return {"path": str(self.path), "sha256": hashlib.sha256(self.path.read_bytes()).hexdigest(), "rows": len(self),
                **self.preprocessing()}  # fmt: skip

    def preprocessing(self) -> dict[str, Any]:
        return {"descriptors": list(NAMES), "mean": self.mean.tolist(), "std": self.std.tolist(), "noise": self.noise}

    def encoder_options(self) -> dict[str, Any]:
        return {"in_dim": len(NAMES)}

    def sizes(self) -> Tensor:
        return self.heavy_atoms


@functools.lru_cache(maxsize=4)
def _descriptors(path: Path) -> Tensor:
    """[N, F] the descriptors ``NAMES`` of the SMILES in the first column of ``path`` (computed once per file)."""
    from rdkit import Chem
    from rdkit.Chem import Descriptors

    with open(path, newline="") as fh:
        smiles = [row[0] for row in list(csv.reader(fh))[1:]]
    rows = [[float(getattr(Descriptors, name)(Chem.MolFromSmiles(s))) for name in NAMES] for s in smiles]
    return torch.tensor(rows, dtype=torch.float32)


def open_descriptor_vectors(data: Any, options: dict[str, Any], *, labels: bool, workers: int) -> DescriptorVectors:
    if data is None or labels:
        raise ValueError("descriptor vectors need a SMILES CSV and carry no labels")
    return DescriptorVectors(Path(data), **options)


@dataclass(frozen=True, kw_only=True)
class MLPConfig:
    in_dim: int
    hidden: int = 32

    @property
    def out_dim(self) -> int:
        return self.hidden

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> "MLPConfig":
        check_known_keys(cls, data)
        return cls(**data)


class MLPEncoder(nn.Module):
    """Shapes: x [B, F] -> [B, hidden]"""

    def __init__(self, config: MLPConfig) -> None:
        super().__init__()
        self.config = config
        self.net = nn.Sequential(nn.Linear(config.in_dim, config.hidden), nn.ReLU(), nn.Dropout(0.1), nn.Linear(config.hidden, config.hidden))

    def forward(self, x: Tensor) -> Tensor:
        return self.net(x)


@dataclass(frozen=True, kw_only=True)
class MaskedFeaturesConfig(MethodConfig):
    mask_rate: float = 0.3


class MaskedFeatures(PretrainMethod):
    """Reconstruct randomly hidden descriptors from the others (MSE on the hidden ones)."""

    name = "masked_features_test"
    config_class = MaskedFeaturesConfig
    modality = MODALITY
    default_encoder = {"kind": "mlp_test", "hidden": 32}

    def __init__(self, encoder_config: Any, config: MaskedFeaturesConfig | None = None) -> None:
        super().__init__(encoder_config, config)
        self.decoder = nn.Linear(self.encoder.config.out_dim, self.encoder.config.in_dim)

    def forward(self, batch: dict[str, Tensor], generator: torch.Generator) -> MethodOutput:
        x = batch["x"]  # [B, F]
        hidden = torch.rand(x.shape, generator=generator, device=x.device) < self.config.mask_rate  # [B, F]
        z = self.encoder(x.masked_fill(hidden, 0.0))  # [B, H]
        error = (self.decoder(z) - x).pow(2)
        loss = (error * hidden).sum() / hidden.sum().clamp(min=1)
        return MethodOutput(loss, {"hidden": hidden.float().mean().detach()}, embeddings=z.detach())


register_encoder("mlp_test", MLPConfig, MLPEncoder)
register_source(MODALITY, open_descriptor_vectors)

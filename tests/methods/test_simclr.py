"""SimCLR: its loss is NT-Xent on the projections of the recipe's two views (checked by a per-anchor loop), and it learns on digits."""

from __future__ import annotations

import dataclasses
import json
import math

import pytest
import torch
import torch.nn.functional as F

from molssl.methods.simclr import SimCLR, SimCLRConfig
from molssl.views import get_views
from tests.methods.images import DIGIT_VIEWS, TINY_RESNET, TINY_VIT, digit_knn_split, generator, mean, mnist_batch, train


def naive_nt_xent(z1: torch.Tensor, z2: torch.Tensor, temperature: float) -> float:
    """NT-Xent anchor by anchor: -log(exp(sim(a, positive)/t) / sum_{b != a} exp(sim(a, b)/t)), averaged."""
    z = torch.cat([z1, z2]).double()
    n = z1.size(0)
    total = 0.0
    for a in range(2 * n):
        positive = a + n if a < n else a - n
        cos = [float(z[a] @ z[b] / (z[a].norm() * z[b].norm())) for b in range(2 * n)]
        denominator = sum(math.exp(cos[b] / temperature) for b in range(2 * n) if b != a)
        total += -math.log(math.exp(cos[positive] / temperature) / denominator)
    return total / (2 * n)


def test_loss_is_nt_xent_of_the_recipes_views():
    torch.manual_seed(0)
    config = SimCLRConfig(projection_dim=16, temperature=0.2, view_options=DIGIT_VIEWS)
    method = SimCLR(TINY_RESNET, config).train()
    batch = mnist_batch(12)
    output = method(batch, generator(3))
    with torch.no_grad():
        views = get_views("image", "simclr")(batch, generator(3), **DIGIT_VIEWS)
        h = [method.encoder(v) for v in views]
        z = [method.projector(x) for x in h]
    assert output.loss.item() == pytest.approx(naive_nt_xent(z[0], z[1], 0.2), rel=1e-5)
    torch.testing.assert_close(output.embeddings, h[0])
    torch.testing.assert_close(output.embeddings2, h[1])
    assert 0.0 <= output.metrics["top1_acc"].item() <= 1.0


def test_same_generator_same_loss_and_views_differ():
    torch.manual_seed(0)
    method = SimCLR(TINY_RESNET, SimCLRConfig(projection_dim=16)).eval()
    batch = mnist_batch(8)
    assert method(batch, generator(1)).loss.item() == method(batch, generator(1)).loss.item()
    assert method(batch, generator(1)).loss.item() != method(batch, generator(2)).loss.item()
    assert not torch.equal(*get_views("image", "simclr")(batch, generator(1)))


def test_projection_head_defaults_to_the_papers_shape():
    method = SimCLR(TINY_RESNET)
    linears = [m for m in method.projector.modules() if isinstance(m, torch.nn.Linear)]
    dim = TINY_RESNET.out_dim
    assert [(m.in_features, m.out_features) for m in linears] == [(dim, dim), (dim, 128)]
    assert method.config.temperature == 0.5


@pytest.mark.parametrize("options, match", [({"temperature": 0}, "temperature"), ({"projection_dim": 0}, "projection_dim"),
                                            ({"views": ""}, "views"), ({"tau": 1}, "unknown")])  # fmt: skip
def test_bad_options(options, match):
    with pytest.raises(ValueError, match=match):
        SimCLRConfig.from_dict(options)


def test_a_recipe_with_the_wrong_number_of_views_is_refused():
    method = SimCLR(TINY_RESNET, SimCLRConfig(views="multicrop", view_options={"n_local": 1}))
    with pytest.raises(ValueError, match="simclr takes 2 views.*'multicrop' made 3"):
        method(mnist_batch(4), generator())


def test_loss_decreases_on_digits():
    torch.manual_seed(0)
    method = SimCLR(TINY_VIT, SimCLRConfig(projection_dim=32, view_options=DIGIT_VIEWS))
    losses = train(method, steps=50, batch_size=32, lr=3e-3)
    assert mean(losses[-10:]) < mean(losses[:10]) - 0.1, (losses[:10], losses[-10:])


@pytest.mark.slow
def test_a_resnet_learns_digit_classes_in_a_few_hundred_steps():
    """300 steps of SimCLR on a tiny ResNet: lower loss, and a kNN classifier on its embeddings beats random init."""
    from molssl.eval.probe import knn_accuracy

    torch.manual_seed(0)
    method = SimCLR(TINY_RESNET, SimCLRConfig(projection_dim=32, view_options=DIGIT_VIEWS))
    untrained = knn_accuracy(*digit_knn_split(method.encoder))
    losses = train(method, steps=300, batch_size=64, lr=1e-3)
    assert mean(losses[-20:]) < mean(losses[:20]) - 0.5, (losses[:20], losses[-20:])
    assert knn_accuracy(*digit_knn_split(method.encoder)) > untrained + 0.03


def test_pretrain_from_the_command_line_on_the_digits_file(tmp_path, capsys):
    from molssl.cli.main import main
    from molssl.data.embedded import embedded_file
    from molssl.nn.pretrained import load_encoder
    from molssl.vision.resnet import ResNet

    digits = embedded_file("mnist/mnist_5k-images-idx3-ubyte.gz")
    code = main(["pretrain", "--method", "simclr", "--data", str(digits), "--out", str(tmp_path / "run"), "--steps", "4",
                 "--batch-size", "16", "--log-every", "2", "--device", "cpu", "--no-progress", "--encoder-kind", "resnet",
                 "--encoder-option", "width=4", "--encoder-option", "blocks=[1,1,1,1]", "-o", "projection_dim=8",
                 "-o", 'view_options={"crop_scale": [0.5, 1.0], "flip_p": 0.0}'])  # fmt: skip
    captured = capsys.readouterr()
    assert code == 0, captured.err
    config = json.loads((tmp_path / "run" / "config.json").read_text())
    assert config["method"] == "simclr" and config["data"]["modality"] == "image"
    assert config["encoder"]["kind"] == "resnet" and config["encoder"]["in_channels"] == 1
    assert config["method_config"]["view_options"]["crop_scale"] == [0.5, 1.0]
    assert config["source"]["images"] == 5000
    rows = [json.loads(line) for line in (tmp_path / "run" / "metrics.jsonl").read_text().splitlines()]
    assert [r["step"] for r in rows] == [2, 4] and all(math.isfinite(r["loss"]) and "top1_acc" in r for r in rows)
    assert isinstance(load_encoder(tmp_path / "run" / "encoder"), ResNet)


@dataclasses.dataclass(frozen=True, kw_only=True)
class ConstantConfig:
    """A test encoder whose output ignores its input: a collapsed representation by construction."""

    in_channels: int = 1
    dim: int = 16

    @property
    def out_dim(self) -> int:
        return self.dim

    def to_dict(self) -> dict:
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, data) -> "ConstantConfig":
        return cls(**data)


class ConstantEncoder(torch.nn.Module):
    def __init__(self, config: ConstantConfig) -> None:
        super().__init__()
        self.config = config
        self.value = torch.nn.Parameter(torch.randn(config.dim))

    @property
    def out_dim(self) -> int:
        return self.config.dim

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.value.expand(x.size(0), -1) + 0.0 * x.sum()


def test_the_collapse_monitor_flags_a_constant_encoder(tmp_path):
    from molssl import pretrain
    from molssl.nn.encoders import register_encoder
    from tests.methods.images import tiny_run

    register_encoder("constant_test", ConstantConfig, ConstantEncoder)
    with pytest.warns(RuntimeWarning, match="representation collapse.*raise the temperature"):
        result = pretrain("simclr", None, tmp_path / "run", train=tiny_run(steps=2, batch_size=16),
                          method_options={"projection_dim": 8}, encoder={"kind": "constant_test"})  # fmt: skip
    assert [r["collapse_warning"] for r in result.metrics] == [True]
    assert result.metrics[0]["effective_rank"] == 0.0

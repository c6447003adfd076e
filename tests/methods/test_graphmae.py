"""GraphMAE: which atoms are masked, that the decoder sees them re-masked, and that exactly they are scored."""

from __future__ import annotations

import math

import pytest
import torch

from molssl.methods.graphmae import GraphMAE, GraphMAEConfig
from tests.methods.conftest import generator


def capture(method: GraphMAE) -> dict:
    """Hooks that keep the decoder conv's input and the decoder's output (with its gradient)."""
    seen: dict = {}

    def keep_input(module, args):
        seen["decoder_input"] = args[0].detach().clone()

    def keep_output(module, args, output):
        output.retain_grad()
        seen["pred"] = output

    if method.decoder.kind == "gin":
        method.decoder.conv.register_forward_pre_hook(keep_input)
    method.decoder.register_forward_hook(keep_output)
    return seen


def test_masks_a_quarter_of_each_molecule_with_the_scheme_token(real_batch, small_encoder):
    masked = GraphMAE(small_encoder).mask(real_batch, generator(4))
    sizes = real_batch.ptr.diff().tolist()
    counts = torch.bincount(real_batch.batch[masked.atom_index], minlength=len(sizes)).tolist()
    assert counts == [max(1, math.ceil(0.25 * n - 1e-9)) for n in sizes]
    assert bool((masked.batch.x[masked.atom_index] == torch.tensor([119, 0])).all())
    untouched = torch.ones(real_batch.num_nodes, dtype=torch.bool)
    untouched[masked.atom_index] = False
    assert torch.equal(masked.batch.x[untouched], real_batch.x[untouched])
    assert torch.equal(masked.atom_target, real_batch.x[masked.atom_index, 0])
    assert real_batch.x[:, 0].max() < 119  # the input batch is left as it was


@pytest.mark.parametrize("remask", ["zero", "token"])
def test_loss_scores_exactly_the_masked_atoms(real_batch, small_encoder, remask):
    torch.manual_seed(0)
    method = GraphMAE(small_encoder, GraphMAEConfig(alpha=2.0, remask=remask)).eval()
    if remask == "token":
        torch.nn.init.normal_(method.decoder.token)
    seen = capture(method)
    out = method(real_batch, generator(5))
    masked = method.mask(real_batch, generator(5))
    is_masked = torch.zeros(real_batch.num_nodes, dtype=torch.bool)
    is_masked[masked.atom_index] = True

    # the decoder conv sees the re-masked states: zero (or the token) on masked atoms, the projection elsewhere
    x = seen["decoder_input"]
    fill = torch.zeros(x.size(1)) if remask == "zero" else method.decoder.token.detach()
    assert torch.equal(x[is_masked], fill.expand(int(is_masked.sum()), -1))
    assert bool((x[~is_masked].abs().sum(dim=1) > 0).all())

    # the loss, atom by atom: (1 - cos(prediction, one-hot of the true type))^alpha over the masked atoms
    pred = seen["pred"]
    assert pred.shape == (real_batch.num_nodes, 119)
    terms = []
    for i, atom_type in zip(masked.atom_index.tolist(), masked.atom_target.tolist()):
        row = pred[i].tolist()
        cosine = row[atom_type] / math.sqrt(sum(v * v for v in row))
        terms.append((1 - cosine) ** 2)
    assert out.loss.item() == pytest.approx(sum(terms) / len(terms), rel=1e-5)

    # and only those rows of the prediction receive a gradient
    out.loss.backward()
    scored = pred.grad.abs().sum(dim=1) > 0
    assert torch.equal(scored, is_masked)


def test_linear_decoder_and_gradients(real_batch, small_encoder):
    method = GraphMAE(small_encoder, GraphMAEConfig(decoder="linear"))
    out = method(real_batch, generator())
    out.loss.backward()
    assert method.decoder.linear.out_features == 119
    grads = [p.grad for p in method.encoder.parameters() if p.grad is not None]
    assert grads and any(g.abs().sum() > 0 for g in grads)
    assert out.embeddings.shape == (real_batch.num_graphs, small_encoder.emb_dim)
    assert 0.0 <= out.metrics["atom_acc"].item() <= 1.0


def test_gin_decoder_has_the_reference_shape(small_encoder):
    decoder = GraphMAE(small_encoder).decoder
    assert decoder.encoder_to_decoder.bias is None and isinstance(decoder.activation, torch.nn.PReLU)
    first, last = decoder.conv.mlp[0], decoder.conv.mlp[-1]
    assert (first.in_features, first.out_features, last.in_features, last.out_features) == (32, 64, 64, 119)


def test_config_is_validated():
    assert GraphMAEConfig() == GraphMAEConfig(mask_rate=0.25, alpha=1.0, decoder="gin", remask="zero")
    with pytest.raises(ValueError, match="mask_rate"):
        GraphMAEConfig(mask_rate=1.0)
    with pytest.raises(ValueError, match="alpha"):
        GraphMAEConfig(alpha=0.5)
    with pytest.raises(ValueError, match="valid decoders: gin, linear"):
        GraphMAEConfig(decoder="gat")
    with pytest.raises(ValueError, match="remask"):
        GraphMAEConfig(remask="mean")

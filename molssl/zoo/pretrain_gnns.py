"""Convert the encoders released by pretrain-gnns (Hu et al. 2020) into molssl encoder checkpoints.

Hu et al., "Strategies for Pre-training Graph Neural Networks" (ICLR 2020) released their pretrained
``GNN`` modules (snap-stanford/pretrain-gnns, ``chem/model_gin/*.pth`` and
``chem/model_architecture/*.pth``) as legacy torch pickles of plain state dicts. The file alone does not
say which architecture it holds (GCN and GraphSAGE files have the same keys and shapes), so the caller
names it. Nothing but ``torch.load(..., weights_only=True)`` reads the file: no code from it runs.

The reference ``GNN`` computes the same function as molssl's ``hu``-scheme ``GNNEncoder`` (atom
embedding, 5 x (conv, BatchNorm, ReLU but not after the last), JK "last") once the keys are renamed::

    x_embedding1/2                 -> atom_embedding.embeddings.0/1
    gnns.i.edge_embedding1/2       -> convs.i.bond_embedding.embeddings.0/1
    gnns.i.linear                  -> convs.i.linear            (gcn, sage)
    gnns.i.weight_linear, att, bias -> convs.i.linear, att, bias (gat)
    gnns.i.mlp.0/2                 -> convs.i.mlp.0/2           (gin)
    batch_norms.i                  -> batch_norms.i

with two differences of convention, both recorded in the checkpoint (``extra["converted_from"]``):

* GAT: the reference's softmax (PyG 1.0.3 over torch-scatter 1.1.2) shifts scores by max(0, max)
  and adds 1e-16 to the denominator. With the released weights most scores lie below -87, so their
  weights underflow to 0 instead of summing to 1; the converted encoder switches on
  ``GATConv(softmax="pretrain_gnns_legacy")``, without which outputs differ by up to ~175.
* The reference gathers messages at ``edge_index[0]`` (PyG 1.0.3's convention), molssl at
  ``edge_index[1]``. Both directions of a bond carry the same features in a molecule, so the function
  is the same for molecular graphs; it would differ for direction-dependent edge features.

JK mode and dropout are not stored in the files: the released models use JK "last"; dropout is a
fine-tuning choice (the converted config has 0, ``PropertyPredictor`` sets its own).
"""

from __future__ import annotations

import os
import pickle
import re
from pathlib import Path
from typing import Any, Mapping

import torch
from torch import Tensor

from molssl.files import file_sha256
from molssl.nn.encoder import EncoderConfig, GNNEncoder

#: molssl conv names of the architectures pretrain-gnns released (its ``gnn_type`` "graphsage" is "sage")
ARCHS = ("gat", "gcn", "gin", "sage")
#: bump when the conversion changes, so that cached conversions are redone
CONVERTER_VERSION = 1
FORMAT = "pretrain-gnns"
NOTES = (
    "pretrain-gnns gathers messages at edge_index[0] (PyG 1.0.3), molssl at edge_index[1]: the same "
    "function for molecules, whose two bond directions carry the same features.",
    "JK 'last' as the released models; dropout is set at fine-tuning.",
)
GAT_NOTE = (
    "GAT: converted with softmax='pretrain_gnns_legacy' (shift by max(0, max score), +1e-16 in the "
    "denominator), as PyG 1.0.3 / torch-scatter 1.1.2 computed it when the weights were trained."
)
_ATOM = re.compile(r"x_embedding([12])\.weight")
_BOND = re.compile(r"gnns\.(\d+)\.edge_embedding([12])\.weight")
_NORM = re.compile(r"batch_norms\.(\d+)\.(weight|bias|running_mean|running_var|num_batches_tracked)")
_CONV = {
    "gcn": re.compile(r"gnns\.(\d+)\.(linear\.(?:weight|bias))"),
    "sage": re.compile(r"gnns\.(\d+)\.(linear\.(?:weight|bias))"),
    "gat": re.compile(r"gnns\.(\d+)\.(weight_linear\.(?:weight|bias)|att|bias)"),
    "gin": re.compile(r"gnns\.(\d+)\.(mlp\.[02]\.(?:weight|bias))"),
}


class ConversionError(ValueError):
    """A legacy file cannot be converted: unreadable, not a plain state dict, or not the named architecture."""


def read_pretrain_gnns_state(path: str | os.PathLike) -> dict[str, Tensor]:
    """The state dict in a pretrain-gnns ``.pth`` file, read with ``torch.load(weights_only=True)`` only.

    Raises:
        FileNotFoundError: no such file.
        ConversionError: the file is not a torch pickle of a mapping of names to tensors, or needs code
            to load (refused, never run).
    """
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"{path}: no such file")
    try:
        state = torch.load(path, weights_only=True, map_location="cpu")
    except (pickle.UnpicklingError, RuntimeError, EOFError, ValueError, AttributeError) as exc:
        raise ConversionError(
            f"{path}: not a torch file of plain tensors ({type(exc).__name__}: {str(exc).splitlines()[0]}); "
            "only weights_only=True loading is allowed, so files that need code to load are refused"
        ) from exc
    if not isinstance(state, Mapping):
        raise ConversionError(f"{path}: holds a {type(state).__name__}, not a state dict (a mapping of names to tensors)")
    bad = [str(k) for k, v in state.items() if not isinstance(k, str) or not isinstance(v, Tensor)]
    if bad:
        raise ConversionError(f"{path}: entries that are not named tensors: {bad[:10]}")
    return dict(state)


def _rename(key: str, arch: str) -> str | None:
    """molssl's name of a reference key, or None if ``arch``'s reference GNN has no such key."""
    if m := _ATOM.fullmatch(key):
        return f"atom_embedding.embeddings.{int(m[1]) - 1}.weight"
    if m := _BOND.fullmatch(key):
        return f"convs.{m[1]}.bond_embedding.embeddings.{int(m[2]) - 1}.weight"
    if m := _NORM.fullmatch(key):
        return key
    if m := _CONV[arch].fullmatch(key):
        return f"convs.{m[1]}.{m[2].replace('weight_linear', 'linear')}"
    return None


def _infer_config(state: Mapping[str, Tensor], arch: str, source: str) -> EncoderConfig:
    layers = sorted({int(m[1]) for k in state if (m := re.match(r"gnns\.(\d+)\.", k))})
    if not layers or layers != list(range(len(layers))):
        raise ConversionError(f"{source}: expected layers gnns.0 .. gnns.L-1, found {layers or 'none'}")
    atom = state.get("x_embedding1.weight")
    if atom is None or atom.dim() != 2:
        raise ConversionError(f"{source}: missing the atom embedding x_embedding1.weight ([120, D])")
    conv_options: dict[str, Any] = {}
    if arch == "gat":
        att = state.get("gnns.0.att")
        if att is None or att.dim() != 3:
            raise ConversionError(f"{source}: a GAT file needs gnns.0.att ([1, heads, 2 D])")
        conv_options = {"heads": int(att.size(1)), "softmax": "pretrain_gnns_legacy"}
    return EncoderConfig(scheme="hu", conv=arch, num_layers=len(layers), emb_dim=int(atom.size(1)), jk="last",
                         dropout=0.0, conv_options=conv_options)  # fmt: skip


def convert_pretrain_gnns_state(
    state: Mapping[str, Tensor], arch: str, source: str = "state dict"
) -> tuple[EncoderConfig, dict[str, Tensor]]:
    """The molssl encoder config and state dict equivalent to a pretrain-gnns ``GNN`` state dict.

    Args:
        state: the reference's state dict (``read_pretrain_gnns_state``).
        arch: molssl conv name of the file's architecture, one of ``ARCHS``.
        source: what ``state`` came from, for error messages.

    Raises:
        ConversionError: listing every unknown key, missing key and wrong shape at once.
    """
    if arch not in ARCHS:
        raise ConversionError(f"unknown pretrain-gnns architecture {arch!r}; valid: {', '.join(ARCHS)}")
    if any(k.startswith("gnn.") for k in state):
        raise ConversionError(
            f"{source}: keys start with 'gnn.': this is a fine-tuned GNN_graphpred, not a pretrained GNN; "
            "save its .gnn module's state_dict() and convert that file"
        )
    config = _infer_config(state, arch, source)
    expected = GNNEncoder(config).state_dict()
    converted: dict[str, Tensor] = {}
    unknown, shapes = [], []
    for key, tensor in state.items():
        name = _rename(key, arch)
        if name is None or name not in expected:
            unknown.append(key)
            continue
        converted[name] = tensor
        if tensor.shape != expected[name].shape:
            shapes.append(f"{key} -> {name} {list(tensor.shape)} (expected {list(expected[name].shape)})")
    missing = sorted(set(expected) - set(converted))
    if unknown or missing or shapes:
        problems = []
        if unknown:
            problems.append(f"unknown keys for a pretrain-gnns {arch} GNN: {', '.join(sorted(unknown))}")
        if missing:
            problems.append(f"missing keys (molssl names): {', '.join(missing)}")
        if shapes:
            problems.append(f"wrong shapes: {', '.join(shapes)}")
        raise ConversionError(f"{source}: cannot convert as --arch {arch}: " + "; ".join(problems))
    out = {k: t.to(expected[k].dtype).contiguous() for k, t in converted.items()}
    return config, out


def convert_pretrain_gnns(
    path: str | os.PathLike, arch: str, out: str | os.PathLike, extra: Mapping[str, Any] | None = None
) -> Path:
    """Convert a pretrain-gnns ``.pth`` file into a molssl encoder checkpoint directory ``out``.

    The checkpoint (``molssl.nn.pretrained.save_encoder``: config.json + safetensors) records under
    ``extra["converted_from"]`` the file's name, sha256, format, architecture, converter version and
    the notes above; ``extra`` adds more plain data (the zoo adds its entry).

    Returns:
        The checkpoint directory.

    Raises:
        FileNotFoundError, ConversionError: see ``read_pretrain_gnns_state`` and
            ``convert_pretrain_gnns_state``; nothing is written then.
    """
    from molssl.nn.pretrained import save_encoder

    path = Path(path)
    state = read_pretrain_gnns_state(path)
    config, converted = convert_pretrain_gnns_state(state, arch, source=str(path))
    encoder = GNNEncoder(config)
    encoder.load_state_dict(converted, strict=True)
    notes = [*NOTES, GAT_NOTE] if arch == "gat" else list(NOTES)
    provenance = {"file": path.name, "sha256": file_sha256(path), "format": FORMAT,
                  "arch": arch, "converter_version": CONVERTER_VERSION, "notes": notes}  # fmt: skip
    save_encoder(encoder, out, extra={**(extra or {}), "converted_from": provenance})
    return Path(out)


__all__ = [
    "ARCHS", "CONVERTER_VERSION", "ConversionError", "convert_pretrain_gnns", "convert_pretrain_gnns_state",
    "read_pretrain_gnns_state",
]  # fmt: skip

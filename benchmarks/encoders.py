"""Which pretrained encoder a fine-tuning benchmark starts from, and the label its rows carry.

``--pretrained`` in ``peft.py`` and ``ood.py`` takes a zoo name or a checkpoint directory (a ``molssl
pretrain`` run's ``encoder/``). Rows name it so that a resumed run never mixes encoders: a zoo name is
its own label; a directory is labelled by its path relative to the repository plus ``#`` and the first 12
hex digits of its weights' ``state_sha256`` (a directory pretrained again is a new encoder).
"""

from __future__ import annotations

from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def resolve_encoder(pretrained: str) -> tuple[str, str]:
    """The row label and checkpoint directory of ``--pretrained`` (a zoo entry is converted and cached here,
    once, before worker processes read it)."""
    from molssl.zoo import get_entry, pretrained_dir

    try:
        get_entry(pretrained)
    except ValueError:
        pass
    else:
        return pretrained, str(pretrained_dir(pretrained))
    from molssl.nn.pretrained import load_encoder_state
    from molssl.peft import state_sha256

    path = Path(pretrained).resolve()
    if not path.is_dir():
        raise SystemExit(f"--pretrained {pretrained}: neither a zoo name (molssl zoo list) nor a checkpoint directory")
    _, state = load_encoder_state(path)
    where = path.relative_to(ROOT) if path.is_relative_to(ROOT) else path
    return f"{where}#{state_sha256(state)[:12]}", str(path)


def finetune_encoder_config(encoder_dir: str):  # noqa: ANN201 - molssl.nn.encoder.EncoderConfig, imported lazily
    """The pretrained encoder's config with fine-tuning's dropout 0.5 (the protocol's); the from-scratch
    baseline of a benchmark is this same config from a random initialization."""
    from molssl.nn.pretrained import load_encoder_state

    config, _ = load_encoder_state(encoder_dir)
    return type(config).from_dict({**config.to_dict(), "dropout": 0.5})


def architecture(config) -> str:  # noqa: ANN001
    """``"gcn 5x300"``: conv, layers and width of an encoder config."""
    return f"{config.conv} {config.num_layers}x{config.emb_dim}"

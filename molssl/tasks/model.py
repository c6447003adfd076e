"""A property-prediction model: encoder -> readout -> linear head, with its plain-data config.

The encoder is a GNN (``EncoderConfig``) or another registered kind that pools its own inputs into one
vector per molecule (the SMILES transformer of ``molssl.text``, kind ``"smiles_transformer"``, or an image encoder
reading RDKit depictions, ``molssl.vision.molecule_inputs``)."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any, Mapping

from torch import Tensor, nn

from molssl.nn.encoder import EncoderConfig, GNNEncoder
from molssl.nn.encoders import build_encoder, config_from_dict
from molssl.nn.peft_sites import attach_encoder_peft, resolve_peft
from molssl.nn.readout import get_readout
from molssl.peft import PEFT_METHODS, PeftConfig, load_base, mark_trainable

from molssl.ssl.checks import check_known_keys
from molssl.data.task_type import TASK_TYPES


@dataclass(frozen=True, kw_only=True)
class PredictorConfig:
    """What a ``PropertyModel`` is: encoder, readout, and the tasks it predicts.

    Attributes:
        encoder: the GNN encoder configuration (records the featurization scheme), or a sequence encoder's
            (``molssl.text.encoder.SmilesTransformerConfig``: records its vocabulary, pools its own tokens).
        readout: graph pooling, a key of ``molssl.nn.READOUTS`` (GNN encoders only).
        task_type: ``"classification"`` (multi-task binary, logits), ``"multiclass"`` (``num_classes``
            logits per task) or ``"regression"``.
        task_names: one name per output column.
        num_classes: classes per task, for ``multiclass`` only (>= 2).
        peft: the parameter-efficient fine-tuning method attached to the encoder, as
            ``molssl.peft.PeftConfig.to_dict()`` (None: none).
    """

    encoder: EncoderConfig
    readout: str = "mean"
    task_type: str = "classification"
    task_names: tuple[str, ...] = ("y",)
    num_classes: int | None = None
    peft: dict[str, Any] | None = None

    def __post_init__(self) -> None:
        if isinstance(self.encoder, Mapping):
            object.__setattr__(self, "encoder", config_from_dict({"kind": "gnn", **self.encoder}))
        get_readout(self.readout)
        if self.task_type not in TASK_TYPES:
            raise ValueError(f"task_type must be one of {', '.join(TASK_TYPES)}, got {self.task_type!r}")
        names = tuple(self.task_names)
        if not names or len(set(names)) != len(names):
            raise ValueError(f"task_names must be non-empty and unique, got {names}")
        object.__setattr__(self, "task_names", names)
        if (self.task_type == "multiclass") != (self.num_classes is not None) or (self.num_classes is not None and self.num_classes < 2):
            raise ValueError(f"num_classes (>= 2) is required for task_type 'multiclass' and only for it, got "
                             f"task_type {self.task_type!r} with num_classes {self.num_classes}")  # fmt: skip
        if self.peft is not None:  # recorded with the encoder's default LoRA targets filled in
            object.__setattr__(self, "peft", resolve_peft(PeftConfig.from_dict(self.peft), self.encoder).to_dict())

    @property
    def num_tasks(self) -> int:
        return len(self.task_names)

    @property
    def num_outputs(self) -> int:
        """Head outputs: one per task, or ``num_classes`` per task for multiclass."""
        return self.num_tasks * (self.num_classes or 1)

    def to_dict(self) -> dict[str, Any]:
        return {**dataclasses.asdict(self), "encoder": self.encoder.to_dict(), "task_names": list(self.task_names)}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> "PredictorConfig":
        check_known_keys(cls, data)
        return cls(**{**data, "encoder": config_from_dict({"kind": "gnn", **data["encoder"]}), "task_names": tuple(data["task_names"])})


class PropertyModel(nn.Module):
    """Encoder -> readout -> ``Linear`` head, as the fine-tuning model of Hu et al. (2020).

    Shapes:
        batch (PyG ``Batch`` of B graphs) -> [B, num_tasks] (logits for classification, standardized
        values for regression), or [B, num_tasks, num_classes] logits for multiclass
    """

    def __init__(self, config: PredictorConfig) -> None:
        super().__init__()
        self.config = config
        if not isinstance(config.encoder, EncoderConfig):  # a sequence encoder: [B, D] from its own pooling
            self.encoder = build_encoder(config.encoder)
            self.readout = None
            self.head = nn.Linear(self.encoder.out_dim, config.num_outputs)
            if config.peft is not None:
                attach_encoder_peft(self.encoder, PeftConfig.from_dict(config.peft))
            return
        self.encoder = GNNEncoder(config.encoder)
        readout_cls = get_readout(config.readout)
        self.readout = readout_cls(self.encoder.out_dim)
        self.head = nn.Linear(readout_cls.out_dim(self.encoder.out_dim), config.num_outputs)
        if config.peft is not None:
            attach_encoder_peft(self.encoder, PeftConfig.from_dict(config.peft))

    def embed(self, batch: Any) -> Tensor:
        """Molecule representations, shape [B, readout dim] (a sequence or image encoder's pooled [B, D])."""
        if self.readout is None:  # a token batch's ids, or a depiction batch's pixels (molssl.vision.molecule_inputs)
            return self.encoder(batch.pixels if hasattr(batch, "pixels") else batch.ids)
        h = self.encoder(batch)
        return self.readout(h, batch.batch, int(batch.num_graphs), getattr(batch, "ptr", None))

    def forward(self, batch: Any) -> Tensor:
        return self.head_outputs(self.embed(batch))

    def head_outputs(self, embedded: Tensor) -> Tensor:
        """The head on molecule representations (``embed``'s): what ``forward`` returns.

        Shapes:
            embedded: [B, readout dim] -> [B, num_tasks], or [B, num_tasks, num_classes] for multiclass
        """
        out = self.head(embedded)
        if self.config.num_classes is not None:
            out = out.view(out.shape[0], self.config.num_tasks, self.config.num_classes)  # [B, T * C] -> [B, T, C]
        return out

    def encoder_layers(self) -> list[nn.Module]:
        """The encoder's trainable blocks from input to output, for ``last_k`` fine-tuning."""
        if self.readout is None:
            return self.encoder.layers()
        enc = self.encoder
        blocks: list[nn.Module] = [enc.atom_embedding]
        for conv, norm in zip(enc.convs, enc.batch_norms):
            blocks.append(nn.ModuleList([conv, norm]))
        return blocks


def count_parameters(module: nn.Module) -> int:
    """Number of parameters (trainable or not)."""
    return sum(p.numel() for p in module.parameters())


def set_trainable(model: PropertyModel, mode: str, last_k: int = 1) -> None:
    """Freeze parts of the model for a fine-tuning mode.

    Modes: ``"full"`` (everything trains), ``"linear_probe"`` (encoder frozen: only readout and head
    train), ``"last_k"`` (the last ``last_k`` conv layers with their batch norms, the virtual-node
    MLPs, readout and head train), or a PEFT method of ``molssl.peft.PEFT_METHODS`` (the encoder is
    frozen but for what the method trains: its attached modules, or BitFit's biases and norms;
    readout and head train). In ``full`` mode attached PEFT modules train with everything else.
    """
    valid = ("full", "linear_probe", "last_k", *PEFT_METHODS)
    if mode not in valid:
        raise ValueError(f"unknown fine-tuning mode {mode!r}; valid modes: {', '.join(valid)}")
    for p in model.parameters():
        p.requires_grad_(True)
    if mode == "full":
        return
    if mode in PEFT_METHODS:
        attached = (model.config.peft or {}).get("method")
        if mode != "bitfit" and attached != mode:
            raise ValueError(f"fine-tuning mode {mode!r} needs a model built with its PEFT modules (attached: {attached}); "
                             f"build it from PredictorConfig(peft={{'method': {mode!r}}}) (PropertyPredictor.fit does)")  # fmt: skip
        mark_trainable(model.encoder, mode)
        return
    for p in model.encoder.parameters():
        p.requires_grad_(False)
    if mode == "last_k":
        layers = model.encoder_layers()[1:]
        if not 1 <= last_k <= len(layers):
            raise ValueError(f"last_k must be in 1..{len(layers)} (the number of encoder layers), got {last_k}")
        for block in layers[-last_k:]:
            for p in block.parameters():
                p.requires_grad_(True)
        if getattr(model.encoder, "virtual_node", None) is not None:
            for p in model.encoder.virtual_node.parameters():
                p.requires_grad_(True)


def frozen_modules_eval(model: PropertyModel) -> None:
    """Put every module whose parameters are all frozen in eval mode: a frozen part computes fixed features.

    Call after ``model.train()``. With ``linear_probe`` the whole encoder runs in eval mode (no dropout
    on the frozen features, batch-norm statistics fixed); with ``last_k`` the frozen convolutions and
    batch norms do, and so does the dropout of every layer whose output is still fixed features: no
    trainable parameter acts before it (only later layers' convolutions and batch norms train). A
    trainable virtual node, prompt, adapter or LoRA update makes every layer's output depend on
    trained weights, and then each layer keeps its dropout, as in full fine-tuning.
    """
    for module in model.modules():
        params = list(module.parameters(recurse=True))
        if params and not any(p.requires_grad for p in params):
            module.eval()
    encoder = model.encoder
    trainable = {id(p) for p in encoder.parameters() if p.requires_grad}
    for layer, dropout in enumerate(getattr(encoder, "dropouts", ())):  # GNN layers' dropouts
        later = {id(p) for block in (*encoder.convs[layer + 1 :], *encoder.batch_norms[layer + 1 :]) for p in block.parameters()}
        if trainable <= later:
            dropout.eval()


__all__ = ["PredictorConfig", "PropertyModel", "TASK_TYPES", "count_parameters", "set_trainable", "frozen_modules_eval", "ModelFactory"]


@dataclass(frozen=True)
class ModelFactory:
    """Builds a fresh ``PropertyModel``, optionally with pretrained encoder weights: a picklable ``make_model``.

    Attributes:
        config: the model to build.
        encoder_state: encoder weights to load (None: random initialization).
        source: where the weights came from, for error messages.
    """

    config: PredictorConfig
    encoder_state: Mapping[str, Any] | None = None
    source: str | None = None

    def __call__(self) -> PropertyModel:
        model = PropertyModel(self.config)
        if self.encoder_state is not None:  # PEFT modules attached to the encoder keep their initial values
            load_base(model.encoder, dict(self.encoder_state), self.source or "the pretrained encoder")
        return model

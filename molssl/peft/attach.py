"""Attach a PEFT method to any torch encoder, choose what trains, and fold LoRA back into the weights.

The encoder is not rewritten: adapters, LoRA updates and prompts are modules held in one container
registered on the encoder as ``encoder.peft`` (so they are saved with it and move with ``.to()``).
Adapters and prompts act through forward hooks on the encoder's own modules; a LoRA target becomes a
``LoRALinear`` in place (a subclass, so fused fast paths that only take exact ``nn.Linear`` layers
still call it). The base modules' parameters and state-dict keys stay exactly as they were, so a
pretrained checkpoint still names every base weight and a delta checkpoint is "everything not equal
to the base". Hooks are bound methods of their PEFT modules, so ``copy.deepcopy`` of the encoder gives
a copy wired to its own PEFT modules. The encoder must be a module with its own ``forward`` (not a
bare ``nn.Sequential``, which would run the container as a layer).

Which modules get the adapters and where the prompt goes is the encoder's business, stated in a
``PeftSites`` (``molssl.nn.peft_sites``: the GNNs', and any encoder's own ``peft_sites()``, as the SMILES
transformer's); LoRA targets any ``nn.Linear`` whose name matches ``PeftConfig.lora_targets`` (by default
the patterns the sites name).
"""

from __future__ import annotations

import fnmatch
from dataclasses import dataclass

from torch import nn

from molssl.peft.adapter import BottleneckAdapter
from molssl.peft.config import PeftConfig
from molssl.peft.lora import LoRAUpdate
from molssl.peft.prompt import BasisPrompt, FeaturePrompt

#: the attribute of the encoder holding its ``PeftModules`` (and the prefix of their state-dict keys)
PEFT_ATTRIBUTE = "peft"

_NORMS = (nn.modules.batchnorm._NormBase, nn.LayerNorm, nn.GroupNorm)


@dataclass(frozen=True)
class PeftSites:
    """Where PEFT modules act on an encoder: the encoder-specific part of the wiring.

    Attributes:
        layer_outputs: names (relative to the encoder) of the modules whose outputs are the layers'
            outputs; an adapter follows each.
        layer_dims: the feature size of each of those outputs.
        input_features: name of the module whose output holds the input features (node / token
            embeddings); the prompt is added to it.
        input_dim: the feature size of that output.
        lora_targets: the name patterns of the linear layers LoRA adapts when ``PeftConfig.lora_targets``
            is ``None`` (the encoder's choice, e.g. the attention projections of a transformer).
    """

    layer_outputs: tuple[str, ...]
    layer_dims: tuple[int, ...]
    input_features: str
    input_dim: int
    lora_targets: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        if len(self.layer_outputs) != len(self.layer_dims):
            raise ValueError(f"one dim per layer output: {len(self.layer_outputs)} outputs, {len(self.layer_dims)} dims")


def _key(name: str) -> str:
    """A module name as a ``ModuleDict`` key (which may not contain dots)."""
    return name.replace(".", "-")


class PeftModules(nn.Module):
    """The PEFT modules of one encoder: adapters, LoRA updates and prompts, keyed by the module they act on.

    Attributes:
        config: the method and its options.
        adapters: ``BottleneckAdapter`` per layer-output module (key: its name with ``-`` for ``.``).
        lora: ``LoRAUpdate`` per targeted ``nn.Linear``.
        prompts: the ``FeaturePrompt`` or ``BasisPrompt`` of the input-feature module.
    """

    def __init__(self, config: PeftConfig) -> None:
        super().__init__()
        self.config = config
        self.adapters = nn.ModuleDict()
        self.lora = nn.ModuleDict()
        self.prompts = nn.ModuleDict()


def get_peft(encoder: nn.Module) -> PeftModules | None:
    """The ``PeftModules`` attached to ``encoder``, or ``None``."""
    found = getattr(encoder, PEFT_ATTRIBUTE, None)
    return found if isinstance(found, PeftModules) else None


def linear_names(encoder: nn.Module) -> list[str]:
    """Names of the encoder's own ``nn.Linear`` layers (those of attached PEFT modules excluded)."""
    return [name for name, module in encoder.named_modules()
            if isinstance(module, nn.Linear) and name.split(".")[0] != PEFT_ATTRIBUTE]  # fmt: skip


def lora_target_names(encoder: nn.Module, patterns: tuple[str, ...]) -> list[str]:
    """The linear layers whose names match any of ``patterns``.

    Raises:
        ValueError: a pattern matches no linear layer (the message lists them).
    """
    names = linear_names(encoder)
    for pattern in patterns:
        if not fnmatch.filter(names, pattern):
            shown = ", ".join(names[:20]) + (f", ... ({len(names) - 20} more)" if len(names) > 20 else "")
            raise ValueError(f"lora_targets pattern {pattern!r} matches no linear layer of the encoder; its linear layers: {shown}")
    return [n for n in names if any(fnmatch.fnmatchcase(n, p) for p in patterns)]


def attach_peft(encoder: nn.Module, config: PeftConfig, sites: PeftSites) -> PeftModules:
    """Add ``config.method``'s modules to ``encoder`` (as ``encoder.peft``) and hook them in; returns them.

    Adapters and LoRA start as the identity (zero up-projection / zero B), so the encoder computes
    exactly what it did before; the prompts start at the paper's Glorot init. BitFit adds nothing.
    New modules are created on the device and dtype of the encoder's first parameter.

    Raises:
        ValueError: ``encoder`` already has PEFT modules or is a bare container, a site does not exist,
            or a LoRA pattern matches no linear layer.
    """
    if isinstance(encoder, (nn.Sequential, nn.ModuleList, nn.ModuleDict)):
        raise ValueError(f"attach PEFT modules to an encoder module with its own forward, not a bare {type(encoder).__name__}")
    if get_peft(encoder) is not None or hasattr(encoder, PEFT_ATTRIBUTE):
        raise ValueError(f"the encoder already has an attribute {PEFT_ATTRIBUTE!r}; attach PEFT modules once")
    modules = dict(encoder.named_modules())
    peft = PeftModules(config)
    hooks: list[tuple[nn.Module, object]] = []
    lora_layers: list[tuple[nn.Linear, LoRAUpdate]] = []
    if config.method == "adapter":
        for name, dim in zip(sites.layer_outputs, sites.layer_dims):
            adapter = peft.adapters[_key(name)] = BottleneckAdapter(dim, config.adapter_dim)
            hooks.append((_site(modules, name), adapter.hook))
    elif config.method == "lora":
        patterns = config.lora_targets if config.lora_targets is not None else sites.lora_targets
        if not patterns:
            raise ValueError("lora_targets is None (the encoder's default) but the encoder's PeftSites name no default; "
                             "pass lora_targets")  # fmt: skip
        for name in lora_target_names(encoder, patterns):
            linear = modules[name]
            update = peft.lora[_key(name)] = LoRAUpdate(linear.in_features, linear.out_features, config.lora_rank, config.lora_scale)
            lora_layers.append((linear, update))
    elif config.method in ("gpf", "gpf_plus"):
        dim = sites.input_dim
        prompt = FeaturePrompt(dim) if config.method == "gpf" else BasisPrompt(dim, config.prompt_basis)
        peft.prompts[_key(sites.input_features)] = prompt
        hooks.append((_site(modules, sites.input_features), prompt.hook))
    reference = next(encoder.parameters(), None)
    if reference is not None:
        peft.to(device=reference.device, dtype=reference.dtype)
    encoder.add_module(PEFT_ATTRIBUTE, peft)
    for module, hook in hooks:
        module.register_forward_hook(hook)
    for linear, update in lora_layers:
        update.adapt(linear)
    return peft


def _site(modules: dict[str, nn.Module], name: str) -> nn.Module:
    if name not in modules:
        raise ValueError(f"the encoder has no module {name!r} to attach a PEFT module to")
    return modules[name]


def bitfit_parameter_names(encoder: nn.Module) -> list[str]:
    """BitFit's trainable set (Ben Zaken et al., ACL 2022): every bias, and the parameters of every norm layer."""
    norm_params = {id(p) for m in encoder.modules() if isinstance(m, _NORMS) for p in m.parameters(recurse=False)}
    return [name for name, p in encoder.named_parameters() if name.rsplit(".", 1)[-1] == "bias" or id(p) in norm_params]


def mark_trainable(encoder: nn.Module, method: str) -> list[str]:
    """Freeze ``encoder`` except what ``method`` trains; returns the names of the trainable parameters.

    ``bitfit``: biases and norm parameters; the other methods: their attached PEFT modules only.

    Raises:
        ValueError: ``method`` needs PEFT modules the encoder does not have (call ``attach_peft`` first).
    """
    peft = get_peft(encoder)
    if method != "bitfit" and (peft is None or peft.config.method != method):
        have = peft.config.method if peft is not None else "none"
        raise ValueError(f"PEFT method {method!r} needs its modules attached to the encoder (attached: {have}); call attach_peft first")
    trainable = set(bitfit_parameter_names(encoder)) if method == "bitfit" else {
        f"{PEFT_ATTRIBUTE}.{name}" for name, _ in peft.named_parameters()  # type: ignore[union-attr]
    }
    for name, p in encoder.named_parameters():
        p.requires_grad_(name in trainable)
    return sorted(trainable)


def merge_lora(encoder: nn.Module) -> int:
    """Fold every LoRA update into its linear layer's weight and remove it; returns how many were merged.

    The merged encoder computes the same function (to float rounding) with no extra work at inference.
    """
    peft = get_peft(encoder)
    if peft is None or not len(peft.lora):
        return 0
    modules = dict(encoder.named_modules())
    merged = 0
    for key in list(peft.lora):
        update = peft.lora[key]
        linear = modules[key.replace("-", ".")]
        update.merge_into(linear)
        del peft.lora[key]
        merged += 1
    return merged


def count_trainable(module: nn.Module) -> int:
    """Number of parameters that require gradients."""
    return sum(p.numel() for p in module.parameters() if p.requires_grad)


__all__ = [
    "PEFT_ATTRIBUTE", "PeftModules", "PeftSites", "attach_peft", "bitfit_parameter_names", "count_trainable",
    "get_peft", "linear_names", "lora_target_names", "mark_trainable", "merge_lora",
]  # fmt: skip

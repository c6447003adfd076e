"""Parameter-efficient fine-tuning, plain torch: adapters, LoRA, BitFit, graph prompts, delta checkpoints.

Nothing here knows about molecules or graphs: an encoder states where its layers end and where its
input features are (``PeftSites``), and ``attach_peft`` hooks the modules in. The GNN wiring is
``molssl.nn.peft_sites``; fine-tuning modes are ``molssl.tasks.finetune``'s ``mode``.
"""

from molssl.peft.adapter import BottleneckAdapter
from molssl.peft.attach import (
    PEFT_ATTRIBUTE,
    PeftModules,
    PeftSites,
    attach_peft,
    bitfit_parameter_names,
    count_trainable,
    get_peft,
    linear_names,
    lora_target_names,
    mark_trainable,
    merge_lora,
)
from molssl.peft.config import METHOD_OPTIONS, PEFT_METHODS, PeftConfig
from molssl.peft.delta import BaseMismatchError, apply_delta, base_record, check_base, load_base, state_delta, state_sha256
from molssl.peft.lora import LoRALinear, LoRAUpdate
from molssl.peft.prompt import BasisPrompt, FeaturePrompt

__all__ = [
    "BaseMismatchError", "BasisPrompt", "BottleneckAdapter", "FeaturePrompt", "LoRALinear", "LoRAUpdate", "METHOD_OPTIONS",
    "PEFT_ATTRIBUTE", "PEFT_METHODS", "PeftConfig", "PeftModules", "PeftSites", "apply_delta", "attach_peft",
    "base_record", "bitfit_parameter_names", "check_base", "count_trainable", "get_peft", "linear_names", "load_base",
    "lora_target_names", "mark_trainable", "merge_lora", "state_delta", "state_sha256",
]  # fmt: skip

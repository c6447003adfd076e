"""Command-line options generated from a config dataclass, so each option is declared once: on its field.

``add_config_options(group, TrainConfig)`` adds ``--batch-size``, ``--precision {fp32,bf16,fp16}``, ... for
every field: the type from the annotation, the default from the field, the choices from the field's
``metadata["choices"]``, the help from the class docstring's ``Attributes:`` section. A bool field
defaulting to False becomes a flag (``--activation-checkpointing``); one defaulting to True becomes
``--no-NAME``. ``config_from_args(args, TrainConfig)`` builds the config back from the parsed values.
"""

from __future__ import annotations

import argparse
import dataclasses
import inspect
import json
import re
from typing import Any


def key_value(text: str) -> tuple[str, object]:
    """``key=value`` with a JSON value (``mask_rate=0.25``, ``mask_edge=true``); a bare word stays a string."""
    if "=" not in text:
        raise argparse.ArgumentTypeError(f"options are key=value, got {text!r}")
    key, raw = text.split("=", 1)
    try:
        value = json.loads(raw)
    except json.JSONDecodeError:
        value = raw
    return key.strip(), value


def field_docs(cls: type) -> dict[str, str]:
    """Each attribute's text in the Google-style ``Attributes:`` section of ``cls``'s docstring, on one line."""
    doc = inspect.getdoc(cls) or ""
    match = re.search(r"^Attributes:\n(.*?)(?:\n\S|\Z)", doc, flags=re.S | re.M)
    docs: dict[str, str] = {}
    if not match:
        return docs
    current: list[str] = []
    for line in match.group(1).splitlines():
        head = re.match(r"^    (\w+(?:, \w+)*): (.*)$", line)
        if head:
            current = head.group(1).split(", ")
            docs.update(dict.fromkeys(current, head.group(2)))
        elif line.strip():
            for name in current:
                docs[name] += " " + line.strip()
    return docs


_TYPES = {"int": int, "float": float, "str": str}


def add_config_options(group: Any, cls: type, *, skip: tuple[str, ...] = ()) -> list[str]:
    """Add one option per field of dataclass ``cls`` (but ``skip``) to ``group``; returns the field names added.

    Raises:
        TypeError: a field whose type has no command-line form (dicts, lists): skip it and add it by hand.
    """
    docs = field_docs(cls)
    added = []
    for f in dataclasses.fields(cls):
        if f.name in skip or not f.init:
            continue
        default = f.default if f.default is not dataclasses.MISSING else f.default_factory()  # type: ignore[misc]
        flag = "--" + f.name.replace("_", "-")
        text = docs.get(f.name, "").replace("``", "").replace("%", "%%") or None
        annotation = str(f.type).replace(" ", "")
        if annotation == "bool":
            if default:
                off = f"turn off: {text or f.name} (default: on)"
                group.add_argument("--no-" + f.name.replace("_", "-"), dest=f.name, action="store_false", help=off)
            else:
                group.add_argument(flag, dest=f.name, action="store_true", help=text)
        else:
            base = annotation.removesuffix("|None")
            if base not in _TYPES:
                raise TypeError(f"{cls.__name__}.{f.name}: no command-line form for type {f.type}; skip it and add it by hand")
            group.add_argument(flag, dest=f.name, type=_TYPES[base], default=default, choices=f.metadata.get("choices"), help=text)
        added.append(f.name)
    return added


def config_from_args(args: argparse.Namespace, cls: type, **fixed: Any) -> Any:
    """``cls`` built from the parsed values of the options ``add_config_options`` added (and ``fixed`` ones)."""
    values = {f.name: getattr(args, f.name) for f in dataclasses.fields(cls) if f.init and hasattr(args, f.name)}
    return cls(**{**values, **fixed})


__all__ = ["add_config_options", "config_from_args", "field_docs", "key_value"]

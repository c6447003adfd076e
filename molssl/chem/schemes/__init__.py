"""Named, versioned featurization schemes and their registry.

Importing this package loads no RDKit: a scheme reads RDKit only when it featurizes, so its ``spec``
(``get_spec("hu")``) is available to layers that never touch molecules (encoder configs, checkpoints).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from molssl.chem.schemes.base import Scheme
from molssl.chem.schemes.hu import HuScheme
from molssl.chem.schemes.ogb import OgbScheme
from molssl.chem.schemes.spec import FeaturizationSpec
from molssl.registry import Registry

SCHEMES: Registry[type[Scheme]] = Registry("featurization scheme", {"hu": HuScheme, "ogb": OgbScheme}, plural="schemes")


def get_scheme(scheme: "str | Scheme") -> Scheme:
    """The scheme registered under ``scheme`` (a ``Scheme`` instance is returned as is)."""
    if isinstance(scheme, Scheme):
        return scheme
    return SCHEMES[scheme]()


def get_spec(scheme: "str | Scheme | FeaturizationSpec | Mapping[str, Any]") -> FeaturizationSpec:
    """The ``FeaturizationSpec`` of a scheme name, a scheme, a spec, or a recorded spec dict (``to_dict()``)."""
    if isinstance(scheme, FeaturizationSpec):
        return scheme
    if isinstance(scheme, Mapping):
        return FeaturizationSpec.from_dict(scheme)
    return get_scheme(scheme).spec


__all__ = ["SCHEMES", "FeaturizationSpec", "Scheme", "HuScheme", "OgbScheme", "get_scheme", "get_spec"]

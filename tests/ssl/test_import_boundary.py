"""molssl.ssl is torch-only: importing it loads no RDKit, PyG, pandas or other molssl subpackage, and no file
under molssl/ssl imports anything but the standard library, torch and molssl.ssl itself."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest

SSL_ROOT = Path(__file__).resolve().parents[2] / "molssl" / "ssl"
ALLOWED_THIRD_PARTY = {"torch"}


def test_importing_the_core_loads_nothing_else():
    code = (
        "import molssl.ssl, sys; "
        "bad=[m for m in sys.modules if m.split('.')[0] in ('rdkit','torch_geometric','pandas') "
        "or (m.startswith('molssl.') and not m.startswith('molssl.ssl'))]; assert not bad, bad"
    )
    result = subprocess.run([sys.executable, "-c", code], check=False, capture_output=True, text=True)
    assert result.returncode == 0, result.stderr


def forbidden_imports(source: str, module: str) -> list[str]:
    """Imports in ``source`` (the code of dotted ``module``) that leave the standard library, torch and molssl.ssl."""
    package = module.split(".")[:-1]  # the package a relative import starts from (a file, not __init__)
    bad = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = package[: len(package) - node.level + 1] if node.level else []
            module_parts = base + (node.module.split(".") if node.module else [])
            names = [".".join([*module_parts, alias.name]) for alias in node.names]
        else:
            continue
        for name in names:
            top = name.split(".")[0]
            if name == "molssl.ssl" or name.startswith("molssl.ssl."):
                continue
            if top in sys.stdlib_module_names or top == "__future__" or top in ALLOWED_THIRD_PARTY:
                continue
            bad.append(name)
    return bad


def module_name(path: Path) -> str:
    parts = ["molssl", "ssl", *path.relative_to(SSL_ROOT).with_suffix("").parts]
    return ".".join(parts)


def test_no_file_of_the_core_imports_outside_it():
    files = sorted(SSL_ROOT.rglob("*.py"))
    assert len(files) >= 10  # the walk really found the package
    offenders = {module_name(p): forbidden_imports(p.read_text(), module_name(p)) for p in files}
    assert not {m: bad for m, bad in offenders.items() if bad}


@pytest.mark.parametrize(
    "source",
    [
        "import rdkit",
        "from rdkit import Chem",
        "import torch_geometric.data",
        "import pandas as pd",
        "import numpy",
        "from molssl.chem import featurize",
        "import molssl.nn",
        "from molssl import ops",
        "from ...chem import featurize",
        "from ... import data",
        "from ....other import thing",
        "def f():\n    import rdkit\n",
    ],
)
def test_the_static_check_catches_forbidden_imports(source):
    assert forbidden_imports(source, "molssl.ssl.losses.infonce")


@pytest.mark.parametrize(
    "source",
    ["import math", "import torch.nn.functional as F", "from molssl.ssl.checks import x", "from . import byol", "from .. import masking", "from ..chem import x", "from molssl import ssl"],
)
def test_the_static_check_allows_the_core(source):
    assert not forbidden_imports(source, "molssl.ssl.losses.infonce")

"""molssl.methods imports a method's module on its first lookup: image and text runs load neither PyG nor RDKit."""

from __future__ import annotations

import inspect
import subprocess
import sys
import textwrap

import pytest

import molssl.methods as methods
from molssl.methods import METHODS, get_method, methods_for
from molssl.methods.base import PretrainMethod


def test_the_table_names_each_class_as_it_names_itself():
    for name in METHODS:
        cls = get_method(name)
        assert inspect.isclass(cls) and issubclass(cls, PretrainMethod) and cls.name == name
        module, class_name, config_name, modality = methods._METHOD_MODULES[name]
        assert cls.__module__ == f"molssl.methods.{module}" and cls.__name__ == class_name
        assert cls.modality == modality
        if config_name is not None:
            assert getattr(methods, config_name) is cls.config_class
        assert getattr(methods, class_name) is cls


def test_methods_for_a_modality_and_unknown_names():
    assert methods_for("image") == ["simclr", "byol", "mae", "dino", "barlow_twins", "vicreg"]
    assert methods_for("audio") == methods_for("image")
    assert methods_for("text") == ["mlm", "smiles_contrastive", "smiles_descriptors"]
    assert "attr_masking" in methods_for("graph") and "clip_align" not in methods_for("graph")
    assert methods_for("modal") == []  # a modality is matched whole, not as part of "multimodal"
    with pytest.raises(ValueError, match="unknown pretraining method 'simclr2'; valid methods: attr_masking, barlow_twins"):
        get_method("simclr2")
    with pytest.raises(AttributeError, match="no attribute 'SimCLR2'"):
        methods.SimCLR2


#: imported by an image run: the loop, the image front-end, the probes and every command's parser
_IMAGE_IMPORTS = """
import sys
import molssl.pretrain, molssl.vision.data, molssl.vision.views, molssl.eval.probe, molssl.data.splits
from molssl.cli.main import build_parser
from molssl.methods import METHODS
build_parser()
for name in ("simclr", "byol", "mae", "dino", "barlow_twins", "vicreg"):
    METHODS[name]
print(sorted({m.split(".")[0] for m in sys.modules} & {"rdkit", "torch_geometric"}))
"""


def test_the_image_methods_loop_and_probes_import_neither_rdkit_nor_pyg():
    result = subprocess.run([sys.executable, "-c", textwrap.dedent(_IMAGE_IMPORTS)], capture_output=True, text=True, check=False)
    assert result.returncode == 0, result.stderr[-3000:]
    assert result.stdout.strip() == "[]"


#: run in a fresh interpreter where importing RDKit or PyG fails
_IMAGE_ONLY = """
import sys
for name in ("rdkit", "torch_geometric"):
    sys.modules[name] = None  # an import of either now raises ImportError
import numpy as np
import torch
from molssl.cli.main import main
from molssl.vision.data import open_image_source
source = open_image_source()
pick = torch.arange(0, 5000, 25)  # 200 digits, 20 per class
np.savez("digits.npz", images=source.images[pick, 0].numpy(), labels=source.labels[pick].numpy())
assert main(["pretrain", "--method", "simclr", "--data", "digits.npz", "--out", "run", "--steps", "2", "--batch-size", "8",
             "--device", "cpu", "--no-progress", "--encoder-kind", "resnet", "--encoder-option", "width=4",
             "-o", "projection_dim=8"]) == 0
assert main(["probe", "--encoder", "run", "--data", "digits.npz", "--k", "5", "--device", "cpu"]) == 0
from molssl.methods import METHODS
print(sorted(name for name in METHODS if METHODS.is_loaded(name)))
"""


@pytest.mark.slow  # ~20 CPU-s: a fresh interpreter imports the whole CLI, pretrains and probes
def test_an_image_run_and_probe_work_where_rdkit_and_pyg_cannot_be_imported(tmp_path):
    result = subprocess.run([sys.executable, "-c", textwrap.dedent(_IMAGE_ONLY)], cwd=tmp_path, capture_output=True, text=True,
                            check=False)  # fmt: skip
    assert result.returncode == 0, result.stderr[-3000:]
    assert result.stdout.strip().splitlines()[-1] == "['simclr']"
    assert "kNN@5" in result.stdout

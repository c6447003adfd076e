"""Published transfer results to quote beside molssl's own: plain data, each number with its source.

Test ROC-AUC (%) of a GIN (5 layers of 300, Hu et al.'s architecture) fine-tuned on MoleculeNet
classification sets with the scaffold split, after pretraining with a method (``"none"``: from a
random initialization). ``"avg8"`` is the paper's average over its eight sets (BBBP, Tox21, ToxCast,
SIDER, ClinTox, MUV, HIV, BACE). The keys are molssl's method names (``molssl.methods.METHODS``).

These protocols differ from a CPU-scale molssl run (2M ZINC15 molecules for 100 epochs, 100
fine-tuning epochs, 10 seeds), so the numbers are a reference point, not a target to match.
"""

from __future__ import annotations

from typing import Mapping

#: the papers the numbers come from, by key
SOURCES: Mapping[str, str] = {
    "hu2020": (
        "Hu, Liu, Gomes, Zitnik, Liang, Pande, Leskovec. Strategies for Pre-training Graph Neural Networks. "
        "ICLR 2020, Table 1 (GIN, node-level pretraining only; mean over 10 seeds)"
    ),
    "hou2022": (
        "Hou, Liu, Cen, Dong, Yang, Wang, Tang. GraphMAE: Self-Supervised Masked Graph Autoencoders. KDD 2022, "
        "Table 3 (GIN; 8-set averages only)"
    ),
}

#: test ROC-AUC (%) by method, then dataset (or ``"avg8"``)
TRANSFER_ROC_AUC: Mapping[str, Mapping[str, float]] = {
    "none": {"bbbp": 65.8, "bace": 70.1, "clintox": 58.0, "sider": 57.3, "avg8": 67.0},
    "infomax": {"bbbp": 68.8, "bace": 75.9, "clintox": 69.9, "sider": 58.4, "avg8": 70.2},
    "edge_pred": {"bbbp": 67.3, "bace": 79.9, "clintox": 64.1, "sider": 60.4, "avg8": 70.3},
    "attr_masking": {"bbbp": 64.3, "bace": 79.3, "clintox": 71.8, "sider": 61.0, "avg8": 71.1},
    "context_pred": {"bbbp": 68.0, "bace": 79.6, "clintox": 65.9, "sider": 60.9, "avg8": 70.9},
    "graphcl": {"avg8": 70.8},
    "graphmae": {"avg8": 73.8},
}

#: the source (a key of ``SOURCES``) of each method's numbers
TRANSFER_SOURCE: Mapping[str, str] = {
    "none": "hu2020", "infomax": "hu2020", "edge_pred": "hu2020", "attr_masking": "hu2020", "context_pred": "hu2020",
    "graphcl": "hou2022", "graphmae": "hou2022",
}  # fmt: skip

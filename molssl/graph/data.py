"""One graph's arrays as a ``torch_geometric.data.Data``, built without PyG's per-attribute setters.

``Data(x=..., edge_index=..., edge_attr=..., num_nodes=...)`` sends every attribute through three
``__setattr__``/``__setitem__`` layers; for one small molecule that costs about as much as reading all
its atoms and bonds out of RDKit. ``graph_data`` writes the state ``Data.__init__`` leaves directly (the
two store classes in the object's dict, the attribute mapping and a weak reference to the parent in its
``GlobalStorage``). That state is PyG's, not public API: a probe at first use checks that the direct
construction gives exactly the state of the public constructor in the installed PyG (same dict keys and
values, same mapping, usable by ``Batch``), and ``graph_data`` uses the public constructor otherwise.
"""

from __future__ import annotations

import functools
import weakref

import numpy as np


def _public(mapping: dict):
    from torch_geometric.data import Data

    data = Data()
    for key, value in mapping.items():
        setattr(data, key, value)
    return data


def _direct(mapping: dict, template_state: dict, store_class: type):
    from torch_geometric.data import Data

    data = Data.__new__(Data)
    store = store_class.__new__(store_class)
    store.__dict__["_mapping"] = mapping
    store.__dict__["_parent"] = weakref.ref(data)
    data.__dict__.update(template_state)
    data.__dict__["_store"] = store
    return data


@functools.cache
def _direct_state() -> tuple[dict, type] | None:
    """What the direct construction copies (the template's dict without its store, the store class), or
    None where it does not reproduce the public constructor."""
    import torch
    from torch_geometric.data import Batch, Data

    template = Data()
    state = {k: v for k, v in vars(template).items() if k != "_store"}
    store_class = type(template._store)
    mapping = {"x": torch.zeros(2, 1, dtype=torch.long), "edge_index": torch.tensor([[0, 1], [1, 0]]),
               "edge_attr": torch.ones(2, 1, dtype=torch.long), "num_nodes": 2, "smiles": "CC"}  # fmt: skip
    try:
        public = _public(mapping)
        direct = _direct(dict(mapping), state, store_class)
        same = (
            vars(public).keys() == vars(direct).keys()
            and all(vars(public)[k] is vars(direct)[k] for k in state)
            and type(public._store) is type(direct._store)
            and vars(public._store).keys() == vars(direct._store).keys()
            and list(public._store._mapping.items()) == list(direct._store._mapping.items())
            and direct._store._parent() is direct
            and direct.num_nodes == 2
            and direct.smiles == "CC"
            and Batch.from_data_list([public, direct]).edge_index.tolist() == [[0, 1, 2, 3], [1, 0, 3, 2]]
        )
    except Exception:  # noqa: BLE001 - any difference means: use the public constructor
        same = False
    return (state, store_class) if same else None


def graph_data(x: np.ndarray, edge_index: np.ndarray, edge_attr: np.ndarray, **attrs: object):
    """One graph's int64 arrays (and more attributes, e.g. ``smiles``) as a ``torch_geometric.data.Data``.

    The tensors share the arrays' memory. The object equals ``Data(x=..., edge_index=..., edge_attr=...,
    num_nodes=len(x), **attrs)``.

    Shapes:
        x: [N, F_atom]; edge_index: [2, E]; edge_attr: [E, F_bond]
    """
    import torch

    mapping = {
        "x": torch.from_numpy(x),
        "edge_index": torch.from_numpy(edge_index),
        "edge_attr": torch.from_numpy(edge_attr),
        "num_nodes": len(x),
        **attrs,
    }
    direct = _direct_state()
    if direct is None:
        return _public(mapping)
    return _direct(mapping, *direct)

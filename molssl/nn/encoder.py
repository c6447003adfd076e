"""The GNN encoder of Hu et al. (2020) and OGB: atom embedding, stacked convs, jumping knowledge.

``GNNEncoder(EncoderConfig(scheme="hu"))`` is the pretrain-gnns model (5 GIN layers of 300, last
layer without ReLU, JK "last", dropout 0); ``virtual_node=True`` gives OGB's ``GNN_node_Virtualnode``.
The config is plain data and records the featurization scheme the encoder was built for, so a
checkpoint can refuse batches of another scheme.
"""

from __future__ import annotations

import dataclasses
import inspect
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from molssl.chem.schemes import FeaturizationSpec, get_spec
from molssl.nn.activation_checkpointing import checkpoint_layer
from molssl.nn.conv import get_conv
from molssl.nn.dropout import Dropout, dropout
from molssl.nn.embeddings import AtomEmbedding
from molssl.nn.encoders import register_encoder
from molssl.ops import SegmentOrder, resolve_backend, scatter, segment_order
from molssl.ssl.plain_config import PlainConfig

#: how the per-layer node states are combined (Xu et al., "Representation Learning on Graphs with
#: Jumping Knowledge Networks", ICML 2018): the last layer, or all layers (input embedding included)
#: concatenated, summed or max-pooled feature-wise
JK_MODES = ("last", "concat", "sum", "max")

def _check_conv_options(conv: str, options: Any, scheme: FeaturizationSpec) -> dict[str, Any]:
    """A copy of ``options`` once every key is a keyword of conv ``conv`` and the conv accepts the values."""
    if not isinstance(options, Mapping):
        raise ValueError(f"conv_options must be a dict of plain data, got {type(options).__name__}")
    conv_cls = get_conv(conv)
    fixed = ("self", "dim", "bond_vocab", "self_loop_token")
    valid = [p for p in inspect.signature(conv_cls.__init__).parameters if p not in fixed]
    unknown = sorted(str(k) for k in options if k not in valid)
    if unknown:
        raise ValueError(f"conv {conv!r} takes no options {unknown}; valid conv_options: {', '.join(valid) or 'none'}")
    for key, value in options.items():
        if not (value is None or isinstance(value, (bool, int, float, str))):
            raise ValueError(f"conv_options[{key!r}] must be plain data (str, int, float, bool, None), got {type(value).__name__}")
    options = dict(options)
    conv_cls(1, scheme.bond_vocab, scheme.self_loop_token, **options)  # the conv validates the values
    return options


@dataclass(frozen=True, kw_only=True)
class EncoderConfig(PlainConfig):
    """Configuration of ``GNNEncoder`` (plain data: ``to_dict`` / ``from_dict`` round-trip through JSON).

    Attributes:
        scheme: the featurization spec (``FeaturizationSpec``; a scheme name or a recorded spec dict is
            accepted and expanded, without RDKit). Sizes the atom and bond embeddings and selects the
            conv form (Hu et al. self-loop edges when the spec has a ``self_loop_token``, OGB's forms
            otherwise). ``to_dict`` writes it as ``FeaturizationSpec.to_dict()``.
        conv: message-passing layer, a key of ``CONVS`` ("gin", "gcn", "sage", "gat").
        num_layers: number of conv layers (Hu et al.: 5).
        emb_dim: node embedding size (Hu et al.: 300).
        jk: jumping-knowledge mode, one of ``JK_MODES``.
        dropout: dropout after every layer (Hu et al.: 0 for pretraining, 0.5 for fine-tuning).
        virtual_node: add OGB's virtual node (Gilmer et al. 2017; Hu et al., "Open Graph
            Benchmark", 2020).
        residual: add each layer's input to its output (OGB's ``residual``).
        conv_options: other keyword arguments of every conv, as plain data (e.g. ``{"heads": 2,
            "softmax": "pretrain_gnns_legacy"}`` for GAT; see each conv's docstring). Empty by default:
            each conv's own defaults.
    """

    scheme: FeaturizationSpec
    conv: str = "gin"
    num_layers: int = 5
    emb_dim: int = 300
    jk: str = "last"
    dropout: float = 0.0
    virtual_node: bool = False
    residual: bool = False
    conv_options: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if not isinstance(self.scheme, (str, Mapping, FeaturizationSpec)):
            raise ValueError(
                f"scheme must be a scheme name, a FeaturizationSpec or its to_dict(), got {type(self.scheme).__name__}"
            )
        scheme = get_spec(self.scheme)
        object.__setattr__(self, "scheme", scheme)
        get_conv(self.conv)
        if self.jk not in JK_MODES:
            raise ValueError(f"unknown jk mode {self.jk!r}; valid modes: {', '.join(JK_MODES)}")
        for name in ("num_layers", "emb_dim"):
            value = getattr(self, name)
            if not isinstance(value, int) or isinstance(value, bool) or value < 1:
                raise ValueError(f"{name} must be a positive int, got {value!r}")
        dropout = self.dropout
        if not isinstance(dropout, (int, float)) or isinstance(dropout, bool) or not 0.0 <= dropout < 1.0:
            raise ValueError(f"dropout must be in [0, 1), got {self.dropout!r}")
        for name in ("virtual_node", "residual"):
            if not isinstance(getattr(self, name), bool):
                raise ValueError(f"{name} must be a bool, got {getattr(self, name)!r}")
        object.__setattr__(self, "conv_options", _check_conv_options(self.conv, self.conv_options, scheme))

    @property
    def out_dim(self) -> int:
        """Size of the node representations the encoder returns."""
        return (self.num_layers + 1) * self.emb_dim if self.jk == "concat" else self.emb_dim

    def to_dict(self) -> dict[str, Any]:
        """The config as plain, JSON-serializable data (the spec as ``FeaturizationSpec.to_dict()``)."""
        return {**dataclasses.asdict(self), "scheme": self.scheme.to_dict()}


class VirtualNode(nn.Module):
    """OGB's virtual node: a per-graph vector added to every node and updated from the pooled nodes.

    Gilmer et al., "Neural Message Passing for Quantum Chemistry" (ICML 2017), in the form of OGB's
    ``GNN_node_Virtualnode`` (Hu et al., "Open Graph Benchmark", NeurIPS 2020). Its state starts from a
    learned embedding initialized to 0; after layer l (all but the last) it becomes
    ``MLP_l(sum_{i in G} h_i + v)`` (plus ``v`` when residual), where ``h_i`` are that layer's inputs
    (node states with the virtual node already added). ``MLP_l`` = Linear(D, 2D)-BN-ReLU-Linear(2D, D)-BN-ReLU.

    Args:
        dim: node embedding size D.
        num_updates: number of updates (one per layer but the last).
        dropout: dropout on each update.
        residual: add the previous state to each update.

    Shapes:
        initial: -> [B, D]; update: h [N, D], v [B, D], batch [N], ptr [B + 1] -> [B, D]
    """

    def __init__(self, dim: int, num_updates: int, dropout: float, residual: bool) -> None:
        super().__init__()
        self.embedding = nn.Embedding(1, dim)
        nn.init.zeros_(self.embedding.weight)
        self.mlps = nn.ModuleList(
            nn.Sequential(
                nn.Linear(dim, 2 * dim), nn.BatchNorm1d(2 * dim), nn.ReLU(),
                nn.Linear(2 * dim, dim), nn.BatchNorm1d(dim), nn.ReLU(),
            )  # fmt: skip
            for _ in range(num_updates)
        )
        self.dropout = dropout
        self.residual = residual

    def initial(self, num_graphs: int) -> Tensor:
        """The starting state of every graph's virtual node."""
        return self.embedding.weight.expand(num_graphs, -1)

    def update(self, layer: int, h: Tensor, v: Tensor, batch: Tensor, ptr: Tensor | None = None) -> Tensor:
        """The state after ``layer`` from that layer's node inputs ``h``; ``B = v.size(0)`` graphs.

        ``ptr`` (``batch.ptr``, the offsets of each graph's contiguous nodes) lets the GPU kernels pool
        without atomics.
        """
        pooled = scatter(h, batch, dim_size=v.size(0), reduce="sum", ptr=ptr) + v
        out = dropout(self.mlps[layer](pooled), self.dropout, training=self.training)
        return v + out if self.residual else out


class GNNEncoder(nn.Module):
    """Node encoder: atom embedding -> L x (conv, BatchNorm, ReLU but not after the last, dropout) -> JK.

    Hu et al., "Strategies for Pre-training Graph Neural Networks" (ICLR 2020) (``GNN`` of
    pretrain-gnns) and OGB's ``GNN_node`` / ``GNN_node_Virtualnode`` (``virtual_node=True``). With
    ``h^0 = AtomEmbedding(x)``::

        h^{l-1} <- h^{l-1} + v[batch]                                 (virtual node only)
        h^l = Dropout(ReLU(BN(Conv_l(h^{l-1}, edge_index, edge_attr))))   (no ReLU at l = L)
              [+ h^{l-1} if residual]
        out = JK(h^0, ..., h^L)

    Every layer sums messages at ``edge_index[1]``. When the Triton kernels will run (``resolve_backend``
    says ``"triton"``: CUDA tensors, or a forced backend), the encoder sorts ``edge_index[1]`` once per
    forward (``segment_order``), or takes the order a collate step attached (``to_batch(...,
    edge_order=True)`` sets ``batch._edge_order``; used when its shapes fit the batch's edges), and hands
    it to every layer: each aggregation, forward and backward, is then the segment kernel (no atomics, no
    per-call sort, deterministic). On the torch backend (every CPU run) no order is computed: the
    reference's ``index_add`` needs none. ``use_segment_order = False`` turns it off (e.g. to measure
    the atomics path).

    Each layer has its own ``Dropout`` (``dropouts[l]``, ``molssl.nn.dropout``: on CPU its mask is one
    vectorized uniform draw, ~3x cheaper than ``nn.Dropout``'s), so a frozen layer put in eval mode
    (``molssl.tasks.model.frozen_modules_eval``) also stops dropping its output; the draws are those
    of one ``molssl.nn.dropout.dropout`` per layer. ``activation_checkpointing = True`` (a runtime switch, not
    config; ``set_activation_checkpointing``) keeps only each layer's input for backward and
    recomputes the rest (``molssl.nn.activation_checkpointing``): same values and gradients, dropout
    replayed, batch-norm statistics updated once; less memory, about one more forward of time.

    Args:
        config: the encoder configuration (records the featurization scheme).

    Shapes:
        batch.x: [N, F_atom] (long), batch.edge_index: [2, E], batch.edge_attr: [E, F_bond] (long),
        batch.batch: [N], batch.num_graphs: B, batch.ptr: [B + 1] (optional) -> [N, out_dim]
    """

    #: sort the messages by target once per forward for the Triton kernels (a runtime switch, not config)
    use_segment_order: bool = True
    #: recompute each layer in backward instead of keeping its activations (a runtime switch, not config)
    activation_checkpointing: bool = False

    def __init__(self, config: EncoderConfig) -> None:
        super().__init__()
        self.config = config
        dim, scheme = config.emb_dim, config.scheme
        self.atom_embedding = AtomEmbedding(scheme.atom_vocab, dim)
        conv_cls = get_conv(config.conv)
        self.convs = nn.ModuleList(
            conv_cls(dim, scheme.bond_vocab, scheme.self_loop_token, **config.conv_options)
            for _ in range(config.num_layers)
        )
        self.batch_norms = nn.ModuleList(nn.BatchNorm1d(dim) for _ in range(config.num_layers))
        self.dropouts = nn.ModuleList(Dropout(config.dropout) for _ in range(config.num_layers))
        self.virtual_node = (
            VirtualNode(dim, config.num_layers - 1, config.dropout, config.residual) if config.virtual_node else None
        )

    @property
    def out_dim(self) -> int:
        """Size of the node representations."""
        return self.config.out_dim

    @property
    def scheme(self) -> FeaturizationSpec:
        """The featurization spec this encoder was built for."""
        return self.config.scheme

    def forward(self, batch: Any) -> Tensor:
        x, edge_index, edge_attr = batch.x, batch.edge_index, batch.edge_attr
        graph = getattr(batch, "batch", None)
        if graph is None:  # a single graph (``Data``)
            graph, num_graphs, ptr = x.new_zeros(x.size(0)), 1, None
        else:
            num_graphs, ptr = int(batch.num_graphs), getattr(batch, "ptr", None)
        last = self.config.num_layers - 1
        v = self.virtual_node.initial(num_graphs) if self.virtual_node is not None else None
        states = [self.atom_embedding(x)]  # h^0 .. h^L, each [N, D]
        order = self._edge_order(batch, states[0])
        checkpointed = self.activation_checkpointing and torch.is_grad_enabled()
        for layer in range(self.config.num_layers):
            h_in = states[-1]
            if v is not None:
                # as OGB, the layer input with the virtual node added replaces h^{l-1} (also for JK)
                h_in = states[-1] = h_in + v.index_select(0, graph)
            if checkpointed:
                modules = (self.convs[layer], self.batch_norms[layer])
                h = checkpoint_layer(self._layer, layer, h_in, edge_index, edge_attr, order, modules=modules)
            else:
                h = self._layer(layer, h_in, edge_index, edge_attr, order)
            states.append(h)
            if v is not None and layer < last:
                v = self.virtual_node.update(layer, h_in, v, graph, ptr)
        return self._jump(states)

    def _layer(self, layer: int, h_in: Tensor, edge_index: Tensor, edge_attr: Tensor, order: SegmentOrder | None) -> Tensor:
        """Layer ``layer``: h^l from its input h^{l-1} (virtual node already added).

        Shapes:
            h_in: [N, D], edge_index: [2, E], edge_attr: [E, F_bond] -> [N, D]
        """
        conv, norm = self.convs[layer], self.batch_norms[layer]
        if order is None:
            h = norm(conv(h_in, edge_index, edge_attr))
        else:
            h = norm(conv(h_in, edge_index, edge_attr, order=order))
        if layer < self.config.num_layers - 1:
            h = F.relu(h)
        h = self.dropouts[layer](h)
        return h + h_in if self.config.residual else h

    def _edge_order(self, batch: Any, h: Tensor) -> SegmentOrder | None:
        """The ``SegmentOrder`` of ``edge_index[1]`` when the kernels will aggregate, else ``None``.

        A collate-time order (``batch._edge_order``, on the CPU) is moved to the edges' device; it is
        trusted when its shapes fit (E rows, N segments). Functions that rewrite the edges of a batch
        build a new one without it (``molssl.graph.subgraph``), or must drop it.
        """
        if not self.use_segment_order or resolve_backend(h) != "triton":
            return None
        edge_index, num_nodes = batch.edge_index, h.size(0)
        attached = getattr(batch, "_edge_order", None)
        if (
            isinstance(attached, SegmentOrder)
            and attached.num_rows == edge_index.size(1)
            and attached.num_segments == num_nodes
        ):
            return attached.to(edge_index.device, non_blocking=True)
        return segment_order(edge_index[1], num_nodes)

    def _jump(self, states: list[Tensor]) -> Tensor:
        jk = self.config.jk
        if jk == "last":
            return states[-1]
        if jk == "concat":
            return torch.cat(states, dim=-1)  # [N, (L + 1) D]
        stacked = torch.stack(states, dim=0)  # [L + 1, N, D]
        return stacked.sum(dim=0) if jk == "sum" else stacked.max(dim=0).values


def set_activation_checkpointing(model: nn.Module, enabled: bool) -> int:
    """Switch activation checkpointing on or off in every ``GNNEncoder`` inside ``model``.

    A method may hold several encoders (context prediction's context GNN, an EMA teacher); all of them
    switch. Returns how many encoders were switched.

    Raises:
        ValueError: ``enabled`` and ``model`` holds no ``GNNEncoder``.
    """
    encoders = [m for m in model.modules() if isinstance(m, GNNEncoder)]
    if enabled and not encoders:
        raise ValueError(f"activation checkpointing works per GNNEncoder layer, and this {type(model).__name__} has no GNNEncoder")
    for encoder in encoders:
        encoder.activation_checkpointing = bool(enabled)
    return len(encoders)


register_encoder("gnn", EncoderConfig, GNNEncoder)

__all__ = ["JK_MODES", "EncoderConfig", "GNNEncoder", "VirtualNode", "set_activation_checkpointing"]

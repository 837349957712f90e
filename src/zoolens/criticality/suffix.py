"""Exact suffix replay: recompute only the part of a network that a layer influences.

The naive way to measure a layer's criticality runs the whole network once per
(layer, seed). But everything computed *before* the layer's parameters are first used
is unchanged, so we trace the network once with torch.fx (timm's registry of
untraceable modules/functions as leaves), run the clean forward once per batch while
keeping the intermediate values, and for each layer replay only its *suffix*: the
nodes that depend on the layer's parameters, fed from the stored clean values.

All seeds of a layer run in one suffix pass: the stored inputs are repeated S times
along their batch dimension and the layer itself runs once per seed on its chunk
(``torch.func.functional_call``). Batch dimensions are found by probing the graph with
batches of 1 and 2 (a dimension that doubles is the batch dimension; a non-tensor that
changes, like ``x.shape[0]``, is recomputed on the repeated input). When the layer's
parameters enter the graph as attributes rather than through a module call (e.g. a ViT's
``pos_embed``), seeds are replayed one after another instead.

Hand-written because no library offers "rerun the graph from these nodes with other
weights"; torch.fx supplies tracing and the graph, this file only schedules nodes.
Every result is checked against the naive engine in the tests.
"""

from __future__ import annotations

import operator
from dataclasses import dataclass, field
from typing import Any

import torch
from torch import fx, nn
from torch.func import functional_call

from zoolens.models.folding import fold_conv_bn, folded_parameters
from zoolens.criticality.fx_tools import Kind, classify, no_inplace, swapped_parameters
from zoolens.models.tracing import Tracer, default_args

_INPLACE_FUNCS = {operator.iadd: operator.add, operator.isub: operator.sub, operator.imul: operator.mul,
                  operator.itruediv: operator.truediv}


@dataclass
class SuffixPlan:
    """What to replay for one layer."""

    layer: str
    nodes: list[fx.Node]            # nodes to recompute, in graph order
    frontier: list[fx.Node]         # stored clean values they read
    inject: list[fx.Node]           # nodes that read the layer's parameters
    batched: bool                   # all seeds in one pass (inject nodes are module calls)
    last_use: dict[fx.Node, int] = field(default_factory=dict)
    target: str = ""                # the module holding the layer's values in the graph (a folded conv for BN)


class SuffixGraph:
    """A traced network that can replay the suffix of any parameter-owning module.

    Parameters
    ----------
    net:
        The network in eval mode (as traced: ``self.training`` branches are baked in).
    input_shape:
        (C, H, W) of one input, used to probe which values carry the batch dimension.
    fold_bn:
        Fold eval-mode Conv2d → BatchNorm2d pairs into one convolution (exact up to float
        rounding); resets of either layer of a pair are folded again on replay.
    """

    def __init__(self, net: nn.Module, input_shape: tuple[int, ...], *, fold_bn: bool = False):
        net.eval()
        self._concrete = default_args(net) or {}
        graph = Tracer().trace(net, concrete_args=self._concrete or None)
        self.gm = fx.GraphModule(net, graph)
        self.net = net
        # Conv-BN pairs folded into one convolution (see zoolens.criticality.folding); layer → pair
        self.folds = fold_conv_bn(self.gm) if fold_bn else {}
        self.nodes: list[fx.Node] = list(self.gm.graph.nodes)
        self.order = {n: i for i, n in enumerate(self.nodes)}
        self.modules = dict(self.gm.named_modules())
        self.output = next(n for n in self.nodes if n.op == "output")
        self._last_user = {n: max((self.order[u] for u in n.users), default=self.order[n]) for n in self.nodes}
        self.kinds = self._probe(input_shape)
        self._plans: dict[tuple[str, bool], SuffixPlan] = {}
        self._stored: set[fx.Node] | None = None

    # ------------------------------------------------------------------ running
    def _attr(self, target: str) -> Any:
        obj: Any = self.gm
        for part in target.split("."):
            obj = getattr(obj, part)
        return obj

    def _exec(self, node: fx.Node, env: dict[fx.Node, Any]) -> Any:
        args = fx.node.map_arg(node.args, lambda n: env[n])
        kwargs = fx.node.map_arg(node.kwargs, lambda n: env[n])
        if node.op == "call_module":
            return self.modules[node.target](*args, **kwargs)
        if node.op == "call_function":
            fn = _INPLACE_FUNCS.get(node.target, node.target)
            if kwargs.get("inplace") is True:
                kwargs = {**kwargs, "inplace": False}
            return fn(*args, **kwargs)
        if node.op == "call_method":
            obj, *rest = args
            name = node.target
            # Out-of-place twin of an in-place method (add_ → add), so stored values stay clean.
            if name.endswith("_") and not name.endswith("__") and hasattr(obj, name[:-1]):
                name = name[:-1]
            return getattr(obj, name)(*rest, **kwargs)
        if node.op == "get_attr":
            return self._attr(node.target)
        raise RuntimeError(f"unexpected node {node.op}")

    def run(self, x: torch.Tensor, keep: set[fx.Node] | None = None) -> tuple[torch.Tensor, dict[fx.Node, Any]]:
        """Clean forward; returns (output, stored values of ``keep`` nodes, or of all nodes).

        With ``keep``, other values are freed after their last use, so peak memory is the
        stored values plus the live ones, not the whole graph's activations.
        """
        env: dict[fx.Node, Any] = {}
        first = True
        with no_inplace(self.net):
            for i, node in enumerate(self.nodes):
                if node.op == "placeholder":
                    # The image, then the optional arguments fixed at trace time.
                    env[node] = x if first else (node.args[0] if node.args else None)
                    first = False
                elif node.op == "output":
                    out = env[node.args[0]]
                else:
                    env[node] = self._exec(node, env)
                if keep is not None:
                    for a in node.all_input_nodes:
                        if self._last_user[a] == i and a not in keep:
                            del env[a]
        if keep is not None:
            env = {n: v for n, v in env.items() if n in keep}
        return out, env

    def _probe(self, input_shape: tuple[int, ...]) -> dict[fx.Node, Kind]:
        gen = torch.Generator().manual_seed(0)
        x = torch.randn(2, *input_shape, generator=gen)
        with torch.inference_mode():
            _, env1 = self.run(x[:1])
            _, env2 = self.run(x)
        return {n: classify(env1[n], env2[n]) for n in env1}

    # ----------------------------------------------------------------- planning
    def _inject_nodes(self, layer: str, param_names: tuple[str, ...]) -> tuple[list[fx.Node], bool]:
        attrs = {f"{layer}.{p}" if layer else p for p in param_names}
        inject, module_calls = [], True
        for n in self.nodes:
            if n.op == "call_module" and (n.target == layer or (layer and layer.startswith(n.target + "."))):
                inject.append(n)
            elif n.op == "get_attr" and (n.target in attrs or any(a.startswith(n.target + ".") for a in attrs)
                                         or (layer and n.target == layer)):
                inject.append(n)
                module_calls = False
        return inject, module_calls

    def plan(self, layer: str, param_names: tuple[str, ...], batched: bool) -> SuffixPlan:
        key = (layer, batched)
        if key in self._plans:
            return self._plans[key]
        target = self.folds[layer].conv if layer in self.folds else layer
        inject, module_calls = self._inject_nodes(target, ("weight", "bias") if layer in self.folds else param_names)
        batch_kind = lambda n: self.kinds.get(n, Kind("const")).kind == "batch"  # noqa: E731
        # Seeds share one pass only when the layer runs as a module call with a batched output.
        batched = batched and module_calls and all(batch_kind(n) for n in inject) and batch_kind(self.output.args[0])
        affected: set[fx.Node] = set(inject)
        for n in self.nodes:  # graph order is topological
            if n not in affected and any(a in affected for a in n.all_input_nodes):
                affected.add(n)
        affected.discard(self.output)
        needed = set(affected)
        if batched:  # batch-dependent non-tensors (x.shape[0], ...) are recomputed on the repeated input
            stack = [a for n in affected for a in n.all_input_nodes if a not in needed]
            while stack:
                a = stack.pop()
                if a in needed or self.kinds.get(a, Kind("const")).kind != "varying":
                    continue
                needed.add(a)
                stack.extend(i for i in a.all_input_nodes if i not in needed)
        nodes = sorted(needed, key=self.order.__getitem__)
        frontier = sorted({a for n in nodes for a in n.all_input_nodes if a not in needed}
                          | ({self.output.args[0]} if self.output.args[0] not in needed else set()),
                          key=self.order.__getitem__)
        last_use: dict[fx.Node, int] = {}
        for i, n in enumerate(nodes):
            for a in n.all_input_nodes:
                last_use[a] = i
        plan = SuffixPlan(layer, nodes, frontier, inject, batched, last_use, target)
        self._plans[key] = plan
        self._stored = None
        return plan

    def stored_nodes(self) -> set[fx.Node]:
        """Clean values any planned layer reads (everything else is dropped after the clean pass)."""
        if self._stored is None:
            self._stored = {f for p in self._plans.values() for f in p.frontier}
        return self._stored

    # ------------------------------------------------------------------ replay
    def replay(self, plan: SuffixPlan, clean: dict[fx.Node, Any], param_sets: list[dict[str, torch.Tensor]]
               ) -> list[torch.Tensor]:
        """Outputs of the network with the layer's parameters replaced by each set, one tensor per set."""
        if not plan.nodes:  # the layer's parameters are never used: output unchanged
            return [clean[self.output.args[0]]] * len(param_sets)
        if plan.layer in self.folds:  # the graph holds the folded pair: fold the reset values again
            param_sets = [folded_parameters(self.folds[plan.layer], plan.layer, p, self.net) for p in param_sets]
        with no_inplace(self.net):
            if plan.batched:
                return self._replay_batched(plan, clean, param_sets)
            return [self._replay_swapped(plan, clean, params) for params in param_sets]

    def _replay_batched(self, plan: SuffixPlan, clean: dict[fx.Node, Any],
                        param_sets: list[dict[str, torch.Tensor]]) -> list[torch.Tensor]:
        s = len(param_sets)
        env: dict[fx.Node, Any] = {}
        for f in plan.frontier:
            k = self.kinds.get(f)
            v = clean[f]
            env[f] = torch.cat([v] * s, dim=k.dim) if (k is not None and k.kind == "batch" and s > 1) else v
        inject = set(plan.inject)
        for i, node in enumerate(plan.nodes):
            if node in inject:
                env[node] = self._call_per_seed(node, env, param_sets, plan.target)
            else:
                env[node] = self._exec(node, env)
            for a in node.all_input_nodes:  # free replayed values after their last use
                if plan.last_use.get(a) == i and a not in plan.frontier:
                    env.pop(a, None)
        out = env[self.output.args[0]]
        dim = self.kinds[self.output.args[0]].dim
        return list(torch.chunk(out, s, dim=dim))

    def _call_per_seed(self, node: fx.Node, env: dict[fx.Node, Any], param_sets: list[dict[str, torch.Tensor]],
                       layer: str) -> torch.Tensor:
        module = self.modules[node.target]
        rel = layer[len(node.target) + 1:] if layer != node.target else ""
        s = len(param_sets)
        chunked = []
        for a in node.args:
            if isinstance(a, fx.Node) and self.kinds.get(a, Kind("const")).kind == "batch":
                chunked.append(torch.chunk(env[a], s, dim=self.kinds[a].dim))
            else:
                v = env[a] if isinstance(a, fx.Node) else a
                chunked.append([v] * s)
        kwargs = fx.node.map_arg(node.kwargs, lambda n: env[n])
        outs = []
        for j, params in enumerate(param_sets):
            named = {(f"{rel}.{k}" if rel else k): v for k, v in params.items()}
            outs.append(functional_call(module, named, tuple(c[j] for c in chunked), kwargs))
        return torch.cat(outs, dim=self.kinds[node].dim)

    def _replay_swapped(self, plan: SuffixPlan, clean: dict[fx.Node, Any], params: dict[str, torch.Tensor]
                        ) -> torch.Tensor:
        # a folded pair's values live in the graph's own copy of the convolution, the rest in the network
        net = self.gm if plan.layer in self.folds else self.net
        with swapped_parameters(net, plan.target, params):
            env = {f: clean[f] for f in plan.frontier}
            for i, node in enumerate(plan.nodes):
                env[node] = self._exec(node, env)
                for a in node.all_input_nodes:
                    if plan.last_use.get(a) == i and a not in plan.frontier:
                        env.pop(a, None)
            return env[self.output.args[0]]


__all__ = ["SuffixGraph", "SuffixPlan", "no_inplace", "swapped_parameters"]

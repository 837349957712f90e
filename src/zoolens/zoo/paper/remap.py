"""Key remapping from each published ResNet-50 checkpoint layout to torchvision/timm ``resnet50`` keys.

The criticality paper (seeds/000, App. B, Table 1) collects 50 ResNet-50s from the
authors of each training method. Their files come in a handful of layouts; every
function here turns one layout into the plain ``resnet50`` state dict (``conv1.*``,
``bn1.*``, ``layerS.B.{conv,bn}{1,2,3}.*``, ``layerS.0.downsample.{0,1}.*``, ``fc.*``),
which torchvision and timm share. Functions are pure (dict in, dict out) so each is
tested on a synthetic state dict of the right shapes (tests/zoo/paper/test_remap.py).

Signature: ``remap(primary, head=None) -> dict`` where ``primary`` is the flat state
dict read from the first expected file and ``head`` the one from the second (linear
head) file, when the entry has one.
"""

from __future__ import annotations

from typing import Callable, Mapping

import torch

from zoolens.errors import ZoolensError

State = dict[str, torch.Tensor]
RESNET50_DEPTHS = (3, 4, 6, 3)


def _strip(state: Mapping[str, torch.Tensor], prefix: str) -> State:
    """Keys starting with ``prefix``, with it removed (others dropped)."""
    return {k[len(prefix):]: v for k, v in state.items() if k.startswith(prefix)}


def _strip_if_all(state: Mapping[str, torch.Tensor], *prefixes: str) -> State:
    """Remove wrapper prefixes (DDP ``module.``, ``model.``) while *every* key carries one."""
    state = dict(state)
    changed = True
    while changed and state:
        changed = False
        for p in prefixes:
            if all(k.startswith(p) for k in state):
                state, changed = _strip(state, p), True
    return state


def _drop(state: Mapping[str, torch.Tensor], *starts: str) -> State:
    return {k: v for k, v in state.items() if not k.startswith(starts)}


def _need_head(name: str, head: State | None) -> State:
    if head is None:
        raise ZoolensError(f"{name} needs a separate linear-head file besides the backbone",
                           "put both files listed by `zoolens zoo status paper-r50` in place")
    return head


# ------------------------------------------------------------------ plain layouts
def remap_identity(state: State, head: State | None = None) -> State:
    """Already plain ``resnet50`` keys, possibly behind ``module.``/``model.`` wrappers."""
    return _strip_if_all(state, "module.", "model.")


def remap_madry_robustness(state: State, head: State | None = None) -> State:
    """Madry-lab ``robustness`` library checkpoints (Salman et al. 2020; Madry et al. 2018).

    Published ``.ckpt`` files hold ``{"model": sd, "optimizer": ..., "epoch": ...}``
    where ``sd`` has the classifier twice — ``module.model.*`` and
    ``module.attacker.model.*`` (the attacker's copy shares the weights) — plus
    ``module.normalizer.new_{mean,std}`` buffers (ImageNet mean/std, applied by our
    wrapper instead). We keep ``module.model.*`` (or ``model.*`` in re-exports).
    """
    for prefix in ("module.model.", "model."):
        kept = _strip(state, prefix)
        if kept:
            return kept
    # Already-cleaned exports: drop the attacker copy and normalizer buffers if present.
    return _drop(_strip_if_all(state, "module."), "attacker.", "normalizer.")


def remap_aux_bn(state: State, head: State | None = None) -> State:
    """Shape/texture-debiased training (Li et al. 2021): drop the auxiliary BatchNorms.

    Those models are trained with a second BN per layer for the debiased
    (style-transferred) batches (``*.aux_bn.*``, in some exports ``*.bn_aux.*``);
    evaluation uses the main BN, which keeps the plain key.
    """
    state = _strip_if_all(state, "module.", "model.")
    return {k: v for k, v in state.items() if ".aux_bn." not in k and ".bn_aux." not in k
            and not k.startswith(("aux_bn.", "bn_aux."))}


# --------------------------------------------------------------- backbone + head
def _fold_bn_into_linear(head: State) -> tuple[torch.Tensor, torch.Tensor]:
    """``linear(bn(x))`` as one linear layer, exact in eval mode.

    bn(x) = γ (x − μ)/√(σ²+ε) + β = a·x + c with a = γ/√(σ²+ε), c = β − a·μ;
    W·(a·x + c) + b = (W·diag(a))·x + (W·c + b). ε = 1e-5 (PyTorch's BatchNorm default,
    used by the SwAV/DINO linear-eval scripts).
    """
    w, b = head["linear.weight"], head["linear.bias"]
    if "bn.running_mean" not in head:
        return w, b
    mean, var = head["bn.running_mean"].double(), head["bn.running_var"].double()
    gamma = head.get("bn.weight", torch.ones_like(mean)).double()
    beta = head.get("bn.bias", torch.zeros_like(mean)).double()
    a = gamma / torch.sqrt(var + 1e-5)
    c = beta - a * mean
    w2 = w.double() * a[None, :]
    b2 = w.double() @ c + b.double()
    return w2.to(w.dtype), b2.to(b.dtype)


def _linear_head(name: str, head: State) -> State:
    head = _strip_if_all(head, "module.", "model.")
    if "linear.weight" not in head:
        if "fc.weight" in head:
            return {"fc.weight": head["fc.weight"], "fc.bias": head["fc.bias"]}
        raise ZoolensError(f"{name} head file has no linear.weight/fc.weight (keys: {', '.join(list(head)[:5])})",
                           "use the linear-evaluation checkpoint published with the backbone")
    w, b = _fold_bn_into_linear(head)
    if w.shape[1] != 2048:
        # SwAV's default RegLog (no --global_avg) pools 7x7 to 2x2 and reads 8192 features:
        # that is a different head than resnet50's global-average-pool + fc, not a remap.
        raise ZoolensError(f"{name} linear head reads {w.shape[1]} features, resnet50.fc reads 2048",
                           "use a linear head trained on globally average-pooled features (eval_linear --global_avg)")
    return {"fc.weight": w, "fc.bias": b}


def remap_dino(state: State, head: State | None = None) -> State:
    """DINO v1 ResNet-50 (Caron et al. 2021).

    Backbone ``dino_resnet50_pretrain.pth``: torchvision keys without ``fc`` (DINO sets
    ``fc = Identity``). Head ``dino_resnet50_linearweights.pth``:
    ``{"state_dict": {"module.linear.weight", "module.linear.bias"}}`` (DDP-wrapped
    ``LinearClassifier``) → ``fc.*``.
    """
    backbone = _drop(_strip_if_all(state, "module.", "backbone."), "fc.", "head.")
    return {**backbone, **_linear_head("DINO", _need_head("DINO", head))}


def remap_mocov3(state: State, head: State | None = None) -> State:
    """MoCo v3 ResNet-50 (Chen et al. 2021).

    Linear-eval checkpoints ``linear-{100,300,1000}ep.pth.tar`` hold the whole
    classifier as ``{"state_dict": {"module.conv1.weight", ..., "module.fc.weight"}}``.
    Pre-training checkpoints ``r-50-*ep.pth.tar`` hold ``module.base_encoder.*`` (whose
    ``fc.*`` is the projection MLP, dropped), ``module.momentum_encoder.*`` and
    ``module.predictor.*`` (dropped); they then need a separate linear head file.
    """
    base = _strip(state, "module.base_encoder.") or _strip(state, "base_encoder.")
    if base:
        backbone = _drop(base, "fc.")
        return {**backbone, **_linear_head("MoCo v3", _need_head("MoCo v3", head))}
    plain = _strip_if_all(state, "module.")
    if head is not None:
        plain = {**_drop(plain, "fc."), **_linear_head("MoCo v3", head)}
    return plain


def remap_swav(state: State, head: State | None = None) -> State:
    """SwAV ResNet-50 (Caron et al. 2020).

    Backbone ``swav_800ep_pretrain.pth.tar``: ``module.``-prefixed torchvision-style
    keys plus ``module.projection_head.*`` and ``module.prototypes.weight`` (dropped).
    Head ``swav_800ep_eval_linear.pth.tar``: ``{"state_dict": {"module.linear.*"}}``,
    optionally with a feature BatchNorm ``module.bn.*`` that is folded into fc exactly.
    """
    backbone = _drop(_strip_if_all(state, "module."), "projection_head.", "prototypes.", "fc.")
    return {**backbone, **_linear_head("SwAV", _need_head("SwAV", head))}


# ----------------------------------------------------------------------- SimCLRv2
def resnet50_module_order() -> list[tuple[str, str]]:
    """(module path, kind) of resnet50's convs/BNs in TensorFlow *creation* order.

    SimCLR's TF ResNet builds the projection shortcut of a block before its three
    convs (``bottleneck_block``: shortcut conv+BN, then conv1x1, conv3x3, conv1x1).
    """
    order = [("conv1", "conv"), ("bn1", "bn")]
    for s, depth in enumerate(RESNET50_DEPTHS, start=1):
        for b in range(depth):
            p = f"layer{s}.{b}"
            if b == 0:
                order += [(f"{p}.downsample.0", "conv"), (f"{p}.downsample.1", "bn")]
            for i in (1, 2, 3):
                order += [(f"{p}.conv{i}", "conv"), (f"{p}.bn{i}", "bn")]
    return order


def remap_simclrv2(state: State, head: State | None = None) -> State:
    """SimCLRv2 ``r50_1x_sk0`` (Chen et al. 2020), TF checkpoint converted to PyTorch.

    Expected converted layout (Separius/SimCLRv2-Pytorch ``convert.py``): a file
    ``r50_1x_sk0.pth`` holding ``{"resnet": sd, "head": projection_head_sd}``; the
    loader passes ``sd``. The converter copies TF variables into its modules *in
    creation order* (convs sorted by TF ``conv2d_N`` index, BNs by
    ``batch_normalization_N``), so ``sd``'s module names are that converter's own;
    what is fixed is the order: stem conv/BN, then per block [shortcut conv/BN on the
    first block], conv1/BN, conv2/BN, conv3/BN; then ``fc.{weight,bias}``
    (``head_supervised`` linear layer). We therefore map by order — conv modules
    (4-D ``weight``) to convs, BN modules (with ``running_mean``) to BNs — and every
    shape is checked by the strict load. Not remapped: the TF max-pool uses SAME
    (asymmetric) padding, PyTorch's symmetric padding=1 shifts the grid by one pixel
    (as in the converter's own model); SimCLR takes un-normalized [0,1] inputs (the
    manifest sets mean 0, std 1).
    """
    state = _strip_if_all(state, "module.")
    modules: dict[str, dict[str, torch.Tensor]] = {}
    for k, v in state.items():
        mod, _, leaf = k.rpartition(".")
        modules.setdefault(mod, {})[leaf] = v
    convs = [m for m, p in modules.items() if "weight" in p and p["weight"].ndim == 4]
    bns = [m for m, p in modules.items() if "running_mean" in p]
    linears = [m for m, p in modules.items() if "weight" in p and p["weight"].ndim == 2]
    order = resnet50_module_order()
    want_conv = [m for m, kind in order if kind == "conv"]
    want_bn = [m for m, kind in order if kind == "bn"]
    if len(convs) != len(want_conv) or len(bns) != len(want_bn) or len(linears) != 1:
        raise ZoolensError(
            f"SimCLRv2 checkpoint has {len(convs)} convs, {len(bns)} BNs, {len(linears)} linear layers; "
            f"resnet50 (sk0, 1x) needs {len(want_conv)}, {len(want_bn)}, 1",
            "convert the r50_1x_sk0 TF checkpoint (selective-kernel/wider variants are other architectures)")
    out: State = {}
    for src, dst in zip(convs, want_conv):
        out[f"{dst}.weight"] = modules[src]["weight"]
    for src, dst in zip(bns, want_bn):
        for leaf, v in modules[src].items():
            out[f"{dst}.{leaf}"] = v
    out["fc.weight"] = modules[linears[0]]["weight"]
    out["fc.bias"] = modules[linears[0]]["bias"]
    return out


REMAPS: dict[str, Callable[..., State]] = {
    "identity": remap_identity,
    "madry_robustness": remap_madry_robustness,
    "aux_bn": remap_aux_bn,
    "dino": remap_dino,
    "mocov3": remap_mocov3,
    "swav": remap_swav,
    "simclrv2": remap_simclrv2,
}


def get_remap(name: str) -> Callable[..., State]:
    try:
        return REMAPS[name]
    except KeyError:
        raise ZoolensError(f"unknown remap {name!r}", f"use one of {', '.join(REMAPS)}") from None

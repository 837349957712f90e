"""The ``timm:`` model source: ``timm:NAME`` (pretrained, from the local cache), ``timm:NAME@FILE``,
``timm:NAME@init:SEED``."""

from __future__ import annotations

import functools
import os
from typing import Any

import torch
from torch import nn

from zoolens.data.preprocess import PreprocessConfig
from zoolens.errors import ZoolensError
from zoolens.models.checkpoint import load_into, read_state_dict, strip_prefixes
from zoolens.models.digest import library_version
from zoolens.models.refs import ModelRef, check_weights_file, parse_weights_suffix
from zoolens.models.reinit import Reinitializer, build_seeded
from zoolens.models.source import Architecture, ModelSource, register_source
from zoolens.models.wrapper import WrappedModel
from zoolens.offline import HOW_TO_GO_ONLINE, hub_offline, is_online, require_online


def _check(ref: ModelRef) -> None:
    import timm

    if not timm.is_model(ref.name):
        close = timm.list_models(f"*{ref.name.split('.')[0][:6]}*")[:5]
        raise ZoolensError(f"timm has no model named {ref.name!r}",
                           f"check `timm.list_models()`{'; close: ' + ', '.join(close) if close else ''}")
    check_weights_file(ref)


def _kwargs_from_state(name: str, state: dict[str, torch.Tensor]) -> dict[str, Any]:
    """Read num_classes / in_chans off a checkpoint so e.g. a 10-class resnet18 loads as such."""
    import timm

    cfg = timm.models.get_pretrained_cfg(name) or None
    cfg = cfg.to_dict() if hasattr(cfg, "to_dict") else (cfg or {})
    kwargs: dict[str, Any] = {}
    classifier = cfg.get("classifier", "fc")
    classifier = classifier[0] if isinstance(classifier, (list, tuple)) else classifier
    for key in (f"{classifier}.weight", f"{classifier}.fc.weight"):
        if key in state and state[key].ndim >= 1:
            kwargs["num_classes"] = int(state[key].shape[0])
            break
    first = cfg.get("first_conv")
    first = first[0] if isinstance(first, (list, tuple)) else first
    if first and f"{first}.weight" in state and state[f"{first}.weight"].ndim == 4:
        kwargs["in_chans"] = int(state[f"{first}.weight"].shape[1])
    return kwargs


def _load(ref: ModelRef, *, trust_checkpoint: bool = False, num_classes: int | None = None) -> WrappedModel:
    import timm

    kwargs: dict[str, Any] = {}
    state = probe = None
    if ref.weights == "file":
        state = read_state_dict(ref.path, trust_checkpoint=trust_checkpoint)
        probe = timm.create_model(ref.name, pretrained=False)
        state = strip_prefixes(state, set(probe.state_dict()))
        kwargs.update(_kwargs_from_state(ref.name, state))
        own = probe.state_dict()
        if num_classes is not None or any(k in own and own[k].shape != v.shape for k, v in state.items()):
            probe = None  # other class count / channels: build anew with the kwargs read off the file
    if num_classes is not None:
        kwargs["num_classes"] = num_classes
    build = functools.partial(timm.create_model, ref.name, pretrained=False, **kwargs)
    if ref.weights == "init":
        net = build_seeded(build, ref.seed)
    elif ref.weights == "file":
        # The probe already has the file's shapes: reuse it instead of constructing the model twice.
        net = probe if probe is not None else build()
        load_into(net, state, source=str(ref.path), target=f"timm:{ref.name}")
    else:
        net = _pretrained(ref.name, kwargs)
    preprocess = PreprocessConfig.from_timm(timm.data.resolve_data_config({}, model=net))
    return WrappedModel(net, name=ref.raw, preprocess=preprocess, num_classes=net.num_classes,
                        reinitializer=Reinitializer(build), info={"architecture": ref.name, "library": "timm"})


def _pretrained(name: str, kwargs: dict[str, Any]) -> nn.Module:
    import timm

    cfg = timm.models.get_pretrained_cfg(name)
    where = weight_location(cfg)
    cfg_dict = cfg.to_dict() if hasattr(cfg, "to_dict") else dict(cfg or {})
    missing = f"pretrained weights for timm:{name} are not in the local cache (expected {where})"
    fix = f"put the file there, pass timm:{name}@/path/to/weights.safetensors"
    if not cfg_dict.get("hf_hub_id") and cfg_dict.get("url") and not os.path.isfile(where):
        require_online(missing, fix)  # torch.hub downloads ignore HF_HUB_OFFLINE: refuse before they start
    try:
        with hub_offline():
            return timm.create_model(name, pretrained=True, **kwargs)
    except Exception as exc:  # hub errors come in many types; all mean "not available here"
        if is_online():
            raise ZoolensError(f"could not load pretrained weights for timm:{name} ({type(exc).__name__})",
                               "check the network or pass timm:NAME@FILE") from exc
        raise ZoolensError(missing, f"{fix}, or {HOW_TO_GO_ONLINE}") from exc


def weight_location(cfg) -> str:
    """Where timm keeps (or would download) the pretrained weights of a pretrained config."""
    if cfg is None:
        return "no pretrained weights are registered for this model"
    cfg = cfg.to_dict() if hasattr(cfg, "to_dict") else dict(cfg)
    if cfg.get("hf_hub_id"):
        from huggingface_hub.constants import HF_HUB_CACHE

        repo = cfg["hf_hub_id"].split("/")
        return f"{HF_HUB_CACHE}/models--{'--'.join(repo[:2])}"
    if cfg.get("url"):
        return os.path.join(torch.hub.get_dir(), "checkpoints", os.path.basename(cfg["url"]))
    if cfg.get("file"):
        return str(cfg["file"])
    return "no download location is registered"


def _architecture(ref: ModelRef) -> Architecture:
    import timm

    try:
        make_cfg = timm.models.get_pretrained_cfg(ref.name) if hasattr(timm.models, "get_pretrained_cfg") else None
    except Exception:  # noqa: BLE001 - only used for the input size
        make_cfg = None

    def input_size(net: nn.Module) -> tuple[int, int, int]:
        cfg = getattr(net, "pretrained_cfg", None) or (make_cfg.to_dict() if make_cfg is not None else {})
        return tuple(cfg.get("input_size", (3, 224, 224)))

    return Architecture(make=lambda: timm.create_model(ref.name, pretrained=False), input_size=input_size)


def _digest_parts(ref: ModelRef) -> tuple[str, ...]:
    return ("pretrained", ref.raw, library_version("timm"))  # timm resolves the weights; a release may ship others


SOURCE = register_source(ModelSource(
    scheme="timm", syntax="timm:NAME[@FILE|@init:SEED]",
    parse=lambda rest, raw: parse_weights_suffix("timm", rest, raw), check=_check, load=_load,
    architecture=_architecture, digest_parts=_digest_parts, arch_key=lambda ref: f"timm:{ref.name}"))

__all__ = ["SOURCE", "weight_location"]

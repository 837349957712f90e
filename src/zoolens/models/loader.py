"""``load_model(ref)``: the single entry that turns a reference into a :class:`WrappedModel`."""

from __future__ import annotations

import functools
import importlib
import os
from pathlib import Path
from typing import Any

import torch
from torch import nn

from zoolens.errors import ZoolensError
from zoolens.models.checkpoint import load_into, read_state_dict
from zoolens.models.refs import ModelRef, parse_ref
from zoolens.models.reinit import Reinitializer, build_seeded
from zoolens.models.wrapper import PreprocessConfig, WrappedModel
from zoolens.offline import is_online


def load_model(ref: str, *, trust_checkpoint: bool = False, num_classes: int | None = None) -> WrappedModel:
    """Load a model reference and wrap it to take [0,1] images at its native size.

    Parameters
    ----------
    ref:
        ``timm:NAME`` (pretrained weights from the local cache), ``timm:NAME@FILE``,
        ``timm:NAME@init:SEED``, ``tv:NAME[:WEIGHTS][@FILE|@init:SEED]``, ``zoo:ZOO/NAME``
        or ``py:module:function``.
    trust_checkpoint:
        Allow full unpickling of ``.pth`` files (runs code from the file).
    num_classes:
        Classifier size for ``@init`` models or when it cannot be read off the checkpoint.

    Returns
    -------
    WrappedModel in eval mode, on CPU.
    """
    parsed = check_ref(ref)
    loader = {"timm": _load_timm, "tv": _load_tv, "zoo": _load_zoo, "py": _load_py}[parsed.scheme]
    model = loader(parsed, trust_checkpoint=trust_checkpoint, num_classes=num_classes)
    return model.eval()


def check_ref(ref: str) -> ModelRef:
    """Parse ``ref`` and check, without building the model, that it can be loaded.

    Cheap checks only (no weights are read): the architecture exists in timm or
    torchvision, a zoo lists the model, a weights file is a file, a ``py:`` module
    imports and has the factory. Runs check every reference this way before they
    write anything, so a typo never reaches the run directory.

    Raises
    ------
    ZoolensError
        Naming the reference and what to fix.
    """
    if not isinstance(ref, str):
        raise ZoolensError(f"model reference {ref!r} is not text", "write references as strings, e.g. \"timm:resnet18\"")
    parsed = parse_ref(ref)
    if parsed.scheme == "timm":
        _check_timm_name(parsed.name)
    elif parsed.scheme == "tv":
        _check_tv_name(parsed.name)
    elif parsed.scheme == "zoo":
        zoo, _, name = parsed.name.partition("/")
        from zoolens.selection import zoo_member_names

        names = zoo_member_names(zoo)
        if name not in names:
            raise ZoolensError(f"zoo {zoo} has no model {name!r}", f"choose from: {', '.join(names)}")
    elif parsed.scheme == "py":
        _py_factory(parsed)
    if parsed.weights == "file" and parsed.scheme in ("timm", "tv"):
        path = Path(parsed.path)
        try:
            is_dir, is_file = path.is_dir(), path.is_file()
        except OSError as exc:  # e.g. a name too long for the file system
            raise ZoolensError(f"checkpoint path {str(path)[:60]!r} is unusable ({exc.strerror})",
                               "check the path after '@'") from None
        if is_dir:
            raise ZoolensError(f"checkpoint {path} is a directory, not a weights file",
                               "point '@' at the .safetensors/.pth file inside it")
        if not is_file:
            raise ZoolensError(f"checkpoint {path} does not exist", "check the path after '@'")
    return parsed


def _check_timm_name(name: str) -> None:
    import timm

    if not timm.is_model(name):
        close = timm.list_models(f"*{name.split('.')[0][:6]}*")[:5]
        raise ZoolensError(f"timm has no model named {name!r}",
                           f"check `timm.list_models()`{'; close: ' + ', '.join(close) if close else ''}")


def _check_tv_name(name: str) -> None:
    import torchvision

    try:
        torchvision.models.get_model_builder(name)
    except ValueError as exc:
        raise ZoolensError(f"torchvision has no model named {name!r}", "see torchvision.models.list_models()") from exc


# --------------------------------------------------------------------------- timm
def _timm_kwargs_from_state(name: str, state: dict[str, torch.Tensor]) -> dict[str, Any]:
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


def _load_timm(ref: ModelRef, *, trust_checkpoint: bool, num_classes: int | None) -> WrappedModel:
    import timm

    kwargs: dict[str, Any] = {}
    state = probe = None
    if ref.weights == "file":
        state = read_state_dict(ref.path, trust_checkpoint=trust_checkpoint)
        from zoolens.models.checkpoint import strip_prefixes

        probe = timm.create_model(ref.name, pretrained=False)
        state = strip_prefixes(state, set(probe.state_dict()))
        kwargs.update(_timm_kwargs_from_state(ref.name, state))
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
        net = _timm_pretrained(ref.name, kwargs)
    preprocess = PreprocessConfig.from_timm(timm.data.resolve_data_config({}, model=net))
    return WrappedModel(net, name=ref.raw, preprocess=preprocess, num_classes=net.num_classes,
                        reinitializer=Reinitializer(build), info={"architecture": ref.name, "library": "timm"})


def _timm_pretrained(name: str, kwargs: dict[str, Any]) -> nn.Module:
    import timm

    cfg = timm.models.get_pretrained_cfg(name)
    where = _timm_weight_location(cfg)
    cfg_dict = cfg.to_dict() if hasattr(cfg, "to_dict") else dict(cfg or {})
    if not is_online() and not cfg_dict.get("hf_hub_id") and cfg_dict.get("url") and not os.path.isfile(where):
        # torch.hub downloads ignore HF_HUB_OFFLINE: refuse before it tries the network.
        raise ZoolensError(f"pretrained weights for timm:{name} are not in the local cache (expected {where})",
                           f"put the file there, pass timm:{name}@/path/to/weights.safetensors, or allow downloads with --online")
    try:
        return timm.create_model(name, pretrained=True, **kwargs)
    except Exception as exc:  # hub errors come in many types; all mean "not available here"
        if is_online():
            raise ZoolensError(f"could not load pretrained weights for timm:{name} ({type(exc).__name__})",
                               "check the network or pass timm:NAME@FILE") from exc
        raise ZoolensError(
            f"pretrained weights for timm:{name} are not in the local cache (expected {where})",
            f"put the file there, pass timm:{name}@/path/to/weights.safetensors, or allow downloads with --online",
        ) from exc


def _timm_weight_location(cfg) -> str:
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


# -------------------------------------------------------------------- torchvision
_TV_CROP = 224
_TV_RESIZE = 256


def _load_tv(ref: ModelRef, *, trust_checkpoint: bool, num_classes: int | None) -> WrappedModel:
    import torchvision

    weights = None
    if ref.weights == "pretrained":
        try:
            weights = torchvision.models.get_model_weights(ref.name)[ref.tag or "DEFAULT"]
        except (KeyError, ValueError) as exc:
            raise ZoolensError(f"torchvision model {ref.name} has no weights {ref.tag!r}",
                               "use e.g. tv:resnet50:IMAGENET1K_V2") from exc
    kwargs: dict[str, Any] = {}
    state = None
    if ref.weights == "file":
        state = read_state_dict(ref.path, trust_checkpoint=trust_checkpoint)
        for key in ("fc.weight", "classifier.weight", "head.weight", "heads.head.weight", "classifier.1.weight"):
            if key in state:
                kwargs["num_classes"] = int(state[key].shape[0])
                break
    if num_classes is not None:
        kwargs["num_classes"] = num_classes
    build = functools.partial(torchvision.models.get_model, ref.name, weights=None, **kwargs)
    if ref.weights == "init":
        net = build_seeded(build, ref.seed)
    elif ref.weights == "file":
        net = build()
        load_into(net, state, source=str(ref.path), target=f"tv:{ref.name}")
    else:
        target = Path(torch.hub.get_dir()) / "checkpoints" / os.path.basename(weights.url)
        if not target.is_file() and not is_online():
            raise ZoolensError(f"torchvision weights {weights} are not in the local cache (expected {target})",
                               f"put the file there, pass tv:{ref.name}@/path/to/weights.pth, or allow downloads with --online")
        net = build_seeded(functools.partial(torchvision.models.get_model, ref.name, weights=weights), 0)
    preprocess = _tv_preprocess(weights)
    n_cls = _infer_num_classes(net, preprocess)
    return WrappedModel(net, name=ref.raw, preprocess=preprocess, num_classes=n_cls,
                        reinitializer=Reinitializer(build), info={"architecture": ref.name, "library": "torchvision"})


def _tv_preprocess(weights) -> PreprocessConfig:
    if weights is not None:
        t = weights.transforms()
        crop = t.crop_size[0]
        resize = t.resize_size[0]
        return PreprocessConfig(input_size=(3, crop, crop), interpolation=t.interpolation.value,
                                crop_pct=crop / resize, mean=tuple(t.mean), std=tuple(t.std))
    return PreprocessConfig(input_size=(3, _TV_CROP, _TV_CROP), interpolation="bilinear",
                            crop_pct=_TV_CROP / _TV_RESIZE)


def _infer_num_classes(net: nn.Module, preprocess: PreprocessConfig) -> int:
    for attr in ("num_classes",):
        if isinstance(getattr(net, attr, None), int):
            return getattr(net, attr)
    with torch.no_grad():
        out = net.eval()(torch.zeros(1, *preprocess.input_size))
    return int(out.shape[-1])


# ------------------------------------------------------------------------- zoo / py
def _load_zoo(ref: ModelRef, *, trust_checkpoint: bool, num_classes: int | None) -> WrappedModel:
    zoo, _, name = ref.name.partition("/")
    if zoo.startswith("paper-"):  # the papers' own zoos: weights from $ZOOLENS_WEIGHTS
        from zoolens.zoo.paper import load_paper_model

        return load_paper_model(zoo, name, trust_checkpoint=trust_checkpoint)
    try:
        from zoolens.zoo import load_zoo_model
    except ImportError as exc:  # pragma: no cover - the zoo ships with the package
        raise ZoolensError("the model zoo is not available in this installation", "reinstall zoolens") from exc
    return load_zoo_model(zoo, name)


def _load_py(ref: ModelRef, *, trust_checkpoint: bool, num_classes: int | None) -> WrappedModel:
    factory = _py_factory(ref)
    try:
        net = factory()
    except ZoolensError:
        raise
    except Exception as exc:  # user code may raise anything: name it in one line
        raise ZoolensError(f"the factory of {ref.raw} raised {type(exc).__name__}: {exc}",
                           "fix the factory function (zoolens --debug shows the traceback)") from exc
    if isinstance(net, WrappedModel):
        return net
    if not isinstance(net, nn.Module):
        raise ZoolensError(f"{ref.raw} returned a {type(net).__name__}, not an nn.Module",
                           "make the factory return a torch.nn.Module")
    # A factory may describe its preprocessing like timm does, and offer an untrained builder.
    cfg = getattr(net, "pretrained_cfg", None) or getattr(net, "default_cfg", None) or {}
    preprocess = PreprocessConfig.from_timm(cfg) if cfg else PreprocessConfig()
    builder = getattr(net, "zoolens_builder", None)
    return WrappedModel(net, name=ref.raw, preprocess=preprocess, num_classes=_infer_num_classes(net, preprocess),
                        reinitializer=Reinitializer(builder), info={"library": "py"})


def _py_factory(ref: ModelRef):
    """Import ``py:module:function`` and return the callable (errors name the reference)."""
    module_name, _, func_name = ref.name.rpartition(":")
    try:
        module = importlib.import_module(module_name)
    except Exception as exc:  # any import-time failure of user code
        raise ZoolensError(f"cannot import {module_name!r} for {ref.raw} ({type(exc).__name__}: {exc})",
                           "check the module is on PYTHONPATH and imports cleanly") from exc
    factory = getattr(module, func_name, None)
    if not callable(factory):
        raise ZoolensError(f"{module_name} has no callable {func_name!r}", "use py:module:function")
    return factory

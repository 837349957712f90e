"""The ``tv:`` model source: torchvision models, ``tv:NAME[:WEIGHTS][@FILE|@init:SEED]``."""

from __future__ import annotations

import functools
import os
from pathlib import Path
from typing import Any

import torch

from zoolens.data.preprocess import PreprocessConfig
from zoolens.errors import ZoolensError
from zoolens.models.checkpoint import load_into, read_state_dict
from zoolens.models.digest import library_version
from zoolens.models.refs import ModelRef, check_weights_file, parse_weights_suffix
from zoolens.models.reinit import Reinitializer, build_seeded
from zoolens.models.source import Architecture, ModelSource, register_source
from zoolens.models.wrapper import WrappedModel, infer_num_classes
from zoolens.offline import require_online

_CROP = 224
_RESIZE = 256
#: Classifier weights whose first dimension is the class count, in torchvision's architectures.
_HEAD_KEYS = ("fc.weight", "classifier.weight", "head.weight", "heads.head.weight", "classifier.1.weight")


def _check(ref: ModelRef) -> None:
    import torchvision

    try:
        torchvision.models.get_model_builder(ref.name)
    except ValueError as exc:
        raise ZoolensError(f"torchvision has no model named {ref.name!r}",
                           "see torchvision.models.list_models()") from exc
    check_weights_file(ref)


def _load(ref: ModelRef, *, trust_checkpoint: bool = False, num_classes: int | None = None) -> WrappedModel:
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
        for key in _HEAD_KEYS:
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
        if not target.is_file():  # torch.hub would download it: refuse first unless downloads are allowed
            require_online(f"torchvision weights {weights} are not in the local cache (expected {target})",
                           f"put the file there, pass tv:{ref.name}@/path/to/weights.pth")
        net = build_seeded(functools.partial(torchvision.models.get_model, ref.name, weights=weights), 0)
    preprocess = _preprocess(weights)
    n_cls = infer_num_classes(net, preprocess)
    return WrappedModel(net, name=ref.raw, preprocess=preprocess, num_classes=n_cls,
                        reinitializer=Reinitializer(build), info={"architecture": ref.name, "library": "torchvision"})


def _preprocess(weights) -> PreprocessConfig:
    """The eval transform of torchvision ``weights`` (resize, crop, mean, std); 256→224 bilinear without."""
    if weights is not None:
        t = weights.transforms()
        crop = t.crop_size[0]
        resize = t.resize_size[0]
        return PreprocessConfig(input_size=(3, crop, crop), interpolation=t.interpolation.value,
                                crop_pct=crop / resize, mean=tuple(t.mean), std=tuple(t.std))
    return PreprocessConfig(input_size=(3, _CROP, _CROP), interpolation="bilinear", crop_pct=_CROP / _RESIZE)


def _architecture(ref: ModelRef) -> Architecture:
    import torchvision

    return Architecture(make=lambda: torchvision.models.get_model(ref.name, weights=None),
                        input_size=lambda net: (3, _CROP, _CROP))


SOURCE = register_source(ModelSource(
    scheme="tv", syntax="tv:NAME[:WEIGHTS]",
    parse=lambda rest, raw: parse_weights_suffix("tv", rest, raw, tagged=True), check=_check, load=_load,
    architecture=_architecture, digest_parts=lambda ref: ("pretrained", ref.raw, library_version("torchvision")),
    arch_key=lambda ref: f"tv:{ref.name}"))

__all__ = ["SOURCE"]

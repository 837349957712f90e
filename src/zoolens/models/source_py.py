"""The ``py:`` model source: ``py:package.module:function``, a factory returning an ``nn.Module``
(or a WrappedModel)."""

from __future__ import annotations

import importlib
import importlib.util
from pathlib import Path
from typing import Callable

from torch import nn

from zoolens.data.preprocess import PreprocessConfig
from zoolens.errors import ZoolensError
from zoolens.models.digest import file_digest
from zoolens.models.refs import ModelRef
from zoolens.models.reinit import Reinitializer
from zoolens.models.source import Architecture, ModelSource, register_source
from zoolens.models.wrapper import WrappedModel, infer_num_classes


def _parse(rest: str, raw: str) -> ModelRef:
    module, sep, func = rest.rpartition(":")
    if not sep or not module or not func:
        raise ZoolensError(f"cannot parse {raw!r}", "use py:package.module:function")
    return ModelRef("py", rest, weights="file", raw=raw)


def factory(ref: ModelRef) -> Callable[[], object]:
    """Import ``py:module:function`` and return the callable (errors name the reference)."""
    module_name, _, func_name = ref.name.rpartition(":")
    try:
        module = importlib.import_module(module_name)
    except Exception as exc:  # any import-time failure of user code
        raise ZoolensError(f"cannot import {module_name!r} for {ref.raw} ({type(exc).__name__}: {exc})",
                           "check the module is on PYTHONPATH and imports cleanly") from exc
    func = getattr(module, func_name, None)
    if not callable(func):
        raise ZoolensError(f"{module_name} has no callable {func_name!r}", "use py:module:function")
    return func


def _load(ref: ModelRef, *, trust_checkpoint: bool = False, num_classes: int | None = None) -> WrappedModel:
    make = factory(ref)
    try:
        net = make()
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
    return WrappedModel(net, name=ref.raw, preprocess=preprocess, num_classes=infer_num_classes(net, preprocess),
                        reinitializer=Reinitializer(builder), info={"library": "py"})


def _check(ref: ModelRef) -> None:
    factory(ref)  # the module imports and has the callable; nothing is built


def _architecture(ref: ModelRef) -> Architecture:
    # In-repo code, small by nature: load it for real (its factory may not run on the meta device).
    model = _load(ref)
    return Architecture(make=lambda: model.net, input_size=lambda net: tuple(model.input_size), meta_ok=False)


def _digest_parts(ref: ModelRef) -> tuple[str, ...]:
    """The reference and the module's source file: its code builds the model."""
    module = ref.name.rpartition(":")[0]
    try:
        spec = importlib.util.find_spec(module)
    except (ImportError, ValueError):
        spec = None
    origin = spec.origin if spec is not None else None
    if origin and Path(origin).is_file():
        return ("py", ref.raw, file_digest(origin))
    return ("py", ref.raw)


SOURCE = register_source(ModelSource(
    scheme="py", syntax="py:module:function", parse=_parse, check=_check, load=_load,
    architecture=_architecture, digest_parts=_digest_parts))

__all__ = ["SOURCE", "factory"]

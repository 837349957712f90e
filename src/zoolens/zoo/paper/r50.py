"""``zoo:paper-r50``: the 50 ResNet-50s of the criticality paper, by training method.

Source: "How Do Training Methods Influence the Utilization of Vision Models?"
(seeds/000, Appendix B, Table 1): category, method, adversarial-training budget and
published ImageNet top-1 of each model. ``r50_manifest.json`` adds, per entry, where
its weights come from (torchvision / timm pretrained tags / published files), the
file names expected under ``$ZOOLENS_WEIGHTS/paper-r50/``, URLs where public,
SHA-256 where known (else null) and the key remapping of :mod:`.remap`.

Published-file entries are built as *torchvision* ``resnet50``: the adversarially
trained, self-supervised and augmentation models were all trained with torchvision's
ResNet-50 code, so its initializer is the one layer re-initialization must match
("we match the initialization used by each training method").
"""

from __future__ import annotations

import functools
import json
import math
import pickle
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pandas as pd
import torch

from zoolens.data.preprocess import PreprocessConfig
from zoolens.errors import ZoolensError
from zoolens.models.checkpoint import load_into, read_state_dict
from zoolens.models.loader import load_model
from zoolens.models.refs import parse_ref
from zoolens.models.reinit import Reinitializer
from zoolens.models.source import Architecture, get_source
from zoolens.models.wrapper import WrappedModel
from zoolens.zoo.metadata import blank_row, metadata_listing
from zoolens.zoo.paper.fetch import FileSpec, WeightEntries, weights_dir
from zoolens.zoo.paper.remap import get_remap
from zoolens.zoo.registry import Zoo, register_zoo

ZOO = "paper-r50"
MANIFEST_PATH = Path(__file__).with_name("r50_manifest.json")


@functools.lru_cache(maxsize=1)
def _doc() -> dict[str, Any]:
    return json.loads(MANIFEST_PATH.read_text())


def r50_entries() -> list[dict[str, Any]]:
    """The manifest entries (dicts), in the paper's table order."""
    return [dict(e) for e in _doc()["models"]]


def r50_entry(name: str) -> dict[str, Any]:
    for e in _doc()["models"]:
        if e["name"] == name:
            return dict(e)
    names = [e["name"] for e in _doc()["models"]]
    close = [n for n in names if name.split("_")[0] in n][:5]
    raise ZoolensError(f"zoo:{ZOO} has no model {name!r}",
                       f"see `zoolens zoo list {ZOO}`" + (f"; close: {', '.join(close)}" if close else ""))


def file_specs(name: str | None = None) -> list[FileSpec]:
    """Every published file of one entry (or of all), with the path it must have."""
    entries = [r50_entry(name)] if name else r50_entries()
    root = weights_dir(ZOO)
    return [FileSpec(model=e["name"], role=f["role"], path=root / f["filename"], url=f["url"],
                     sha256=f["sha256"], sha256_prefix=f.get("sha256_prefix"))
            for e in entries for f in e["files"]]


def r50_manifest() -> pd.DataFrame:
    """One row per model: name, category, method, norm, epsilon, published_top1, source kind,
    ref (timm/torchvision), files, locations, urls, sha256, remap."""
    root = weights_dir(ZOO)
    rows = []
    for e in r50_entries():
        rows.append({
            "name": e["name"], "category": e["category"], "method": e["method"], "norm": e["norm"],
            "epsilon": e["epsilon"], "published_top1": e["published_top1"], "source_kind": e["source_kind"],
            "ref": e["ref"], "files": ";".join(f["filename"] for f in e["files"]) or None,
            "locations": ";".join(str(root / f["filename"]) for f in e["files"]) or None,
            "urls": ";".join(f["url"] or "-" for f in e["files"]) or None,
            "sha256": ";".join(f["sha256"] or "-" for f in e["files"]) or None,
            "remap": e["remap"], "citation": e["citation"], "notes": e["notes"],
        })
    return pd.DataFrame(rows)


# ------------------------------------------------------------------------ reading
def _read_nested(path: Path, key: str, trust_checkpoint: bool) -> dict[str, torch.Tensor]:
    """A checkpoint holding several state dicts (e.g. SimCLRv2's ``{"resnet", "head"}``): pick ``key``.

    Same safety rule as :func:`zoolens.models.checkpoint.read_state_dict`: no code runs
    unless ``trust_checkpoint``.
    """
    try:
        obj = torch.load(str(path), map_location="cpu", weights_only=not trust_checkpoint)
    except pickle.UnpicklingError as exc:
        raise ZoolensError(f"checkpoint {path} contains pickled Python objects that could run code when loaded",
                           "convert it to .safetensors, or allow full unpickling if you trust its author "
                           "(--trust-checkpoint, or trust_checkpoint=True)") from exc
    except (RuntimeError, EOFError, OSError, ValueError) as exc:
        raise ZoolensError(f"checkpoint {path} is unreadable or truncated ({type(exc).__name__})",
                           "re-download or re-convert the file") from exc
    if not isinstance(obj, Mapping) or not isinstance(obj.get(key), Mapping):
        keys = ", ".join(map(str, list(obj)[:6])) if isinstance(obj, Mapping) else type(obj).__name__
        raise ZoolensError(f"checkpoint {path} has no {key!r} state dict (top level: {keys})",
                           "convert the checkpoint to the documented layout (docs/paper_zoos.md)")
    return {k: v for k, v in obj[key].items() if isinstance(v, torch.Tensor)}


def _read(path: Path, nested_key: str | None, trust_checkpoint: bool) -> dict[str, torch.Tensor]:
    if nested_key:
        return _read_nested(path, nested_key, trust_checkpoint)
    return read_state_dict(path, trust_checkpoint=trust_checkpoint)


def _missing_error(name: str, spec: FileSpec) -> ZoolensError:
    how = (f"download {spec.url} to {spec.path}, or fetch it (zoolens --online zoo fetch {ZOO} --only {name}, "
           f"or zoolens.zoo.weights.fetch with downloads allowed)"
           if spec.url else
           f"get it from the authors' release (see docs/paper_zoos.md, row {name}) and save it as {spec.path}")
    return ZoolensError(f"weights for zoo:{ZOO}/{name} are missing: {spec.path} ({spec.role})", how)


# ------------------------------------------------------------------------ loading
def _tv_resnet50():
    import torchvision

    return torchvision.models.resnet50(weights=None)


def load_r50_model(name: str, *, trust_checkpoint: bool = False):
    """Load ``zoo:paper-r50/NAME`` as a :class:`~zoolens.models.WrappedModel` (eval, CPU).

    torchvision/timm entries delegate to :func:`zoolens.models.load_model`; published
    files are read safely, remapped with the entry's remap function and loaded strictly.
    """
    e = r50_entry(name)
    info = {k: e[k] for k in ("category", "method", "norm", "epsilon", "published_top1", "source_kind")}
    info.update(zoo=ZOO, paper_name=e["method"])
    if e["source_kind"] in ("torchvision", "timm"):
        model = load_model(e["ref"], trust_checkpoint=trust_checkpoint)
        model.info.update(info, ref=e["ref"])
        model.name = f"zoo:{ZOO}/{name}"
        return model
    specs = file_specs(name)
    for spec in specs:
        if not spec.path.is_file():
            raise _missing_error(name, spec)
    states = [_read(spec.path, f.get("nested_key"), trust_checkpoint) for spec, f in zip(specs, e["files"])]
    primary = states[0]
    head = states[1] if len(states) > 1 else None
    state = get_remap(e["remap"])(primary, head)
    net = _tv_resnet50()
    load_into(net, state, source=";".join(str(s.path) for s in specs), target=f"zoo:{ZOO}/{name} (torchvision resnet50)")
    p = e["preprocess"]
    preprocess = PreprocessConfig(input_size=(3, 224, 224), interpolation=p["interpolation"], crop_pct=p["crop_pct"],
                                  mean=tuple(p["mean"]), std=tuple(p["std"]))
    info.update(architecture="resnet50", library="torchvision", files=[str(s.path) for s in specs], remap=e["remap"])
    return WrappedModel(net.eval(), name=f"zoo:{ZOO}/{name}", preprocess=preprocess, num_classes=1000,
                        reinitializer=Reinitializer(_tv_resnet50), info=info)


# ------------------------------------------------------------------------ the registered zoo
def metadata() -> pd.DataFrame:
    """:data:`~zoolens.zoo.metadata.META_COLUMNS` of the 50 models (Table 1 of the criticality paper)."""
    rows = []
    for e in r50_entries():
        row = blank_row(e["name"])
        eps = math.nan if e["epsilon"] is None else float(e["epsilon"])
        norm = e["norm"] or None
        # The paper prints L∞ budgets as multiples of 1/255 and L2 budgets as they are.
        unit = {"linf": "/255", "l2": "[0,1] pixels"}.get(norm or "", None)
        row.update(family="resnet50", category=e["category"], method=e["method"], norm=norm, epsilon=eps,
                   epsilon_unit=unit, adv_eps=eps if e["category"] == "adversarial_training" else 0.0,
                   published_top1=float(e["published_top1"]), published_id=e.get("published_id"))
        rows.append(row)
    return pd.DataFrame(rows).set_index("name")


def weights() -> WeightEntries:
    """The published files under ``$ZOOLENS_WEIGHTS/paper-r50/`` and the timm/torchvision entries."""
    entries = r50_entries()
    return WeightEntries(names=[e["name"] for e in entries], files=file_specs(),
                         library=[(e["name"], e["ref"]) for e in entries if e["ref"]])


def architecture(name: str) -> Architecture:
    """The untrained network of a member: its timm/torchvision reference's, else torchvision's ResNet-50."""
    e = r50_entry(name)
    if e["source_kind"] in ("torchvision", "timm"):
        ref = parse_ref(e["ref"])
        return get_source(ref.scheme).architecture(ref)
    return Architecture(make=_tv_resnet50, input_size=lambda net: (3, 224, 224))


ZOO_ENTRY = register_zoo(Zoo(
    name=ZOO, description="the criticality paper's 50 ResNet-50s (weights from $ZOOLENS_WEIGHTS and the libraries)",
    members=lambda: [e["name"] for e in r50_entries()], load=load_r50_model, metadata=metadata,
    manifest=r50_manifest, listing=lambda all_columns=False: metadata_listing(ZOO, all_columns), weights=weights,
    architecture=architecture))

"""A zoo's weights as a whole: which are present, missing or wrong (:func:`status_table`), and
downloading the missing ones (:func:`fetch`). ``zoolens zoo status|fetch`` render these.

Every registered zoo says where its weights are (:attr:`zoolens.zoo.registry.Zoo.weights`).
Status never touches the network; :func:`fetch` refuses to run while zoolens is offline.
"""

from __future__ import annotations

import os
from pathlib import Path

import pandas as pd

from zoolens.errors import ZoolensError
from zoolens.models.loader import load_model
from zoolens.offline import require_online
from zoolens.zoo.paper.fetch import FileSpec, WeightEntries, download
from zoolens.zoo.registry import get_zoo


def _library_location(ref: str) -> tuple[str, Path | None]:
    """(state, location) of a ``timm:``/``tv:`` entry's weights in that library's cache."""
    import torch

    if ref.startswith("tv:"):
        import torchvision

        arch, _, tag = ref[3:].partition(":")
        weights = torchvision.models.get_model_weights(arch)[tag]
        path = Path(torch.hub.get_dir()) / "checkpoints" / os.path.basename(weights.url)
        return ("present (unverified)" if path.is_file() else "missing"), path
    import timm

    name = ref[len("timm:"):]
    cfg = timm.models.get_pretrained_cfg(name)
    if cfg is None:
        return "unknown to timm", None
    if cfg.hf_hub_id:
        from huggingface_hub.constants import HF_HUB_CACHE

        repo = cfg.hf_hub_id
        if repo.endswith("/"):  # timm's short form "timm/" means "timm/<name>.<tag>"
            repo = f"{repo}{name}"
        folder = Path(HF_HUB_CACHE) / ("models--" + repo.replace("/", "--"))
        found = any(folder.glob("snapshots/*/*.safetensors")) or any(folder.glob("snapshots/*/*.bin"))
        return ("present (unverified)" if found else "missing"), folder
    if cfg.url:
        path = Path(torch.hub.get_dir()) / "checkpoints" / os.path.basename(cfg.url)
        return ("present (unverified)" if path.is_file() else "missing"), path
    return "no download registered", None


def _entries(zoo: str, only: list[str] | None = None) -> tuple[WeightEntries, list[FileSpec], list[tuple[str, str]]]:
    """(entries, files, library references) of a zoo, restricted to the members in ``only``."""
    entries = get_zoo(zoo).weights()
    specs, refs = list(entries.files), list(entries.library)
    if only:
        unknown = [n for n in only if n not in set(entries.names)]
        if unknown:
            raise ZoolensError(f"zoo:{zoo} has no model(s) {', '.join(unknown)}",
                               f"list them with `zoolens zoo status {zoo}` (or zoolens.zoo.zoo_model_names)")
        specs = [s for s in specs if s.model in only]
        refs = [r for r in refs if r[0] in only]
    return entries, specs, refs


def status_table(zoo: str, only: list[str] | None = None) -> pd.DataFrame:
    """Which weights of ``zoo`` are present, missing or wrong, and where each must go."""
    entries, specs, refs = _entries(zoo, only)
    rows = []
    for s in specs:
        state, digest = s.check()
        rows.append({"model": s.model, "role": s.role, "state": state, "location": str(s.path),
                     "url": s.url or entries.no_url, "sha256": s.sha256 or digest or ""})
    for model, ref in refs:
        state, where = _library_location(ref)
        rows.append({"model": model, "role": ref, "state": state, "location": str(where or ""),
                     "url": "(library download)", "sha256": ""})
    return pd.DataFrame(rows, columns=["model", "role", "state", "location", "url", "sha256"])


def fetch(zoo: str, only: list[str] | None = None, *, opener=None, progress: bool = True) -> pd.DataFrame:
    """Download the missing or wrong files of ``zoo`` (downloads must be allowed); returns what happened per file."""
    require_online(f"downloads are off: fetching zoo:{zoo} needs them",
                   f"copy the files listed by `zoolens zoo status {zoo}` by hand")
    _, specs, refs = _entries(zoo, only)
    rows = []
    for s in specs:
        state, _ = s.check()
        if state.startswith("present"):
            rows.append({"model": s.model, "file": str(s.path), "action": "kept", "sha256": ""})
        elif not s.url:
            rows.append({"model": s.model, "file": str(s.path), "action": "manual (no public URL)", "sha256": ""})
        else:
            digest = download(s.url, s.path, sha256=s.sha256, sha256_prefix=s.sha256_prefix, opener=opener,
                              progress=progress)
            rows.append({"model": s.model, "file": str(s.path), "action": "downloaded", "sha256": digest})
    for model, ref in refs:
        state, where = _library_location(ref)
        if state.startswith("present"):
            rows.append({"model": model, "file": str(where), "action": "kept", "sha256": ""})
            continue
        load_model(ref)  # timm / torchvision download into their own caches (with their own checks)
        rows.append({"model": model, "file": str(_library_location(ref)[1]), "action": "downloaded", "sha256": ""})
    return pd.DataFrame(rows, columns=["model", "file", "action", "sha256"])


__all__ = ["fetch", "status_table"]

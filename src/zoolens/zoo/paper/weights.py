"""The paper zoos' weights as a whole: which are present, missing or wrong (:func:`status_table`), and
downloading the missing ones (:func:`fetch`). ``zoolens zoo status|fetch`` render these.

Status never touches the network; :func:`fetch` refuses to run while zoolens is offline.
"""

from __future__ import annotations

import os
from pathlib import Path

import pandas as pd

from zoolens.errors import ZoolensError
from zoolens.offline import is_online
from zoolens.zoo.paper.fetch import FileSpec, download


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


def _entries(zoo: str, only: list[str] | None = None) -> tuple[list[FileSpec], list[tuple[str, str]]]:
    """(published files, [(model, timm/tv ref)]) of a zoo, restricted to ``only``."""
    from zoolens.zoo.paper import _check

    _check(zoo)
    if zoo == "paper-r50":
        from zoolens.zoo.paper.r50 import file_specs, r50_entries

        entries = r50_entries()
        names = {e["name"] for e in entries}
        specs, refs = file_specs(), [(e["name"], e["ref"]) for e in entries if e["ref"]]
    else:
        from zoolens.zoo.paper.sat69 import sat69_manifest

        df = sat69_manifest()
        names = set(df["name"])
        specs, refs = [], list(zip(df["name"], df["ref"]))
    if only:
        unknown = [n for n in only if n not in names]
        if unknown:
            raise ZoolensError(f"zoo:{zoo} has no model(s) {', '.join(unknown)}", f"see `zoolens zoo status {zoo}`")
        specs = [s for s in specs if s.model in only]
        refs = [r for r in refs if r[0] in only]
    return specs, refs


def status_table(zoo: str, only: list[str] | None = None) -> pd.DataFrame:
    """Which weights of ``zoo`` are present, missing or wrong, and where each must go."""
    specs, refs = _entries(zoo, only)
    rows = []
    for s in specs:
        state, digest = s.check()
        rows.append({"model": s.model, "role": s.role, "state": state, "location": str(s.path),
                     "url": s.url or "(manual: see docs/paper_zoos.md)", "sha256": s.sha256 or digest or ""})
    for model, ref in refs:
        state, where = _library_location(ref)
        rows.append({"model": model, "role": ref, "state": state, "location": str(where or ""),
                     "url": "(library download)", "sha256": ""})
    return pd.DataFrame(rows, columns=["model", "role", "state", "location", "url", "sha256"])


def fetch(zoo: str, only: list[str] | None = None, *, opener=None, progress: bool = True) -> pd.DataFrame:
    """Download the missing or wrong files of ``zoo`` (needs ``--online``); returns what happened per file."""
    if not is_online():
        raise ZoolensError("downloads are off: `zoolens zoo fetch` needs --online",
                           f"run `zoolens --online zoo fetch {zoo}`, or copy the files listed by "
                           f"`zoolens zoo status {zoo}` by hand")
    specs, refs = _entries(zoo, only)
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
    from zoolens.models.loader import load_model

    for model, ref in refs:
        state, where = _library_location(ref)
        if state.startswith("present"):
            rows.append({"model": model, "file": str(where), "action": "kept", "sha256": ""})
            continue
        load_model(ref)  # timm / torchvision download into their own caches (with their own checks)
        rows.append({"model": model, "file": str(_library_location(ref)[1]), "action": "downloaded", "sha256": ""})
    return pd.DataFrame(rows, columns=["model", "file", "action", "sha256"])


__all__ = ["fetch", "status_table"]

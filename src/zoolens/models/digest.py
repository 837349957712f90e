"""A short digest of the weights a model reference resolves to, for keying resumable work.

Run directories resume by reference. Without a digest, retraining a ``zoo:`` model or
replacing the file behind ``timm:NAME@FILE`` would let a resumed run reuse results of
the old weights. Each unit therefore records :func:`weights_digest` of its model, and a
unit whose recorded digest differs from the current one is recomputed.

What is hashed, per kind of reference (no model is built):

- ``…@FILE``: the file's bytes (SHA-256, cached per path, size and mtime);
- ``zoo:fmnist-mini/NAME``: its shipped weights file; the papers' zoos: their files when
  present, else the reference itself;
- ``…@init:SEED``: the reference (seeded construction is deterministic);
- ``py:module:function``: the module's source file (its code builds the model);
- pretrained ``timm:NAME`` / ``tv:NAME``: the reference and the library version (the
  library resolves the weights; a new release may ship others).
"""

from __future__ import annotations

import hashlib
import importlib.util
import os
from pathlib import Path

import torch

from zoolens.errors import ZoolensError
from zoolens.models.refs import parse_ref

_FILE_CACHE: dict[tuple[str, int, int], str] = {}
LENGTH = 16


def _file_digest(path: str | os.PathLike) -> str:
    p = Path(path)
    st = p.stat()
    key = (str(p.resolve()), st.st_size, st.st_mtime_ns)
    if key not in _FILE_CACHE:
        from zoolens.zoo.paper.fetch import sha256_file

        _FILE_CACHE[key] = sha256_file(p)
    return _FILE_CACHE[key]


def _text_digest(*parts: str) -> str:
    return hashlib.sha256("|".join(parts).encode()).hexdigest()


def _library_version(scheme: str) -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("timm" if scheme == "timm" else "torchvision")
    except PackageNotFoundError:  # pragma: no cover - both are dependencies
        return "?"


def module_digest(module: torch.nn.Module) -> str:
    """Digest of an in-memory model's parameters and buffers (names, dtypes, shapes, values)."""
    h = hashlib.sha256()
    for name, t in sorted(module.state_dict().items()):
        t = t.detach().cpu().contiguous()
        h.update(f"{name}|{t.dtype}|{tuple(t.shape)}".encode())
        h.update(t.view(torch.uint8).numpy().tobytes() if t.numel() else b"")
    return h.hexdigest()[:LENGTH]


def weights_digest(ref: str) -> str:
    """A 16-hex-digit digest that changes when the weights behind ``ref`` change.

    Parameters
    ----------
    ref:
        A model reference (``timm:…``, ``tv:…``, ``zoo:ZOO/NAME``, ``py:module:function``).

    Returns
    -------
    str
        The digest; a reference whose weights cannot be read (yet) digests to its text, so
        planning never fails here — loading the model reports the problem.
    """
    try:
        r = parse_ref(ref)
    except ZoolensError:  # an unparsable reference is reported by the loader, not here
        return _text_digest("unparsed", ref)[:LENGTH]
    if r.weights == "file" and r.scheme != "py" and r.path and Path(r.path).is_file():
        return _file_digest(r.path)[:LENGTH]
    if r.weights == "init":
        return _text_digest("init", ref)[:LENGTH]
    if r.scheme == "py":
        module = r.name.rpartition(":")[0]
        try:
            spec = importlib.util.find_spec(module)
        except (ImportError, ValueError):
            spec = None
        origin = spec.origin if spec is not None else None
        if origin and Path(origin).is_file():
            return _text_digest("py", ref, _file_digest(origin))[:LENGTH]
        return _text_digest("py", ref)[:LENGTH]
    if r.scheme == "zoo":
        zoo, _, name = r.name.partition("/")
        files = _zoo_files(zoo, name)
        return _text_digest("zoo", ref, *[_file_digest(f) for f in files])[:LENGTH]
    return _text_digest("pretrained", ref, _library_version(r.scheme))[:LENGTH]


def _zoo_files(zoo: str, name: str) -> list[Path]:
    """The weights files of a zoo model that exist on disk (none: the reference alone identifies it)."""
    if zoo == "fmnist-mini":
        from zoolens.zoo.registry import zoo_dir

        f = zoo_dir(zoo) / "weights" / f"{name}.safetensors"
        return [f] if f.is_file() else []
    if zoo == "paper-r50":
        from zoolens.zoo.paper.r50 import file_specs

        try:
            return [s.path for s in file_specs(name) if Path(s.path).is_file()]
        except ZoolensError:  # unknown name: the loader reports it
            return []
    return []


__all__ = ["module_digest", "weights_digest"]

"""A short digest of the weights a model reference resolves to, for keying resumable work.

Run directories resume by reference. Without a digest, retraining a ``zoo:`` model or
replacing the file behind ``timm:NAME@FILE`` would let a resumed run reuse results of
the old weights. Each unit therefore records :func:`weights_digest` of its model, and a
unit whose recorded digest differs from the current one is recomputed.

What is hashed, per kind of reference (no model is built):

- ``…@FILE``: the file's bytes (SHA-256, cached per path, size and mtime);
- ``zoo:ZOO/NAME``: the zoo's weights files of the model that exist, else the reference;
- ``…@init:SEED``: the reference (seeded construction is deterministic);

and otherwise what the reference's :class:`~zoolens.models.source.ModelSource` names
(``digest_parts``), e.g.

- ``py:module:function``: the module's source file (its code builds the model);
- pretrained ``timm:NAME`` / ``tv:NAME``: the reference and the library version (the
  library resolves the weights; a new release may ship others).
"""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

import torch

from zoolens.errors import ZoolensError
from zoolens.io import sha256_file
from zoolens.models.refs import parse_ref
from zoolens.models.source import get_source

_FILE_CACHE: dict[tuple[str, int, int], str] = {}
LENGTH = 16


def file_digest(path: str | os.PathLike) -> str:
    """SHA-256 of a file, cached per (path, size, mtime) so a run hashes each checkpoint once."""
    p = Path(path)
    st = p.stat()
    key = (str(p.resolve()), st.st_size, st.st_mtime_ns)
    if key not in _FILE_CACHE:
        _FILE_CACHE[key] = sha256_file(p)
    return _FILE_CACHE[key]


def _text_digest(*parts: str) -> str:
    return hashlib.sha256("|".join(parts).encode()).hexdigest()


def library_version(dist: str) -> str:
    """The installed version of ``dist`` (``"?"`` when it is not installed)."""
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version(dist)
    except PackageNotFoundError:  # pragma: no cover - timm and torchvision are dependencies
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
    if r.weights == "file" and r.path and Path(r.path).is_file():
        return file_digest(r.path)[:LENGTH]
    if r.weights == "init":
        return _text_digest("init", ref)[:LENGTH]
    return _text_digest(*get_source(r.scheme).digest_parts(r))[:LENGTH]


__all__ = ["file_digest", "library_version", "module_digest", "weights_digest"]

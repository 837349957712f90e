"""Safe checkpoint loading: checkpoints are data, not code.

``.safetensors`` files are read with safetensors; anything else with
``torch.load(weights_only=True)``, which refuses to construct arbitrary objects.
Full unpickling happens only when the caller passes ``trust_checkpoint=True``
(the CLI's ``--trust-checkpoint``).
"""

from __future__ import annotations

import pickle
import pickletools
import warnings
import zipfile
from pathlib import Path
from typing import Mapping

import torch
from torch import nn

from zoolens.errors import ZoolensError

# Keys under which training scripts commonly nest the weights, in order of preference.
_NESTED_KEYS = ("state_dict_ema", "model_ema", "state_dict", "model", "model_state_dict", "module", "net")
_PREFIXES = ("module.", "model.", "_orig_mod.", "backbone.")


def read_state_dict(path: str | Path, *, trust_checkpoint: bool = False) -> dict[str, torch.Tensor]:
    """Read a checkpoint file into a flat ``{name: tensor}`` dict without running code.

    Raises :class:`ZoolensError` when the file is missing, unreadable/truncated, or
    needs full unpickling without ``trust_checkpoint``.
    """
    path = Path(path)
    if path.is_dir():
        raise ZoolensError(f"checkpoint {path} is a directory, not a weights file",
                           "point '@' at the .safetensors/.pth file inside it")
    if not path.is_file():
        raise ZoolensError(f"checkpoint {path} does not exist", "check the path after '@'")
    if path.suffix == ".safetensors":
        from safetensors import SafetensorError
        from safetensors.torch import load_file

        try:
            return dict(load_file(str(path), device="cpu"))
        except (SafetensorError, OSError, ValueError, RuntimeError) as exc:
            raise ZoolensError(f"checkpoint {path} is unreadable or truncated ({_short(exc)})",
                               "re-download or re-export the file") from exc
    try:
        with warnings.catch_warnings():  # torch warns about old pickle protocols: the error below says it all
            warnings.simplefilter("ignore")
            obj = torch.load(str(path), map_location="cpu", weights_only=not trust_checkpoint)
    except pickle.UnpicklingError as exc:
        if not trust_checkpoint and _is_pickle(path):
            raise ZoolensError(
                f"checkpoint {path} contains pickled Python objects that only full unpickling can read "
                "(and that could run code when loaded)",
                "convert it to .safetensors, or allow full unpickling if you trust its author "
                "(--trust-checkpoint, or trust_checkpoint=True)",
            ) from exc
        raise _unreadable(path, None) from exc
    except (RuntimeError, EOFError, OSError, ValueError, AttributeError, ImportError, KeyError,
            IndexError, TypeError, MemoryError) as exc:
        raise _unreadable(path, exc) from exc
    return _unnest(obj, path)


def _unreadable(path: Path, exc: BaseException | None) -> ZoolensError:
    detail = f" ({_short(exc)})" if exc is not None else ""
    return ZoolensError(f"checkpoint {path} is unreadable or truncated: not a complete safetensors, torch or pickle file{detail}",
                        "check the path, or re-download / re-export the file")


def _is_pickle(path: Path) -> bool:
    """True when the file (or a torch zip's ``data.pkl``) is a well-formed pickle stream.

    Tells a checkpoint that needs full unpickling from garbage, which must never be
    answered with "pass --trust-checkpoint".
    """
    try:
        if zipfile.is_zipfile(path):
            with zipfile.ZipFile(path) as zf:
                name = next((n for n in zf.namelist() if n.endswith("data.pkl")), None)
                if name is None:
                    return False
                data = zf.read(name)
        else:
            with open(path, "rb") as fh:
                data = fh.read(64 << 20)
        for _ in pickletools.genops(data):  # raises on the first malformed opcode; stops at STOP
            pass
        return True
    except Exception:  # noqa: BLE001 — any parse failure means "not a pickle"
        return False


def _short(exc: BaseException) -> str:
    return str(exc).strip().splitlines()[0][:160] if str(exc).strip() else type(exc).__name__


def _unnest(obj, path: Path) -> dict[str, torch.Tensor]:
    if isinstance(obj, nn.Module):
        return dict(obj.state_dict())
    if not isinstance(obj, Mapping):
        raise ZoolensError(f"checkpoint {path} holds a {type(obj).__name__}, not a state dict",
                           "save model.state_dict() instead")
    if obj and all(isinstance(v, torch.Tensor) for v in obj.values()):
        return dict(obj)
    for key in _NESTED_KEYS:
        if isinstance(obj.get(key), Mapping):
            return _unnest(obj[key], path)
    tensors = {k: v for k, v in obj.items() if isinstance(v, torch.Tensor)}
    if tensors:
        return tensors
    raise ZoolensError(f"checkpoint {path} holds no tensors (top-level keys: {', '.join(map(str, list(obj)[:6]))})",
                       "save model.state_dict()")


def strip_prefixes(state: Mapping[str, torch.Tensor], expected: set[str]) -> dict[str, torch.Tensor]:
    """Remove wrapper prefixes (``module.``, ``model.``, ...) when that makes keys match ``expected``."""
    state = dict(state)
    changed = True
    while changed:
        changed = False
        for prefix in _PREFIXES:
            if state and all(k.startswith(prefix) for k in state):
                stripped = {k[len(prefix):]: v for k, v in state.items()}
                if len(set(stripped) & expected) >= len(set(state) & expected):
                    state, changed = stripped, True
    return state


def load_into(net: nn.Module, state: Mapping[str, torch.Tensor], *, source: str, target: str) -> None:
    """Load ``state`` into ``net`` strictly, with a precise error on any mismatch."""
    own = net.state_dict()
    state = strip_prefixes(state, set(own))
    # timm/torchvision checkpoints may omit non-persistent-like counters; tolerate only those.
    ignorable = {k for k in own if k.endswith("num_batches_tracked")}
    missing = [k for k in own if k not in state and k not in ignorable]
    unexpected = [k for k in state if k not in own]
    wrong_shape = [f"{k} {tuple(state[k].shape)}≠{tuple(v.shape)}" for k, v in own.items()
                   if k in state and tuple(state[k].shape) != tuple(v.shape)]
    if missing or unexpected or wrong_shape:
        parts = []
        if wrong_shape:
            parts.append(f"{len(wrong_shape)} shape mismatches ({', '.join(wrong_shape[:3])})")
        if missing:
            parts.append(f"{len(missing)} missing keys ({', '.join(missing[:3])})")
        if unexpected:
            parts.append(f"{len(unexpected)} unexpected keys ({', '.join(unexpected[:3])})")
        raise ZoolensError(f"checkpoint {source} does not fit {target}: " + "; ".join(parts),
                           "check that the architecture name matches the checkpoint")
    # integer values in a float parameter mean a wrong or quantized file: refuse rather than cast silently
    ints = [f"{k} ({str(v.dtype).replace('torch.', '')})" for k, v in state.items()
            if k in own and torch.is_floating_point(own[k]) and not torch.is_floating_point(v)]
    if ints:
        raise ZoolensError(f"checkpoint {source} stores integer values for {len(ints)} floating-point "
                           f"tensor(s) of {target} ({', '.join(ints[:3])})",
                           "export the float weights (model.state_dict() of the unquantized model)")
    net.load_state_dict({k: v for k, v in state.items() if k in own}, strict=False)

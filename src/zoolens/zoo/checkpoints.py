"""Epoch checkpoints of zoo training (``zoolens zoo train --save-every N``) and their JSON sidecars.

A checkpoint is data, not code: ``OUT/checkpoints/NAME/epoch_EEE.safetensors`` (the weights
the model would ship at that epoch: the EMA weights for an EMA recipe) with a sidecar
``epoch_EEE.json``::

    {"zoo", "model", "epoch", "epochs", "step", "final", "sha256", "weights", "recipe", "torch_version"}

``epoch`` 0 is the initialization (before the first step), ``final`` marks the checkpoint of
the last epoch (the same tensors as ``OUT/weights/NAME.safetensors``). A checkpoint is
loadable as the model reference ``zoo:ZOO/NAME@PATH`` (SAT during training, App. G.3).
Writing checkpoints only reads the training state, so the final weights are bitwise the
same with and without them (``tests/zoo/test_checkpoints.py``).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

import torch

from zoolens.errors import ZoolensError
from zoolens.io import sha256_file, write_text_atomic
from zoolens.zoo.recipes import Recipe

EpochCallback = Callable[[int, int, dict[str, torch.Tensor]], None]


@dataclass(frozen=True)
class CheckpointPlan:
    """Where and how often to save epoch checkpoints (picklable: parallel workers receive it)."""

    zoo: str
    out: Path
    every: int

    def wants(self, epoch: int, epochs: int) -> bool:
        """Epoch 0 (the initialization), every ``every``-th epoch and the last one."""
        return epoch == 0 or epoch == epochs or epoch % self.every == 0


def checkpoint_path(out: Path, name: str, epoch: int) -> Path:
    """``OUT/checkpoints/NAME/epoch_EEE.safetensors``."""
    return Path(out) / "checkpoints" / name / f"epoch_{epoch:03d}.safetensors"


def sidecar_path(weights: str | Path) -> Path:
    """The JSON sidecar of a checkpoint file (same name, ``.json``)."""
    return Path(weights).with_suffix(".json")


def save_checkpoint(plan: CheckpointPlan, recipe: Recipe, epoch: int, step: int,
                    state: dict[str, torch.Tensor]) -> Path:
    """Write one checkpoint and its sidecar atomically; returns the weights path."""
    from safetensors.torch import save_file

    path = checkpoint_path(plan.out, recipe.name, epoch)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    # one metadata key: safetensors' metadata order is random per process (see train_zoo.write_model)
    save_file({k: v.detach().cpu().contiguous() for k, v in state.items()}, str(tmp),
              metadata={"zoolens": f"zoo:{plan.zoo}/{recipe.name}@epoch_{epoch:03d}"})
    tmp.replace(path)
    side = {"zoo": plan.zoo, "model": recipe.name, "epoch": epoch, "epochs": recipe.epochs, "step": step,
            "final": epoch == recipe.epochs, "sha256": sha256_file(path), "weights": path.name,
            "recipe": recipe.config(), "torch_version": torch.__version__}
    write_text_atomic(sidecar_path(path), json.dumps(side, indent=1) + "\n")
    return path


def epoch_callback(plan: CheckpointPlan | None, recipe: Recipe) -> EpochCallback | None:
    """The ``on_epoch`` callback of :func:`zoolens.zoo.train.train_recipe` for ``plan`` (None: no checkpoints)."""
    if plan is None:
        return None

    def on_epoch(epoch: int, step: int, state: dict[str, torch.Tensor]) -> None:
        if plan.wants(epoch, recipe.epochs):
            save_checkpoint(plan, recipe, epoch, step, state)
    return on_epoch


def read_sidecar(weights: str | Path) -> dict[str, Any] | None:
    """The sidecar of a checkpoint file (None when there is none); checks nothing."""
    side = sidecar_path(weights)
    if not side.is_file():
        return None
    try:
        return json.loads(side.read_text())
    except (OSError, json.JSONDecodeError) as exc:
        raise ZoolensError(f"checkpoint sidecar {side} is unreadable ({exc})",
                           "delete it and re-save the checkpoint (zoolens zoo train --save-every N)") from None


def checkpoint_of_ref(ref: str) -> dict[str, Any] | None:
    """The sidecar of a ``zoo:ZOO/NAME@PATH`` reference (None for any other reference or a file without one)."""
    if not ref.startswith("zoo:") or "@" not in ref:
        return None
    return read_sidecar(ref.split("@", 1)[1])


__all__ = ["CheckpointPlan", "EpochCallback", "checkpoint_of_ref", "checkpoint_path", "epoch_callback",
           "read_sidecar", "save_checkpoint", "sidecar_path"]

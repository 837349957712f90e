"""Randomization strategies: where a layer's replacement parameters come from.

- ``init`` (default): a seeded fresh draw from the architecture's own initializer
  (the model wrapper's re-initializer) — the paper's "we match the initialization
  used by each training method".
- ``zero``: all of the layer's parameters set to zero (deterministic: one seed).
- ``checkpoint:PATH``: the layer's values from another checkpoint of the same
  architecture, e.g. its weights at initialization (Zhang et al.'s re-initialization;
  deterministic: one seed).
"""

from __future__ import annotations

import numpy as np
import torch

from zoolens.errors import ZoolensError
from zoolens.models.checkpoint import read_state_dict, strip_prefixes
from zoolens.models.wrapper import WrappedModel


def draw_seed(seed: int) -> int:
    """The torch seed used for randomization seed ``seed``.

    Derived (not equal) so that ``timm:NAME@init:0`` randomized with seed 0 does not
    redraw exactly the weights it was built with.
    """
    return int(np.random.SeedSequence([int(seed), 0xC217]).generate_state(1)[0])


class Randomizer:
    """Replacement parameters for a layer of one model under a strategy.

    Parameters
    ----------
    model:
        The wrapped model (layer names are relative to ``model.net``).
    strategy:
        ``init``, ``zero`` or ``checkpoint:PATH``.
    trust_checkpoint:
        Allow unpickling of a ``checkpoint:`` file (see :func:`read_state_dict`).
    """

    def __init__(self, model: WrappedModel, strategy: str = "init", *, trust_checkpoint: bool = False):
        self.model = model
        self.strategy = strategy
        self._state = None
        if strategy.startswith("checkpoint:"):
            state = read_state_dict(strategy.split(":", 1)[1], trust_checkpoint=trust_checkpoint)
            self._state = strip_prefixes(state, set(model.net.state_dict()))
        elif strategy not in ("init", "zero"):
            raise ZoolensError(f"unknown randomization strategy {strategy!r}", "use init, zero or checkpoint:PATH")
        if strategy == "init" and model.reinitializer is None:
            raise ZoolensError(f"{model.name} has no re-initializer", "use --randomize zero or checkpoint:PATH")

    @property
    def deterministic(self) -> bool:
        """True when the seed does not matter (``zero``, ``checkpoint:``)."""
        return self.strategy != "init"

    def parameters(self, layer: str, seed: int) -> dict[str, torch.Tensor]:
        """Replacement values for the direct parameters of ``layer``."""
        module = self.model.net.get_submodule(layer) if layer else self.model.net
        own = dict(module.named_parameters(recurse=False))
        if self.strategy == "init":
            return self.model.reinitializer.fresh_parameters(self.model.net, layer, draw_seed(seed))
        if self.strategy == "zero":
            return {k: torch.zeros_like(v) for k, v in own.items()}
        prefix = f"{layer}." if layer else ""
        out = {}
        for k, v in own.items():
            key = prefix + k
            if key not in self._state:
                raise ZoolensError(f"checkpoint {self.strategy[11:]} has no tensor {key}",
                                   "pass a checkpoint of the same architecture")
            t = self._state[key]
            if tuple(t.shape) != tuple(v.shape):
                raise ZoolensError(f"checkpoint {self.strategy[11:]}: {key} has shape {tuple(t.shape)}, "
                                   f"the model {tuple(v.shape)}", "pass a checkpoint of the same architecture")
            out[k] = t.to(dtype=v.dtype)
        return out

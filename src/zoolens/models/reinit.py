"""Re-initializers: fresh parameters from an architecture's own construction-time init.

The criticality paper randomizes a layer by "matching the initialization used by each
training method". The exact way to get that distribution for *any* architecture —
timm's per-model ``_init_weights``, torchvision's, a zoo model's — is to build a fresh
instance of the same architecture under a seeded RNG and take that module's
parameters. One fresh instance per seed supplies every layer, so the cost is one
model construction per seed, not per (layer, seed).
"""

from __future__ import annotations

from collections import OrderedDict
from typing import Callable

import torch
from torch import nn


def build_seeded(build: Callable[[], nn.Module], seed: int) -> nn.Module:
    """Call ``build()`` with the global torch RNG seeded, leaving the caller's RNG state untouched."""
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(int(seed))
        return build()


class Reinitializer:
    """Draws fresh parameters for a module of a model.

    Parameters
    ----------
    build:
        Zero-argument callable constructing an *untrained* instance of the same
        architecture (same kwargs as the loaded model). ``None`` falls back to each
        module's ``reset_parameters()`` (PyTorch's default init) under the seed.
    cache_size:
        Fresh state dicts kept in memory (one per seed); the criticality engine asks
        for all layers of one seed, so a few suffice.
    """

    def __init__(self, build: Callable[[], nn.Module] | None, cache_size: int = 4):
        self.build = build
        self.cache_size = cache_size
        self._cache: OrderedDict[int, dict[str, torch.Tensor]] = OrderedDict()

    @property
    def exact(self) -> bool:
        """True when draws come from the architecture's own initializer."""
        return self.build is not None

    def _fresh_state(self, seed: int) -> dict[str, torch.Tensor]:
        if seed in self._cache:
            self._cache.move_to_end(seed)
            return self._cache[seed]
        net = build_seeded(self.build, seed)
        state = {k: v.detach() for k, v in net.named_parameters()}
        self._cache[seed] = state
        while len(self._cache) > self.cache_size:
            self._cache.popitem(last=False)
        return state

    def fresh_parameters(self, model: nn.Module, module_name: str, seed: int) -> dict[str, torch.Tensor]:
        """Fresh values for the *direct* parameters of ``model.get_submodule(module_name)``.

        Returns a dict ``{param_name: tensor}`` (names local to the module), on CPU,
        with the same shapes and dtypes as the module's current parameters.
        """
        module = model.get_submodule(module_name) if module_name else model
        own = dict(module.named_parameters(recurse=False))
        if self.build is not None:
            state = self._fresh_state(seed)
            prefix = f"{module_name}." if module_name else ""
            out = {}
            for pname, p in own.items():
                key = prefix + pname
                if key not in state or state[key].shape != p.shape:
                    raise KeyError(f"fresh build has no parameter {key} of shape {tuple(p.shape)}")
                out[pname] = state[key].to(dtype=p.dtype).clone()
            return out
        # Fallback: PyTorch's default init of that module type, seeded.
        if not hasattr(module, "reset_parameters"):
            raise NotImplementedError(
                f"module {module_name or '<root>'} ({type(module).__name__}) has no reset_parameters() and the "
                "model has no fresh builder; randomize with 'zero' or 'checkpoint:PATH' instead (--randomize)"
            )
        import copy

        clone = copy.deepcopy(module)
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(int(seed))
            clone.reset_parameters()
        return {k: v.detach().clone() for k, v in clone.named_parameters(recurse=False)}

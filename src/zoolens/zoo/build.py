"""From a recipe to a network: the mini zoo's architecture builder (training, loading and cost planning share it)."""

from __future__ import annotations

from torch import nn

from zoolens.data.preprocess import PreprocessConfig
from zoolens.models.reinit import Reinitializer
from zoolens.models.source import Architecture
from zoolens.models.wrapper import WrappedModel
from zoolens.zoo.architectures import FAMILIES
from zoolens.zoo.recipes import Recipe

FMNIST_MEAN = (0.2860,)
FMNIST_STD = (0.3530,)


def build_net(recipe: Recipe) -> nn.Module:
    """An untrained net of the recipe's family and config (the architecture's own init)."""
    kwargs = {k: (tuple(tuple(x) if isinstance(x, list) else x for x in v) if isinstance(v, list) else v)
              for k, v in recipe.arch_kwargs.items()}
    return FAMILIES[recipe.family].build(**kwargs)


def preprocess_for(recipe: Recipe) -> PreprocessConfig:
    """The eval transform of a recipe's model: its family's input size, Fashion-MNIST statistics."""
    hw = FAMILIES[recipe.family].input_hw
    return PreprocessConfig(input_size=(1, hw, hw), interpolation="bilinear", crop_pct=1.0,
                            mean=FMNIST_MEAN, std=FMNIST_STD)


def wrap(net: nn.Module, recipe: Recipe, zoo: str, info: dict | None = None) -> WrappedModel:
    """Wrap ``net`` as ``zoo:ZOO/NAME`` with its preprocessing and an exact re-initializer."""
    return WrappedModel(net, name=f"zoo:{zoo}/{recipe.name}", preprocess=preprocess_for(recipe), num_classes=10,
                        reinitializer=Reinitializer(lambda: build_net(recipe)), info=dict(info or {}))


def architecture(recipe: Recipe) -> Architecture:
    """The untrained net of ``recipe`` and its input size, for cost planning."""
    return Architecture(make=lambda: build_net(recipe), input_size=lambda net: tuple(preprocess_for(recipe).input_size))


__all__ = ["FMNIST_MEAN", "FMNIST_STD", "architecture", "build_net", "preprocess_for", "wrap"]

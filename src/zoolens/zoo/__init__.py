"""The shipped mini model zoo (``zoo:fmnist-mini/NAME``): architectures, recipes, weights, manifest.

Public API: :func:`list_zoos`, :func:`zoo_manifest`, :func:`zoo_model_names`,
:func:`load_zoo_model`. See ``docs/zoo.md``.
"""

from zoolens.zoo.registry import list_zoos, load_zoo_model, zoo_manifest, zoo_model_names

__all__ = ["list_zoos", "load_zoo_model", "zoo_manifest", "zoo_model_names"]

"""Model zoos: the open zoo registry, the shipped mini zoo (``zoo:fmnist-mini/NAME``) and the papers' zoos.

Importing this package registers every zoo (:mod:`.mini`, :mod:`.paper.r50`,
:mod:`.paper.sat69`) and the ``zoo:`` model source (:mod:`.source`).

Public API: :func:`list_zoos`, :func:`get_zoo`, :func:`register_zoo`, :func:`zoo_model_names`,
:func:`load_zoo_model`; of the trainable mini zoo: :func:`zoo_manifest`, :func:`manifest_rows`,
:func:`recipe_for`, :func:`zoo_dir`. See ``docs/zoo.md``.
"""

from zoolens.zoo import source  # noqa: F401 - registers the zoo: model source
from zoolens.zoo.mini import manifest_rows, recipe_for, zoo_dir, zoo_manifest
from zoolens.zoo.paper import r50, sat69  # noqa: F401 - register the papers' zoos
from zoolens.zoo.registry import Zoo, get_zoo, list_zoos, load_zoo_model, register_zoo, zoo_model_names

__all__ = ["Zoo", "get_zoo", "list_zoos", "load_zoo_model", "manifest_rows", "recipe_for", "register_zoo", "zoo_dir",
           "zoo_manifest", "zoo_model_names"]

"""The papers' own zoos: ``zoo:paper-r50`` (criticality seed, 50 ResNet-50s) and
``zoo:paper-sat69`` (SAT seed, 69 timm models). See ``docs/paper_zoos.md``.

Each registers itself as a :class:`~zoolens.zoo.registry.Zoo` (:mod:`.r50`,
:mod:`.sat69`); reach them through :func:`zoolens.zoo.get_zoo`. This package also
provides the ImageNet evaluation source: :func:`imagenet_val_source`.
"""

from __future__ import annotations

from zoolens.zoo.paper.imagenet import imagenet_subset, imagenet_synsets, imagenet_val_source

__all__ = ["imagenet_subset", "imagenet_synsets", "imagenet_val_source"]

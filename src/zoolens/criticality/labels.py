"""Paper-style layer labels for stage/block networks (criticality paper, Fig. 1).

ResNets (timm, torchvision, the mini-zoo ResNet) get ``[0.0] conv`` for the stem
convolution, ``[S.B] conv1`` for block B of stage S, ``[S.B] downsample`` for a
stage's projection shortcut and ``[Head] fc`` for the classifier. Other networks keep
their module path (``<root>`` for parameters owned by the network itself).
"""

from __future__ import annotations

import re

_BLOCK = re.compile(r"^layer(\d+)\.(\d+)\.(.+)$")
_STEM = re.compile(r"^conv1(?:\.(\d+))?$")  # plain stem, or timm's deep stem conv1.0/conv1.3/conv1.6


def is_resnet_like(names: list[str]) -> bool:
    """True when the module paths follow the ResNet layout (``conv1``, ``layerS.B.*``, ``fc``)."""
    return any(_BLOCK.match(n) for n in names) and any(n == "fc" for n in names)


def paper_labels(names: list[str]) -> list[str]:
    """Labels for the layers ``names`` (module paths, in order)."""
    if not is_resnet_like(names):
        return [n or "<root>" for n in names]
    stem_convs = [n for n in names if _STEM.match(n)]
    out = []
    for n in names:
        m = _BLOCK.match(n)
        if m:
            stage, block, rest = m.groups()
            rest = re.sub(r"^downsample(\.\d+)?$", "downsample", rest)
            out.append(f"[{stage}.{block}] {rest}")
        elif _STEM.match(n):
            out.append("[0.0] conv" if len(stem_convs) == 1 else f"[0.{stem_convs.index(n)}] conv")
        elif n == "fc":
            out.append("[Head] fc")
        else:
            out.append(n or "<root>")
    return out

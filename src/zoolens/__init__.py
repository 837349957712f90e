"""zoolens: look inside a zoo of image classifiers.

Layer criticality (which layers a model uses) and similarity by adversarial-attack
transferability (which models decide alike). Public API: :func:`load_model`,
:func:`load_data`; the analyses are added by their subpackages.
"""

from zoolens import offline as _offline

_offline.apply_default()

from zoolens.data import load_data  # noqa: E402
from zoolens.errors import ZoolensError  # noqa: E402
from zoolens.models import load_model  # noqa: E402


def __getattr__(name: str):
    # Lazy: the analyses import heavier modules only when used.
    if name == "criticality":  # the subpackage is callable: zoolens.criticality(models, ...)
        import zoolens.criticality as module

        return module
    if name == "sat_matrix":
        from zoolens.similarity import sat_matrix

        return sat_matrix
    raise AttributeError(f"module 'zoolens' has no attribute {name!r}")


__version__ = "0.1.0"
__all__ = ["ZoolensError", "criticality", "load_data", "load_model", "sat_matrix", "__version__"]

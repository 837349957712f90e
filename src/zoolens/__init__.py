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

__version__ = "0.1.0"
__all__ = ["ZoolensError", "load_data", "load_model", "__version__"]

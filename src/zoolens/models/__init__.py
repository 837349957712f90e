"""Model references, safe loading, the [0,1]-pixel wrapper, re-initializers and layers.

Model sources (one per reference scheme) register themselves on import: ``timm:``,
``tv:`` and ``py:`` here, ``zoo:`` from :mod:`zoolens.zoo.source` (imported with zoolens).
"""

from zoolens.data.preprocess import PreprocessConfig
# Importing a source module registers it; this order is the order error messages list them in.
from zoolens.models import source_timm  # noqa: F401, I001
from zoolens.models import source_tv  # noqa: F401, I001
from zoolens.models import source_py  # noqa: F401, I001
from zoolens.models.layers import LayerInfo, discover_layers
from zoolens.models.loader import check_ref, load_model
from zoolens.models.refs import ModelRef, parse_ref
from zoolens.models.reinit import Reinitializer
from zoolens.models.source import Architecture, ModelSource, get_source, list_sources, register_source
from zoolens.models.wrapper import WrappedModel

__all__ = ["Architecture", "LayerInfo", "ModelRef", "ModelSource", "PreprocessConfig", "Reinitializer",
           "WrappedModel", "check_ref", "discover_layers", "get_source", "list_sources", "load_model", "parse_ref",
           "register_source"]

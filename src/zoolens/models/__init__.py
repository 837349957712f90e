"""Model references, safe loading, the [0,1]-pixel wrapper, re-initializers and layers."""

from zoolens.models.layers import LayerInfo, discover_layers
from zoolens.models.loader import load_model
from zoolens.models.refs import ModelRef, parse_ref
from zoolens.models.reinit import Reinitializer
from zoolens.models.wrapper import PreprocessConfig, WrappedModel

__all__ = ["LayerInfo", "ModelRef", "PreprocessConfig", "Reinitializer", "WrappedModel", "discover_layers",
           "load_model", "parse_ref"]

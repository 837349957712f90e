"""zoolens: look inside a zoo of image classifiers.

Layer criticality (which layers a model uses) and similarity by adversarial-attack
transferability (which models decide alike). Public API: :func:`load_model`,
:func:`load_data`, :func:`criticality`, :func:`sat_matrix`, :func:`import_criticality`,
:func:`import_sat` (the papers' published data), :func:`analyze` (figures, tables and the
scorecard ``findings.json``) and :func:`build_report`.
"""

from zoolens.data import load_data
from zoolens.errors import ZoolensError
from zoolens.models import load_model
from zoolens.runtime.experiment import declare_experiment as _declare
from zoolens.zoo import source as _zoo_source  # noqa: F401 - registers the zoo: source and every zoo

# Built-in experiments the installed package metadata may not list yet (the others are entry points in
# pyproject.toml); imported only when the registry is first read.
_declare("distill", "zoolens.distill.experiment:EXPERIMENT")


def __getattr__(name: str):
    # Lazy: the analyses import heavier modules only when used.
    if name == "criticality":  # the subpackage is callable: zoolens.criticality(models, ...)
        import zoolens.criticality as module

        return module
    if name == "sat_matrix":
        from zoolens.similarity import sat_matrix

        return sat_matrix
    if name in ("import_criticality", "import_sat"):  # the papers' published data as run directories
        from zoolens.published import criticality_import, sat_import

        return getattr(criticality_import if name == "import_criticality" else sat_import, name)
    if name in ("analyze", "build_report"):
        from zoolens.report import analyze, build_report

        return analyze if name == "analyze" else build_report
    raise AttributeError(f"module 'zoolens' has no attribute {name!r}")


__version__ = "0.1.0"
__all__ = ["ZoolensError", "analyze", "build_report", "criticality", "import_criticality", "import_sat", "load_data",
           "load_model", "sat_matrix", "__version__"]

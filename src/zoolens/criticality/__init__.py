"""Layer criticality (criticality paper, after Zhang et al. 2022): reset one layer at a time.

``zoolens.criticality`` is both this subpackage and the API function: calling the
module calls :func:`zoolens.criticality.run.criticality`.
"""

import sys
import types

from zoolens.criticality.config import CriticalityConfig
from zoolens.criticality.run import criticality
from zoolens.criticality.tables import ROW_COLUMNS, SUMMARY_COLUMNS, summarize

__all__ = ["CriticalityConfig", "ROW_COLUMNS", "SUMMARY_COLUMNS", "criticality", "summarize"]


class _CallableModule(types.ModuleType):
    # The subpackage shares its name with the public function `zoolens.criticality(...)`;
    # making the module callable keeps both `zoolens.criticality(...)` and
    # `zoolens.criticality.run` working whichever is imported first.
    def __call__(self, *args, **kwargs):
        return criticality(*args, **kwargs)


sys.modules[__name__].__class__ = _CallableModule

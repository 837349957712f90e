"""``python -m zoolens.cli ...``: the same as the ``zoolens`` console script (used by the subprocess tests)."""

import sys

from zoolens.cli import main

sys.exit(main())

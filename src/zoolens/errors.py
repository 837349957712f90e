"""User-facing errors.

Every problem caused by the user's input (missing data, a corrupt checkpoint, a bad
reference) raises :class:`ZoolensError`. The CLI prints it as one line on stderr and
exits with code 2; a traceback is shown only with ``--debug``.
"""

from __future__ import annotations


class ZoolensError(Exception):
    """A problem with the user's input, with a one-line description and its fix.

    Parameters
    ----------
    problem:
        What is wrong, naming the offending path/reference/value.
    fix:
        What the user should do about it (optional, appended after ``--``).
    """

    exit_code = 2

    def __init__(self, problem: str, fix: str | None = None):
        self.problem = problem
        self.fix = fix
        super().__init__(problem if not fix else f"{problem} -- {fix}")

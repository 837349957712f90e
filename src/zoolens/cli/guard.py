"""The CLI's outer guard: every way a command can end becomes one line and an exit code.

* bad input (:class:`~zoolens.errors.ZoolensError`, a usage error of typer or click) →
  ``error: …`` on one line, exit 2; the traceback only with ``--debug``;
* the disk or the file system refusing a write (full, read-only, not a directory) →
  one line naming the path, exit 2;
* Ctrl-C → ``interrupted; rerun the same command to resume``, exit 130;
  SIGTERM → the same with exit 143 (128 + the signal number, as a shell reports it).

typer ≥ 0.20 raises its *bundled* copy of click's exceptions, which are not
subclasses of the standalone ``click`` ones, so both families are caught.
"""

from __future__ import annotations

import errno
import signal
import sys
import traceback
import warnings
from typing import Any, Callable

from zoolens.errors import ZoolensError

INTERRUPTED = "interrupted; rerun the same command to resume (finished units are kept)"
# errors of the file system that a user fixes (space, permissions, a path that is a file)
_FS_ERRNOS = {errno.ENOSPC, errno.EDQUOT, errno.EROFS, errno.EACCES, errno.EPERM, errno.ENOTDIR, errno.EEXIST,
              errno.EISDIR, errno.ENAMETOOLONG, errno.EFBIG}


def _families(name: str) -> tuple[type[BaseException], ...]:
    """``name`` from click and from typer's bundled click (whichever exist)."""
    found: list[type[BaseException]] = []
    for module in ("click.exceptions", "typer._click.exceptions", "typer.exceptions"):
        try:
            mod = __import__(module, fromlist=[name])
        except ImportError:
            continue
        cls = getattr(mod, name, None)
        if isinstance(cls, type) and cls not in found:
            found.append(cls)
    return tuple(found)


def one_line(text: str) -> str:
    """Collapse a message to a single line (a user error must never span several)."""
    return " ".join(part.strip() for part in str(text).splitlines() if part.strip())


def _usage_line(exc: Any) -> str:
    ctx = getattr(exc, "ctx", None)
    where = f"{ctx.command_path} --help" if ctx is not None else "zoolens --help"
    message = exc.format_message() if hasattr(exc, "format_message") else str(exc)
    return f"error: {one_line(message)} -- see `{where}`"


def fs_error_line(exc: OSError) -> str:
    """One line for a write refused by the file system, with what to do about it."""
    path = exc.filename or "the output"
    fix = {errno.ENOSPC: "free disk space (or choose another --out), then rerun the same command to resume",
           errno.EDQUOT: "free disk space (or choose another --out), then rerun the same command to resume",
           errno.EROFS: "choose a writable --out directory",
           errno.ENOTDIR: "a path component is a file: choose another --out directory",
           errno.EEXIST: "a file is in the way: choose another --out directory"}.get(
        exc.errno, "check the permissions or choose another --out directory")
    return f"error: cannot write {path}: {exc.strerror or exc} -- {fix}"


class _Termination(KeyboardInterrupt):
    """What SIGTERM raises: a KeyboardInterrupt to every ``except``/``finally``, but not the exact class.

    CPython marks a run "ended by an unhandled Ctrl-C" when a code object it evaluates from C
    ends with exactly ``KeyboardInterrupt``, and then exits by re-raising SIGINT whatever
    ``sys.exit`` said. Once in about twenty runs a SIGTERM'd ``zoolens similarity`` printed
    "terminated" yet died by SIGINT (exit -2, not 143); a subclass cannot set that mark.
    """


class _Terminated:
    """SIGTERM → :class:`_Termination` (so every ``finally`` and temp-file cleanup runs), remembered."""

    def __init__(self) -> None:
        self.hit = False

    def __call__(self, signum, frame) -> None:
        self.hit = True
        raise _Termination


def guarded_main(app: Callable[..., Any], argv: list[str] | None = None) -> int:
    """Run a typer ``app`` on ``argv`` and map every ending to one line and an exit code."""
    args = sys.argv[1:] if argv is None else list(argv)
    debug = "--debug" in args
    formatwarning = warnings.formatwarning
    if not debug:  # a warning is one line too (not python's "file:line: Category: …" + source line)
        warnings.formatwarning = _warning_line
    term = _Terminated()
    previous = None
    try:
        previous = signal.signal(signal.SIGTERM, term)
    except ValueError:  # not the main thread (e.g. called from a worker thread): leave signals alone
        pass
    try:
        rv = app(args=args, prog_name="zoolens", standalone_mode=False)
    except ZoolensError as exc:
        return _report(f"error: {one_line(str(exc))}", debug)
    except _families("NoArgsIsHelpError") as exc:
        exc.show()  # type: ignore[attr-defined]
        return 2
    except _families("UsageError") as exc:
        return _report(_usage_line(exc), debug)
    except _families("Abort"):
        return _interrupted(term)
    except _families("Exit") as exc:
        rv = getattr(exc, "exit_code", 0)
    except _families("ClickException") as exc:
        return _report(f"error: {one_line(exc.format_message())}", debug)  # type: ignore[attr-defined]
    except KeyboardInterrupt:
        return _interrupted(term)
    except OSError as exc:
        if exc.errno not in _FS_ERRNOS:
            raise
        return _report(fs_error_line(exc), debug)
    finally:
        warnings.formatwarning = formatwarning
        if previous is not None:
            signal.signal(signal.SIGTERM, previous)
    if isinstance(rv, int) and rv == 130:  # typer turns KeyboardInterrupt into Exit(130) and returns it
        return _interrupted(term)
    return rv if isinstance(rv, int) and not isinstance(rv, bool) else 0


def _warning_line(message, category, filename, lineno, line=None) -> str:
    return f"warning: {one_line(str(message))}\n"


def _report(line: str, debug: bool) -> int:
    if debug:
        traceback.print_exc()
    print(line, file=sys.stderr)
    return 2


def _interrupted(term: _Terminated) -> int:
    print(("terminated" if term.hit else "interrupted") + INTERRUPTED[len("interrupted"):], file=sys.stderr)
    return 143 if term.hit else 130


__all__ = ["INTERRUPTED", "fs_error_line", "guarded_main", "one_line"]

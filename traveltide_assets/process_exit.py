"""Ending a command's process without tearing down every imported module.

When a command has finished, CPython's finalisation still unloads Dagster, scikit-learn, SciPy and pandas module by
module: about a second of a one-run command (a process that imports sklearn.cluster, dagster, pandas, polars and
duckdb spent 0.8 s between its last output and its end; after a run of the graph, 1.0-1.25 s; measured on the
2-core development machine). By then every output is committed, renamed into place and closed, so that teardown
does no work anyone needs. `exit_now` does what a normal exit does that matters (atexit handlers, among them
logging's flush; stdout and stderr) and then leaves at once.
"""

from __future__ import annotations

import atexit
import contextlib
import os
import sys
import threading
from typing import NoReturn


def exit_now(code: int) -> NoReturn:
    """Exit with `code`, skipping module teardown; a normal exit if other threads still run (they would be
    joined by a normal exit, so it is kept for them)."""
    if threading.active_count() > 1:
        sys.exit(code)
    atexit._run_exitfuncs()  # the handlers a normal exit runs, in the same (reverse) order
    for stream in (sys.stdout, sys.stderr):
        with contextlib.suppress(OSError, ValueError):  # a closed pipe or stream: nothing more to deliver
            stream.flush()
    os._exit(code)

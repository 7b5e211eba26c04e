"""Loading the pipeline's code without the cyclic garbage collector walking it over and over.

Importing Dagster, scikit-learn, SciPy and pandas and building the definitions makes a few million objects that
live as long as the process. While they are made, every few hundred new container objects start a collection,
and the older generations' collections walk everything made so far: a sizeable share of a command's start-up
CPU time. So collection pauses while the code loads; afterwards the objects it made are frozen out of later
collections (`gc.freeze`, meant for such long-lived start-up state), and collection resumes for what the run
itself makes. See README (performance) for the measured effect.
"""

from __future__ import annotations

import gc
import sys
from collections.abc import Iterator
from contextlib import contextmanager


@contextmanager
def loading_code() -> Iterator[None]:
    """Pause cyclic garbage collection while the block loads code; if it imported modules, freeze what exists
    now, and resume. (A block that loads nothing new, as in a process running the graph again, freezes
    nothing: the garbage of the runs before stays collectable.) Nested blocks resume collection when the
    outermost one ends, as it was before it."""
    was_enabled = gc.isenabled()
    modules_before = len(sys.modules)
    gc.disable()
    try:
        yield
    finally:
        if len(sys.modules) > modules_before:
            gc.freeze()
        if was_enabled:
            gc.enable()

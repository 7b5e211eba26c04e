"""One run at a time per warehouse: an exclusive lock on a file beside it, held for the whole run.

`flock` locks belong to the open file and the kernel drops them when the holder dies, even by SIGKILL, so a
crashed run never leaves a lock behind. The holder writes its pid and start time into the file for the error
message of whoever waits, and empties the file when it finishes: a lock file that is not empty when the next
run acquires it means the previous run was killed before it could clean up.

The lock excludes other processes. Inside one process it is re-entrant, so that `traveltide run` can take it
before it starts its in-process Dagster run (and report a busy warehouse in one line) while the run's
Warehouse resource takes it again.
"""

from __future__ import annotations

import datetime as dt
import fcntl
import os
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

POLL_S = 0.2


class RunLockError(RuntimeError):
    """The run lock could not be taken: another run holds it, or its file cannot be opened."""


@dataclass(frozen=True)
class Held:
    """Who held the lock last without finishing cleanly ('' when the previous run released it)."""

    interrupted_holder: str


# Locks this process holds: resolved lock file -> what the next nested taker is told about the previous run.
_held_here: dict[Path, Held] = {}


def _contents(fd: int) -> str:
    os.lseek(fd, 0, os.SEEK_SET)
    return os.read(fd, 4096).decode("utf-8", "replace").strip()


def _acquire(fd: int, timeout_s: float, on_wait: Callable[[str], None] | None) -> bool:
    deadline = time.monotonic() + max(timeout_s, 0.0)
    told = False
    while True:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            return True
        except BlockingIOError:
            if time.monotonic() >= deadline:
                return False
            if on_wait and not told:
                on_wait(_contents(fd) or "holder unknown")
                told = True
            time.sleep(POLL_S)


def _open(path: Path) -> int:
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        return os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
    except OSError as exc:
        raise RunLockError(f"cannot open the run lock {path}: {exc.strerror or exc}") from None


@contextmanager
def exclusive(path: Path, timeout_s: float, what: str, on_wait: Callable[[str], None] | None = None) -> Iterator[Held]:
    """Hold an exclusive lock on `path` (created if missing), waiting up to `timeout_s` seconds for it.

    `what` names the locked thing in the error, e.g. "warehouse /data/warehouse.duckdb"; `on_wait` is told the
    holder once if we have to wait.
    """
    key = path.resolve()
    if key in _held_here:
        # Taken again by this process: whoever comes first is told about an interrupted predecessor, once.
        held, _held_here[key] = _held_here[key], Held(interrupted_holder="")
        yield held
        return
    fd = _open(path)
    try:
        if not _acquire(fd, timeout_s, on_wait):
            holder = _contents(fd) or "holder unknown"
            raise RunLockError(
                f"{what} is in use by another run ({holder}); gave up after waiting {timeout_s:g} s (lock file {path})"
            )
        previous = _contents(fd)
        started = dt.datetime.now(dt.UTC).isoformat(timespec="seconds")
        holder = f"pid {os.getpid()}, started {started}\n".encode()
        try:  # written over the old text before cutting it: if the disk is full, the old text stays
            os.pwrite(fd, holder, 0)
            os.ftruncate(fd, len(holder))
        except OSError as exc:  # e.g. a full disk: say so before the run starts writing
            raise RunLockError(f"cannot write the run lock {path}: {exc.strerror or exc}") from None
        # The outer taker (`traveltide run`) does not recover; the run's Warehouse, taking it next, does.
        _held_here[key] = Held(interrupted_holder=previous)
        try:
            yield Held(interrupted_holder=previous)
        finally:
            del _held_here[key]
            os.ftruncate(fd, 0)  # finished cleanly: the next holder has nothing to recover
    finally:
        os.close(fd)  # closing drops the lock

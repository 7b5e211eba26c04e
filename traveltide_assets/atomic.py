"""Atomic file replacement: readers see the previous file or the complete new one, never a partial one."""

from __future__ import annotations

import os
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path


def staged_sibling(path: Path) -> Path:
    """A new hidden temporary file in the same folder as `path` (same file system, so a rename is atomic)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    os.close(fd)
    return Path(tmp)


def staged_folder(parent: Path) -> Path:
    """A new hidden temporary folder under `parent`, for files that are renamed into place one by one."""
    parent.mkdir(parents=True, exist_ok=True)
    return Path(tempfile.mkdtemp(prefix=".staging-", dir=parent))


def promote(staged: Path, path: Path) -> None:
    """Rename the staged file over `path`, readable by everyone like any other output."""
    os.chmod(staged, 0o644)  # mkstemp creates private files
    path.parent.mkdir(parents=True, exist_ok=True)
    os.replace(staged, path)


@contextmanager
def replacing(path: Path) -> Iterator[Path]:
    """Yield a staged path to write; on success it replaces `path`, on any failure it is removed."""
    staged = staged_sibling(path)
    try:
        yield staged
        promote(staged, path)
    except BaseException:
        staged.unlink(missing_ok=True)
        raise

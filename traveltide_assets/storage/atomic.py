"""Atomic file replacement: readers see the previous file or the complete new one, never a partial one."""

from __future__ import annotations

import ctypes
import errno
import os
import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path


def ensure_folder(folder: Path) -> None:
    """Create `folder` if missing; a file in its place is an error that says so (not just 'File exists')."""
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except FileExistsError:
        raise NotADirectoryError(errno.ENOTDIR, "an output folder is a file, not a folder", str(folder)) from None


def staged_sibling(path: Path) -> Path:
    """A new hidden temporary file in the same folder as `path` (same file system, so a rename is atomic)."""
    ensure_folder(path.parent)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    os.close(fd)
    return Path(tmp)


def staged_folder(parent: Path) -> Path:
    """A new hidden temporary folder under `parent`, for files that are renamed into place one by one."""
    ensure_folder(parent)
    return Path(tempfile.mkdtemp(prefix=".staging-", dir=parent))


def is_staged(name: str) -> bool:
    """Whether a file or folder name is an output in the making: ours (staged_sibling, staged_folder) or DuckDB's.

    DuckDB's COPY writes `tmp_<target>` first and renames it onto our (hidden) staged target.
    """
    ours = name.startswith(".") and (name.endswith(".tmp") or name.startswith(".staging-"))
    duckdbs = name.startswith("tmp_.") and name.endswith(".tmp")
    return ours or duckdbs


def remove_stale_staged(folder: Path, older_than: float) -> list[Path]:
    """Delete staged files and folders under `folder` last modified before `older_than` (epoch seconds).

    A killed process cannot delete what it staged. Readers never see these (hidden names, never renamed into
    place), but they take space; whoever next holds the run lock removes them. Returns what it removed.
    """
    removed: list[Path] = []
    for parent, dirs, files in os.walk(folder):
        for name in [*dirs, *files]:
            path = Path(parent) / name
            if is_staged(name) and path.lstat().st_mtime < older_than:
                if path.is_dir() and not path.is_symlink():
                    shutil.rmtree(path, ignore_errors=True)
                else:
                    path.unlink(missing_ok=True)
                removed.append(path)
        dirs[:] = [d for d in dirs if not is_staged(d)]  # removed, or too young to touch: do not descend
    return removed


def promote(staged: Path, path: Path) -> None:
    """Rename the staged file over `path`, readable by everyone like any other output."""
    os.chmod(staged, 0o644)  # mkstemp creates private files
    path.parent.mkdir(parents=True, exist_ok=True)
    os.replace(staged, path)


_AT_FDCWD = -100  # <fcntl.h>: paths relative to the working directory
_RENAME_EXCHANGE = 2  # <linux/fs.h>


def exchange(a: Path, b: Path) -> None:
    """Swap two folders in one step (Linux renameat2 with RENAME_EXCHANGE): a reader finds the one or the other at
    each path, never a mix and never nothing. Python's os.rename cannot replace a folder that holds files."""
    libc = ctypes.CDLL(None, use_errno=True)
    if libc.renameat2(_AT_FDCWD, os.fsencode(a), _AT_FDCWD, os.fsencode(b), _RENAME_EXCHANGE) != 0:
        code = ctypes.get_errno()
        raise OSError(code, os.strerror(code), str(a), None, str(b))


def replace_folder_entries(folder: Path, entries: dict[str, Path]) -> None:
    """Replace some sub-folders' files of `folder` (name -> the staged file each is to hold) in one step.

    A whole new folder is built beside it under a staged name, the sub-folders left as they are taken over as
    hard links (no copy), and then exchanged with the old one: a month-partitioned Parquet export changes all its
    months at once, as a single-file export does with its rename. A kill while the new folder is built leaves
    the old folder whole and a staged folder that the next run removes (remove_stale_staged); so does a kill
    after the exchange, with the old files in the staged folder."""
    staged = staged_folder(folder.parent)
    try:
        os.chmod(staged, 0o755)  # mkdtemp creates private folders
        if folder.is_dir():
            for kept in folder.iterdir():
                if kept.name in entries or not kept.is_dir():
                    continue
                (staged / kept.name).mkdir()
                for file in kept.iterdir():
                    os.link(file, staged / kept.name / file.name)
        for name, file in entries.items():
            os.chmod(file, 0o644)  # mkstemp creates private files
            (staged / name).mkdir()
            os.replace(file, staged / name / "data.parquet")
    except BaseException:
        shutil.rmtree(staged, ignore_errors=True)  # the old folder was not touched
        raise
    if folder.is_dir():
        exchange(staged, folder)
        shutil.rmtree(staged)  # now the old version
    else:
        os.rename(staged, folder)


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

"""Atomic replacement of output files and folders (storage/atomic.py), on the real file system."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from traveltide_assets.storage.atomic import (
    exchange,
    is_staged,
    remove_stale_staged,
    replace_folder_entries,
    replacing,
    staged_sibling,
)


def _month(folder: Path, name: str, payload: bytes) -> Path:
    (folder / name).mkdir(parents=True)
    path = folder / name / "data.parquet"
    path.write_bytes(payload)
    return path


def _staged_file(parent: Path, payload: bytes) -> Path:
    path = staged_sibling(parent / "incoming")
    path.write_bytes(payload)
    return path


def _contents(folder: Path) -> dict[str, bytes]:
    return {p.relative_to(folder).as_posix(): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


def test_exchange_swaps_two_folders(tmp_path: Path) -> None:
    a, b = tmp_path / "a", tmp_path / "b"
    _month(a, "m=1", b"from a")
    _month(b, "m=1", b"from b")
    exchange(a, b)
    assert _contents(a) == {"m=1/data.parquet": b"from b"}
    assert _contents(b) == {"m=1/data.parquet": b"from a"}


def test_exchange_of_a_missing_folder_says_which(tmp_path: Path) -> None:
    (tmp_path / "a").mkdir()
    with pytest.raises(FileNotFoundError) as raised:
        exchange(tmp_path / "a", tmp_path / "missing")
    assert raised.value.filename == str(tmp_path / "a")
    assert raised.value.filename2 == str(tmp_path / "missing")


def test_replacing_some_months_keeps_the_others_and_leaves_nothing_staged(tmp_path: Path) -> None:
    dataset = tmp_path / "parquet" / "raw_sessions"
    kept = _month(dataset, "session_month=2023-01", b"january")
    _month(dataset, "session_month=2023-02", b"old february")
    replace_folder_entries(
        dataset,
        {
            "session_month=2023-02": _staged_file(tmp_path / "parquet", b"new february"),
            "session_month=2023-03": _staged_file(tmp_path / "parquet", b"march"),
        },
    )
    assert _contents(dataset) == {
        "session_month=2023-01/data.parquet": b"january",
        "session_month=2023-02/data.parquet": b"new february",
        "session_month=2023-03/data.parquet": b"march",
    }
    # The month left as it was is the same file (a hard link), not a copy.
    assert (dataset / "session_month=2023-01" / "data.parquet").stat().st_ino == kept.stat().st_ino
    assert [p.name for p in (tmp_path / "parquet").iterdir()] == ["raw_sessions"]
    assert oct((dataset / "session_month=2023-03" / "data.parquet").stat().st_mode & 0o777) == oct(0o644)
    assert oct(dataset.stat().st_mode & 0o777) == oct(0o755)


def test_a_new_dataset_folder_is_created_whole(tmp_path: Path) -> None:
    dataset = tmp_path / "parquet" / "raw_hotels"
    replace_folder_entries(dataset, {"session_month=2023-01": _staged_file(tmp_path / "parquet", b"rows")})
    assert _contents(dataset) == {"session_month=2023-01/data.parquet": b"rows"}


def test_a_reader_of_the_old_version_keeps_reading_it(tmp_path: Path) -> None:
    dataset = tmp_path / "parquet" / "raw_flights"
    old = _month(dataset, "session_month=2023-01", b"old rows")
    with old.open("rb") as reader:
        replace_folder_entries(dataset, {"session_month=2023-01": _staged_file(tmp_path / "parquet", b"new rows")})
        assert reader.read() == b"old rows"
    assert (dataset / "session_month=2023-01" / "data.parquet").read_bytes() == b"new rows"


def test_a_failed_replacement_leaves_the_old_folder_and_nothing_staged(tmp_path: Path) -> None:
    dataset = tmp_path / "parquet" / "raw_users"
    _month(dataset, "session_month=2023-01", b"old")
    _month(dataset, "session_month=2023-02", b"kept")
    missing = tmp_path / "parquet" / ".gone.tmp"  # a staged file that is not there: the build fails midway
    with pytest.raises(FileNotFoundError):
        replace_folder_entries(dataset, {"session_month=2023-01": missing})
    assert _contents(dataset) == {
        "session_month=2023-01/data.parquet": b"old",
        "session_month=2023-02/data.parquet": b"kept",
    }
    assert [p.name for p in (tmp_path / "parquet").iterdir()] == ["raw_users"]


def test_what_a_killed_run_staged_is_removed_by_the_next(tmp_path: Path) -> None:
    parquet = tmp_path / "parquet"
    _month(parquet / "raw_users", "session_month=2023-01", b"whole")
    leftover = _staged_file(parquet, b"half")
    assert is_staged(leftover.name)
    assert remove_stale_staged(parquet, older_than=leftover.stat().st_mtime + 1) == [leftover]
    assert [p.name for p in parquet.iterdir()] == ["raw_users"]


def test_replacing_a_file_on_failure_keeps_the_old_one(tmp_path: Path) -> None:
    path = tmp_path / "report.html"
    path.write_text("old")
    with pytest.raises(RuntimeError), replacing(path) as staged:
        staged.write_text("half")
        raise RuntimeError("the writer failed")
    assert path.read_text() == "old"
    assert os.listdir(tmp_path) == ["report.html"]

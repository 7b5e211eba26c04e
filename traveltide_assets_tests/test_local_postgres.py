"""Real start/stop of the throwaway PostgreSQL server (needs the PostgreSQL server binaries)."""

from __future__ import annotations

import os
import socket
import tempfile
from pathlib import Path

import psycopg
import pytest

from tools import local_postgres_binaries
from tools.local_postgres import LocalPostgres


def _accepts_connections(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=1):
            return True
    except OSError:
        return False


def test_start_query_and_stop() -> None:
    server = LocalPostgres()
    with server:
        assert server.is_running
        assert server.url == f"postgresql://postgres@127.0.0.1:{server.port}/traveltide"
        data_dir = server.data_dir
        assert (data_dir / "PG_VERSION").is_file()

        with psycopg.connect(server.url, connect_timeout=10) as conn:
            assert conn.execute("select 1").fetchone() == (1,)
            row = conn.execute(
                "select current_database(), host(inet_server_addr()), inet_server_port(), "
                "current_setting('listen_addresses'), current_setting('fsync')"
            ).fetchone()
        assert row == ("traveltide", "127.0.0.1", server.port, "127.0.0.1", "off")
        assert _accepts_connections(server.port)

    assert not server.is_running
    assert not _accepts_connections(server.port)
    assert not data_dir.exists(), "a temp dir created by LocalPostgres is removed on stop"
    server.stop()  # idempotent


def test_settings_and_reusable_base_dir() -> None:
    # pytest's tmp_path lives under a 0700 dir the 'postgres' user cannot enter when we are root,
    # so use a traversable directory under /tmp that we clean up ourselves.
    with tempfile.TemporaryDirectory(prefix="pgt") as tmp:
        Path(tmp).chmod(0o711)
        base = Path(tmp) / "cluster"
        server = LocalPostgres(base_dir=base, dbname="other", settings={"work_mem": "64MB"})
        with server, psycopg.connect(server.url, connect_timeout=10) as conn:
            assert conn.execute("show work_mem").fetchone() == ("64MB",)
            assert conn.execute("select current_database()").fetchone() == ("other",)
            conn.execute("create table kept as select 42 as answer")
        assert not _accepts_connections(server.port)
        assert base.is_dir(), "a caller-provided base_dir is left in place"

        # Starting again on the same base_dir reuses the cluster, with the new settings.
        again = LocalPostgres(base_dir=base, dbname="other", settings={"work_mem": "8MB"})
        with again, psycopg.connect(again.url, connect_timeout=10) as conn:
            assert conn.execute("select answer from kept").fetchone() == (42,)
            assert conn.execute("show work_mem").fetchone() == ("8MB",)


@pytest.mark.skipif(os.geteuid() != 0, reason="only root needs the postgres user to reach base_dir")
def test_unreachable_base_dir_is_reported_when_root(tmp_path: Path) -> None:
    with pytest.raises(RuntimeError, match="cannot write to"):
        LocalPostgres(base_dir=tmp_path / "cluster").start()


def test_missing_binaries_gives_install_hint(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setattr(local_postgres_binaries.shutil, "which", lambda name: None)
    monkeypatch.setattr(local_postgres_binaries, "_LIB_POSTGRESQL", tmp_path / "nowhere")
    with pytest.raises(RuntimeError, match="apt-get install postgresql"):
        LocalPostgres().start()

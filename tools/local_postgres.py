"""A throwaway PostgreSQL server for tests, benchmarks and local development.

``LocalPostgres`` runs ``initdb`` into a fresh directory, starts a server that listens on
127.0.0.1 only (plus a Unix socket in a short private directory), creates one database and
hands out a ``postgresql://postgres@127.0.0.1:PORT/DBNAME`` URL. Authentication is ``trust``
on loopback, so the URL carries no password. Nothing here is meant for data you want to keep.

PostgreSQL refuses to run as root. When this process is root (as in CI containers) the server
binaries are run as the unprivileged ``postgres`` system user through ``runuser -u postgres --``
and the server's directory is chowned to that user; otherwise they are run directly
(local_postgres_binaries.py). The cluster's folders, configuration and pg_ctl calls are in
local_postgres_cluster.py.

Developers can run a server by hand::

    uv run python -m tools.local_postgres --port 5433

which prints the URL and keeps the server up until Ctrl-C.
"""

from __future__ import annotations

import argparse
import atexit
import contextlib
import shutil
import signal
import time
from collections.abc import Mapping, Sequence
from pathlib import Path
from types import TracebackType
from typing import Self

import psycopg
from psycopg import sql

from tools.local_postgres_binaries import PG_USER, as_root, find_postgres_bin_dir
from tools.local_postgres_cluster import (
    free_port,
    hand_to_postgres_user,
    init_cluster,
    log_tail,
    lost_port_race,
    pg_ctl_start,
    pg_ctl_stop,
    prepare_dirs,
)

__all__ = ["THROWAWAY_SETTINGS", "LocalPostgres", "find_postgres_bin_dir", "main"]

# Server settings applied by default. The server is disposable: if the machine crashes, the data
# is thrown away anyway, so durability buys nothing and costs a lot during bulk loads
# (``COPY`` of millions of rows, ``CREATE INDEX``, ``VACUUM ANALYZE``):
#   fsync / synchronous_commit / full_page_writes off - no waiting on disk flushes or writing
#       whole pages to the WAL after each checkpoint; a crash may corrupt the cluster, which
#       for a throwaway cluster is acceptable.
#   max_wal_size=4GB - avoids a checkpoint storm every 1 GB of WAL during big loads.
#   shared_buffers=256MB - the stock 128MB is small for multi-GB test tables; 256MB is still
#       modest enough for a laptop or CI runner.
# Pass ``bulk_load_tuning=False`` to get PostgreSQL's stock (durable) configuration.
THROWAWAY_SETTINGS: Mapping[str, str] = {
    "fsync": "off",
    "synchronous_commit": "off",
    "full_page_writes": "off",
    "max_wal_size": "4GB",
    "shared_buffers": "256MB",
}


class LocalPostgres:
    """A disposable PostgreSQL server on 127.0.0.1; use as a context manager or ``start()``/``stop()``.

    Args:
        base_dir: directory for the cluster (``<base_dir>/data``) and its log. If ``None`` a temp
            directory is created under /tmp and removed again by ``stop()``; a given directory is
            left in place, and a cluster already in it is reused (keeping its data). When running
            as root it must be reachable by the ``postgres`` user.
        dbname: database created after start-up (``postgres`` always exists too).
        port: TCP port on 127.0.0.1; a free one is picked if ``None``.
        settings: extra server settings (``name -> value``), applied over the defaults.
        bulk_load_tuning: start from ``THROWAWAY_SETTINGS`` (durability off, bigger buffers).
        start_timeout: seconds to wait for the server to accept connections.
    """

    def __init__(
        self,
        base_dir: Path | None = None,
        dbname: str = "traveltide",
        port: int | None = None,
        settings: Mapping[str, str] | None = None,
        *,
        bulk_load_tuning: bool = True,
        start_timeout: int = 60,
    ) -> None:
        self._requested_base_dir = Path(base_dir).absolute() if base_dir is not None else None
        self.dbname = dbname
        self._requested_port = port
        self.settings: dict[str, str] = {
            **(THROWAWAY_SETTINGS if bulk_load_tuning else {}),
            **(settings or {}),
        }
        self.start_timeout = start_timeout
        self._port: int | None = None
        self._base_dir: Path | None = None
        self._socket_dir: Path | None = None
        self._owned_dirs: list[Path] = []
        self._bin_dir: Path | None = None
        self._running = False

    # -- public API --------------------------------------------------------------------------

    @property
    def port(self) -> int:
        if self._port is None:
            raise RuntimeError("LocalPostgres is not started")
        return self._port

    @property
    def data_dir(self) -> Path:
        if self._base_dir is None:
            raise RuntimeError("LocalPostgres is not started")
        return self._base_dir / "data"

    @property
    def log_file(self) -> Path:
        if self._base_dir is None:
            raise RuntimeError("LocalPostgres is not started")
        return self._base_dir / "postgres.log"

    @property
    def socket_dir(self) -> Path:
        if self._socket_dir is None:
            raise RuntimeError("LocalPostgres is not started")
        return self._socket_dir

    @property
    def url(self) -> str:
        """``postgresql://postgres@127.0.0.1:PORT/DBNAME`` (trust auth, no password)."""
        return self.url_for(self.dbname)

    def url_for(self, dbname: str) -> str:
        return f"postgresql://{PG_USER}@127.0.0.1:{self.port}/{dbname}"

    @property
    def is_running(self) -> bool:
        return self._running

    def start(self) -> Self:
        """initdb, start the server, create ``dbname``. Returns ``self``."""
        if self._running:
            return self
        self._bin_dir = find_postgres_bin_dir()
        self._owned_dirs = []
        self._base_dir, self._socket_dir = prepare_dirs(self._requested_base_dir, self._owned_dirs)
        if as_root():
            hand_to_postgres_user(self._base_dir, self._socket_dir)
        try:
            init_cluster(self._bin_dir, self._base_dir, self.data_dir, self.socket_dir, self.settings)
            self._start_server()
            atexit.register(self.stop)
            self.create_database(self.dbname)
        except BaseException:
            self.stop()
            raise
        return self

    def stop(self) -> None:
        """Stop the server (``pg_ctl stop -m fast``) and remove directories it created. Idempotent."""
        with contextlib.suppress(Exception):
            atexit.unregister(self.stop)
        if self._running and self._bin_dir is not None:
            self._running = False
            pg_ctl_stop(self._bin_dir, self._base_dir, self.data_dir)
        self._running = False
        for path in reversed(self._owned_dirs):
            shutil.rmtree(path, ignore_errors=True)
        self._owned_dirs.clear()

    def create_database(self, dbname: str) -> str:
        """Create `dbname` unless it exists (tests that change their source take a private one); its URL."""
        if dbname != PG_USER:
            with psycopg.connect(self.url_for(PG_USER), autocommit=True, connect_timeout=10) as conn:
                if not conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [dbname]).fetchone():
                    conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(dbname)))
        return self.url_for(dbname)

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    def __repr__(self) -> str:
        state = f"url={self.url!r}" if self._running else "stopped"
        return f"LocalPostgres({state})"

    # -- internals ---------------------------------------------------------------------------

    def _start_server(self) -> None:
        """Start on the requested port, or on a free one (five tries, in case another process takes it first)."""
        assert self._bin_dir is not None and self._base_dir is not None
        attempts = 1 if self._requested_port is not None else 5
        for attempt in range(attempts):
            self._port = self._requested_port if self._requested_port is not None else free_port()
            proc = pg_ctl_start(
                self._bin_dir, self._base_dir, self.data_dir, self.log_file, self._port, self.start_timeout
            )
            if proc.returncode == 0:
                self._running = True
                return
            log = log_tail(self.log_file)
            if lost_port_race(log) and attempt + 1 < attempts:
                continue  # someone grabbed the port we picked: try another one
            # pg_ctl may have given up waiting while the postmaster still runs: stop it.
            pg_ctl_stop(self._bin_dir, self._base_dir, self.data_dir, immediate=True)
            raise RuntimeError(
                f"PostgreSQL failed to start on 127.0.0.1:{self._port} (pg_ctl exit {proc.returncode}):\n"
                f"{proc.stdout}{proc.stderr}\n--- {self.log_file} ---\n{log}"
            )


def main(argv: Sequence[str] | None = None) -> None:
    """Start a throwaway server, print its URL and wait for Ctrl-C."""
    parser = argparse.ArgumentParser(
        prog="python -m tools.local_postgres",
        description="Run a throwaway PostgreSQL server on 127.0.0.1 until Ctrl-C.",
    )
    parser.add_argument("--port", type=int, default=None, help="TCP port (default: a free one)")
    parser.add_argument("--dbname", default="traveltide", help="database to create (default: traveltide)")
    parser.add_argument(
        "--base-dir", type=Path, default=None, help="keep the cluster here (default: temp dir, deleted)"
    )
    parser.add_argument(
        "--durable", action="store_true", help="use stock settings instead of fsync=off bulk-load tuning"
    )
    args = parser.parse_args(argv)

    def _terminate(signum: int, frame: object) -> None:
        raise KeyboardInterrupt

    # Ctrl-C and `kill` both stop the server cleanly (SIGINT is explicitly re-enabled because a
    # process started in the background by a non-interactive shell inherits it as ignored).
    signal.signal(signal.SIGINT, signal.default_int_handler)
    signal.signal(signal.SIGTERM, _terminate)
    signal.signal(signal.SIGHUP, _terminate)
    server = LocalPostgres(
        base_dir=args.base_dir, dbname=args.dbname, port=args.port, bulk_load_tuning=not args.durable
    )
    with server:
        print(server.url, flush=True)
        print(f"data dir: {server.data_dir}  log: {server.log_file}  (Ctrl-C to stop)", flush=True)
        try:
            while True:
                time.sleep(3600)
        except KeyboardInterrupt:
            print("stopping", flush=True)


if __name__ == "__main__":
    main()

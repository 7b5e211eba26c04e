"""A throwaway PostgreSQL server for tests, benchmarks and local development.

``LocalPostgres`` runs ``initdb`` into a fresh directory, starts a server that listens on
127.0.0.1 only (plus a Unix socket in a short private directory), creates one database and
hands out a ``postgresql://postgres@127.0.0.1:PORT/DBNAME`` URL. Authentication is ``trust``
on loopback, so the URL carries no password. Nothing here is meant for data you want to keep.

PostgreSQL refuses to run as root. When this process is root (as in CI containers) the server
binaries are run as the unprivileged ``postgres`` system user through ``runuser -u postgres --``
and the server's directory is chowned to that user; otherwise they are run directly.

Developers can run a server by hand::

    uv run python -m tools.local_postgres --port 5433

which prints the URL and keeps the server up until Ctrl-C.
"""

from __future__ import annotations

import argparse
import atexit
import contextlib
import os
import pwd
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from collections.abc import Mapping, Sequence
from pathlib import Path
from types import TracebackType
from typing import Self

import psycopg
from psycopg import sql

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

_PG_USER = "postgres"  # both the OS user (when root) and the database superuser
_LIB_POSTGRESQL = Path("/usr/lib/postgresql")
_INSTALL_HINT = (
    "PostgreSQL server binaries (initdb, pg_ctl, postgres) are missing. Install them, e.g. "
    "`apt-get install postgresql` on Debian/Ubuntu (or `brew install postgresql` on macOS), "
    "and make sure `pg_ctl` is on PATH or under /usr/lib/postgresql/<version>/bin."
)
# Unix socket paths are limited to ~107 bytes; the socket file is ".s.PGSQL.<port>" inside
# the socket directory, so keep the directory path well below that.
_MAX_SOCKET_DIR_LEN = 80


def find_postgres_bin_dir() -> Path:
    """Directory holding ``initdb`` and ``pg_ctl``.

    ``pg_ctl`` on PATH wins (symlinks are resolved, so a ``/usr/local/bin/pg_ctl`` link to
    ``/usr/lib/postgresql/15/bin/pg_ctl`` yields the latter); otherwise the highest-versioned
    ``/usr/lib/postgresql/<version>/bin`` is used. Raises ``RuntimeError`` when neither exists.
    """
    candidates: list[Path] = []
    on_path = shutil.which("pg_ctl")
    if on_path is not None:
        candidates += [Path(on_path).resolve().parent, Path(on_path).parent]
    if _LIB_POSTGRESQL.is_dir():
        versions = [p for p in _LIB_POSTGRESQL.iterdir() if (p / "bin").is_dir()]
        versions.sort(key=_version_key, reverse=True)
        candidates += [p / "bin" for p in versions]
    for bin_dir in candidates:
        if all(os.access(bin_dir / name, os.X_OK) for name in ("pg_ctl", "initdb", "postgres")):
            return bin_dir
    raise RuntimeError(_INSTALL_HINT)


def _version_key(path: Path) -> tuple[int, ...]:
    parts = path.name.split(".")
    return tuple(int(p) for p in parts) if all(p.isdigit() for p in parts) else (-1,)


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


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
        return f"postgresql://{_PG_USER}@127.0.0.1:{self.port}/{dbname}"

    @property
    def is_running(self) -> bool:
        return self._running

    def start(self) -> Self:
        """initdb, start the server, create ``dbname``. Returns ``self``."""
        if self._running:
            return self
        self._bin_dir = find_postgres_bin_dir()
        self._prepare_dirs()
        try:
            self._init_cluster()
            self._start_server()
            atexit.register(self.stop)
            self._create_database()
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
            self._run_pg(
                [str(self._bin_dir / "pg_ctl"), "stop", "-D", str(self.data_dir), "-m", "fast", "-w"],
                check=False,
            )
        self._running = False
        for path in reversed(self._owned_dirs):
            shutil.rmtree(path, ignore_errors=True)
        self._owned_dirs.clear()

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

    @staticmethod
    def _as_root() -> bool:
        return os.geteuid() == 0

    def _pg_user_ids(self) -> tuple[int, int]:
        try:
            entry = pwd.getpwnam(_PG_USER)
        except KeyError:
            raise RuntimeError(
                "Running as root, but PostgreSQL refuses to run as root and there is no "
                f"'{_PG_USER}' system user to run it as. Install the postgresql package (it creates "
                f"the user) or `useradd --system {_PG_USER}`, or run as a non-root user."
            ) from None
        return entry.pw_uid, entry.pw_gid

    def _prepare_dirs(self) -> None:
        self._owned_dirs = []
        if self._requested_base_dir is None:
            base = Path(tempfile.mkdtemp(prefix="pg", dir="/tmp" if Path("/tmp").is_dir() else None))
            self._owned_dirs.append(base)
        else:
            base = self._requested_base_dir
            base.mkdir(parents=True, exist_ok=True)
        self._base_dir = base
        if len(str(base)) <= _MAX_SOCKET_DIR_LEN:
            self._socket_dir = base
        else:
            self._socket_dir = Path(tempfile.mkdtemp(prefix="pg", dir="/tmp"))
            self._owned_dirs.append(self._socket_dir)
        if self._as_root():
            uid, gid = self._pg_user_ids()
            for path in {base, self._socket_dir}:
                os.chown(path, uid, gid)
            probe = subprocess.run(
                ["runuser", "-u", _PG_USER, "--", "test", "-w", str(base), "-a", "-x", str(base)],
                check=False,
            )
            if probe.returncode != 0:
                raise RuntimeError(
                    f"The '{_PG_USER}' user cannot write to {base} (a parent directory is probably not "
                    "traversable, e.g. pytest's 0700 tmp dirs). Use base_dir=None or a directory "
                    "under /tmp."
                )

    def _run_pg(self, argv: Sequence[str], *, check: bool = True) -> subprocess.CompletedProcess[str]:
        """Run a server binary, as the ``postgres`` user when we are root."""
        cmd = ["runuser", "-u", _PG_USER, "--", *argv] if self._as_root() else list(argv)
        proc = subprocess.run(
            cmd,
            cwd=self._base_dir,  # the postgres user may not be able to enter our cwd
            capture_output=True,
            text=True,
            check=False,
        )
        if check and proc.returncode != 0:
            raise RuntimeError(f"{' '.join(argv)} failed with exit code {proc.returncode}:\n{proc.stdout}{proc.stderr}")
        return proc

    def _init_cluster(self) -> None:
        """initdb unless ``data_dir`` already holds a cluster, then (re)write our settings file."""
        assert self._bin_dir is not None
        conf_name = "local_postgres.conf"
        if not (self.data_dir / "PG_VERSION").exists():
            self._run_pg(
                [
                    str(self._bin_dir / "initdb"),
                    "-D",
                    str(self.data_dir),
                    "-A",
                    "trust",
                    "-U",
                    _PG_USER,
                    "-E",
                    "UTF8",
                    "--locale=C",
                    "--no-sync",  # throwaway cluster: do not fsync the fresh files
                ]
            )
            with (self.data_dir / "postgresql.conf").open("a", encoding="utf-8") as conf:
                conf.write(f"\ninclude_if_exists = '{conf_name}'  # written by tools.local_postgres\n")
        lines = [
            "# Written by tools.local_postgres on every start; edits are overwritten.",
            "listen_addresses = '127.0.0.1'",
            f"unix_socket_directories = '{_quote_conf(str(self.socket_dir))}'",
            *(f"{name} = '{_quote_conf(value)}'" for name, value in self.settings.items()),
        ]
        conf_path = self.data_dir / conf_name
        conf_path.write_text("\n".join(lines) + "\n", encoding="utf-8")
        if self._as_root():
            os.chown(conf_path, *self._pg_user_ids())

    def _start_server(self) -> None:
        assert self._bin_dir is not None
        attempts = 1 if self._requested_port is not None else 5
        for attempt in range(attempts):
            self._port = self._requested_port if self._requested_port is not None else _free_port()
            self.log_file.unlink(missing_ok=True)  # so the log below is this attempt's only
            proc = self._run_pg(
                [
                    str(self._bin_dir / "pg_ctl"),
                    "start",
                    "-D",
                    str(self.data_dir),
                    "-l",
                    str(self.log_file),
                    "-o",
                    f"-p {self._port}",
                    "-w",
                    "-t",
                    str(self.start_timeout),
                ],
                check=False,
            )
            if proc.returncode == 0:
                self._running = True
                return
            log = self._log_tail()
            lost_port_race = "could not bind" in log or "already in use" in log
            if lost_port_race and attempt + 1 < attempts:
                continue  # someone grabbed the port we picked: try another one
            # pg_ctl may have given up waiting while the postmaster still runs: stop it.
            self._run_pg(
                [str(self._bin_dir / "pg_ctl"), "stop", "-D", str(self.data_dir), "-m", "immediate"],
                check=False,
            )
            raise RuntimeError(
                f"PostgreSQL failed to start on 127.0.0.1:{self._port} (pg_ctl exit {proc.returncode}):\n"
                f"{proc.stdout}{proc.stderr}\n--- {self.log_file} ---\n{log}"
            )

    def _log_tail(self, lines: int = 30) -> str:
        try:
            return "\n".join(self.log_file.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return "(no log)"

    def _create_database(self) -> None:
        self.create_database(self.dbname)

    def create_database(self, dbname: str) -> str:
        """Create `dbname` unless it exists (tests that change their source take a private one); its URL."""
        if dbname != _PG_USER:
            with psycopg.connect(self.url_for(_PG_USER), autocommit=True, connect_timeout=10) as conn:
                if not conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [dbname]).fetchone():
                    conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(dbname)))
        return self.url_for(dbname)


def _quote_conf(value: str) -> str:
    return value.replace("\\", "\\\\").replace("'", "''")


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

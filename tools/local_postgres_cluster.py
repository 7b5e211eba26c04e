"""The folders, configuration and server process of a throwaway PostgreSQL cluster (for LocalPostgres,
local_postgres.py): the base and socket folders, initdb and the settings file, pg_ctl start and stop."""

from __future__ import annotations

import os
import socket
import subprocess
import tempfile
from collections.abc import Mapping
from pathlib import Path

from tools.local_postgres_binaries import PG_USER, as_root, pg_user_ids, run_pg

SETTINGS_FILE = "local_postgres.conf"  # included by postgresql.conf, rewritten on every start
# Unix socket paths are limited to ~107 bytes; the socket file is ".s.PGSQL.<port>" inside
# the socket directory, so keep the directory path well below that.
_MAX_SOCKET_DIR_LEN = 80


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def prepare_dirs(requested: Path | None, owned: list[Path]) -> tuple[Path, Path]:
    """(base folder, socket folder): `requested`, or a new temp folder; the socket folder is the base unless its
    path is too long for a socket. Folders created here are appended to `owned` (removed on stop)."""
    if requested is None:
        base = Path(tempfile.mkdtemp(prefix="pg", dir="/tmp" if Path("/tmp").is_dir() else None))
        owned.append(base)
    else:
        base = requested
        base.mkdir(parents=True, exist_ok=True)
    if len(str(base)) <= _MAX_SOCKET_DIR_LEN:
        socket_dir = base
    else:
        socket_dir = Path(tempfile.mkdtemp(prefix="pg", dir="/tmp"))
        owned.append(socket_dir)
    return base, socket_dir


def hand_to_postgres_user(base: Path, socket_dir: Path) -> None:
    """When root: the folders belong to the ``postgres`` user, who must be able to reach the base."""
    uid, gid = pg_user_ids()
    for path in {base, socket_dir}:
        os.chown(path, uid, gid)
    probe = subprocess.run(
        ["runuser", "-u", PG_USER, "--", "test", "-w", str(base), "-a", "-x", str(base)], check=False
    )
    if probe.returncode != 0:
        raise RuntimeError(
            f"The '{PG_USER}' user cannot write to {base} (a parent directory is probably not "
            "traversable, e.g. pytest's 0700 tmp dirs). Use base_dir=None or a directory "
            "under /tmp."
        )


def init_cluster(bin_dir: Path, base: Path, data_dir: Path, socket_dir: Path, settings: Mapping[str, str]) -> None:
    """initdb unless `data_dir` already holds a cluster, then (re)write our settings file."""
    if not (data_dir / "PG_VERSION").exists():
        run_pg(
            [
                str(bin_dir / "initdb"),
                "-D",
                str(data_dir),
                "-A",
                "trust",
                "-U",
                PG_USER,
                "-E",
                "UTF8",
                "--locale=C",
                "--no-sync",  # throwaway cluster: do not fsync the fresh files
            ],
            base,
        )
        with (data_dir / "postgresql.conf").open("a", encoding="utf-8") as conf:
            conf.write(f"\ninclude_if_exists = '{SETTINGS_FILE}'  # written by tools.local_postgres\n")
    lines = [
        "# Written by tools.local_postgres on every start; edits are overwritten.",
        "listen_addresses = '127.0.0.1'",
        f"unix_socket_directories = '{_quote_conf(str(socket_dir))}'",
        *(f"{name} = '{_quote_conf(value)}'" for name, value in settings.items()),
    ]
    conf_path = data_dir / SETTINGS_FILE
    conf_path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    if as_root():
        os.chown(conf_path, *pg_user_ids())


def _quote_conf(value: str) -> str:
    return value.replace("\\", "\\\\").replace("'", "''")


def pg_ctl_start(
    bin_dir: Path, base: Path, data_dir: Path, log_file: Path, port: int, timeout: int
) -> subprocess.CompletedProcess[str]:
    """One attempt to start the server on `port`, waiting up to `timeout` s; the log holds only this attempt."""
    log_file.unlink(missing_ok=True)
    return run_pg(
        [
            str(bin_dir / "pg_ctl"),
            "start",
            "-D",
            str(data_dir),
            "-l",
            str(log_file),
            "-o",
            f"-p {port}",
            "-w",
            "-t",
            str(timeout),
        ],
        base,
        check=False,
    )


def pg_ctl_stop(bin_dir: Path, base: Path, data_dir: Path, *, immediate: bool = False) -> None:
    """Stop the server: fast (and wait), or immediate (after pg_ctl gave up waiting for a start)."""
    mode = ["-m", "immediate"] if immediate else ["-m", "fast", "-w"]
    run_pg([str(bin_dir / "pg_ctl"), "stop", "-D", str(data_dir), *mode], base, check=False)


def lost_port_race(log: str) -> bool:
    """Whether a failed start's log says someone else took the port."""
    return "could not bind" in log or "already in use" in log


def log_tail(log_file: Path, lines: int = 30) -> str:
    try:
        return "\n".join(log_file.read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return "(no log)"

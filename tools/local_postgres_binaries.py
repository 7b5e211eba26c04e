"""The PostgreSQL server binaries of a throwaway cluster: where they are, and how they run.

PostgreSQL refuses to run as root. When this process is root (as in CI containers) the server binaries are run as
the unprivileged ``postgres`` system user through ``runuser -u postgres --``; otherwise they are run directly.
"""

from __future__ import annotations

import os
import pwd
import shutil
import subprocess
from collections.abc import Sequence
from pathlib import Path

PG_USER = "postgres"  # both the OS user (when root) and the database superuser
_LIB_POSTGRESQL = Path("/usr/lib/postgresql")
_INSTALL_HINT = (
    "PostgreSQL server binaries (initdb, pg_ctl, postgres) are missing. Install them, e.g. "
    "`apt-get install postgresql` on Debian/Ubuntu (or `brew install postgresql` on macOS), "
    "and make sure `pg_ctl` is on PATH or under /usr/lib/postgresql/<version>/bin."
)


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


def as_root() -> bool:
    return os.geteuid() == 0


def pg_user_ids() -> tuple[int, int]:
    """(uid, gid) of the ``postgres`` system user, which runs the server when we are root."""
    try:
        entry = pwd.getpwnam(PG_USER)
    except KeyError:
        raise RuntimeError(
            "Running as root, but PostgreSQL refuses to run as root and there is no "
            f"'{PG_USER}' system user to run it as. Install the postgresql package (it creates "
            f"the user) or `useradd --system {PG_USER}`, or run as a non-root user."
        ) from None
    return entry.pw_uid, entry.pw_gid


def run_pg(argv: Sequence[str], cwd: Path | None, *, check: bool = True) -> subprocess.CompletedProcess[str]:
    """Run a server binary, as the ``postgres`` user when we are root, in `cwd` (the postgres user may not be
    able to enter ours)."""
    cmd = ["runuser", "-u", PG_USER, "--", *argv] if as_root() else list(argv)
    proc = subprocess.run(cmd, cwd=cwd, capture_output=True, text=True, check=False)
    if check and proc.returncode != 0:
        raise RuntimeError(f"{' '.join(argv)} failed with exit code {proc.returncode}:\n{proc.stdout}{proc.stderr}")
    return proc

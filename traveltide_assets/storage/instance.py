"""The Dagster instance of a data folder: where `traveltide run` records its runs and `traveltide ui` shows them.

By default it is `<data folder>/dagster_home` (paths.data_dir(), moved by TRAVELTIDE_DATA_DIR), so that the runs,
the materialisations and the check results sit beside the outputs they describe; DAGSTER_HOME moves it, as for
every Dagster command. A folder without a `dagster.yaml` gets the project's instance configuration
(deploy/dagster.yaml, packaged as `_deploy` in a wheel).
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

from traveltide_assets.project_files import project_file
from traveltide_assets.storage.atomic import ensure_folder, replacing
from traveltide_assets.storage.paths import data_dir

DAGSTER_HOME_ENV = "DAGSTER_HOME"
INSTANCE_FOLDER = "dagster_home"
CONFIG_FILE = "dagster.yaml"


def dagster_home() -> Path:
    """$DAGSTER_HOME if set, else `<data folder>/dagster_home`; absolute, as Dagster requires."""
    configured = os.environ.get(DAGSTER_HOME_ENV, "").strip()
    return (Path(configured).expanduser() if configured else data_dir() / INSTANCE_FOLDER).resolve()


def default_config() -> Path:
    """The project's instance configuration (deploy/dagster.yaml)."""
    return project_file(f"deploy/{CONFIG_FILE}")


def ensure_dagster_home() -> Path:
    """The instance folder, created with the project's `dagster.yaml` where it has none (an existing one, e.g.
    deploy/dagster.postgres.yaml copied there, is kept). Returns the folder."""
    home = dagster_home()
    ensure_folder(home)
    config = home / CONFIG_FILE
    if not config.exists():
        # Written aside and renamed: a run and the UI starting together never read half a file.
        with replacing(config) as staged:
            shutil.copyfile(default_config(), staged)
    return home

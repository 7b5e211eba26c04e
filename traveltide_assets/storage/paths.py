"""Where things live by default. Every location can be moved by an environment variable."""

from __future__ import annotations

import os
from pathlib import Path

DATA_DIR_ENV = "TRAVELTIDE_DATA_DIR"


def data_dir() -> Path:
    """Root of the embedded source, the warehouse and the Parquet outputs (default ./data)."""
    return Path(os.environ.get(DATA_DIR_ENV, "data")).expanduser()


def default_source_dir() -> Path:
    return data_dir() / "source"


SOURCE_URL_ENV = "TRAVELTIDE_SOURCE_URL"
CAMPAIGN_SIGNUPS_ENV = "TRAVELTIDE_CAMPAIGN_SIGNUPS"  # a Parquet or CSV file of the campaign's sign-ups

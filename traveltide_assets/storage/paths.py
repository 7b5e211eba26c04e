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
# A deployment that must analyse TravelTide's database sets this to 1 (deploy/traveltide.env): without a source URL a
# run then fails at once instead of falling back to the embedded synthetic customers.
REQUIRE_SOURCE_URL_ENV = "TRAVELTIDE_REQUIRE_SOURCE_URL"
SOURCE_URL_MISSING = (
    f"{REQUIRE_SOURCE_URL_ENV}=1 but {SOURCE_URL_ENV} is not set: this deployment analyses TravelTide's database, "
    f"not the embedded synthetic customers; set {SOURCE_URL_ENV}=postgresql://user@host:5432/db"
)


class SourceUrlRequiredError(ValueError):
    """The deployment requires TravelTide's database and none is configured."""


def source_url_required() -> bool:
    """Whether TRAVELTIDE_REQUIRE_SOURCE_URL is on; a value that is neither on nor off is refused rather than
    read as off, as a typo must not quietly let generated customers through."""
    value = os.environ.get(REQUIRE_SOURCE_URL_ENV, "").strip().lower()
    if value in ("", "0", "false", "no"):
        return False
    if value in ("1", "true", "yes"):
        return True
    raise ValueError(f"{REQUIRE_SOURCE_URL_ENV} must be 1 or 0, got {value!r}")


CAMPAIGN_SIGNUPS_ENV = "TRAVELTIDE_CAMPAIGN_SIGNUPS"  # a Parquet or CSV file of the campaign's sign-ups

"""The resources every run uses, configured from the environment."""

from __future__ import annotations

import os
from typing import Any

from dagster import EnvVar

from traveltide_assets.defs.campaign.settings import CampaignSettings
from traveltide_assets.defs.cohort.settings import StudySettings
from traveltide_assets.defs.perks.settings import PerkModelSettings
from traveltide_assets.sources.resource import TravelTideSource
from traveltide_assets.storage.paths import CAMPAIGN_SIGNUPS_ENV, SOURCE_URL_ENV, data_dir, source_url_required
from traveltide_assets.storage.warehouse import Warehouse


def build_resources(resolve_env: bool = False) -> dict[str, Any]:
    """Resources from the environment: TRAVELTIDE_SOURCE_URL selects PostgreSQL, else the embedded store;
    TRAVELTIDE_CAMPAIGN_SIGNUPS names a file of the campaign's sign-ups; TRAVELTIDE_REQUIRE_SOURCE_URL=1 makes the
    source refuse the embedded store.

    For Dagster the URL and the file stay EnvVars (read when a run starts, shown as such in the UI);
    `resolve_env` reads them now, for work outside a run."""
    root = data_dir()
    url = os.environ.get(SOURCE_URL_ENV)
    signups = os.environ.get(CAMPAIGN_SIGNUPS_ENV)
    return {
        "source": TravelTideSource(
            postgres_url=(url if resolve_env else EnvVar(SOURCE_URL_ENV)) if url else None,
            embedded_dir=str(root / "source"),
            require_url=source_url_required(),
        ),
        "warehouse": Warehouse.in_folder(root),
        "study": StudySettings(),
        "perk_model": PerkModelSettings(),
        "campaign": CampaignSettings(
            signups_path=(signups if resolve_env else EnvVar(CAMPAIGN_SIGNUPS_ENV)) if signups else None
        ),
    }

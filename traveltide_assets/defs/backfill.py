"""One run for a backfill of any number of session months: the backfill policy every asset declares.

The session extracts read a range of months in one source pass; the assets below them are unpartitioned and read
every stored month, so a run over any months materialises each of them once. Every asset states it with
`backfill_policy=SINGLE_RUN_BACKFILL`, partitioned or not: Dagster's CLI runs a partition range
(`dg launch --assets '*' --partition-range 2023-01...2023-07`, `dagster asset materialize --partition-range`) only
when every selected asset has a single-run policy, and refuses it otherwise (dagster/_cli/asset.py). An
unpartitioned asset may only have this policy; the UI's and the daemon's backfills run it once either way.
"""

from __future__ import annotations

import warnings

from dagster import BackfillPolicy, BetaWarning

SINGLE_RUN_BACKFILL = BackfillPolicy.single_run()

# Dagster marks @asset's backfill_policy parameter beta and warns at every @asset that passes it (multi_asset does
# not). The policy is deliberate here, and the warning tells a user of `traveltide run` or `dg` nothing they can
# act on: this one warning is ignored, and nothing else.
warnings.filterwarnings("ignore", message="Parameter `backfill_policy` of function `asset`", category=BetaWarning)

"""The daily refresh: re-extract the newest session month(s), then rebuild everything downstream."""

from __future__ import annotations

from dagster import RunRequest, ScheduleEvaluationContext, schedule

from traveltide_assets.defs.jobs import refresh_all
from traveltide_assets.defs.partitions import refresh_previous_month, refresh_tags


@schedule(
    job=refresh_all,
    cron_schedule="0 4 * * *",
    name="daily_refresh",
    description="04:00 daily: the month in progress (and the previous one, unless "
    "TRAVELTIDE_REFRESH_PREVIOUS_MONTH=0) from the source, then every unpartitioned asset.",
)
def daily_refresh(context: ScheduleEvaluationContext) -> RunRequest:
    tags = refresh_tags(context.scheduled_execution_time, refresh_previous_month())
    # One run key per scheduled tick: a daemon restart does not launch the same refresh twice.
    return RunRequest(run_key=context.scheduled_execution_time.isoformat(), tags=tags)

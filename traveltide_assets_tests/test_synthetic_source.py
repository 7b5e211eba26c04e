"""The synthetic TravelTide source: shape, integrity, determinism, realism, quirks and planted signal."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pyarrow.compute as pc
import pytest

from traveltide_assets.lib.catalog import PERKS
from traveltide_assets.sources import contract as schema
from traveltide_assets.sql_files import read_sql
from traveltide_assets.synthetic.generate import GeneratorConfig, SyntheticSource, generate_source
from traveltide_assets.synthetic.load import write_parquet_store
from traveltide_assets_tests.conftest import parquet_views


def _profile(folder: Path) -> dict[str, float]:
    con = parquet_views(folder)
    cur = con.execute(read_sql("source/profile.sql"), {"cohort_start": "2023-01-04", "min_sessions": 7})
    row = cur.fetchone()
    assert row is not None
    return {d[0]: (float(v) if v is not None else float("nan")) for d, v in zip(cur.description, row, strict=True)}


def test_tables_have_the_real_columns_order_and_types(stats_source: SyntheticSource) -> None:
    for spec in schema.SOURCE_TABLES:
        table = stats_source.source_tables()[spec.name]
        assert table.schema.equals(spec.arrow_schema), spec.name
        assert pc.count_distinct(table[spec.primary_key]).as_py() == table.num_rows, spec.name
    assert "favourite_perk" not in {c for t in stats_source.source_tables().values() for c in t.column_names}


def test_ids_look_like_traveltide_ids(stats_source: SyntheticSource) -> None:
    ids = stats_source.sessions["session_id"]
    assert pc.all(pc.match_substring_regex(ids, r"^\d+-[0-9a-f]{32}$")).as_py()
    prefix = pc.cast(pc.utf8_slice_codeunits(ids, 0, pc.find_substring(ids, "-").to_numpy().max()), "string")
    assert prefix is not None
    first = stats_source.sessions.slice(0, 1000).to_pylist()
    assert all(r["session_id"].split("-")[0] == str(r["user_id"]) for r in first)


def test_volumes_and_rates_follow_the_real_database(stats_store: Path) -> None:
    p = _profile(stats_store)
    users = p["users"]
    # Real: 5.30 sessions, 1.86 flights and 1.88 hotels per user; 1-17 sessions per user.
    assert p["sessions_per_user"] == pytest.approx(5.30, rel=0.06)
    assert p["flights"] / users == pytest.approx(1_901_038 / 1_020_926, rel=0.08)
    assert p["hotels"] / users == pytest.approx(1_918_617 / 1_020_926, rel=0.08)
    assert p["max_sessions_per_user"] == 17
    # Real: 56.8% of sessions without a trip, 29.1% bundles, 1.68% cancellations.
    assert p["no_trip_rate"] == pytest.approx(0.568, abs=0.02)
    assert p["bundle_rate"] == pytest.approx(0.291, abs=0.03)
    assert p["cancellation_rate"] == pytest.approx(0.0168, abs=0.003)
    assert p["flight_discount_median"] == pytest.approx(0.10)
    assert p["clicks_median"] == pytest.approx(15, abs=3)
    assert p["session_minutes_mean"] == pytest.approx(3.6, rel=0.15)
    assert p["seats_mean"] == pytest.approx(1.25, abs=0.05)
    assert p["bags_mean"] == pytest.approx(0.61, abs=0.06)
    assert p["fare_median"] == pytest.approx(396, rel=0.1)
    assert p["nights_median"] == 3
    assert p["rooms_mean"] == pytest.approx(1.19, abs=0.05)
    assert p["hotel_price_median"] == pytest.approx(148, rel=0.1)
    assert p["female_share"] == pytest.approx(0.44, abs=0.01)
    assert p["born_2006_share"] == pytest.approx(0.04, abs=0.01)


def test_study_cohort_is_small_heavy_and_mostly_female(stats_store: Path) -> None:
    p = _profile(stats_store)
    # Real: 5,998 of 1,020,926 users (0.59%), 88% women, 8.2 sessions each, a third of sessions book.
    assert p["cohort_users"] / p["users"] == pytest.approx(0.0059, rel=0.3)
    assert p["cohort_female_share"] == pytest.approx(0.88, abs=0.06)
    assert p["cohort_sessions"] / p["cohort_users"] == pytest.approx(8.2, abs=0.6)
    assert p["cohort_booking_rate"] == pytest.approx(0.34, abs=0.05)


def test_referential_integrity(stats_store: Path) -> None:
    con = parquet_views(stats_store)

    def count(sql: str) -> int:
        row = con.execute(sql).fetchone()
        assert row is not None
        return int(row[0])

    assert count("SELECT count(*) FROM sessions s ANTI JOIN users u USING (user_id)") == 0
    # Every booking session's trip exists in flights / hotels exactly as its flags say, and vice versa.
    booked = "FROM sessions s WHERE s.trip_id IS NOT NULL AND NOT s.cancellation"
    assert (
        count(f"SELECT count(*) {booked} AND s.flight_booked AND s.trip_id NOT IN (SELECT trip_id FROM flights)") == 0
    )
    assert count(f"SELECT count(*) {booked} AND s.hotel_booked AND s.trip_id NOT IN (SELECT trip_id FROM hotels)") == 0
    assert (
        count(f"SELECT count(*) {booked} AND NOT s.flight_booked AND s.trip_id IN (SELECT trip_id FROM flights)") == 0
    )
    for table in ("flights", "hotels"):
        orphans = f"SELECT count(*) FROM {table} t WHERE t.trip_id NOT IN (SELECT trip_id {booked})"
        assert count(orphans) == 0, table
    # A cancellation repeats the trip of an earlier booking session of the same user.
    assert (
        count(
            """SELECT count(*) FROM sessions c
           LEFT JOIN sessions b ON b.trip_id = c.trip_id AND NOT b.cancellation
           WHERE c.cancellation AND (b.session_id IS NULL OR b.user_id <> c.user_id
                                     OR b.session_start >= c.session_start)"""
        )
        == 0
    )
    assert (
        count("SELECT count(*) FROM sessions s JOIN users u USING (user_id) WHERE s.session_start < u.sign_up_date")
        == 0
    )
    assert count("SELECT count(*) FROM flights f WHERE f.origin_airport IS NULL") == 0
    # The real sessions start between 2021-04-01 and 2023-07-28; cancellations of later trips included.
    window = "session_start >= DATE '2021-04-01' AND session_start < DATE '2023-07-29'"
    assert count(f"SELECT count(*) FROM sessions WHERE NOT ({window})") == 0


def test_known_quirks_are_present_at_realistic_rates(stats_store: Path) -> None:
    con = parquet_views(stats_store)

    def rate(sql: str) -> float:
        row = con.execute(sql).fetchone()
        assert row is not None
        return float(row[0])

    assert rate("SELECT avg((nights <= 0)::int) FROM hotels") == pytest.approx(0.012, abs=0.004)
    assert rate("SELECT avg((check_out_time < check_in_time)::int) FROM hotels") > 0.005
    inconsistent = (
        "SELECT avg((nights > 0 AND nights <> datediff('day', check_in_time, check_out_time))::int) FROM hotels"
    )
    assert 0.001 < rate(inconsistent) < 0.01
    assert rate("SELECT avg(((return_time IS NULL) <> (NOT return_flight_booked))::int) FROM flights") == 0
    assert rate("SELECT avg((NOT return_flight_booked)::int) FROM flights") == pytest.approx(0.047, abs=0.006)
    amount_null_iff_no_flag = """SELECT avg(((flight_discount_amount IS NULL) <> (NOT flight_discount))::int)
                                 FROM sessions WHERE NOT cancellation"""
    assert rate(amount_null_iff_no_flag) == 0
    cancel_flags = """SELECT avg((flight_booked AND hotel_booked AND flight_discount AND hotel_discount
                                  AND flight_discount_amount IS NULL AND hotel_discount_amount IS NULL)::int)
                      FROM sessions WHERE cancellation"""
    assert rate(cancel_flags) == 1
    assert rate("SELECT avg((epoch(session_end - session_start) >= 7199)::int) FROM sessions WHERE cancellation") > 0.4
    assert rate("SELECT max(page_clicks) FROM sessions") > 1000
    assert rate("SELECT count(*) FROM hotels WHERE hotel_name LIKE '%  - %'") > 0
    assert (
        rate("SELECT count(*) FROM hotels WHERE rooms = 0") + rate("SELECT count(*) FROM flights WHERE seats = 0") > 0
    )
    assert rate("SELECT max(flight_discount_amount) FROM sessions") <= 0.85
    assert rate("SELECT max(hotel_discount_amount) FROM sessions") <= 0.65
    steps = "SELECT avg((round(flight_discount_amount * 20) <> flight_discount_amount * 20)::int) FROM sessions"
    assert rate(steps) == 0


def test_planted_preferences_show_in_behaviour(stats_store: Path) -> None:
    # Subtle, as real customers differ (behaviour.PerkEffects): about half of each planted difference at the real
    # volume (bags per flight +0.11, cancellations x2.0, lead days x1.22, discounted bookings +0.07, hotel-only
    # x4, bundles +0.30).
    con = parquet_views(stats_store)
    rows = con.sql(read_sql("source/planted_signal.sql")).to_arrow_table().to_pylist()
    by_perk = {row["favourite_perk"]: row for row in rows}
    assert set(by_perk) == set(PERKS)

    def others(column: str, perk: str) -> float:
        return float(np.mean([v[column] for k, v in by_perk.items() if k != perk]))

    bag = by_perk["free_checked_bag"]
    assert bag["bags_per_flight"] > others("bags_per_flight", "free_checked_bag") + 0.05
    cancel = by_perk["no_cancellation_fees"]
    assert cancel["cancellation_rate"] > 1.5 * others("cancellation_rate", "no_cancellation_fees")
    assert cancel["lead_days"] > 1.1 * others("lead_days", "no_cancellation_fees")
    disc = by_perk["exclusive_discounts"]
    assert disc["discounted_booking_share"] > others("discounted_booking_share", "exclusive_discounts") + 0.035
    meal = by_perk["free_hotel_meal"]
    assert meal["hotel_only_share"] > 2 * others("hotel_only_share", "free_hotel_meal")
    night = by_perk["free_hotel_night_with_flight"]
    assert night["bundle_share"] > others("bundle_share", "free_hotel_night_with_flight") + 0.15


def test_same_seed_gives_byte_identical_files(tmp_path: Path) -> None:
    config = GeneratorConfig(users=3_000, seed=5, mix="unbalanced")
    write_parquet_store(generate_source(config), tmp_path / "a")
    write_parquet_store(generate_source(config), tmp_path / "b")
    other = GeneratorConfig(users=3_000, seed=6, mix="unbalanced")
    write_parquet_store(generate_source(other), tmp_path / "c")
    names = sorted(p.name for p in (tmp_path / "a").iterdir())
    assert names == [
        "flights.parquet",
        "generator.json",  # the settings, quoted by every output's `source` line
        "ground_truth.parquet",
        "hotels.parquet",
        "sessions.parquet",
        "users.parquet",
    ]
    for name in names:
        assert (tmp_path / "a" / name).read_bytes() == (tmp_path / "b" / name).read_bytes(), name
    assert (tmp_path / "a" / "sessions.parquet").read_bytes() != (tmp_path / "c" / "sessions.parquet").read_bytes()


def test_null_mix_plants_no_preference() -> None:
    source = generate_source(GeneratorConfig(users=2_000, seed=3, mix="null"))
    assert set(source.ground_truth["favourite_perk"].to_pylist()) == {"none"}


def test_mix_shares_are_respected(stats_source: SyntheticSource) -> None:
    counts = pc.value_counts(stats_source.ground_truth["favourite_perk"]).to_pylist()
    shares = {c["values"]: c["counts"] / stats_source.ground_truth.num_rows for c in counts}
    assert shares == pytest.approx(dict.fromkeys(PERKS, 0.2), abs=0.01)

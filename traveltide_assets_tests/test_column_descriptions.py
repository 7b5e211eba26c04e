"""Every published column of the output contract carries its meaning in the materialisation's column schema, and
the user features' meanings are the ones docs/features.md documents."""

from __future__ import annotations

from pathlib import Path

from dagster import ExecuteInProcessResult, TableSchema

from traveltide_assets.defs.columns import COLUMN_DESCRIPTIONS, USER_FEATURES

ROOT = Path(__file__).resolve().parents[1]


def _column_schemas(result: ExecuteInProcessResult) -> dict[str, TableSchema]:
    schemas = {}
    for event in result.get_asset_materialization_events():
        entry = event.step_materialization_data.materialization.metadata.get("dagster/column_schema")
        if entry is not None:  # the report and the slides are files, without a table
            assert isinstance(entry.value, TableSchema)
            schemas[event.asset_key.to_user_string()] = entry.value
    return schemas


def _documented_features() -> list[tuple[list[str], str, str]]:
    """(feature names, meaning, unit) of each row of docs/features.md's table (a row may name several features:
    `flights, hotels`)."""
    text = (ROOT / "docs" / "features.md").read_text(encoding="utf-8")
    table = text.split("| feature | meaning | unit |", 1)[1].split("\n\n", 1)[0]
    rows = []
    for row in table.strip().splitlines()[1:]:  # after the |---| line
        names, meaning, unit = (cell.strip() for cell in row.strip().strip("|").split("|"))
        rows.append(([name.strip() for name in names.split(",")], meaning, unit))
    return rows


def test_materialised_columns_carry_their_description(planted_run: tuple[ExecuteInProcessResult, Path]) -> None:
    result, _ = planted_run
    schemas = _column_schemas(result)
    described = {
        (table, column.name): column.description for table, schema in schemas.items() for column in schema.columns
    }
    assert described[("user_features", "bags_per_seat")] == "Mean checked bags per seat [bags]"
    assert described[("user_features", "cancellation_rate")].startswith("Cancellations / bookings")
    assert described[("perk_assignments", "margin")] == "probability - runner_up_probability"
    assert "favourite perk" in described[("perk_probabilities", "p_free_checked_bag")]
    assert "'Free checked bag'" in described[("perk_probabilities", "p_free_checked_bag")]
    # Every column of every table the contract describes has its description, and the contract names no column
    # that is not published.
    for table, columns in COLUMN_DESCRIPTIONS.items():
        if table in schemas:
            assert {c.name: c.description for c in schemas[table].columns} == columns, table
    assert {"user_features", "perk_assignments", "perk_probabilities", "campaign_plan"} <= set(schemas)
    # Tables outside the contract keep a plain schema.
    assert all(description is None for (table, _), description in described.items() if table == "session_cohort")


def test_user_feature_descriptions_follow_the_documentation() -> None:
    """One description per documented feature, in the documented order; a row naming one feature is its meaning
    and unit word for word (the first letter capitalised)."""
    rows = _documented_features()
    assert [name for names, _, _ in rows for name in names] == list(USER_FEATURES)
    for names, meaning, unit in rows:
        if len(names) == 1:
            documented = meaning + (f" [{unit}]" if unit else "")
            described = USER_FEATURES[names[0]]
            assert described[:1].lower() + described[1:] == documented[:1].lower() + documented[1:], names[0]

"""Real TravelTide rows (half the study cohort) for tests: found beside the repository, never copied into it.

The folder holds users/sessions/flights/hotels.parquet with the real column names and order, integers as BIGINT
and `numeric` as DOUBLE (its README.md). `load_real_cohort` casts them to the source schema's types and loads
them with the synthetic loader, without a ground truth: the database then looks like the real one.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
import pytest

from traveltide_assets.sources.contract import SOURCE_TABLES, TableSpec
from traveltide_assets.synthetic.load import load_postgres

REPO_ROOT = Path(__file__).resolve().parents[1]
REAL_COHORT_ENV = "TRAVELTIDE_REAL_COHORT"
# A double cast to the schema's decimal scale may move by rounding noise only, never by a digit the scale drops.
_DECIMAL_TOLERANCE = 1e-9


def real_cohort_dir() -> Path:
    """The folder of the real rows; skips the calling test where it (or one of its four tables) is absent."""
    folder = Path(os.environ.get(REAL_COHORT_ENV, str(REPO_ROOT.parent / "shared" / "real-cohort")))
    missing = [f"{spec.name}.parquet" for spec in SOURCE_TABLES if not (folder / f"{spec.name}.parquet").is_file()]
    if missing:
        pytest.skip(
            f"real cohort not found at {folder} (missing {', '.join(missing)}): set {REAL_COHORT_ENV} "
            "or place ../shared/real-cohort beside the repository"
        )
    return folder


@dataclass(frozen=True)
class RealSource:
    """The real tables in the loader's shape; a real database has no planted truth."""

    tables: dict[str, pa.Table]
    ground_truth: None = None

    def source_tables(self) -> dict[str, pa.Table]:
        return self.tables


def _cast(table: pa.Table, spec: TableSpec) -> pa.Table:
    if table.column_names != spec.column_names:
        raise ValueError(f"{spec.name}: columns {table.column_names} differ from the schema's {spec.column_names}")
    cast = table.cast(spec.arrow_schema)  # integers that overflow int32 raise here
    for column in spec.columns:
        if pa.types.is_decimal(column.arrow_type):
            drift = pc.max(pc.abs(pc.subtract(cast[column.name].cast(pa.float64()), table[column.name]))).as_py()
            if drift is not None and drift > _DECIMAL_TOLERANCE:
                raise ValueError(f"{spec.name}.{column.name}: {column.arrow_type} would change values by {drift}")
    return cast


def real_source(folder: Path | None = None) -> RealSource:
    folder = folder or real_cohort_dir()
    return RealSource(
        {spec.name: _cast(pq.read_table(folder / f"{spec.name}.parquet"), spec) for spec in SOURCE_TABLES}
    )


def load_real_cohort(url: str) -> None:
    """Create the four source tables with the real DDL in the database at `url` and COPY the real rows in."""
    load_postgres(real_source(), url)

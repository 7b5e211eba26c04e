"""Small vectorised helpers shared by the generator modules."""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from traveltide_assets.sources.contract import TableSpec

US_PER_MINUTE = 60_000_000
US_PER_HOUR = 60 * US_PER_MINUTE
US_PER_DAY = 24 * US_PER_HOUR

_HEX = np.frombuffer(b"0123456789abcdef", dtype=np.uint8)


def expit(x: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-x))


def to_decimal(values: np.ndarray, table: TableSpec, column: str, mask: np.ndarray | None = None) -> pa.Array:
    """Round floats to the column's decimal scale and return an Arrow decimal array (nulls where mask)."""
    dtype = table.arrow_schema.field(column).type
    return pc.cast(pa.array(np.round(values, dtype.scale), mask=mask), dtype, safe=False)


def timestamps(micros: np.ndarray, mask: np.ndarray | None = None) -> pa.Array:
    return pa.array(micros, type=pa.timestamp("us"), mask=mask)


def prefixed_ids(rng: np.random.Generator, user_id: np.ndarray) -> pa.Array:
    """TravelTide ids: '<user_id>-<32 random hex digits>', e.g. '634234-374c90e3e78b4307a8060ea825ca1cc1'."""
    digits = _HEX[rng.integers(0, 16, size=(user_id.size, 32), dtype=np.uint8)]
    hex_part = pa.array(digits.view("S32").ravel(), type=pa.binary(32)).cast(pa.string())
    return pc.binary_join_element_wise(pa.array(user_id).cast(pa.string()), hex_part, "-")


def day_start(micros: np.ndarray) -> np.ndarray:
    """Midnight of the day each timestamp falls on (µs since epoch)."""
    return micros - np.mod(micros, US_PER_DAY)

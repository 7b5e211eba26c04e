"""Reference data shipped with the package: real airports, airlines and hotel brands."""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from importlib import resources

import numpy as np
import pyarrow as pa
import pyarrow.csv as pacsv


@dataclass(frozen=True)
class Airports:
    iata: np.ndarray
    city: np.ndarray
    country: np.ndarray
    lat: np.ndarray
    lon: np.ndarray
    weight: np.ndarray  # normalised to sum 1


@dataclass(frozen=True)
class Reference:
    home: Airports
    destinations: Airports
    airlines: np.ndarray
    airline_weight: np.ndarray
    brand_label: np.ndarray  # brand as it appears before ' - city', trailing space included
    brand_weight: np.ndarray
    brand_price_tier: np.ndarray


def _read_csv(name: str) -> pa.Table:
    with resources.files("traveltide_assets.synthetic").joinpath("data", name).open("rb") as fh:
        return pacsv.read_csv(fh)


def _normalised(weights: np.ndarray) -> np.ndarray:
    weights = weights.astype(np.float64)
    return weights / weights.sum()


def _airports(table: pa.Table, role: str) -> Airports:
    rows = table.filter(pa.compute.equal(table["role"], role))
    return Airports(
        iata=np.asarray(rows["iata"].to_pylist(), dtype=object),
        city=np.asarray(rows["city"].to_pylist(), dtype=object),
        country=np.asarray(rows["country"].to_pylist(), dtype=object),
        lat=rows["lat"].to_numpy().astype(np.float64),
        lon=rows["lon"].to_numpy().astype(np.float64),
        weight=_normalised(rows["weight"].to_numpy()),
    )


@cache
def load_reference() -> Reference:
    airports = _read_csv("airports.csv")
    airlines = _read_csv("airlines.csv")
    brands = _read_csv("hotel_brands.csv")
    trailing = np.asarray(brands["trailing_space"].to_numpy(), dtype=bool)
    names = np.asarray(brands["brand"].to_pylist(), dtype=object)
    return Reference(
        home=_airports(airports, "home"),
        destinations=_airports(airports, "destination"),
        airlines=np.asarray(airlines["airline"].to_pylist(), dtype=object),
        airline_weight=_normalised(airlines["weight"].to_numpy()),
        brand_label=np.where(trailing, names + " ", names),
        brand_weight=_normalised(brands["weight"].to_numpy()),
        brand_price_tier=brands["price_tier"].to_numpy().astype(np.float64),
    )

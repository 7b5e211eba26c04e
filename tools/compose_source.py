"""An embedded source larger than the generator can hold in memory, composed of several generated ones:
`uv run python -m tools.compose_source OUT PART [PART ...]`, each PART a folder `traveltide generate --to` wrote.

The generator holds every table in memory (peak RSS 2.7 GiB per million users), so 8x the real volume at once
needs ~21 GiB. Four 2x sources of different seeds, composed here by DuckDB as it streams them, make an 8x source
in ~4 GiB: part i's user ids are offset by the users of the parts before it, and its session and trip ids
('<user id>-<hash>') are renumbered alike, so that no id collides and every trip stays with its user. The
composed store's generator.json names the parts' seeds. Used for the modelling steps at 8x in
docs/performance.md.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import duckdb

from traveltide_assets.sources.contract import GENERATOR_FILE, GROUND_TRUTH_FILE

_USER_TABLES = ("users", GROUND_TRUTH_FILE.removesuffix(".parquet"))


def _renumbered(column: str, offset: int) -> str:
    """'<user id>-<hash>' with the user id moved by `offset`; NULL stays NULL."""
    return (
        f"CASE WHEN {column} IS NULL THEN NULL ELSE CAST(CAST(split_part({column}, '-', 1) AS BIGINT) + {offset} "
        f"AS VARCHAR) || '-' || split_part({column}, '-', 2) END"
    )


def _select(table: str, source: str, offset: int) -> str:
    user = f"CAST(user_id + {offset} AS INTEGER) AS user_id"
    if table in _USER_TABLES:
        return f"SELECT * REPLACE ({user}) FROM {source}"
    if table == "sessions":
        ids = f"{_renumbered('session_id', offset)} AS session_id, {_renumbered('trip_id', offset)} AS trip_id"
        return f"SELECT * REPLACE ({user}, {ids}) FROM {source}"
    return f"SELECT * REPLACE ({_renumbered('trip_id', offset)} AS trip_id) FROM {source}"


def compose(out: Path, parts: list[Path]) -> dict:
    settings = [json.loads((part / GENERATOR_FILE).read_text()) for part in parts]
    if len({(s["mix"], s["signal"]) for s in settings}) > 1:
        raise ValueError("the parts were generated with different mixes or signals")
    offsets = [sum(s["users"] for s in settings[:i]) for i in range(len(parts))]
    out.mkdir(parents=True, exist_ok=True)
    with duckdb.connect() as con:
        con.execute("SET memory_limit = '4GB'")
        for table in ("users", "sessions", "flights", "hotels", *_USER_TABLES[1:]):
            union = " UNION ALL ".join(
                _select(table, f"read_parquet('{part / table}.parquet')", offset)
                for part, offset in zip(parts, offsets, strict=True)
            )
            target = out / f"{table}.parquet"
            con.execute(f"COPY ({union}) TO '{target}' (FORMAT parquet, COMPRESSION zstd, ROW_GROUP_SIZE 1000000)")
    composed = {
        "users": sum(s["users"] for s in settings),
        "seed": ", ".join(str(s["seed"]) for s in settings) + " (composed)",
        "mix": settings[0]["mix"],
        "signal": settings[0]["signal"],
        "parts": settings,
    }
    (out / GENERATOR_FILE).write_text(json.dumps(composed, indent=2) + "\n")
    return composed


if __name__ == "__main__":
    if len(sys.argv) < 3:
        sys.exit(__doc__)
    result = compose(Path(sys.argv[1]), [Path(p) for p in sys.argv[2:]])
    print(f"{result['users']:,} users in {sys.argv[1]} (seeds {result['seed']})")

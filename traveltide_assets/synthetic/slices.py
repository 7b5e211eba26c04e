"""Sources larger than one machine's memory holds at once, generated and loaded into PostgreSQL in slices.

`generate_source` holds every array of a source at once: about 2.5 GiB per million users at its peak, so 8x the
real volume (8.2 million users, about 20 GiB) does not fit beside PostgreSQL on a 24 GiB machine. Above
SLICE_USERS users the source is generated in slices of at most that many users, each loaded into PostgreSQL and
freed before the next. The first slice is exactly `generate_source` of that many users; slice k after it draws
from its own seed ([seed, k]) and numbers its users after the previous slices' (user ids, and the session and trip
ids that start with them). A source of SLICE_USERS users or fewer is one slice: the same source as before.
"""

from __future__ import annotations

import gc
from collections.abc import Callable, Iterator

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from traveltide_assets.synthetic.generate import GeneratorConfig, SyntheticSource, generate_source, generate_with

SLICE_USERS = 4_083_704  # four times the real volume: about 10 GiB at the generator's peak

Progress = Callable[[str], None]


def slice_sizes(users: int, slice_users: int = SLICE_USERS) -> list[int]:
    """The users of each slice: as many full slices as fit, then the rest."""
    full, rest = divmod(users, slice_users)
    return [slice_users] * full + ([rest] if rest else [])


def source_slices(
    config: GeneratorConfig, progress: Progress | None = None, slice_users: int = SLICE_USERS
) -> Iterator[SyntheticSource]:
    """The source of `config` in slices (module docstring); each slice is yielded, then dropped."""
    first_user = 0
    for k, users in enumerate(slice_sizes(config.users, slice_users)):
        sliced = GeneratorConfig(users=users, seed=config.seed, mix=config.mix, signal=config.signal)
        if k == 0:
            source = generate_source(sliced, progress)
        else:
            source = _numbered_from(
                generate_with(sliced, np.random.default_rng([config.seed, k]), progress), first_user
            )
        yield source
        first_user += users
        del source
        gc.collect()
        pa.default_memory_pool().release_unused()


def _numbered_from(source: SyntheticSource, first_user: int) -> SyntheticSource:
    """The slice with its users numbered from `first_user`: user ids, and the session and trip ids that start with
    the user id ('<user_id>-<hex>')."""
    sessions = source.sessions
    sessions = sessions.set_column(
        sessions.schema.get_field_index("session_id"), "session_id", _renumbered(sessions["session_id"], first_user)
    )
    sessions = sessions.set_column(
        sessions.schema.get_field_index("trip_id"), "trip_id", _renumbered(sessions["trip_id"], first_user)
    )
    return SyntheticSource(
        users=_shifted(source.users, first_user),
        sessions=_shifted(sessions, first_user),
        flights=_with_trip_ids(source.flights, first_user),
        hotels=_with_trip_ids(source.hotels, first_user),
        ground_truth=_shifted(source.ground_truth, first_user),
        config=source.config,
    )


def _shifted(table: pa.Table, first_user: int) -> pa.Table:
    index = table.schema.get_field_index("user_id")
    shifted = pc.add(table["user_id"], pa.scalar(first_user, table.schema.field(index).type))
    return table.set_column(index, "user_id", shifted)


def _with_trip_ids(table: pa.Table, first_user: int) -> pa.Table:
    index = table.schema.get_field_index("trip_id")
    return table.set_column(index, "trip_id", _renumbered(table["trip_id"], first_user))


def _renumbered(ids: pa.ChunkedArray, first_user: int) -> pa.ChunkedArray:
    """'<user>-<hex>' -> '<user + first_user>-<hex>'; nulls stay null."""
    parts = pc.split_pattern(ids, "-", max_splits=1)
    user = pc.add(pc.cast(pc.list_element(parts, 0), pa.int64()), first_user)
    return pc.binary_join_element_wise(pc.cast(user, pa.string()), pc.list_element(parts, 1), "-")

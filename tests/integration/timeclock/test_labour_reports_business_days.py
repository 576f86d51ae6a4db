"""Sales and tips are put on business days in SQL, shifts in Python: the two must agree.

``server.restaurants.business_days.business_day_sql`` against
``server.timeclock.services.business_day``, minute by minute around both of London's 2026
clock changes and every hour of the year, for a few day starts and zones.
"""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta

import pytest
from litestar import Litestar

from server.db.engine import DB
from server.restaurants.business_days import business_day_sql
from server.timeclock.services import business_day

AROUND_CHANGES = [
    datetime(2026, 3, 28, 22, tzinfo=UTC) + timedelta(minutes=15 * n) for n in range(4 * 36)
] + [datetime(2026, 10, 24, 22, tzinfo=UTC) + timedelta(minutes=15 * n) for n in range(4 * 36)]
THE_YEAR = [datetime(2026, 1, 1, tzinfo=UTC) + timedelta(hours=n) for n in range(365 * 24)]


@pytest.mark.parametrize(
    ("zone", "starts"),
    [
        ("Europe/London", time(4, 0)),
        ("Europe/London", time(0, 0)),
        ("Europe/London", time(1, 30)),
        ("America/New_York", time(5, 0)),
        ("Asia/Kolkata", time(3, 15)),
    ],
)
async def test_sql_and_python_give_every_instant_the_same_business_day(
    app: Litestar, zone: str, starts: time
) -> None:
    instants = AROUND_CHANGES + THE_YEAR
    assert DB.pool is not None
    async with DB.pool.acquire() as conn:
        days = await conn.fetch(
            f"SELECT {business_day_sql('at', '$2', '$3')} AS day"
            " FROM unnest($1::timestamptz[]) WITH ORDINALITY AS t(at, n) ORDER BY n",
            instants,
            zone,
            starts,
        )
    assert [row["day"] for row in days] == [business_day(at, zone, starts) for at in instants]

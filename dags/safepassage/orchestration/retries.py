"""A platform's "come back in N minutes" becomes an Airflow reschedule: the task leaves its pool
slot (state `up_for_reschedule`, no retry spent) and runs again at that time, converging on the same
stored plan, instead of a worker sleeping through the wait while holding the slot."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from contextlib import contextmanager

from airflow.sdk.exceptions import AirflowRescheduleException

from safepassage.services.push import RetryLater


@contextmanager
def reschedule_when_asked() -> Iterator[None]:
    try:
        yield
    except RetryLater as later:
        at = dt.datetime.now(dt.UTC) + dt.timedelta(seconds=later.seconds)
        raise AirflowRescheduleException(reschedule_date=at) from later

"""Reporting periods: parsing `from`/`to` bounds (dates or datetimes) in the platform's timezone, day buckets."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from assistant.errors import InvalidInput

DEFAULT_DAYS = 7
MAX_DAYS = 366
# Reports are about the life of the product; far-off years only make datetime arithmetic overflow.
EARLIEST = 0.0  # 1970-01-01 UTC
LATEST = 4_102_444_800.0  # 2100-01-01 UTC


@dataclass(frozen=True)
class Period:
    """A half-open time range [start, end) in epoch seconds, reported in `timezone`."""

    start: float
    end: float
    timezone: str = "Asia/Shanghai"

    @property
    def tz(self) -> ZoneInfo:
        """The reporting timezone."""
        return ZoneInfo(self.timezone)

    def contains(self, at: float) -> bool:
        """True if `at` falls inside the period."""
        return self.start <= at < self.end

    def iso(self) -> tuple[str, str]:
        """Start and end as ISO datetimes in the reporting timezone."""
        tz = self.tz
        return (
            datetime.fromtimestamp(self.start, tz).isoformat(timespec="seconds"),
            datetime.fromtimestamp(self.end, tz).isoformat(timespec="seconds"),
        )

    def days(self) -> Iterator[str]:
        """Every calendar day (ISO date) the period touches, in order."""
        tz = self.tz
        day = datetime.fromtimestamp(self.start, tz).date()
        last = datetime.fromtimestamp(max(self.start, self.end - 1e-3), tz).date()
        while day <= last:
            yield day.isoformat()
            day += timedelta(days=1)


class DayBucketer:
    """Maps timestamps to ISO dates in a timezone, caching the current day's bounds (events arrive in order)."""

    def __init__(self, timezone: str) -> None:
        self._tz = ZoneInfo(timezone)
        self._low = 1.0
        self._high = 0.0
        self._day = ""

    def __call__(self, at: float) -> str:
        if not self._low <= at < self._high:
            day = datetime.fromtimestamp(at, self._tz).date()
            self._low = datetime.combine(day, time(), self._tz).timestamp()
            self._high = datetime.combine(day + timedelta(days=1), time(), self._tz).timestamp()
            self._day = day.isoformat()
        return self._day


def _parse(value: str, name: str, tz: ZoneInfo, *, end: bool) -> float:
    text = value.strip()
    try:
        if len(text) == 10:
            day = date.fromisoformat(text)
            # A date as `to` includes that whole day.
            return datetime.combine(day + timedelta(days=1 if end else 0), time(), tz).timestamp()
        moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        raise InvalidInput(
            f"`{name}` must be an ISO date (2026-01-31) or datetime (2026-01-31T08:00:00+08:00), got {value!r}"
        ) from None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=tz)
    return moment.timestamp()


def resolve_period(
    start: str | None,
    end: str | None,
    *,
    timezone: str,
    now: float,
    default_days: int = DEFAULT_DAYS,
    max_days: int = MAX_DAYS,
) -> Period:
    """The period named by optional `from`/`to` strings; by default the last `default_days` calendar days."""
    try:
        return _resolve(start, end, ZoneInfo(timezone), now, default_days, max_days)
    except InvalidInput:
        raise
    except (OverflowError, ValueError):  # year 1 or 9999 and a day more: datetime cannot represent it
        raise InvalidInput("the period is out of the supported range of dates (1970 to 2100)") from None


def _resolve(start: str | None, end: str | None, tz: ZoneInfo, now: float, default_days: int, max_days: int) -> Period:
    if end:
        stop = _parse(end, "to", tz, end=True)
    else:
        today = datetime.fromtimestamp(now, tz).date()
        stop = datetime.combine(today + timedelta(days=1), time(), tz).timestamp()
    if start:
        begin = _parse(start, "from", tz, end=False)
    else:
        last_day = datetime.fromtimestamp(stop - 1e-3, tz).date()
        begin = datetime.combine(last_day - timedelta(days=default_days - 1), time(), tz).timestamp()
    if not EARLIEST <= begin < stop <= LATEST:
        if begin >= stop:
            raise InvalidInput("`from` must be before `to`")
        raise InvalidInput("the period is out of the supported range of dates (1970 to 2100)")
    if stop - begin > max_days * 86400 + 3600:  # an hour of slack for a daylight-saving day
        raise InvalidInput(f"the period is longer than {max_days} days; ask for a shorter one")
    return Period(begin, stop, tz.key)

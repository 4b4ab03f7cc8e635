"""Business hours of the advisors' desk: weekdays, a daily window and holidays in the platform's timezone.

One type for both users of the schedule: the dialogue engine (are advisors online now?) and the handoff desk
(when does the SLA clock of a message left after hours start?). `policy.yaml` configures it.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from assistant.errors import ConfigError

DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
_ZH_DAYS = ("周一", "周二", "周三", "周四", "周五", "周六", "周日")
_EN_DAYS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")


@dataclass(frozen=True)
class BusinessHours:
    """When advisors are on duty: `open`–`close` on `days` in `timezone`, except on `holidays`.

    `close` None means 24:00; a close before the opening spans midnight and belongs to the day it opened on
    (a Friday 20:00–02:00 shift covers Saturday 01:00). A holiday cancels the shift that opens on that date.
    """

    timezone: str = "Asia/Shanghai"
    days: tuple[str, ...] = DAYS
    open: time = time(9, 0)
    close: time | None = time(22, 0)
    holidays: tuple[date, ...] = ()

    def __post_init__(self) -> None:
        try:
            ZoneInfo(self.timezone)
        except (ZoneInfoNotFoundError, ValueError):
            raise ConfigError(f"business hours: unknown timezone {self.timezone!r}") from None
        unknown = [d for d in self.days if d not in DAYS]
        if unknown or not self.days:
            raise ConfigError(f"business hours: days must be some of {list(DAYS)}, got {list(self.days)}")
        if self.open == self.close:
            raise ConfigError(f"business hours: open and close are both {self.open:%H:%M}")

    def is_open(self, at: datetime | float) -> bool:
        """True while advisors are on duty at `at` (a Unix time, or a datetime; a naive one is taken as UTC)."""
        local = self._local(at)
        clock = local.time()
        close = self.close or time.max
        if self.open < close:
            shift = local.date() if self.open <= clock < close else None
        elif clock >= self.open:
            shift = local.date()
        else:
            shift = local.date() - timedelta(days=1) if clock < close else None
        return shift is not None and self.works_on(shift)

    def next_open(self, at: float) -> float:
        """`at` itself while open, else the Unix time the desk next opens (weekends and holidays skipped)."""
        if self.is_open(at):
            return at
        zone = ZoneInfo(self.timezone)
        today = self._local(at).date()
        # Every holiday can push the opening past at most one week more.
        for offset in range(7 * (len(self.holidays) + 2)):
            day = today + timedelta(days=offset)
            # Wall-clock opening time: across a DST change a day is not 24 hours long.
            opening = datetime.combine(day, self.open, zone).timestamp()
            if opening > at and self.works_on(day):
                return opening
        raise ConfigError("business hours: the desk never opens")  # unreachable: `days` is never empty

    def works_on(self, day: date) -> bool:
        """True when a shift opens on `day` (a working weekday that is not a holiday)."""
        return DAYS[day.weekday()] in self.days and day not in self.holidays

    def describe(self, locale: str = "") -> str:
        """The window as shown to users: `HH:MM-HH:MM`, led by the working days when some days are off
        (周一至周五 09:00-18:00 / Mon-Fri 09:00-18:00) or by 每天 / daily when none are."""
        close = self.close.strftime("%H:%M") if self.close else "24:00"
        window = f"{self.open.strftime('%H:%M')}-{close}"
        if not locale:
            return window
        zh = locale.lower().startswith("zh")
        names = _ZH_DAYS if zh else _EN_DAYS
        worked = [i for i, day in enumerate(DAYS) if day in self.days]
        if len(worked) == len(DAYS):
            days = "每天" if zh else "daily"
        elif worked == list(range(worked[0], worked[-1] + 1)) and len(worked) > 2:
            days = f"{names[worked[0]]}至{names[worked[-1]]}" if zh else f"{names[worked[0]]}-{names[worked[-1]]}"
        else:
            days = ("、" if zh else ", ").join(names[i] for i in worked)
        return f"{days} {window}"

    def _local(self, at: datetime | float) -> datetime:
        zone = ZoneInfo(self.timezone)
        if isinstance(at, datetime):
            return (at if at.tzinfo is not None else at.replace(tzinfo=UTC)).astimezone(zone)
        return datetime.fromtimestamp(at, zone)

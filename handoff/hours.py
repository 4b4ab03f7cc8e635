"""Business hours of the advisors' desk in the platform's timezone."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo

from assistant.errors import ConfigError


def _parse(value: str) -> time:
    try:
        return time.fromisoformat(value)
    except ValueError as exc:
        raise ConfigError(f"business hours: {value!r} is not a HH:MM time") from exc


@dataclass(frozen=True)
class BusinessHours:
    """Daily opening hours (`open` < `close`, same day) in `timezone`."""

    open: str = "09:00"
    close: str = "22:00"
    timezone: str = "Asia/Shanghai"

    def __post_init__(self) -> None:
        if _parse(self.open) >= _parse(self.close):
            raise ConfigError(f"business hours: open {self.open} must be before close {self.close}")
        try:
            ZoneInfo(self.timezone)
        except (KeyError, ValueError) as exc:
            raise ConfigError(f"business hours: unknown timezone {self.timezone!r}") from exc

    @property
    def label(self) -> str:
        """The hours as shown to users, e.g. `09:00–22:00`."""
        return f"{self.open}–{self.close}"

    def is_open(self, at: float) -> bool:
        """True while the desk is staffed."""
        local = datetime.fromtimestamp(at, ZoneInfo(self.timezone)).time()
        return _parse(self.open) <= local < _parse(self.close)

    def next_open(self, at: float) -> float:
        """`at` itself when open, else the next opening time."""
        if self.is_open(at):
            return at
        zone = ZoneInfo(self.timezone)
        local = datetime.fromtimestamp(at, zone)
        opening = datetime.combine(local.date(), _parse(self.open), zone)
        if opening <= local:
            opening = datetime.combine(local.date() + timedelta(days=1), _parse(self.open), zone)
        return opening.timestamp()

"""Business hours, one type for the dialogue engine and the advisors' desk: days, timezones, holidays, DST."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from api.runtime import Overrides
from app import create_app
from assistant.auth import issue_agent_token
from assistant.dialogue import DialogueEngine, parse_flows, parse_policy
from assistant.dialogue.policy import BusinessHours as PolicyBusinessHours
from assistant.errors import ConfigError
from handoff.agents import AgentDirectory
from handoff.hours import DAYS, BusinessHours
from storage.bus import InMemoryEventBus
from storage.sqlite import SqliteStore
from tests.api.conftest import wait_ready
from tests.dialogue.conftest import FLOWS_DOC
from tests.dialogue.fakes import FakeIntents, FakeKB
from tests.handoff.conftest import SECRET, T0, fast_hasher, isolated_settings

WEEKDAYS = ("mon", "tue", "wed", "thu", "fri")
# Monday 2025-01-06 … Monday 2025-01-13; Shanghai is UTC+8 all year.
SHANGHAI_OFFICE = BusinessHours("Asia/Shanghai", WEEKDAYS, time(9, 0), time(18, 0))


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)  # type: ignore[misc]


def test_the_policy_and_the_desk_share_one_type() -> None:
    assert PolicyBusinessHours is BusinessHours
    assert parse_policy({}, "policy.yaml").business_hours == BusinessHours()


@pytest.mark.parametrize(
    ("moment", "expected"),
    [
        (utc(2025, 1, 10, 9, 59), True),  # Friday 17:59 in Shanghai
        (utc(2025, 1, 10, 10, 0), False),  # Friday 18:00: closed
        (utc(2025, 1, 10, 17, 30), False),  # still Friday in UTC, but Saturday 01:30 in Shanghai
        (utc(2025, 1, 11, 3, 0), False),  # Saturday 11:00
        (utc(2025, 1, 12, 23, 0), False),  # Sunday in UTC, Monday 07:00 in Shanghai: not yet open
        (utc(2025, 1, 13, 0, 59), False),  # Monday 08:59
        (utc(2025, 1, 13, 1, 0), True),  # Monday 09:00
        (datetime(2025, 1, 13, 1, 0), True),  # a naive datetime is UTC
    ],
)
def test_weekends_and_the_local_day_decide(moment: datetime, expected: bool) -> None:
    assert SHANGHAI_OFFICE.is_open(moment) is expected
    assert SHANGHAI_OFFICE.is_open(moment.replace(tzinfo=moment.tzinfo or UTC).timestamp()) is expected


def test_a_message_left_on_friday_evening_is_due_after_monday_opening() -> None:
    friday_evening = utc(2025, 1, 10, 11, 0).timestamp()  # 19:00 in Shanghai
    assert SHANGHAI_OFFICE.next_open(friday_evening) == utc(2025, 1, 13, 1, 0).timestamp()
    monday_early = utc(2025, 1, 12, 23, 0).timestamp()  # Monday 07:00 in Shanghai
    assert SHANGHAI_OFFICE.next_open(monday_early) == utc(2025, 1, 13, 1, 0).timestamp()
    open_now = utc(2025, 1, 13, 2, 0).timestamp()
    assert SHANGHAI_OFFICE.next_open(open_now) == open_now


def test_holidays_close_the_desk_and_push_the_opening() -> None:
    hours = BusinessHours("Asia/Shanghai", WEEKDAYS, time(9, 0), time(18, 0), (date(2025, 1, 13), date(2025, 1, 14)))
    assert not hours.is_open(utc(2025, 1, 13, 3, 0))  # Monday noon, a holiday
    assert hours.next_open(utc(2025, 1, 10, 11, 0).timestamp()) == utc(2025, 1, 15, 1, 0).timestamp()  # Wednesday


def test_opening_follows_the_wall_clock_across_a_dst_change() -> None:
    berlin = BusinessHours("Europe/Berlin", WEEKDAYS, time(9, 0), time(17, 0))
    friday_evening = utc(2025, 3, 28, 17, 0).timestamp()  # 18:00 CET; clocks go forward on Sunday
    assert berlin.next_open(friday_evening) == utc(2025, 3, 31, 7, 0).timestamp()  # 09:00 CEST, not 08:00 UTC
    assert not berlin.is_open(utc(2025, 3, 31, 6, 30))  # 08:30 CEST
    assert berlin.is_open(utc(2025, 10, 27, 8, 0))  # 09:00 CET after the clocks went back


def test_an_overnight_shift_belongs_to_the_day_it_opens() -> None:
    night = BusinessHours("UTC", ("fri",), time(20, 0), time(2, 0))
    assert night.is_open(utc(2025, 1, 10, 23, 0))  # Friday night
    assert night.is_open(utc(2025, 1, 11, 1, 0))  # Saturday early: Friday's shift
    assert not night.is_open(utc(2025, 1, 11, 23, 0))  # Saturday night: no shift
    assert not night.is_open(utc(2025, 1, 10, 1, 0))  # Friday early: Thursday had no shift
    assert night.next_open(utc(2025, 1, 11, 3, 0).timestamp()) == utc(2025, 1, 17, 20, 0).timestamp()
    with_holiday = BusinessHours("UTC", ("fri",), time(20, 0), time(2, 0), (date(2025, 1, 10),))
    assert not with_holiday.is_open(utc(2025, 1, 11, 1, 0))


def test_the_window_reads_as_users_see_it() -> None:
    assert BusinessHours().describe() == "09:00-22:00"
    assert BusinessHours(open=time(0, 0), close=None).describe() == "00:00-24:00"
    assert BusinessHours().describe("zh-CN") == "每天 09:00-22:00"
    weekdays = BusinessHours(days=("mon", "tue", "wed", "thu", "fri"), close=time(18, 0))
    assert weekdays.describe("zh-CN") == "周一至周五 09:00-18:00"
    assert weekdays.describe("en") == "Mon-Fri 09:00-18:00"
    assert BusinessHours(days=("sat", "sun")).describe("en") == "Sat, Sun 09:00-22:00"
    assert BusinessHours(timezone="UTC", open=time(0, 0), close=None).is_open(utc(2025, 1, 6, 23, 59, 59))


def test_impossible_schedules_are_refused() -> None:
    with pytest.raises(ConfigError, match="timezone"):
        BusinessHours(timezone="Mars/Olympus")
    with pytest.raises(ConfigError, match="days"):
        BusinessHours(days=())
    with pytest.raises(ConfigError, match="days"):
        BusinessHours(days=("monday",))
    with pytest.raises(ConfigError, match="open and close"):
        BusinessHours(open=time(9, 0), close=time(9, 0))


def test_policy_file_holidays_and_errors_name_the_field() -> None:
    doc = {"business_hours": {"days": ["MON", "tue"], "holidays": [date(2025, 10, 1), "2025-10-02", "2025-10-01"]}}
    hours = parse_policy(doc, "policy.yaml").business_hours
    assert hours.days == ("mon", "tue")
    assert hours.holidays == (date(2025, 10, 1), date(2025, 10, 2))
    bad = [
        ({"holidays": ["10/01/2025"]}, "field 'business_hours.holidays[0]' must be a date"),
        ({"days": []}, "field 'business_hours.days' must name at least one day"),
        ({"open": "09:00", "close": "09:00"}, "field 'business_hours' is inconsistent"),
    ]
    for section, message in bad:
        with pytest.raises(ConfigError, match=message.replace("[", r"\[").replace("]", r"\]")):
            parse_policy({"business_hours": section}, "policy.yaml")


def test_the_old_desk_default_is_kept() -> None:
    hours = BusinessHours()
    assert hours.days == DAYS
    assert hours.is_open(T0)  # 12:00 in Shanghai
    assert hours.next_open(T0 - 6 * 3600) == T0 - 3 * 3600  # 06:00 → 09:00 the same day


# -- through the app: the policy's days reach the advisors' desk --------------------------------------------


@pytest.fixture
def closed_today(tmp_path: Path) -> Iterator[tuple[TestClient, datetime]]:
    """The app with a policy whose desk works around the clock, every day but today (UTC)."""
    today = datetime.now(UTC).date()
    days = [d for d in DAYS if d != DAYS[today.weekday()]]
    policy = parse_policy({"business_hours": {"timezone": "UTC", "days": days, "open": "00:00", "close": "24:00"}})
    engine = DialogueEngine(FakeKB(), FakeIntents(), flows=parse_flows(FLOWS_DOC, "flows.yaml"), policy=policy)
    settings = isolated_settings(tmp_path, store_url=f"sqlite:///{tmp_path / 'a.db'}", log_json=False)
    overrides = Overrides(store=SqliteStore(tmp_path / "a.db"), bus=InMemoryEventBus(), engine=engine)
    with TestClient(create_app(settings, overrides)) as client:
        wait_ready(client)
        yield client, datetime.combine(today + timedelta(days=1), time(0, 0), UTC)


def test_a_handoff_on_a_day_off_is_a_message_due_when_the_desk_next_opens(
    closed_today: tuple[TestClient, datetime],
) -> None:
    client, tomorrow = closed_today
    conv = client.post("/v1/conversations").json()
    auth = {"Authorization": f"Bearer {conv['token']}"}
    turn = client.post(f"/v1/conversations/{conv['conversation_id']}/messages", json={"text": "转人工"}, headers=auth)
    assert turn.json()["action"] == "handoff"
    assert "00:00-24:00" in turn.json()["reply"]["text"]  # the bot says advisors are offline
    transcript = client.get(f"/v1/conversations/{conv['conversation_id']}/messages", headers=auth).json()
    assert any("非工作时间" in m["text"] for m in transcript["messages"] if m["role"] == "system")

    runtime = client.app.state.runtime  # type: ignore[attr-defined]
    agent = AgentDirectory(runtime.store, fast_hasher()).create("alice", "correct-horse-battery").identity
    headers = {"Authorization": f"Bearer {issue_agent_token(agent, SECRET, 3600)}"}
    [ticket] = client.get("/v1/handoff/tickets", headers=headers).json()["tickets"]
    assert ticket["kind"] == "message"
    assert ticket["sla_deadline"] == tomorrow.timestamp() + 60 * 60  # free tier: 60 min after opening

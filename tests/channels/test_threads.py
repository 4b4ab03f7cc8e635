"""External threads → conversations (idle rollover, handoffs keep their advisor), and who a follower is."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from assistant.auth import UserIdentity
from assistant.errors import ConfigError, Conflict
from channels.conversations import ChannelConversations
from channels.users import StaticUserDirectory
from tests.channels.conftest import ChannelsApp
from tests.handoff.conftest import FakeClock

DAY = 24 * 3600.0


@pytest.fixture
def threads(app: ChannelsApp) -> tuple[ChannelConversations, FakeClock]:
    clock = FakeClock(1_800_000_000.0)
    chat = app.runtime.components["services"].chat
    return ChannelConversations(app.runtime.store, lambda: chat, clock=clock), clock


def test_an_idle_thread_starts_a_new_conversation(threads: tuple[ChannelConversations, FakeClock]) -> None:
    conversations, clock = threads
    me = UserIdentity("wechat:o-1")
    first = conversations.resolve("wechat", "o-1", me, idle_seconds=DAY)
    clock.advance(DAY - 60)
    assert conversations.resolve("wechat", "o-1", me, idle_seconds=DAY).id == first.id
    clock.advance(DAY - 60)  # idle time counts from the last message, not from the start
    assert conversations.resolve("wechat", "o-1", me, idle_seconds=DAY).id == first.id
    clock.advance(DAY + 1)
    assert conversations.resolve("wechat", "o-1", me, idle_seconds=DAY).id != first.id


def test_a_thread_with_an_advisor_never_goes_idle(
    app: ChannelsApp, threads: tuple[ChannelConversations, FakeClock]
) -> None:
    conversations, clock = threads
    me = UserIdentity("wechat:o-2")
    first = conversations.resolve("wechat", "o-2", me, idle_seconds=DAY)
    app.runtime.components["services"].chat.post(first.id, quick_reply="handoff")
    clock.advance(3 * DAY)
    assert conversations.resolve("wechat", "o-2", me, idle_seconds=DAY).id == first.id


def test_a_thread_belongs_to_one_user(threads: tuple[ChannelConversations, FakeClock]) -> None:
    conversations, _ = threads
    first = conversations.resolve("crm", "t-1", UserIdentity("u-1"))
    with pytest.raises(Conflict):
        conversations.resolve("crm", "t-1", UserIdentity("u-2"))
    # A follower the operator re-mapped to another platform user simply starts afresh.
    moved = conversations.resolve("crm", "t-1", UserIdentity("u-2"), reassign=True)
    assert moved.id != first.id
    assert moved.user_id == "u-2"


def test_a_plugged_in_directory_decides_the_tier(app: ChannelsApp) -> None:
    class Platform:
        def lookup(self, openid: str) -> UserIdentity:
            return UserIdentity(id=f"member-of-{openid}", tier="member", name="会员")

    app.runtime.components["wechat_users"] = Platform()
    app.say("课程怎么退款", openid="o-plug")
    [conversation] = app.runtime.components["services"].chat.repo.list_for_user("member-of-o-plug")
    assert conversation.tier == "member"


@pytest.mark.parametrize(
    "content",
    ['{"o-1": {"tier": "platinum"}}', '["o-1"]', '{"o-1": "vip"}', "{not json"],
    ids=["unknown tier", "not an object", "entry not an object", "broken json"],
)
def test_a_bad_users_file_fails_at_start_up(tmp_path: Path, content: str) -> None:
    path = tmp_path / "users.json"
    path.write_text(content, encoding="utf-8")
    with pytest.raises(ConfigError, match="users"):
        StaticUserDirectory.from_file(path)


def test_users_file_defaults(tmp_path: Path) -> None:
    path = tmp_path / "users.json"
    path.write_text(json.dumps({"o-1": {"tier": "vip"}}), encoding="utf-8")
    directory = StaticUserDirectory.from_file(path)
    assert directory.lookup("o-1") == UserIdentity("wechat:o-1", "vip", "")
    assert directory.lookup("o-2") == UserIdentity("wechat:o-2", "free", "")

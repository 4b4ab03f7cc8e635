"""The contract every `Store` passes, run against SQLite and a real redis-server alike."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest

from storage.ports import Store, StoredEvent
from tests.storage.conftest import Backend

# -- documents -----------------------------------------------------------------------------------------


def test_put_get_roundtrips_json_exactly(store: Store) -> None:
    doc = {
        "title": "如何开发票？",
        "at": 1712345678.1234567,
        "tags": [],
        "meta": {},
        "paid": True,
        "count": 0,
        "nested": {"list": [1, 2.5, None, "x"]},
    }
    store.put("faq", "f1", doc)

    assert store.get("faq", "f1") == doc
    assert store.get("faq", "missing") is None
    assert store.get("ticket", "f1") is None


def test_get_returns_a_copy(store: Store) -> None:
    store.put("user", "u1", {"name": "小明"})
    store.get("user", "u1")["name"] = "changed"  # type: ignore[index]

    assert store.get("user", "u1") == {"name": "小明"}


def test_put_replaces_and_keeps_the_owner_unless_given(store: Store) -> None:
    store.put("conversation", "c1", {"status": "bot", "v": 1}, owner="u1")
    store.put("conversation", "c1", {"status": "bot", "v": 2})

    assert store.get("conversation", "c1") == {"status": "bot", "v": 2}
    assert store.owners_of("conversation", "c1") == "u1"

    store.put("conversation", "c1", {"v": 3}, owner="u2")
    assert store.owners_of("conversation", "c1") == "u2"
    assert store.list("conversation", owner="u1") == []
    assert store.list("conversation", owner="u2") == [{"v": 3}]


def test_list_filters_by_kind_owner_and_where(store: Store) -> None:
    store.put("ticket", "t2", {"status": "open", "vip": True, "n": 1}, owner="u1")
    store.put("ticket", "t1", {"status": "open", "vip": False, "n": 1}, owner="u2")
    store.put("ticket", "t3", {"status": "closed", "n": 2}, owner="u1")
    store.put("agent", "a1", {"status": "open"})

    assert [d["n"] for d in store.list("ticket")] == [1, 1, 2]  # ordered by id: t1, t2, t3
    assert [d["vip"] for d in store.list("ticket", where={"status": "open"})] == [False, True]
    assert store.list("ticket", owner="u1", where={"status": "closed"}) == [{"status": "closed", "n": 2}]
    assert store.list("ticket", owner="nobody") == []
    assert store.list("faq") == []
    # JSON keeps true and 1 apart; a missing field reads as null.
    assert store.list("ticket", where={"vip": 1}) == []
    assert store.list("ticket", where={"vip": None}) == [{"status": "closed", "n": 2}]


def test_delete_removes_the_document_and_its_owner_link(store: Store) -> None:
    store.put("ticket", "t1", {"status": "open"}, owner="u1")

    assert store.delete("ticket", "t1") is True
    assert store.delete("ticket", "t1") is False
    assert store.get("ticket", "t1") is None
    assert store.owners_of("ticket", "t1") is None
    assert store.list("ticket") == []
    assert store.list("ticket", owner="u1") == []


def test_owners_of_is_none_without_owner(store: Store) -> None:
    store.put("faq", "f1", {"q": "?"})

    assert store.owners_of("faq", "f1") is None
    assert store.owners_of("faq", "missing") is None


@pytest.mark.parametrize("kind", ["", "faq:v2"])
def test_kinds_must_be_plain_names(store: Store, kind: str) -> None:
    with pytest.raises(ValueError, match="kind"):
        store.put(kind, "x", {})


def test_update_if_applies_changes_only_when_expected_fields_match(store: Store) -> None:
    store.put("ticket", "t1", {"status": "open", "agent": None, "priority": 2}, owner="u1")

    assert store.update_if("ticket", "t1", {"status": "closed"}, {"agent": "a1"}) is None
    assert store.get("ticket", "t1") == {"status": "open", "agent": None, "priority": 2}

    claimed = store.update_if("ticket", "t1", {"status": "open", "agent": None}, {"status": "claimed", "agent": "a1"})
    assert claimed == {"status": "claimed", "agent": "a1", "priority": 2}
    assert store.get("ticket", "t1") == claimed
    assert store.owners_of("ticket", "t1") == "u1"


def test_update_if_on_missing_document_is_none(store: Store) -> None:
    assert store.update_if("ticket", "nope", {}, {"status": "x"}) is None
    assert store.update_if("ticket", "nope", {"status": None}, {"status": "x"}) is None
    assert store.get("ticket", "nope") is None


def test_update_if_with_empty_expected_updates_unconditionally(store: Store) -> None:
    store.put("ticket", "t1", {"status": "open"})

    assert store.update_if("ticket", "t1", {}, {"note": "新备注"}) == {"status": "open", "note": "新备注"}


def test_update_if_expecting_null_matches_a_missing_field(store: Store) -> None:
    store.put("ticket", "t1", {"status": "open"})

    assert store.update_if("ticket", "t1", {"agent": None}, {"agent": "a1"}) == {
        "status": "open",
        "agent": "a1",
    }
    assert store.update_if("ticket", "t1", {"agent": None}, {"agent": "a2"}) is None


def test_top_lists_scored_documents_highest_first_and_bounded(store: Store) -> None:
    for doc_id, score in [("t1", 30.0), ("t2", 10.0), ("t3", 20.0), ("t4", 20.0), ("t5", 5.5)]:
        store.put("ticket", doc_id, {"id": doc_id}, owner="u1")
        assert store.update_if("ticket", doc_id, {}, {"scored": True}, score=score) is not None
    store.put("ticket", "t0", {"id": "t0"})  # never scored: not listed
    store.put("faq", "f1", {"id": "f1"})
    assert store.update_if("faq", "f1", {}, {}, score=99.0) is not None  # another kind

    assert [d["id"] for d in store.top("ticket", 10)] == ["t1", "t3", "t4", "t2", "t5"]  # ties by id
    assert [d["id"] for d in store.top("ticket", 2)] == ["t1", "t3"]
    assert store.top("ticket", 0) == []
    assert store.top("nothing", 5) == []


def test_a_score_survives_later_writes_and_goes_with_the_document(store: Store) -> None:
    store.put("ticket", "t1", {"n": 1}, owner="u1")
    store.put("ticket", "t2", {"n": 2}, owner="u1")
    store.update_if("ticket", "t1", {}, {}, score=1.0)
    store.update_if("ticket", "t2", {}, {}, score=2.0)

    assert store.update_if("ticket", "t2", {"n": 3}, {}, score=0.5) is None  # no match: score unchanged too
    store.update_if("ticket", "t1", {}, {"n": 10})  # no score given: keeps its own
    store.put("ticket", "t2", {"n": 20})
    assert store.top("ticket", 5) == [{"n": 20}, {"n": 10}]
    store.update_if("ticket", "t1", {}, {}, score=3.0)
    assert store.top("ticket", 5) == [{"n": 10}, {"n": 20}]

    assert store.delete("ticket", "t1")
    assert store.top("ticket", 5) == [{"n": 20}]
    store.put("ticket", "t1", {"n": 11}, owner="u1")  # a new document under the old id starts unscored
    assert store.top("ticket", 5) == [{"n": 20}]


def test_scores_must_be_finite(store: Store) -> None:
    store.put("ticket", "t1", {})
    with pytest.raises(ValueError, match="score"):
        store.update_if("ticket", "t1", {}, {}, score=float("nan"))


def _run_in_threads(count: int, target: Callable[[int], None]) -> None:
    threads = [threading.Thread(target=target, args=(i,)) for i in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()


def test_1000_concurrent_claims_of_one_ticket_have_exactly_one_winner(backend: Backend) -> None:
    # Two store objects stand for two app workers racing on the same data.
    workers = [backend.open(), backend.open()]
    workers[0].put("ticket", "t1", {"status": "open", "agent": None})
    go = threading.Barrier(32)
    winners: list[dict[str, Any]] = []

    def agent(a: int) -> None:
        go.wait()  # released together, so the first attempts really overlap
        for attempt in range(a, 1000, 32):
            claimed = workers[a % 2].update_if(
                "ticket", "t1", {"status": "open"}, {"status": "claimed", "agent": attempt}
            )
            if claimed is not None:
                winners.append(claimed)

    _run_in_threads(32, agent)

    assert len(winners) == 1
    assert workers[1].get("ticket", "t1") == winners[0]


def test_1000_claim_races_have_no_double_claims(backend: Backend) -> None:
    workers = [backend.open(), backend.open()]
    for t in range(1000):
        workers[0].put("ticket", f"t{t}", {"status": "open"})
    racers = 8
    round_start = threading.Barrier(racers)
    wins: list[list[int]] = [[] for _ in range(1000)]

    def agent(a: int) -> None:
        for t in range(1000):
            round_start.wait()  # every agent goes for the same ticket at the same moment
            if workers[a % 2].update_if("ticket", f"t{t}", {"status": "open"}, {"status": "claimed", "agent": a}):
                wins[t].append(a)

    _run_in_threads(racers, agent)

    assert [len(w) for w in wins] == [1] * 1000
    assert [workers[1].get("ticket", f"t{t}") for t in range(1000)] == [
        {"status": "claimed", "agent": w[0]} for w in wins
    ]


# -- messages ------------------------------------------------------------------------------------------


def test_append_message_numbers_each_conversation_from_one(store: Store) -> None:
    first = store.append_message("c1", "user", "你好", {"channel": "web"}, at=100.0)
    second = store.append_message("c1", "bot", "您好！", {"quick_replies": ["退款", "发票"]})
    other = store.append_message("c2", "user", "hi")

    assert first is not None
    assert second is not None
    assert other is not None
    assert (first.seq, second.seq, other.seq) == (1, 2, 1)
    assert first.created_at == 100.0
    assert first.data == {"channel": "web"}
    assert abs(second.created_at - time.time()) < 60
    assert len({first.id, second.id, other.id}) == 3
    assert store.list_messages("c1") == [first, second]
    assert store.get_message(second.id) == second
    assert store.get_message("missing") is None


def test_list_messages_after_seq_and_limit(store: Store) -> None:
    for i in range(5):
        store.append_message("c1", "user", f"m{i}")

    assert [m.text for m in store.list_messages("c1", after_seq=2)] == ["m2", "m3", "m4"]
    assert [m.seq for m in store.list_messages("c1", after_seq=1, limit=2)] == [2, 3]
    assert store.list_messages("c1", after_seq=5) == []
    assert store.list_messages("c1", limit=0) == []
    assert store.list_messages("nobody") == []


def test_append_with_require_writes_only_while_the_conversation_matches(store: Store) -> None:
    store.put("conversation", "c1", {"status": "bot"})

    reply = store.append_message("c1", "bot", "答案", require={"status": "bot"})
    assert reply is not None
    assert reply.seq == 1

    store.update_if("conversation", "c1", {"status": "bot"}, {"status": "agent"})
    assert store.append_message("c1", "bot", "迟到的回答", require={"status": "bot"}) is None
    assert store.append_message("c2", "bot", "no conversation", require={"status": "bot"}) is None

    agent = store.append_message("c1", "agent", "我来帮您")
    assert agent is not None
    assert agent.seq == 2
    assert [m.text for m in store.list_messages("c1")] == ["答案", "我来帮您"]
    assert store.list_messages("c2") == []


def test_concurrent_appends_get_unique_gapless_seqs(backend: Backend) -> None:
    workers = [backend.open(), backend.open()]

    def append(i: int) -> int:
        message = workers[i % 2].append_message("c1", "user", f"m{i}")
        assert message is not None
        return message.seq

    with ThreadPoolExecutor(max_workers=16) as pool:
        seqs = sorted(pool.map(append, range(160)))

    assert seqs == list(range(1, 161))
    assert [m.seq for m in workers[0].list_messages("c1")] == seqs


def test_bot_replies_in_flight_lose_to_an_agent_claim(backend: Backend) -> None:
    workers = [backend.open(), backend.open()]
    workers[0].put("conversation", "c1", {"status": "bot"})
    started = threading.Barrier(5)

    def bot(i: int) -> None:
        started.wait()
        while workers[i % 2].append_message("c1", "bot", f"reply {i}", require={"status": "bot"}) is not None:
            pass

    threads = [threading.Thread(target=bot, args=(i,)) for i in range(4)]
    for thread in threads:
        thread.start()
    started.wait()
    time.sleep(0.05)
    assert workers[1].update_if("conversation", "c1", {"status": "bot"}, {"status": "agent"}) is not None
    handover = workers[1].append_message("c1", "agent", "我是人工客服")
    for thread in threads:
        thread.join()

    assert handover is not None
    log = workers[0].list_messages("c1")
    assert [m.seq for m in log] == list(range(1, len(log) + 1))
    assert all(m.seq < handover.seq for m in log if m.role == "bot")


def test_delete_messages_removes_the_whole_log(store: Store) -> None:
    kept = store.append_message("c2", "user", "keep")
    ids = [m.id for m in (store.append_message("c1", "user", str(i)) for i in range(3)) if m is not None]

    assert store.delete_messages("c1") == 3
    assert store.delete_messages("c1") == 0
    assert store.list_messages("c1") == []
    assert all(store.get_message(i) is None for i in ids)
    assert store.list_messages("c2") == [kept]
    restarted = store.append_message("c1", "user", "again")
    assert restarted is not None
    assert restarted.seq == 1


# -- events --------------------------------------------------------------------------------------------


def _event(type_: str, at: float, user: str = "", conversation: str = "", **data: object) -> StoredEvent:
    return StoredEvent(type=type_, at=at, conversation_id=conversation, user_id=user, data=dict(data))


def test_events_are_read_by_time_range_and_type(store: Store) -> None:
    store.append_events([_event("turn", 30.0, "u1", "c1", intent="refund"), _event("handoff", 10.0, "u1", "c1")])
    store.append_events([_event("turn", 20.0, "u2", "c2", intent="发票"), _event("turn", 40.0)])
    store.append_events([])

    everything = list(store.iter_events(0, 100))
    assert [e.at for e in everything] == [10.0, 20.0, 30.0, 40.0]
    assert (everything[0].type, everything[0].user_id, everything[0].conversation_id) == (
        "handoff",
        "u1",
        "c1",
    )
    assert everything[1].data == {"intent": "发票"}
    ids = {e.at: e.id for e in everything}
    assert ids[30.0] < ids[10.0] < ids[20.0] < ids[40.0]  # ids follow the order of appending
    assert [e.at for e in store.iter_events(20.0, 40.0)] == [20.0, 30.0]  # start <= at < end
    assert [e.at for e in store.iter_events(0, 100, types=["turn"])] == [20.0, 30.0, 40.0]
    assert list(store.iter_events(0, 100, types=[])) == []
    assert list(store.iter_events(50, 60)) == []
    assert [e.at for e in store.iter_events(float("-inf"), float("inf"), types=["handoff"])] == [10.0]


def test_event_and_message_times_read_back_as_floats(store: Store) -> None:
    store.append_events([_event("turn", 7)])
    message = store.append_message("c1", "user", "hi", at=8)

    assert [type(e.at) for e in store.iter_events(0, 10)] == [float]
    assert message is not None
    assert [type(m.created_at) for m in store.list_messages("c1")] == [float]


def test_iter_events_pages_through_many_events_with_equal_times(store: Store) -> None:
    # More events than a page, many sharing a timestamp, to exercise paging across ties.
    events = [_event("turn", float(i // 300), n=i) for i in range(1300)]
    store.append_events(events)

    read = list(store.iter_events(0, 10))
    assert [e.data["n"] for e in read] == list(range(1300))
    assert len({e.id for e in read}) == 1300


def test_delete_events_by_user_and_by_conversation(store: Store) -> None:
    store.append_events(
        [
            _event("turn", 1.0, "u1", "c1"),
            _event("turn", 2.0, "u1", "c2"),
            _event("turn", 3.0, "u2", "c3"),
            _event("turn", 4.0, "u2", "c4"),
            _event("turn", 5.0),
        ]
    )

    assert store.delete_events(user_id="u1") == 2
    assert store.delete_events(user_id="u1") == 0
    assert store.delete_events(conversation_id="c3") == 1
    assert [e.at for e in store.iter_events(0, 10)] == [4.0, 5.0]
    assert store.delete_events(user_id="u2", conversation_id="c4") == 1
    with pytest.raises(ValueError):
        store.delete_events()


# -- keys ----------------------------------------------------------------------------------------------


def test_set_once_dedups_until_the_key_expires(store: Store) -> None:
    assert store.set_once("msg:wx-1", "1", ttl_seconds=0.3) is True
    assert store.set_once("msg:wx-1", "2", ttl_seconds=0.3) is False
    assert store.get_key("msg:wx-1") == "1"

    time.sleep(0.4)
    assert store.get_key("msg:wx-1") is None
    assert store.set_once("msg:wx-1", "3", ttl_seconds=10) is True
    assert store.get_key("msg:wx-1") == "3"


def test_set_get_delete_keys(store: Store) -> None:
    store.set_key("idem:1", "结果")
    store.set_key("idem:1", "result")
    store.set_key("short", "x", ttl_seconds=0.2)

    assert store.get_key("idem:1") == "result"
    assert store.get_key("short") == "x"
    assert store.get_key("missing") is None
    store.delete_key("idem:1")
    store.delete_key("missing")
    assert store.get_key("idem:1") is None
    time.sleep(0.3)
    assert store.get_key("short") is None


def test_hit_counts_in_a_fixed_window_from_the_first_hit(store: Store) -> None:
    assert [store.hit("rate:u1", 0.3) for _ in range(3)] == [1, 2, 3]
    assert store.hit("rate:u2", 0.3) == 1

    time.sleep(0.4)
    assert store.hit("rate:u1", 0.3) == 1


def test_concurrent_hits_are_all_counted(backend: Backend) -> None:
    workers = [backend.open(), backend.open()]
    with ThreadPoolExecutor(max_workers=8) as pool:
        counts = sorted(pool.map(lambda i: workers[i % 2].hit("rate:u1", 60), range(100)))

    assert counts == list(range(1, 101))


def test_a_lock_key_has_one_holder_among_workers_until_released_or_expired(backend: Backend) -> None:
    workers = [backend.open(), backend.open()]
    with ThreadPoolExecutor(max_workers=8) as pool:
        won = list(pool.map(lambda i: workers[i % 2].set_once("lock:turn:c1", "1", 0.3), range(20)))

    assert won.count(True) == 1
    workers[1].delete_key("lock:turn:c1")
    assert workers[0].set_once("lock:turn:c1", "1", 0.3) is True
    time.sleep(0.4)
    assert workers[1].set_once("lock:turn:c1", "1", 0.3) is True


# -- the store as a whole ------------------------------------------------------------------------------


def test_writes_of_a_write_group_are_all_stored_when_it_ends(backend: Backend) -> None:
    store, other = backend.open(), backend.open()
    store.put("conversation", "c1", {"mode": "bot"})
    with store.write_group():
        store.put("dialogue_state", "c1", {"turn_count": 1})
        reply = store.append_message("c1", "bot", "您好", require={"mode": "bot"})
        store.append_events([StoredEvent("turn", 1.0, "c1", "u1", {"action": "answer"})])

    assert reply is not None
    assert other.get("dialogue_state", "c1") == {"turn_count": 1}
    assert other.list_messages("c1") == [reply]
    assert [e.type for e in other.events_of(conversation_id="c1")] == ["turn"]


def test_data_survives_closing_and_reopening(backend: Backend) -> None:
    store = backend.open()
    store.put("user", "u1", {"name": "小明"}, owner="u1")
    message = store.append_message("c1", "user", "我想退款")
    store.append_events([_event("turn", 5.0, "u1", "c1")])
    store.set_key("idem:1", "done")
    store.close()

    reopened = backend.open()
    assert reopened.ping() is True
    assert reopened.get("user", "u1") == {"name": "小明"}
    assert reopened.owners_of("user", "u1") == "u1"
    assert reopened.list_messages("c1") == [message]
    assert [e.user_id for e in reopened.iter_events(0, 10)] == ["u1"]
    assert reopened.get_key("idem:1") == "done"
    later = reopened.append_message("c1", "bot", "好的")
    assert later is not None
    assert later.seq == 2


def test_erasure_leaves_no_trace_in_the_dump(store: Store) -> None:
    secret = "张三的手机号13800138000"
    store.put("user", "u-erase", {"name": secret}, owner="u-erase")
    store.update_if("user", "u-erase", {}, {}, score=1.0)
    store.put("conversation", "c-erase", {"summary": secret}, owner="u-erase")
    store.append_message("c-erase", "user", secret, {"echo": secret})
    store.append_events([_event("turn", 1.0, "u-erase", "c-erase", text=secret), _event("turn", 2.0, "u-keep")])
    store.set_key("idem:u-erase", secret)
    store.put("faq", "f1", {"q": "如何退款"})
    dump = store.dump_text()
    assert secret in dump
    assert "u-erase" in dump
    assert "c-erase" in dump

    assert store.delete("user", "u-erase")
    assert store.delete("conversation", "c-erase")
    store.delete_messages("c-erase")
    store.delete_events(user_id="u-erase")
    store.delete_key("idem:u-erase")

    dump = store.dump_text()
    assert secret not in dump
    assert "u-erase" not in dump
    assert "c-erase" not in dump
    assert "如何退款" in dump
    assert "u-keep" in dump

"""Channel state shared by workers on both store backends: dedup claims, the token cache, delivery leases."""

from __future__ import annotations

import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor

from channels.dedup import OnceGate
from channels.subscriptions import WebhookSubscriptions
from channels.webhook_queue import DeliveryQueue
from channels.wechat_api import WeChatApiClient
from storage.ports import Store
from tests.channels.fakes import APP_ID, APP_SECRET, FakeWeChatApi, RecordingServer

WORKERS = 8


def _race(action: Callable[[int], object]) -> list[object]:
    barrier = threading.Barrier(WORKERS)

    def run(index: int) -> object:
        barrier.wait()
        return action(index)

    with ThreadPoolExecutor(WORKERS) as pool:
        return list(pool.map(run, range(WORKERS)))


def test_each_delivery_is_claimed_once_and_retries_see_its_result(open_store: Callable[[], Store]) -> None:
    gates = [OnceGate(open_store(), "wechat", 60) for _ in range(2)]
    claims = _race(lambda i: gates[i % 2].claim("msg:1"))
    assert claims.count(True) == 1
    gates[0].finish("msg:1", {"text": "答案", "fate": "passive"})
    assert gates[1].wait("msg:1", 1.0) == {"text": "答案", "fate": "passive"}
    fates = _race(lambda i: gates[i % 2].decide("msg:2", "passive" if i % 2 else "deferred"))
    assert len(set(fates)) == 1  # every worker agrees on the one fate that was settled first


def test_one_access_token_for_all_workers(open_store: Callable[[], Store], server: RecordingServer) -> None:
    wechat = FakeWeChatApi(server)
    clients = [
        WeChatApiClient(open_store(), app_id=APP_ID, app_secret=APP_SECRET, api_base=server.url) for _ in range(2)
    ]
    tokens = _race(lambda i: clients[i % 2].access_token())
    assert set(tokens) == {"ACCESS-TOKEN-1"}
    assert wechat.issued == 1
    for client in clients:
        client.close()


def test_a_delivery_is_leased_by_exactly_one_worker(open_store: Callable[[], Store]) -> None:
    store = open_store()
    subscription = WebhookSubscriptions(store).subscribe("http://127.0.0.1:9/x", ["message.created"])
    queues = [DeliveryQueue(store), DeliveryQueue(open_store())]
    queues[0].enqueue(subscription, {"id": "evt_1", "type": "message.created"}, "{}", owner=None)
    [due], _ = queues[1].due(now=1e12)
    leases = _race(lambda i: queues[i % 2].lease(due, now=1e12))
    assert sum(lease is not None for lease in leases) == 1

"""The outbound-webhook worker: a background thread that sends due deliveries, signed, with exponential backoff."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from typing import Any

import httpx

from channels.signing import signed_headers
from channels.subscriptions import WebhookSubscriptions
from channels.webhook_queue import DEAD, DeliveryQueue

log = logging.getLogger(__name__)

BACKOFF_CAP_SECONDS = 3600.0
USER_AGENT = "zhixing-assistant-webhooks/1"


class WebhookDispatcher:
    """Sends queued deliveries; any number of workers may run it on one store (deliveries are leased)."""

    def __init__(
        self,
        queue: DeliveryQueue,
        subscriptions: WebhookSubscriptions,
        *,
        max_attempts: int = 6,
        backoff_seconds: float = 2.0,
        timeout_seconds: float = 5.0,
        poll_seconds: float = 1.0,
        http: httpx.Client | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.queue = queue
        self.subscriptions = subscriptions
        self.max_attempts = max_attempts
        self.backoff_seconds = backoff_seconds
        self._poll = poll_seconds
        self._http = http or httpx.Client(timeout=timeout_seconds, follow_redirects=False)
        self.clock = clock
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        """Run in a daemon thread until `stop()`."""
        if self._thread is None:
            self._thread = threading.Thread(target=self._loop, name="webhook-dispatcher", daemon=True)
            self._thread.start()

    def stop(self, timeout: float = 5.0) -> None:
        """Stop the thread (a delivery in flight finishes or times out) and close the HTTP client."""
        self._stop.set()
        self._wake.set()
        if self._thread is not None:
            self._thread.join(timeout)
            self._thread = None
        self._http.close()

    def wake(self) -> None:
        """Something was queued: look now instead of at the next poll."""
        self._wake.set()

    def delay(self, attempts: int) -> float:
        """Seconds before retry number `attempts` (1, 2, …): doubling from the base, capped at an hour."""
        return float(min(self.backoff_seconds * 2 ** (attempts - 1), BACKOFF_CAP_SECONDS))

    def run_once(self) -> float | None:
        """Send every due delivery once; returns when the next retry is due (None if nothing is scheduled)."""
        now = self.clock()
        self.queue.reclaim_expired(now)
        due, next_at = self.queue.due(now)
        if not due:
            return next_at
        for delivery in due:
            if self._stop.is_set():
                break
            leased = self.queue.lease(delivery, self.clock())
            if leased is not None:
                self._send(leased)
        _, next_at = self.queue.due(self.clock())
        return next_at

    def _loop(self) -> None:
        while not self._stop.is_set():
            next_at: float | None = None
            try:
                next_at = self.run_once()
            except Exception:  # a store hiccup must not kill the worker; the next round retries
                log.exception("webhook dispatcher round failed")
            wait = self._poll if next_at is None else min(self._poll, max(0.0, next_at - self.clock()))
            self._wake.wait(wait)
            self._wake.clear()

    def _send(self, delivery: dict[str, Any]) -> None:
        subscription = self.subscriptions.get(str(delivery["subscription_id"]))
        if subscription is None:
            self.queue.done(str(delivery["id"]))  # unsubscribed meanwhile: nobody wants it any more
            return
        body = str(delivery["body"]).encode()
        headers = {
            **signed_headers(str(subscription["secret"]), body, now=self.clock()),
            "Content-Type": "application/json; charset=utf-8",
            "User-Agent": USER_AGENT,
            "X-Webhook-Event": str(delivery["event_type"]),
            "X-Webhook-Id": str(delivery["event_id"]),
            "X-Webhook-Delivery": str(delivery["id"]),
        }
        try:
            response = self._http.post(str(subscription["url"]), content=body, headers=headers)
            error = "" if 200 <= response.status_code < 300 else f"HTTP {response.status_code}"
        except httpx.HTTPError as exc:
            error = type(exc).__name__
        if not error:
            self.queue.done(str(delivery["id"]))
            return
        attempts = int(delivery["attempts"]) + 1
        status = self.queue.failed(
            delivery, error, self.clock(), max_attempts=self.max_attempts, delay=self.delay(attempts)
        )
        level = logging.ERROR if status == DEAD else logging.WARNING
        log.log(
            level,
            "webhook delivery failed" + (": moved to the dead letters" if status == DEAD else "; will retry"),
            extra={"delivery": delivery["id"], "subscription": subscription["id"], "attempt": attempts, "error": error},
        )

"""Builds the channel components into the runtime: delivery, outbox and its worker, inbound webhooks, WeChat."""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from typing import Any, Protocol

from assistant.chat import ChatService
from assistant.errors import ConfigError, Unavailable
from assistant.settings import Settings
from channels.conversations import ChannelConversations
from channels.delivery import ChannelDelivery
from channels.outbox import Outbox
from channels.subscriptions import WebhookSubscriptions
from channels.users import FreeTierDirectory, StaticUserDirectory, UserDirectory
from channels.webhook_in import InboundWebhooks
from channels.webhook_out import WebhookDispatcher
from channels.webhook_queue import DeliveryQueue
from channels.wechat import CHANNEL as WECHAT
from channels.wechat import WeChatInbound
from channels.wechat_api import WeChatApiClient
from channels.wechat_envelope import WeChatEnvelope
from channels.wechat_outbound import WeChatSender
from channels.wechat_window import ServiceWindow
from handoff.wiring import DELIVERY_KEY, OUTBOX_KEY
from storage.ports import Store

log = logging.getLogger(__name__)

# Component names (runtime.components); the handoff wiring, which looks the outbox and the delivery up at call
# time, names those two (OUTBOX_KEY, DELIVERY_KEY).
WECHAT_KEY = "wechat"  # WeChatInbound, present only when ASSISTANT_WECHAT_TOKEN is set
WECHAT_USERS_KEY = "wechat_users"  # UserDirectory: replace it to plug in the platform's own lookup
WEBHOOKS_IN_KEY = "webhooks_in"  # InboundWebhooks
SUBSCRIPTIONS_KEY = "webhook_subscriptions"  # WebhookSubscriptions
QUEUE_KEY = "webhook_queue"  # DeliveryQueue (dead letters)
DISPATCHER_KEY = "webhook_dispatcher"  # WebhookDispatcher (the background worker)
RESERVED_CHANNELS = frozenset({"web", "app", WECHAT})


class RuntimeLike(Protocol):
    """What the wiring needs from `api.runtime.Runtime` (structural, so channels never import api/)."""

    settings: Settings
    store: Store
    components: dict[str, Any]


def chat_of(components: Mapping[str, Any]) -> Callable[[], ChatService]:
    """The chat service once the heavy components are loaded (Unavailable, hence 503, before)."""

    def chat() -> ChatService:
        services = components.get("services")
        if services is None:
            raise Unavailable("the assistant is starting; retry in a few seconds")
        return services.chat  # type: ignore[no-any-return]

    return chat


def install_channels(runtime: RuntimeLike) -> Callable[[], None]:
    """Register the channel components and start the webhook worker; returns the function that stops them."""
    settings, store, components = runtime.settings, runtime.store, runtime.components
    secrets = {name: value.get_secret_value() for name, value in settings.webhook_secrets.items()}
    reserved = sorted(RESERVED_CHANNELS & set(secrets))
    if reserved:
        raise ConfigError(f"ASSISTANT_WEBHOOK_SECRETS may not name built-in channels: {', '.join(reserved)}")
    chat = chat_of(components)
    conversations = ChannelConversations(store, chat)
    delivery = ChannelDelivery()
    subscriptions = WebhookSubscriptions(store)
    queue = DeliveryQueue(store)
    dispatcher = WebhookDispatcher(
        queue,
        subscriptions,
        max_attempts=settings.webhook_max_attempts,
        backoff_seconds=settings.webhook_backoff_seconds,
        timeout_seconds=settings.webhook_timeout_seconds,
        poll_seconds=min(1.0, settings.webhook_backoff_seconds),
    )
    components.update(
        {
            DELIVERY_KEY: delivery,
            SUBSCRIPTIONS_KEY: subscriptions,
            QUEUE_KEY: queue,
            DISPATCHER_KEY: dispatcher,
            OUTBOX_KEY: Outbox(store, subscriptions, queue, wake=dispatcher.wake),
            WEBHOOKS_IN_KEY: InboundWebhooks(
                store,
                secrets=secrets,
                conversations=conversations,
                chat=chat,
                tolerance_seconds=settings.signature_tolerance_seconds,
            ),
        }
    )
    closers: list[Callable[[], None]] = []
    if settings.wechat_token.get_secret_value():
        closers.extend(_install_wechat(settings, store, components, conversations, delivery))
    dispatcher.start()
    closers.append(dispatcher.stop)

    def close() -> None:
        for closer in closers:
            try:
                closer()
            except Exception:
                log.warning("closing a channel component failed", exc_info=True)

    return close


def _install_wechat(
    settings: Settings,
    store: Store,
    components: dict[str, Any],
    conversations: ChannelConversations,
    delivery: ChannelDelivery,
) -> list[Callable[[], None]]:
    users: UserDirectory = (
        StaticUserDirectory.from_file(settings.wechat_users_file) if settings.wechat_users_file else FreeTierDirectory()
    )
    components.setdefault(WECHAT_USERS_KEY, users)
    window = ServiceWindow(store)
    api = WeChatApiClient(
        store,
        app_id=settings.wechat_app_id,
        app_secret=settings.wechat_app_secret.get_secret_value(),
        api_base=settings.wechat_api_base,
    )
    if not api.configured:
        log.warning("WeChat replies only passively: set ASSISTANT_WECHAT_APP_ID and _APP_SECRET for advisors' replies")
    delivery.register(WECHAT, WeChatSender(api, window))
    inbound = WeChatInbound(
        envelope=WeChatEnvelope(
            settings.wechat_token.get_secret_value(),
            aes_key=settings.wechat_aes_key.get_secret_value(),
            app_id=settings.wechat_app_id,
            tolerance_seconds=settings.signature_tolerance_seconds,
        ),
        keys=store,
        chat=chat_of(components),
        conversations=conversations,
        users=lambda: components[WECHAT_USERS_KEY],
        window=window,
        api=api,
        budget_seconds=settings.wechat_reply_budget_seconds,
        idle_seconds=settings.wechat_idle_hours * 3600,
        welcome_text=settings.wechat_welcome_text,
    )
    components[WECHAT_KEY] = inbound
    return [inbound.close, api.close]

"""Channels: the WeChat Official Account, signed inbound webhooks, and outbound webhooks (the outbox)."""

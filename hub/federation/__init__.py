"""ActivityPub federation: keys, HTTP Signatures, SSRF-safe HTTP, activities, delivery and inbox.

:func:`init_app` plugs federation into the worker: the delivery consumer of the event log, and
the periodic steps that process the inbox, send due deliveries and backfill followed hubs.
"""
from __future__ import annotations

from flask import Flask

PERIODIC_KEY = "hub.periodic"


def init_app(app: Flask) -> None:
    """Register the federation consumer and periodic steps with the worker of ``app``."""
    from hub import worker
    from hub.federation import conversation, delivery, inbox, peers

    worker.register(app, delivery.FederationConsumer())
    worker.register(app, conversation.ConversationConsumer())
    periodic = app.extensions.setdefault(PERIODIC_KEY, [])
    periodic.extend([inbox.process_pending, delivery.send_due, peers.backfill_due])

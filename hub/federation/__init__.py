"""ActivityPub federation: keys, HTTP Signatures, SSRF-safe HTTP, activities, delivery and inbox.

:func:`init_app` plugs federation into the worker: the delivery and conversation consumers of the
event log, and the periodic steps that process the inbox, send due deliveries and backfill followed hubs.
"""
from __future__ import annotations

from flask import Flask


def init_app(app: Flask) -> None:
    """Register the federation consumer and periodic steps with the worker of ``app``."""
    from hub import worker
    from hub.federation import conversation, delivery, inbox, peers

    worker.register(app, delivery.FederationConsumer())
    worker.register(app, conversation.ConversationConsumer())
    # Each is done by one worker at a time across nodes: the one holding its claim (hub.claims).
    worker.add_task(app, "federation-inbox", inbox.process_pending, due=inbox.pending)
    worker.add_task(app, "federation-send", delivery.send_due, on_stop=delivery.finish_sending, due=delivery.sending_due)
    worker.add_task(app, "federation-backfill", peers.backfill_due, due=peers.backfill_pending)

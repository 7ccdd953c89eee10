"""Delivery channels beyond in-app and e-mail, registered by the apps that own them.

The notifications app sits in the core layer and cannot import the apps above it. An app that can deliver events
somewhere else (metrics: the project's webhooks) registers a callable at app-ready:

    channels.register("webhooks", deliver)   # deliver(event: NotificationEvent) -> None

Each registered channel is called once per event, after commit, in the dispatch task. A channel must not raise
for a problem at the far end (it records and retries its own deliveries); if it raises anyway, the error is logged
and the other channels still run.
"""

from collections.abc import Callable

CHANNELS: dict[str, Callable] = {}


def register(name: str, deliver: Callable) -> None:
    """Register (or replace, so a repeated app-ready is harmless) the channel called `name`."""
    CHANNELS[name] = deliver

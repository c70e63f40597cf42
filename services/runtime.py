"""What a use case needs from the process: database, queue, clock, outbound HTTP.

The wiring (``app.py``) builds one ``Runtime`` per process, with the topic
routers of the providers, and installs it with :func:`install`; Flask views
and RQ jobs (the edges) fetch it with :func:`current` and hand it to the use
case, which never looks it up itself.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from enum import StrEnum
from typing import Any, Protocol

import requests

from integrations.shopify.admin import ShopifyAdmin, ShopifyAdminClient
from integrations.toast.client import ToastApi, ToastClient
from models import Database
from services.metrics import Metered

# The operations of the clients, named as the third parties' documents name them (metrics labels).
SHOPIFY_OPERATIONS = {
    "find_customer_gid": "customers",
    "add_tags": "tagsAdd",
    "create_code_discount": "discountCodeBasicCreate",
    "find_code_discount": "codeDiscountNodeByCode",
    "delete_code_discount": "discountCodeDelete",
    "set_metafields": "metafieldsSet",
}
TOAST_OPERATIONS = {"get_order": "orders", "orders_bulk": "ordersBulk"}


class Job(StrEnum):
    """The jobs a use case may ask for, by name; ``workers/queues.py`` says where each runs and how it is retried."""

    PROCESS_DELIVERY = "process_delivery"
    TAG_SHOPIFY_CUSTOMER = "tag_shopify_customer"
    SWEEP_DELIVERIES = "sweep_deliveries"
    RECONCILE_TOAST = "reconcile_toast"
    ACTIVATE_POINTS = "activate_points"
    EXPIRE_POINTS = "expire_points"
    EXPIRE_HOLDS = "expire_holds"
    SEND_POSTINGS = "send_postings"
    SEND_DUE_POSTINGS = "send_due_postings"
    EXPIRE_PROVIDER_REDEMPTIONS = "expire_provider_redemptions"
    DELIVER_EVENT = "deliver_event"
    DELIVER_DUE_EVENTS = "deliver_due_events"
    PRUNE_DELIVERIES = "prune_deliveries"
    PRUNE_IDEMPOTENT_REQUESTS = "prune_idempotent_requests"
    DELETE_SHOPIFY_CODE = "delete_shopify_code"
    SYNC_SHOPIFY_METAFIELDS = "sync_shopify_metafields"
    SWEEP_SHOPIFY_METAFIELDS = "sweep_shopify_metafields"


class Dispatcher(Protocol):
    """Puts a named job on its queue. Implemented by ``workers`` and injected by the wiring."""

    def dispatch(self, job: Job, *args: Any) -> None:
        """Enqueue ``job`` with JSON-safe ``args``; raises ``QueueUnavailable`` when Redis is down."""

    def dispatch_in(self, seconds: float, job: Job, *args: Any) -> None:
        """Enqueue ``job`` to run ``seconds`` from now (a retry on its own schedule, a debounced write).

        While no ``job`` for ``args`` is live, the scheduled one is what ``pending`` then sees.
        Raises ``QueueUnavailable``.
        """

    def pending(self, job: Job, *args: Any) -> bool:
        """True while the queue holds a live (queued, scheduled or running) ``job`` for ``args``."""

    def failure(self, job: Job, *args: Any) -> str | None:
        """The error the queue last recorded for ``job`` when it gave up on it (no retry left), else None."""

    def depths(self) -> dict[str, int]:
        """Jobs waiting per queue; raises ``QueueUnavailable``."""

    def last_seen(self) -> dict[str, datetime | None]:
        """When a ``worker`` and the ``scheduler`` last reported in (None: none alive); raises ``QueueUnavailable``."""

    def ping(self) -> None:
        """Raise ``QueueUnavailable`` when the queue cannot be reached."""


class Cache(Protocol):
    """A short-lived shared cache (Redis in every process); a miss or an outage is never an error."""

    def get(self, key: str) -> bytes | None:
        """The value under ``key``, or None (absent, expired, or the cache is down)."""

    def set(self, key: str, value: bytes, *, ttl: float) -> None:
        """Keep ``value`` under ``key`` for ``ttl`` seconds (silently nothing when the cache is down)."""

    def delete(self, *keys: str) -> None:
        """Forget ``keys`` (silently nothing when the cache is down)."""


class NoCache:
    """A cache that keeps nothing: every read is a miss."""

    def get(self, key: str) -> bytes | None:
        """Always a miss."""
        return None

    def set(self, key: str, value: bytes, *, ttl: float) -> None:
        """Keeps nothing."""

    def delete(self, *keys: str) -> None:
        """Nothing to forget."""


class QueueUnavailable(Exception):
    """The queue (Redis) cannot be reached."""


def _utcnow() -> datetime:
    return datetime.now(UTC)


def _shopify_admin(config: dict, session: requests.Session) -> ShopifyAdmin:
    return ShopifyAdminClient(
        base_url=config["base_url"],
        access_token=config["access_token"],
        api_version=str(config["version"]),
        session=session,
    )


def _toast_api(config: dict, session: requests.Session) -> ToastApi:
    return ToastClient(
        base_url=config["base_url"],
        client_id=config["client_id"],
        client_secret=config["client_secret"],
        session=session,
    )


@dataclass
class Runtime:
    """Process-wide collaborators of the services."""

    db: Database
    dispatcher: Dispatcher
    clock: Callable[[], datetime] = _utcnow
    # What a use case waits with when a third party asks it to, inside a request (Shopify's throttle).
    sleep: Callable[[float], None] = time.sleep
    http: requests.Session = field(default_factory=requests.Session)
    shopify_admin_factory: Callable[[dict, requests.Session], ShopifyAdmin] = _shopify_admin
    toast_api_factory: Callable[[dict, requests.Session], ToastApi] = _toast_api
    public_base_url: str = "http://localhost:5000"
    secret_key: str = ""
    # PUNCHCARD_ENV=production: events are refused to loopback and private addresses (events.md)
    production: bool = False
    secret_key_fallbacks: tuple[str, ...] = ()  # still verify magic links; only secret_key signs
    # How long processed deliveries and stored partner API answers are kept (the daily pruning).
    delivery_retention: timedelta = timedelta(days=30)
    idempotency_retention: timedelta = timedelta(days=30)
    # provider -> its topic router (topic -> handler, None: not handled), given by the wiring
    topics: dict[str, Callable[[str], Any]] = field(default_factory=dict)
    cache: Cache = field(default_factory=NoCache)
    _toast_clients: dict = field(default_factory=dict, repr=False)

    def shopify_admin(self, config: dict) -> ShopifyAdmin:
        """A Shopify Admin client for a merchant's ``shopify.admin_api`` block; its calls are counted."""
        return Metered(self.shopify_admin_factory(config, self.http), "shopify", SHOPIFY_OPERATIONS)

    def toast_api(self, config: dict) -> ToastApi:
        """The Toast API client for a merchant's ``toast.api`` block, kept so its token is reused; calls counted."""
        key = (config["base_url"], config["client_id"])
        if key not in self._toast_clients:
            self._toast_clients[key] = Metered(self.toast_api_factory(config, self.http), "toast", TOAST_OPERATIONS)
        return self._toast_clients[key]


_current: Runtime | None = None


def install(runtime: Runtime) -> None:
    """Make ``runtime`` the process's runtime (called by the wiring)."""
    global _current
    _current = runtime


def current() -> Runtime:
    """The process's runtime; fails loudly when the wiring has not installed one."""
    if _current is None:
        raise RuntimeError("no Runtime installed: start the process through app.py")
    return _current

"""Error reporting to Sentry (``SENTRY_DSN``), with secrets and personal data scrubbed before anything leaves.

Part of the wiring: web, worker and scheduler call :func:`init` at start. sentry-sdk's
Flask and RQ integrations report unhandled errors of requests and jobs, its logging
integration every ``log.exception``. sentry-sdk sends no personal data by default,
and :func:`scrub` runs on every event last: request bodies, cookies and query
values dropped, sensitive headers and keys filtered, emails, phone numbers,
magic-link tokens and the process's own secrets replaced wherever they appear.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Any
from urllib.parse import urlsplit

FILTERED = "[Filtered]"
SENSITIVE_KEYS = {
    "authorization",
    "cookie",
    "set-cookie",
    "x-api-key",
    "idempotency-key",
    "x-shopify-hmac-sha256",
    "shopify-hmac-sha256",
    "x-shopify-access-token",
    "toast-signature",
    "webhook_secret",
    "loyalty_api_key",
    "client_secret",
    "access_token",
    "api_keys",
    "api_key",
    "secret_key",
    "password",
    "token",
    "email",
    "phone",
    "first_name",
    "last_name",
    "birthday",
    "wallet_address",
}
_EMAIL = re.compile(r"[\w.+-]+@[\w-]+(?:\.[\w-]+)+")
_PHONE = re.compile(r"\+\d[\d ()-]{6,}\d")  # E.164 and its spaced forms; never a date or a time
_MAGIC_LINK = re.compile(r"/m/[A-Za-z0-9._-]{16,}")


def init(cfg, *, transport=None) -> bool:
    """Turn on error reporting when ``cfg.sentry_dsn`` is set; returns whether it did."""
    if not cfg.sentry_dsn:
        return False
    import sentry_sdk
    from sentry_sdk.integrations.flask import FlaskIntegration
    from sentry_sdk.integrations.rq import RqIntegration

    secrets = _secrets_of(cfg)
    sentry_sdk.init(
        dsn=cfg.sentry_dsn,
        integrations=[FlaskIntegration(), RqIntegration()],
        environment="production" if cfg.production else "development",
        max_request_body_size="never",
        # Outbound calls go to third parties (Shopify, Toast, loyalty platforms, merchants' endpoints):
        # Sentry's sentry-trace and baggage headers are our internals, never theirs.
        trace_propagation_targets=[],
        include_local_variables=False,  # a frame's locals hold bodies, members and secrets
        before_send=lambda event, hint: scrub(event, secrets),
        before_send_transaction=lambda event, hint: scrub(event, secrets),
        transport=transport,
    )
    return True


def _secrets_of(cfg) -> list[str]:
    values = [cfg.secret_key, *cfg.secret_key_fallbacks, cfg.metrics_token, cfg.admin_token]
    for url in (cfg.database_url, cfg.redis_url):
        password = urlsplit(url).password if url else None
        values.append(password)
    return sorted({v for v in values if v and len(v) >= 4}, key=len, reverse=True)


def scrub(event: dict, secrets: Iterable[str] = ()) -> dict:
    """``event`` with every sensitive value replaced (see the module docstring); never drops the event."""
    request = event.get("request")
    if isinstance(request, dict):
        request.pop("data", None)
        request.pop("cookies", None)
        if request.get("query_string"):
            request["query_string"] = FILTERED
    return _walk(event, list(secrets))


def _walk(value: Any, secrets: list[str]) -> Any:
    if isinstance(value, dict):
        return {k: FILTERED if str(k).lower() in SENSITIVE_KEYS else _walk(v, secrets) for k, v in value.items()}
    if isinstance(value, list):
        return [_walk(item, secrets) for item in value]
    if isinstance(value, tuple):
        return tuple(_walk(item, secrets) for item in value)
    if isinstance(value, str):
        return _text(value, secrets)
    return value


def _text(text: str, secrets: list[str]) -> str:
    for secret in secrets:
        text = text.replace(secret, FILTERED)
    text = _MAGIC_LINK.sub("/m/" + FILTERED, text)
    text = _EMAIL.sub(FILTERED, text)
    return _PHONE.sub(FILTERED, text)

"""Settings read from the environment once, in one place (contract.md)."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent
DEV_SECRET_KEY = "punchcard-development-secret-key"  # refused in production mode
_TRUE, _FALSE = {"true", "1", "yes", "on"}, {"false", "0", "no", "off"}


@dataclass(frozen=True)
class Settings:
    """Process configuration; built by :func:`load` and passed around, never global."""

    port: int
    database_url: str
    redis_url: str | None
    merchants_config: str
    public_base_url: str
    secret_key: str
    log_level: str
    log_format: str
    production: bool
    # False: a rediss:// certificate is not verified (Heroku Redis's is self-signed).
    redis_ssl_verify: bool = True


def normalize_database_url(url: str) -> str:
    """Accept Heroku's ``postgres://`` and pick the psycopg 3 driver for PostgreSQL."""
    for prefix in ("postgres://", "postgresql://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix) :]
    if url.startswith("sqlite:///") and not url.startswith("sqlite:////"):
        # A relative SQLite path is relative to the project, whatever the cwd.
        return "sqlite:///" + str(ROOT / url[len("sqlite:///") :])
    return url


def parse_bool(name: str, value: str | None, default: bool) -> bool:
    """``true``/``false`` (also ``1``/``0``, ``yes``/``no``, ``on``/``off``) from the environment."""
    if value is None or not value.strip():
        return default
    word = value.strip().lower()
    if word not in _TRUE | _FALSE:
        raise RuntimeError(f"{name} must be true or false, not {value!r}")
    return word in _TRUE


def load(env: Mapping[str, str] | None = None) -> Settings:
    """Read the settings from ``env`` (the process environment by default)."""
    env = os.environ if env is None else env
    port = int(env.get("PORT", "5000"))
    production = env.get("PUNCHCARD_ENV", env.get("FLASK_ENV", "")).lower() == "production"
    secret_key = env.get("SECRET_KEY") or DEV_SECRET_KEY
    if production and secret_key == DEV_SECRET_KEY:
        raise RuntimeError("SECRET_KEY must be set in production mode")
    return Settings(
        port=port,
        database_url=normalize_database_url(env.get("DATABASE_URL", "sqlite:///instance/punchcard.db")),
        redis_url=env.get("REDIS_URL") or None,
        merchants_config=env.get("MERCHANTS_CONFIG", str(ROOT / "config" / "merchants.example.yaml")),
        public_base_url=env.get("PUBLIC_BASE_URL", f"http://localhost:{port}"),
        secret_key=secret_key,
        log_level=env.get("LOG_LEVEL", "INFO").upper(),
        log_format=env.get("LOG_FORMAT", "json" if production else "text").lower(),
        production=production,
        redis_ssl_verify=parse_bool("REDIS_SSL_VERIFY", env.get("REDIS_SSL_VERIFY"), True),
    )

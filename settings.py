"""Settings read from the environment once, in one place (contract.md)."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

ROOT = Path(__file__).resolve().parent
DEV_SECRET_KEY = "punchcard-development-secret-key"  # refused in production mode
_TRUE, _FALSE = {"true", "1", "yes", "on"}, {"false", "0", "no", "off"}
_LOCAL_HOSTS = {"localhost", "0.0.0.0", "::1", "::"}


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
    # Older keys that still verify magic links while a new SECRET_KEY rolls out; SECRET_KEY alone signs.
    secret_key_fallbacks: tuple[str, ...] = ()
    metrics_token: str | None = None  # GET /metrics needs it as a Bearer token when set
    admin_token: str | None = None  # mounts rq-dashboard at /admin/rq, behind it
    sentry_dsn: str | None = None
    delivery_retention_days: int = 30
    idempotency_retention_days: int = 30
    api_rate_limit_per_minute: int = 600  # per partner API key; a merchant's config may set its own


class ProductionRefused(RuntimeError):
    """``PUNCHCARD_ENV=production`` with settings that must not run in production; ``problems`` names each."""

    def __init__(self, problems: list[str]) -> None:
        self.problems = problems
        super().__init__(
            "refusing to start in production mode:\n" + "\n".join(f"  - {problem}" for problem in problems)
        )


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
        secret_key_fallbacks=tuple(k.strip() for k in env.get("SECRET_KEY_FALLBACKS", "").split(",") if k.strip()),
        metrics_token=env.get("METRICS_TOKEN") or None,
        admin_token=env.get("ADMIN_TOKEN") or None,
        sentry_dsn=env.get("SENTRY_DSN") or None,
        delivery_retention_days=parse_int("DELIVERY_RETENTION_DAYS", env.get("DELIVERY_RETENTION_DAYS"), 30),
        idempotency_retention_days=parse_int("IDEMPOTENCY_RETENTION_DAYS", env.get("IDEMPOTENCY_RETENTION_DAYS"), 30),
        api_rate_limit_per_minute=parse_int("API_RATE_LIMIT_PER_MINUTE", env.get("API_RATE_LIMIT_PER_MINUTE"), 600),
    )


def parse_int(name: str, value: str | None, default: int) -> int:
    """A positive whole number from the environment; a typo stops the process rather than meaning something else."""
    if value is None or not value.strip():
        return default
    if not value.strip().isdigit() or int(value) < 1:
        raise RuntimeError(f"{name} must be a whole number of at least 1, not {value!r}")
    return int(value)


def production_problems(cfg: Settings, env: Mapping[str, str] | None = None) -> list[str]:
    """Everything about ``cfg`` that production mode refuses, each problem named (empty outside production).

    The merchants file is read too: a secret that came from a ``${VAR:-default}``
    fallback is a development value that would sign or verify real traffic.
    """
    if not cfg.production:
        return []
    problems = []
    if cfg.database_url.startswith("sqlite"):
        problems.append("DATABASE_URL is SQLite; production needs PostgreSQL (postgres://...)")
    if _is_local(cfg.public_base_url):
        problems.append(f"PUBLIC_BASE_URL is {cfg.public_base_url}, on localhost; set the public https URL")
    if cfg.secret_key == DEV_SECRET_KEY:
        problems.append("SECRET_KEY is unset or the development value; set a long random one")
    if DEV_SECRET_KEY in cfg.secret_key_fallbacks:
        problems.append("SECRET_KEY_FALLBACKS holds the development SECRET_KEY")
    problems.extend(_merchant_secret_problems(cfg, os.environ if env is None else env))
    return problems


def check_production(cfg: Settings, env: Mapping[str, str] | None = None) -> None:
    """Raise ``ProductionRefused`` naming every problem when production mode must not start (web, worker, release)."""
    problems = production_problems(cfg, env)
    if problems:
        raise ProductionRefused(problems)


def _is_local(url: str) -> bool:
    host = (urlsplit(url).hostname or "").lower()
    return host in _LOCAL_HOSTS or host.startswith("127.") or host.endswith(".localhost")


def _merchant_secret_problems(cfg: Settings, env: Mapping[str, str]) -> list[str]:
    from services.merchants.config import ConfigError, fallback_secrets

    try:
        paths = fallback_secrets(cfg.merchants_config, env)
    except ConfigError as exc:
        return [f"MERCHANTS_CONFIG {cfg.merchants_config}: {problem}" for problem in exc.problems]
    return [
        f"MERCHANTS_CONFIG {cfg.merchants_config}: {path} came from a ${{VAR:-default}} fallback; set the variable"
        for path in paths
    ]

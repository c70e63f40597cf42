"""gunicorn's configuration, read from the working directory by every ``gunicorn`` the Procfile starts.

- Metrics: prometheus_client's multiprocess mode needs ``PROMETHEUS_MULTIPROC_DIR`` set before
  the app (and prometheus_client) is imported in the workers; each gunicorn process then counts
  into files there, and ``/metrics`` adds them up whichever process serves it.
- Logs: with ``LOG_FORMAT=json`` (the default in production mode) gunicorn's own lines and the
  access log are one JSON object per line, the access line with the request's ``request_id``.
  Magic-link tokens and query values (emails, phones) never reach the access log.
"""

from __future__ import annotations

import glob
import os
import re
import shutil
import tempfile
from urllib.parse import parse_qsl, urlencode

from gunicorn.glogging import Logger

_metrics_dir = os.environ.get("PROMETHEUS_MULTIPROC_DIR")
_made_metrics_dir = not _metrics_dir
if _made_metrics_dir:
    _metrics_dir = tempfile.mkdtemp(prefix="punchcard-metrics-")
    os.environ["PROMETHEUS_MULTIPROC_DIR"] = _metrics_dir
else:
    os.makedirs(_metrics_dir, exist_ok=True)
    # Files of a previous run would count its numbers twice.
    for stale in glob.glob(os.path.join(_metrics_dir, "*.db")):
        os.remove(stale)

_production = os.environ.get("PUNCHCARD_ENV", os.environ.get("FLASK_ENV", "")).lower() == "production"
_json = os.environ.get("LOG_FORMAT", "json" if _production else "text").lower() == "json"
_TOKEN_PATH = re.compile(r"^/m/[^/?]+")


def child_exit(server, worker):
    """A gunicorn process ended: its live gauges go (its counters stay, so totals never go back)."""
    from prometheus_client import multiprocess

    multiprocess.mark_process_dead(worker.pid)


def on_exit(server):
    """gunicorn stops: the folder it made for the metrics goes with it."""
    if _made_metrics_dir:
        shutil.rmtree(_metrics_dir, ignore_errors=True)


def scrub_path(path: str) -> str:
    """A request path fit for a log: the member page's token replaced."""
    return _TOKEN_PATH.sub("/m/[token]", path or "")


def scrub_query(query: str) -> str:
    """A query string fit for a log: its keys kept, its values (emails, phones) replaced."""
    return urlencode([(key, "-") for key, _ in parse_qsl(query or "", keep_blank_values=True)])


class PunchcardLogger(Logger):
    """gunicorn's logger, scrubbing the access line, and writing JSON lines under ``LOG_FORMAT=json``."""

    def setup(self, cfg):
        """gunicorn's handlers, with a JSON formatter when asked."""
        super().setup(cfg)
        if _json:
            from pythonjsonlogger.json import JsonFormatter

            for log in (self.error_log, self.access_log):
                for handler in log.handlers:
                    handler.setFormatter(JsonFormatter("%(asctime)s %(levelname)s %(name)s %(message)s"))

    def atoms(self, resp, req, environ, request_time):
        """The access line's fields, without tokens or query values."""
        atoms = super().atoms(resp, req, environ, request_time)
        path, query = scrub_path(environ.get("PATH_INFO", "")), scrub_query(environ.get("QUERY_STRING", ""))
        target = f"{path}?{query}" if query else path
        atoms.update(U=path, q=query, r=f"{environ['REQUEST_METHOD']} {target} {atoms['H']}")
        atoms.update(f="-")  # a Referer can carry a magic link too
        return atoms

    def access(self, resp, req, environ, request_time):
        """One access line: gunicorn's format as text, or a JSON object with the request id."""
        if not _json:
            return super().access(resp, req, environ, request_time)
        if not self.access_log_enabled:
            return
        atoms = self.atoms(resp, req, environ, request_time)
        headers = {k.lower(): v for k, v in (resp.headers or [])}
        self.access_log.info(
            "%s %s %s",
            atoms["m"],
            atoms["U"],
            atoms["s"],
            extra={
                "request_id": headers.get("x-request-id"),
                "method": atoms["m"],
                "path": atoms["U"],
                "query": atoms["q"],
                "status": int(str(atoms["s"]).split()[0]),
                "bytes": atoms["B"],
                "duration_ms": atoms["M"],
                "remote_addr": atoms["h"],
                "user_agent": atoms["a"],
            },
        )


logger_class = PunchcardLogger
# Heroku's router (and most platforms' proxies) put the client's address in X-Forwarded-For; the
# dyno is reachable only through it. Only logs read the address: rate limits are per API key.
forwarded_allow_ips = "*"

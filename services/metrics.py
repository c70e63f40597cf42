"""Prometheus metrics: every number operations.md lists, and the one way code moves them.

Call the helpers from anywhere under ``services/`` (and the edges and jobs):

- :func:`delivery_received` and :func:`ingest_seconds` (the webhook receivers),
- :func:`job_finished` (workers/jobs.py, around every job),
- :func:`ledger_posted` (the ledger, once per new entry),
- :func:`provider_call` (every call to a third party: Shopify, Toast, a loyalty provider),
- :func:`outbound_webhook_attempt` (every attempt to deliver an event to a merchant),

or, for a metric of the table by name, :func:`inc` and :func:`observe`.

Where the numbers go depends on the process, chosen by the wiring with :func:`install`:

- web (gunicorn): prometheus_client's own metrics, in its multiprocess mode when
  ``PROMETHEUS_MULTIPROC_DIR`` is set (gunicorn.conf.py sets it), so every gunicorn
  process counts into files that ``/metrics`` adds up;
- worker, scheduler and commands: :class:`RedisSink`, totals kept in one Redis hash,
  because on Heroku those processes run on other machines than the one serving
  ``/metrics``. A job's increments are buffered and written in one round trip when it
  ends (:func:`flush`).

``/metrics`` (:func:`exposition`) adds both up per metric and labels, and reads the
gauges (queue depths, the oldest delivery still ``received``, workers and scheduler
last seen) when it is scraped.
"""

from __future__ import annotations

import json
import logging
import os
import threading
from collections import defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any, Protocol

from prometheus_client import CollectorRegistry, Counter, Histogram, generate_latest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, HistogramMetricFamily

log = logging.getLogger(__name__)
REDIS_KEY = "punchcard:metrics"
LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)
JOB_BUCKETS = (0.01, 0.05, 0.1, 0.5, 1.0, 5.0, 15.0, 60.0, 300.0, 1800.0)


@dataclass(frozen=True)
class Spec:
    """One metric: its name (counters without ``_total``), kind, help text, labels and buckets."""

    name: str
    kind: str  # "counter" | "histogram"
    help: str
    labels: tuple[str, ...]
    buckets: tuple[float, ...] = ()


METRICS = {
    spec.name: spec
    for spec in (
        Spec(
            "punchcard_deliveries_received",
            "counter",
            "Webhook deliveries received, by provider, topic and outcome "
            "(accepted, duplicate, unusable, unauthorized, unavailable).",
            ("provider", "topic", "outcome"),
        ),
        Spec(
            "punchcard_ingest_seconds",
            "histogram",
            "Time to verify, store and enqueue one webhook delivery.",
            ("provider",),
            LATENCY_BUCKETS,
        ),
        Spec("punchcard_jobs_run", "counter", "RQ jobs run, by job name.", ("job",)),
        Spec("punchcard_jobs_failed", "counter", "RQ jobs that failed with no retry left, by job name.", ("job",)),
        Spec("punchcard_jobs_retried", "counter", "RQ jobs that failed and will be retried, by job name.", ("job",)),
        Spec("punchcard_job_seconds", "histogram", "Time one RQ job ran, by job name.", ("job",), JOB_BUCKETS),
        Spec("punchcard_ledger_postings", "counter", "Ledger entries posted, by type.", ("type",)),
        Spec(
            "punchcard_provider_calls",
            "counter",
            "Calls to third parties (shopify, toast, loyalty providers), by provider, operation and outcome.",
            ("provider", "operation", "outcome"),
        ),
        Spec(
            "punchcard_outbound_webhook_attempts",
            "counter",
            "Attempts to deliver an event to a merchant's endpoint, by outcome.",
            ("outcome",),
        ),
    )
}


class Sink(Protocol):
    """Where a process's increments go."""

    def add(self, spec: Spec, labels: dict[str, str], value: float) -> None:
        """Count ``value`` (a counter's increment, a histogram's observation)."""

    def flush(self) -> None:
        """Write what is buffered (nothing to do for a sink that writes at once)."""


class PrometheusSink:
    """prometheus_client's metrics of this process (multiprocess files when ``PROMETHEUS_MULTIPROC_DIR`` is set)."""

    def __init__(self, registry: CollectorRegistry | None = None) -> None:
        from prometheus_client import REGISTRY

        self.registry = registry or REGISTRY
        self._metrics: dict[str, Any] = {}
        self._lock = threading.Lock()

    def add(self, spec: Spec, labels: dict[str, str], value: float) -> None:
        """Increment the counter or observe into the histogram of ``spec``."""
        metric = self._metric(spec).labels(**labels)
        metric.inc(value) if spec.kind == "counter" else metric.observe(value)

    def flush(self) -> None:
        """Nothing is buffered."""

    def samples(self) -> Iterable[tuple[str, dict[str, str], float]]:
        """``(sample name, labels, value)`` of every Punchcard metric this process (or its siblings) counted."""
        if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
            from prometheus_client import multiprocess

            families = multiprocess.MultiProcessCollector(None).collect()
        else:
            families = [family for metric in self._metrics.values() for family in metric.collect()]
        for family in families:
            if family.name in METRICS:
                yield from ((s.name, s.labels, s.value) for s in family.samples if not s.name.endswith("_created"))

    def _metric(self, spec: Spec):
        with self._lock:
            if spec.name not in self._metrics:
                kind = Counter if spec.kind == "counter" else Histogram
                extra = {"buckets": spec.buckets} if spec.kind == "histogram" else {}
                self._metrics[spec.name] = _registered(kind, spec, self.registry, extra)
            return self._metrics[spec.name]


def _registered(kind, spec: Spec, registry: CollectorRegistry, extra: dict):
    """The metric of ``spec`` in ``registry``: created once per process, found again by a later sink."""
    existing = getattr(registry, "_names_to_collectors", {}).get(spec.name)
    return existing or kind(spec.name, spec.help, spec.labels, registry=registry, **extra)


class RedisSink:
    """Totals in one Redis hash, shared by every worker, scheduler and command process, written per job."""

    def __init__(self, connection) -> None:
        self.connection = connection
        self._pending: dict[str, float] = defaultdict(float)
        self._lock = threading.Lock()

    def add(self, spec: Spec, labels: dict[str, str], value: float) -> None:
        """Buffer the increment (a histogram: its bucket, sum and count) until :meth:`flush`."""
        with self._lock:
            if spec.kind == "counter":
                self._pending[_field(spec.name + "_total", labels)] += value
                return
            bucket = next((str(b) for b in spec.buckets if value <= b), "+Inf")
            self._pending[_field(spec.name + "_bucket", {**labels, "le": bucket})] += 1
            self._pending[_field(spec.name + "_sum", labels)] += value
            self._pending[_field(spec.name + "_count", labels)] += 1

    def flush(self) -> None:
        """Write the buffered increments in one pipeline; kept for the next flush when Redis is down."""
        with self._lock:
            pending, self._pending = self._pending, defaultdict(float)
        if not pending:
            return
        try:
            with self.connection.pipeline(transaction=False) as pipe:
                for field, value in pending.items():
                    pipe.hincrbyfloat(REDIS_KEY, field, value)
                pipe.execute()
        except Exception as exc:  # metrics must never fail a job; the numbers wait for the next flush
            log.warning("metrics not written to Redis (%s); kept for the next flush", type(exc).__name__)
            with self._lock:
                for field, value in pending.items():
                    self._pending[field] += value


def _field(sample: str, labels: dict[str, str]) -> str:
    return json.dumps([sample, dict(sorted(labels.items()))], separators=(",", ":"))


def redis_samples(connection) -> Iterable[tuple[str, dict[str, str], float]]:
    """The worker-side totals, histogram buckets made cumulative as Prometheus reads them."""
    raw = connection.hgetall(REDIS_KEY)
    samples = [(*json.loads(field), float(value)) for field, value in raw.items()]
    yield from (s for s in samples if not s[0].endswith("_bucket"))
    yield from _cumulative([s for s in samples if s[0].endswith("_bucket")])


def _cumulative(buckets: list[tuple[str, dict, float]]) -> Iterable[tuple[str, dict, float]]:
    groups: dict[tuple, dict[str, float]] = defaultdict(dict)
    for name, labels, value in buckets:
        rest = tuple(sorted((k, v) for k, v in labels.items() if k != "le"))
        groups[(name, rest)][labels["le"]] = value
    for (name, rest), counts in groups.items():
        spec = METRICS[name.removesuffix("_bucket")]
        running = 0.0
        for bound in [*(str(b) for b in spec.buckets), "+Inf"]:
            running += counts.get(bound, 0.0)
            yield name, {**dict(rest), "le": _le(bound)}, running


def _le(bound: str) -> str:
    # prometheus_client writes bucket bounds as floats ("0.5", "1.0", "+Inf"); keep one spelling so sums meet.
    return bound if bound == "+Inf" else repr(float(bound))


_sink: Sink = PrometheusSink()


def install(sink: Sink) -> None:
    """Make ``sink`` where this process's numbers go (the wiring: worker and commands use a ``RedisSink``)."""
    global _sink
    _sink.flush()
    _sink = sink


def current_sink() -> Sink:
    """The process's sink."""
    return _sink


def inc(name: str, amount: float = 1, **labels: str) -> None:
    """Add ``amount`` to the counter ``name`` (a name of ``METRICS``) with ``labels``; never raises."""
    _add(name, amount, labels)


def observe(name: str, value: float, **labels: str) -> None:
    """Observe ``value`` into the histogram ``name`` with ``labels``; never raises."""
    _add(name, value, labels)


def _add(name: str, value: float, labels: dict[str, Any]) -> None:
    spec = METRICS[name]
    try:
        _sink.add(spec, {key: str(labels.get(key, "")) for key in spec.labels}, value)
    except Exception:  # a metric must never fail the work it measures
        log.warning("metric %s not counted", name, exc_info=True)


def flush() -> None:
    """Write what this process buffered (the job wrapper calls it after every job)."""
    _sink.flush()


def delivery_received(provider: str, topic: str, outcome: str) -> None:
    """One webhook delivery: ``outcome`` is accepted, duplicate, unusable, unauthorized or unavailable."""
    inc("punchcard_deliveries_received", provider=provider, topic=topic, outcome=outcome)


def ingest_seconds(provider: str, seconds: float) -> None:
    """How long receiving one delivery took."""
    observe("punchcard_ingest_seconds", seconds, provider=provider)


def job_finished(job: str, seconds: float, *, outcome: str) -> None:
    """A job ran: ``outcome`` is succeeded, retried (it failed, RQ will run it again) or failed (no retry left)."""
    inc("punchcard_jobs_run", job=job)
    if outcome in ("retried", "failed"):
        inc(f"punchcard_jobs_{outcome}", job=job)
    observe("punchcard_job_seconds", seconds, job=job)


def ledger_posted(entry_type: str) -> None:
    """A new ledger entry of ``entry_type`` (ACCRUAL, REDEMPTION, REVERSAL …) was written."""
    inc("punchcard_ledger_postings", type=entry_type)


def provider_call(provider: str, operation: str, outcome: str) -> None:
    """One call to a third party.

    ``provider``: ``shopify``, ``toast`` or a loyalty provider's name (``hang``, ``voucherify`` …);
    ``operation``: what was asked, in the provider's words or ours (``tagsAdd``, ``ordersBulk``, ``earn``);
    ``outcome``: ``ok``, or the error's short name (``throttled``, ``timeout``, ``http_500``, ``refused`` …).
    Keep each of the three to a small fixed set: every distinct value is a new time series.
    """
    inc("punchcard_provider_calls", provider=provider, operation=operation, outcome=outcome)


def outbound_webhook_attempt(outcome: str) -> None:
    """One attempt to deliver an event to a merchant's endpoint: ``delivered``, ``failed``, ``timeout`` …"""
    inc("punchcard_outbound_webhook_attempts", outcome=outcome)


def provider_outcome(exc: BaseException | None) -> str:
    """A short, fixed outcome for a third-party call: ``ok``, or the error's ``reason`` or ``code``, else its class."""
    if exc is None:
        return "ok"
    code = getattr(exc, "reason", None) or getattr(exc, "code", None) or type(exc).__name__
    return str(code).lower()[:40]


class Metered:
    """A third-party client whose public method calls each count in ``punchcard_provider_calls``.

    ``operations`` names each method's operation (``{"add_tags": "tagsAdd"}``); other methods
    count under their own name. A result whose ``ok`` is False (Shopify's userErrors) counts
    as ``refused``. Everything else passes through untouched.
    """

    def __init__(self, client: Any, provider: str, operations: dict[str, str] | None = None) -> None:
        self._client, self._provider, self._operations = client, provider, operations or {}

    def __getattr__(self, name: str) -> Any:
        attribute = getattr(self._client, name)
        if name.startswith("_") or not callable(attribute):
            return attribute
        operation = self._operations.get(name, name)

        def call(*args, **kwargs):
            try:
                result = attribute(*args, **kwargs)
            except Exception as exc:
                provider_call(self._provider, operation, provider_outcome(exc))
                raise
            provider_call(self._provider, operation, "refused" if getattr(result, "ok", True) is False else "ok")
            return result

        return call

    def __repr__(self) -> str:
        return f"Metered({self._client!r})"


def snapshot_gauges(snapshot) -> list[GaugeMetricFamily]:
    """The gauges read at scrape time from a ``services.health.Snapshot``: queues, inbox, worker and scheduler."""
    depth = GaugeMetricFamily("punchcard_queue_depth", "Jobs waiting on each RQ queue.", labels=["queue"])
    for queue, count in sorted((snapshot.queue_depths or {}).items()):
        depth.add_metric([queue], count)
    families = [depth]
    if snapshot.oldest_received_age is not None:
        families.append(
            GaugeMetricFamily(
                "punchcard_oldest_received_delivery_age_seconds",
                "Age of the oldest delivery still received (stored, not yet processed); 0 when none waits.",
                value=snapshot.oldest_received_age,
            )
        )
    seen = GaugeMetricFamily(
        "punchcard_last_seen_age_seconds",
        "Seconds since a worker and the scheduler last reported in (absent: none alive).",
        labels=["process"],
    )
    for process, age in sorted(snapshot.last_seen_age.items()):
        if age is not None:
            seen.add_metric([process], age)
    up = GaugeMetricFamily("punchcard_check_up", "1 when a health check passes, by check.", labels=["check"])
    for check, value in sorted(snapshot.checks.items()):
        up.add_metric([check], 1.0 if value == "ok" else 0.0)
    return [*families, seen, up]


def exposition(gauges: Callable[[], Iterable[GaugeMetricFamily]], redis=None) -> bytes:
    """The Prometheus text of ``/metrics``: this process's (and its siblings') numbers, the Redis totals, the gauges."""
    registry = CollectorRegistry(auto_describe=False)
    registry.register(_Collector(gauges, redis))
    return generate_latest(registry)


class _Collector:
    def __init__(self, gauges, redis) -> None:
        self.gauges, self.redis = gauges, redis

    def collect(self):
        totals: dict[tuple, float] = defaultdict(float)
        local = _sink.samples() if isinstance(_sink, PrometheusSink) else PrometheusSink().samples()
        sources = [local]
        if self.redis is not None:
            try:
                sources.append(list(redis_samples(self.redis)))
            except Exception as exc:  # Redis down: the web's own numbers still answer
                log.warning("metrics: Redis totals unavailable (%s)", type(exc).__name__)
        for source in sources:
            for name, labels, value in source:
                totals[(name, tuple(sorted(labels.items())))] += value
        yield from _families(totals)
        yield from self.gauges()


def _families(totals: dict[tuple, float]):
    for spec in METRICS.values():
        if spec.kind == "counter":
            family = CounterMetricFamily(spec.name, spec.help, labels=spec.labels)
            for (name, labels), value in sorted(totals.items()):
                if name == spec.name + "_total":
                    family.add_metric([dict(labels)[k] for k in spec.labels], value)
        else:
            family = HistogramMetricFamily(spec.name, spec.help, labels=spec.labels)
            for key, (buckets, total) in sorted(_histograms(spec, totals).items()):
                family.add_metric(list(key), buckets, total)
        yield family


def _histograms(spec: Spec, totals: dict[tuple, float]) -> dict[tuple, tuple[list, float]]:
    found: dict[tuple, tuple[list, float]] = {}
    for (name, labels), value in totals.items():
        if name == spec.name + "_sum":
            key = tuple(dict(labels)[k] for k in spec.labels)
            buckets = [
                (le, totals.get((spec.name + "_bucket", tuple(sorted({**dict(labels), "le": le}.items()))), 0.0))
                for le in [*(repr(float(b)) for b in spec.buckets), "+Inf"]
            ]
            found[key] = (buckets, value)
    return found

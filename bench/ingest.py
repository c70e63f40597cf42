"""Ingest: signed Shopify deliveries per second through gunicorn as the Procfile runs it.

Side by side in one run, on loopback:

1. the baseline: the same gunicorn command serving ``bench.bare_app`` (a view
   that returns 200), driven by wrk at its maximum rate;
2. per database backend, a fresh app (the release commands, then gunicorn):
   - memory (PostgreSQL, production's backend): exactly 10,000 then 20,000
     deliveries (wrk, stopped by count), peak RSS of the gunicorn master and
     workers after each (bench.stack); on SQLite a 1,000-delivery warm-up;
   - the maximum rate with wrk (same connections and duration as the
     baseline);
   - latency at half that maximum: an open-loop aiohttp client sends on a
     fixed schedule (one request every 1/rate seconds whatever the answers)
     and measures each round trip from its scheduled start, so a slow answer
     delays nothing else and queueing shows in the figure.

Every request is the same signed ``orders/paid`` body (Shopify's HMAC covers
the body only) with a unique ``X-Shopify-Webhook-Id`` (bench/shopify.lua), so
each one is stored and enqueued as a new delivery. No worker runs: the
figure is the web tier's, and the jobs wait in Redis.

wrk comes from the OS packages (``apt-get install wrk``); without it this
benchmark stops with that instruction.
"""

from __future__ import annotations

import asyncio
import json
import shutil
import statistics
import subprocess
import uuid
from contextlib import nullcontext
from pathlib import Path

from bench import stack as st
from tests.factories import encode, shopify_headers, shopify_order

LUA = Path(__file__).with_name("shopify.lua")
CONNECTIONS = 4  # two sync workers busy, two requests waiting in the listen queue
DURATION = 20  # seconds of each maximum-rate run
LATENCY_DURATION = 20
CHECKPOINTS = (10_000, 20_000)
MEMORY_BACKENDS = ("postgresql",)  # production's; 20,000 deliveries take a while


class WrkMissing(RuntimeError):
    pass


def require_wrk() -> str:
    found = shutil.which("wrk")
    if not found:
        raise WrkMissing("the ingest benchmark needs wrk from the OS packages: sudo apt-get install wrk")
    return found


def signed_body() -> tuple[bytes, str]:
    body = encode(shopify_order())
    return body, shopify_headers(body, "orders/paid", "x", secret=st.SHOPIFY_SECRET)["X-Shopify-Hmac-Sha256"]


def wrk(
    base: str,
    body_file: Path,
    signature: str,
    *,
    duration: int = DURATION,
    limit: int = 0,
    connections: int = CONNECTIONS,
) -> dict:
    """One wrk run (a count-limited one runs until ``limit`` answers); its figures from bench/shopify.lua."""
    run_id = uuid.uuid4().hex[:12]
    timeout = duration if not limit else 600
    out = subprocess.run(
        [
            require_wrk(),
            "-t1",
            f"-c{connections}",
            f"-d{timeout}s",
            "--timeout",
            "10s",
            "-s",
            str(LUA),
            base,
            "--",
            run_id,
            str(body_file),
            signature,
            str(limit),
        ],
        capture_output=True,
        text=True,
        check=True,
    )
    line = next((x for x in out.stdout.splitlines() if x.startswith("WRK ")), None)
    if line is None:
        raise RuntimeError(f"wrk printed no result: {out.stdout} {out.stderr}")
    data = json.loads(line[4:])
    if not limit:
        data["rate"] = data["requests"] / (data["duration_us"] / 1e6)
    return data


async def _open_loop(base: str, body: bytes, signature: str, rate: float, duration: float) -> dict:
    import aiohttp

    headers = dict(shopify_headers(body, "orders/paid", "x", secret=st.SHOPIFY_SECRET, shop=st.SHOP).items())
    headers["X-Shopify-Hmac-Sha256"] = signature
    run_id = uuid.uuid4().hex[:12]
    loop = asyncio.get_running_loop()
    latencies: list[float] = []
    failures = 0

    async def one(session, n: int, scheduled: float) -> None:
        nonlocal failures
        h = {**headers, "X-Shopify-Webhook-Id": f"lat-{run_id}-{n}", "X-Shopify-Event-Id": f"evt-lat-{run_id}-{n}"}
        try:
            async with session.post(f"{base}/webhooks/shopify", data=body, headers=h) as response:
                await response.read()
                if response.status != 200:
                    failures += 1
                    return
        except aiohttp.ClientError:
            failures += 1
            return
        latencies.append((loop.time() - scheduled) * 1000)

    # gunicorn's sync workers close every connection: so does the client, no pool to queue behind.
    connector = aiohttp.TCPConnector(limit=0, force_close=True)
    async with aiohttp.ClientSession(connector=connector, timeout=aiohttp.ClientTimeout(total=10)) as session:
        count = int(rate * duration)
        start = loop.time() + 0.2
        tasks = []
        for n in range(count):
            scheduled = start + n / rate
            delay = scheduled - loop.time()
            if delay > 0:
                await asyncio.sleep(delay)
            tasks.append(asyncio.create_task(one(session, n, scheduled)))
        await asyncio.gather(*tasks)
        elapsed = loop.time() - start
    latencies.sort()
    return {
        "target_rate": round(rate, 1),
        "sent": count,
        "ok": len(latencies),
        "failures": failures,
        "achieved_rate": round(len(latencies) / elapsed, 1),
        "p50_ms": round(statistics.median(latencies), 2) if latencies else None,
        "p99_ms": round(latencies[max(int(len(latencies) * 0.99) - 1, 0)], 2) if latencies else None,
        "max_ms": round(latencies[-1], 2) if latencies else None,
    }


def latency(base: str, body: bytes, signature: str, rate: float, duration: float = LATENCY_DURATION) -> dict:
    """p50/p99 of the round trip at a constant ``rate``, from each request's scheduled start.

    Also what the run cost the machine: the client shares the 2 CPUs with the server, PostgreSQL
    and Redis, so its own share (``client_cores``) and the machine's (``machine_busy_pct``) say
    how near saturation the server really was.
    """
    import psutil

    me = psutil.Process()
    before = me.cpu_times()
    psutil.cpu_percent()
    result = asyncio.run(_open_loop(base, body, signature, rate, duration))
    busy = psutil.cpu_percent()
    after = me.cpu_times()
    spent = (after.user - before.user) + (after.system - before.system)
    result.update(client_cores=round(spent / duration, 2), machine_busy_pct=round(busy, 1))
    return result


def _app_case(stack: st.Stack, body_file: Path, body: bytes, signature: str, bare_rate: float) -> dict:
    web, base = stack.start_web()
    result: dict = {"backend": stack.backend}
    if stack.backend in MEMORY_BACKENDS:
        memory: dict = {}
        sent = 0
        for checkpoint in CHECKPOINTS:
            run = wrk(base, body_file, signature, limit=checkpoint - sent, connections=2)
            sent += run["requests"]
            if run["errors"] or run["status_errors"]:
                raise RuntimeError(f"ingest failed: {run}")
            memory[str(checkpoint)] = {"deliveries": sent, **st.memory_snapshot(web.pid)}
        result["memory"] = memory
        result["stored"] = _stored(stack)
    else:
        wrk(base, body_file, signature, limit=1_000)  # warm-up
    top = wrk(base, body_file, signature)
    if top["errors"] or top["status_errors"]:
        raise RuntimeError(f"ingest failed at the maximum rate: {top}")
    result.update(
        max_rate=round(top["rate"], 1),
        max_rate_p50_ms=round(top["p50_us"] / 1000, 2),
        max_rate_p99_ms=round(top["p99_us"] / 1000, 2),
        ratio=round(top["rate"] / bare_rate, 3),
    )
    result["half_rate"] = latency(base, body, signature, top["rate"] / 2)
    stack.stop(web)
    return result


def _stored(stack: st.Stack) -> int:
    from sqlalchemy import func, select

    from models import Delivery

    rt = stack.runtime()
    with rt.db.reader() as session:
        count = session.execute(select(func.count()).select_from(Delivery)).scalar_one()
    rt.db.dispose()
    return count


def run(cluster=None, backends: tuple[str, ...] = ("sqlite", "postgresql")) -> dict:
    """Measure; returns the baseline and one case per backend."""
    require_wrk()
    body, signature = signed_body()
    result: dict = {
        "case": "ingest",
        "connections": CONNECTIONS,
        "duration_s": DURATION,
        "web_command": " ".join(st.web_command({}, 0)[1:]).replace("127.0.0.1:0", "127.0.0.1:PORT"),
    }
    with st.stack("sqlite") as stack:
        body_file = stack.work / "body.json"
        body_file.write_bytes(body)
        bare, base = stack.start_web("bench.bare_app:create_app()", log="bare.log")
        wrk(base, body_file, signature, limit=1_000)  # warm-up
        baseline = wrk(base, body_file, signature)
        stack.stop(bare)
    result["bare"] = {
        "max_rate": round(baseline["rate"], 1),
        "p50_ms": round(baseline["p50_us"] / 1000, 2),
        "p99_ms": round(baseline["p99_us"] / 1000, 2),
    }
    result["backends"] = {}
    for backend in backends:
        with (
            nullcontext(cluster) if backend == "sqlite" or cluster else st.postgres() as pg,
            st.stack(backend, pg if backend != "sqlite" else None) as stack,
        ):
            body_file = stack.work / "body.json"
            body_file.write_bytes(body)
            result["backends"][backend] = _app_case(stack, body_file, body, signature, baseline["rate"])
    return result


if __name__ == "__main__":
    print(json.dumps(run(), indent=2))

"""``make bench``: run the benchmarks, print one table, write bench-results/results.json.

``BENCH=ingest,worker`` (or arguments: ``python -m bench ledger``) runs a
subset of: ingest, worker, inquire, ledger. Memory figures come with ingest
(the web processes) and worker (the worker processes).
"""

from __future__ import annotations

import json
import os
import platform
import shutil
import signal
import subprocess
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

import psutil

CASES = ("ingest", "worker", "inquire", "ledger")
MEMORY_AIM_MB = 100  # issue 16: stays at or under 100 MB, flat
INGEST_RATIO_AIM = 0.35
INGEST_P99_AIM_MS = 25
SETTLE_RATIO_AIM = 0.5
DRAIN_AIM_S = 60  # 20,000 deliveries, 2 workers
LEDGER_AIM = 1_500  # postings/s, PostgreSQL, 8 writers
INQUIRE_P99_AIM_MS = 15
FLAT_MB = 5  # "flat": the peak grows by at most this much from the first checkpoint to the second


def machine() -> dict:
    """CPU model, cores, memory, Python, OS, tools and date of this run."""
    cpu = next(
        (
            line.split(":", 1)[1].strip()
            for line in Path("/proc/cpuinfo").read_text().splitlines()
            if line.startswith("model name")
        ),
        platform.processor(),
    )
    os_name = (
        next(
            (
                line.split("=", 1)[1].strip('"')
                for line in Path("/etc/os-release").read_text().splitlines()
                if line.startswith("PRETTY_NAME=")
            ),
            platform.platform(),
        )
        if Path("/etc/os-release").exists()
        else platform.platform()
    )
    wrk = shutil.which("wrk")
    wrk_version = (
        subprocess.run([wrk, "--version"], capture_output=True, text=True).stdout.split("[")[0].strip() if wrk else None
    )
    from devtools.services import postgres_bindir

    bindir = postgres_bindir()
    pg = (
        subprocess.run([os.path.join(bindir, "postgres"), "--version"], capture_output=True, text=True).stdout.strip()
        if bindir
        else None
    )
    return {
        "date": datetime.now(UTC).isoformat(timespec="seconds"),
        "cpu": cpu,
        "cores": os.cpu_count(),
        "memory_gib": round(psutil.virtual_memory().total / 2**30, 1),
        "python": sys.version.split()[0],
        "os": f"{os_name}, Linux {platform.release()}",
        "wrk": wrk_version,
        "postgresql": pg,
        "load_average_at_start": [round(x, 2) for x in os.getloadavg()],
    }


def selected(argv: list[str]) -> list[str]:
    names = [n.strip() for arg in (argv or [os.environ.get("BENCH", "")]) for n in arg.split(",") if n.strip()]
    unknown = [n for n in names if n not in CASES]
    if unknown:
        raise SystemExit(f"unknown benchmark {', '.join(unknown)}; choose from {', '.join(CASES)}")
    return names or list(CASES)


def run(names: list[str]) -> dict:
    from bench import stack

    results: dict = {}
    timings: dict = {}
    needs_pg = any(n in names for n in ("ingest", "worker", "ledger"))
    from contextlib import nullcontext

    with stack.postgres() if needs_pg else nullcontext() as cluster:
        for name in names:
            started = time.monotonic()
            print(f"bench: {name} ...", flush=True)
            if name == "ingest":
                from bench import ingest

                results[name] = ingest.run(cluster)
            elif name == "worker":
                from bench import worker

                results[name] = worker.run(cluster)
            elif name == "inquire":
                from bench import inquire

                results[name] = inquire.run()
            elif name == "ledger":
                from bench import ledger

                results[name] = ledger.run(cluster)
            timings[name] = round(time.monotonic() - started, 1)
            print(f"bench: {name} took {timings[name]} s", flush=True)
    return {"results": results, "seconds": timings}


def _met(ok: bool | None) -> str:
    return "-" if ok is None else ("yes" if ok else "NO")


def rows(results: dict) -> list[tuple[str, str, str, str]]:
    """(figure, result, aim, met) for the table."""
    out: list[tuple[str, str, str, str]] = []
    if "ingest" in results:
        r = results["ingest"]
        bare = r["bare"]["max_rate"]
        for backend, b in r["backends"].items():
            out.append(
                (
                    f"ingest {backend}: deliveries/s vs bare Flask",
                    f"{b['max_rate']:.0f} vs {bare:.0f} = {b['ratio']:.2f}",
                    f">= {INGEST_RATIO_AIM}",
                    _met(b["ratio"] >= INGEST_RATIO_AIM),
                )
            )
            h = b["half_rate"]
            out.append(
                (
                    f"ingest {backend}: p50/p99 at {h['target_rate']:.0f}/s (half max)",
                    f"{h['p50_ms']:.1f} / {h['p99_ms']:.1f} ms (CPUs {h['machine_busy_pct']:.0f}% busy, "
                    f"client {h['client_cores']:.2f} cores)",
                    f"p99 <= {INGEST_P99_AIM_MS} ms",
                    _met(h["p99_ms"] <= INGEST_P99_AIM_MS),
                )
            )
        for backend, b in r["backends"].items():
            if "memory" not in b:
                continue
            first, second = (b["memory"][k]["peak_process_mb"] for k in sorted(b["memory"], key=int))
            ks = " / ".join(f"{int(k):,}" for k in sorted(b["memory"], key=int))
            out.append(
                (
                    f"memory web ({backend}): peak RSS after {ks}",
                    f"{first:.0f} / {second:.0f} MB",
                    f"<= {MEMORY_AIM_MB} MB, flat",
                    _met(second <= MEMORY_AIM_MB and second - first <= FLAT_MB),
                )
            )
    if "worker" in results:
        r = results["worker"]
        out.append(
            (
                "worker: settled/s per worker vs RQ no-op",
                f"{r['settled_per_s_per_worker']:.1f} vs {r['noop_jobs_per_s']:.1f} = {r['ratio']:.2f}",
                f">= {SETTLE_RATIO_AIM}",
                _met(r["ratio"] >= SETTLE_RATIO_AIM),
            )
        )
        for label, kind in (("events on (webhooks_out)", "events"), ("a Hang merchant (fake Hang)", "hang")):
            if kind in r:
                v = r[kind]
                out.append(
                    (
                        f"worker, {label}: settled/s vs RQ no-op",
                        f"{v['settled_per_s_per_worker']:.1f} = {v['ratio']:.2f} ({v['backlog']:,} orders, all sent "
                        f"in {v['drain_s']:.0f} s: {v['sent']:,})",
                        f">= {SETTLE_RATIO_AIM}",
                        _met(v["ratio"] >= SETTLE_RATIO_AIM),
                    )
                )
        out.append(
            ("worker: drain {:,} deliveries, 1 worker".format(r["backlog"]), f"{r['drain_1_worker_s']:.0f} s", "-", "-")
        )
        aimed = r["backlog"] == 20_000
        out.append(
            (
                f"worker: drain {r['backlog']:,} deliveries, 2 workers",
                f"{r['drain_2_workers_s']:.0f} s",
                f"<= {DRAIN_AIM_S} s" if aimed else "-",
                _met(r["drain_2_workers_s"] <= DRAIN_AIM_S) if aimed else "-",
            )
        )
        f = r["fork"]
        out.append(
            (
                "  for comparison, --fork (a work horse per job)",
                f"{f['settled_per_s_per_worker']:.1f} vs {f['noop_jobs_per_s']:.1f} = {f['ratio']:.2f}",
                "-",
                "-",
            )
        )
        m = r["memory"]
        cps = sorted(m["checkpoints"], key=int)
        first, second = (m["checkpoints"][k]["peak_process_mb"] for k in cps)
        out.append(
            (
                f"memory worker: peak RSS after {' / '.join(f'{int(k):,}' for k in cps)}",
                f"{first:.0f} / {second:.0f} MB",
                f"<= {MEMORY_AIM_MB} MB, flat",
                _met(second <= MEMORY_AIM_MB and second - first <= FLAT_MB),
            )
        )
    if "inquire" in results:
        r = results["inquire"]
        out.append(
            (
                f"Toast INQUIRE p50/p99 ({r['rewards']:,} rewards, {r['selections']} selections)",
                f"{r['p50_ms']:.1f} / {r['p99_ms']:.1f} ms",
                f"p99 <= {INQUIRE_P99_AIM_MS} ms",
                _met(r["p99_ms"] <= INQUIRE_P99_AIM_MS),
            )
        )
    if "ledger" in results:
        r = results["ledger"]
        for backend, b in r["backends"].items():
            for case in ("distinct", "hot"):
                c = b[case]
                aimed = backend == "postgresql" and case == "distinct"
                out.append(
                    (
                        f"ledger {backend}, {r['writers']} writers, {case} members",
                        f"{c['per_s']:.0f}/s (p50 {c['p50_ms']:.1f}, p99 {c['p99_ms']:.0f} ms)",
                        f">= {LEDGER_AIM:,}/s" if aimed else "-",
                        _met(c["per_s"] >= LEDGER_AIM) if aimed else "-",
                    )
                )
    return out


def table(results: dict) -> str:
    data = rows(results)
    header = ("figure", "result", "aim", "met")
    widths = [max(len(str(r[i])) for r in [header, *data]) for i in range(4)]
    lines = [
        " | ".join(str(c).ljust(w) for c, w in zip(header, widths, strict=True)),
        "-+-".join("-" * w for w in widths),
    ]
    lines += [" | ".join(str(c).ljust(w) for c, w in zip(r, widths, strict=True)) for r in data]
    return "\n".join(lines)


def main(argv: list[str]) -> int:
    # SIGTERM (a CI time-out, kill) unwinds like Ctrl-C, so every server a benchmark started is stopped.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    names = selected(argv)
    if "ingest" in names and not shutil.which("wrk"):
        print(
            "bench: the ingest benchmark needs wrk from the OS packages: sudo apt-get install wrk "
            "(or run the others: make bench BENCH=worker,inquire,ledger)",
            file=sys.stderr,
        )
        return 2
    info = machine()
    started = time.monotonic()
    ran = run(names)
    info["load_average_at_end"] = [round(x, 2) for x in os.getloadavg()]
    info["total_seconds"] = round(time.monotonic() - started, 1)
    info["seconds_per_benchmark"] = ran["seconds"]
    out = Path("bench-results")
    out.mkdir(exist_ok=True)
    (out / "results.json").write_text(json.dumps({"machine": info, "results": ran["results"]}, indent=2))
    print()
    print(table(ran["results"]))
    print()
    print(
        f"machine: {info['cpu']}, {info['cores']} cores, {info['memory_gib']} GiB, Python {info['python']}, "
        f"{info['os']}; {info['date']}; load average {info['load_average_at_start'][0]} at start, "
        f"{info['load_average_at_end'][0]} at end; {info['total_seconds']:.0f} s"
    )
    print(f"written: {out / 'results.json'}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

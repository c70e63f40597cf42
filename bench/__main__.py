"""``make bench``: run every benchmark, print a table, write bench-results/results.json."""
from __future__ import annotations

import json
import platform
import sys
from datetime import datetime, timezone
from pathlib import Path

from bench import inquire


def main() -> int:
    results = [inquire.run()]
    machine = {"cpus": __import__("os").cpu_count(), "python": sys.version.split()[0], "platform": platform.platform(),
               "date": datetime.now(timezone.utc).isoformat(timespec="seconds")}
    out = Path("bench-results")
    out.mkdir(exist_ok=True)
    (out / "results.json").write_text(json.dumps({"machine": machine, "results": results}, indent=2))
    print(f"{'case':<16} {'requests':>8} {'p50 ms':>8} {'p99 ms':>8} {'mean ms':>8} {'max ms':>8}")
    for r in results:
        print(f"{r['case']:<16} {r['requests']:>8} {r['p50_ms']:>8} {r['p99_ms']:>8} {r['mean_ms']:>8} {r['max_ms']:>8}")
    print(f"machine: {machine}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

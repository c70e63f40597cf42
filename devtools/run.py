"""``make run``: migrate, load merchants, start a Redis when REDIS_URL is unset, run the Procfile processes.

Ctrl-C or SIGTERM stops everything it started: honcho passes SIGTERM to web,
worker and scheduler (the RQ worker finishes its job first), then Redis stops.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

from devtools.services import start_redis

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent


def main() -> int:
    env = dict(os.environ)
    env.setdefault("PORT", "5000")
    redis = None
    if not env.get("REDIS_URL"):
        port = int(env.get("PUNCHCARD_REDIS_PORT", "6390"))
        redis = start_redis(port, str(ROOT / "instance" / "redis"), persist=True)
        env["REDIS_URL"] = f"redis://127.0.0.1:{port}/0"
        print(f"punchcard: started redis-server on 127.0.0.1:{port}", flush=True)
    try:
        flask = [str(BIN / "flask"), "--app", "app"]
        subprocess.run([*flask, "db", "upgrade"], env=env, cwd=ROOT, check=True)
        subprocess.run([*flask, "merchants", "sync"], env=env, cwd=ROOT, check=True)
        print(f"punchcard: serving on http://localhost:{env['PORT']}  (Ctrl-C stops everything)", flush=True)
        return _foreground(env)
    finally:
        if redis is not None:
            redis.terminate()
            redis.wait(timeout=10)


def _foreground(env: dict) -> int:
    env["PATH"] = f"{BIN}{os.pathsep}{env.get('PATH', '')}"
    # Its own session: a terminal's Ctrl-C reaches only us, and we pass one SIGTERM on.
    # A second signal would make the RQ worker abandon its job (cold shutdown).
    honcho = subprocess.Popen(
        [str(BIN / "honcho"), "-f", "Procfile", "start", "web", "worker", "scheduler"],
        env=env,
        cwd=ROOT,
        start_new_session=True,
    )

    stopping = []

    def stop(signum, _frame):
        if not stopping:
            stopping.append(signum)
            honcho.send_signal(signal.SIGTERM)

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    code = honcho.wait()
    # honcho answers our SIGTERM with 128+15 even when every process stopped cleanly.
    return 0 if stopping and code in (128 + signal.SIGTERM, -signal.SIGTERM) else code


if __name__ == "__main__":
    sys.exit(main())

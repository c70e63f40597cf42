"""The servers the suite and ``make run`` start are really theirs, never a stranger left on the port."""

from __future__ import annotations

import socket
import tempfile

import pytest

from devtools.services import PortTaken, start_redis, start_redis_on_free_port


def test_a_redis_whose_port_another_process_serves_is_refused_rather_than_trusted():
    squatter = socket.socket()
    squatter.bind(("127.0.0.1", 0))
    squatter.listen()
    port = squatter.getsockname()[1]
    try:
        with pytest.raises(PortTaken):
            start_redis(port, tempfile.mkdtemp(prefix="punchcard-redis-"))
    finally:
        squatter.close()


def test_a_redis_on_a_free_port_answers_as_itself():
    proc, port = start_redis_on_free_port(tempfile.mkdtemp(prefix="punchcard-redis-"))
    try:
        from redis import Redis

        assert Redis(port=port).info("server")["process_id"] == proc.pid
    finally:
        proc.terminate()
        proc.wait(timeout=10)

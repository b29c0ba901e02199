"""`make run` = `quickstart --with-workers`: the development server, the notification worker and the
huey scheduler start together, and Ctrl-C (SIGINT to the process group) stops all of them."""

import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

from django.conf import settings


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def group_alive(pgid: int) -> bool:
    try:
        os.killpg(pgid, 0)
    except ProcessLookupError:
        return False
    return True


def test_quickstart_with_workers_runs_three_processes_and_ctrl_c_stops_them(tmp_path):
    port = free_port()
    env = {
        key: value for key, value in os.environ.items() if not key.startswith(("DATABASE_URL", "REDIS_URL", "DJANGO"))
    }
    env |= {"DEBUG": "1", "DATABASE_URL": f"sqlite:///{tmp_path / 'db.sqlite3'}", "PYTHONUNBUFFERED": "1"}
    env.pop("SECRET_KEY", None)
    manage_py = str(Path(settings.BASE_DIR) / "manage.py")
    process = subprocess.Popen(
        [sys.executable, manage_py, "quickstart", "--with-workers", "--addrport", f"127.0.0.1:{port}"],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,  # its own process group, as in a terminal
    )
    try:
        health = None
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=2) as response:
                    health = json.load(response)
                if health["worker_heartbeat_age"] is not None:
                    break
            except OSError:
                pass
            time.sleep(0.5)
        assert health is not None, "the development server never answered"
        assert health["worker_heartbeat_age"] is not None, health
        children = subprocess.run(
            ["ps", "-o", "args=", "-g", str(process.pid)], capture_output=True, text=True, check=False
        ).stdout
        assert "run_worker" in children and "run_huey" in children and "runserver" in children

        os.killpg(process.pid, signal.SIGINT)
        deadline = time.monotonic() + 20
        while (process.poll() is None or group_alive(process.pid)) and time.monotonic() < deadline:
            time.sleep(0.2)  # poll() reaps quickstart itself, which reaped its helpers
        assert not group_alive(process.pid), "something outlived Ctrl-C"
    finally:
        if group_alive(process.pid):
            os.killpg(process.pid, signal.SIGKILL)
        process.wait(timeout=10)

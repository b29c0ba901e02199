"""The repo's nginx (nginx/tinyteamsticket.conf, rendered as deploy/smoke_test.sh renders it) in front
of pytest-django's live server, for tests whose outcome depends on the proxy.

``nginx_proxy`` starts one nginx per test on a free port with the app's production-like settings
(BEHIND_PROXY, X-Accel-Redirect for attachments). Clients connect from chosen loopback addresses
(127.0.0.2, 127.0.0.3, ...: all of 127/8 is local on Linux), so nginx sees different clients.
"""

import os
import shutil
import signal
import socket
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

import pytest
import requests
from django.conf import settings as django_settings
from requests.adapters import HTTPAdapter

TEMPLATE = Path(django_settings.BASE_DIR) / "nginx" / "tinyteamsticket.conf"
NGINX = shutil.which("nginx") or "/usr/sbin/nginx"
X_ACCEL_PREFIX = "/protected-attachments/"


def render(values: dict[str, str]) -> str:
    """envsubst for ${NAME} only: nginx's own $variables stay as they are."""
    text = TEMPLATE.read_text()
    for name, value in values.items():
        text = text.replace("${" + name + "}", value)
    return text


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class _FromAddress(HTTPAdapter):
    """Connections from one local source address, so that nginx's $remote_addr is that address."""

    def __init__(self, address: str):
        self.address = address
        super().__init__()

    def init_poolmanager(self, *args, **kwargs):
        kwargs["source_address"] = (self.address, 0)
        super().init_poolmanager(*args, **kwargs)


@dataclass
class Nginx:
    url: str
    directory: Path

    def client(self, address: str = "127.0.0.1") -> requests.Session:
        """A browser-like session whose connections to nginx come from ``address``."""
        session = requests.Session()
        session.mount("http://", _FromAddress(address))
        return session

    @property
    def error_log(self) -> str:
        return (self.directory / "logs" / "error.log").read_text()


def _wait_for(port: int, process: subprocess.Popen, directory: Path) -> None:
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        if process.poll() is not None:
            logs = [directory / "logs" / name for name in ("stderr.log", "error.log")]
            raise RuntimeError("nginx exited: " + "".join(log.read_text() for log in logs if log.exists()))
        with socket.socket() as probe:
            if probe.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.05)
    raise RuntimeError("nginx did not start listening within 10 s")


@pytest.fixture
def nginx_proxy(live_server, settings, tmp_path, attachment_root):
    """nginx with the repo's config on a free port in front of the live server; the app behaves as
    in production behind it (BEHIND_PROXY=1, ATTACHMENT_X_ACCEL_PREFIX)."""
    if not os.path.exists(NGINX):
        if os.environ.get("CI") == "true":
            pytest.fail(f"nginx not found at {NGINX}")
        pytest.skip(f"nginx not installed at {NGINX}")
    port = free_port()
    app = urlsplit(live_server.url)
    directory = tmp_path / "nginx"
    (directory / "logs").mkdir(parents=True)
    attachment_root.mkdir(parents=True, exist_ok=True)
    server = render(
        {
            "NGINX_LISTEN": f"127.0.0.1:{port}",
            "NGINX_SERVER_NAME": "localhost",
            "APP_UPSTREAM": f"127.0.0.1:{app.port}",
            "STATIC_ROOT": str(tmp_path / "static"),
            "ATTACHMENT_ROOT": str(attachment_root),
            "CLIENT_MAX_BODY_SIZE": "60m",
        }
    )
    (directory / "server.conf").write_text(server)
    # As root (CI, containers) the workers would otherwise run as nobody and not read tmp_path.
    user = "user root;\n" if os.geteuid() == 0 else ""
    (directory / "nginx.conf").write_text(
        f"{user}worker_processes 1;\ndaemon off;\npid {directory}/nginx.pid;\n"
        f"error_log {directory}/logs/error.log warn;\nevents {{ worker_connections 64; }}\n"
        f"http {{\n include /etc/nginx/mime.types;\n default_type application/octet-stream;\n access_log off;\n"
        f" client_body_temp_path {directory}/body;\n proxy_temp_path {directory}/proxy;\n"
        f" fastcgi_temp_path {directory}/fcgi;\n uwsgi_temp_path {directory}/uwsgi;\n"
        f" scgi_temp_path {directory}/scgi;\n include {directory}/server.conf;\n}}\n"
    )
    settings.BEHIND_PROXY = True
    settings.ATTACHMENT_X_ACCEL_PREFIX = X_ACCEL_PREFIX
    settings.ALLOWED_HOSTS = [*settings.ALLOWED_HOSTS, "127.0.0.1", "localhost"]
    with (directory / "logs" / "stderr.log").open("w") as stderr:
        process = subprocess.Popen(
            [NGINX, "-c", str(directory / "nginx.conf"), "-p", str(directory)], stdout=subprocess.DEVNULL, stderr=stderr
        )
    try:
        _wait_for(port, process, directory)
        yield Nginx(url=f"http://127.0.0.1:{port}", directory=directory)
    finally:
        process.send_signal(signal.SIGQUIT)  # graceful: finish the answers in flight
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()

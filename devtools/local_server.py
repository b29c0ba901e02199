"""A stand-in for an outside service as a real HTTP server on this machine, served from a thread.

The fakes of Entra ID (devtools.fake_entra) and Microsoft Graph (devtools.fake_graph) share
this lifecycle; the tests, the smoke test and ``manage.py fake_entra`` start them. The port is chosen
on start unless one is given.
"""

import functools
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


class LocalHTTPServer:
    """Subclasses answer requests in ``handler_class()``, whose handlers find the fake as ``server.fake``."""

    def __init__(self, *, host: str = "127.0.0.1", port: int = 0) -> None:
        self.host = host
        self.port = port
        self._url: str | None = None
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

    def handler_class(self) -> type[BaseHTTPRequestHandler]:
        raise NotImplementedError

    def start(self):
        if self._server is not None:
            raise RuntimeError(f"{type(self).__name__} is already running.")
        server = ThreadingHTTPServer((self.host, self.port), self.handler_class())
        server.fake = self  # type: ignore[attr-defined]
        self._server = server
        self._url = f"http://{self.host}:{server.server_address[1]}"
        # A short poll interval: stop() waits up to one interval.
        serve = functools.partial(server.serve_forever, poll_interval=0.05)
        self._thread = threading.Thread(target=serve, name=f"{type(self).__name__} {self._url}", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        if self._server is None:
            return
        self._server.shutdown()
        self._server.server_close()
        if self._thread is not None:
            self._thread.join()
        self._server = self._thread = None

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    @property
    def url(self) -> str:
        if self._url is None:
            raise RuntimeError(f"Start the {type(self).__name__} first; its port is chosen on start.")
        return self._url

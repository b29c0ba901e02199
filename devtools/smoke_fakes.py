"""Fakes for deploy/smoke_test.sh: a fake Entra ID (token endpoint) and a fake Graph
(sendActivityNotification) on free local ports, plus a tiny control server that reports what the
fake Graph received. Writes their addresses and ids to a JSON file, then serves until killed.

    python devtools/smoke_fakes.py STATE.json TENANT_ID CLIENT_ID CLIENT_SECRET
"""

import json
import os
import signal
import sys
import threading
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "core.settings")

import django

django.setup()

from devtools.fake_entra import FakeEntraID  # noqa: E402
from devtools.fake_graph import FakeGraph  # noqa: E402


def main() -> None:
    state_path, tenant, client, secret = sys.argv[1:5]
    entra = FakeEntraID(tenant_id=tenant, client_id=client, client_secret=secret).start()
    graph = FakeGraph(
        jwks_url=f"{entra.authority}/discovery/v2.0/keys",
        issuers=(entra.issuer_v1, entra.issuer),
        tenant_id=tenant,
        client_id=client,
    ).start()
    agent_oid = graph.add_user(str(uuid.uuid4()))

    class Control(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            if self.path != "/requests":
                self.send_error(404)
                return
            payload = json.dumps(
                [{"method": r.method, "path": r.path, "body": r.body} for r in list(graph.requests)]
            ).encode()
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            self.wfile.write(payload)

        def log_message(self, *args) -> None:
            pass

    control = ThreadingHTTPServer(("127.0.0.1", 0), Control)
    threading.Thread(target=control.serve_forever, daemon=True).start()

    state = {
        "entra_url": entra.url,
        "graph_url": graph.url,
        "control_url": f"http://127.0.0.1:{control.server_address[1]}",
        "agent_oid": agent_oid,
    }
    tmp = Path(state_path + ".tmp")
    tmp.write_text(json.dumps(state))
    tmp.replace(state_path)  # appears whole
    print(f"smoke fakes: {state}", flush=True)

    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    stop.wait()
    control.shutdown()
    graph.stop()
    entra.stop()


if __name__ == "__main__":
    main()

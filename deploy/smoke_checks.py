"""The checks through nginx shared by deploy/smoke_test.sh and deploy/container_smoke_test.sh.

/healthz with both heartbeats, a static file, sign-in, a ticket filed with a PNG attachment, its
download served by nginx via X-Accel-Redirect (and refused to another employee), and optionally the
Teams notification arriving at the fake Graph. Needs only ``requests``. Exits 1 at the first failed
check; prints one "ok:" line per passed check.

    python deploy/smoke_checks.py --base http://127.0.0.1:8080 --app http://127.0.0.1:8001 \\
        --leaf 2 --static-root DIR --static-file css/x.css [--graph-control URL --agent-oid OID] \\
        [--result result.json]
"""

import argparse
import hashlib
import json
import re
import struct
import sys
import time
import zlib
from pathlib import Path

import requests

EMMA = ("emma", "smoke-Emma-pw-1")  # deploy/smoke_seed.py
OTTO = ("otto", "smoke-Otto-pw-1")


def step(text: str) -> None:
    print(f"\n== {text}", flush=True)


def check(condition: bool, message: str) -> None:
    if not condition:
        print(f"FAILED: {message}", file=sys.stderr, flush=True)
        sys.exit(1)
    print(f"  ok: {message}", flush=True)


def poll(seconds: int, probe, what: str):
    deadline = time.monotonic() + seconds
    last = None
    while time.monotonic() < deadline:
        try:
            result = probe()
            if result:
                return result
        except (requests.RequestException, ValueError) as error:
            last = error
        time.sleep(0.5)
    check(False, f"{what} within {seconds} s (last error: {last})")


def csrf(html: str) -> str:
    match = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', html)
    check(match is not None, "form carries a CSRF token")
    return match.group(1)


def login(base: str, username: str, password: str) -> requests.Session:
    session = requests.Session()
    page = session.get(f"{base}/accounts/login/", timeout=10)
    check(page.status_code == 200, f"login page 200 for {username}")
    answer = session.post(
        f"{base}/accounts/login/",
        data={"csrfmiddlewaretoken": csrf(page.text), "username": username, "password": password},
        headers={"Referer": f"{base}/accounts/login/"},
        timeout=10,
        allow_redirects=False,
    )
    check(answer.status_code == 302, f"{username} signed in (302, got {answer.status_code})")
    return session


def png() -> bytes:
    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)

    raw = b"".join(b"\x00" + b"".join(bytes([x * 16, y * 16, 128]) for x in range(16)) for y in range(16))
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", struct.pack(">IIBBBBB", 16, 16, 8, 2, 0, 0, 0))
        + chunk(b"IDAT", zlib.compress(raw))
        + chunk(b"IEND", b"")
    )


def check_health(base: str) -> None:
    step("GET /healthz until 200 with worker and scheduler heartbeats (<= 90 s)")

    def healthy():
        answer = requests.get(f"{base}/healthz", timeout=5)
        return answer.json() if answer.status_code == 200 else None

    report = poll(90, healthy, "/healthz answers 200")
    print(f"  {report}")
    check(
        report["worker_heartbeat_age"] is not None and report["scheduler_heartbeat_age"] is not None, "both heartbeats"
    )
    check(report["database"] == report["cache"] == report["redis"] == "ok", "database, cache and redis ok")


def check_static(base: str, static_root: Path, static_file: str) -> None:
    step("Static file served by nginx")
    static = requests.get(f"{base}/static/{static_file}", timeout=10)
    check(static.status_code == 200, f"/static/{static_file} 200")
    check(static.content == (static_root / static_file).read_bytes(), "static bytes equal the collected file")
    check("immutable" in static.headers.get("Cache-Control", ""), "static Cache-Control from nginx (immutable)")


def check_ticket_with_attachment(base: str, app: str, leaf: str) -> tuple[int, bytes]:
    """File a ticket with a PNG as an employee; download it through nginx. Returns (ticket id, bytes)."""
    step("Sign in as the employee and file a ticket with a PNG attachment")
    emma = login(base, *EMMA)
    form = emma.get(f"{base}/tickets/new/", params={"source": leaf}, timeout=10)
    check(form.status_code == 200 and 'name="title"' in form.text, "ticket form for the leaf problem source")
    image = png()
    created = emma.post(
        f"{base}/tickets/new/",
        data={
            "csrfmiddlewaretoken": csrf(form.text),
            "problem_source": leaf,
            "title": "Smoke test: printer on fire",
            "description": "Filed by the smoke test through nginx.",
            "priority": "2",
        },
        files=[("attachments", ("screenshot.png", image, "image/png"))],
        headers={"Referer": form.url},
        timeout=30,
        allow_redirects=False,
    )
    check(created.status_code == 302, f"ticket created (302, got {created.status_code})")
    ticket_url = created.headers["Location"]
    if ticket_url.startswith("/"):
        ticket_url = base + ticket_url
    detail = emma.get(ticket_url, timeout=10)
    check(detail.status_code == 200, f"ticket page {ticket_url} 200")
    links = re.findall(r'href="(/tickets/\d+/attachments/\d+/)"', detail.text)
    check(len(links) >= 1, f"ticket page links the attachment {links[:1]}")
    download_path = links[0]
    ticket_id = int(re.search(r"/tickets/(\d+)/", download_path).group(1))

    step("Download the attachment through nginx (X-Accel-Redirect)")
    got = emma.get(base + download_path, timeout=10)
    check(got.status_code == 200, "owner's download 200")
    check(got.content == image, "downloaded bytes equal the upload")
    check(got.headers.get("Content-Disposition", "").startswith("attachment"), "Content-Disposition: attachment")
    check(got.headers.get("X-Content-Type-Options") == "nosniff", "X-Content-Type-Options: nosniff")
    check("X-Accel-Redirect" not in got.headers, "X-Accel-Redirect not leaked to the client")
    direct = emma.get(app + download_path, timeout=10)
    check(direct.status_code == 200 and direct.content == b"", "gunicorn itself answers with an empty body")
    accel = direct.headers.get("X-Accel-Redirect", "")
    check(accel.startswith("/protected-attachments/"), f"gunicorn sent X-Accel-Redirect: {accel}")
    hidden = requests.get(f"{base}{accel}", timeout=10)
    check(hidden.status_code == 404, "the internal location is 404 from outside")

    step("Another employee gets 404 for the same attachment")
    otto = login(base, *OTTO)
    check(otto.get(base + download_path, timeout=10).status_code == 404, "other employee's download 404")
    anonymous = requests.get(base + download_path, timeout=10, allow_redirects=False)
    check(anonymous.status_code in (302, 404), "anonymous refused")
    return ticket_id, image


def check_teams_notification(control_url: str, agent_oid: str) -> None:
    step("The worker delivers the Teams notification to the agent via the fake Graph (<= 60 s)")
    agent_path = f"/v1.0/users/{agent_oid}/teamwork/sendActivityNotification"

    def delivered():
        seen = requests.get(f"{control_url}/requests", timeout=5).json()
        return [r for r in seen if r["method"] == "POST" and r["path"] == agent_path]

    sent = poll(60, delivered, "sendActivityNotification for the agent")
    activity = sent[0]["body"].get("activityType")
    check(activity == "ticketCreated", f"activityType {activity}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--base", required=True, help="nginx, e.g. http://127.0.0.1:8080")
    parser.add_argument("--app", required=True, help="gunicorn directly, e.g. http://127.0.0.1:8001")
    parser.add_argument("--leaf", required=True, help="id of a selectable problem source")
    parser.add_argument("--static-root", required=True, type=Path, help="the directory nginx serves /static/ from")
    parser.add_argument("--static-file", required=True, help="a file under --static-root")
    parser.add_argument("--graph-control", help="the fake Graph's control URL (devtools/smoke_fakes.py)")
    parser.add_argument("--agent-oid", help="the agent's Microsoft object id, with --graph-control")
    parser.add_argument("--result", type=Path, help='write {"ticket_id", "sha256"} here')
    args = parser.parse_args()

    check_health(args.base)
    check_static(args.base, args.static_root, args.static_file)
    ticket_id, image = check_ticket_with_attachment(args.base, args.app, args.leaf)
    if args.graph_control:
        check_teams_notification(args.graph_control, args.agent_oid)
    if args.result:
        args.result.write_text(json.dumps({"ticket_id": ticket_id, "sha256": hashlib.sha256(image).hexdigest()}))


if __name__ == "__main__":
    main()

#!/usr/bin/env bash
# Production smoke test without Docker: PostgreSQL and Redis (already running locally), gunicorn
# (deploy/gunicorn.conf.py), the notification worker, the huey scheduler and nginx (the repo's
# template), with a fake Entra ID and a fake Graph (devtools/smoke_fakes.py). Files a ticket with an
# attachment through nginx, checks X-Accel-Redirect, the Teams notification, then backup + restore.
# Exits non-zero on any failed check; the EXIT trap stops everything it started and drops its databases.
#
#   deploy/smoke_test.sh      (PG_HOST/PG_PORT/PG_USER, REDIS_HOST/REDIS_PORT, NGINX override the defaults)
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
PY="$ROOT/.venv/bin/python"
NGINX="${NGINX:-/usr/sbin/nginx}"
PG_HOST="${PG_HOST:-127.0.0.1}" PG_PORT="${PG_PORT:-5432}" PG_USER="${PG_USER:-postgres}"
REDIS_HOST="${REDIS_HOST:-127.0.0.1}" REDIS_PORT="${REDIS_PORT:-6379}" REDIS_DB=15
DB=tt_smoke
DB_RESTORE=tt_smoke_restore
START=$SECONDS

log() { printf '\n== %s\n' "$*"; }
fail() { printf 'FAILED: %s\n' "$*" >&2; exit 1; }
psql_() { PGOPTIONS='-c client_min_messages=warning' psql -h "$PG_HOST" -p "$PG_PORT" -U "$PG_USER" -v ON_ERROR_STOP=1 -qAt "$@"; }

TMP=$(mktemp -d /tmp/tt-smoke.XXXXXX)
PIDS=()

cleanup() {
  local rc=$?
  set +e
  if ((rc != 0)) && [[ -d "$TMP/logs" ]]; then
    for f in "$TMP"/logs/*; do
      printf '\n--- last lines of %s\n' "${f##*/}" >&2
      tail -n 25 "$f" >&2
    done
  fi
  log "Cleanup"
  local pid
  for pid in "${PIDS[@]}"; do kill -TERM -- "-$pid" 2>/dev/null || kill -TERM "$pid" 2>/dev/null; done
  for _ in $(seq 100); do  # up to 10 s for a graceful stop
    local alive=0
    for pid in "${PIDS[@]}"; do kill -0 -- "-$pid" 2>/dev/null && alive=1; done
    ((alive)) || break
    sleep 0.1
  done
  for pid in "${PIDS[@]}"; do kill -KILL -- "-$pid" 2>/dev/null; done
  wait 2>/dev/null
  psql_ -d postgres -c "DROP DATABASE IF EXISTS $DB WITH (FORCE)" -c "DROP DATABASE IF EXISTS $DB_RESTORE WITH (FORCE)"
  redis-cli -h "$REDIS_HOST" -p "$REDIS_PORT" -n "$REDIS_DB" flushdb >/dev/null
  rm -rf "$TMP"
  if ((rc == 0)); then log "Smoke test passed in $((SECONDS - START)) s"; else log "Smoke test FAILED (exit $rc)"; fi
  exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT TERM HUP

# Start "$@" in its own session (= process group, its pid is the group id), output to logs/$1.log.
start() {
  local name=$1
  shift
  setsid "$@" >"$TMP/logs/$name.log" 2>&1 </dev/null &
  PIDS+=($!)
  echo "started $name (pid $!)"
}

# wait_for SECONDS DESCRIPTION COMMAND...: retry COMMAND every 0.5 s until it succeeds.
wait_for() {
  local limit=$1 what=$2
  shift 2
  local deadline=$((SECONDS + limit))
  until "$@" >/dev/null 2>&1; do
    ((SECONDS < deadline)) || fail "timed out after ${limit} s waiting for $what"
    sleep 0.5
  done
}

free_port() { "$PY" -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }

log "Prerequisites"
[[ -x "$PY" ]] || fail "no virtualenv at .venv (run: make .venv/.installed)"
[[ -x "$NGINX" ]] || fail "nginx not found at $NGINX"
pg_isready -q -h "$PG_HOST" -p "$PG_PORT" || fail "PostgreSQL is not running on $PG_HOST:$PG_PORT"
redis-cli -h "$REDIS_HOST" -p "$REDIS_PORT" ping | grep -q PONG || fail "Redis is not running on $REDIS_HOST:$REDIS_PORT"
mkdir -p "$TMP"/{logs,static,attachments,restored,nginx/logs,backup}

log "Fresh database $DB, Redis db $REDIS_DB"
psql_ -d postgres -c "DROP DATABASE IF EXISTS $DB WITH (FORCE)" -c "DROP DATABASE IF EXISTS $DB_RESTORE WITH (FORCE)"
psql_ -d postgres -c "CREATE DATABASE $DB"
redis-cli -h "$REDIS_HOST" -p "$REDIS_PORT" -n "$REDIS_DB" flushdb >/dev/null

log "Fake Entra ID and fake Graph"
TENANT=$("$PY" -c 'import uuid; print(uuid.uuid4())')
CLIENT=$("$PY" -c 'import uuid; print(uuid.uuid4())')
CLIENT_SECRET=$("$PY" -c 'import secrets; print(secrets.token_urlsafe(24))')
start fakes env DJANGO_SETTINGS_MODULE=core.settings DEBUG=1 "$PY" devtools/smoke_fakes.py \
  "$TMP/fakes.json" "$TENANT" "$CLIENT" "$CLIENT_SECRET"
wait_for 30 "the fakes" test -s "$TMP/fakes.json"
fake() { "$PY" -c 'import json, sys; print(json.load(open(sys.argv[1]))[sys.argv[2]])' "$TMP/fakes.json" "$1"; }
ENTRA_URL=$(fake entra_url) GRAPH_URL_=$(fake graph_url) CONTROL_URL=$(fake control_url) AGENT_OID=$(fake agent_oid)
echo "entra $ENTRA_URL, graph $GRAPH_URL_, agent oid $AGENT_OID"

APP_PORT=$(free_port)
WEB_PORT=$(free_port)
while [[ "$WEB_PORT" == "$APP_PORT" ]]; do WEB_PORT=$(free_port); done
BASE="http://127.0.0.1:$WEB_PORT"

# Production-like environment (docker-compose.yml's x-app plus .env), for every Django process below.
export DJANGO_SETTINGS_MODULE=core.settings
export DEBUG=0 HTTPS=0 BEHIND_PROXY=1 SECURE_SSL_REDIRECT=0
export SECRET_KEY
SECRET_KEY=$("$PY" -c 'import secrets; print(secrets.token_urlsafe(50))')
export ALLOWED_HOSTS=127.0.0.1,localhost
export CSRF_TRUSTED_ORIGINS="$BASE"
export SITE_URL="$BASE"
export DATABASE_URL="postgres://$PG_USER@$PG_HOST:$PG_PORT/$DB"
export REDIS_URL="redis://$REDIS_HOST:$REDIS_PORT/$REDIS_DB"
export STATIC_ROOT="$TMP/static" ATTACHMENT_ROOT="$TMP/attachments"
export ATTACHMENT_X_ACCEL_PREFIX=/protected-attachments/
export TEAMS_APP_ID
TEAMS_APP_ID=$("$PY" -c 'import uuid; print(uuid.uuid4())')
export TEAMS_PRIVACY_URL=https://example.com/privacy TEAMS_TERMS_URL=https://example.com/terms
export ENTRA_TENANT_ID="$TENANT" ENTRA_CLIENT_ID="$CLIENT" ENTRA_CLIENT_SECRET="$CLIENT_SECRET"
export ENTRA_AUTHORITY_URL="$ENTRA_URL" GRAPH_URL="$GRAPH_URL_"
export TOKEN_ENCRYPTION_KEY
TOKEN_ENCRYPTION_KEY=$("$PY" -c 'from cryptography.fernet import Fernet; print(Fernet.generate_key().decode())')
export HEALTH_HEARTBEAT_MAX_AGE=60
export EMAIL_URL=console:
export GUNICORN_BIND="127.0.0.1:$APP_PORT" GUNICORN_WORKERS=2

log "Django system check (--deploy)"
echo "(security.W004/W008/W012/W016 are expected here: this test speaks plain http, HTTPS=0)"
"$PY" manage.py check --deploy --fail-level ERROR

log "migrate"
"$PY" manage.py migrate --noinput >"$TMP/logs/migrate.log"

log "collectstatic"
"$PY" manage.py collectstatic --noinput >"$TMP/logs/collectstatic.log"
STATIC_FILE=$(cd "$TMP/static" && find . -type f -name '*.css' | sort | head -n1)
STATIC_FILE=${STATIC_FILE#./}
[[ -n "$STATIC_FILE" ]] || fail "collectstatic wrote no CSS file"

log "Users (agent with a Microsoft account, two employees) and a problem source"
SEED=$("$PY" manage.py shell -c "
from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from social_django.models import UserSocialAuth
from tickets import problem_sources
User = get_user_model()
staff, _ = Group.objects.get_or_create(name=settings.IT_STAFF_GROUP)
agent = User.objects.create_user('agent', 'agent@example.com', 'smoke-Agent-pw-1')
agent.groups.add(staff)
UserSocialAuth.objects.create(user=agent, provider='azuread-v2-tenant-oauth2', uid='$AGENT_OID', extra_data={'oid': '$AGENT_OID'})
User.objects.create_user('emma', 'emma@example.com', 'smoke-Emma-pw-1')
User.objects.create_user('otto', 'otto@example.com', 'smoke-Otto-pw-1')
root = problem_sources.problem_source_create(name_en='Hardware')
leaf = problem_sources.problem_source_create(parent=root, name_en='Printer', is_selectable=True)
print(leaf.pk)
")
LEAF_ID=$(tail -n1 <<<"$SEED")
[[ "$LEAF_ID" =~ ^[0-9]+$ ]] || fail "seeding printed no problem source id: $SEED"

log "Start gunicorn (127.0.0.1:$APP_PORT), worker, scheduler"
start gunicorn "$ROOT/.venv/bin/gunicorn" -c deploy/gunicorn.conf.py core.wsgi
start worker "$PY" manage.py run_worker
start scheduler "$PY" manage.py run_huey

log "Start nginx (127.0.0.1:$WEB_PORT) with nginx/tinyteamsticket.conf"
NGINX_LISTEN="127.0.0.1:$WEB_PORT" NGINX_SERVER_NAME=localhost APP_UPSTREAM="127.0.0.1:$APP_PORT" \
  STATIC_ROOT="$TMP/static" ATTACHMENT_ROOT="$TMP/attachments" CLIENT_MAX_BODY_SIZE=60m \
  envsubst '${NGINX_LISTEN} ${NGINX_SERVER_NAME} ${APP_UPSTREAM} ${STATIC_ROOT} ${ATTACHMENT_ROOT} ${CLIENT_MAX_BODY_SIZE}' \
  <nginx/tinyteamsticket.conf >"$TMP/nginx/server.conf"
if grep -v '^\s*#' "$TMP/nginx/server.conf" | grep -q '\${'; then fail "nginx template not fully rendered"; fi
N="$TMP/nginx"
cat >"$N/nginx.conf" <<EOF
user root;
worker_processes 1;
daemon off;
pid $N/nginx.pid;
error_log $N/logs/error.log warn;
events { worker_connections 256; }
http {
  include /etc/nginx/mime.types;
  default_type application/octet-stream;
  access_log $N/logs/access.log;
  client_body_temp_path $N/body;
  proxy_temp_path $N/proxy;
  fastcgi_temp_path $N/fcgi;
  uwsgi_temp_path $N/uwsgi;
  scgi_temp_path $N/scgi;
  include $N/server.conf;
}
EOF
"$NGINX" -t -q -c "$N/nginx.conf" -p "$N"
start nginx "$NGINX" -c "$N/nginx.conf" -p "$N"

export BASE APP_PORT CONTROL_URL AGENT_OID LEAF_ID STATIC_FILE TMP
export GUNICORN_LOG="$TMP/logs/gunicorn.log"

log "Checks through nginx"
"$PY" - <<'PYEOF'
import hashlib
import io
import json
import os
import re
import struct
import sys
import time
import zlib

import requests

BASE = os.environ["BASE"]
APP = f"http://127.0.0.1:{os.environ['APP_PORT']}"
TMP = os.environ["TMP"]


def step(text):
    print(f"\n== {text}", flush=True)


def check(condition, message):
    if not condition:
        print(f"FAILED: {message}", file=sys.stderr, flush=True)
        sys.exit(1)
    print(f"  ok: {message}", flush=True)


def poll(seconds, probe, what):
    deadline = time.monotonic() + seconds
    last = None
    while time.monotonic() < deadline:
        try:
            result = probe()
            if result:
                return result
        except requests.RequestException as error:
            last = error
        time.sleep(0.5)
    check(False, f"{what} within {seconds} s (last error: {last})")


def csrf(html):
    match = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', html)
    check(match is not None, "form carries a CSRF token")
    return match.group(1)


def login(username, password):
    session = requests.Session()
    page = session.get(f"{BASE}/accounts/login/", timeout=10)
    check(page.status_code == 200, f"login page 200 for {username}")
    answer = session.post(
        f"{BASE}/accounts/login/",
        data={"csrfmiddlewaretoken": csrf(page.text), "username": username, "password": password},
        headers={"Referer": f"{BASE}/accounts/login/"},
        timeout=10,
        allow_redirects=False,
    )
    check(answer.status_code == 302, f"{username} signed in (302, got {answer.status_code})")
    return session


def png():
    def chunk(kind, data):
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)

    raw = b"".join(b"\x00" + b"".join(bytes([x * 16, y * 16, 128]) for x in range(16)) for y in range(16))
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", struct.pack(">IIBBBBB", 16, 16, 8, 2, 0, 0, 0))
        + chunk(b"IDAT", zlib.compress(raw))
        + chunk(b"IEND", b"")
    )


step("GET /healthz until 200 with worker and scheduler heartbeats (<= 60 s)")


def healthy():
    answer = requests.get(f"{BASE}/healthz", timeout=5)
    return answer.json() if answer.status_code == 200 else None


report = poll(60, healthy, "/healthz answers 200")
print(f"  {report}")
check(report["worker_heartbeat_age"] is not None and report["scheduler_heartbeat_age"] is not None, "both heartbeats")
check(report["database"] == report["cache"] == report["redis"] == "ok", "database, cache and redis ok")

step("Static file served by nginx")
static = requests.get(f"{BASE}/static/{os.environ['STATIC_FILE']}", timeout=10)
check(static.status_code == 200, f"/static/{os.environ['STATIC_FILE']} 200")
with open(os.path.join(TMP, "static", os.environ["STATIC_FILE"]), "rb") as handle:
    check(static.content == handle.read(), "static bytes equal the collected file")
check("immutable" in static.headers.get("Cache-Control", ""), "static Cache-Control from nginx (immutable)")

step("Sign in as the employee and file a ticket with a PNG attachment")
emma = login("emma", "smoke-Emma-pw-1")
form = emma.get(f"{BASE}/tickets/new/", params={"source": os.environ["LEAF_ID"]}, timeout=10)
check(form.status_code == 200 and 'name="title"' in form.text, "ticket form for the leaf problem source")
image = png()
created = emma.post(
    f"{BASE}/tickets/new/",
    data={
        "csrfmiddlewaretoken": csrf(form.text),
        "problem_source": os.environ["LEAF_ID"],
        "title": "Smoke test: printer on fire",
        "description": "Filed by deploy/smoke_test.sh through nginx.",
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
    ticket_url = BASE + ticket_url
detail = emma.get(ticket_url, timeout=10)
check(detail.status_code == 200, f"ticket page {ticket_url} 200")
links = re.findall(r'href="(/tickets/\d+/attachments/\d+/)"', detail.text)
check(len(links) >= 1, f"ticket page links the attachment {links[:1]}")
download_path = links[0]
ticket_id = int(re.search(r"/tickets/(\d+)/", download_path).group(1))

step("Download the attachment through nginx (X-Accel-Redirect)")
got = emma.get(BASE + download_path, timeout=10)
check(got.status_code == 200, "owner's download 200")
check(got.content == image, "downloaded bytes equal the upload")
check(got.headers.get("Content-Disposition", "").startswith("attachment"), "Content-Disposition: attachment")
check(got.headers.get("X-Content-Type-Options") == "nosniff", "X-Content-Type-Options: nosniff")
check("X-Accel-Redirect" not in got.headers, "X-Accel-Redirect not leaked to the client")
direct = emma.get(APP + download_path, timeout=10)
check(direct.status_code == 200 and direct.content == b"", "gunicorn itself answers with an empty body")
accel = direct.headers.get("X-Accel-Redirect", "")
check(accel.startswith("/protected-attachments/"), f"gunicorn sent X-Accel-Redirect: {accel}")
hidden = requests.get(f"{BASE}{accel}", timeout=10)
check(hidden.status_code == 404, "the internal location is 404 from outside")

step("Another employee gets 404 for the same attachment")
otto = login("otto", "smoke-Otto-pw-1")
check(otto.get(BASE + download_path, timeout=10).status_code == 404, "other employee's download 404")
check(requests.get(BASE + download_path, timeout=10, allow_redirects=False).status_code in (302, 404), "anonymous refused")

step("The worker delivers the Teams notification to the agent via the fake Graph (<= 60 s)")
agent_path = f"/v1.0/users/{os.environ['AGENT_OID']}/teamwork/sendActivityNotification"


def delivered():
    seen = requests.get(f"{os.environ['CONTROL_URL']}/requests", timeout=5).json()
    return [r for r in seen if r["method"] == "POST" and r["path"] == agent_path]


sent = poll(60, delivered, "sendActivityNotification for the agent")
check(sent[0]["body"].get("activityType") == "ticketCreated", f"activityType {sent[0]['body'].get('activityType')}")

with open(os.path.join(TMP, "result.json"), "w") as handle:
    json.dump({"ticket_id": ticket_id, "sha256": hashlib.sha256(image).hexdigest()}, handle)
PYEOF

read -r TICKET_ID SHA <<<"$("$PY" -c 'import json, sys; r = json.load(open(sys.argv[1])); print(r["ticket_id"], r["sha256"])' "$TMP/result.json")"

log "Backup: pg_dump -Fc $DB and tar of the attachments"
pg_dump -h "$PG_HOST" -p "$PG_PORT" -U "$PG_USER" -Fc "$DB" >"$TMP/backup/backup.dump"
tar czf "$TMP/backup/attachments.tar.gz" -C "$TMP/attachments" .
ls -l "$TMP/backup"

log "Restore into $DB_RESTORE and $TMP/restored"
psql_ -d postgres -c "CREATE DATABASE $DB_RESTORE"
pg_restore -h "$PG_HOST" -p "$PG_PORT" -U "$PG_USER" -d "$DB_RESTORE" --no-owner --exit-on-error "$TMP/backup/backup.dump"
tar xzf "$TMP/backup/attachments.tar.gz" -C "$TMP/restored"

log "Verify the restore"
ROW=$(psql_ -d "$DB_RESTORE" -F '|' -c "SELECT t.title, a.file FROM tickets_ticket t JOIN tickets_attachment a ON a.ticket_id = t.id WHERE t.id = $TICKET_ID")
[[ -n "$ROW" ]] || fail "ticket #$TICKET_ID with its attachment not found in $DB_RESTORE"
echo "  $ROW"
FILE=${ROW#*|}
[[ -f "$TMP/restored/$FILE" ]] || fail "restored attachment $FILE missing"
RESTORED_SHA=$(sha256sum "$TMP/restored/$FILE" | cut -d' ' -f1)
[[ "$RESTORED_SHA" == "$SHA" ]] || fail "restored attachment sha256 $RESTORED_SHA != uploaded $SHA"
echo "  ok: ticket #$TICKET_ID restored, attachment sha256 $SHA"

log "Processes still alive before shutdown"
for pid in "${PIDS[@]}"; do kill -0 "$pid" 2>/dev/null || fail "process $pid died during the test"; done
echo "  ok: all ${#PIDS[@]} processes running"

#!/usr/bin/env bash
# Production smoke test without Docker: PostgreSQL and Redis (already running locally), gunicorn
# (deploy/gunicorn.conf.py), the notification worker, the huey scheduler and nginx (the repo's
# template), with a fake Entra ID and a fake Graph (devtools/smoke_fakes.py). Files a ticket with an
# attachment through nginx, checks X-Accel-Redirect, the Teams notification, then backup + restore.
# Exits non-zero on any failed check; the EXIT trap stops everything it started and drops its databases.
#
#   deploy/smoke_test.sh      (PG_HOST/PG_PORT/PG_USER, REDIS_HOST/REDIS_PORT, NGINX, SMOKE_DB,
#                              SMOKE_REDIS_DB override the defaults)
set -euo pipefail
cd "$(dirname "$0")/.."
# shellcheck source=deploy/smoke_lib.sh
. deploy/smoke_lib.sh
REDIS_DB="${SMOKE_REDIS_DB:-15}"
DB="${SMOKE_DB:-tt_smoke}"
DB_RESTORE="${DB}_restore"
START=$SECONDS

TMP=$(mktemp -d /tmp/tt-smoke.XXXXXX)

cleanup() {
  local rc=$?
  set +e
  ((rc == 0)) || show_logs
  log "Cleanup"
  stop_started
  psql_ -d postgres -c "DROP DATABASE IF EXISTS $DB WITH (FORCE)" -c "DROP DATABASE IF EXISTS $DB_RESTORE WITH (FORCE)"
  redis-cli -h "$REDIS_HOST" -p "$REDIS_PORT" -n "$REDIS_DB" flushdb >/dev/null
  rm -rf "$TMP"
  if ((rc == 0)); then log "Smoke test passed in $((SECONDS - START)) s"; else log "Smoke test FAILED (exit $rc)"; fi
  exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT TERM HUP

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
start_fakes
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
SEED=$(SMOKE_AGENT_OID="$AGENT_OID" "$PY" manage.py shell -c "$(cat deploy/smoke_seed.py)")
LEAF_ID=$(tail -n1 <<<"$SEED")
[[ "$LEAF_ID" =~ ^[0-9]+$ ]] || fail "seeding printed no problem source id: $SEED"

log "Start gunicorn (127.0.0.1:$APP_PORT), worker, scheduler"
start gunicorn "$ROOT/.venv/bin/gunicorn" -c deploy/gunicorn.conf.py core.wsgi
start worker "$PY" manage.py run_worker
start scheduler "$PY" manage.py run_huey

log "Start nginx (127.0.0.1:$WEB_PORT) with nginx/tinyteamsticket.conf"
render_nginx "$TMP/nginx" "127.0.0.1:$WEB_PORT" "127.0.0.1:$APP_PORT" "$TMP/static" "$TMP/attachments"
start nginx "$NGINX" -c "$TMP/nginx/nginx.conf" -p "$TMP/nginx"

log "Checks through nginx"
"$PY" deploy/smoke_checks.py --base "$BASE" --app "http://127.0.0.1:$APP_PORT" --leaf "$LEAF_ID" \
  --static-root "$TMP/static" --static-file "$STATIC_FILE" \
  --graph-control "$CONTROL_URL" --agent-oid "$AGENT_OID" --result "$TMP/result.json"

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

#!/usr/bin/env bash
# Container smoke test: the production image, built from the repo's Dockerfile, run as
# docker-compose.yml runs it. Builds the image on a base image made from Debian packages
# (deploy/base_image.sh, cached by tag), checks that it is lean and passes `check --deploy`, then runs
# the migrate, web, worker and scheduler containers with the commands, fixed environment and volume
# mount points of docker-compose.yml against the host's PostgreSQL (a database of its own) and Redis
# (a db number of its own), with the host's nginx in front using nginx/tinyteamsticket.conf and
# serving the same host directories that the containers mount as the `static` and `attachments`
# volumes. Through nginx: /healthz with both heartbeats, sign-in, a ticket with an attachment
# downloaded via X-Accel-Redirect, the worker's Teams notification at a fake Graph
# (deploy/smoke_checks.py); then the image's own HEALTHCHECK must report healthy.
# Exits non-zero on any failed check, with the container logs; the EXIT trap removes the containers,
# drops the database and stops dockerd if this script started it.
#
#   deploy/container_smoke_test.sh   (as root; CONTAINER_SMOKE_DB, CONTAINER_SMOKE_REDIS_DB, PG_HOST,
#                                     PG_PORT, PG_USER, REDIS_HOST, REDIS_PORT, NGINX override defaults)
#
# Needs Debian's docker.io and debootstrap (installed when missing), the .venv (for the fakes and the
# checks), PostgreSQL, Redis and nginx on the host. The Docker daemon runs as this machine allows:
# storage driver vfs, no iptables, no bridge, so every container uses --network host.
set -euo pipefail
cd "$(dirname "$0")/.."
# shellcheck source=deploy/smoke_lib.sh
. deploy/smoke_lib.sh
REDIS_DB="${CONTAINER_SMOKE_REDIS_DB:-14}"
DB="${CONTAINER_SMOKE_DB:-tt_container_smoke}"
IMAGE=tinyteamsticket:container-smoke
IMAGE_LABEL=tinyteamsticket.container-smoke=1
PREFIX="tt-smoke-$$"
START=$SECONDS
log() { printf '\n== [%d s] %s\n' "$((SECONDS - START))" "$*"; }

TMP=$(mktemp -d /tmp/tt-container-smoke.XXXXXX)
mkdir -p "$TMP/logs"
CONTAINERS=()
DOCKERD_PID=

cleanup() {
  local rc=$?
  set +e
  if ((rc != 0)); then
    show_logs
    local name
    for name in "${CONTAINERS[@]}"; do
      printf '\n--- container %s: %s\n' "$name" "$(docker inspect --format '{{.State.Status}} (exit {{.State.ExitCode}})' "$name" 2>&1)" >&2
      docker logs --tail 40 "$name" 2>&1 | sed 's/^/  /' >&2
    done
  fi
  log "Cleanup"
  ((${#CONTAINERS[@]} == 0)) || docker rm -f "${CONTAINERS[@]}" >/dev/null 2>&1
  stop_started
  psql_ -d postgres -c "DROP DATABASE IF EXISTS $DB WITH (FORCE)"
  redis-cli -h "$REDIS_HOST" -p "$REDIS_PORT" -n "$REDIS_DB" flushdb >/dev/null
  if [[ -n "$DOCKERD_PID" ]]; then
    echo "stopping the dockerd this test started (pid $DOCKERD_PID)"
    kill -TERM "$DOCKERD_PID" 2>/dev/null
    for _ in $(seq 300); do kill -0 "$DOCKERD_PID" 2>/dev/null || break; sleep 0.1; done
    kill -KILL -- "-$DOCKERD_PID" 2>/dev/null
  fi
  rm -rf "$TMP"
  if ((rc == 0)); then
    log "Container smoke test passed in $((SECONDS - START)) s"
  else
    log "Container smoke test FAILED (exit $rc) after $((SECONDS - START)) s"
  fi
  exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT TERM HUP

# timed NAME SECONDS COMMAND...: run COMMAND with a time limit, output to logs/NAME.log; say how long.
timed() {
  local name=$1 limit=$2 began=$SECONDS
  shift 2
  timeout "$limit" "$@" >"$TMP/logs/$name.log" 2>&1 || fail "$name failed or took over $limit s (log below)"
  echo "  $name: $((SECONDS - began)) s"
}

# compose SERVICE command|environment|mounts: from docker-compose.yml, so that this test runs what
# production runs. command: NUL-separated argv; environment: NAME=value lines; mounts: volume:target.
compose() {
  "$PY" - "$1" "$2" <<'EOF'
import sys

import yaml

service, what = sys.argv[1:3]
spec = yaml.safe_load(open("docker-compose.yml"))["services"][service]
if what == "command":
    assert isinstance(spec["command"], list), f"{service}: command must be a list"
    sys.stdout.write("".join(part + "\0" for part in spec["command"]))
elif what == "environment":
    for name, value in spec.get("environment", {}).items():
        print(f"{name}={value}")
else:
    for volume in spec.get("volumes", []):
        print(":".join(volume.split(":")[:2]))
EOF
}

# run_app NAME SERVICE [docker run options...]: a detached container of the image for SERVICE, with
# SERVICE's command from docker-compose.yml and its named volumes as host directories under $TMP.
run_app() {
  local name=$1 service=$2 mount
  shift 2
  local command=() options=()
  mapfile -d '' command < <(compose "$service" command)
  ((${#command[@]})) || fail "no command for $service in docker-compose.yml"
  while IFS=: read -r volume target; do
    [[ -d "$TMP/volumes/$volume" ]] || fail "$service mounts unknown volume $volume"
    options+=(-v "$TMP/volumes/$volume:$target")
  done < <(compose "$service" mounts)
  echo "  $service: ${command[*]} ${options[*]}"
  docker run -d --name "$PREFIX-$name" --network host --env-file "$TMP/app.env" "${options[@]}" "$@" \
    "$IMAGE" "${command[@]}" >/dev/null
  CONTAINERS+=("$PREFIX-$name")
}

log "Prerequisites"
[[ $(id -u) == 0 ]] || fail "run as root (installs packages, starts dockerd, runs debootstrap)"
[[ -x "$PY" ]] || fail "no virtualenv at .venv (run: make .venv/.installed)"
[[ -x "$NGINX" ]] || fail "nginx not found at $NGINX"
pg_isready -q -h "$PG_HOST" -p "$PG_PORT" || fail "PostgreSQL is not running on $PG_HOST:$PG_PORT"
redis-cli -h "$REDIS_HOST" -p "$REDIS_PORT" ping | grep -q PONG || fail "Redis is not running on $REDIS_HOST:$REDIS_PORT"
missing=()
command -v dockerd >/dev/null || missing+=(docker.io)
command -v debootstrap >/dev/null || missing+=(debootstrap)
if ((${#missing[@]})); then
  echo "installing ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  timeout 600 apt-get update -qq
  timeout 900 apt-get install -y -qq "${missing[@]}" >"$TMP/logs/apt.log" 2>&1 || fail "apt-get install ${missing[*]}"
fi

log "Docker daemon"
if ! timeout 20 docker info >/dev/null 2>&1; then
  setsid dockerd --storage-driver vfs --iptables=false --bridge=none >"$TMP/logs/dockerd.log" 2>&1 </dev/null &
  DOCKERD_PID=$!
  echo "started dockerd (pid $DOCKERD_PID, vfs, no iptables, no bridge)"
  wait_for 60 "dockerd" docker info
fi
docker version --format 'client {{.Client.Version}}, server {{.Server.Version}}'

log "Base image (Debian packages, stand-in for python:*-slim)"
began=$SECONDS
BASE_IMAGE=$(timeout 1500 deploy/base_image.sh | tail -n1) || fail "deploy/base_image.sh failed"
echo "  $BASE_IMAGE ready in $((SECONDS - began)) s"

log "docker build (BuildKit, BASE_IMAGE=$BASE_IMAGE)"
# BuildKit, not the legacy builder: on vfs every legacy step, even EXPOSE, copies the whole file
# system (minutes instead of seconds). The docker.io package's own CLI has BuildKit built in; a newer
# CLI (first on PATH) needs the buildx plugin for it.
BUILD_CLI=docker
if ! docker buildx version >/dev/null 2>&1 && [[ -x /usr/bin/docker ]]; then BUILD_CLI=/usr/bin/docker; fi
timed build 1800 env DOCKER_BUILDKIT=1 "$BUILD_CLI" build --progress plain --network host \
  --build-arg "BASE_IMAGE=$BASE_IMAGE" --label "$IMAGE_LABEL" -t "$IMAGE" .
# The previous build of this tag, now untagged, would keep a full copy of each layer (vfs).
docker image prune -f --filter "label=$IMAGE_LABEL" >/dev/null
docker image ls "$IMAGE" --format '  {{.Repository}}:{{.Tag}} {{.ID}} {{.Size}}'

log "Configuration (docker-compose.yml's fixed environment + a production .env)"
PG_PASSWORD_PART=
[[ -z "${PGPASSWORD:-}" ]] || PG_PASSWORD_PART=":$PGPASSWORD"
APP_PORT=$(free_port)
WEB_PORT=$(free_port)
while [[ "$WEB_PORT" == "$APP_PORT" ]]; do WEB_PORT=$(free_port); done
BASE="http://127.0.0.1:$WEB_PORT"
mkdir -p "$TMP/volumes/static" "$TMP/volumes/attachments"
start_fakes
{
  # docker-compose.yml's x-app environment; its DATABASE_URL and REDIS_URL name compose's services.
  compose web environment | grep -v -e '^DATABASE_URL=' -e '^REDIS_URL='
  echo "DATABASE_URL=postgres://$PG_USER$PG_PASSWORD_PART@$PG_HOST:$PG_PORT/$DB"
  echo "REDIS_URL=redis://$REDIS_HOST:$REDIS_PORT/$REDIS_DB"
  # .env, as an operator writes it (.env.example).
  echo "SECRET_KEY=$("$PY" -c 'import secrets; print(secrets.token_urlsafe(50))')"
  echo "ALLOWED_HOSTS=127.0.0.1,localhost"
  echo "CSRF_TRUSTED_ORIGINS=$BASE"
  echo "SITE_URL=$BASE"
  echo "EMAIL_URL=console:"
  echo "ENTRA_TENANT_ID=$TENANT"
  echo "ENTRA_CLIENT_ID=$CLIENT"
  echo "ENTRA_CLIENT_SECRET=$CLIENT_SECRET"
  echo "TOKEN_ENCRYPTION_KEY=$("$PY" -c 'from cryptography.fernet import Fernet; print(Fernet.generate_key().decode())')"
  echo "TEAMS_APP_ID=$("$PY" -c 'import uuid; print(uuid.uuid4())')"
  echo "TEAMS_PRIVACY_URL=https://example.com/privacy"
  echo "TEAMS_TERMS_URL=https://example.com/terms"
} >"$TMP/production.env"
if grep -q '\${' "$TMP/production.env"; then fail "uninterpolated \${...} in the environment from docker-compose.yml"; fi
{
  cat "$TMP/production.env"
  # This test only: plain http through nginx (so no secure cookies), the fakes instead of
  # Microsoft, gunicorn on a free port (host network) and the HEALTHCHECK pointed at it.
  echo "HTTPS=0"
  echo "ENTRA_AUTHORITY_URL=$ENTRA_URL"
  echo "GRAPH_URL=$GRAPH_URL_"
  echo "GUNICORN_BIND=127.0.0.1:$APP_PORT"
  echo "GUNICORN_WORKERS=2"
  echo "HEALTHCHECK_URL=http://127.0.0.1:$APP_PORT/healthz"
} >"$TMP/app.env"
echo "  database $DB, Redis db $REDIS_DB, gunicorn 127.0.0.1:$APP_PORT, nginx $BASE"

log "Fresh database $DB, Redis db $REDIS_DB"
psql_ -d postgres -c "DROP DATABASE IF EXISTS $DB WITH (FORCE)" -c "CREATE DATABASE $DB"
redis-cli -h "$REDIS_HOST" -p "$REDIS_PORT" -n "$REDIS_DB" flushdb >/dev/null

log "The image: lean, unprivileged, manage.py check --deploy with a production environment (https)"
# One container for all three: on vfs each new container is a full copy of the image.
docker run --rm --network host --env-file "$TMP/production.env" --entrypoint sh "$IMAGE" -c 'id -u
  find /app \( -name devtools -o -name bench -o -name tests -o -name conftest.py -o -name "*smoke*" \
    -o -name base_image.sh -o -name "fake_*" -o -name "demo_*" -o -name "data_generator*" \) \
    -exec echo "development only: {}" \;
  exec python manage.py check --deploy --fail-level ERROR 2>&1' >"$TMP/logs/image.log" 2>&1 ||
  fail "check --deploy failed in the image (log below)"
APP_UID=$(head -n1 "$TMP/logs/image.log")
FOUND=$(grep '^development only: ' "$TMP/logs/image.log" || true)
[[ -z "$FOUND" ]] || fail "the image contains files that .dockerignore should keep out:
$FOUND"
echo "  ok: none of devtools/, bench/, */tests/, conftest.py, deploy/*smoke*, deploy/base_image.sh, fakes, demo data"
[[ "$APP_UID" =~ ^[0-9]+$ && "$APP_UID" != 0 ]] || fail "the image runs as uid '$APP_UID', not unprivileged"
echo "  ok: runs as uid $APP_UID"
tail -n +2 "$TMP/logs/image.log" | sed 's/^/  /'
# The one warning allowed: security.W008 (SECURE_SSL_REDIRECT off), since docker-compose.yml lets
# nginx redirect http to https.
UNEXPECTED=$(grep -oE '\([a-z_]+\.[A-Z][0-9]+\)' "$TMP/logs/image.log" | grep -vx '(security.W008)' || true)
[[ -z "$UNEXPECTED" ]] || fail "check --deploy reports $UNEXPECTED"
echo "  ok: check --deploy: no error, no warning besides security.W008"
chown "$APP_UID" "$TMP/volumes/static" "$TMP/volumes/attachments"

log "migrate container (publishes the static files, applies the migrations)"
run_app migrate migrate --no-healthcheck
CODE=$(timeout 300 docker wait "$PREFIX-migrate") || fail "migrate did not finish within 300 s"
[[ "$CODE" == 0 ]] || fail "migrate exited with $CODE"
STATIC_FILE=$(cd "$TMP/volumes/static" && find . -type f -name '*.css' | sort | head -n1)
STATIC_FILE=${STATIC_FILE#./}
[[ -n "$STATIC_FILE" ]] || fail "migrate published no CSS file to the static volume"
echo "  ok: migrated; $(find "$TMP/volumes/static" -type f | wc -l) static files published"

log "web, worker and scheduler containers"
# The image's HEALTHCHECK command and timeouts; only probed every 3 s instead of 30 s.
run_app web web --health-interval 3s
run_app worker worker --no-healthcheck
run_app scheduler scheduler --no-healthcheck

log "Users and a problem source (manage.py shell in the web container)"
SEED=$(timeout 120 docker exec -e "SMOKE_AGENT_OID=$AGENT_OID" "$PREFIX-web" \
  python manage.py shell -c "$(cat deploy/smoke_seed.py)") || fail "seeding: $SEED"
LEAF_ID=$(tail -n1 <<<"$SEED")
[[ "$LEAF_ID" =~ ^[0-9]+$ ]] || fail "seeding printed no problem source id: $SEED"

log "nginx (127.0.0.1:$WEB_PORT) with nginx/tinyteamsticket.conf, the volumes as host directories"
render_nginx "$TMP/nginx" "127.0.0.1:$WEB_PORT" "127.0.0.1:$APP_PORT" "$TMP/volumes/static" "$TMP/volumes/attachments"
start nginx "$NGINX" -c "$TMP/nginx/nginx.conf" -p "$TMP/nginx"

log "Checks through nginx"
timeout 600 "$PY" deploy/smoke_checks.py --base "$BASE" --app "http://127.0.0.1:$APP_PORT" --leaf "$LEAF_ID" \
  --static-root "$TMP/volumes/static" --static-file "$STATIC_FILE" \
  --graph-control "$CONTROL_URL" --agent-oid "$AGENT_OID"
STORED=$(find "$TMP/volumes/attachments" -type f | wc -l)
((STORED == 1)) || fail "expected the one upload in the attachments volume, found $STORED files"
echo "  ok: the upload lies in the attachments volume that nginx served it from"

log "The image's HEALTHCHECK"
IMAGE_CHECK=$(docker image inspect --format '{{json .Config.Healthcheck.Test}}' "$IMAGE")
WEB_CHECK=$(docker inspect --format '{{json .Config.Healthcheck.Test}}' "$PREFIX-web")
[[ "$WEB_CHECK" == "$IMAGE_CHECK" ]] || fail "web runs $WEB_CHECK, not the image's check $IMAGE_CHECK"
echo "  command: $IMAGE_CHECK"
health() { docker inspect --format '{{.State.Health.Status}}' "$PREFIX-web"; }
deadline=$((SECONDS + 120))
until [[ "$(health)" == healthy ]]; do
  if ((SECONDS >= deadline)) || [[ "$(health)" == unhealthy ]]; then
    docker inspect --format '{{json .State.Health}}' "$PREFIX-web" >&2
    fail "web is $(health), not healthy, after 120 s"
  fi
  sleep 1
done
echo "  ok: web is healthy; last probe: $(docker inspect --format '{{range .State.Health.Log}}{{.Output}}{{end}}' "$PREFIX-web" | grep . | tail -n1 | cut -c1-200)"

log "Containers still running, no errors in their logs"
for name in web worker scheduler; do
  [[ "$(docker inspect --format '{{.State.Running}}' "$PREFIX-$name")" == true ]] || fail "$name stopped"
  # gunicorn's own errors ("[ERROR]") and any traceback; Django's 503 lines for /healthz before the
  # first heartbeats are expected.
  ERRORS=$(docker logs "$PREFIX-$name" 2>&1 | grep -E -e '\] \[ERROR\] ' -e '^Traceback' || true)
  [[ -z "$ERRORS" ]] || fail "errors in the $name container's log:
$ERRORS"
done
echo "  ok: web, worker and scheduler running, no gunicorn error and no traceback logged"

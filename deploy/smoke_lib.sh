# Shell helpers shared by deploy/smoke_test.sh and deploy/container_smoke_test.sh (sourced, not run).
# The caller sets TMP (a scratch directory with logs/ in it) before calling start or render_nginx.

# Where the host's services are (both tests override them from the same environment variables).
ROOT=$PWD
PY="$ROOT/.venv/bin/python"
NGINX="${NGINX:-/usr/sbin/nginx}"
PG_HOST="${PG_HOST:-127.0.0.1}" PG_PORT="${PG_PORT:-5432}" PG_USER="${PG_USER:-postgres}"
REDIS_HOST="${REDIS_HOST:-127.0.0.1}" REDIS_PORT="${REDIS_PORT:-6379}"

log() { printf '\n== %s\n' "$*"; }
fail() { printf 'FAILED: %s\n' "$*" >&2; exit 1; }
psql_() { PGOPTIONS='-c client_min_messages=warning' psql -h "$PG_HOST" -p "$PG_PORT" -U "$PG_USER" -v ON_ERROR_STOP=1 -qAt "$@"; }

PIDS=()

# Start "$@" in its own session (= process group, its pid is the group id), output to logs/$1.log.
start() {
  local name=$1
  shift
  setsid "$@" >"$TMP/logs/$name.log" 2>&1 </dev/null &
  PIDS+=($!)
  echo "started $name (pid $!)"
}

# Stop what `start` started: TERM to each process group, up to 10 s, then KILL.
stop_started() {
  local pid
  ((${#PIDS[@]})) || return 0
  for pid in "${PIDS[@]}"; do kill -TERM -- "-$pid" 2>/dev/null || kill -TERM "$pid" 2>/dev/null; done
  for _ in $(seq 100); do
    local alive=0
    for pid in "${PIDS[@]}"; do kill -0 -- "-$pid" 2>/dev/null && alive=1; done
    ((alive)) || break
    sleep 0.1
  done
  for pid in "${PIDS[@]}"; do kill -KILL -- "-$pid" 2>/dev/null; done
  wait "${PIDS[@]}" 2>/dev/null
  PIDS=()
}

# The last lines of every log in $TMP/logs, for a failed run.
show_logs() {
  local f
  for f in "$TMP"/logs/*; do
    [[ -f "$f" ]] || continue
    printf '\n--- last lines of %s\n' "${f##*/}" >&2
    tail -n 25 "$f" >&2
  done
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

# Start devtools/smoke_fakes.py (fake Entra ID and fake Graph on free local ports); sets TENANT, CLIENT,
# CLIENT_SECRET (what the app is configured with), ENTRA_URL, GRAPH_URL_, CONTROL_URL and AGENT_OID.
start_fakes() {
  TENANT=$("$PY" -c 'import uuid; print(uuid.uuid4())')
  CLIENT=$("$PY" -c 'import uuid; print(uuid.uuid4())')
  CLIENT_SECRET=$("$PY" -c 'import secrets; print(secrets.token_urlsafe(24))')
  start fakes env DJANGO_SETTINGS_MODULE=core.settings DEBUG=1 "$PY" devtools/smoke_fakes.py \
    "$TMP/fakes.json" "$TENANT" "$CLIENT" "$CLIENT_SECRET"
  wait_for 30 "the fakes" test -s "$TMP/fakes.json"
  fake() { "$PY" -c 'import json, sys; print(json.load(open(sys.argv[1]))[sys.argv[2]])' "$TMP/fakes.json" "$1"; }
  ENTRA_URL=$(fake entra_url) GRAPH_URL_=$(fake graph_url) CONTROL_URL=$(fake control_url) AGENT_OID=$(fake agent_oid)
}

# render_nginx DIR LISTEN UPSTREAM STATIC_ROOT ATTACHMENT_ROOT: nginx/tinyteamsticket.conf rendered as
# the nginx image does (envsubst of its own variables only), wrapped in a main config for a
# non-daemon nginx with all its files under DIR. Checked with `nginx -t`. Run: $NGINX -c DIR/nginx.conf -p DIR
render_nginx() {
  local dir=$1
  mkdir -p "$dir/logs"
  NGINX_LISTEN=$2 NGINX_SERVER_NAME=localhost APP_UPSTREAM=$3 STATIC_ROOT=$4 ATTACHMENT_ROOT=$5 \
    CLIENT_MAX_BODY_SIZE=60m \
    envsubst '${NGINX_LISTEN} ${NGINX_SERVER_NAME} ${APP_UPSTREAM} ${STATIC_ROOT} ${ATTACHMENT_ROOT} ${CLIENT_MAX_BODY_SIZE}' \
    <nginx/tinyteamsticket.conf >"$dir/server.conf"
  if grep -v '^\s*#' "$dir/server.conf" | grep -q '\${'; then fail "nginx template not fully rendered"; fi
  cat >"$dir/nginx.conf" <<EOF
user root;
worker_processes 1;
daemon off;
pid $dir/nginx.pid;
error_log $dir/logs/error.log warn;
events { worker_connections 256; }
http {
  include /etc/nginx/mime.types;
  default_type application/octet-stream;
  access_log $dir/logs/access.log;
  client_body_temp_path $dir/body;
  proxy_temp_path $dir/proxy;
  fastcgi_temp_path $dir/fcgi;
  uwsgi_temp_path $dir/uwsgi;
  scgi_temp_path $dir/scgi;
  include $dir/server.conf;
}
EOF
  "$NGINX" -t -q -c "$dir/nginx.conf" -p "$dir"
}

#!/usr/bin/env bash
# A stand-in for the official python image, made from Debian packages, for machines that reach
# Debian's apt and PyPI but no image registry (CI). debootstrap a minimal Debian bookworm with
# Debian's Python 3.11 and a virtualenv whose `python` and `pip` come first on PATH (the official
# image has them in /usr/local/bin), then `docker import` it. The Dockerfile builds on it unchanged:
#
#   docker build --build-arg BASE_IMAGE="$(deploy/base_image.sh)" --network host .
#
# The image uses the package sources of the host it is built on, read here at run time, never
# written into the repository: apt's sources and proxy (apt-get indextargets, apt-config), pip's
# index and CA bundle (pip config, PIP_* and SSL_CERT_FILE). Built once and cached by tag: the tag
# carries a hash of this script; `docker rmi` it to rebuild. Prints the tag as the last line of stdout.
# Needs root, debootstrap and a running Docker daemon.
set -euo pipefail
cd "$(dirname "$0")/.."

SUITE=bookworm
VENV=/opt/python
TAG="${BASE_IMAGE_TAG:-tinyteamsticket-base:$SUITE-$(sha256sum deploy/base_image.sh | cut -c1-12)}"

say() { printf '%s\n' "$*" >&2; }
fail() { say "FAILED (base image): $*"; exit 1; }

if docker image inspect "$TAG" >/dev/null 2>&1; then
  say "base image $TAG is present, reused"
  echo "$TAG"
  exit 0
fi

command -v debootstrap >/dev/null || fail "debootstrap is not installed (apt-get install debootstrap)"
[[ $(id -u) == 0 ]] || fail "debootstrap needs root"

# The host's Debian sources, its own release name replaced by $SUITE (same mirror, same layout).
# shellcheck disable=SC1091
HOST_SUITE=$(. /etc/os-release && echo "${VERSION_CODENAME:-}")
[[ -n "$HOST_SUITE" ]] || fail "cannot read VERSION_CODENAME from /etc/os-release"
SOURCES=$(apt-get indextargets --format '$(REPO_URI) $(RELEASE) $(COMPONENT)' 'Identifier: Packages' |
  awk -v host="$HOST_SUITE" -v suite="$SUITE" '
    $1 ~ /debian/ && ($2 == host || index($2, host "-") == 1) && $3 == "main" {
      sub("^" host, suite, $2); print "deb " $1 " " $2 " main"
    }' | sort -u)
MIRROR=$(awk -v suite="$SUITE" '$3 == suite { print $2; exit }' <<<"$SOURCES")
[[ -n "$MIRROR" ]] || fail "no Debian mirror for $HOST_SUITE main in the host's apt sources"
eval "$(apt-config shell APT_HTTP_PROXY Acquire::http::Proxy APT_HTTPS_PROXY Acquire::https::Proxy)"

# pip: the host's http(s) indexes (file:// ones are host paths and useless in a container).
pip_setting() {  # the value of a pip setting: PIP_* environment first, then pip's config files
  local name=$1 env_name
  env_name="PIP_$(tr 'a-z-' 'A-Z_' <<<"$name")"
  if [[ -n "${!env_name:-}" ]]; then
    echo "${!env_name}"
  elif command -v python3 >/dev/null; then
    python3 -m pip config list 2>/dev/null | sed -n "s/^[a-z]*\.$name='\(.*\)'\$/\1/p" | head -n1
  fi
}
web_urls() { tr ' ' '\n' | grep -E '^https?://' | paste -sd' ' || true; }
PIP_INDEX=$(pip_setting index-url | web_urls)
PIP_EXTRA=$(pip_setting extra-index-url | web_urls)
PIP_TRUSTED=$(pip_setting trusted-host)
CA_BUNDLE=$(pip_setting cert)
CA_BUNDLE=${CA_BUNDLE:-${SSL_CERT_FILE:-${REQUESTS_CA_BUNDLE:-/etc/ssl/certs/ca-certificates.crt}}}
[[ -s "$CA_BUNDLE" ]] || fail "CA bundle $CA_BUNDLE not found"

ROOTFS=$(mktemp -d /tmp/tt-base-rootfs.XXXXXX)
trap 'rm -rf "$ROOTFS"' EXIT
say "building base image $TAG: debootstrap $SUITE from $MIRROR (a few minutes)"
started=$SECONDS
http_proxy=${APT_HTTP_PROXY:-${http_proxy:-}} https_proxy=${APT_HTTPS_PROXY:-${https_proxy:-}} \
  timeout 1200 debootstrap --variant=minbase --include=python3,python3-venv,ca-certificates \
  "$SUITE" "$ROOTFS" "$MIRROR" >"$ROOTFS.log" 2>&1 || {
  tail -n 30 "$ROOTFS.log" >&2
  rm -f "$ROOTFS.log"
  fail "debootstrap failed"
}
rm -f "$ROOTFS.log"

printf '%s\n' "$SOURCES" >"$ROOTFS/etc/apt/sources.list"
rm -f "$ROOTFS"/etc/apt/sources.list.d/*
{
  [[ -z "${APT_HTTP_PROXY:-}" ]] || echo "Acquire::http::Proxy \"$APT_HTTP_PROXY\";"
  [[ -z "${APT_HTTPS_PROXY:-}" ]] || echo "Acquire::https::Proxy \"$APT_HTTPS_PROXY\";"
} >"$ROOTFS/etc/apt/apt.conf.d/90host-proxy"
# As in the official slim images (debian:*-slim under python:*-slim): no recommends, no downloaded
# packages or apt caches left in layers, no documentation, manual pages or translations.
echo 'APT::Install-Recommends "false";' >"$ROOTFS/etc/apt/apt.conf.d/90no-recommends"
clean='"rm -f /var/cache/apt/archives/*.deb /var/cache/apt/archives/partial/*.deb /var/cache/apt/*.bin || true";'
cat >"$ROOTFS/etc/apt/apt.conf.d/90docker-clean" <<EOF
DPkg::Post-Invoke { $clean };
APT::Update::Post-Invoke { $clean };
Dir::Cache::pkgcache "";
Dir::Cache::srcpkgcache "";
EOF
cat >"$ROOTFS/etc/dpkg/dpkg.cfg.d/90slim" <<'EOF'
path-exclude /usr/share/doc/*
path-include /usr/share/doc/*/copyright
path-exclude /usr/share/man/*
path-exclude /usr/share/info/*
path-exclude /usr/share/locale/*
path-exclude /usr/share/lintian/*
EOF
find "$ROOTFS/usr/share/doc" -mindepth 1 ! -name copyright ! -type d -delete
rm -rf "$ROOTFS"/usr/share/man/* "$ROOTFS"/usr/share/info/* "$ROOTFS"/usr/share/locale/* "$ROOTFS"/usr/share/lintian/*
cp "$CA_BUNDLE" "$ROOTFS/etc/ssl/certs/ca-certificates.crt"
{
  echo "[global]"
  echo "cert = /etc/ssl/certs/ca-certificates.crt"
  [[ -z "$PIP_INDEX" ]] || echo "index-url = $PIP_INDEX"
  [[ -z "$PIP_EXTRA" ]] || echo "extra-index-url = $PIP_EXTRA"
  [[ -z "$PIP_TRUSTED" ]] || echo "trusted-host = $PIP_TRUSTED"
} >"$ROOTFS/etc/pip.conf"

chroot "$ROOTFS" python3 -m venv "$VENV"
rm -rf "$ROOTFS"/var/cache/apt/archives/*.deb "$ROOTFS"/var/lib/apt/lists/* "$ROOTFS"/tmp/*
chmod 755 "$ROOTFS"  # mktemp made it 0700: the image's / would be closed to the unprivileged user

tar -C "$ROOTFS" --numeric-owner -c . |
  docker import \
    --change "ENV PATH=$VENV/bin:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin" \
    --change "ENV LANG=C.UTF-8" \
    --change 'CMD ["python3"]' \
    --message "Debian $SUITE + Debian's python3 in a venv; stand-in for python:*-slim" \
    - "$TAG" >/dev/null
docker run --rm --network host --user 65534 "$TAG" sh -c 'python --version && pip --version' >&2 ||
  fail "the new base image has no working python and pip"
say "base image $TAG built in $((SECONDS - started)) s"
echo "$TAG"

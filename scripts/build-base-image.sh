#!/usr/bin/env bash
# Build the local base image for docker-backed replicas (no image registry is needed or used).
#
#   scripts/build-base-image.sh            # builds ${FAKE_AZURE_BASE_IMAGE:-fake-azure-base:bookworm}
#
# Steps: debootstrap a minimal Debian bookworm rootfs (python3, venv, pip, ca-certificates), tar it
# into a cache, then `docker import` the tarball. Skips everything when the image already exists and
# skips debootstrap when the cached tarball exists.
#
# Environment:
#   FAKE_AZURE_BASE_IMAGE   image name (default fake-azure-base:bookworm)
#   FAKE_AZURE_DEBIAN_MIRROR  Debian mirror (default: the one apt uses on this machine, else debootstrap's own)
#   FAKE_AZURE_ROOTFS_CACHE   tarball path (default ${XDG_CACHE_HOME:-$HOME/.cache}/fake-azure/rootfs-bookworm.tar)
#   FAKE_AZURE_REBUILD=1      rebuild the image even if it exists (reuses the cached tarball)
#   DOCKER_HOST               engine to import into (scripts/docker-engine.sh prints it)
# Needs root (debootstrap) unless the tarball is already cached.
set -euo pipefail

IMAGE="${FAKE_AZURE_BASE_IMAGE:-fake-azure-base:bookworm}"
SUITE=bookworm
CACHE_DIR="${XDG_CACHE_HOME:-$HOME/.cache}/fake-azure"
TARBALL="${FAKE_AZURE_ROOTFS_CACHE:-$CACHE_DIR/rootfs-$SUITE.tar}"
PACKAGES="python3,python3-venv,python3-pip,ca-certificates"

log() { echo "build-base-image: $*" >&2; }
die() { log "error: $*"; exit 1; }

command -v docker >/dev/null || die "docker CLI not found"
docker info >/dev/null 2>&1 || die "no Docker engine answers at ${DOCKER_HOST:-<default socket>}; run scripts/docker-engine.sh start and export the DOCKER_HOST it prints"

if [[ "${FAKE_AZURE_REBUILD:-0}" != 1 ]] && docker image inspect "$IMAGE" >/dev/null 2>&1; then
  log "image $IMAGE already exists; nothing to do (FAKE_AZURE_REBUILD=1 to rebuild)"
  exit 0
fi

# The mirror apt uses here (deb822 .sources first, then one-line lists), else the public one.
apt_mirror() {
  local f uri
  for f in /etc/apt/sources.list.d/*.sources; do
    [[ -f "$f" ]] || continue
    uri=$(awk '/^URIs:/{print $2; exit}' "$f" | grep -E '/debian/?$' || true)
    [[ -n "$uri" ]] && { echo "$uri"; return; }
  done
  for f in /etc/apt/sources.list /etc/apt/sources.list.d/*.list; do
    [[ -f "$f" ]] || continue
    uri=$(awk '$1=="deb"{for(i=2;i<=NF;i++) if ($i ~ /^(https?|file):/) {print $i; exit}}' "$f" \
          | grep -E '/debian/?$' | head -n1 || true)
    [[ -n "$uri" ]] && { echo "$uri"; return; }
  done
  # None found: print nothing, and debootstrap uses its own default mirror.
}

if [[ ! -s "$TARBALL" ]]; then
  command -v debootstrap >/dev/null || die "debootstrap not found (apt-get install debootstrap)"
  [[ $(id -u) == 0 ]] || die "debootstrap needs root (or provide a cached tarball at $TARBALL)"
  MIRROR="${FAKE_AZURE_DEBIAN_MIRROR:-$(apt_mirror)}"
  mkdir -p "$(dirname "$TARBALL")"
  ROOTFS=$(mktemp -d "${TMPDIR:-/tmp}/fake-azure-rootfs.XXXXXX")
  trap 'rm -rf "$ROOTFS"' EXIT
  log "debootstrap $SUITE from ${MIRROR:-the default mirror of debootstrap} into $ROOTFS (a few minutes)"
  start=$(date +%s)
  if ! debootstrap --variant=minbase --include="$PACKAGES" "$SUITE" "$ROOTFS" ${MIRROR:+"$MIRROR"} \
       > "$ROOTFS.debootstrap.log" 2>&1; then
    tail -n 30 "$ROOTFS.debootstrap.log" >&2 || true
    [[ -f "$ROOTFS/debootstrap/debootstrap.log" ]] && tail -n 30 "$ROOTFS/debootstrap/debootstrap.log" >&2
    die "debootstrap failed (full log: $ROOTFS.debootstrap.log)"
  fi
  rm -f "$ROOTFS.debootstrap.log"
  # Slim it down: apt lists and caches, docs are not needed in replicas.
  rm -rf "$ROOTFS"/var/cache/apt/archives/*.deb "$ROOTFS"/var/lib/apt/lists/* \
         "$ROOTFS"/usr/share/doc/* "$ROOTFS"/usr/share/man/* "$ROOTFS"/usr/share/info/*
  # Images see the same mirror apt uses here (else debootstrap's sources.list stays).
  [[ -n "$MIRROR" ]] && printf 'deb %s %s main\n' "$MIRROR" "$SUITE" > "$ROOTFS/etc/apt/sources.list"
  tar --numeric-owner -C "$ROOTFS" -cf "$TARBALL.partial" .
  mv "$TARBALL.partial" "$TARBALL"
  log "rootfs cached at $TARBALL ($(du -h "$TARBALL" | cut -f1), $(( $(date +%s) - start ))s)"
else
  log "using cached rootfs $TARBALL"
fi

log "importing $TARBALL as $IMAGE"
docker import \
  --change 'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' \
  --change 'ENV LANG=C.UTF-8' \
  --change 'ENV PYTHONUNBUFFERED=1' \
  --change 'CMD ["python3"]' \
  - "$IMAGE" < "$TARBALL" >/dev/null
docker run --rm "$IMAGE" python3 -c 'import sys, venv, ssl; print("python", sys.version.split()[0])' >&2 \
  || die "image $IMAGE was imported but python3 does not run in it"
log "built $IMAGE"

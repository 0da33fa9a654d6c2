#!/usr/bin/env bash
# podman with the project's settings (scripts/containers.conf), so nothing
# in the machine's own configuration needs to change.
set -euo pipefail
export CONTAINERS_CONF="${CONTAINERS_CONF:-$(cd "$(dirname "$0")" && pwd)/containers.conf}"
exec podman "$@"

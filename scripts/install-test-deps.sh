#!/usr/bin/env bash
# Installs the Debian packages the test suite needs, when missing.
# Runs as root (CI, containers) or through sudo; says what to do otherwise.
set -euo pipefail

packages=(
  python3-msgpack   # independent msgpack peer: model wire-body interop tests
  python3-zmq       # real libzmq 4.3 peer: ZMTP interop tests of pubsub/zmq
  redis-server      # real Redis (standalone and Cluster): pubsub/redis, nb/redis
  nats-server       # real NATS server: pubsub/nats
  python3-openstackclient  # the real openstack CLI driving df-neutron-server's REST API (e2e)
)

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -eq 0 ]; then
  echo "test deps: all present (${packages[*]})"
  exit 0
fi

echo "test deps: installing ${missing[*]}"
if [ "$(id -u)" -eq 0 ]; then
  sudo=()
elif command -v sudo >/dev/null 2>&1; then
  sudo=(sudo)
else
  echo "test deps: missing ${missing[*]}; run as root: apt-get install -y ${missing[*]}" >&2
  exit 1
fi
export DEBIAN_FRONTEND=noninteractive
"${sudo[@]}" apt-get update -qq
"${sudo[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}"

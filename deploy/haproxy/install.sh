#!/usr/bin/env bash
# Installs HAProxy from Debian's (or Ubuntu's) packages when it is missing.
# Idempotent and noninteractive; the package's own service is not started
# (the cluster test and deploy/haproxy/haproxy.cfg run their own haproxy).
set -euo pipefail

if command -v haproxy >/dev/null 2>&1 || [ -x /usr/sbin/haproxy ]; then
    exe="$(command -v haproxy || echo /usr/sbin/haproxy)"
    echo "haproxy is installed: $("$exe" -v | head -n1)"
    exit 0
fi

sudo=()
if [ "$(id -u)" -ne 0 ]; then
    command -v sudo >/dev/null 2>&1 || {
        echo "installing haproxy needs root (or sudo): apt-get install haproxy" >&2
        exit 1
    }
    sudo=(sudo)
fi

# Keep the package's init script from starting a haproxy of its own during
# the install (the usual policy-rc.d switch), unless a policy is already set.
policy=/usr/sbin/policy-rc.d
if [ ! -e "$policy" ]; then
    "${sudo[@]}" sh -c "printf '#!/bin/sh\nexit 101\n' > $policy && chmod +x $policy"
    trap '"${sudo[@]}" rm -f "$policy"' EXIT
fi

export DEBIAN_FRONTEND=noninteractive
"${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get update -qq
"${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends haproxy
echo "installed: $(/usr/sbin/haproxy -v | head -n1)"

#!/usr/bin/env bash
# The unit must pass systemd's own checks: `systemd-analyze verify` with no
# complaint, and an offline security exposure of at most 2.5 ("OK"; 2.5 today:
# a new directive must not loosen the sandbox).
# Usage: systemd_unit_test.sh UNIT AGENT_BINARY
set -euo pipefail
unit=$1 agent=$2
command -v systemd-analyze >/dev/null || { echo "systemd-analyze not installed: skipped"; exit 77; }
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
# verify checks that ExecStart exists: point it at the binary just built.
sed "s|^ExecStart=/usr/bin/kvhost-agent|ExecStart=$agent|" "$unit" > "$work/kvhost-agent.service"
out=$(systemd-analyze verify "$work/kvhost-agent.service" 2>&1) || { echo "$out"; exit 1; }
if [ -n "$out" ]; then echo "systemd-analyze verify complained:"; echo "$out"; exit 1; fi
level=$(systemd-analyze security --offline=yes "$work/kvhost-agent.service" 2>&1 |
  sed -n 's/.*Overall exposure level for kvhost-agent.service: \([0-9.]*\).*/\1/p')
[ -n "$level" ] || { echo "no exposure level reported"; exit 1; }
echo "exposure level $level"
awk -v l="$level" 'BEGIN { exit !(l <= 2.5) }' || { echo "exposure $level above 2.5"; exit 1; }
echo "1 passed, 0 failed"

#!/usr/bin/env bash
# What the agent sees under the shipped unit: with PrivateDevices=yes systemd
# gives the service a fresh /dev holding only the pseudo devices (null, zero,
# full, random, urandom, tty), so /dev/kvm is gone while /sys is untouched.
# The realtime `kvm` fact must still be ok on a KVM host.
#
# Why not start the unit itself: the tests run where systemd is not PID 1
# (containers, CI runners), so neither `systemctl start` nor `systemd-run`
# can run a service. Instead this reads the unit's PrivateDevices= setting and
# builds the same /dev in a private mount namespace (unshare), then runs the
# built binary there. Exit 77 (skipped) when that cannot be done here: not
# root, no mount namespaces, or a host without KVM (nothing to prove).
# Usage: systemd_unit_view_test.sh UNIT AGENT_BINARY
set -euo pipefail
unit=$1 agent=$2
skip() { echo "skipped: $*"; exit 77; }

private_devices=$(sed -n 's/^PrivateDevices=//p' "$unit" | tail -n1)
[ "$private_devices" = yes ] || { echo "the unit no longer sets PrivateDevices=yes: update this test"; exit 1; }
[ -e /sys/class/misc/kvm ] || skip "this host has no kvm device (/sys/class/misc/kvm)"
[ "$(id -u)" -eq 0 ] || skip "needs root for a private mount namespace"
unshare --mount --propagation private true 2>/dev/null || skip "unshare --mount is not permitted here"

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
cat > "$work/view.sh" <<'VIEW'
set -euo pipefail
dev=$1 agent=$2
mount -t tmpfs -o mode=0755,nosuid,noexec tmpfs "$dev"
# The device nodes PrivateDevices=yes keeps (systemd.exec(5)).
for node in null zero full random urandom tty; do
  touch "$dev/$node"
  mount --bind "/dev/$node" "$dev/$node"
done
mount --bind "$dev" /dev
if [ -e /dev/kvm ]; then echo "the private /dev still has kvm"; exit 1; fi
exec "$agent" inspect -o json
VIEW
mkdir "$work/dev"
report=$(unshare --mount --propagation private bash "$work/view.sh" "$work/dev" "$agent")
verdict=$(printf '%s' "$report" | python3 -c '
import json, sys
kvm = json.load(sys.stdin)["realtime"]["kvm"]
print(kvm.get("verdict", ""), "-", kvm.get("reason", ""))')
echo "kvm under PrivateDevices=yes: $verdict"
case $verdict in
  VERDICT_OK*) echo "1 passed, 0 failed" ;;
  *) echo "the kvm fact is not ok in the unit's view"; exit 1 ;;
esac

#!/usr/bin/env bash
# Runs a command as it would run on a machine without KVM: in a private mount namespace
# whose /dev is a copy of the host's without the kvm node. Whatever the command starts
# (the harness's libvirtd, QEMU) sees no /dev/kvm either, so this proves the TCG
# fallback of tests/harness/libvirtd.sh and the real-libvirtd tests on a machine that
# has KVM, e.g.
#   tests/harness/without_kvm.sh ctest --test-dir build -R 'libvirtd|pin_integration|pin_fault'
# Needs root (mount namespaces, mounts). Leaves the host's /dev untouched.
set -euo pipefail

if [ "${1:-}" != --inside ]; then
  [ $# -ge 1 ] || {
    echo "usage: $0 COMMAND [ARG...]" >&2
    exit 2
  }
  [ "$(id -u)" -eq 0 ] || {
    echo "without_kvm.sh: needs root (a mount namespace with its own /dev)" >&2
    exit 1
  }
  exec unshare --mount --propagation private "$0" --inside "$@"
fi
shift

dev=$(mktemp -d /tmp/kvhost-nokvm-dev.XXXXXX)
mount -t tmpfs -o mode=755 kvhost-nokvm-dev "$dev"
# Nodes, links and directories of /dev itself; the file systems mounted below it
# (pts, shm, mqueue, hugepages...) are bound in whole, so they stay the host's.
cp -a --one-file-system /dev/. "$dev"/
rm -f "$dev/kvm"
while read -r target; do
  [ "$target" != /dev ] || continue
  mkdir -p "$dev${target#/dev}"
  mount --rbind "$target" "$dev${target#/dev}"
done < <(findmnt -rn -o TARGET | grep '^/dev/' | sort -u)
# The host's /dev goes from this namespace (only: propagation is private), so the mount
# table libvirt reads to rebuild /dev for each QEMU lists each mount once, as on a host.
umount --recursive --lazy /dev
mount --move "$dev" /dev
rmdir "$dev" 2>/dev/null || true
[ ! -e /dev/kvm ] || {
  echo "without_kvm.sh: /dev/kvm is still there" >&2
  exit 1
}
exec "$@"

#!/usr/bin/env bash
# `./dev e2e`: the .deb installed with apt and run by systemd (PID 1) on Debian
# 12's own kernels, booted under QEMU/TCG (never KVM) in the NUMA layouts of
# tests/e2e/layouts/*.env. A Debian root from mmdebstrap with the package's
# runtime dependencies (cached in BUILD/e2e/cache, keyed by the package list)
# becomes an initramfs holding the .deb, an upgraded copy of it and
# tests/e2e/guest.sh, run by a oneshot unit; its results come back on a second
# serial port and are checked here (tests/e2e/check.py).
#   e2e.sh BUILD_DIR [LAYOUT...]     (default: every layout)
set -euo pipefail
build=$(realpath "$1")
shift
here=$(cd "$(dirname "$0")" && pwd)
e2e=$build/e2e
cache=$e2e/cache
mkdir -p "$cache"
log() { echo "e2e: $*"; }
die() { echo "e2e: error: $*" >&2; exit 1; }
[ "$(id -u)" -eq 0 ] || { echo "e2e: skipped: mmdebstrap and the guest's root need root"; exit 77; }
for tool in mmdebstrap cpio qemu-system-x86_64 dpkg-deb promtool python3; do
  command -v "$tool" >/dev/null || die "$tool missing (./dev e2e installs it)"
done

# --- the package, and an upgraded copy of it (same files, a higher version) ----
rm -rf "$e2e/deb" && mkdir -p "$e2e/deb/upgrade"
(cd "$e2e/deb" && cpack -G DEB --config "$build/CPackConfig.cmake" -B "$e2e/deb/out" >cpack.log 2>&1) ||
  { cat "$e2e/deb/cpack.log"; die "cpack"; }
deb=$(ls "$e2e"/deb/out/kvhost-agent_*.deb)
cp "$deb" "$e2e/deb/"
version=$(dpkg-deb -f "$deb" Version)
dpkg-deb -R "$deb" "$e2e/deb/unpacked"
sed -i "s/^Version: .*/Version: $version+e2e1/" "$e2e/deb/unpacked/DEBIAN/control"
dpkg-deb -b --root-owner-group "$e2e/deb/unpacked" "$e2e/deb/upgrade/kvhost-agent_${version}+e2e1_amd64.deb" >/dev/null

# --- Debian's kernels ------------------------------------------------------------
kernel_version() { apt-cache depends "linux-image-$1-amd64" | sed -n "s/.*Depends: linux-image-\(.*\)-$1-amd64/\1/p" | head -1; }
for flavour in cloud rt; do
  kv=$(kernel_version "$flavour")
  [ -n "$kv" ] || die "no linux-image-$flavour-amd64 in the package lists (apt-get update?)"
  image=$cache/vmlinuz-$kv-$flavour-amd64
  if [ ! -f "$image" ]; then
    log "taking linux-image-$kv-$flavour-amd64"
    (cd "$cache" && apt-get download -q "linux-image-$kv-$flavour-amd64" 2>/dev/null)
    dpkg-deb --fsys-tarfile "$cache"/linux-image-"$kv"-"$flavour"-amd64_*.deb |
      tar -x -O "./boot/vmlinuz-$kv-$flavour-amd64" >"$image.tmp"
    mv "$image.tmp" "$image"
    rm -f "$cache"/linux-image-"$kv"-"$flavour"-amd64_*.deb
  fi
  declare "kernel_$flavour=$image"
done

# --- the root: Debian 12 with the package's runtime dependencies ---------------
depends=$(dpkg-deb -f "$deb" Depends | sed 's/([^)]*)//g; s/ //g')
recommends=$(dpkg-deb -f "$deb" Recommends | sed 's/([^)]*)//g; s/ //g')
packages="systemd-sysv,udev,dbus,$depends,$recommends"
root_tar=$cache/root-$(echo "$packages" | sha256sum | cut -c1-16).tar
if [ ! -f "$root_tar" ]; then
  log "making a Debian 12 root with $packages"
  started=$SECONDS
  mmdebstrap --quiet --variant=apt --format=tar --include="$packages" \
    --customize-hook='rm -rf "$1"/usr/share/doc/* "$1"/usr/share/man/* "$1"/usr/share/locale/* "$1"/var/cache/apt/*.bin' \
    bookworm "$root_tar.tmp" || die "mmdebstrap"
  mv "$root_tar.tmp" "$root_tar"
  log "root made in $((SECONDS - started)) s"
fi

# answer_requests DIR PID: while QEMU runs, a guest's "REQUEST vcpu-add ARGS"
# line is answered by a QMP device_add of that vCPU (ARGS: socket core thread node).
answer_requests() {
  local dir=$1 pid=$2 done=0
  while kill -0 "$pid" 2>/dev/null; do
    if [ "$done" -eq 0 ] && grep -aq '^KVHOST-E2E: REQUEST vcpu-add' "$dir/results" 2>/dev/null; then
      read -r socket core thread node < <(grep -a '^KVHOST-E2E: REQUEST vcpu-add' "$dir/results" |
        head -1 | tr -d '\r' | sed 's/.*vcpu-add //')
      python3 "$here/qmp.py" "$dir/qmp.sock" device_add \
        "{\"driver\": \"Skylake-Server-x86_64-cpu\", \"id\": \"hotplugged\", \"socket-id\": $socket, \"core-id\": $core, \"thread-id\": $thread, \"node-id\": $node}" \
        >"$dir/qmp.log" 2>&1 || log "device_add: $(cat "$dir/qmp.log")"
      done=1
    fi
    sleep 1
  done
}

# boot LAYOUT: one guest, its results in $e2e/LAYOUT.results, console in LAYOUT.console.
boot() {
  local layout=$1 env=$here/layouts/$1.env dir=$e2e/$1
  rm -rf "$dir" && mkdir -p "$dir/root"
  # Called as `boot ... || count`, where errexit is off: each step checked.
  tar -xf "$root_tar" -C "$dir/root" || return 1
  mkdir -p "$dir/root/e2e/upgrade"
  cp "$e2e/deb/kvhost-agent_"*.deb "$dir/root/e2e/"
  cp "$e2e/deb/upgrade/"*.deb "$dir/root/e2e/upgrade/"
  cp "$here/guest.sh" "$dir/root/e2e/"
  echo "LAYOUT=$layout" | cat - "$env" >"$dir/root/e2e/layout.env"
  install -m 0644 "$here/kvhost-e2e.service" "$dir/root/etc/systemd/system/"
  ln -sf /etc/systemd/system/kvhost-e2e.service "$dir/root/etc/systemd/system/multi-user.target.wants/"
  echo "kvhost-e2e-$layout" >"$dir/root/etc/hostname"
  (cd "$dir/root" && find . | cpio -o -H newc --quiet) >"$dir/initrd" || return 1
  rm -rf "$dir/root"
  # shellcheck source=/dev/null
  . "$env"
  local kernel=$kernel_cloud
  [ "$KERNEL" = rt ] && kernel=$kernel_rt
  local started=$SECONDS
  # shellcheck disable=SC2086  # QEMU_ARGS is a word list on purpose
  timeout "${BOOT_TIMEOUT:-600}" qemu-system-x86_64 -accel tcg -cpu Skylake-Server -nographic -no-reboot \
    -nic none -kernel "$kernel" -initrd "$dir/initrd" \
    -append "console=ttyS0 rdinit=/lib/systemd/systemd quiet systemd.show_status=0 $CMDLINE" \
    $QEMU_ARGS -serial "file:$dir/console" -serial "file:$dir/results" -monitor none \
    -qmp "unix:$dir/qmp.sock,server=on,wait=off" >"$dir/qemu.log" 2>&1 &
  local qemu=$!
  answer_requests "$dir" "$qemu"
  wait "$qemu" || log "$layout: qemu exited $? (see $dir/qemu.log, $dir/console)"
  rm -f "$dir/initrd"
  log "$layout: booted, checked and powered off in $((SECONDS - started)) s"
  python3 "$here/check.py" "$layout" "$env" "$dir"
}

layouts=("$@")
[ ${#layouts[@]} -gt 0 ] || mapfile -t layouts < <(cd "$here/layouts" && ls -- *.env | sed 's/\.env$//')
failed=0
for layout in "${layouts[@]}"; do
  boot "$layout" || failed=$((failed + 1))
done
[ "$failed" -eq 0 ] || die "$failed of ${#layouts[@]} layouts failed"
log "${#layouts[@]} layouts passed"

#!/usr/bin/env bash
# The .deb `./dev package` builds: CPack from the build dir, unpacked with
# dpkg-deb -x; every file where Debian expects it, the default config a
# conffile that the binary in the package accepts, the runtime dependencies
# named in the control file (dpkg-shlibdeps), the binary stripped with its
# debug info in the -dbgsym package, dh_installsystemd's maintainer scripts,
# a man page naming every command, and lintian without errors.
# Usage: package_test.sh BUILD_DIR FIXTURE_ROOT
set -euo pipefail
build=$1 fixture=$2
command -v dpkg-deb >/dev/null || { echo "dpkg-deb missing: skipped"; exit 77; }
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
fail() { echo "FAIL: $*"; exit 1; }

(cd "$work" && cpack -G DEB --config "$build/CPackConfig.cmake" -B "$work/out") \
  >"$work/cpack.log" 2>&1 || { cat "$work/cpack.log"; fail "cpack"; }
deb=$(ls "$work"/out/kvhost-agent_*.deb) || fail "no kvhost-agent_*.deb in $(ls "$work/out")"
dbgsym=$(ls "$work"/out/kvhost-agent-dbgsym_*.ddeb) || fail "no -dbgsym package in $(ls "$work/out")"
dpkg-deb -x "$deb" "$work/root"
for f in usr/bin/kvhost-agent usr/lib/systemd/system/kvhost-agent.service \
         etc/kvhost-agent/config.yaml usr/share/doc/kvhost-agent/README.md \
         usr/share/doc/kvhost-agent/copyright usr/share/doc/kvhost-agent/changelog.gz \
         usr/share/man/man8/kvhost-agent.8.gz usr/lib/tmpfiles.d/kvhost-agent.conf \
         usr/share/doc/kvhost-agent/CONFIG.md usr/share/doc/kvhost-agent/examples/kvhost-agent.conf \
         usr/share/bash-completion/completions/kvhost-agent; do
  [ -f "$work/root/$f" ] || fail "$f missing from the package"
done
[ -x "$work/root/usr/bin/kvhost-agent" ] || fail "the binary is not executable"
readelf -S "$work/root/usr/bin/kvhost-agent" | grep -q '\.debug_info' && fail "the binary is not stripped"
readelf -n "$work/root/usr/bin/kvhost-agent" | grep -q 'Build ID' || fail "the binary has no build-id"
# The debug info is in the dbgsym package, under the binary's build-id.
build_id=$(readelf -n "$work/root/usr/bin/kvhost-agent" | sed -n 's/.*Build ID: //p')
dpkg-deb -c "$dbgsym" | grep -q "usr/lib/debug/.build-id/${build_id:0:2}/${build_id:2}.debug" ||
  fail "the dbgsym package has no usr/lib/debug/.build-id/${build_id:0:2}/${build_id:2}.debug"
# The man page names every command the binary has.
man=$(zcat "$work/root/usr/share/man/man8/kvhost-agent.8.gz")
for command in $("$work/root/usr/bin/kvhost-agent" --help | sed -n '/^Subcommands:/,$p' | tail -n +2 | awk 'NF {print $1}'); do
  echo "$man" | grep -q "^\.SS $command\$" || fail "the man page has no section for $command"
done
# dh_installsystemd's scripts: enabled and started on install, stopped on remove, purged.
dpkg-deb -e "$deb" "$work/control"
grep -q "deb-systemd-helper enable 'kvhost-agent.service'" "$work/control/postinst" || fail "postinst enables nothing"
grep -q 'deb-systemd-invoke "$action"' "$work/control/postinst" || fail "postinst starts nothing"
grep -q "deb-systemd-invoke stop 'kvhost-agent.service'" "$work/control/prerm" || fail "prerm stops nothing"
grep -q 'rm -rf /var/lib/kvhost-agent' "$work/control/postrm" || fail "purge leaves the state"
grep -q '^ExecStart=/usr/bin/kvhost-agent run' "$work/root/usr/lib/systemd/system/kvhost-agent.service" \
  || fail "the unit does not start /usr/bin/kvhost-agent run"
# The packaged default config is what the packaged binary reads.
"$work/root/usr/bin/kvhost-agent" labels --root "$fixture" --node-name n \
  --config "$work/root/etc/kvhost-agent/config.yaml" >/dev/null || fail "the default config is refused"

# The packaged bash completion completes commands, a command's flags and files.
complete_words() {  # the words COMPREPLY holds for the command line "$@" (last word: partial)
  bash -c 'source "$1"; shift; COMP_WORDS=("$@"); COMP_CWORD=$((${#COMP_WORDS[@]} - 1))
           _kvhost_agent; printf "%s\n" "${COMPREPLY[@]}"' _ \
    "$work/root/usr/share/bash-completion/completions/kvhost-agent" "$@"
}
complete_words kvhost-agent capa | grep -qx capacity || fail "completion: capa does not complete to capacity"
complete_words kvhost-agent capacity --what | grep -qx -- --what-if || fail "completion: capacity --what"
complete_words kvhost-agent --log-level info run --kubelet | grep -qx -- --kubelet-config || fail "completion: run --kubelet"
complete_words kvhost-agent inspect --what | grep -q . && fail "completion: inspect offers capacity's --what-if"

info=$(dpkg-deb -I "$deb")
echo "$info" | sed -n '/Package:/,$p'
depends=$(echo "$info" | sed -n 's/^ Depends: //p')
[ -n "$depends" ] || fail "no Depends: line"
for lib in libvirt0 libhwloc libnuma1 libprotobuf libsystemd0 libyaml-cpp libspdlog libc6 libstdc++6; do
  echo "$depends" | grep -q "$lib" || fail "Depends does not name $lib: $depends"
done
dpkg-deb -I "$deb" conffiles | grep -qx /etc/kvhost-agent/config.yaml || fail "config.yaml is not a conffile"
echo "$info" | grep -q 'Recommends:.*libvirt-daemon' && fail "Recommends pulls a host libvirtd onto KubeVirt hosts"
echo "$info" | grep -q 'libvirt-daemon-system there' || fail "the description does not say what a plain libvirt host needs"
if command -v lintian >/dev/null; then
  lintian --info "$deb" >"$work/lintian" 2>&1 || true
  cat "$work/lintian"
  grep -q '^E:' "$work/lintian" && fail "lintian reports errors"
else
  echo "lintian missing: the package was not linted (./dev deps installs it)"
fi
echo "1 passed, 0 failed"

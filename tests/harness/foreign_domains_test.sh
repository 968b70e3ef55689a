#!/usr/bin/env bash
# The guard of the real-libvirtd tests (foreign_domains.sh): they refuse to run where
# libvirt has, or would load, a domain they did not define.
#   foreign_domains_test.sh configs   the check made before the harness starts a
#       libvirtd, on a scratch copy of /etc/libvirt/qemu and /run/libvirt/qemu: no
#       second libvirtd can be started here beside the shared one, and none with
#       domains of its own could be started safely. Also a virsh that cannot list (a
#       stand-in script: a real libvirtd that answers but cannot list cannot be made).
#   foreign_domains_test.sh running DIR   the real libvirtd of the `libvirtd` fixture
#       (whose start used DIR): a domain that is not the tests' is defined there, never
#       started, and `libvirtd.sh start` must refuse, naming it; once it is gone, start
#       must pass. The harness's and the pin tests' locks are held meanwhile, so no
#       other build tree's start or test sees the domain and skips.
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
failures=0 checks=0
check() { # check WHAT COMMAND...: one assertion
  local what=$1
  shift
  checks=$((checks + 1))
  if "$@"; then echo "ok: $what"; else
    echo "FAILED: $what"
    failures=$((failures + 1))
  fi
}
contains() { [[ $1 == *"$2"* ]]; }
finish() {
  echo "$((checks - failures)) passed, $failures failed"
  [ "$failures" -eq 0 ]
}

domain_xml() { # domain_xml NAME [DESCRIPTION]: libvirt's own layout (one element a line)
  printf "<domain type='qemu'>\n  <name>%s</name>\n  <description>%s</description>\n" "$1" "${2:-}"
  printf "  <memory unit='KiB'>16384</memory>\n  <vcpu placement='static'>1</vcpu>\n"
  printf "  <os>\n    <type arch='x86_64'>hvm</type>\n  </os>\n</domain>\n"
}

configs() {
  work=$(mktemp -d) # global: the EXIT trap outlives this function
  trap 'rm -rf "$work"' EXIT
  DOMAIN_PREFIX=kvhost-it-
  skip() {
    echo "skipped: $*"
    exit 77
  }
  # shellcheck source=tests/harness/foreign_domains.sh
  . "$here/foreign_domains.sh"
  local etc=$work/etc/libvirt/qemu run=$work/run/libvirt/qemu
  mkdir -p "$etc/autostart" "$etc/networks" "$run"
  check "no definitions: nothing foreign" [ -z "$(configured_foreign_domains "$etc" "$run")" ]

  domain_xml kvhost-it-1-a >"$etc/kvhost-it-1-a.xml"
  domain_xml prod-db >"$etc/prod-db.xml"
  ln -s ../prod-db.xml "$etc/autostart/prod-db.xml"
  domain_xml web >"$etc/kvhost-it-2-b.xml" # the name inside counts, not the file's
  echo "<network><name>default</name></network>" >"$etc/networks/default.xml"
  { # a running domain's status file: its <domain> inside <domstatus>
    echo "<domstatus state='running' reason='booted' pid='4242'>"
    echo "  <monitor path='/var/lib/libvirt/qemu/domain-3-vm/monitor.sock' type='unix'/>"
    domain_xml vm-running | sed "s/<domain type='qemu'>/<domain type='kvm' id='3'>/"
    echo "</domstatus>"
  } >"$run/vm-running.xml"
  domain_xml kvhost-it-1-a >"$run/kvhost-it-1-a.xml"

  local found expected
  found=$(configured_foreign_domains "$etc" "$run")
  expected="web ($etc/kvhost-it-2-b.xml)
prod-db ($etc/prod-db.xml, autostart: starting libvirtd starts it)
vm-running ($run/vm-running.xml)"
  check "every foreign definition, its file and autostart, and nothing else" [ "$found" = "$expected" ]
  [ "$found" = "$expected" ] || printf 'found:\n%s\nexpected:\n%s\n' "$found" "$expected"

  local out rc
  out=$(refuse_foreign_domains "starting libvirtd would load" "$found") && rc=0 || rc=$?
  check "a foreign definition refuses with 77 (skip)" [ "$rc" -eq 77 ]
  local name
  for name in web prod-db vm-running; do check "the refusal names $name" contains "$out" "$name ("; done
  check "the refusal says why" contains "$out" "would re-pin"
  check "the refusal says how to run them" contains "$out" "without other domains"
  out=$(refuse_foreign_domains "nothing" "") && rc=0 || rc=$?
  check "none foreign: no refusal" [ "$rc:$out" = "0:" ]

  check "names: all but the tests'" [ "$(not_the_tests kvhost-it-9-x "my vm" kvhost-itx "")" = "my vm
kvhost-itx" ]
  mkdir -p "$work/bin"
  printf '#!/bin/sh\necho "error: failed to connect to the hypervisor" >&2\nexit 1\n' >"$work/bin/virsh"
  chmod +x "$work/bin/virsh"
  PATH="$work/bin:$PATH" listed_foreign_domains qemu:///system >/dev/null 2>&1 && rc=0 || rc=$?
  check "a listing that fails is no proof of no domain" [ "$rc" -ne 0 ]
  finish
}

# harness start|stop: libvirtd.sh on a DIR of this test's own, holding the harness lock.
harness() { bash "$here/libvirtd.sh" "$1" "$work/run" 8>&-; }

running() {
  local dir=$1 probe rc out
  [ "$(id -u)" -eq 0 ] || {
    echo "needs root (the system libvirtd): skipped"
    exit 77
  }
  if [ -f "$dir/skipped" ]; then
    echo "the libvirtd fixture skipped: $(cat "$dir/skipped")"
    exit 77
  fi
  work=$(mktemp -d)
  probe=kvhost-guard-probe-$$
  # The pin tests' lock first, as they take it before a `libvirtd.sh restart` takes the
  # harness's: no build tree's test, nor its harness, sees the domain and skips.
  exec 8>/run/lock/kvhost-it-pin-tests.lock 9>/run/lock/kvhost-it-harness.lock
  if ! { flock -w 900 8 && flock -w 900 9; }; then
    echo "a kvhost test lock was held for 15 minutes"
    exit 1
  fi
  # shellcheck disable=SC2064  # the names are fixed now
  trap "timeout 30 virsh -c qemu:///system undefine '$probe' >/dev/null 2>&1 || true; rm -rf '$work'" EXIT
  domain_xml "$probe" "defined by kvhost-agent's tests/harness/foreign_domains_test.sh, never \
started, undefined at its exit; if it is left, undefine it" >"$work/probe.xml"
  timeout 30 virsh -c qemu:///system define "$work/probe.xml" >/dev/null

  # fd 9, the harness lock held here, is passed on (libvirtd.sh takes it as it is).
  out=$(harness start 2>&1) && rc=0 || rc=$?
  echo "$out"
  [ "$rc" -ne 0 ] || harness stop >/dev/null # undo its registration
  check "start refuses (77) while a domain it did not define exists" [ "$rc" -eq 77 ]
  check "the refusal names the domain" contains "$out" "$probe"
  check "the refusal says why" contains "$out" "would re-pin"
  check "the tests read the reason from DIR/skipped" grep -q "$probe" "$work/run/skipped"

  timeout 30 virsh -c qemu:///system undefine "$probe" >/dev/null
  out=$(harness start 2>&1) && rc=0 || rc=$?
  [ "$rc" -ne 0 ] || harness stop >/dev/null
  check "with only the tests' domains, start passes" [ "$rc" -eq 0 ]
  [ "$rc" -eq 0 ] || echo "$out"
  check "... and leaves no skip reason" [ ! -e "$work/run/skipped" ]
  finish
}

case "${1:-}" in
  configs) configs ;;
  running)
    [ $# -eq 2 ] || {
      echo "usage: $0 running DIR" >&2
      exit 2
    }
    running "$2"
    ;;
  *)
    echo "usage: $0 {configs|running DIR}" >&2
    exit 2
    ;;
esac

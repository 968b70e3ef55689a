#!/usr/bin/env bash
# A real libvirtd + QEMU for the integration tests: the `libvirtd` ctest fixture.
#   libvirtd.sh start DIR   install what is missing, start virtlogd + libvirtd (unless a
#                           libvirtd already runs: then use that one as it is), wait until
#                           qemu:///system answers and offers the tests' domain type: kvm
#                           where /dev/kvm works, else qemu (TCG; KVHOST_IT_FORCE_TCG=1
#                           takes it on a machine with KVM too). Exit 77 (skip) without root
#                           or where libvirt has, or would load, a domain the tests did not
#                           define (foreign_domains.sh); DIR/skipped says why, for the tests.
#   libvirtd.sh stop DIR    remove kvhost-it-* domains, stop only what start started,
#                           restore /etc/libvirt/qemu.conf and the qemu user as they were.
#   libvirtd.sh restart DIR stop and start the libvirtd that start started (running QEMU
#                           domains survive it), wait until qemu:///system answers again.
#                           Exit 77 (skip) when that libvirtd is not ours, or another
#                           kvhost test run shares it. For the agent's reconnect tests.
# DIR (in the build tree) gets the daemons' logs.
#
# It changes the machine (packages, qemu.conf, a system user, daemons), so only ctest runs
# it (tests/CMakeLists.txt), never ./dev run.
#
# Several build trees may run ctest at once on one machine, and there is one system
# libvirtd, so the daemon and what was changed for it are machine-wide state under
# $STATE, not per DIR: every start registers its DIR there, and only the last stop tears
# down. A flock serialises starts and stops.
set -euo pipefail

readonly SKIP=77
readonly URI=qemu:///system
readonly DOMAIN_PREFIX=kvhost-it-
readonly STATE=/var/lib/kvhost-it-harness  # persistent: the qemu.conf backup must survive a reboot
readonly LOCK=/run/lock/kvhost-it-harness.lock
readonly QEMU_CONF=/etc/libvirt/qemu.conf
readonly QEMU_USER=libvirt-qemu  # Debian's libvirt is built with this user and group
# The smallest Debian 12 set with libvirtd, virtlogd, the QEMU driver, QEMU for x86 and
# virsh. Not libvirt-daemon-system: it wants systemd as PID 1, polkitd and iptables, and
# its default network would make libvirtd create a bridge on the host. Its one useful
# part, the libvirt-qemu user, is created below instead.
readonly PACKAGES=(libvirt-daemon libvirt-daemon-driver-qemu libvirt-clients qemu-system-x86)
readonly START_TIMEOUT=30  # seconds for qemu:///system to answer (the first start probes QEMU)
readonly STOP_TIMEOUT=15   # seconds between TERM and KILL

log() { echo "libvirtd.sh: $*"; }
# seconds_since T0 [T1]: T1 (default now) - T0 for $EPOCHREALTIME values, e.g. "1.25".
seconds_since() { awk -v a="$1" -v b="${2:-$EPOCHREALTIME}" 'BEGIN { printf "%.2f", b - a }'; }
die() {
  echo "libvirtd.sh: error: $*" >&2
  exit 1
}
skip() {
  echo "libvirtd.sh: skipping the real libvirtd tests: $*"
  # ctest runs the tests of a skipped fixture all the same: they read why here and skip too.
  [ -z "${SKIPPED_NOTE:-}" ] || echo "$*" >"$SKIPPED_NOTE"
  exit "$SKIP"
}
# shellcheck source=tests/harness/foreign_domains.sh
. "$(dirname "${BASH_SOURCE[0]}")/foreign_domains.sh"

# Start time of a process (field 22 of /proc/PID/stat, after the parenthesised name),
# so a recorded PID that the kernel reused for another process is not taken for ours.
start_time() {
  local stat
  stat=$(cat "/proc/$1/stat" 2>/dev/null) || return 1
  # shellcheck disable=SC2086  # split the fields after "(comm) " on purpose
  set -- ${stat##*) }
  echo "${20}"
}

# running PID: the process exists and is no zombie (here PID 1 reaps orphans only now and
# then, and kill -0 succeeds on a zombie).
running() {
  local stat
  stat=$(cat "/proc/$1/stat" 2>/dev/null) || return 1
  stat=${stat##*) }
  case "${stat%% *}" in Z | X) return 1 ;; esac
}

# record FILE PID [NOTE]: remember PID (and a note for people reading FILE) as one of ours.
record() { echo "$2 $(start_time "$2") ${3:-}" >"$1"; }

# recorded_pid FILE: the PID in FILE if that very process still runs, else nothing.
recorded_pid() {
  local pid started
  [ -f "$1" ] || return 0
  read -r pid started _ <"$1" || return 0
  if [ -n "$pid" ] && [ "$(start_time "$pid" || true)" = "$started" ] && running "$pid"; then
    echo "$pid"
  fi
}

# foreign_pids NAME: PIDs of daemon NAME that this harness did not start.
foreign_pids() {
  local ours pid
  ours=$(recorded_pid "$STATE/$1.pid")
  for pid in $(pgrep -x "$1" || true); do
    # A zombie is a daemon already stopped (maybe by our last stop), not reaped yet.
    [ "$pid" = "$ours" ] || ! running "$pid" || echo "$pid"
  done
}

answers() { timeout 10 virsh -c "$URI" version >/dev/null 2>&1; }

lock() {
  mkdir -p "$(dirname "$LOCK")"
  # A caller holding the lock passes it as fd 9 (the guard's test keeps other trees'
  # starts out while its foreign domain exists): flock on that open file succeeds at once.
  if ! [ /proc/self/fd/9 -ef "$LOCK" ]; then exec 9>"$LOCK"; fi
  # A first start installs packages while holding the lock: wait that long.
  flock -w 900 9 || die "another kvhost test harness held $LOCK for 15 minutes"
}

user_key() { printf '%s' "$1" | md5sum | cut -c1-16; }

# Drops registrations whose ctest (the process that ran start) is gone: a run that was
# interrupted never reaches its stop.
prune_users() {
  local file
  for file in "$STATE"/users/*; do
    [ -f "$file" ] || continue
    [ -n "$(recorded_pid "$file")" ] || rm -f "$file"
  done
}

other_users() {
  local file
  for file in "$STATE"/users/*; do
    [ -f "$file" ] && [ "$file" != "$STATE/users/$(user_key "$DIR")" ] && cut -d' ' -f3- "$file"
  done
  return 0
}

install_missing() {
  local p missing=()
  for p in "${PACKAGES[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
  done
  [ ${#missing[@]} -eq 0 ] && return 0
  log "installing ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  # Another build tree may be installing at the same moment: wait for dpkg's lock.
  local apt=(apt-get -o DPkg::Lock::Timeout=600 install -y --no-install-recommends)
  # A machine whose package lists were never fetched fails the install: update once then.
  "${apt[@]}" "${missing[@]}" >"$DIR/apt.log" 2>&1 || {
    apt-get -o DPkg::Lock::Timeout=600 update >>"$DIR/apt.log" 2>&1
    "${apt[@]}" "${missing[@]}" >>"$DIR/apt.log" 2>&1
  } || die "could not install ${missing[*]}; see $DIR/apt.log"
}

# libvirt's QEMU driver looks its built-in user and group up at start and refuses to
# load without them, even when qemu.conf names root.
ensure_qemu_user() {
  if ! getent group "$QEMU_USER" >/dev/null; then
    groupadd --system "$QEMU_USER"
    touch "$STATE/group.created"
  fi
  if ! getent passwd "$QEMU_USER" >/dev/null; then
    useradd --system --gid "$QEMU_USER" --no-create-home --home-dir /var/lib/libvirt \
      --shell /usr/sbin/nologin --comment "Libvirt Qemu (kvhost test harness)" "$QEMU_USER"
    touch "$STATE/user.created"
  fi
}

# The last uncommented user = / group = lines are the ones libvirt reads.
qemu_conf_runs_as_root() {
  [ -f "$QEMU_CONF" ] || return 1
  [ "$(grep -E '^[[:space:]]*user[[:space:]]*=' "$QEMU_CONF" | tail -n1 | tr -d '[:space:]')" = 'user="root"' ] &&
    [ "$(grep -E '^[[:space:]]*group[[:space:]]*=' "$QEMU_CONF" | tail -n1 | tr -d '[:space:]')" = 'group="root"' ]
}

# QEMU runs as root: /dev/kvm is 0600 root here, and no udev gives the kvm group access
# (harmless under TCG, where QEMU opens no device).
configure_qemu_conf() {
  qemu_conf_runs_as_root && return 0
  # Back up once: a backup left by an interrupted run is the original, our edit is not.
  if [ ! -e "$STATE/qemu.conf.orig" ] && [ ! -e "$STATE/qemu.conf.absent" ]; then
    if [ -e "$QEMU_CONF" ]; then
      cp -p "$QEMU_CONF" "$STATE/qemu.conf.orig"
    else
      touch "$STATE/qemu.conf.absent"
    fi
  fi
  mkdir -p "$(dirname "$QEMU_CONF")"
  {
    if [ -f "$QEMU_CONF" ]; then sed -E '/^[[:space:]]*(user|group)[[:space:]]*=/d' "$QEMU_CONF"; fi
    echo '# Set by kvhost-agent tests/harness/libvirtd.sh; restored by its stop.'
    echo 'user = "root"'
    echo 'group = "root"'
  } >"$QEMU_CONF.kvhost-new"
  if [ -e "$QEMU_CONF" ]; then chmod --reference="$QEMU_CONF" "$QEMU_CONF.kvhost-new"; fi
  mv "$QEMU_CONF.kvhost-new" "$QEMU_CONF"
}

restore_qemu_conf() {
  if [ -e "$STATE/qemu.conf.orig" ]; then
    cp -p "$STATE/qemu.conf.orig" "$QEMU_CONF"
  elif [ -e "$STATE/qemu.conf.absent" ]; then
    rm -f "$QEMU_CONF"
  fi
}

# start_daemon NAME WAIT_FOR_SOCKET: run /usr/sbin/NAME in its own session (so ctest
# neither waits for it nor kills it with the test's process group), output to DIR.
start_daemon() {
  local name=$1 socket=$2 pid deadline=$((SECONDS + START_TIMEOUT))
  # 9>&-: the daemon must not inherit (and so hold forever) the harness lock.
  setsid "/usr/sbin/$name" </dev/null >>"$DIR/$name.log" 2>&1 9>&- &
  pid=$!
  record "$STATE/$name.pid" "$pid"
  log "started $name (pid $pid, log $DIR/$name.log)"
  until [ -S "$socket" ]; do
    running "$pid" || die "$name exited at start: $(tail -n 20 "$DIR/$name.log")"
    ((SECONDS < deadline)) || die "$name made no $socket within $START_TIMEOUT s; see $DIR/$name.log"
    sleep 0.1
  done
}

remove_test_domains() {
  local name
  answers || return 0
  for name in $(timeout 30 virsh -c "$URI" list --all --name 2>/dev/null || true); do
    case "$name" in
      "$DOMAIN_PREFIX"*)
        log "removing leftover domain $name"
        timeout 30 virsh -c "$URI" destroy "$name" >/dev/null 2>&1 || true
        timeout 30 virsh -c "$URI" undefine "$name" >/dev/null 2>&1 || true
        ;;
    esac
  done
}

# stop_daemon NAME: TERM the process start recorded, KILL it if it lingers.
stop_daemon() {
  local name=$1 pid deadline=$((SECONDS + STOP_TIMEOUT))
  pid=$(recorded_pid "$STATE/$name.pid")
  rm -f "$STATE/$name.pid"
  [ -n "$pid" ] || return 0
  kill -TERM "$pid" 2>/dev/null || true
  while running "$pid" && ((SECONDS < deadline)); do sleep 0.1; done
  if running "$pid"; then
    log "$name (pid $pid) ignored TERM for $STOP_TIMEOUT s: KILL"
    kill -KILL "$pid" 2>/dev/null || true
    sleep 0.5
  fi
  if running "$pid"; then
    echo "libvirtd.sh: error: $name (pid $pid) survived KILL" >&2
    return 1
  fi
  log "stopped $name (pid $pid)"
}

# The tests' <domain type>: kvm when /dev/kvm opens read-write, else qemu (QEMU's TCG
# emulator). Pinning, events, numatune and the vCPU threads in /proc behave the same under
# TCG, so no real-libvirtd test needs KVM. tests/it_accelerator.h applies the same rule.
# Sets DOMAIN_TYPE and ACCELERATOR_WHY.
choose_domain_type() {
  if [ "${KVHOST_IT_FORCE_TCG:-}" = 1 ]; then
    DOMAIN_TYPE=qemu ACCELERATOR_WHY="TCG: KVHOST_IT_FORCE_TCG=1"
  elif [ ! -c /dev/kvm ]; then
    DOMAIN_TYPE=qemu ACCELERATOR_WHY="TCG: /dev/kvm is absent (no kvm module, or no hardware/nested virtualisation)"
  elif ! { : <>/dev/kvm; } 2>/dev/null; then
    DOMAIN_TYPE=qemu ACCELERATOR_WHY="TCG: /dev/kvm cannot be opened read-write by root here"
  else
    DOMAIN_TYPE=kvm ACCELERATOR_WHY="KVM: /dev/kvm opens read-write"
  fi
}

start() {
  SKIPPED_NOTE=$DIR/skipped
  rm -f "$SKIPPED_NOTE"
  [ "$(id -u)" -eq 0 ] || skip "they need root (packages, /etc/libvirt, the system libvirtd)"
  local DOMAIN_TYPE ACCELERATOR_WHY
  choose_domain_type
  log "domains run under $ACCELERATOR_WHY"
  local began=$EPOCHREALTIME
  lock
  mkdir -p "$STATE/users"
  prune_users
  install_missing
  local installed=$EPOCHREALTIME

  if [ -n "$(foreign_pids libvirtd)$(foreign_pids virtqemud)" ]; then
    # A real hypervisor's daemon: neither reconfigured nor restarted, and stop leaves it.
    log "a libvirtd this harness did not start is running: using it as it is"
  elif [ -z "$(recorded_pid "$STATE/libvirtd.pid")" ]; then
    # A libvirtd started now loads every persistent definition, starts those marked
    # autostart and reconnects to the domains still running: refuse before, not after.
    refuse_foreign_domains "libvirtd is not running, and starting it would load" \
      "$(configured_foreign_domains /etc/libvirt/qemu /run/libvirt/qemu)"
    ensure_qemu_user
    configure_qemu_conf
    if [ -z "$(foreign_pids virtlogd)" ] && [ -z "$(recorded_pid "$STATE/virtlogd.pid")" ]; then
      start_daemon virtlogd /run/libvirt/virtlogd-sock
    fi
    start_daemon libvirtd /run/libvirt/libvirt-sock
  else
    log "reusing the libvirtd another kvhost test run started (pid $(recorded_pid "$STATE/libvirtd.pid"))"
  fi

  local deadline=$((SECONDS + START_TIMEOUT)) pid
  until answers; do
    pid=$(recorded_pid "$STATE/libvirtd.pid")
    if [ -f "$STATE/libvirtd.pid" ] && [ -z "$pid" ]; then
      die "libvirtd exited at start: $(tail -n 20 "$DIR/libvirtd.log" 2>/dev/null)"
    fi
    ((SECONDS < deadline)) || die "$URI did not answer within $START_TIMEOUT s; see $DIR/libvirtd.log"
    sleep 0.2
  done
  # Whichever libvirtd answers; one started above again, for a domain defined meanwhile
  # (the fixture's stop, which ctest runs after a skipped start too, stops it then).
  local foreign
  foreign=$(listed_foreign_domains "$URI") || die "$URI answers but does not list its domains"
  refuse_foreign_domains "$URI has" "$foreign"
  # Read it whole before matching: `virsh ... | grep -q` under pipefail fails now and then,
  # when grep exits at the first match and virsh dies of SIGPIPE writing the rest.
  local caps
  caps=$(timeout 30 virsh -c "$URI" capabilities) || die "$URI answers but gives no capabilities"
  [[ $caps == *"<domain type='$DOMAIN_TYPE'"* ]] ||
    die "$URI answers but offers no <domain type='$DOMAIN_TYPE'> ($ACCELERATOR_WHY); see $DIR/libvirtd.log"

  # Leftovers of an interrupted run, unless another run's tests may be using them now.
  [ -n "$(other_users)" ] || remove_test_domains
  # The owner is the ctest that runs this (our parent): while it lives, the run is on.
  record "$STATE/users/$(user_key "$DIR")" "$PPID" "$DIR"
  log "$URI answers ($(virsh -c "$URI" version 2>/dev/null | grep -i 'running hypervisor' || true));" \
    "lock + install $(seconds_since "$began" "$installed") s, start $(seconds_since "$installed") s"
}

stop() {
  [ "$(id -u)" -eq 0 ] || exit 0  # start skipped: nothing to undo
  lock
  [ -d "$STATE" ] || {
    log "nothing to stop"
    exit 0
  }
  rm -f "$STATE/users/$(user_key "$DIR")"
  prune_users
  local others
  others=$(other_users)
  if [ -n "$others" ]; then
    log "kvhost test runs in ${others//$'\n'/ } still use libvirtd: leaving it and its domains"
    exit 0
  fi
  remove_test_domains
  local status=0
  stop_daemon libvirtd || status=1
  stop_daemon virtlogd || status=1
  restore_qemu_conf
  if [ -e "$STATE/user.created" ]; then userdel "$QEMU_USER" || status=1; fi
  if [ -e "$STATE/group.created" ] && getent group "$QEMU_USER" >/dev/null; then
    groupdel "$QEMU_USER" || status=1
  fi
  [ "$status" -eq 0 ] && rm -rf "$STATE"
  exit "$status"
}

# Restarts only a libvirtd this harness started: a foreign one is a real hypervisor's, and
# another build tree's tests must not see their daemon vanish under them. virtlogd stays:
# it holds the running QEMUs' stdout/stderr pipes, and libvirtd reattaches to those QEMUs
# without it restarting.
restart() {
  [ "$(id -u)" -eq 0 ] || skip "restarting libvirtd needs root"
  lock
  local pid others began=$EPOCHREALTIME
  pid=$(recorded_pid "$STATE/libvirtd.pid")
  [ -n "$pid" ] || skip "no libvirtd started by this harness runs (a foreign one is never restarted)"
  prune_users
  others=$(other_users)
  [ -z "$others" ] || skip "kvhost test runs in ${others//$'\n'/ } share this libvirtd: not restarting it"
  stop_daemon libvirtd || die "could not stop libvirtd (pid $pid)"
  start_daemon libvirtd /run/libvirt/libvirt-sock
  # The old daemon's socket file may still be there: wait for the new daemon to answer.
  local deadline=$((SECONDS + START_TIMEOUT))
  until answers; do
    [ -n "$(recorded_pid "$STATE/libvirtd.pid")" ] ||
      die "libvirtd exited at restart: $(tail -n 20 "$DIR/libvirtd.log" 2>/dev/null)"
    ((SECONDS < deadline)) || die "$URI did not answer within $START_TIMEOUT s after restart"
    sleep 0.2
  done
  log "restarted libvirtd in $(seconds_since "$began") s"
}

[ $# -eq 2 ] || {
  echo "usage: $0 {start|stop|restart} DIR" >&2
  exit 2
}
mkdir -p "$2"
DIR=$(cd "$2" && pwd)
readonly DIR
case "$1" in
  start) start ;;
  stop) stop ;;
  restart) restart ;;
  *)
    echo "usage: $0 {start|stop|restart} DIR" >&2
    exit 2
    ;;
esac

#!/bin/bash
# Inside a booted Debian 12 host (systemd PID 1, no network, no libvirtd): the
# operator's steps with the project's .deb, each reported on the results port
# (ttyS1) as "KVHOST-E2E: PASS|FAIL <check>: <detail>"; documents the host side
# checks (inspect JSON, labels, metrics, report) go as base64 "KVHOST-E2E-DATA"
# lines. The layout's facts are in /e2e/layout.env. Then the host powers off.
# Only Essential packages here: bash, coreutils, grep, sed, util-linux.
set -u
exec >/dev/ttyS1 2>&1
stty -F /dev/ttyS1 raw -echo 2>/dev/null || true
# shellcheck source=/dev/null
. /e2e/layout.env

say() { echo "KVHOST-E2E: $*"; }
pass() { say "PASS $1: ${2:-}"; }
fail() { say "FAIL $1: ${2:-}"; }
check() {  # check NAME DETAIL COMMAND...: PASS when COMMAND succeeds
  local name=$1 detail=$2
  shift 2
  if "$@"; then pass "$name" "$detail"; else fail "$name" "$detail"; fi
}
send() {  # send NAME < document: base64 lines the host reassembles
  base64 -w 0 | sed "s/^/KVHOST-E2E-DATA $1 /"
  echo
}
# wait_for SECONDS COMMAND...: true once COMMAND succeeds, polled every 0.2 s.
wait_for() {
  local deadline=$((SECONDS + $1))
  shift
  until "$@"; do
    [ "$SECONDS" -ge "$deadline" ] && return 1
    sleep 0.2
  done
}
http_get() {  # http_get PATH: the whole answer from the loopback API
  exec 3<>/dev/tcp/127.0.0.1/9478 || return 1
  printf 'GET %s HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n' "$1" >&3
  timeout 10 cat <&3
  exec 3<&-
}
show() { systemctl show -p "$1" --value kvhost-agent; }
features=/etc/kubernetes/node-feature-discovery/features.d/kvhost-agent
labels_now() { grep -v '^#' "$features" 2>/dev/null | sort; }
# The daemon's labels equal what the one-shot command computes on the same host now.
labels_follow() {
  local now
  now=$(labels_now)
  [ -n "$now" ] && [ "$now" = "$(kvhost-agent labels | grep -v '^#' | sort)" ]
}
labels_moved() { [ "$(labels_now)" != "$before" ]; }
reloaded() { http_get /v1/report | grep -q '"nodeName": "e2e-reloaded"'; }
rediscovered() { journalctl -u kvhost-agent --no-pager | grep -q 'online CPUs .*rediscovering the host'; }
serves() { http_get "$1" | grep -q '200 OK'; }
online_is() { http_get /v1/report | grep -q "\"onlineCpus\": \"$1\""; }
# What the agent keeps (allocations, qualification history), not what it
# publishes there (the NRT file, rewritten at start).
state_sum() { (cd /var/lib/kvhost-agent && find . -type f ! -name lock ! -name 'noderesourcetopology*' -exec md5sum {} + | sort); }
# timed SECONDS COMMAND...: waits like wait_for and leaves the time taken in $took.
timed() {
  local start=$EPOCHREALTIME
  wait_for "$@"
  local rc=$?
  took=$(( (${EPOCHREALTIME/./} - ${start/./}) / 1000 ))
  return $rc
}

say "BEGIN $LAYOUT on $(uname -r)"

# --- install, as an operator would: apt from the local file, offline ---------
if [ -n "${SYSCTL:-}" ]; then
  echo "$SYSCTL" >/etc/sysctl.d/90-kvhost-e2e.conf
  /lib/systemd/systemd-sysctl  # what the boot does with sysctl.d (procps' sysctl is not here)
fi
check install "apt-get install ./kvhost-agent_*.deb" \
  apt-get install -y -q /e2e/kvhost-agent_*.deb
check enabled "the package enables the unit" test "$(systemctl is-enabled kvhost-agent)" = enabled
started=$SECONDS
if wait_for 30 test "$(show ActiveState)" = active; then
  pass active "active $((SECONDS - started)) s after the install (Type=notify: READY=1)"
else
  fail active "$(show ActiveState)/$(show SubState): $(journalctl -u kvhost-agent --no-pager | tail -5)"
fi
status=$(show StatusText)
if [[ $status =~ ^([a-z0-9]+\.[a-z0-9]+:[0-9]+\ )+pinned:[0-9]+$ ]]; then
  pass status "STATUS=$status"
else
  fail status "STATUS=$status"
fi

# A faster refresh for the hotplug checks, applied by a reload.
sed -i 's/^# refreshInterval: 10s/refreshInterval: 1s/; s/^# nodeName: the hostname/nodeName: e2e-reloaded/' \
  /etc/kvhost-agent/config.yaml
[ -n "${CONFIG_EXTRA:-}" ] && printf '%s\n' "$CONFIG_EXTRA" >>/etc/kvhost-agent/config.yaml
pid=$(show MainPID)
systemctl reload kvhost-agent
check reload "systemctl reload re-reads the config (same process)" wait_for 10 reloaded
[ "$(show MainPID)" = "$pid" ] || fail reload "the reload restarted the process"

# --- what the host is, as the daemon and the one-shot commands see it --------
kvhost-agent inspect -o json | send inspect
wait_for 5 labels_follow
labels_now | send labels
http_get /metrics | send metrics
http_get /v1/report | send report
check healthz "/healthz on loopback" serves /healthz
check readyz "/readyz on loopback" serves /readyz
check labels "the daemon's labels equal the labels command's" labels_follow

# --- the sandbox as shipped ---------------------------------------------------
exposure=$(systemd-analyze security kvhost-agent 2>/dev/null | sed -n 's/.*Overall exposure level for kvhost-agent.service: \([0-9.]*\).*/\1/p')
# One decimal, as systemd prints it: 2.1 -> 21.
check security "systemd-analyze security on the running unit: ${exposure:-none} (at most 2.5)" \
  test "${exposure/./}" -le 25
if nsenter -t "$(show MainPID)" -m touch /etc/kvhost-e2e-forbidden 2>/dev/null; then
  fail forbidden "a write to /etc outside ReadWritePaths succeeded in the unit's namespace"
else
  pass forbidden "a write to /etc in the unit's namespace fails"
fi
check features-writable "the unit writes NFD's features.d" \
  nsenter -t "$(show MainPID)" -m touch /etc/kubernetes/node-feature-discovery/features.d/.e2e
rm -f /etc/kubernetes/node-feature-discovery/features.d/.e2e

# --- hotplug, for real ----------------------------------------------------------
before=$(labels_now)
if [ -n "${HOTPLUG_CPU:-}" ]; then
  echo 0 >"/sys/devices/system/cpu/cpu$HOTPLUG_CPU/online"
  # The labels then are what the one-shot command computes for the host with
  # the CPU gone; whether one changes is the layout's capacity (said as a NOTE).
  if timed 3 rediscovered && online_is "$OFFLINE_LIST" && labels_follow; then
    pass cpu-offline "cpu$HOTPLUG_CPU offline: rediscovered and the labels follow, $took ms after (refresh 1 s)"
    labels_moved && say "NOTE cpu-offline: $(labels_now | diff <(echo "$before") - | grep '^[<>]' | tr '\n' ' ')"
  else
    fail cpu-offline "cpu$HOTPLUG_CPU offline: $(labels_now | diff <(echo "$before") - | head -5)"
  fi
  echo 1 >"/sys/devices/system/cpu/cpu$HOTPLUG_CPU/online"
  if timed 3 labels_follow && [ "$(labels_now)" = "$before" ]; then
    pass cpu-online "cpu$HOTPLUG_CPU back online: the labels as before within $took ms"
  else
    fail cpu-online "cpu$HOTPLUG_CPU back online: $(labels_now | diff <(echo "$before") - | head -5)"
  fi
fi
# A vCPU added through QEMU's monitor (device_add, by the host on request).
vcpu_rediscovered() { journalctl -u kvhost-agent --no-pager | grep -q "online CPUs $VCPU_ONLINE (were "; }
if [ -n "${VCPU_ADD:-}" ]; then
  cpu=/sys/devices/system/cpu/cpu$VCPU_ID
  say "REQUEST vcpu-add $VCPU_ADD"
  if wait_for 30 test -e "$cpu/online"; then
    [ "$(cat "$cpu/online")" = 1 ] || echo 1 >"$cpu/online"
    if timed 3 vcpu_rediscovered && online_is "$VCPU_ONLINE" && labels_follow; then
      pass vcpu-add "cpu$VCPU_ID added by device_add and onlined: rediscovered, online $VCPU_ONLINE, labels follow, $took ms after"
    else
      fail vcpu-add "cpu$VCPU_ID added: online $(cat /sys/devices/system/cpu/online); $(journalctl -u kvhost-agent --no-pager -o cat | tail -3)"
    fi
    before=$(labels_now)
  else
    fail vcpu-add "no cpu$VCPU_ID 30 s after the request"
  fi
fi

# The node whose 2Mi pool is the largest free block: halving it moves the label.
pool=/sys/devices/system/node/node${POOL_NODE:-0}/hugepages/hugepages-2048kB/nr_hugepages
if [ -e "$pool" ]; then
  was=$(cat "$pool")
  echo $((was / 2)) >"$pool"
  if timed 2 labels_moved && labels_follow; then
    pass pool-resize "node${POOL_NODE:-0}'s 2Mi pool $was -> $(cat "$pool"): labels followed in $took ms (refresh 1 s)"
  else
    fail pool-resize "node${POOL_NODE:-0}'s 2Mi pool $was -> $(cat "$pool"): $(labels_now | diff <(echo "$before") - | head -5)"
  fi
  echo "$was" >"$pool"
fi

# --- realtime -------------------------------------------------------------------
daemon_qualified() { journalctl -u kvhost-agent --no-pager -o cat | grep -qi 'qualification \(pass\|warn\|fail\|error\)'; }
if [ -n "${QUALIFY:-}" ]; then
  # The daemon's scheduled run (qualifyInterval, due at once with no history).
  if timed 60 daemon_qualified; then
    line=$(journalctl -u kvhost-agent --no-pager -o cat | grep -i 'qualification \(started\|pass\|warn\|fail\|error\)' | tr '\n' ';')
    # Under TCG the latencies fail its threshold; an oslat that did not run is an error.
    if [[ $line == *"qualification ERROR"* ]]; then fail daemon-qualify "$line"; else pass daemon-qualify "$line"; fi
  else
    fail daemon-qualify "no scheduled qualification ended within 60 s"
  fi
  kvhost-agent qualify --cpus auto --duration 5s -o json >/tmp/qualify-strict.json
  echo "exit=$?" >>/tmp/qualify-strict.json
  send qualify-strict </tmp/qualify-strict.json
  kvhost-agent qualify --cpus auto --duration 5s --threshold-us 1000000 -o json >/tmp/qualify-loose.json
  echo "exit=$?" >>/tmp/qualify-loose.json
  send qualify-loose </tmp/qualify-loose.json
  kvhost-agent qualify --history -o json | send qualify-history
  wait_for 5 labels_follow
  labels_now | send labels-after-qualify
fi

# --- restart, stop, upgrade, remove, purge --------------------------------------
kept=$(state_sum)
systemctl restart kvhost-agent
if [ "$(show ActiveState)" = active ] && [ "$(state_sum)" = "$kept" ]; then
  pass restart "systemctl restart keeps the state directory ($(echo "$kept" | grep -c .) files)"
else
  fail restart "$(show ActiveState); state before: $kept; after: $(state_sum)"
fi
was_active=$(show ActiveState)
systemctl kill -s TERM kvhost-agent
wait_for 10 test "$(show ActiveState)" != active
# ExecMainCode 1 is CLD_EXITED: it exited, and was not killed.
check sigterm "SIGTERM to the $was_active service: exit status $(show ExecMainStatus) (code $(show ExecMainCode))" \
  test "$was_active/$(show ExecMainCode)/$(show ExecMainStatus)" = active/1/0
systemctl start kvhost-agent
pid=$(show MainPID)
apt-get install -y -q /e2e/upgrade/kvhost-agent_*.deb >/dev/null
if [ "$(show MainPID)" != "$pid" ] && [ "$(show ActiveState)" = active ]; then
  pass upgrade "$(dpkg-query -W -f '${Version}' kvhost-agent) over the first: restarted (pid $pid -> $(show MainPID))"
else
  fail upgrade "pid $pid -> $(show MainPID), $(show ActiveState)"
fi
apt-get remove -y -q kvhost-agent >/dev/null
if ! systemctl is-active -q kvhost-agent && [ -f /etc/kvhost-agent/config.yaml ]; then
  pass remove "apt-get remove stops the service and keeps the conffile"
else
  fail remove "$(show ActiveState); config.yaml $(ls /etc/kvhost-agent 2>&1)"
fi
apt-get purge -y -q kvhost-agent >/dev/null
if [ ! -e /etc/kvhost-agent/config.yaml ] && [ ! -e /var/lib/kvhost-agent ] && [ ! -e "$features" ]; then
  pass purge "apt-get purge removes the conffile, the state and the labels"
else
  fail purge "left: $(ls -d /etc/kvhost-agent/config.yaml /var/lib/kvhost-agent "$features" 2>/dev/null)"
fi

journalctl -u kvhost-agent --no-pager -o cat | send journal
say "END $LAYOUT"
systemctl poweroff

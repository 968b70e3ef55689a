#!/usr/bin/env bash
# kvhost-agent.8 from the binary's own help, so the man page cannot drift from
# the CLI: every command's --help, verbatim, under COMMANDS.
#   manpage.sh BINARY VERSION > kvhost-agent.8
set -euo pipefail
bin=$1 version=$2
# roff: a leading dot or quote starts a request, a backslash an escape.
roff_text() { sed -e 's/\\/\\e/g' -e 's/^\([.'"'"']\)/\\\&\1/'; }

cat <<ROFF
.TH KVHOST-AGENT 8 "" "kvhost-agent $version" "System Administration"
.SH NAME
kvhost-agent \- KubeVirt hypervisor host agent: capacity, VM pinning and node labels
.SH SYNOPSIS
.B kvhost-agent
[\fB\-\-log\-level\fR \fILEVEL\fR] \fICOMMAND\fR [\fIOPTIONS\fR]
.SH DESCRIPTION
.B kvhost-agent
reads the host (NUMA nodes, cores, SMT, caches, hugepage pools, CPU isolation,
realtime readiness), computes how many more VMs of each instance type fit as
the placement owner (kubelet's static CPU, topology and memory managers, or the
agent's own allocator) would place them, pins VMs through libvirt, qualifies
realtime CPUs with oslat and publishes node-feature-discovery labels, a
NodeResourceTopology file, Prometheus metrics and a read-only HTTP API.
.PP
.B kvhost-agent run
is the daemon (the kvhost-agent.service unit); every other command answers once.
Logs go to standard error, answers (text or JSON) to standard output.
.SH COMMANDS
ROFF
"$bin" --help | sed -n '/^Subcommands:/,$p' | tail -n +2 | awk 'NF {print $1}' |
  while read -r command; do
    printf '.SS %s\n.nf\n' "$command"
    "$bin" "$command" --help | sed "s|$bin|kvhost-agent|g" | roff_text
    printf '.fi\n'
  done
cat <<'ROFF'
.SH FILES
.TP
.I /etc/kvhost-agent/config.yaml
The agent's configuration (every key in /usr/share/doc/kvhost-agent/CONFIG.md).
.TP
.I /var/lib/kvhost-agent/state.pb
The allocations of the VMs the agent pinned (agent mode), written atomically.
.TP
.I /etc/kubernetes/node-feature-discovery/features.d/kvhost-agent
The node labels, read by node-feature-discovery's nfd-worker.
.TP
.I /run/kvhost-agent/control.sock
The daemon's control socket: pin, unpin and reconcile go through it while it runs.
.SH EXIT STATUS
0 done; 1 error (the message names the file and what is wrong); 2 usage error;
3 reconcile left domains as they are; 4 audit found violations; 5 pin, unpin or
reconcile found the state file corrupt and rebuilt it from libvirt.
.B qualify
exits 0 pass, 3 warn, 4 fail, 5 error (oslat failed or cannot be trusted),
6 cancelled, 1 nothing run.
.SH SEE ALSO
.BR systemctl (1),
.BR oslat (8),
/usr/share/doc/kvhost-agent/README.md
ROFF

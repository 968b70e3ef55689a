# shellcheck shell=bash
# The guard of the real-libvirtd tests, sourced by libvirtd.sh (and by its tests,
# tests/harness/foreign_domains_test.sh). The tests run the agent's `pin --watch`,
# `pin`, `unpin` and `reconcile` on qemu:///system. Their config scopes the agent to
# their own domains (`domains: kvhost-it-*`), but one wrong line in a test, or a
# binary that ignores the key, would re-pin every VM of a hypervisor. So they run
# only where libvirt holds, and would load, no domain but theirs, and refuse (skip,
# exit 77) anywhere else, naming the domains. Refusing is the point: there is no
# override.
#
# Needs DOMAIN_PREFIX (the tests' domains are named $DOMAIN_PREFIX*) and a function
# `skip REASON` that exits 77.

# not_the_tests NAME...: the names that are not the tests' own, one a line.
not_the_tests() {
  local name
  for name in "$@"; do
    [ -z "$name" ] || [[ $name == "$DOMAIN_PREFIX"* ]] || echo "$name"
  done
}

# listed_foreign_domains URI: every domain URI has, running or not, that the tests
# did not define. Fails when the listing fails: no answer is no proof of no domain.
listed_foreign_domains() {
  local listing names
  listing=$(timeout 30 virsh -c "$1" list --all --name) || return 1
  mapfile -t names <<<"$listing" # one name a line; a name may hold spaces
  not_the_tests "${names[@]}"
}

# domain_name_in FILE: the <name> of the domain a libvirt XML file defines (a
# persistent definition, or the status file of a running domain, whose <domain> is
# inside <domstatus>); the file's name when none is found: libvirt names each file
# after its domain.
domain_name_in() {
  local name
  name=$(sed -n '/<domain[ >]/,$ { s:.*<name>\([^<]*\)</name>.*:\1:p }' "$1" 2>/dev/null | head -n1)
  [ -n "$name" ] || name=$(basename "$1" .xml)
  echo "$name"
}

# configured_foreign_domains DIR...: one line per domain a libvirtd started now would
# load from DIR (*.xml: /etc/libvirt/qemu holds the persistent definitions, whose
# links in autostart/ it would also start; /run/libvirt/qemu the running domains it
# would reconnect to) that the tests did not define: "NAME (FILE[, autostart])".
configured_foreign_domains() {
  local dir file name note
  for dir in "$@"; do
    for file in "$dir"/*.xml; do
      [ -f "$file" ] || continue
      name=$(domain_name_in "$file")
      [ -n "$(not_the_tests "$name")" ] || continue
      note=""
      [ -e "$dir/autostart/$(basename "$file")" ] && note=", autostart: starting libvirtd starts it"
      echo "$name ($file$note)"
    done
  done
}

# How to run the tests anyway, the same words for every refusal.
readonly FOREIGN_DOMAINS_HOW="The tests pin, re-pin and reconcile domains there, and would re-pin \
these if a test went wrong; they run only where libvirt has no domain but theirs \
($DOMAIN_PREFIX*). Run them on a machine or VM without other domains (a CI runner, a \
throwaway VM); there is no override"

# refuse_foreign_domains WHERE LINES: skip when LINES (one domain a line) is not empty.
refuse_foreign_domains() {
  [ -n "$2" ] || return 0
  skip "$1 domains these tests did not define: ${2//$'\n'/; }. $FOREIGN_DOMAINS_HOW."
}

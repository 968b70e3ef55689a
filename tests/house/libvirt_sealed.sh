#!/bin/bash
# House rule: libvirt is reached only through agent/libvirt/. No libvirt
# header, VIR_* constant or vir* C API name appears in a C++ source outside
# that folder; code elsewhere speaks agent/libvirt/domain_types.h.
#
# Excluded: agent/libvirt/ itself, bench/pinning_window.* and bench/footprint.cpp
# (they create and start domains to time the agent, as the real-libvirt tests do), and tests/, whose real-libvirt tests and
# test:/// fixtures legitimately drive libvirt directly (define, start and
# destroy domains, read pinning with VIR_DOMAIN_AFFECT_LIVE) to check the agent
# from the outside. Build trees are skipped.
#
# Usage: libvirt_sealed.sh SOURCE_DIR. Prints each offending line, exits 1 if any.
set -u
root=${1:?usage: $0 SOURCE_DIR}
cd "$root" || exit 2
found=$(find . \( -path ./.git -o -path './build*' -o -path ./tests -o -path "./bench/pinning_window.*" -o -path ./bench/footprint.cpp -o -path ./agent/libvirt \) -prune \
          -o -type f \( -name '*.cpp' -o -name '*.cc' -o -name '*.h' -o -name '*.hpp' \) -print0 |
        xargs -0 -r grep -nE '#[[:space:]]*include[[:space:]]*[<"]libvirt/|\bVIR_[A-Z0-9_]+|\bvir[A-Z][A-Za-z]*\b')
if [ -n "$found" ]; then
  echo "libvirt outside agent/libvirt/ (use agent/libvirt/domain_types.h or a function of the edge):"
  echo "$found"
  exit 1
fi
echo "libvirt is sealed in agent/libvirt/"

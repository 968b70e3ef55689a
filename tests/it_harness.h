// The `libvirtd` ctest fixture (tests/harness/libvirtd.sh) as the tests that
// need it see it.
#pragma once

#include <fstream>
#include <optional>
#include <sstream>
#include <string>

#ifndef KVHOST_LIBVIRTD_DIR
#error "KVHOST_LIBVIRTD_DIR: the fixture's directory (tests/CMakeLists.txt sets it)"
#endif

namespace kvhost::testing {

// Why the fixture's start skipped, or nullopt when it did not. ctest runs the
// tests of a skipped fixture all the same, and they must skip too, for its
// reason: not root, or a libvirt that has (or would load) domains the tests did
// not define, which they must never touch; then no libvirtd may even run.
inline std::optional<std::string> HarnessSkipReason() {
  std::ifstream note(std::string(KVHOST_LIBVIRTD_DIR) + "/skipped");
  if (!note) return std::nullopt;
  std::ostringstream text;
  text << note.rdbuf();
  return "the libvirtd fixture skipped: " + text.str();
}

}  // namespace kvhost::testing

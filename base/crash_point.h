// Fault injection for crash-safety tests: when KVHOST_CRASH_AT names this
// point, the process kills itself with SIGKILL right here, as `kill -9` would.
// Unset (always, in production) it costs one cached getenv.
#pragma once

#include <csignal>
#include <cstdlib>
#include <cstring>

namespace kvhost {

inline void CrashPoint(const char* name) {
  static const char* const armed = std::getenv("KVHOST_CRASH_AT");
  if (armed && std::strcmp(armed, name) == 0) std::raise(SIGKILL);
}

}  // namespace kvhost

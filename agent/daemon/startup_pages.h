// Gives back the memory only start-up used. Measured on the fixture daemon
// (README "The daemon"): of 26 MiB resident after the first publish, under
// 3 MiB was anonymous (heap, relocated data); the rest was shared-library code
// and read-only data that start-up ran once: the library constructors of
// libvirt's dependencies (GnuTLS, p11-kit, OpenSSL, Kerberos), hwloc's
// discovery, the config and catalog parsers. The idle loop never runs them
// again, but they stay mapped and count in RSS until the kernel needs the
// memory.
#pragma once

#include <cstdint>

namespace kvhost {

struct ReleasedPages {
  uint64_t file_kib = 0;  // resident file pages no longer mapped
  unsigned mappings = 0;
};

// Unmaps (MADV_DONTNEED) the resident pages of the process's read-only,
// private file mappings that hold no private copy (smaps Anonymous: 0), then
// returns free heap to the kernel (malloc_trim). The pages stay in the page
// cache: a later use maps them again from the same file, as after the kernel
// reclaimed them, so nothing the process sees changes. Best effort: a mapping
// the kernel refuses is left alone.
ReleasedPages ReleaseStartupPages();

}  // namespace kvhost

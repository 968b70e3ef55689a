// What one oslat run measured, parsed from its --json=FILE output (rt-tests
// 2.x) or, when that file is missing, from the summary it prints. Pure: text
// in, values out; the runner names the file in any error.
#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace kvhost::qualify {

struct OslatThread {
  unsigned cpu = 0;
  double min_us = 0;
  double avg_us = 0;
  double max_us = 0;
};

struct OslatOutput {
  std::vector<OslatThread> threads;
  int return_code = 0;
  bool realtime_kernel = false;
  std::string version;
  std::string cmdline;
  std::string source;  // "json" or "text"
};

// Throws FormatError saying what is wrong: not JSON, a key missing or of the
// wrong type, num_threads disagreeing with the threads present.
OslatOutput ParseOslatJson(std::string_view text);

// The summary oslat prints at the end ("Core:", "Minimum:", "Average:",
// "Maximum:" rows, one column per CPU). Throws FormatError when the run did
// not complete ("Test completed." absent) or the rows disagree.
OslatOutput ParseOslatText(std::string_view text);

}  // namespace kvhost::qualify

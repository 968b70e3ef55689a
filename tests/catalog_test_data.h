// Where the catalog and config tests find tests/data: ctest sets
// KVHOST_SOURCE_DIR (see kvhost_test in tests/CMakeLists.txt).
#pragma once

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <stdexcept>
#include <string>

namespace kvhost::testing {

inline std::filesystem::path TestDataFile(const std::string& name) {
  const char* source_dir = std::getenv("KVHOST_SOURCE_DIR");
  if (source_dir == nullptr || *source_dir == '\0')
    throw std::runtime_error("KVHOST_SOURCE_DIR is not set: run the tests through ctest");
  return std::filesystem::path(source_dir) / "tests" / "data" / name;
}

inline std::string ReadTestDataFile(const std::string& name) {
  std::ifstream in(TestDataFile(name));
  if (!in) throw std::runtime_error("cannot open " + TestDataFile(name).string());
  std::ostringstream text;
  text << in.rdbuf();
  return text.str();
}

}  // namespace kvhost::testing

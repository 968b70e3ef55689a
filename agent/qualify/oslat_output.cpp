#include "agent/qualify/oslat_output.h"

#include <google/protobuf/struct.pb.h>
#include <google/protobuf/util/json_util.h>

#include <cmath>
#include <map>
#include <sstream>

#include "base/errors.h"

namespace kvhost::qualify {
namespace {

using google::protobuf::Struct;
using google::protobuf::Value;

const Value& Field(const Struct& object, const std::string& key, const std::string& where) {
  const auto it = object.fields().find(key);
  if (it == object.fields().end()) throw FormatError(where + ": key \"" + key + "\" missing");
  return it->second;
}

double Number(const Struct& object, const std::string& key, const std::string& where) {
  const Value& value = Field(object, key, where);
  if (value.kind_case() != Value::kNumberValue || !std::isfinite(value.number_value()))
    throw FormatError(where + ": \"" + key + "\" is not a number");
  return value.number_value();
}

std::string Text(const Struct& object, const std::string& key) {
  const auto it = object.fields().find(key);
  return it != object.fields().end() && it->second.kind_case() == Value::kStringValue
             ? it->second.string_value()
             : std::string();
}

const Struct& Object(const Struct& object, const std::string& key, const std::string& where) {
  const Value& value = Field(object, key, where);
  if (value.kind_case() != Value::kStructValue)
    throw FormatError(where + ": \"" + key + "\" is not an object");
  return value.struct_value();
}

unsigned WholeNumber(double value, const std::string& what) {
  if (value < 0 || value != std::floor(value) || value > 1e6)
    throw FormatError(what + " is not a CPU number: " + std::to_string(value));
  return static_cast<unsigned>(value);
}

OslatThread ThreadOf(const Struct& thread, const std::string& where) {
  OslatThread out;
  out.cpu = WholeNumber(Number(thread, "cpu", where), where + ".cpu");
  out.min_us = Number(thread, "min", where);
  out.avg_us = Number(thread, "avg", where);
  out.max_us = Number(thread, "max", where);
  if (out.min_us < 0 || out.avg_us < out.min_us || out.max_us < out.avg_us)
    throw FormatError(where + ": min/avg/max out of order");
  return out;
}

}  // namespace

OslatOutput ParseOslatJson(std::string_view text) {
  Struct root;
  const auto status = google::protobuf::util::JsonStringToMessage(
      google::protobuf::StringPiece(text.data(), text.size()), &root);
  if (!status.ok()) throw FormatError("not JSON (truncated?): " + status.ToString());
  OslatOutput out;
  out.source = "json";
  const double code = Number(root, "return_code", "top level");
  out.return_code = static_cast<int>(code);
  // oslat writes these two keys with a trailing colon (rt-tests 2.x).
  out.version = Text(root, "rt_test_version:");
  out.cmdline = Text(root, "cmdline:");
  out.realtime_kernel = Number(Object(root, "sysinfo", "top level"), "realtime", "sysinfo") != 0;
  const Struct& threads = Object(root, "thread", "top level");
  const double declared = Number(root, "num_threads", "top level");
  if (declared != static_cast<double>(threads.fields().size()))
    throw FormatError("num_threads is " + std::to_string(static_cast<long>(declared)) + " but " +
                      std::to_string(threads.fields().size()) + " threads are present");
  // Keys are "0", "1"...: order the threads by that index, not by map order.
  std::map<unsigned, OslatThread> ordered;
  for (const auto& [key, value] : threads.fields()) {
    const std::string where = "thread." + key;
    if (value.kind_case() != Value::kStructValue) throw FormatError(where + " is not an object");
    unsigned index = 0;
    try {
      index = WholeNumber(std::stod(key), where);
    } catch (const std::invalid_argument&) {
      throw FormatError(where + ": thread key is not a number");
    }
    ordered[index] = ThreadOf(value.struct_value(), where);
  }
  for (auto& [index, thread] : ordered) out.threads.push_back(thread);
  return out;
}

namespace {

// "    Maximum:\t 49892 51000 (us)" -> {49892, 51000}
std::vector<double> RowValues(const std::string& line) {
  std::istringstream in(line.substr(line.find(':') + 1));
  std::vector<double> values;
  std::string word;
  while (in >> word && word[0] != '(') {
    try {
      size_t used = 0;
      values.push_back(std::stod(word, &used));
      if (used != word.size()) throw FormatError("not a number: " + line);
    } catch (const std::logic_error&) {
      throw FormatError("not a number: " + line);
    }
  }
  return values;
}

}  // namespace

OslatOutput ParseOslatText(std::string_view text) {
  std::map<std::string, std::vector<double>> rows;
  bool completed = false;
  std::istringstream in{std::string(text)};
  for (std::string line; std::getline(in, line);) {
    if (line.find("Test completed.") != std::string::npos) completed = true;
    const auto colon = line.find(':');
    if (colon == std::string::npos) continue;
    const auto first = line.find_first_not_of(" \t");
    const std::string key = line.substr(first, colon - first);
    if (key == "Core" || key == "Minimum" || key == "Average" || key == "Maximum")
      rows[key] = RowValues(line);
  }
  if (!completed) throw FormatError("no \"Test completed.\" line: the run did not finish");
  for (const char* key : {"Core", "Minimum", "Average", "Maximum"})
    if (!rows.count(key)) throw FormatError(std::string("summary row \"") + key + ":\" missing");
  const size_t n = rows["Core"].size();
  if (n == 0) throw FormatError("summary names no CPU");
  for (const char* key : {"Minimum", "Average", "Maximum"})
    if (rows[key].size() != n)
      throw FormatError(std::string("summary row \"") + key + ":\" has " +
                        std::to_string(rows[key].size()) + " values for " + std::to_string(n) +
                        " CPUs");
  OslatOutput out;
  out.source = "text";
  for (size_t i = 0; i < n; ++i)
    out.threads.push_back({WholeNumber(rows["Core"][i], "Core"), rows["Minimum"][i],
                           rows["Average"][i], rows["Maximum"][i]});
  return out;
}

}  // namespace kvhost::qualify

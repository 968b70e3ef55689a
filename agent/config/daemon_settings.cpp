#include "agent/config/daemon_settings.h"

#include <charconv>
#include <cmath>

namespace kvhost {
namespace {

// Faster than this, the refresh would cost more than it tells; slower, labels
// of a changed host stay wrong for longer than NFD's own rescan.
constexpr std::chrono::milliseconds kMinRefresh{100};
constexpr std::chrono::milliseconds kMaxRefresh{std::chrono::minutes(10)};

std::string AbsolutePathOrEmpty(const YamlFieldReader& yaml, const YAML::Node& value,
                                const std::string& key) {
  std::string path = yaml.Text(value, key);
  if (!path.empty() && path.front() != '/')
    yaml.Fail(value, key + " must be an absolute path (or \"\" for off), got '" + path + "'");
  return path;
}

void ReadApiListen(const YamlFieldReader& yaml, const YAML::Node& value, DaemonSettings& out) {
  const std::string text = yaml.Text(value, "apiListen");
  if (text.empty() || text == "off") {
    out.api_address.clear();
    return;
  }
  const auto colon = text.rfind(':');
  unsigned port = 0;
  const char* port_begin = text.data() + colon + 1;
  const char* port_end = text.data() + text.size();
  if (colon == std::string::npos || colon == 0 ||
      std::from_chars(port_begin, port_end, port).ptr != port_end || port == 0 || port > 65535)
    yaml.Fail(value, "apiListen must be ADDRESS:PORT (port 1-65535) or off, got '" + text + "'");
  std::string address = text.substr(0, colon);
  if (address.size() > 2 && address.front() == '[' && address.back() == ']')
    address = address.substr(1, address.size() - 2);
  if (address != "127.0.0.1" && address != "::1" && address != "localhost")
    yaml.Fail(value,
              "apiListen must be a loopback address (127.0.0.1 or [::1]): the API is "
              "unauthenticated, got '" +
                  text + "'");
  out.api_address = address == "localhost" ? "127.0.0.1" : address;
  out.api_port = static_cast<unsigned short>(port);
}

}  // namespace

std::optional<std::chrono::milliseconds> ParseDuration(std::string_view text) {
  double number = 0;
  const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), number);
  if (ec != std::errc() || !std::isfinite(number) || number < 0) return std::nullopt;
  const std::string_view unit(end, static_cast<size_t>(text.data() + text.size() - end));
  double ms = 0;
  if (unit.empty() || unit == "s")
    ms = number * 1000;
  else if (unit == "ms")
    ms = number;
  else if (unit == "m")
    ms = number * 60000;
  else if (unit == "h")
    ms = number * 3600000;
  else
    return std::nullopt;
  if (ms > 1e12) return std::nullopt;
  return std::chrono::milliseconds(static_cast<long long>(std::llround(ms)));
}

void ReadDaemonSetting(const YamlFieldReader& yaml, const std::string& key, const YAML::Node& value,
                       DaemonSettings& settings) {
  if (key == "refreshInterval") {
    const std::string text = yaml.Text(value, key);
    const auto interval = ParseDuration(text);
    if (!interval || *interval < kMinRefresh || *interval > kMaxRefresh)
      yaml.Fail(value,
                "refreshInterval must be a duration from 100ms to 10m (\"10s\", "
                "\"500ms\", \"1m\"), got '" +
                    text + "'");
    settings.refresh_interval = *interval;
  } else if (key == "featureFile") {
    settings.feature_file = AbsolutePathOrEmpty(yaml, value, key);
    const auto slash = settings.feature_file.rfind('/');
    if (!settings.feature_file.empty() && settings.feature_file[slash + 1] == '.')
      yaml.Fail(value, "featureFile: NFD ignores files whose name starts with '.'");
  } else if (key == "nrtFile") {
    settings.nrt_file = AbsolutePathOrEmpty(yaml, value, key);
  } else if (key == "apiListen") {
    ReadApiListen(yaml, value, settings);
  } else if (key == "controlSocket") {
    settings.control_socket = AbsolutePathOrEmpty(yaml, value, key);
  } else if (key == "nodeName") {
    settings.node_name = yaml.Text(value, key);
  }
}

}  // namespace kvhost

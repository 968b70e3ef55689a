// The daemon's keys of the config (refreshInterval, featureFile, nrtFile,
// apiListen, controlSocket, nodeName): parsed here so the loader stays a list.
#pragma once

#include <array>
#include <chrono>
#include <optional>
#include <string>
#include <string_view>

#include "agent/config/agent_config.h"
#include "agent/yaml/yaml_input.h"

namespace kvhost {

inline constexpr std::array<std::string_view, 6> kDaemonKeys = {
    "refreshInterval", "featureFile", "nrtFile", "apiListen", "controlSocket", "nodeName"};

// A Go-style duration ("10s", "500ms", "2m", "6h") or a bare number of seconds;
// nullopt for anything else.
std::optional<std::chrono::milliseconds> ParseDuration(std::string_view text);

// Reads one of kDaemonKeys into `settings`; fails through `yaml` naming the line.
void ReadDaemonSetting(const YamlFieldReader& yaml, const std::string& key, const YAML::Node& value,
                       DaemonSettings& settings);

}  // namespace kvhost

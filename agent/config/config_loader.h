// Loads /etc/kvhost-agent/config.yaml into AgentConfig. Every key, its default
// and why are documented in agent/config/CONFIG.md.
#pragma once

#include <filesystem>
#include <string>
#include <string_view>

#include "agent/config/agent_config.h"
#include "agent/yaml/yaml_error.h"

namespace kvhost {

inline constexpr std::string_view kDefaultConfigPath = "/etc/kvhost-agent/config.yaml";

// What a bad config throws: "<file>:<line>: <reason>".
using ConfigError = YamlInputError;

// Reads the config from YAML text. Keys are camelCase (reservedCpus,
// reservedMemoryPerNode, reservedMemoryByNode, dedicatedCpus, sharedCpuRatio,
// allowNumaSpan, gpus); a key left out or set to null keeps its default. An
// unknown key is an error: a typo on a production host must not pass silently.
AgentConfig ParseAgentConfigYaml(std::string_view text, std::string source_name);

// A missing file yields the defaults (source "defaults") unless must_exist,
// when it is a ConfigError, as is any file that exists but cannot be read.
AgentConfig LoadAgentConfig(
    const std::filesystem::path& path = std::filesystem::path(kDefaultConfigPath),
    bool must_exist = false);

}  // namespace kvhost

// The daemon's qualification schedule keys of the config (qualifyInterval,
// qualifyDuration, qualifyThresholdUs, qualifyWorkload, qualifyRtprio).
#pragma once

#include <array>
#include <string>
#include <string_view>

#include "agent/config/agent_config.h"
#include "agent/yaml/yaml_input.h"

namespace kvhost {

inline constexpr std::array<std::string_view, 5> kQualifyScheduleKeys = {
    "qualifyInterval", "qualifyDuration", "qualifyThresholdUs", "qualifyWorkload", "qualifyRtprio"};

// Reads one of kQualifyScheduleKeys into `schedule`; fails through `yaml` naming the line.
void ReadQualifyScheduleSetting(const YamlFieldReader& yaml, const std::string& key,
                                const YAML::Node& value, QualifyScheduleSettings& schedule);

// A duration longer than the interval never leaves room for the next run;
// fails naming the config when the two keys disagree.
void CheckQualifySchedule(const YamlFieldReader& yaml, const QualifyScheduleSettings& schedule,
                          unsigned duration_line);

}  // namespace kvhost

#include "agent/config/qualify_schedule_settings.h"

#include <chrono>

#include "agent/config/daemon_settings.h"

namespace kvhost {
namespace {

using std::chrono::duration_cast;
using std::chrono::seconds;

// oslat needs a second to pre-heat; OpenShift's longest advised run is 12 h.
constexpr seconds kMinDuration{1};
constexpr seconds kMaxDuration{std::chrono::hours(12)};
// More often than hourly, the runs would take isolated CPUs from VMs for little news;
// the history keeps 20 runs, so a month between runs still leaves them comparable.
constexpr seconds kMinInterval{std::chrono::hours(1)};
constexpr seconds kMaxInterval{std::chrono::hours(24 * 31)};
// Far above any latency a realtime guest would accept: a larger one is a unit mistake.
constexpr double kMaxThresholdUs = 10000;

seconds WholeSeconds(const YamlFieldReader& yaml, const YAML::Node& value, const std::string& key,
                     seconds min, seconds max, const std::string& range) {
  const std::string text = yaml.Text(value, key);
  const auto parsed = ParseDuration(text);
  if (!parsed || *parsed < min || *parsed > max || *parsed % seconds(1) != parsed->zero())
    yaml.Fail(value, key + " must be a whole number of seconds from " + range +
                         " (\"90s\", \"30m\", \"6h\"), got '" + text + "'");
  return duration_cast<seconds>(*parsed);
}

}  // namespace

void ReadQualifyScheduleSetting(const YamlFieldReader& yaml, const std::string& key,
                                const YAML::Node& value, QualifyScheduleSettings& schedule) {
  if (key == "qualifyInterval") {
    const std::string text = yaml.Text(value, key);
    if (text == "off" || text.empty()) {
      schedule.interval = seconds(0);
      return;
    }
    schedule.interval = WholeSeconds(yaml, value, key, kMinInterval, kMaxInterval, "1h to 744h");
  } else if (key == "qualifyDuration") {
    schedule.duration = WholeSeconds(yaml, value, key, kMinDuration, kMaxDuration, "1s to 12h");
  } else if (key == "qualifyThresholdUs") {
    schedule.threshold_us = yaml.Number(value, key);
    if (!(schedule.threshold_us > 0) || schedule.threshold_us > kMaxThresholdUs)
      yaml.Fail(value,
                "qualifyThresholdUs must be above 0 and at most 10000 µs, got " + value.Scalar());
  } else if (key == "qualifyWorkload") {
    schedule.workload = yaml.Text(value, key);
    if (schedule.workload != "no" && schedule.workload != "memmove")
      yaml.Fail(value, "qualifyWorkload must be no or memmove (oslat --workload), got '" +
                           schedule.workload + "'");
  } else if (key == "qualifyRtprio") {
    // SCHED_FIFO priorities are 1 to 99; oslat refuses 0 with --rtprio.
    schedule.rtprio = static_cast<unsigned>(yaml.Unsigned(value, key, 99));
    if (schedule.rtprio == 0) yaml.Fail(value, "qualifyRtprio must be from 1 to 99, got 0");
  }
}

void CheckQualifySchedule(const YamlFieldReader& yaml, const QualifyScheduleSettings& schedule,
                          unsigned duration_line) {
  if (schedule.interval.count() == 0 || schedule.duration < schedule.interval) return;
  yaml.Fail(duration_line, "qualifyDuration " + std::to_string(schedule.duration.count()) +
                               "s must be shorter than qualifyInterval " +
                               std::to_string(schedule.interval.count()) + "s");
}

}  // namespace kvhost

// The daemon's keys of config.yaml: defaults, good values, and bad ones named
// by file and line with the reason.
#include <gtest/gtest.h>

#include "agent/config/config_loader.h"
#include "agent/config/daemon_settings.h"

namespace kvhost {
namespace {

using namespace std::chrono_literals;

std::string ErrorOf(const std::string& yaml) {
  try {
    ParseAgentConfigYaml(yaml, "config.yaml");
  } catch (const ConfigError& e) {
    return e.what();
  }
  return "no error";
}

TEST(DaemonConfig, DefaultsAreTheDocumentedOnes) {
  const DaemonSettings d = ParseAgentConfigYaml("", "config.yaml").daemon;
  EXPECT_EQ(d.refresh_interval, 10s);
  EXPECT_EQ(d.feature_file, "/etc/kubernetes/node-feature-discovery/features.d/kvhost-agent");
  EXPECT_EQ(d.nrt_file, "/var/lib/kvhost-agent/noderesourcetopology.yaml");
  EXPECT_EQ(d.api_address, "127.0.0.1");
  EXPECT_EQ(d.api_port, 9478);
  EXPECT_EQ(d.control_socket, "/run/kvhost-agent/control.sock");
  EXPECT_EQ(d.node_name, "");
}

TEST(DaemonConfig, EveryKeyIsRead) {
  const DaemonSettings d = ParseAgentConfigYaml(
                               "refreshInterval: 500ms\n"
                               "featureFile: /tmp/f/kvhost\n"
                               "nrtFile: \"\"\n"
                               "apiListen: \"[::1]:9999\"\n"
                               "controlSocket: /run/x.sock\n"
                               "nodeName: worker-1\n",
                               "config.yaml")
                               .daemon;
  EXPECT_EQ(d.refresh_interval, 500ms);
  EXPECT_EQ(d.feature_file, "/tmp/f/kvhost");
  EXPECT_EQ(d.nrt_file, "") << "empty: not written";
  EXPECT_EQ(d.api_address, "::1");
  EXPECT_EQ(d.api_port, 9999);
  EXPECT_EQ(d.control_socket, "/run/x.sock");
  EXPECT_EQ(d.node_name, "worker-1");
  EXPECT_EQ(ParseAgentConfigYaml("apiListen: \"off\"\n", "c").daemon.api_address, "")
      << "off: no API";
}

TEST(DaemonConfig, DurationsReadAsGoWritesThem) {
  EXPECT_EQ(ParseDuration("10s"), 10s);
  EXPECT_EQ(ParseDuration("1.5s"), 1500ms);
  EXPECT_EQ(ParseDuration("2m"), 120s);
  EXPECT_EQ(ParseDuration("30"), 30s);
  EXPECT_EQ(ParseDuration("10h"), 10h);
  EXPECT_EQ(ParseDuration("10d"), std::nullopt);
  EXPECT_EQ(ParseDuration("-1s"), std::nullopt);
  EXPECT_EQ(ParseDuration("soon"), std::nullopt);
}

TEST(DaemonConfig, BadValuesNameTheLineAndTheRule) {
  EXPECT_EQ(ErrorOf("\nrefreshInterval: 10ms\n"),
            "config.yaml:2: refreshInterval must be a duration from 100ms to 10m (\"10s\", "
            "\"500ms\", \"1m\"), got '10ms'");
  EXPECT_NE(ErrorOf("featureFile: relative/path\n").find("absolute path"), std::string::npos);
  EXPECT_NE(ErrorOf("featureFile: /etc/nfd/.hidden\n").find("starts with '.'"), std::string::npos);
  EXPECT_NE(ErrorOf("apiListen: 0.0.0.0:9478\n").find("loopback"), std::string::npos);
  EXPECT_NE(ErrorOf("apiListen: 127.0.0.1:99999\n").find("ADDRESS:PORT"), std::string::npos);
  EXPECT_NE(ErrorOf("apiListen: 127.0.0.1\n").find("ADDRESS:PORT"), std::string::npos);
  EXPECT_NE(ErrorOf("refreshIntervall: 10s\n").find("did you mean 'refreshInterval'"),
            std::string::npos);
}

TEST(DaemonConfig, QualificationScheduleIsOffByDefaultAndEveryKeyIsRead) {
  const QualifyScheduleSettings off = ParseAgentConfigYaml("", "config.yaml").qualify_schedule;
  EXPECT_EQ(off.interval, 0s) << "no scheduled run unless asked";
  EXPECT_EQ(off.duration, 60s);
  EXPECT_EQ(off.threshold_us, 20);
  EXPECT_EQ(off.workload, "no");
  EXPECT_EQ(off.rtprio, 1u);
  const QualifyScheduleSettings on = ParseAgentConfigYaml(
                                         "qualifyInterval: 6h\n"
                                         "qualifyDuration: 5m\n"
                                         "qualifyThresholdUs: 40\n"
                                         "qualifyWorkload: memmove\n"
                                         "qualifyRtprio: 2\n",
                                         "config.yaml")
                                         .qualify_schedule;
  EXPECT_EQ(on.interval, 6h);
  EXPECT_EQ(on.duration, 5min);
  EXPECT_EQ(on.threshold_us, 40);
  EXPECT_EQ(on.workload, "memmove");
  EXPECT_EQ(on.rtprio, 2u);
  EXPECT_EQ(ParseAgentConfigYaml("qualifyInterval: \"off\"\n", "c").qualify_schedule.interval, 0s);
}

TEST(DaemonConfig, BadQualificationScheduleNamesTheLineAndTheRule) {
  EXPECT_EQ(ErrorOf("\nqualifyInterval: 5m\n"),
            "config.yaml:2: qualifyInterval must be a whole number of seconds from 1h to 744h "
            "(\"90s\", \"30m\", \"6h\"), got '5m'");
  EXPECT_NE(ErrorOf("qualifyDuration: 1.5s\n").find("whole number of seconds from 1s to 12h"),
            std::string::npos);
  EXPECT_NE(ErrorOf("qualifyDuration: 13h\n").find("1s to 12h"), std::string::npos);
  EXPECT_EQ(ErrorOf("qualifyInterval: 1h\nqualifyDuration: 2h\n"),
            "config.yaml:2: qualifyDuration 7200s must be shorter than qualifyInterval 3600s");
  EXPECT_NE(ErrorOf("qualifyThresholdUs: 0\n").find("above 0 and at most 10000"),
            std::string::npos);
  EXPECT_NE(ErrorOf("qualifyThresholdUs: 20000\n").find("above 0 and at most 10000"),
            std::string::npos);
  EXPECT_NE(ErrorOf("qualifyWorkload: memcpy\n").find("must be no or memmove"), std::string::npos);
  EXPECT_NE(ErrorOf("qualifyRtprio: 0\n").find("from 1 to 99"), std::string::npos);
  EXPECT_NE(ErrorOf("qualifyRtprio: 100\n"), "no error");
  EXPECT_NE(ErrorOf("qualifyIntervall: 6h\n").find("did you mean 'qualifyInterval'"),
            std::string::npos);
}

}  // namespace
}  // namespace kvhost

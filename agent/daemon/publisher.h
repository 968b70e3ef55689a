// The daemon's outputs for one NodeReport: the NFD features.d file, the
// NodeResourceTopology file (each rewritten only when it changes) and the
// HTTP API's documents. Settings come from the config; a SIGHUP that changes
// them builds a new Publisher beside the running one (agent/daemon/reload.h).
#pragma once

#include <spdlog/spdlog.h>

#include <boost/asio/io_context.hpp>
#include <chrono>
#include <map>
#include <memory>
#include <optional>
#include <string>

#include "agent/config/agent_config.h"
#include "agent/publish/api_server.h"
#include "agent/publish/feature_file_writer.h"
#include "publish.pb.h"

namespace kvhost {

class Publisher {
 public:
  // Binds the API when the settings ask for it, unless `running` listens where
  // they ask: its listener is then shared, so a reload that keeps the address
  // never stops serving. Throws std::runtime_error naming the setting it
  // cannot apply (a feature file name NFD ignores, an address not loopback or
  // in use); nothing is bound then.
  Publisher(boost::asio::io_context& io, const DaemonSettings& settings,
            const Publisher* running = nullptr);

  // Writes the files whose content changed; logs (and keeps going) when one
  // fails, once per output and reason, and once when it works again. A report whose capacity is
  // unknown withdraws the capacity labels and removes the NRT file: a consumer then sees no figure,
  // never an old one.
  void Publish(const v1::NodeReport& report);

  unsigned short api_port() const { return api_ ? api_->port() : 0; }
  uint64_t files_written() const { return files_written_; }

 private:
  void WriteLabels(const v1::NodeReport& report);
  void WriteNrt(const v1::NodeReport& report);
  void RemoveNrt();
  // An output that fails at every refresh says so once, not every refresh.
  void Failed(const std::string& output, const std::string& why,
              spdlog::level::level_enum level = spdlog::level::err);
  void Worked(const std::string& output);

  std::optional<publish::FeatureFileWriter> features_;
  std::string nrt_path_;
  std::string last_nrt_;
  std::string api_address_;
  unsigned short api_port_ = 0;
  std::shared_ptr<publish::ApiServer> api_;
  uint64_t files_written_ = 0;
  std::map<std::string, std::string> failing_;  // output -> the reason last logged
};

// systemd's one STATUS line: the smallest size of every dedicated series and
// how many VMs the agent holds ("cx1.large:6 rt1.medium:0 pinned:3"), then
// the degraded phrase ("degraded: 1 VM not pinned as allocated, state not
// saved, retrying"), or "capacity unknown: <file>: <why>" when it cannot be known.
std::string StatusLine(const v1::NodeReport& report, size_t pinned);

}  // namespace kvhost

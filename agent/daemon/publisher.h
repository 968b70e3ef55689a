// The daemon's outputs for one NodeReport: the NFD features.d file, the
// NodeResourceTopology file (each rewritten only when it changes) and the
// HTTP API's documents. Settings come from the config; a SIGHUP that changes
// them builds a new Publisher.
#pragma once

#include <boost/asio/io_context.hpp>
#include <chrono>
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
  // Binds the API when the settings ask for it: throws std::invalid_argument
  // (not loopback) or boost::system::system_error (address in use).
  Publisher(boost::asio::io_context& io, const DaemonSettings& settings);

  // Writes the files whose content changed; logs (and keeps going) when one
  // fails. A report whose capacity is unknown withdraws the capacity labels
  // and removes the NRT file: a consumer then sees no figure, never an old one.
  void Publish(const v1::NodeReport& report);

  unsigned short api_port() const { return api_ ? api_->port() : 0; }
  uint64_t files_written() const { return files_written_; }

 private:
  void WriteNrt(const v1::NodeReport& report);
  void RemoveNrt();

  std::optional<publish::FeatureFileWriter> features_;
  std::string nrt_path_;
  std::string last_nrt_;
  std::unique_ptr<publish::ApiServer> api_;
  uint64_t files_written_ = 0;
};

// systemd's one STATUS line: the smallest size of every dedicated series and
// how many VMs the agent holds ("cx1.large:6 rt1.medium:0 pinned:3"), or
// "capacity unknown: <file>: <why>" when it cannot be known.
std::string StatusLine(const v1::NodeReport& report, size_t pinned);

}  // namespace kvhost

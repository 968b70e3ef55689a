#include "agent/daemon/publisher.h"

#include <spdlog/spdlog.h>
#include <sys/stat.h>

#include <set>
#include <stdexcept>

#include "agent/publish/nfd_labels.h"
#include "agent/publish/nrt.h"
#include "agent/publish/proto_yaml.h"
#include "base/atomic_file.h"
#include "base/regular_file.h"

namespace kvhost {
namespace {

// Labels expire this many refresh periods after a write, so a dead agent's
// labels vanish within a minute or so; at least NFD's own 60 s rescan.
constexpr int kExpiryRefreshPeriods = 6;
constexpr std::chrono::seconds kMinExpiryWindow{60};

// Whether the file this publisher wrote is still the one at `path`. Nothing
// reads it back; an lstat per publish notices one taken away or replaced (a
// FIFO, a symlink to /dev/zero), so it is written again and, when something
// else stands there, the error names the file.
bool StillOurs(const std::string& path) {
  struct stat info {};
  if (lstat(path.c_str(), &info) != 0) return false;
  if (S_ISREG(info.st_mode)) return true;
  spdlog::error("NodeResourceTopology: {} is {}, not the file this agent wrote; replacing it", path,
                FileTypeName(info.st_mode));
  return false;
}

}  // namespace

Publisher::Publisher(boost::asio::io_context& io, const DaemonSettings& settings,
                     const Publisher* running)
    : nrt_path_(settings.nrt_file),
      api_address_(settings.api_address),
      api_port_(settings.api_port) {
  if (!settings.feature_file.empty()) {
    const auto window = std::max<publish::Clock::duration>(
        kMinExpiryWindow, settings.refresh_interval * kExpiryRefreshPeriods);
    try {
      features_.emplace(
          publish::FeatureFileOptions{.path = settings.feature_file, .expiry_window = window});
    } catch (const std::exception& e) {
      throw std::runtime_error(std::string("featureFile: ") + e.what());
    }
  }
  if (api_address_.empty()) return;
  if (running && running->api_ && running->api_address_ == api_address_ &&
      running->api_port_ == api_port_) {
    api_ = running->api_;
    return;
  }
  try {
    api_ = std::make_shared<publish::ApiServer>(
        io, publish::ApiOptions{.address = api_address_, .port = api_port_});
  } catch (const std::exception& e) {
    const bool v6 = api_address_.find(':') != std::string::npos;
    throw std::runtime_error("apiListen " + (v6 ? "[" + api_address_ + "]" : api_address_) + ":" +
                             std::to_string(api_port_) + ": " + e.what());
  }
}

void Publisher::Failed(const std::string& output, const std::string& why,
                       spdlog::level::level_enum level) {
  auto [it, first] = failing_.try_emplace(output, why);
  if (!first && it->second == why) {
    spdlog::debug("{}: {}", output, why);
    return;
  }
  it->second = why;
  spdlog::log(level, "{}: {}", output, why);
}

void Publisher::Worked(const std::string& output) {
  if (failing_.erase(output)) spdlog::warn("{}: written again", output);
}

// NFD's nfd-worker makes features.d (its hostPath): without it the labels
// wait, with one warning that says what is missing, not an error per refresh.
void Publisher::WriteLabels(const v1::NodeReport& report) {
  const std::filesystem::path& path = features_->options().path;
  std::error_code ec;
  if (!std::filesystem::is_directory(path.parent_path(), ec)) {
    Failed("labels",
           "NFD's features.d directory " + path.parent_path().string() +
               " does not exist: no labels until it does (node-feature-discovery's nfd-worker "
               "makes it; or set featureFile)",
           spdlog::level::warn);
    return;
  }
  try {
    if (features_->Publish(publish::BuildNodeLabels(report, {}), publish::Clock::now())) {
      ++files_written_;
      spdlog::debug("wrote {}", path.string());
    }
    Worked("labels");
  } catch (const std::exception& e) {
    Failed("labels", e.what());
  }
}

void Publisher::Publish(const v1::NodeReport& report) {
  if (features_) WriteLabels(report);
  if (!nrt_path_.empty()) report.capacity_unknown().empty() ? WriteNrt(report) : RemoveNrt();
  if (api_)
    api_->Publish(
        std::make_shared<const publish::ApiDocuments>(publish::RenderApiDocuments(report)));
}

void Publisher::WriteNrt(const v1::NodeReport& report) {
  try {
    const std::string text = publish::ToYaml(publish::BuildNodeResourceTopology(report));
    if (text == last_nrt_ && StillOurs(nrt_path_)) return;
    const std::filesystem::path path(nrt_path_);
    WriteFileAtomically(path, text, "." + path.filename().string() + ".tmp");
    last_nrt_ = text;
    ++files_written_;
    Worked("NodeResourceTopology");
  } catch (const std::exception& e) {
    Failed("NodeResourceTopology", e.what());
  }
}

void Publisher::RemoveNrt() {
  std::error_code ec;
  if (std::filesystem::remove(nrt_path_, ec))
    spdlog::warn("removed {}: capacity unknown", nrt_path_);
  if (ec) Failed("NodeResourceTopology", "cannot remove " + nrt_path_ + ": " + ec.message());
  last_nrt_.clear();
}

std::string StatusLine(const v1::NodeReport& report, size_t pinned) {
  if (!report.capacity_unknown().empty()) return "capacity unknown: " + report.capacity_unknown();
  std::string line;
  std::set<std::string> series_seen;
  for (const auto& type : report.capacity().instance_types()) {
    if (!type.dedicated() || !series_seen.insert(type.series()).second) continue;
    line += type.name() + ":" + std::to_string(type.count()) + " ";
  }
  line += "pinned:" + std::to_string(pinned);
  // The phrase alone: the details (a temp file's name, CPU lists) may change
  // at every retry, and STATUS goes out whenever its line changes.
  if (!report.degraded().empty())
    line += " degraded: " + report.degraded().substr(0, report.degraded().find(": "));
  return line;
}

}  // namespace kvhost

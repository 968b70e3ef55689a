#include "agent/libvirt/connection_set.h"

#include <glob.h>
#include <libvirt/libvirt.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <filesystem>

namespace kvhost {
namespace {

constexpr std::chrono::milliseconds kMaxBackoff{30000};

class GlobResult {
 public:
  explicit GlobResult(const std::string& pattern) {
    ok_ = ::glob(pattern.c_str(), 0, nullptr, &g_) == 0;
  }
  ~GlobResult() { ::globfree(&g_); }
  GlobResult(const GlobResult&) = delete;
  GlobResult& operator=(const GlobResult&) = delete;
  std::vector<std::string> Paths() const {
    std::vector<std::string> out;
    if (ok_)
      for (size_t i = 0; i < g_.gl_pathc; ++i) out.emplace_back(g_.gl_pathv[i]);
    return out;
  }

 private:
  glob_t g_{};
  bool ok_ = false;
};

}  // namespace

std::string SessionUriForSocket(const std::string& socket_path) {
  return "qemu+unix:///session?socket=" + socket_path;
}

std::string AbsentLibvirtSocket(const std::string& uri) {
  std::error_code ec;
  const auto absent = [&ec](const std::string& path) {
    return !std::filesystem::exists(path, ec) && !ec;
  };
  if (const auto at = uri.find("socket="); at != std::string::npos) {
    const std::string path = uri.substr(at + 7, uri.find('&', at) - at - 7);
    return absent(path) ? path : "";
  }
  if (uri != "qemu:///system" && uri != "qemu+unix:///system") return "";
  const std::string monolithic = "/run/libvirt/libvirt-sock";
  return absent(monolithic) && absent("/run/libvirt/virtqemud-sock") ? monolithic : "";
}

ConnectionSet::ConnectionSet(std::vector<std::string> fixed_uris,
                             std::optional<std::string> socket_glob, Retrying retrying,
                             DomainFilter domains)
    : fixed_(std::move(fixed_uris)),
      retrying_(retrying),
      glob_(std::move(socket_glob)),
      domains_(std::move(domains)) {}

void ConnectionSet::UseDomainFilter(const DomainFilter& domains) {
  domains_ = domains;
  for (auto& [uri, connection] : open_) connection->UseDomainFilter(domains_);
}

std::optional<std::string> ConnectionSet::Unanswered() const {
  for (const auto& uri : fixed_) {
    if (open_.count(uri) || absent_.count(uri)) continue;
    const auto error = last_error_.find(uri);
    return "libvirt " + uri + " does not answer" +
           (error == last_error_.end() ? std::string(" yet") : ": " + error->second);
  }
  return std::nullopt;
}

std::string ConnectionSet::NotOpen() const {
  std::string out;
  for (const auto& [uri, why] : last_error_)
    if (!open_.count(uri)) out += (out.empty() ? "" : "; ") + uri + ": " + why;
  return out;
}

// Said once per URI and reason: a daemon retrying for hours repeats neither.
void ConnectionSet::Failed(const std::string& uri, const std::string& why, Retry& retry,
                           Clock::time_point now) {
  const auto [it, first] = last_error_.try_emplace(uri, why);
  const std::string socket = AbsentLibvirtSocket(uri);
  const bool newly_absent = !socket.empty() && !absent_.count(uri);
  if (socket.empty())
    absent_.erase(uri);
  else
    absent_[uri] = socket;
  if (newly_absent) {
    spdlog::info("no libvirt daemon at {} (no socket {}): nothing runs through it{}", uri, socket,
                 retrying_ == Retrying::kOnce ? "" : "; connecting when one starts");
  } else if (!socket.empty()) {
    spdlog::debug("still no libvirt daemon at {}", uri);
  } else if (retrying_ == Retrying::kOnce) {
    spdlog::warn("cannot connect to {}: {}", uri, why);
  } else if (first || it->second != why) {
    spdlog::warn("cannot connect to {} (retrying, backoff up to {} s): {}", uri,
                 kMaxBackoff.count() / 1000, why);
  } else {
    spdlog::debug("cannot connect to {} (retry in {} ms): {}", uri, retry.delay.count(), why);
  }
  it->second = why;
  retry.next = now + retry.delay;
  retry.delay = std::min(retry.delay * 2, kMaxBackoff);
}

std::vector<std::string> ConnectionSet::WantedUris() const {
  std::vector<std::string> uris = fixed_;
  if (glob_)
    for (const auto& path : GlobResult(*glob_).Paths()) uris.push_back(SessionUriForSocket(path));
  return uris;
}

std::vector<const LibvirtConnection*> ConnectionSet::Open() const {
  std::vector<const LibvirtConnection*> out;
  for (const auto& [uri, c] : open_) out.push_back(c.get());
  return out;
}

ConnectionSet::Changes ConnectionSet::Refresh(
    Clock::time_point now, const std::function<void(const std::string&)>& before_close) {
  Changes changes;
  const std::vector<std::string> wanted = WantedUris();
  for (auto it = open_.begin(); it != open_.end();) {
    const bool still_wanted = std::find(wanted.begin(), wanted.end(), it->first) != wanted.end();
    const bool alive = virConnectIsAlive(it->second->raw()) == 1;
    if (still_wanted && alive) {
      ++it;
      continue;
    }
    spdlog::warn("libvirt connection {} {}", it->first,
                 still_wanted ? "lost; reconnecting" : "gone (pod left)");
    if (still_wanted) last_error_[it->first] = "connection lost";
    if (before_close) before_close(it->first);
    changes.closed.push_back(it->first);
    if (still_wanted) retry_[it->first] = {now, std::chrono::milliseconds(500)};
    it = open_.erase(it);
  }
  for (const auto& uri : wanted) {
    if (open_.count(uri)) continue;
    Retry& retry = retry_[uri];
    if (now < retry.next) continue;
    try {
      auto c = std::make_unique<LibvirtConnection>(LibvirtConnection::Open(uri, domains_));
      // At the default level only a connection that had failed or was lost.
      spdlog::log(last_error_.erase(uri) ? spdlog::level::info : spdlog::level::debug,
                  "libvirt connection {} open", uri);
      absent_.erase(uri);
      changes.opened.push_back(c.get());
      open_[uri] = std::move(c);
      retry_.erase(uri);
    } catch (const std::exception& e) {
      Failed(uri, e.what(), retry, now);
      changes.failed.push_back(uri);
    }
  }
  for (auto it = retry_.begin(); it != retry_.end();)
    it = std::find(wanted.begin(), wanted.end(), it->first) == wanted.end() ? retry_.erase(it)
                                                                            : std::next(it);
  for (auto it = last_error_.begin(); it != last_error_.end();)
    it = std::find(wanted.begin(), wanted.end(), it->first) == wanted.end() ? last_error_.erase(it)
                                                                            : std::next(it);
  for (auto it = absent_.begin(); it != absent_.end();)
    it = std::find(wanted.begin(), wanted.end(), it->first) == wanted.end() ? absent_.erase(it)
                                                                            : std::next(it);
  return changes;
}

}  // namespace kvhost

// Keeps the NFD feature file in step with the labels: rewritten (atomically,
// as `.kvhost-agent.tmp` then rename) only when a label changes or the expiry
// needs a bump.
//
// Expiry: each write sets `expiry-time` one window ahead (default 6 refresh
// periods, 60 s), so the labels of a dead agent vanish at NFD's next rescan
// after that. With unchanged labels the file is rewritten only once less than
// half the window remains: at most one rewrite per half window (30 s), never
// one per refresh. A rewrite with the same labels changes only the local file;
// NFD then finds the same labels and does not touch the Node.
//
// Whatever else stands at the path (a FIFO, a symlink to a device) is never
// read past its type: it is logged as an error and replaced by the new file.
#pragma once

#include <chrono>
#include <filesystem>

#include "agent/publish/feature_file.h"

namespace kvhost::publish {

struct FeatureFileOptions {
  std::filesystem::path path = "/etc/kubernetes/node-feature-discovery/features.d/kvhost-agent";
  Clock::duration expiry_window = std::chrono::seconds(60);
};

class FeatureFileWriter {
 public:
  // Throws std::invalid_argument for a name NFD would ignore (starts with '.').
  explicit FeatureFileWriter(FeatureFileOptions options);

  // True when the file was written. Throws FileWriteError (path and errno
  // text), or std::invalid_argument when the file would exceed NFD's 64 KiB.
  bool Publish(const Labels& labels, Clock::time_point now) const;

  const FeatureFileOptions& options() const { return options_; }

 private:
  bool UpToDate(const Labels& labels, Clock::time_point now) const;

  FeatureFileOptions options_;
};

}  // namespace kvhost::publish

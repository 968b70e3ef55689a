// Node labels from one NodeReport, for NFD's `local` source. Pure: the report in,
// validated labels out (the feature file writer does the I/O).
#pragma once

#include <string>

#include "agent/publish/feature_file.h"
#include "publish.pb.h"

namespace kvhost::publish {

struct LabelOptions {
  // A DNS subdomain and '/'. Never kubevirt.io: KubeVirt's node-labeller deletes
  // labels under its prefixes.
  std::string prefix = "kvhost.cozystack.io/";
};

// The published count for "n more fit": exact up to 4, then the power of two
// at or below n, at most 64. A label only changes when a count crosses one of
// those steps, so a busy host does not rewrite its Node object on every VM, and
// `Gt` node affinity still reads "at least this many".
unsigned CapacityBucket(unsigned count);

// Every label; throws std::invalid_argument naming the key and the rule it breaks.
// `placement-owner` is the report's. A report whose capacity is unknown gets
// no capacity, series or hugepage-block label at all, and `capacity-known=false`:
// a selector or affinity on any of them then matches nothing on this node.
Labels BuildNodeLabels(const v1::NodeReport& report, const LabelOptions& options);

// Throws std::invalid_argument unless every key is a qualified name under an
// allowed prefix (not kubernetes.io, *.kubernetes.io, kubevirt.io or
// *.kubevirt.io) and every value is a valid label value.
void ValidateLabels(const Labels& labels);

}  // namespace kvhost::publish

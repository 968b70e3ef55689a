// Turns the host model into the kvhost.v1.HostReport message every output uses.
#pragma once

#include <string>

#include "agent/host/host_model.h"
#include "host_report.pb.h"

namespace kvhost {

v1::HostReport BuildHostReport(const HostModel& host);

// The protobuf JSON mapping of any message: lowerCamelCase names, fields with
// default values printed too (a CPU-less node shows "cpus": "").
std::string ToJson(const google::protobuf::Message& message);

}  // namespace kvhost

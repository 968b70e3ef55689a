// YAML of a protobuf message with the JSON mapping's names and the same
// fields (every field, defaults included), through yaml-cpp's emitter. A string
// that YAML would read as something else ("16", "true", "~") is quoted, so
// a reader gets back the types the JSON form has.
#pragma once

#include <google/protobuf/message.h>

#include <string>

namespace kvhost::publish {

std::string ToYaml(const google::protobuf::Message& message);

}  // namespace kvhost::publish

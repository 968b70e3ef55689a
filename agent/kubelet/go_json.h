// JSON as kubelet's Go code reads it, through protobuf's JSON mapping
// (google.protobuf.Struct): Go's encoding/json matches keys case-insensitively,
// ignores unknown ones, and leaves a missing field at its zero value, and so do
// these helpers. Errors are FormatError; the reader adds the file name.
#pragma once

#include <google/protobuf/struct.pb.h>

#include <cstdint>
#include <string>
#include <string_view>

namespace kvhost::kubelet {

using JsonObject = google::protobuf::Struct;
using JsonValue = google::protobuf::Value;

// A whole document that must be a JSON object.
JsonObject ParseJsonObject(std::string_view text);

// The field named `key` (exact match first, then case-insensitive, as Go's
// encoding/json does), or nullptr when absent.
const JsonValue* Field(const JsonObject& object, std::string_view key);

bool IsNull(const JsonValue* value);  // absent or JSON null
// Typed reads: absent/null give Go's zero value; a wrong type is a FormatError
// naming `what`.
std::string String(const JsonValue* value, std::string_view what);
uint64_t Unsigned(const JsonValue* value, std::string_view what);
int64_t Integer(const JsonValue* value, std::string_view what);
const JsonObject* Object(const JsonValue* value, std::string_view what);  // nullptr if null
const google::protobuf::ListValue* List(const JsonValue* value, std::string_view what);

}  // namespace kvhost::kubelet

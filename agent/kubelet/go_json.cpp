#include "agent/kubelet/go_json.h"

#include <google/protobuf/util/json_util.h>
#include <strings.h>

#include <cmath>

#include "base/errors.h"

namespace kvhost::kubelet {

JsonObject ParseJsonObject(std::string_view text) {
  JsonObject object;
  google::protobuf::util::JsonParseOptions options;
  options.ignore_unknown_fields = true;
  const auto status = google::protobuf::util::JsonStringToMessage(
      google::protobuf::StringPiece(text.data(), text.size()), &object, options);
  if (!status.ok())
    throw FormatError("not a JSON object (truncated or malformed): " +
                      std::string(status.message()));
  return object;
}

const JsonValue* Field(const JsonObject& object, std::string_view key) {
  const auto& fields = object.fields();
  if (auto it = fields.find(std::string(key)); it != fields.end()) return &it->second;
  for (const auto& [name, value] : fields)
    if (name.size() == key.size() && strncasecmp(name.data(), key.data(), key.size()) == 0)
      return &value;
  return nullptr;
}

bool IsNull(const JsonValue* value) {
  return value == nullptr || value->kind_case() == JsonValue::kNullValue;
}

std::string String(const JsonValue* value, std::string_view what) {
  if (IsNull(value)) return "";
  if (value->kind_case() != JsonValue::kStringValue)
    throw FormatError(std::string(what) + " is not a string");
  return value->string_value();
}

int64_t Integer(const JsonValue* value, std::string_view what) {
  if (IsNull(value)) return 0;
  if (value->kind_case() != JsonValue::kNumberValue)
    throw FormatError(std::string(what) + " is not a number");
  const double d = value->number_value();
  // Beyond 2^53 a double no longer holds every integer: no kubelet file needs that.
  if (d != std::floor(d) || std::fabs(d) > 9007199254740992.0)
    throw FormatError(std::string(what) + " is not an exact integer");
  return static_cast<int64_t>(d);
}

uint64_t Unsigned(const JsonValue* value, std::string_view what) {
  const int64_t v = Integer(value, what);
  if (v < 0) throw FormatError(std::string(what) + " is negative");
  return static_cast<uint64_t>(v);
}

const JsonObject* Object(const JsonValue* value, std::string_view what) {
  if (IsNull(value)) return nullptr;
  if (value->kind_case() != JsonValue::kStructValue)
    throw FormatError(std::string(what) + " is not a JSON object");
  return &value->struct_value();
}

const google::protobuf::ListValue* List(const JsonValue* value, std::string_view what) {
  if (IsNull(value)) return nullptr;
  if (value->kind_case() != JsonValue::kListValue)
    throw FormatError(std::string(what) + " is not a JSON list");
  return &value->list_value();
}

}  // namespace kvhost::kubelet

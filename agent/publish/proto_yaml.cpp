#include "agent/publish/proto_yaml.h"

#include <google/protobuf/descriptor.h>
#include <yaml-cpp/yaml.h>

#include <regex>

namespace kvhost::publish {
namespace {

using google::protobuf::FieldDescriptor;
using google::protobuf::Message;
using google::protobuf::Reflection;

void EmitMessage(YAML::Emitter& out, const Message& message);

// YAML 1.1/1.2 plain scalars that are not strings.
bool ReadsAsNonString(const std::string& s) {
  static const std::regex non_string(
      R"([-+]?(\.?[0-9][0-9_.eE+-]*|0x[0-9a-fA-F]+|0o[0-7]+|\.inf|\.Inf|\.nan|\.NaN)|)"
      R"(true|True|TRUE|false|False|FALSE|yes|Yes|no|No|on|On|off|Off|y|n|null|Null|NULL|~|)");
  return std::regex_match(s, non_string);
}

void EmitString(YAML::Emitter& out, const std::string& s) {
  if (ReadsAsNonString(s)) out << YAML::SingleQuoted;
  out << s;
}

void EmitScalar(YAML::Emitter& out, const Message& m, const FieldDescriptor* f, int index) {
  const Reflection* r = m.GetReflection();
  const bool rep = index >= 0;
  switch (f->cpp_type()) {
    case FieldDescriptor::CPPTYPE_STRING:
      return EmitString(out, rep ? r->GetRepeatedString(m, f, index) : r->GetString(m, f));
    case FieldDescriptor::CPPTYPE_INT32:
      out << (rep ? r->GetRepeatedInt32(m, f, index) : r->GetInt32(m, f));
      return;
    case FieldDescriptor::CPPTYPE_UINT32:
      out << (rep ? r->GetRepeatedUInt32(m, f, index) : r->GetUInt32(m, f));
      return;
    case FieldDescriptor::CPPTYPE_INT64:
      out << (rep ? r->GetRepeatedInt64(m, f, index) : r->GetInt64(m, f));
      return;
    case FieldDescriptor::CPPTYPE_UINT64:
      out << (rep ? r->GetRepeatedUInt64(m, f, index) : r->GetUInt64(m, f));
      return;
    case FieldDescriptor::CPPTYPE_DOUBLE:
      out << (rep ? r->GetRepeatedDouble(m, f, index) : r->GetDouble(m, f));
      return;
    case FieldDescriptor::CPPTYPE_FLOAT:
      out << (rep ? r->GetRepeatedFloat(m, f, index) : r->GetFloat(m, f));
      return;
    case FieldDescriptor::CPPTYPE_BOOL:
      out << (rep ? r->GetRepeatedBool(m, f, index) : r->GetBool(m, f));
      return;
    case FieldDescriptor::CPPTYPE_ENUM:
      out << (rep ? r->GetRepeatedEnum(m, f, index) : r->GetEnum(m, f))->name();
      return;
    case FieldDescriptor::CPPTYPE_MESSAGE:
      return EmitMessage(out, rep ? r->GetRepeatedMessage(m, f, index) : r->GetMessage(m, f));
  }
}

void EmitMessage(YAML::Emitter& out, const Message& message) {
  const auto* descriptor = message.GetDescriptor();
  const Reflection* r = message.GetReflection();
  out << YAML::BeginMap;
  for (int i = 0; i < descriptor->field_count(); ++i) {
    const FieldDescriptor* f = descriptor->field(i);
    out << YAML::Key << f->json_name() << YAML::Value;
    if (!f->is_repeated()) {
      EmitScalar(out, message, f, -1);
      continue;
    }
    // An empty list stays on its key's line ("attributes: []").
    if (r->FieldSize(message, f) == 0) out << YAML::Flow;
    out << YAML::BeginSeq;
    for (int j = 0; j < r->FieldSize(message, f); ++j) EmitScalar(out, message, f, j);
    out << YAML::EndSeq;
  }
  out << YAML::EndMap;
}

}  // namespace

std::string ToYaml(const google::protobuf::Message& message) {
  YAML::Emitter out;
  EmitMessage(out, message);
  return std::string(out.c_str()) + "\n";
}

}  // namespace kvhost::publish

// A validator for the openAPIV3Schema subset CRDs use: type, required,
// properties, items, anyOf, enum, pattern, x-kubernetes-int-or-string. Driven
// by the schema document (yaml-cpp nodes), nothing about a CRD hard-coded.
// Unknown fields are errors (kubectl --validate=strict), so a misspelled field
// does not pass silently through the API server's pruning.
#pragma once

#include <yaml-cpp/yaml.h>

#include <regex>
#include <string>
#include <vector>

namespace kvhost::testing {

// The JSON type a decoder (the API server's) would see for a YAML/JSON node.
inline std::string OpenApiType(const YAML::Node& node) {
  if (node.IsMap()) return "object";
  if (node.IsSequence()) return "array";
  if (node.IsNull()) return "null";
  if (node.Tag() == "!") return "string";  // quoted scalar
  const std::string s = node.Scalar();
  if (std::regex_match(s, std::regex(R"([-+]?[0-9]+)"))) return "integer";
  if (std::regex_match(s, std::regex(R"([-+]?([0-9]*\.[0-9]+|[0-9]+\.?[0-9]*)([eE][-+]?[0-9]+)?)")))
    return "number";
  if (s == "true" || s == "false") return "boolean";
  return "string";
}

inline bool TypeMatches(const std::string& want, const std::string& got) {
  return want == got || (want == "number" && got == "integer");
}

inline void ValidateOpenApi(const YAML::Node& schema, const YAML::Node& value,
                            const std::string& path, std::vector<std::string>& errors) {
  const std::string type = OpenApiType(value);
  if (schema["x-kubernetes-int-or-string"] && schema["x-kubernetes-int-or-string"].as<bool>() &&
      type != "integer" && type != "string")
    errors.push_back(path + ": must be an integer or a string, is " + type);
  if (const auto any = schema["anyOf"]) {
    bool one = false;
    for (const auto& option : any) {
      std::vector<std::string> sub;
      ValidateOpenApi(option, value, path, sub);
      one = one || sub.empty();
    }
    if (!one) errors.push_back(path + ": matches none of anyOf");
  }
  if (const auto want = schema["type"]; want && !TypeMatches(want.as<std::string>(), type)) {
    errors.push_back(path + ": must be " + want.as<std::string>() + ", is " + type);
    return;
  }
  if (const auto values = schema["enum"]) {
    bool found = false;
    for (const auto& v : values) found = found || v.Scalar() == value.Scalar();
    if (!found) errors.push_back(path + ": " + value.Scalar() + " is not one of the enum");
  }
  if (const auto pattern = schema["pattern"];
      pattern && value.IsScalar() &&
      !std::regex_search(value.Scalar(), std::regex(pattern.as<std::string>())))
    errors.push_back(path + ": " + value.Scalar() + " does not match " + pattern.as<std::string>());
  if (value.IsMap()) {
    if (const auto required = schema["required"])
      for (const auto& key : required)
        if (!value[key.as<std::string>()])
          errors.push_back(path + ": " + key.as<std::string>() + " is required");
    const auto properties = schema["properties"];
    for (const auto& field : value) {
      const std::string name = field.first.as<std::string>();
      if (properties && properties[name])
        ValidateOpenApi(properties[name], field.second, path + "." + name, errors);
      else if (properties)
        errors.push_back(path + ": unknown field " + name);
    }
  }
  if (value.IsSequence() && schema["items"])
    for (size_t i = 0; i < value.size(); ++i)
      ValidateOpenApi(schema["items"], value[i], path + "[" + std::to_string(i) + "]", errors);
}

inline std::vector<std::string> ValidateOpenApi(const YAML::Node& schema, const YAML::Node& value) {
  std::vector<std::string> errors;
  ValidateOpenApi(schema, value, "", errors);
  return errors;
}

// The openAPIV3Schema of `version` in a CustomResourceDefinition document.
inline YAML::Node CrdSchema(const YAML::Node& crd, const std::string& version) {
  for (const auto& v : crd["spec"]["versions"])
    if (v["name"].as<std::string>() == version) return v["schema"]["openAPIV3Schema"];
  throw std::runtime_error("CRD has no version " + version);
}

}  // namespace kvhost::testing

// Loads KubeVirt instance types from YAML: the files an operator already has
// (common-instancetypes bundles, Cozystack's templates, `kubectl get -o yaml`).
#pragma once

#include <filesystem>
#include <string>
#include <string_view>

#include "agent/catalog/instance_type.h"
#include "agent/yaml/yaml_error.h"

namespace kvhost {

// What a bad catalog throws: "<file>:<line>: <reason>", with file(), line()
// and reason() for callers that present it differently.
using CatalogError = YamlInputError;

// Reads every document of a (multi-document) YAML stream. Takes
// VirtualMachineClusterInstancetype and VirtualMachineInstancetype of
// instancetype.kubevirt.io v1beta1, v1alpha2 and v1 (same spec as v1beta1);
// every other kind or version is skipped with a debug note, and a List
// (`kubectl get -o yaml`) is read item by item. A bad document or value, or
// a name defined twice, throws CatalogError. Ordered by series, then size;
// each type's source is "<source_name>:<line of its document>".
Catalog ParseCatalogYaml(std::string_view text, std::string source_name);

// ParseCatalogYaml on a file's contents; a missing file is a CatalogError too.
Catalog LoadCatalogYaml(const std::filesystem::path& path);

}  // namespace kvhost

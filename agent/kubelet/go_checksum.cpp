#include "agent/kubelet/go_checksum.h"

#include <charconv>
#include <functional>
#include <map>

#include "base/errors.h"

namespace kvhost::kubelet {
namespace {

// How spew prints one map or slice value (ignoreNextType set: no type prefix).
using Printer = std::function<std::string(const JsonValue*, const std::string& what)>;

// A Go map with string keys: spew sorts the keys and prints "map[k:v k:v]";
// a nil map is "<nil>". `made` is what a missing field holds (the checkpoint
// constructor's empty map) versus a JSON null (nil).
std::string StringMap(const JsonValue* value, const std::string& what, const Printer& element,
                      bool made_when_absent = false) {
  if (value == nullptr && made_when_absent) return "map[]";
  const JsonObject* object = Object(value, what);
  if (object == nullptr) return "<nil>";
  const std::map<std::string, const JsonValue*> sorted = [&] {
    std::map<std::string, const JsonValue*> m;
    for (const auto& [k, v] : object->fields()) m[k] = &v;
    return m;
  }();
  std::string out = "map[";
  bool first = true;
  for (const auto& [key, v] : sorted) {
    out += (first ? "" : " ") + key + ":" + element(v, what + "." + key);
    first = false;
  }
  return out + "]";
}

// A Go map with int keys (NUMANodeMap): keys come as JSON strings.
std::string IntMap(const JsonValue* value, const std::string& what, const Printer& element) {
  if (value == nullptr) return "map[]";
  const JsonObject* object = Object(value, what);
  if (object == nullptr) return "<nil>";
  std::map<int64_t, const JsonValue*> sorted;
  for (const auto& [k, v] : object->fields()) {
    int64_t id = 0;
    auto [p, ec] = std::from_chars(k.data(), k.data() + k.size(), id);
    if (ec != std::errc() || p != k.data() + k.size())
      throw FormatError(what + " key '" + k + "' is not an integer");
    sorted[id] = &v;
  }
  std::string out = "map[";
  bool first = true;
  for (const auto& [id, v] : sorted) {
    out +=
        (first ? "" : " ") + std::to_string(id) + ":" + element(v, what + "." + std::to_string(id));
    first = false;
  }
  return out + "]";
}

std::string List(const JsonValue* value, const std::string& what, const Printer& element) {
  const google::protobuf::ListValue* list = kubelet::List(value, what);
  if (list == nullptr) return "<nil>";
  std::string out = "[";
  for (int i = 0; i < list->values_size(); ++i)
    out += (i ? " " : "") + element(&list->values(i), what + "[" + std::to_string(i) + "]");
  return out + "]";
}

std::string Str(const JsonValue* v, const std::string& what) { return String(v, what); }
std::string Int(const JsonValue* v, const std::string& what) {
  return std::to_string(Integer(v, what));
}
std::string Uint(const JsonValue* v, const std::string& what) {
  return std::to_string(Unsigned(v, what));
}

// A struct behind a pointer inside a map: "<*>{...}", a nil pointer "<nil>".
std::string PointedStruct(const JsonValue* v, const std::string& what,
                          const std::function<std::string(const JsonObject&)>& fields) {
  const JsonObject* object = Object(v, what);
  if (object == nullptr) return "<nil>";
  return "<*>{" + fields(*object) + "}";
}

std::string MemoryTable(const JsonObject& t, const std::string& what) {
  return "TotalMemSize:(uint64)" + Uint(Field(t, "total"), what + ".total") +
         " SystemReserved:(uint64)" + Uint(Field(t, "systemReserved"), what) +
         " Allocatable:(uint64)" + Uint(Field(t, "allocatable"), what) + " Reserved:(uint64)" +
         Uint(Field(t, "reserved"), what) + " Free:(uint64)" + Uint(Field(t, "free"), what);
}

std::string NumaNodeState(const JsonObject& n, const std::string& what) {
  const Printer table = [](const JsonValue* v, const std::string& w) {
    return PointedStruct(v, w, [&](const JsonObject& t) { return MemoryTable(t, w); });
  };
  return "NumberOfAssignments:(int)" + Int(Field(n, "numberOfAssignments"), what) +
         " MemoryMap:(map[v1.ResourceName]*state.MemoryTable)" +
         StringMap(Field(n, "memoryMap"), what + ".memoryMap", table) + " Cells:([]int)" +
         List(Field(n, "cells"), what + ".cells", Int);
}

std::string Block(const JsonValue* v, const std::string& what) {
  const JsonObject* b = Object(v, what);
  if (b == nullptr) b = &JsonObject::default_instance();  // a null struct element is zero
  return "{NUMAAffinity:([]int)" + List(Field(*b, "numaAffinity"), what, Int) +
         " Type:(v1.ResourceName)" + String(Field(*b, "type"), what) + " Size:(uint64)" +
         Uint(Field(*b, "size"), what) + "}";
}

}  // namespace

uint32_t Fnv32a(std::string_view bytes) {
  uint32_t hash = 2166136261u;
  for (unsigned char c : bytes) {
    hash ^= c;
    hash *= 16777619u;
  }
  return hash;
}

std::string SpewCpuCheckpoint(const JsonObject& doc, CpuCheckpointVersion version) {
  const bool v1 = version == CpuCheckpointVersion::kV1;
  const Printer containers = [](const JsonValue* v, const std::string& w) {
    return StringMap(v, w, Str);
  };
  return "(*state.CPUManagerCheckpoint){PolicyName:(string)" +
         String(Field(doc, "policyName"), "policyName") + " DefaultCPUSet:(string)" +
         String(Field(doc, "defaultCpuSet"), "defaultCpuSet") + " Entries:(" +
         (v1 ? "map[string]string" : "map[string]map[string]string") + ")" +
         StringMap(Field(doc, "entries"), "entries", v1 ? Str : containers, true) +
         " Checksum:(checksum.Checksum)0}";
}

std::string SpewMemoryCheckpoint(const JsonObject& doc) {
  const Printer node = [](const JsonValue* v, const std::string& w) {
    return PointedStruct(v, w, [&](const JsonObject& n) { return NumaNodeState(n, w); });
  };
  const Printer blocks = [](const JsonValue* v, const std::string& w) { return List(v, w, Block); };
  const Printer containers = [&](const JsonValue* v, const std::string& w) {
    return StringMap(v, w, blocks);
  };
  return "(*state.MemoryManagerCheckpoint){PolicyName:(string)" +
         String(Field(doc, "policyName"), "policyName") + " MachineState:(state.NUMANodeMap)" +
         IntMap(Field(doc, "machineState"), "machineState", node) +
         " Entries:(state.ContainerMemoryAssignments)" +
         StringMap(Field(doc, "entries"), "entries", containers, true) +
         " Checksum:(checksum.Checksum)0}";
}

}  // namespace kvhost::kubelet

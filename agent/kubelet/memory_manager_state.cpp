#include "agent/kubelet/memory_manager_state.h"

#include <strings.h>

#include "agent/kubelet/go_checksum.h"
#include "agent/kubelet/go_json.h"
#include "base/errors.h"

namespace kvhost::kubelet {
namespace {

std::vector<int> Ints(const JsonValue* value, const std::string& what) {
  std::vector<int> out;
  if (const auto* list = List(value, what))
    for (const auto& v : list->values()) out.push_back(static_cast<int>(Integer(&v, what)));
  return out;
}

MemoryTable ReadTable(const JsonObject& t, const std::string& what) {
  MemoryTable table{Unsigned(Field(t, "total"), what + ".total"),
                    Unsigned(Field(t, "systemReserved"), what + ".systemReserved"),
                    Unsigned(Field(t, "allocatable"), what + ".allocatable"),
                    Unsigned(Field(t, "reserved"), what + ".reserved"),
                    Unsigned(Field(t, "free"), what + ".free")};
  if (table.free + table.reserved != table.allocatable || table.allocatable > table.total)
    throw FormatError(what + " is inconsistent: free " + std::to_string(table.free) +
                      " + reserved " + std::to_string(table.reserved) + " != allocatable " +
                      std::to_string(table.allocatable) + " (total " + std::to_string(table.total) +
                      ")");
  return table;
}

void ReadMachine(const JsonObject& doc, const std::set<int>* host_nodes,
                 MemoryManagerState& state) {
  const JsonObject* machine = Object(Field(doc, "machineState"), "machineState");
  if (machine == nullptr) return;
  for (const auto& [key, value] : machine->fields()) {
    const std::string what = "machineState." + key;
    const int node = std::stoi(key);  // SpewMemoryCheckpoint already proved it an integer
    if (host_nodes != nullptr && !host_nodes->contains(node))
      throw FormatError(what + ": this host has no NUMA node " + key);
    NumaMemoryState& ns = state.machine[node];
    const JsonObject* n = Object(&value, what);
    if (n == nullptr) continue;
    ns.assignments = static_cast<int>(Integer(Field(*n, "numberOfAssignments"), what));
    ns.cells = Ints(Field(*n, "cells"), what + ".cells");
    if (const JsonObject* map = Object(Field(*n, "memoryMap"), what + ".memoryMap"))
      for (const auto& [type, table] : map->fields())
        if (const JsonObject* t = Object(&table, what + "." + type))
          ns.memory[type] = ReadTable(*t, what + ".memoryMap." + type);
  }
}

void ReadEntries(const JsonObject& doc, MemoryManagerState& state) {
  const JsonObject* entries = Object(Field(doc, "entries"), "entries");
  if (entries == nullptr) return;
  for (const auto& [pod, containers_value] : entries->fields()) {
    const JsonObject* containers = Object(&containers_value, "entries." + pod);
    if (containers == nullptr) continue;
    for (const auto& [name, blocks] : containers->fields()) {
      const std::string what = "entries." + pod + "." + name;
      auto& out = state.entries[pod][name];
      const auto* list = List(&blocks, what);
      if (list == nullptr) continue;
      for (const auto& b : list->values()) {
        const JsonObject* block = Object(&b, what);
        if (block == nullptr) continue;
        MemoryBlock mb{Ints(Field(*block, "numaAffinity"), what),
                       String(Field(*block, "type"), what), Unsigned(Field(*block, "size"), what)};
        for (int node : mb.numa_affinity)
          if (!state.machine.contains(node))
            throw FormatError(what + " has a block on NUMA node " + std::to_string(node) +
                              ", which machineState does not list");
        out.push_back(std::move(mb));
      }
    }
  }
}

}  // namespace

MemoryManagerState ParseMemoryManagerState(std::string_view text, const std::set<int>* host_nodes) {
  const JsonObject doc = ParseJsonObject(text);
  if (Field(doc, "podEntries") != nullptr || Field(doc, "data") != nullptr)
    throw FormatError("checkpoint with 'podEntries'/'data' (a kubelet newer than we model)");
  const uint64_t stored = Unsigned(Field(doc, "checksum"), "checksum");
  const uint32_t actual = Fnv32a(SpewMemoryCheckpoint(doc));
  if (stored != 0 && stored != actual)
    throw FormatError("checksum mismatch: the file says " + std::to_string(stored) +
                      ", its content hashes to " + std::to_string(actual) +
                      " (kubelet's algorithm); the checkpoint is corrupt");
  MemoryManagerState state;
  state.policy_name = String(Field(doc, "policyName"), "policyName");
  // Files say "Static"/"None"; kubelet's own tests also write "static".
  if (strcasecmp(state.policy_name.c_str(), "none") == 0) state.policy_name = "None";
  if (strcasecmp(state.policy_name.c_str(), "static") == 0) state.policy_name = "Static";
  if (state.policy_name != "None" && state.policy_name != "Static")
    throw FormatError("unknown policyName '" + state.policy_name +
                      "' (kubelet's memory manager has 'None' and 'Static')");
  ReadMachine(doc, host_nodes, state);
  ReadEntries(doc, state);
  return state;
}

std::optional<MemoryManagerState> ReadMemoryManagerState(const SysfsRoot& root,
                                                         const std::set<int>* host_nodes) {
  return root.ParseOptional(kMemoryManagerStatePath, [&](std::string_view text) {
    return ParseMemoryManagerState(text, host_nodes);
  });
}

}  // namespace kvhost::kubelet

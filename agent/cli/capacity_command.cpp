#include <spdlog/spdlog.h>

#include <iostream>

#include "agent/allocator/capacity.h"
#include "agent/cli/commands.h"
#include "agent/report/capacity_report.h"
#include "agent/report/host_report.h"

namespace kvhost::cli {
namespace {

struct CapacityOptions : HostOptions {
  std::vector<std::string> what_if;
  std::string type;  // explain
};

}  // namespace

void AddCapacityCommands(CLI::App& app, int& exit_code) {
  auto cap = std::make_shared<CapacityOptions>();
  CLI::App* capacity =
      app.add_subcommand("capacity", "How many more of each instance type fit on this host now");
  cap->AddTo(capacity, true);
  cap->AddLiveOptions(capacity);
  capacity->add_option("--what-if", cap->what_if,
                       "Hypothetical change first: 'add cx1.large=3,rt1.medium=1' or 'remove "
                       "cx1.large=1' (repeatable, in order)");
  capacity->callback([cap, &exit_code] {
    const Catalog catalog = cap->LoadCatalog();
    LiveHost live = cap->LoadLive(cap->ReadRunning(catalog));
    Allocator& state = live.allocator;
    std::vector<std::string> applied;
    for (const auto& text : cap->what_if)
      for (auto& line : ApplyWhatIf(state, catalog, ParseWhatIf(text)))
        applied.push_back(std::move(line));
    auto report = BuildCapacityReport(state, ComputeCapacity(state, catalog),
                                      ComputeFragmentation(state, catalog), applied);
    *report.mutable_placement() = PlacementMessage(PlacementOf(live, cap->LoadConfig()));
    if (cap->output == "json") {
      std::cout << ToJson(report);
    } else {
      std::cout << "placement owner: " << PlacementOwnerName(live.owner.owner) << " ("
                << live.owner.why << ")\n"
                << FormatCapacityTable(report);
    }
    exit_code = 0;
  });

  auto ex = std::make_shared<CapacityOptions>();
  CLI::App* explain = app.add_subcommand(
      "explain", "Why an instance type does not fit (or what caps it), with the numbers");
  ex->AddTo(explain, true);
  ex->AddLiveOptions(explain);
  explain->add_option("type", ex->type, "Instance type name, e.g. cx1.large")->required();
  explain->callback([ex, &exit_code] {
    const Catalog catalog = ex->LoadCatalog();
    const InstanceType* type = catalog.Find(ex->type);
    if (!type)
      throw std::invalid_argument("unknown instance type '" + ex->type + "'" +
                                  catalog.DidYouMean(ex->type));
    const Allocator state = ex->LoadLive(ex->ReadRunning(catalog)).allocator;
    const TypeCapacity fits = CountFits(state, *type);
    if (ex->output == "json")
      std::cout << ToJson(BuildCapacityReport(state, {fits}, {}, {}).instance_types(0));
    else
      std::cout << FormatExplain(fits);
    exit_code = 0;
  });
}

}  // namespace kvhost::cli

// agent/qualify, the pure parts: oslat's real outputs (tests/data/oslat) parsed,
// damaged ones refused with the reason, CPUs chosen as cnf-tests chooses them,
// the verdict itemised, the history kept and the rt1 gate following it.
#include <gtest/gtest.h>
#include <sys/stat.h>

#include "agent/qualify/cpu_choice.h"
#include "agent/qualify/history.h"
#include "agent/qualify/oslat_output.h"
#include "agent/qualify/qualification.h"
#include "agent/qualify/run_text.h"
#include "agent/qualify/verdict.h"
#include "base/errors.h"
#include "damaged_root_support.h"

namespace kvhost::qualify {
namespace {

std::string Data(const std::string& name) {
  return ReadFile(fs::path(std::getenv("KVHOST_SOURCE_DIR")) / "tests/data/oslat" / name);
}

std::string Replace(std::string text, const std::string& from, const std::string& to) {
  const auto at = text.find(from);
  EXPECT_NE(at, std::string::npos) << from;
  return at == std::string::npos ? text : text.replace(at, from.size(), to);
}

TEST(OslatOutput, RealJsonOfTwoCpusParsesWithTheColonKeys) {
  const OslatOutput out = ParseOslatJson(Data("two-cpus-memmove.json"));
  ASSERT_EQ(out.threads.size(), 2u);
  EXPECT_EQ(out.threads[0].cpu, 0u);
  EXPECT_EQ(out.threads[1].cpu, 1u);
  EXPECT_EQ(out.threads[0].max_us, 50406);
  EXPECT_EQ(out.threads[1].max_us, 52432);
  EXPECT_NEAR(out.threads[1].avg_us, 1.004, 0.001);
  EXPECT_EQ(out.version, "2.40");
  EXPECT_NE(out.cmdline.find("memmove"), std::string::npos);
  EXPECT_EQ(out.return_code, 0);
  EXPECT_FALSE(out.realtime_kernel);
}

TEST(OslatOutput, RealTextSummaryAgreesWithTheJsonOfTheSameRun) {
  for (const char* run : {"one-cpu", "two-cpus-memmove", "shared-main-thread"}) {
    const OslatOutput json = ParseOslatJson(Data(std::string(run) + ".json"));
    const OslatOutput text = ParseOslatText(Data(std::string(run) + ".txt"));
    ASSERT_EQ(json.threads.size(), text.threads.size()) << run;
    for (size_t i = 0; i < json.threads.size(); ++i) {
      EXPECT_EQ(json.threads[i].cpu, text.threads[i].cpu) << run;
      EXPECT_EQ(json.threads[i].max_us, text.threads[i].max_us) << run;
      EXPECT_NEAR(json.threads[i].avg_us, text.threads[i].avg_us, 0.001) << run;
    }
  }
}

void ExpectJsonRefused(const std::string& text, const std::string& reason) {
  try {
    ParseOslatJson(text);
    FAIL() << "accepted damaged output; wanted: " << reason;
  } catch (const FormatError& e) {
    EXPECT_NE(std::string(e.what()).find(reason), std::string::npos) << e.what();
  }
}

TEST(OslatOutput, DamagedJsonIsRefusedWithTheReason) {
  const std::string real = Data("two-cpus-memmove.json");
  ExpectJsonRefused(real.substr(0, real.size() / 2), "not JSON");
  ExpectJsonRefused("", "not JSON");
  ExpectJsonRefused(Replace(real, "\"return_code\"", "\"code\""), "return_code");
  ExpectJsonRefused(Replace(real, "\"max\": 52432", "\"max\": \"52432\""), "not a number");
  ExpectJsonRefused(Replace(real, "\"num_threads\": 2", "\"num_threads\": 3"), "num_threads");
  ExpectJsonRefused(Replace(real, "\"thread\": {", "\"threads\": {"), "\"thread\" missing");
  ExpectJsonRefused(Replace(real, "\"avg\": 1.00", "\"avg\": 99999999.00"), "out of order");
}

TEST(OslatOutput, TextOfAnUnfinishedOrTornRunIsRefused) {
  const std::string real = Data("two-cpus-memmove.txt");
  EXPECT_THROW(ParseOslatText(Replace(real, "Test completed.", "")), FormatError);
  EXPECT_THROW(ParseOslatText(real.substr(0, real.find("Maximum"))), FormatError);
  EXPECT_THROW(ParseOslatText(Replace(real, "50406 52432", "50406")), FormatError);
  EXPECT_THROW(ParseOslatText(Replace(real, "50406 52432", "50406 5x432")), FormatError);
}

CpuTopology Smt(unsigned cores) {  // CPU i and i+cores are siblings
  CpuTopology topology;
  for (unsigned c = 0; c < cores; ++c) {
    PhysicalCore core;
    core.pus.Add(c);
    core.pus.Add(c + cores);
    topology.cores.push_back(core);
    topology.online |= core.pus;
  }
  return topology;
}

TEST(CpuChoice, MainThreadOnFirstCpuAndItsSiblingsNotMeasured) {
  const CpuSet isolated = ParseCpuList("2-3,6-7");
  const CpuChoice choice = ChooseCpus(Smt(4), isolated, {}, {});
  EXPECT_EQ(choice.main_thread_cpu, 2u);
  EXPECT_EQ(choice.measured.ToList(), "3,7");
  EXPECT_TRUE(choice.qualifying);
  EXPECT_FALSE(choice.main_thread_shares_cpu);
}

TEST(CpuChoice, AutoLeavesWhatVmsHoldAndRefusesWhenNothingIsLeft) {
  const CpuSet isolated = ParseCpuList("2-3,6-7");
  const CpuChoice left = ChooseCpus(Smt(4), isolated, ParseCpuList("3"), {});
  EXPECT_EQ(left.main_thread_cpu, 2u);
  EXPECT_EQ(left.measured.ToList(), "7");
  try {
    ChooseCpus(Smt(4), isolated, ParseCpuList("0-7"), {});
    FAIL() << "chose CPUs that VMs hold";
  } catch (const CpuChoiceRefused& e) {
    EXPECT_NE(std::string(e.what()).find("held by a VM"), std::string::npos) << e.what();
  }
  EXPECT_THROW(ChooseCpus(Smt(4), {}, {}, {}), CpuChoiceRefused);
  // Two siblings only: nothing left to measure once the main thread's core is out.
  EXPECT_THROW(ChooseCpus(Smt(4), ParseCpuList("2,6"), {}, {}), CpuChoiceRefused);
}

TEST(CpuChoice, NonIsolatedListNeedsTheFlagAndThenDoesNotQualify) {
  CpuTopology two;
  for (unsigned c = 0; c < 2; ++c) {
    PhysicalCore core;
    core.pus.Add(c);
    two.cores.push_back(core);
    two.online.Add(c);
  }
  const CpuRequest plain{.list = ParseCpuList("1"), .allow_non_isolated = false};
  EXPECT_THROW(ChooseCpus(two, {}, {}, plain), CpuChoiceRefused);
  const CpuChoice one =
      ChooseCpus(two, {}, {}, {.list = ParseCpuList("1"), .allow_non_isolated = true});
  EXPECT_FALSE(one.qualifying);
  EXPECT_TRUE(one.main_thread_shares_cpu);
  EXPECT_EQ(one.main_thread_cpu, 1u);
  EXPECT_EQ(one.measured.ToList(), "1");
  EXPECT_THROW(ChooseCpus(two, {}, {}, {.list = ParseCpuList("5"), .allow_non_isolated = true}),
               CpuChoiceRefused);
}

RealtimeReadiness AllOk() {
  RealtimeReadiness r;
  for (Fact* f : {&r.preempt_rt, &r.sched_rt_runtime_us, &r.isolated_cpus,
                  &r.isolated_cpu_governors, &r.transparent_hugepages, &r.kvm, &r.guest_rt_budget})
    f->verdict = Verdict::kOk;
  return r;
}

v1::QualificationRun Judged(const OslatOutput& out, const CpuChoice& choice, double threshold,
                            const RealtimeReadiness& readiness) {
  QualifySettings settings;
  settings.duration_seconds = 2;
  settings.threshold_us = threshold;
  v1::QualificationRun run = NewRun(settings, choice);
  Judge(out, "oslat.json", readiness, run);
  return run;
}

TEST(Verdict, MaxStrictlyBelowThresholdPassesAtThresholdFails) {
  OslatOutput out;
  out.threads = {{.cpu = 3, .min_us = 1, .avg_us = 1.2, .max_us = 19},
                 {.cpu = 7, .min_us = 1, .avg_us = 1.1, .max_us = 12}};
  const CpuChoice choice{.main_thread_cpu = 2,
                         .measured = ParseCpuList("3,7"),
                         .main_thread_shares_cpu = false,
                         .qualifying = true};
  auto run = Judged(out, choice, 20, AllOk());
  EXPECT_EQ(run.outcome(), v1::QUALIFY_PASS) << RunText(run);
  EXPECT_EQ(run.max_latency_us(), 19);
  out.threads[0].max_us = 20;
  run = Judged(out, choice, 20, AllOk());
  EXPECT_EQ(run.outcome(), v1::QUALIFY_FAIL);
  EXPECT_NE(RunText(run).find("max 20 us >= threshold 20 us"), std::string::npos) << RunText(run);
  EXPECT_EQ(ExitCodeOf(run.outcome()), 4);
}

TEST(Verdict, FewerThreadsNonZeroReturnCodeOrABlockingFactNeverPass) {
  OslatOutput out;
  out.threads = {{.cpu = 3, .min_us = 1, .avg_us = 1, .max_us = 5}};
  const CpuChoice choice{.main_thread_cpu = 2,
                         .measured = ParseCpuList("3,7"),
                         .main_thread_shares_cpu = false,
                         .qualifying = true};
  auto run = Judged(out, choice, 20, AllOk());
  EXPECT_EQ(run.outcome(), v1::QUALIFY_ERROR);
  EXPECT_NE(run.error().find("oslat.json: 1 threads reported for 2 CPUs"), std::string::npos)
      << run.error();
  out.threads.push_back({.cpu = 7, .min_us = 1, .avg_us = 1, .max_us = 5});
  out.return_code = 1;
  EXPECT_EQ(Judged(out, choice, 20, AllOk()).outcome(), v1::QUALIFY_ERROR);
  out.return_code = 0;
  RealtimeReadiness no_rt = AllOk();
  no_rt.preempt_rt = {
      .value = "PREEMPT_DYNAMIC", .verdict = Verdict::kFail, .reason = "not PREEMPT_RT"};
  EXPECT_EQ(Judged(out, choice, 20, no_rt).outcome(), v1::QUALIFY_FAIL);
  RealtimeReadiness thp = AllOk();
  thp.transparent_hugepages.verdict = Verdict::kWarn;
  EXPECT_EQ(Judged(out, choice, 20, thp).outcome(), v1::QUALIFY_WARN);
}

// oslat writes its JSON where it is told, and the oslat run is an admin's
// setting: a FIFO there blocked the read for good, /dev/zero read without end.
TEST(Verdict, AnOslatJsonThatIsNotARegularFileIsAnErrorNamingIt) {
  TempDir dir;
  const fs::path fifo = dir.path() / "oslat.json";
  ASSERT_EQ(::mkfifo(fifo.c_str(), 0600), 0);
  const fs::path zero = dir.path() / "zero.json";
  fs::create_symlink("/dev/zero", zero);
  for (const fs::path& json : {fifo, zero}) {
    QualifyJob job;
    job.choice = {.main_thread_cpu = 2,
                  .measured = ParseCpuList("3"),
                  .main_thread_shares_cpu = false,
                  .qualifying = true};
    OslatExit exited;
    exited.how = OslatExit::How::kExited;
    v1::QualificationRun run = NewRun(job.settings, job.choice);
    RecordExit(job, exited, json, AllOk(), run);
    EXPECT_EQ(run.outcome(), v1::QUALIFY_ERROR) << json;
    EXPECT_NE(run.error().find(json.string() + ": is a"), std::string::npos) << run.error();
  }
}

TEST(Verdict, NonIsolatedOrSharedMainThreadAtBestWarns) {
  OslatOutput out;
  out.threads = {{.cpu = 1, .min_us = 1, .avg_us = 1, .max_us = 5}};
  const CpuChoice choice{.main_thread_cpu = 1,
                         .measured = ParseCpuList("1"),
                         .main_thread_shares_cpu = true,
                         .qualifying = false};
  const auto run = Judged(out, choice, 20, AllOk());
  EXPECT_EQ(run.outcome(), v1::QUALIFY_WARN);
  EXPECT_NE(RunText(run).find("not qualifying"), std::string::npos) << RunText(run);
}

TEST(History, KeepsTheLastRunsAndRefusesADamagedFile) {
  const TempDir tmp;
  EXPECT_EQ(ReadHistory(tmp.path()).runs_size(), 0);
  for (int i = 0; i < kKeptRuns + 3; ++i) {
    v1::QualificationRun run;
    run.set_started_unix(i);
    AppendRun(tmp.path(), run);
  }
  const auto history = ReadHistory(tmp.path());
  ASSERT_EQ(history.runs_size(), kKeptRuns);
  EXPECT_EQ(history.runs(0).started_unix(), 3);
  EXPECT_EQ(history.runs(kKeptRuns - 1).started_unix(), kKeptRuns + 2);
  WriteFile(tmp.path() / kHistoryFile, "\xff\xff\xff damaged");
  try {
    ReadHistory(tmp.path());
    FAIL() << "a damaged history was read";
  } catch (const InputError& e) {
    EXPECT_NE(std::string(e.what()).find(kHistoryFile), std::string::npos) << e.what();
  }
}

TEST(History, Rt1GateOpensOnlyForARecentQualifyingPass) {
  v1::QualificationHistory history;
  const auto day = std::chrono::hours(24);
  EXPECT_EQ(QualificationBlocker(history, 100000, day), "no passing qualification within 1d");
  auto* run = history.add_runs();
  run->set_outcome(v1::QUALIFY_PASS);
  run->set_qualifying(false);
  run->set_started_unix(99000);
  EXPECT_TRUE(QualificationBlocker(history, 100000, day).has_value());
  run->set_qualifying(true);
  EXPECT_FALSE(QualificationBlocker(history, 100000, day).has_value());
  EXPECT_TRUE(QualificationBlocker(history, 99000 + 86401, day).has_value());
  run->set_outcome(v1::QUALIFY_WARN);
  EXPECT_TRUE(QualificationBlocker(history, 100000, day).has_value());
}

}  // namespace
}  // namespace kvhost::qualify

// Attacks 10 and 11: the daemon killed under load and restarted, and a storm
// of reloads whose configs alternate between valid and invalid.
#include <atomic>
#include <csignal>
#include <stop_token>
#include <thread>

#include "bench/attack_http.h"
#include "bench/attacks.h"

namespace kvhost::bench {

using namespace std::chrono_literals;

namespace {

constexpr auto npos = std::string::npos;

// GETs of /healthz on a kept-alive connection, as fast as the daemon answers,
// on a thread of its own, as a scraper would; a failed one is retried after 5 ms.
class GetLoad {
 public:
  GetLoad(unsigned short port, std::chrono::milliseconds timeout)
      : thread_([this, port, timeout](std::stop_token stop) { Run(stop, port, timeout); }) {}
  size_t answered() const { return answered_; }
  size_t failed() const { return failed_; }

 private:
  void Run(std::stop_token stop, unsigned short port, std::chrono::milliseconds timeout) {
    KeepAliveClient client(port, timeout);
    while (!stop.stop_requested()) {
      const HttpAnswer answer = client.Get("/healthz");
      if (answer.complete && answer.status() == 200) {
        ++answered_;
      } else {
        ++failed_;
        std::this_thread::sleep_for(5ms);
      }
    }
  }

  std::atomic<size_t> answered_{0};
  std::atomic<size_t> failed_{0};
  std::jthread thread_;  // last: it stops and is joined before the counters go
};

// What a restart must find: the allocations of the state file. A reconcile
// that kept them all is logged only at debug; one that found the file missing,
// corrupt or had to rebuild it from libvirt says so at info or above.
bool StateKept(const std::string& log) {
  return log.find("corrupt") == npos && log.find("state rebuilt from libvirt") == npos &&
         log.find("no state file") == npos;
}

}  // namespace

AttackResult AttackKillsUnderLoad(AttackTarget& target) {
  AttackResult r(10, "20 SIGKILLs under load");
  constexpr int kKills = 20;
  std::vector<double> ready_ms;
  size_t kept = 0, serving = 0;
  Stopwatch watch;
  {
    GetLoad load(target.port(), target.Bound(2s));
    for (int kill = 0; kill < kKills; ++kill) {
      std::this_thread::sleep_for(300ms);  // the load runs against this start
      target.Kill();
      ready_ms.push_back(target.Start());
      const bool state_ok = StateKept(target.Log());
      kept += state_ok;
      r.Check(state_ok, "restart " + std::to_string(kill + 1) + " kept the state file");
      serving += target.Healthy();
    }
    std::this_thread::sleep_for(300ms);
    r.Add("load_answered", static_cast<double>(load.answered()), 0);
    r.Add("load_failed", static_cast<double>(load.failed()), 0);
    r.Add("load_req_per_s", static_cast<double>(load.answered()) / (watch.ElapsedMs() / 1000), 0);
  }
  r.Add("restarts_ready", static_cast<double>(ready_ms.size()), 0);
  r.Add("ready_median_ms", Median(ready_ms), 0);
  r.Add("ready_max_ms", *std::max_element(ready_ms.begin(), ready_ms.end()), 0);
  r.Add("state_kept", static_cast<double>(kept), 0);
  r.Add("serving_after_restart", static_cast<double>(serving), 0);
  r.Check(serving == kKills, "every restart answered /healthz");
  const std::string reconcile = ReconcileThroughControlSocket(target);
  r.Check(reconcile.empty(),
          "the control socket left by a killed daemon replaced (" + reconcile + ")");
  AddMemory(target, r, "after");
  CheckStillServing(target, r);
  return r;
}

namespace {

// Each is refused at a SIGHUP: by the parser, or (a public address, a name NFD
// ignores) when the new settings are applied.
std::vector<std::string> InvalidConfigs(const AttackTarget& target) {
  const std::string valid = target.ValidConfig();
  std::string public_api = valid;
  public_api.replace(public_api.find("127.0.0.1"), 9, "0.0.0.0");
  std::string hidden_features = valid;
  hidden_features.replace(hidden_features.find("/kvhost-agent\n"), 14, "/.kvhost-agent\n");
  return {
      valid + "refreshInterval: 2s\n",   // a repeated key
      "refreshInterval: banana\n",       // a bad value
      valid + "noSuchKey: 1\n",          // an unknown key
      "refreshInterval: [1s\n",          // not YAML
      std::string("\0\x01\xff\xfe", 4),  // not text
      "refreshInterval: 1ms\n",          // out of range
      public_api,                        // not loopback
      hidden_features,                   // a name NFD ignores
  };
}

}  // namespace

AttackResult AttackReloadStorm(AttackTarget& target) {
  AttackResult r(11, "200 SIGHUPs valid/invalid");
  constexpr int kSighups = 200;
  const std::vector<std::string> invalid = InvalidConfigs(target);
  const std::string refused = "SIGHUP: keeping the running config";
  const size_t refused_before = target.LogCount(refused);
  const double rss_before = target.RssMib(), anon_before = target.AnonMib();
  std::vector<double> reload_ms;
  for (int i = 0; i < kSighups; ++i) {
    target.WriteConfig(i % 2 == 0 ? target.ValidConfig() : invalid[(i / 2) % invalid.size()]);
    const size_t reloads = target.LogCount("SIGHUP: reloading");
    Stopwatch watch;
    kill(target.pid(), SIGHUP);
    // One event loop: a /healthz accepted after the reload began is answered after it ended.
    if (!r.Check(target.WaitForLog("SIGHUP: reloading", reloads + 1, 5s) && target.Healthy(),
                 "SIGHUP " + std::to_string(i + 1) + " handled and /healthz answered"))
      break;
    reload_ms.push_back(watch.ElapsedMs());
  }
  target.WriteConfig(target.ValidConfig());
  const size_t refusals = target.LogCount(refused) - refused_before;
  r.Add("sighups_handled", static_cast<double>(reload_ms.size()), 0);
  r.Add("invalid_refused", static_cast<double>(refusals), 0);
  r.Check(refusals == kSighups / 2,
          "every invalid config refused and logged (" + std::to_string(refusals) + " of 100)");
  r.Add("reload_median_ms", Median(reload_ms), 1);
  r.Add("reload_p99_ms", Percentile(reload_ms, 0.99), 1);
  std::this_thread::sleep_for(2s);  // the last rediscovery's pages released
  const double rss_after = target.RssMib(), anon_after = target.AnonMib();
  r.Add("rss_before_mib", rss_before, 1);
  r.Add("rss_after_mib", rss_after, 1);
  r.Add("anon_before_mib", anon_before, 1);
  r.Add("anon_after_mib", anon_after, 1);
  r.Add("anon_growth_mib", anon_after - anon_before, 2);
  // VmRSS swings with the file pages a rediscovery maps and gives back; the
  // heap does not: a leak of 5 KiB per reload would be 1 MiB after 200.
  r.Check(target.options().valgrind || anon_after - anon_before < 1.0,
          "the heap (RssAnon) grew less than 1 MiB over 200 reloads");
  CheckStillServing(target, r);
  return r;
}

}  // namespace kvhost::bench

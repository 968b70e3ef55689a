// Attacks 1-5: the HTTP API under many, slow, huge and fast clients.
#include <algorithm>
#include <stop_token>
#include <thread>

#include "bench/attack_http.h"
#include "bench/attacks.h"

namespace kvhost::bench {

using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;

constexpr std::chrono::milliseconds kProbeSpacing{25};

double Ratio(double value, double reference) { return reference > 0 ? value / reference : 0; }

void CheckStillServing(AttackTarget& target, AttackResult& result) {
  result.Check(target.Healthy(), "the daemon alive and /healthz 200 afterwards");
}

void AddMemory(AttackTarget& target, AttackResult& result, const std::string& when) {
  result.Add("rss_" + when + "_mib", target.RssMib(), 1);
  result.Add("anon_" + when + "_mib", target.AnonMib(), 1);
}

namespace {

// The probe's figures under an attack, and the check that every probe was answered.
// The latency the probes under an attack are compared with: the same probes
// just before it, so a machine that got busier since the baseline does not
// pass for the attack's cost.
Latencies Reference(AttackTarget& target, size_t count, std::chrono::milliseconds spacing) {
  return ProbeHealthz(target.port(), count, spacing, target.Bound(2s));
}

void AddProbe(AttackResult& r, const std::string& prefix, const Latencies& probe,
              const Latencies& reference) {
  r.Add(prefix + "p50_ms", probe.Median(), 3);
  r.Add(prefix + "p99_ms", probe.P99(), 3);
  r.Add(prefix + "ref_p50_ms", reference.Median(), 3);
  r.Add(prefix + "p50_x", Ratio(probe.Median(), reference.Median()));
  r.Add(prefix + "p99_x", Ratio(probe.P99(), reference.P99()));
  r.Check(probe.failures + reference.failures == 0,
          std::to_string(probe.failures) + " /healthz probes unanswered (" + prefix + ")");
}

size_t CountClosed(const std::vector<UniqueFd>& fds) {
  return static_cast<size_t>(std::count_if(
      fds.begin(), fds.end(), [](const UniqueFd& fd) { return PeerClosed(fd.get()); }));
}

}  // namespace

AttackResult MeasureBaseline(AttackTarget& target) {
  AttackResult r(1, "baseline (idle daemon)");
  // Warmed up: a few refreshes and probes map again the code pages the
  // daemon gave back after its start, so later RSS figures compare like with like.
  std::this_thread::sleep_for(3s);
  ProbeHealthz(target.port(), 200, 0ms, target.Bound(2s));
  const Latencies probe = ProbeHealthz(target.port(), 200, 0ms, target.Bound(2s));
  // A probe after a 25 ms pause finds the CPU idle and pays its wake-up.
  const Latencies spaced = ProbeHealthz(target.port(), 200, kProbeSpacing, target.Bound(2s));
  r.Add("healthz_p50_ms", probe.Median(), 3);
  r.Add("healthz_p99_ms", probe.P99(), 3);
  r.Add("spaced_p50_ms", spaced.Median(), 3);
  r.Add("spaced_p99_ms", spaced.P99(), 3);
  AddMemory(target, r, "idle");
  r.Check(probe.failures + spaced.failures == 0,
          std::to_string(probe.failures + spaced.failures) + " of 400 probes unanswered");
  return r;
}

// The daemon keeps 64 sessions and evicts the oldest idle one for a newcomer,
// so a probe gets through; what is left goes at the 10 s request deadline.
AttackResult AttackIdleConnections(AttackTarget& target) {
  AttackResult r(2, "2,000 idle HTTP connections");
  constexpr size_t kConnections = 2000;
  const Latencies reference = Reference(target, 200, 0ms);
  std::vector<UniqueFd> held;
  Stopwatch watch;
  while (held.size() < kConnections) {
    UniqueFd fd = ConnectLoopback(target.port(), target.Bound(2s));
    if (!fd.valid()) break;
    held.push_back(std::move(fd));
  }
  r.Add("opened", static_cast<double>(held.size()), 0);
  r.Add("open_all_ms", watch.ElapsedMs(), 0);
  r.Check(held.size() == kConnections, "2,000 connections opened (the bench's RLIMIT_NOFILE?)");
  std::this_thread::sleep_for(200ms);  // the daemon has accepted them all
  AddProbe(r, "healthz_", ProbeHealthz(target.port(), 200, 0ms, target.Bound(2s)), reference);
  AddMemory(target, r, "held");
  r.Add("closed_by_daemon_at_once", static_cast<double>(CountClosed(held)), 0);
  // Past the 10 s request deadline every one the daemon still held is gone too.
  WaitFor([&] { return CountClosed(held) == held.size(); }, target.Bound(15s), 100ms);
  const double all_closed_s = watch.ElapsedMs() / 1000;
  const size_t closed = CountClosed(held);
  r.Add("closed_by_daemon_at_end", static_cast<double>(closed), 0);
  r.Add("all_closed_after_s", all_closed_s, 1);
  r.Check(closed == held.size(), "every idle connection closed by the daemon within 15 s");
  held.clear();
  std::this_thread::sleep_for(1s);
  AddMemory(target, r, "after");
  CheckStillServing(target, r);
  return r;
}

namespace {

// One slow client: its socket and when the daemon closed it.
struct SlowClient {
  UniqueFd fd;
  Clock::time_point opened;
  double closed_s = -1;  // -1: still open
  size_t sent = 0;
};

// Every second one more byte of a request whose header never ends, on every
// connection still open; a close is noticed within 50 ms.
void Drip(std::stop_token stop, std::vector<SlowClient>& clients, std::chrono::seconds cap) {
  const std::string head = "GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slowloris: ";
  const auto start = Clock::now();
  auto next_byte = start;
  while (!stop.stop_requested() && Clock::now() - start < cap) {
    const bool send_now = Clock::now() >= next_byte;
    size_t open = 0;
    for (SlowClient& c : clients) {
      if (c.closed_s >= 0) continue;
      if (PeerClosed(c.fd.get())) {
        c.closed_s = std::chrono::duration<double>(Clock::now() - c.opened).count();
        continue;
      }
      ++open;
      if (!send_now) continue;
      const char byte = c.sent < head.size() ? head[c.sent] : 'a';
      if (send(c.fd.get(), &byte, 1, MSG_NOSIGNAL | MSG_DONTWAIT) == 1) ++c.sent;
    }
    if (send_now) next_byte += 1s;
    if (open == 0) return;
    std::this_thread::sleep_for(50ms);
  }
}

struct SlowlorisRun {
  Latencies probe;
  std::vector<SlowClient> clients;
};

SlowlorisRun Slowloris(AttackTarget& target, size_t connections, size_t probes,
                       std::chrono::milliseconds probe_interval) {
  SlowlorisRun run;
  for (size_t i = 0; i < connections; ++i) {
    UniqueFd fd = ConnectLoopback(target.port(), target.Bound(2s));
    if (!fd.valid()) break;
    run.clients.push_back({.fd = std::move(fd), .opened = Clock::now()});
  }
  {
    std::jthread dripper(
        [&](std::stop_token stop) { Drip(stop, run.clients, std::chrono::seconds(30)); });
    run.probe = ProbeHealthz(target.port(), probes, probe_interval, target.Bound(2s));
    dripper.join();  // not stopped: it ends once every client is closed, or after 30 s
  }
  return run;
}

// When the daemon closed the slow clients: how many, the median and the last.
void AddCloses(AttackResult& r, const std::string& prefix, const std::vector<SlowClient>& clients,
               size_t expected) {
  std::vector<double> closes;
  for (const SlowClient& c : clients)
    if (c.closed_s >= 0) closes.push_back(c.closed_s);
  r.Add(prefix + "opened", static_cast<double>(clients.size()), 0);
  r.Add(prefix + "closed", static_cast<double>(closes.size()), 0);
  r.Add(prefix + "close_median_s", Median(closes), 1);
  r.Add(prefix + "close_max_s",
        closes.empty() ? 0 : *std::max_element(closes.begin(), closes.end()), 1);
  r.Check(clients.size() == expected && closes.size() == clients.size(),
          prefix + "every slow client closed by the daemon within 30 s");
}

}  // namespace

// Over the 64-session limit the newest slow client evicts the oldest; under
// it the 10 s request deadline closes them (the header timeout).
AttackResult AttackSlowloris(AttackTarget& target) {
  AttackResult r(3, "slowloris");
  // Spaced as under the attack: a probe after a pause pays the idle CPU's wake-up.
  const Latencies reference = Reference(target, 100, kProbeSpacing);
  SlowlorisRun crowd = Slowloris(target, 200, 200, kProbeSpacing);
  AddProbe(r, "healthz_", crowd.probe, reference);
  AddCloses(r, "crowd200_", crowd.clients, 200);
  SlowlorisRun few = Slowloris(target, 40, 12, 1000ms);
  r.Check(few.probe.failures == 0, "/healthz answered beside 40 slow clients");
  AddCloses(r, "under_limit40_", few.clients, 40);
  AddMemory(target, r, "after");
  CheckStillServing(target, r);
  return r;
}

AttackResult AttackHugeHeader(AttackTarget& target) {
  AttackResult r(4, "1 MiB header / target");
  const std::string mib(1 << 20, 'a');
  const struct {
    const char* what;
    std::string request;
    int status;
  } cases[] = {
      {"header_", "GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Big: " + mib + "\r\n\r\n", 431},
      {"target_", "GET /" + mib + " HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n", 414},
  };
  for (const auto& c : cases) {
    std::vector<double> answered, closed, sent_kib;
    size_t resets = 0;
    for (int round = 0; round < 10; ++round) {
      const OversizedExchange x = SendOversized(target.port(), c.request, target.Bound(5s));
      r.Check(x.answer.status() == c.status, std::string(c.what) + "answered " +
                                                 std::to_string(c.status) + " (got " +
                                                 std::to_string(x.answer.status()) + ")");
      r.Check(x.closed, std::string(c.what) + "connection closed by the daemon within 5 s");
      answered.push_back(x.answer.ms);
      closed.push_back(x.closed_ms);
      sent_kib.push_back(static_cast<double>(x.sent) / 1024);
      resets += x.reset;
    }
    r.Add(std::string(c.what) + "answer_ms", Median(answered), 2);
    r.Add(std::string(c.what) + "closed_ms", Median(closed), 1);
    // What the kernel took before the close: loopback buffers hold most of the MiB.
    r.Add(std::string(c.what) + "sent_kib", Median(sent_kib), 0);
    r.Add(std::string(c.what) + "closed_by_reset", static_cast<double>(resets), 0);
  }
  AddMemory(target, r, "after");
  CheckStillServing(target, r);
  return r;
}

AttackResult AttackSequentialGets(AttackTarget& target) {
  AttackResult r(5, "10,000 sequential GETs");
  const Latencies reference = Reference(target, 200, 0ms);
  constexpr size_t kRequests = 10000;
  KeepAliveClient client(target.port(), target.Bound(2s));
  Latencies kept;
  Stopwatch watch;
  for (size_t i = 0; i < kRequests; ++i) {
    const HttpAnswer answer = client.Get("/healthz");
    if (answer.complete && answer.status() == 200)
      kept.ms.push_back(answer.ms);
    else
      ++kept.failures;
  }
  r.Add("keepalive_req_per_s", kRequests / (watch.ElapsedMs() / 1000), 0);
  r.Add("keepalive_p50_ms", kept.Median(), 3);
  r.Add("keepalive_p99_ms", kept.P99(), 3);
  r.Add("keepalive_reconnects", client.reconnects(), 0);
  r.Check(kept.failures == 0, std::to_string(kept.failures) + " kept-alive GETs failed");
  watch.Restart();
  const Latencies fresh = ProbeHealthz(target.port(), kRequests, 0ms, target.Bound(2s));
  r.Add("fresh_req_per_s", kRequests / (watch.ElapsedMs() / 1000), 0);
  r.Add("fresh_p50_ms", fresh.Median(), 3);
  r.Add("fresh_p99_ms", fresh.P99(), 3);
  r.Add("fresh_ref_p50_ms", reference.Median(), 3);
  r.Add("fresh_p50_x", Ratio(fresh.Median(), reference.Median()));
  r.Check(fresh.failures == 0, std::to_string(fresh.failures) + " fresh-connection GETs failed");
  AddMemory(target, r, "after");
  CheckStillServing(target, r);
  return r;
}

}  // namespace kvhost::bench

// The attacks of bench/daemon_attack (issue 21's list), each on the running
// daemon of an AttackTarget, in the order the bench runs them. Each returns
// what held and its figures; none leaves the daemon stopped, nor its inputs or
// outputs damaged (what an attack breaks, it repairs before it returns).
#pragma once

#include "base/unique_fd.h"
#include "bench/attack_support.h"

namespace kvhost::bench {

// 1. /healthz on fresh connections (median, p99 of 200, back to back and 25 ms
// apart) and the daemon's memory. Each measured attack takes its own reference
// of the same probes just before it, for its ratios.
AttackResult MeasureBaseline(AttackTarget& target);
// 2. 2,000 idle HTTP connections held open while /healthz is probed.
AttackResult AttackIdleConnections(AttackTarget& target);
// 3. Slowloris: connections that send one header byte a second.
AttackResult AttackSlowloris(AttackTarget& target);
// 4. A 1 MiB header (431) and a 1 MiB request target (414).
AttackResult AttackHugeHeader(AttackTarget& target);
// 5. 10,000 sequential GETs of /healthz, kept alive and on fresh connections.
AttackResult AttackSequentialGets(AttackTarget& target);
// 6. Bad frames on the control socket.
AttackResult AttackControlFrames(AttackTarget& target);
// 7. A peer that is not root on the control socket.
AttackResult AttackNonRootPeer(AttackTarget& target);
// 8. The output files replaced by symlinks to a file that is not the daemon's.
AttackResult AttackSymlinkedOutputs(AttackTarget& target);
// 9. A full, then read-only, file system under the feature file.
AttackResult AttackFullAndReadOnlyFs(AttackTarget& target);
// 10. 20 SIGKILLs under a load of GETs, each restart to READY=1.
AttackResult AttackKillsUnderLoad(AttackTarget& target);
// 11. 200 SIGHUPs, valid and invalid configs in turn.
AttackResult AttackReloadStorm(AttackTarget& target);
// 12. Garbage in the files the refresh re-reads.
AttackResult AttackRefreshGarbage(AttackTarget& target);

// Every attack after the baseline, numbered as above.
struct Attack {
  int number;
  const char* name;
  AttackResult (*run)(AttackTarget&);
};
inline constexpr Attack kAttacks[] = {
    {2, "2,000 idle HTTP connections", AttackIdleConnections},
    {3, "slowloris", AttackSlowloris},
    {4, "1 MiB header / target", AttackHugeHeader},
    {5, "10,000 sequential GETs", AttackSequentialGets},
    {6, "bad control frames", AttackControlFrames},
    {7, "non-root control peer", AttackNonRootPeer},
    {8, "symlinked output files", AttackSymlinkedOutputs},
    {9, "full / read-only output fs", AttackFullAndReadOnlyFs},
    {10, "20 SIGKILLs under load", AttackKillsUnderLoad},
    {11, "200 SIGHUPs valid/invalid", AttackReloadStorm},
    {12, "garbage in refreshed files", AttackRefreshGarbage},
};

// Shared by the attacks: the ratio of a latency to its reference's (0 when
// the reference is 0), and the check every attack ends with.
double Ratio(double value, double reference);
void CheckStillServing(AttackTarget& target, AttackResult& result);
// rss_<when>_mib and anon_<when>_mib of the daemon now.
void AddMemory(AttackTarget& target, AttackResult& result, const std::string& when);
// A reconcile through the control socket, as the CLI asks it: "" when it
// succeeded, else the daemon's error or why no answer came.
std::string ReconcileThroughControlSocket(AttackTarget& target);

}  // namespace kvhost::bench

// Attacks 6 and 7: the control socket fed bad frames, and a peer that is not root.
#include <fcntl.h>
#include <grp.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>

#include <cstring>
#include <random>

#include "agent/control/control_protocol.h"
#include "bench/attacks.h"

namespace kvhost::bench {

using namespace std::chrono_literals;

namespace {

constexpr uid_t kNobody = 65534;

UniqueFd ConnectControl(const fs::path& path, std::chrono::milliseconds timeout) {
  UniqueFd fd(socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0));
  timeval bound{.tv_sec = timeout.count() / 1000, .tv_usec = (timeout.count() % 1000) * 1000};
  setsockopt(fd.get(), SOL_SOCKET, SO_RCVTIMEO, &bound, sizeof bound);
  setsockopt(fd.get(), SOL_SOCKET, SO_SNDTIMEO, &bound, sizeof bound);
  sockaddr_un address{};
  address.sun_family = AF_UNIX;
  std::snprintf(address.sun_path, sizeof address.sun_path, "%s", path.c_str());
  if (connect(fd.get(), reinterpret_cast<sockaddr*>(&address), sizeof address) != 0)
    return UniqueFd();
  return fd;
}

struct ControlAnswer {
  bool answered = false;  // a whole response frame came back
  bool closed = false;    // the daemon closed the connection (with or without one)
  v1::ControlResponse response;
  double ms = 0;
};

// Reads until the daemon closes the connection or the timeout passes.
ControlAnswer ReadControlAnswer(int fd, Stopwatch& watch) {
  ControlAnswer out;
  std::string bytes;
  char buffer[4096];
  ssize_t n = 0;
  while ((n = recv(fd, buffer, sizeof buffer, 0)) > 0) bytes.append(buffer, static_cast<size_t>(n));
  out.closed = n == 0 || (n < 0 && errno == ECONNRESET);
  out.ms = watch.ElapsedMs();
  std::string why;
  const auto length =
      control::FrameLength(std::string_view(bytes).substr(0, 4), control::kMaxResponseBytes, &why);
  out.answered = length && bytes.size() == 4 + *length &&
                 out.response.ParseFromArray(bytes.data() + 4, static_cast<int>(*length));
  return out;
}

// Sends `bytes` (then, with `half_close`, the end of what this peer sends).
ControlAnswer ExchangeControl(const fs::path& path, const std::string& bytes, bool half_close,
                              std::chrono::milliseconds timeout) {
  Stopwatch watch;
  UniqueFd fd = ConnectControl(path, timeout);
  if (!fd.valid()) return {};
  send(fd.get(), bytes.data(), bytes.size(), MSG_NOSIGNAL);
  if (half_close) shutdown(fd.get(), SHUT_WR);
  return ReadControlAnswer(fd.get(), watch);
}

std::string RandomBytes(std::mt19937& random, size_t count) {
  std::string bytes(count, '\0');
  for (char& c : bytes) c = static_cast<char>(random() & 0xff);
  return bytes;
}

std::string ReconcileFrame() {
  v1::ControlRequest request;
  request.mutable_reconcile();
  return control::EncodeFrame(request);
}

struct BadFrame {
  std::string name;
  std::string bytes;
  bool half_close;
  std::string error;  // what the answer's error names; empty: no answer, the connection closed
};

std::vector<BadFrame> BadFrames() {
  std::mt19937 random(21);  // the number: the same bytes every run
  v1::ControlRequest no_action;
  no_action.set_json(true);
  v1::ControlRequest control_chars;
  control_chars.mutable_pin()->set_domain("vm\n\x1b[31merror: forged log line");
  return {
      {"length 2^32-1", control::FrameHeader(0xffffffff), false, "frame length 4294967295"},
      {"length 0", control::FrameHeader(0), false, "frame length 0 is not within"},
      {"length 16 KiB + 1", control::FrameHeader(16385), false, "frame length 16385"},
      {"truncated header", std::string("\0\0", 2), true, ""},
      {"truncated body", control::FrameHeader(100) + RandomBytes(random, 10), true, ""},
      {"random payload", control::FrameHeader(64) + RandomBytes(random, 64), false, "control"},
      {"random stream", RandomBytes(random, 4096), false, "control"},
      {"no action", control::EncodeFrame(no_action), false, "names no action"},
      {"control chars", control::EncodeFrame(control_chars), false, "not printable ASCII"},
  };
}

// Eight sessions that never finish their header fill the socket: a ninth
// client is turned away until their 5 s deadline frees the slots.
void AttackSlots(AttackTarget& target, AttackResult& r) {
  Stopwatch watch;
  std::vector<UniqueFd> stuck;
  for (int i = 0; i < 8; ++i) {
    // Bounded past the daemon's 5 s deadline, which is what closes them.
    stuck.push_back(ConnectControl(target.control_socket(), target.Bound(8s)));
    send(stuck.back().get(), "\0\0", 2, MSG_NOSIGNAL);
  }
  std::this_thread::sleep_for(100ms);  // accepted
  const ControlAnswer ninth =
      ExchangeControl(target.control_socket(), ReconcileFrame(), false, target.Bound(2s));
  r.Add("ninth_refused_at_limit", !ninth.answered, 0);
  std::vector<double> freed_s;
  for (const UniqueFd& fd : stuck) {
    char byte = 0;
    const ssize_t n = recv(fd.get(), &byte, 1, 0);  // SO_RCVTIMEO bounds it
    if (n == 0 || (n < 0 && errno == ECONNRESET)) freed_s.push_back(watch.ElapsedMs() / 1000);
  }
  r.Check(freed_s.size() == 8, "8 stuck sessions closed at the 5 s deadline");
  r.Add("stuck_closed_after_s", Median(freed_s), 2);
  const ControlAnswer after =
      ExchangeControl(target.control_socket(), ReconcileFrame(), false, target.Bound(10s));
  r.Check(after.answered && after.response.error().empty(),
          "a reconcile answered once the slots are free (" + after.response.error() + ")");
  r.Add("reconcile_after_ms", after.ms, 1);
}

}  // namespace

std::string ReconcileThroughControlSocket(AttackTarget& target) {
  const ControlAnswer a =
      ExchangeControl(target.control_socket(), ReconcileFrame(), false, target.Bound(10s));
  if (!a.answered) return "no answer on " + target.control_socket().string();
  return a.response.error();
}

AttackResult AttackControlFrames(AttackTarget& target) {
  AttackResult r(6, "bad control frames");
  size_t answered = 0, closed_quietly = 0;
  std::vector<double> ms;
  for (const BadFrame& bad : BadFrames()) {
    const ControlAnswer a =
        ExchangeControl(target.control_socket(), bad.bytes, bad.half_close, target.Bound(6s));
    ms.push_back(a.ms);
    if (bad.error.empty()) {
      closed_quietly += a.closed && !a.answered;
      r.Check(a.closed && a.ms < 1000.0 * target.options().slowness,
              bad.name + ": the connection closed at once");
    } else {
      answered += a.answered;
      r.Check(a.answered && a.response.exit_code() == 2 &&
                  a.response.error().find(bad.error) != std::string::npos,
              bad.name + ": answered exit 2 naming '" + bad.error + "' (got '" +
                  a.response.error() + "')");
    }
    r.Check(target.Alive(), bad.name + ": the daemon alive");
  }
  r.Add("answered_with_reason", static_cast<double>(answered), 0);
  r.Add("closed_at_once", static_cast<double>(closed_quietly), 0);
  r.Add("frame_answer_median_ms", Median(ms), 2);
  r.Check(target.LogCount("error: forged log line") == 0, "no forged line in the log");
  AttackSlots(target, r);
  AddMemory(target, r, "after");
  CheckStillServing(target, r);
  return r;
}

namespace {

struct PeerOutcome {
  int connect_errno = -1;  // 0: connected
  bool sent = false;       // the request was sent (not refused with EPIPE)
  std::string answer;      // the bytes the daemon sent
};

// In a child that dropped root for nobody: connect, send `frame`, read the
// answer, report both through a pipe. The bench runs no other thread during
// this attack, so the forked child may call what it likes.
PeerOutcome AsNobody(const fs::path& socket_path, const std::string& frame,
                     std::chrono::milliseconds timeout) {
  int pipe_fds[2];
  if (pipe2(pipe_fds, O_CLOEXEC) != 0) throw std::runtime_error("pipe2 failed");
  UniqueFd read_end(pipe_fds[0]), write_end(pipe_fds[1]);
  const pid_t child = fork();
  if (child < 0) throw std::runtime_error("fork failed");
  if (child == 0) {
    if (setgroups(0, nullptr) != 0 || setgid(kNobody) != 0 || setuid(kNobody) != 0) _exit(3);
    UniqueFd fd = ConnectControl(socket_path, timeout);
    const int error = fd.valid() ? 0 : errno;
    // The daemon answers a refused peer at once, without reading: a send
    // after its close fails (EPIPE), and its answer is still there to read.
    const bool sent = fd.valid() && send(fd.get(), frame.data(), frame.size(), MSG_NOSIGNAL) > 0;
    (void)!write(write_end.get(), &error, sizeof error);
    (void)!write(write_end.get(), sent ? "s" : "-", 1);
    char buffer[4096];
    for (ssize_t n; fd.valid() && (n = recv(fd.get(), buffer, sizeof buffer, 0)) > 0;)
      (void)!write(write_end.get(), buffer, static_cast<size_t>(n));
    _exit(0);
  }
  write_end = UniqueFd();
  PeerOutcome out;
  std::string bytes;
  char buffer[4096];
  pollfd p{.fd = read_end.get(), .events = POLLIN, .revents = 0};
  for (ssize_t n = 1; n > 0 && poll(&p, 1, static_cast<int>(timeout.count()) * 2) > 0;)
    if ((n = read(read_end.get(), buffer, sizeof buffer)) > 0)
      bytes.append(buffer, static_cast<size_t>(n));
  kill(child, SIGKILL);  // gone already, unless it hung
  waitpid(child, nullptr, 0);
  if (bytes.size() > sizeof(int)) {
    std::memcpy(&out.connect_errno, bytes.data(), sizeof(int));
    out.sent = bytes[sizeof(int)] == 's';
    out.answer = bytes.substr(sizeof(int) + 1);
  }
  return out;
}

// Opens the socket's path to others for as long as it lives (the daemon made
// the socket 0600 under a 0700 dir, as deployed), then puts the modes back.
class OpenToOthers {
 public:
  explicit OpenToOthers(std::vector<fs::path> paths) : paths_(std::move(paths)) {
    for (const fs::path& p : paths_) {
      modes_.push_back(fs::status(p).permissions());
      fs::permissions(p, fs::perms::others_all, fs::perm_options::add);
    }
  }
  ~OpenToOthers() {
    std::error_code ignored;
    for (size_t i = 0; i < paths_.size(); ++i)
      fs::permissions(paths_[i], modes_[i], fs::perm_options::replace, ignored);
  }
  OpenToOthers(const OpenToOthers&) = delete;
  OpenToOthers& operator=(const OpenToOthers&) = delete;

 private:
  std::vector<fs::path> paths_;
  std::vector<fs::perms> modes_;
};

}  // namespace

AttackResult AttackNonRootPeer(AttackTarget& target) {
  AttackResult r(7, "non-root control peer");
  const std::string frame = ReconcileFrame();
  const PeerOutcome deployed = AsNobody(target.control_socket(), frame, target.Bound(5s));
  r.Check(deployed.connect_errno == EACCES,
          "as deployed (0600 socket, 0700 dir) nobody cannot connect (errno " +
              std::to_string(deployed.connect_errno) + ")");
  r.Add("deployed_connect_eacces", deployed.connect_errno == EACCES, 0);
  const size_t logged_before = target.LogCount("refused uid 65534");
  size_t refused = 0, send_failed = 0;
  {
    OpenToOthers open({target.w(), target.w() / "run", target.control_socket()});
    for (int attempt = 0; attempt < 5; ++attempt) {
      const PeerOutcome peer = AsNobody(target.control_socket(), frame, target.Bound(5s));
      refused +=
          peer.connect_errno == 0 && peer.answer.find("uid 65534 may not pin") != std::string::npos;
      send_failed += peer.connect_errno == 0 && !peer.sent;
    }
  }
  r.Add("opened_socket_refusals", static_cast<double>(refused), 0);
  // The daemon closed before the request was sent: a client that gives up on
  // a failed send (not this one) loses the refusal's reason.
  r.Add("refused_before_send", static_cast<double>(send_failed), 0);
  r.Check(refused == 5, "5 of 5 attempts through an opened socket refused by SO_PEERCRED");
  target.WaitForLog("refused uid 65534", logged_before + 1, 2s);
  const size_t logged = target.LogCount("refused uid 65534") - logged_before;
  r.Add("refusals_logged", static_cast<double>(logged), 0);
  r.Check(logged == 1, "the refusal logged once (" + std::to_string(logged) + ")");
  const ControlAnswer root =
      ExchangeControl(target.control_socket(), frame, false, target.Bound(10s));
  r.Check(root.answered && root.response.error().empty(), "root's reconcile still answered");
  AddMemory(target, r, "after");
  CheckStillServing(target, r);
  return r;
}

}  // namespace kvhost::bench

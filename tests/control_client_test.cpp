// The CLI's side of the control socket (agent/control/control_client.h)
// against a stand-in daemon on a real unix socket.
#include "agent/control/control_client.h"

#include <gtest/gtest.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <thread>

#include "agent/control/control_protocol.h"
#include "base/temp_dir.h"
#include "base/unique_fd.h"

namespace kvhost::control {
namespace {

using namespace std::chrono_literals;

UniqueFd Listen(const std::filesystem::path& path) {
  UniqueFd fd(socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0));
  sockaddr_un address{};
  address.sun_family = AF_UNIX;
  std::snprintf(address.sun_path, sizeof address.sun_path, "%s", path.c_str());
  if (bind(fd.get(), reinterpret_cast<sockaddr*>(&address), sizeof address) != 0 ||
      listen(fd.get(), 4) != 0)
    return UniqueFd();
  return fd;
}

// The daemon answers a peer of another uid at once and closes without reading
// its request (as it does a frame over its limit), so the client's send can
// fail after the answer came: bench/daemon_attack saw a refused peer's send
// fail with EPIPE, and the CLI then said "Broken pipe" instead of the reason.
// A request far larger than a socket buffer makes that order certain: the
// send is still blocked when the stand-in closes.
TEST(ControlClient, ReadsTheAnswerOfADaemonThatClosedBeforeTakingTheRequest) {
  TempDir dir;
  const auto path = dir.path() / "control.sock";
  UniqueFd listener = Listen(path);
  ASSERT_TRUE(listener.valid()) << std::strerror(errno);
  v1::ControlResponse refusal;
  refusal.set_exit_code(2);
  refusal.set_error("control socket: uid 65534 may not pin (only uid 0)");
  std::thread daemon([&] {
    UniqueFd peer(accept4(listener.get(), nullptr, nullptr, SOCK_CLOEXEC));
    const std::string answer = EncodeFrame(refusal);
    ASSERT_EQ(write(peer.get(), answer.data(), answer.size()), static_cast<ssize_t>(answer.size()));
  });  // closes its end with the request unread
  v1::ControlRequest request;
  request.mutable_pin()->set_domain(std::string(4 << 20, 'a'));
  std::optional<v1::ControlResponse> response;
  EXPECT_NO_THROW(response = AskDaemon(path, request, 5s));
  daemon.join();
  ASSERT_TRUE(response.has_value());
  EXPECT_EQ(response->exit_code(), 2);
  EXPECT_EQ(response->error(), refusal.error());
}

// No answer at all: the failed send is what the CLI reports.
TEST(ControlClient, ADaemonThatClosesWithoutAnAnswerFailsNamingTheSend) {
  TempDir dir;
  const auto path = dir.path() / "control.sock";
  UniqueFd listener = Listen(path);
  ASSERT_TRUE(listener.valid()) << std::strerror(errno);
  std::thread daemon([&] { UniqueFd peer(accept4(listener.get(), nullptr, nullptr, 0)); });
  v1::ControlRequest request;
  request.mutable_pin()->set_domain(std::string(4 << 20, 'a'));
  try {
    AskDaemon(path, request, 5s);
    ADD_FAILURE() << "no answer, yet no error";
  } catch (const std::runtime_error& e) {
    EXPECT_NE(std::string(e.what()).find("sending the request"), std::string::npos) << e.what();
  }
  daemon.join();
}

}  // namespace
}  // namespace kvhost::control

// services/builder/process.h: the builder's children, their output, and that nothing a step
// starts outlives the step or the builder (PID namespace per step, PR_SET_PDEATHSIG). Real
// processes, no servers. Needs root for the namespace, as the builder itself does.
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <thread>

#include "builder/process.h"
#include "common/ids.h"
#include "support/process.h"

namespace kiln::builder {
namespace {

// Processes whose command line contains `needle`.
int processes_with(const std::string& needle) {
  return static_cast<int>(testing::processes_matching(needle).size());
}

bool wait_gone(const std::string& needle, std::chrono::seconds limit) {
  const auto deadline = std::chrono::steady_clock::now() + limit;
  while (std::chrono::steady_clock::now() < deadline) {
    if (processes_with(needle) == 0) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  return processes_with(needle) == 0;
}

// A sleep nobody else runs: GNU sleep takes fractions, and the fraction names the test.
std::string unique_sleep() {
  const std::string id = random_id();
  std::string digits;
  for (char c : id) digits += std::to_string(static_cast<unsigned char>(c) % 10);
  return "600." + digits.substr(0, 12);
}

TEST(ProcessTest, OutputLinesAndExitCode) {
  auto captured = capture_process({"sh", "-c", "echo out; echo err >&2; exit 3"});
  ASSERT_TRUE(captured.ok()) << captured.error().describe();
  EXPECT_EQ(captured->exit_code, 3);
  EXPECT_NE(captured->output.find("out\n"), std::string::npos);
  EXPECT_NE(captured->output.find("err\n"), std::string::npos);
}

TEST(ProcessTest, ExtraEnvironmentAndWorkingDirectoryReachTheChild) {
  auto captured = capture_process({"sh", "-c", "echo $KILN_TEST_VALUE; pwd"}, "/tmp",
                                  std::chrono::seconds(30), {{"KILN_TEST_VALUE", "seen"}});
  ASSERT_TRUE(captured.ok()) << captured.error().describe();
  EXPECT_EQ(captured->output, "seen\n/tmp\n");
}

TEST(ProcessTest, UnknownCommandExits127) {
  auto captured = capture_process({"kiln-no-such-command-here"});
  ASSERT_TRUE(captured.ok()) << captured.error().describe();
  EXPECT_EQ(captured->exit_code, 127);
  EXPECT_NE(captured->output.find("command not found"), std::string::npos) << captured->output;
}

TEST(ProcessTest, CancelEndsEvenWhatLeftTheProcessGroup) {
  const std::string duration = unique_sleep();
  CancelFlag cancel;
  ProcessOptions options;
  // The daemon leaves the step's process group and session; only the namespace still holds it.
  options.argv = {"sh", "-c", "setsid sleep " + duration + " & echo started; sleep " + duration};
  options.cancel = &cancel;
  options.kill_grace = std::chrono::milliseconds(500);
  options.on_line = [&cancel](OutputStream, std::string_view line) {
    if (line == "started") cancel.cancel();
  };
  auto result = run_process(options);
  ASSERT_TRUE(result.ok()) << result.error().describe();
  EXPECT_TRUE(result->cancelled);
  EXPECT_TRUE(wait_gone(duration, std::chrono::seconds(5)))
      << processes_with(duration) << " process(es) of the step still alive";
}

TEST(ProcessTest, StepDiesWithAKilledBuilder) {
  const std::string duration = unique_sleep();
  // The "builder": a process of its own that runs the step, then is killed with SIGKILL.
  const pid_t builder = fork();
  ASSERT_GE(builder, 0);
  if (builder == 0) {
    ProcessOptions options;
    options.argv = {"sh", "-c", "setsid sleep " + duration + " & sleep " + duration};
    (void)run_process(options);
    _exit(0);
  }
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  while (processes_with(duration) < 2 && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  ASSERT_GE(processes_with(duration), 2);
  kill(builder, SIGKILL);
  int status = 0;
  waitpid(builder, &status, 0);
  EXPECT_TRUE(wait_gone(duration, std::chrono::seconds(5)))
      << processes_with(duration) << " process(es) outlived the builder";
}

}  // namespace
}  // namespace kiln::builder

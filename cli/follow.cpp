// `--follow`: the live view of a build. On a terminal, a progress bar with the current step is
// redrawn under the log lines; otherwise plain lines. The final state is read from the build
// itself, not inferred from the stream, so a dropped connection cannot mislead the exit code.
#include <Poco/JSON/Object.h>
#include <unistd.h>

#include <chrono>
#include <iostream>
#include <thread>

#include "cli/cli_error.h"
#include "cli/commands.h"
#include "cli/output.h"

namespace kiln::cli {
namespace {

bool is_terminal_status(const std::string& status) {
  return status == "succeeded" || status == "failed" || status == "cancelled";
}

class LiveView {
 public:
  explicit LiveView(bool tty) : tty_(tty) {}

  void log_line(const std::string& text) {
    clear_bar();
    std::cout << text << "\n";
    draw_bar();
  }
  void step_started(int n, int total, const std::string& instruction) {
    step_ = n;
    total_ = total;
    instruction_ = instruction;
    if (!tty_) std::cout << "--- step " << n << "/" << total << ": " << instruction << "\n";
    draw_bar();
  }
  void step_finished(int n, bool cached, long long duration_ms) {
    if (!tty_) {
      std::cout << "--- step " << n << " done in " << duration_ms << " ms"
                << (cached ? " (cached)" : "") << "\n";
    }
  }
  void status(const std::string& status) {
    if (status == status_) return;
    status_ = status;
    if (!tty_) std::cout << "--- status: " << status << "\n";
    draw_bar();
  }
  void finish() {
    clear_bar();
    std::cout.flush();
  }

 private:
  void clear_bar() {
    if (tty_ && drawn_) std::cout << "\r\033[2K";
    drawn_ = false;
  }
  void draw_bar() {
    if (!tty_) return;
    constexpr int kWidth = 30;
    const int filled = total_ > 0 ? kWidth * step_ / total_ : 0;
    std::string bar(static_cast<size_t>(filled), '#');
    bar.resize(kWidth, '.');
    std::string text = instruction_.size() > 60 ? instruction_.substr(0, 57) + "..." : instruction_;
    std::cout << "\r\033[2K[" << bar << "] " << status_;
    if (total_ > 0) std::cout << " " << step_ << "/" << total_ << " " << text;
    std::cout.flush();
    drawn_ = true;
  }

  bool tty_;
  bool drawn_ = false;
  int step_ = 0, total_ = 0;
  std::string instruction_, status_ = "requested";
};

}  // namespace

// A build just requested reaches the query side a moment later (analytics reads the log): wait
// for it to appear instead of reporting "not found".
void wait_until_known(Context& ctx, const std::string& build_id) {
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(30);
  for (;;) {
    try {
      ctx.api->query("/v1/builds/" + build_id);
      return;
    } catch (const CliError& e) {
      if (e.http_status() != 404 || std::chrono::steady_clock::now() > deadline) throw;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
}

int follow_build(Context& ctx, const std::string& build_id) {
  wait_until_known(ctx, build_id);
  const bool tty = !ctx.json_output && !ctx.plain && isatty(STDOUT_FILENO);
  LiveView view(tty);
  std::string last_id;
  bool done = false;
  // Reconnect a few times: the stream resumes from the last event seen (Last-Event-ID).
  for (int attempt = 0; attempt < 30 && !done; ++attempt) {
    try {
      ctx.api->stream_events(
          "/v1/builds/" + build_id + "/events", last_id,
          [&](const std::string& type, const std::string& id, const std::string& data) {
            if (!id.empty()) last_id = id;
            if (ctx.json_output) {
              std::cout << data << "\n";
            }
            Poco::JSON::Object::Ptr event;
            try {
              event = parse_object(data, "event");
            } catch (const CliError&) {
              return true;
            }
            if (ctx.json_output) {
            } else if (type == "log") {
              view.log_line(event->optValue<std::string>("text", ""));
            } else if (type == "step" &&
                       event->optValue<std::string>("type", "") == "step_finished") {
              view.step_finished(event->optValue<int>("step", 0),
                                 event->optValue<bool>("cached", false),
                                 event->optValue<long long>("duration_ms", 0));
            } else if (type == "step") {
              view.step_started(event->optValue<int>("step", 0), event->optValue<int>("total", 0),
                                event->optValue<std::string>("instruction", ""));
            } else if (type == "status") {
              view.status(event->optValue<std::string>("status", ""));
            }
            if (type == "done") {
              done = true;
              return false;
            }
            return true;
          });
      done = true;
    } catch (const CliError& e) {
      if (e.exit_code() == kExitApiError) throw;
      std::this_thread::sleep_for(std::chrono::seconds(1));
    }
  }
  view.finish();
  // The projection may trail the stream by a moment: wait until it shows the end.
  Poco::JSON::Object::Ptr build;
  for (int i = 0; i < 100; ++i) {
    build = ctx.api->query("/v1/builds/" + build_id);
    if (is_terminal_status(build->optValue<std::string>("status", ""))) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(200));
  }
  return print_outcome(ctx, build);
}

}  // namespace kiln::cli

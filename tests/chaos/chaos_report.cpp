#include "chaos/chaos_report.h"

#include <cstdio>
#include <mutex>

namespace kiln::chaos {
namespace {

struct CurrentCase {
  std::mutex mutex;
  std::string fault;
  std::string expected;
  std::string observed;
};

CurrentCase& current() {
  static CurrentCase c;
  return c;
}

std::string cell(std::string text) {
  for (char& c : text) {
    if (c == '|' || c == '\n') c = c == '|' ? '/' : ' ';
  }
  return text.empty() ? "-" : text;
}

class Reporter : public ::testing::EmptyTestEventListener {
 public:
  void OnTestEnd(const ::testing::TestInfo& info) override {
    auto& c = current();
    std::lock_guard lock(c.mutex);
    const bool passed = info.result()->Passed();
    const bool skipped = info.result()->Skipped();
    (passed || skipped ? passed_ : failed_) += skipped ? 0 : 1;
    std::printf("CHAOS| %s | %s | %s | %s | %s\n", info.name(), cell(c.fault).c_str(),
                cell(c.expected).c_str(), cell(c.observed).c_str(),
                skipped ? "SKIPPED" : (passed ? "PASS" : "FAIL"));
    std::fflush(stdout);
    c.fault.clear();
    c.expected.clear();
    c.observed.clear();
  }
  void OnTestProgramEnd(const ::testing::UnitTest&) override {
    std::printf("CHAOS| %d passed, %d failed\n", passed_, failed_);
    std::fflush(stdout);
  }

 private:
  int passed_ = 0;
  int failed_ = 0;
};

}  // namespace

Case::Case(std::string fault, std::string expected) {
  auto& c = current();
  std::lock_guard lock(c.mutex);
  c.fault = std::move(fault);
  c.expected = std::move(expected);
  c.observed.clear();
}

Case::~Case() = default;

void Case::observed(const std::string& what) {
  auto& c = current();
  std::lock_guard lock(c.mutex);
  if (!c.observed.empty()) c.observed += "; ";
  c.observed += what;
}

void install_reporter() { ::testing::UnitTest::GetInstance()->listeners().Append(new Reporter); }

}  // namespace kiln::chaos

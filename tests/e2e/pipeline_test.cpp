// kiln end to end: every service a real process, every server real. The Git host is the test.
#include <Poco/JSON/Array.h>
#include <gtest/gtest.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <memory>
#include <set>
#include <thread>

#include "bus/bus.h"
#include "common/ids.h"
#include "e2e/e2e_stack.h"
#include "secrets/build_secrets.h"

namespace kiln::e2e {
namespace {

std::unique_ptr<Stack> g_stack;

class StackEnvironment : public ::testing::Environment {
 public:
  void SetUp() override { g_stack = std::make_unique<Stack>(); }
  void TearDown() override { g_stack.reset(); }
};

const auto* const kEnvironment = ::testing::AddGlobalTestEnvironment(new StackEnvironment);

// Starts a build by webhook and returns its id.
std::string webhook_build(const std::string& project, const std::string& repo,
                          const std::string& ref, const std::string& sha) {
  auto reply = g_stack->push_webhook("e2e/" + project, "file://" + repo, ref, sha, random_id());
  EXPECT_EQ(reply.status, 202) << reply.body;
  return str(reply.json(), "build_id");
}

std::string registry_manifest_digest(const std::string& repository, const std::string& reference) {
  std::string out;
  testing::run_command(
      "curl -sSI -H 'Accept: application/vnd.oci.image.manifest.v1+json' "
      "-H 'Accept: application/vnd.docker.distribution.manifest.v2+json' "
      "http://" +
          g_stack->registry() + "/v2/" + repository + "/manifests/" + reference +
          " | tr -d '\\r' | sed -n 's/^[Dd]ocker-[Cc]ontent-[Dd]igest: //p'",
      &out);
  while (!out.empty() && out.back() == '\n') out.pop_back();
  return out;
}

// The config blob of the image `reference` in `repository`, as the registry serves it.
std::string registry_image_config(const std::string& repository, const std::string& reference) {
  const std::string base = "http://" + g_stack->registry() + "/v2/" + repository;
  std::string out;
  testing::run_command("curl -sS -H 'Accept: application/vnd.oci.image.manifest.v1+json' " + base +
                           "/manifests/" + reference + " | jq -r .config.digest",
                       &out);
  while (!out.empty() && out.back() == '\n') out.pop_back();
  std::string config;
  testing::run_command("curl -sSL " + base + "/blobs/" + out, &config);
  return config;
}

TEST(EndToEnd, SignedWebhookBecomesAPushedImageTheRegistryServes) {
  const std::string repo = g_stack->make_repo(
      "webapp",
      dockerfile(g_stack->registry(),
                 "ARG GREETING=hi\nRUN echo \"$GREETING\" > /greeting\nCOPY hello.txt /hello.txt\n"
                 "RUN cat /greeting /hello.txt\n"));
  g_stack->apply_project(project_json("webapp", repo, R"(,"build_args":{"GREETING":"hello e2e"})"));
  const std::string sha = g_stack->commit(repo, "first change");
  const std::string id = webhook_build("webapp", repo, "refs/heads/main", sha);
  ASSERT_FALSE(id.empty());
  auto build = g_stack->wait_finished(id);
  ASSERT_TRUE(build) << g_stack->logs();
  ASSERT_EQ(str(build, "status"), "succeeded") << str(build, "failure_reason") << "\n"
                                               << g_stack->logs();
  const std::string digest = str(build, "digest");
  EXPECT_EQ(digest.rfind("sha256:", 0), 0u);
  EXPECT_EQ(registry_manifest_digest("e2e/webapp", digest), digest);
  EXPECT_EQ(registry_manifest_digest("e2e/webapp", "latest"), digest) << "tag policy: latest";
  EXPECT_EQ(registry_manifest_digest("e2e/webapp", "sha-" + sha.substr(0, 7)), digest);
  // The log carries the RUN output with the build argument.
  auto logs = http("GET", g_stack->analytics_url() + "/v1/builds/" + id + "/logs?from=1", "",
                   {{"Authorization", std::string("Bearer ") + kAdminToken}});
  EXPECT_NE(logs.body.find("hello e2e"), std::string::npos) << logs.body;
}

TEST(EndToEnd, RedeliveredWebhookMakesOneBuild) {
  const std::string repo =
      g_stack->make_repo("redelivery", dockerfile(g_stack->registry(), "RUN echo once\n"));
  g_stack->apply_project(project_json("redelivery", repo));
  const std::string sha = g_stack->commit(repo, "change");
  const std::string delivery = random_id();
  auto first =
      g_stack->push_webhook("e2e/redelivery", "file://" + repo, "refs/heads/main", sha, delivery);
  auto second =
      g_stack->push_webhook("e2e/redelivery", "file://" + repo, "refs/heads/main", sha, delivery);
  ASSERT_EQ(first.status, 202) << first.body;
  ASSERT_TRUE(second.status == 200 || second.status == 202) << second.body;
  EXPECT_EQ(str(first.json(), "build_id"), str(second.json(), "build_id"));
  auto build = g_stack->wait_finished(str(first.json(), "build_id"));
  ASSERT_EQ(str(build, "status"), "succeeded") << g_stack->logs();
  auto list = http("GET", g_stack->analytics_url() + "/v1/builds?project=redelivery", "",
                   {{"Authorization", std::string("Bearer ") + kAdminToken}});
  ASSERT_EQ(list.status, 200) << list.body;
  EXPECT_EQ(list.json()->getArray("builds")->size(), 1u) << list.body;
}

TEST(EndToEnd, FailingDockerfileFailsInBuildStageWithLogLines) {
  const std::string repo = g_stack->make_repo(
      "broken", dockerfile(g_stack->registry(), "RUN echo about to fail && exit 3\n"));
  g_stack->apply_project(project_json("broken", repo));
  const std::string id =
      webhook_build("broken", repo, "refs/heads/main", g_stack->commit(repo, "break it"));
  auto build = g_stack->wait_finished(id);
  ASSERT_TRUE(build);
  EXPECT_EQ(str(build, "status"), "failed");
  EXPECT_EQ(str(build, "failure_stage"), "build") << str(build, "failure_reason");
  auto logs = http("GET", g_stack->analytics_url() + "/v1/builds/" + id + "/logs?from=1", "",
                   {{"Authorization", std::string("Bearer ") + kAdminToken}});
  EXPECT_NE(logs.body.find("about to fail"), std::string::npos) << logs.body;
}

TEST(EndToEnd, CancelWhileBuildingStopsTheBuild) {
  // The check below looks at every process on the machine: a duration nothing else uses tells
  // this step's `sleep` from anyone else's (a developer's `sleep 120` once failed this test).
  const std::string sleeper = "sleep " + std::to_string(7000 + random_id()[0] % 97) + "3";
  const std::string repo = g_stack->make_repo(
      "slow", dockerfile(g_stack->registry(), "RUN echo sleeping && " + sleeper + "\n"));
  g_stack->apply_project(project_json("slow", repo));
  const std::string id =
      webhook_build("slow", repo, "refs/heads/main", g_stack->commit(repo, "slow change"));
  auto building = g_stack->wait_status(id, "building");
  ASSERT_EQ(str(building, "status"), "building") << g_stack->logs();
  std::this_thread::sleep_for(std::chrono::seconds(2));  // into the RUN step
  auto cancel = http("DELETE", g_stack->ingest_url() + "/v1/builds/" + id, "",
                     {{"Authorization", std::string("Bearer ") + kAdminToken}});
  ASSERT_EQ(cancel.status, 202) << cancel.body;
  const auto asked = std::chrono::steady_clock::now();
  auto build = g_stack->wait_finished(id, 60);
  EXPECT_EQ(str(build, "status"), "cancelled") << g_stack->logs();
  EXPECT_LT(std::chrono::steady_clock::now() - asked, std::chrono::seconds(30));
  std::string sleepers;
  const std::string pattern = "'^" + sleeper + "$'";
  testing::run_command("pgrep -f " + pattern + " || true", &sleepers);
  if (!sleepers.empty()) {
    // Who is it: its parent chain, session and PID namespace tell where it escaped from.
    std::string details;
    testing::run_command("for p in $(pgrep -f " + pattern +
                             "); do ps -o pid,ppid,pgid,sid,etimes,args "
                             "-p $p; grep -E 'NSpid|State' /proc/$p/status; done 2>&1",
                         &details);
    sleepers += "\n" + details + "\n" + g_stack->logs();
  }
  EXPECT_TRUE(sleepers.empty()) << "processes left behind: " << sleepers;
}

TEST(EndToEnd, NewerPushSupersedesTheQueuedBuildOfTheSameBranch) {
  // Concurrency 1: a slow build on another branch holds the project's slot, so the two pushes to
  // main wait in the queue, and the newer one supersedes the older.
  const std::string repo = g_stack->make_repo(
      "queue", dockerfile(g_stack->registry(), "COPY change.txt /c\nRUN sleep 8\n"));
  g_stack->apply_project(project_json("queue", repo, R"(,"concurrency":1,"supersede":true)"));
  const std::string blocker =
      webhook_build("queue", repo, "refs/heads/hold", g_stack->create_branch(repo, "hold"));
  g_stack->wait_status(blocker, "building");
  const std::string older =
      webhook_build("queue", repo, "refs/heads/main", g_stack->commit(repo, "older"));
  const std::string newer =
      webhook_build("queue", repo, "refs/heads/main", g_stack->commit(repo, "newer"));
  auto older_build = g_stack->wait_finished(older, 60);
  EXPECT_EQ(str(older_build, "status"), "cancelled") << g_stack->logs();
  auto newer_build = g_stack->wait_finished(newer, 240);
  EXPECT_EQ(str(newer_build, "status"), "succeeded") << g_stack->logs();
  EXPECT_EQ(str(g_stack->wait_finished(blocker, 120), "status"), "succeeded");
}

TEST(EndToEnd, BuilderKilledMidBuildStillCompletesOnce) {
  const std::string repo =
      g_stack->make_repo("crash", dockerfile(g_stack->registry(), "RUN echo working && sleep 6\n"));
  g_stack->apply_project(project_json("crash", repo));
  const std::string id =
      webhook_build("crash", repo, "refs/heads/main", g_stack->commit(repo, "crash change"));
  auto building = g_stack->wait_status(id, "building");
  ASSERT_EQ(str(building, "status"), "building") << g_stack->logs();
  g_stack->builder().kill9();
  g_stack->builder().restart();
  ASSERT_TRUE(g_stack->builder().wait_ready(60000)) << g_stack->logs();
  // Redelivered after the builder consumer's AckWait (30 s), built once, pushed once.
  auto build = g_stack->wait_finished(id, 240);
  ASSERT_EQ(str(build, "status"), "succeeded") << g_stack->logs();
  auto detail = g_stack->build(id);
  int built = 0;
  if (auto history = detail->getArray("history")) {
    for (size_t i = 0; i < history->size(); ++i) {
      auto entry = history->getObject(static_cast<unsigned>(i));
      if (str(entry, "event") == "built" || str(entry, "to_status") == "pushing") ++built;
    }
  }
  EXPECT_EQ(built, 1) << "status history: " << str(detail, "history");
}

TEST(EndToEnd, ScheduleFiresABuild) {
  const std::string repo =
      g_stack->make_repo("nightly", dockerfile(g_stack->registry(), "RUN echo scheduled\n"));
  g_stack->apply_project(project_json(
      "nightly", repo,
      R"(,"schedules":[{"name":"every-minute","cron":"* * * * *","timezone":"UTC"}])"));
  // The next minute boundary fires it; look for a build with trigger schedule.
  std::string id;
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(90);
  while (id.empty() && std::chrono::steady_clock::now() < deadline) {
    auto list = http("GET", g_stack->analytics_url() + "/v1/builds?project=nightly", "",
                     {{"Authorization", std::string("Bearer ") + kAdminToken}});
    if (list.status == 200) {
      auto builds = list.json()->getArray("builds");
      for (size_t i = 0; builds && i < builds->size(); ++i) {
        auto b = builds->getObject(static_cast<unsigned>(i));
        if (str(b, "trigger") == "schedule") id = str(b, "build_id");
      }
    }
    if (id.empty()) std::this_thread::sleep_for(std::chrono::seconds(1));
  }
  ASSERT_FALSE(id.empty()) << "no scheduled build within 90 s\n" << g_stack->logs();
  // Stop the schedule so it does not keep building while the suite runs on.
  g_stack->apply_project(project_json("nightly", repo));
  auto build = g_stack->wait_finished(id);
  EXPECT_EQ(str(build, "status"), "succeeded") << g_stack->logs();
}

std::string cli(const std::string& args, int* rc) {
  std::string out;
  *rc = testing::run_command(g_stack->cli() + " --api " + g_stack->ingest_url() + " --query " +
                                 g_stack->analytics_url() + " --token " + kAdminToken + " " + args +
                                 " 2>&1",
                             &out);
  return out;
}

TEST(EndToEnd, CliBuildFollowEndsWithTheDigest) {
  const std::string repo = g_stack->make_repo(
      "manual", dockerfile(g_stack->registry(), "ARG WHO=nobody\nRUN echo \"built for $WHO\"\n"));
  g_stack->apply_project(project_json("manual", repo));
  int rc = 0;
  const std::string out = cli("build manual --build-arg WHO=cli-user --follow", &rc);
  EXPECT_EQ(rc, 0) << out << g_stack->logs();
  EXPECT_NE(out.find("built for cli-user"), std::string::npos) << out;
  EXPECT_NE(out.find("digest: sha256:"), std::string::npos) << out;
  const auto digest_at = out.find("digest: ");
  ASSERT_NE(digest_at, std::string::npos);
  const std::string digest = out.substr(digest_at + 8, 71);
  EXPECT_EQ(registry_manifest_digest("e2e/manual", digest), digest);
}

TEST(EndToEnd, CliRejectsABadProjectFileNamingFieldAndLine) {
  const std::string path = ::testing::TempDir() + "/bad-project.yaml";
  {
    std::ofstream out(path);
    out << "name: badcron\nrepository_url: file:///nowhere\nschedules:\n"
           "  - name: nightly\n    cron: \"61 * * * *\"\n";
  }
  int rc = 0;
  const std::string out = cli("project apply " + path, &rc);
  EXPECT_EQ(rc, 3) << "exit code of a request the API refused\n" << out;
  EXPECT_NE(out.find(path + ":5: schedules[0].cron: minute"), std::string::npos) << out;
}

// kiln build PATH: .dockerignore keeps a 50 MB file out of what is sent and of the image (an
// exception brings one file back), an unchanged directory is not sent again, a Dockerfile on
// standard input builds with no context, and a wrong token is the API's refusal (exit 3).
TEST(EndToEnd, CliBuildsALocalDirectorySentOnce) {
  const std::string dir = ::testing::TempDir() + "/local-context";
  std::filesystem::create_directories(dir);
  std::ofstream(dir + "/Dockerfile")
      << "FROM " << g_stack->registry() << "/kiln/busybox\nCOPY . /app\n"
      << "RUN test ! -e /app/big.bin && test ! -e /app/noise.log && test -e /app/keep.log "
         "&& echo local-context-ok\n";
  std::ofstream(dir + "/.dockerignore") << "big.bin\n*.log\n!keep.log\n";
  std::ofstream(dir + "/keep.log") << "kept\n";
  std::ofstream(dir + "/noise.log") << "noise\n";
  testing::must_run("head -c 50000000 /dev/urandom > " + dir + "/big.bin");
  const std::string kiln = g_stack->cli() + " --api " + g_stack->ingest_url() + " --query " +
                           g_stack->analytics_url() + " --token " + kAdminToken;
  const std::string image = g_stack->registry() + "/e2e/local";
  const std::string build = "cd " + dir + " && XDG_CACHE_HOME=" + dir + "-cache " + kiln +
                            " build -t " + image +
                            ":dev --label org.example.team=kiln-e2e --progress plain . 2>&1";

  std::string out;
  int rc = testing::run_command(build, &out);
  ASSERT_EQ(rc, 0) << out << g_stack->logs();
  EXPECT_NE(out.find("local-context-ok"), std::string::npos) << out;
  EXPECT_EQ(out.find('\x1b'), std::string::npos) << "escape codes in --progress plain";
  EXPECT_NE(out.find("sending context"), std::string::npos) << out;
  const auto at = out.find(image + "@sha256:");
  ASSERT_NE(at, std::string::npos) << out;
  const std::string digest = out.substr(at + image.size() + 1, 71);
  EXPECT_EQ(registry_manifest_digest("e2e/local", digest), digest);
  const std::string config = registry_image_config("e2e/local", digest);
  EXPECT_NE(config.find("\"org.example.team\":\"kiln-e2e\""), std::string::npos) << config;
  // What was stored is the small context, not the 50 MB file.
  const auto context_at = out.find("(sha256:");
  ASSERT_NE(context_at, std::string::npos) << out;
  const std::string context = out.substr(context_at + 1, 71);
  auto upload = http("GET", g_stack->ingest_url() + "/v1/uploads/" + context, "",
                     {{"Authorization", std::string("Bearer ") + kAdminToken}});
  ASSERT_EQ(upload.status, 200) << upload.body;
  EXPECT_LT(std::stoll(str(upload.json(), "size")), 1 << 20) << upload.body;

  rc = testing::run_command(build, &out);
  ASSERT_EQ(rc, 0) << out;
  EXPECT_NE(out.find("unchanged: already on the server"), std::string::npos) << out;
  EXPECT_EQ(out.find("sending context"), std::string::npos) << out;

  rc = testing::run_command("printf 'FROM " + g_stack->registry() +
                                "/kiln/busybox\\nRUN echo from-stdin\\n' | " + kiln + " build -t " +
                                g_stack->registry() + "/e2e/stdin - 2>&1",
                            &out);
  EXPECT_EQ(rc, 0) << out;
  EXPECT_NE(out.find("from-stdin"), std::string::npos) << out;

  rc = testing::run_command("cd " + dir + " && " + g_stack->cli() + " --api " +
                                g_stack->ingest_url() + " --token wrong build -t " + image +
                                " . 2>&1",
                            &out);
  EXPECT_EQ(rc, 3) << out;
  EXPECT_NE(out.find("unknown token"), std::string::npos) << out;
}

// A 100 MB context goes from disk to the server without being held in the CLI's memory.
TEST(EndToEnd, CliStreamsALargeContextInBoundedMemory) {
  const std::string dir = ::testing::TempDir() + "/large-context";
  std::filesystem::remove_all(dir);
  std::filesystem::create_directories(dir);
  std::ofstream(dir + "/Dockerfile") << "FROM " << g_stack->registry() << "/kiln/busybox\n"
                                     << "RUN echo large\n";
  for (int i = 0; i < 4; ++i) {
    testing::must_run("head -c 25000000 /dev/urandom > " + dir + "/part" + std::to_string(i));
  }
  const std::string cache = "XDG_CACHE_HOME=" + dir + "-cache";
  const std::vector<std::string> argv = {g_stack->cli(),
                                         "--api",
                                         g_stack->ingest_url(),
                                         "--token",
                                         kAdminToken,
                                         "build",
                                         "-t",
                                         g_stack->registry() + "/e2e/large",
                                         "--detach",
                                         "--progress",
                                         "plain",
                                         dir};
  // Everything the child needs is made before fork: it only calls execve.
  std::vector<char*> args;
  for (const auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
  args.push_back(nullptr);
  std::vector<char*> environment;
  for (char** e = environ; *e != nullptr; ++e) environment.push_back(*e);
  environment.push_back(const_cast<char*>(cache.c_str()));
  environment.push_back(nullptr);
  const pid_t pid = fork();
  ASSERT_GE(pid, 0);
  if (pid == 0) {
    execve(args[0], args.data(), environment.data());
    _exit(127);
  }
  int status = 0;
  rusage usage{};
  ASSERT_EQ(wait4(pid, &status, 0, &usage), pid);
  ASSERT_TRUE(WIFEXITED(status));
  EXPECT_EQ(WEXITSTATUS(status), 0);
  // ru_maxrss is in KiB. The ASan build's own baseline is a few tens of MiB; the context would
  // add 100.
  std::printf("kiln build of a 100 MB context: peak RSS %ld KiB\n", usage.ru_maxrss);
  EXPECT_LT(usage.ru_maxrss, 80 * 1024);
}

// kiln login checks the token and keeps it (and the URL) in a file only its owner reads; later
// commands need no --token; logout forgets it.
// kiln build --secret: the value reaches RUN --mount=type=secret and nothing else. The log
// shows it masked; neither JetStream's files (events, logs, the sealed bucket), PostgreSQL nor
// the context hold it; the bucket is purged when the build ends; a retry is refused.
TEST(EndToEnd, CliSecretReachesTheRunStepAndNothingElse) {
  const std::string dir = ::testing::TempDir() + "/secret-context";
  std::filesystem::remove_all(dir);
  std::filesystem::create_directories(dir);
  const std::string value = "kiln-e2e-secret-" + random_id();
  const std::string secret_file = ::testing::TempDir() + "/secret-value";
  std::ofstream(secret_file) << value;
  std::string sha;
  testing::run_command("printf %s '" + value + "' | sha256sum | cut -c1-64", &sha);
  while (!sha.empty() && sha.back() == '\n') sha.pop_back();
  std::ofstream(dir + "/Dockerfile")
      << "FROM " << g_stack->registry() << "/kiln/busybox\n"
      << "RUN --mount=type=secret,id=tok test \"$(sha256sum < /run/secrets/tok | cut -c1-64)\" = "
      << sha << " && echo secret-matches && cat /run/secrets/tok && echo\n"
      << "RUN test ! -e /run/secrets/tok && echo secret-gone-after-the-step\n";
  const std::string kiln = g_stack->cli() + " --api " + g_stack->ingest_url() + " --query " +
                           g_stack->analytics_url() + " --token " + kAdminToken;
  std::string out;
  const int rc = testing::run_command(
      "cd " + dir + " && " + kiln + " build -t " + g_stack->registry() +
          "/e2e/secret:dev --progress plain --secret id=tok,src=" + secret_file + " . 2>&1",
      &out);
  ASSERT_EQ(rc, 0) << out << g_stack->logs();
  EXPECT_NE(out.find("secret-matches"), std::string::npos) << out;
  EXPECT_NE(out.find("secret-gone-after-the-step"), std::string::npos) << out;
  EXPECT_NE(out.find("***"), std::string::npos) << "the cat of the secret, masked\n" << out;
  EXPECT_EQ(out.find(value), std::string::npos) << out;
  const auto requested_at = out.find(" requested\n");
  ASSERT_NE(requested_at, std::string::npos) << out;
  const auto id_at = out.rfind("build ", requested_at) + 6;
  const std::string build_id = out.substr(id_at, requested_at - id_at);

  // Nowhere at rest: grep exits 1 when it finds nothing.
  std::string found;
  EXPECT_EQ(
      testing::run_command("grep -rlF -- '" + value + "' " + g_stack->nats().store_dir(), &found),
      1)
      << "in JetStream's files: " << found;
  EXPECT_EQ(testing::run_command("pg_dump --data-only '" + g_stack->postgres_url() +
                                     "' | grep -c -F -- '" + value + "'",
                                 &found),
            1)
      << "in PostgreSQL: " << found;
  auto logs = http("GET", g_stack->analytics_url() + "/v1/builds/" + build_id + "/logs", "",
                   {{"Authorization", std::string("Bearer ") + kAdminToken}});
  EXPECT_EQ(logs.status, 200) << logs.body;
  EXPECT_EQ(logs.body.find(value), std::string::npos);
  EXPECT_NE(logs.body.find("secret-matches"), std::string::npos) << logs.body;

  // Purged once the build ended.
  auto bus = bus::Bus::connect(g_stack->bus_options("e2e-secrets"));
  ASSERT_TRUE(bus.ok()) << bus.error().describe();
  auto key = secrets::SealingKey::load(g_stack->secrets_key_file());
  ASSERT_TRUE(key.ok()) << key.error().describe();
  auto store = secrets::BuildSecrets::open(**bus, *key);
  ASSERT_TRUE(store.ok()) << store.error().describe();
  auto left = (*store)->get(build_id, "tok");
  ASSERT_TRUE(left.ok()) << left.error().describe();
  EXPECT_FALSE(left->has_value()) << "the secret outlived its build";

  auto retry = http("POST", g_stack->ingest_url() + "/v1/builds/" + build_id + "/retry", "",
                    {{"Authorization", std::string("Bearer ") + kAdminToken}});
  EXPECT_EQ(retry.status, 409) << retry.body;
  EXPECT_EQ(str(retry.json()->getObject("error"), "code"), "secrets_not_kept") << retry.body;
}

TEST(EndToEnd, CliLoginKeepsTheTokenForLaterCommands) {
  const std::string config = ::testing::TempDir() + "/kiln-login/config";
  std::filesystem::remove_all(::testing::TempDir() + "/kiln-login");
  const std::string kiln =
      g_stack->cli() + " --config " + config + " --query " + g_stack->analytics_url();
  std::string out;
  int rc = testing::run_command(
      "echo wrong | " + kiln + " login " + g_stack->ingest_url() + " --token-stdin 2>&1", &out);
  EXPECT_EQ(rc, 3) << out;
  EXPECT_FALSE(std::filesystem::exists(config)) << "a refused token was stored";

  rc = testing::run_command(std::string("echo ") + kAdminToken + " | " + kiln + " login " +
                                g_stack->ingest_url() + " --token-stdin 2>&1",
                            &out);
  ASSERT_EQ(rc, 0) << out;
  EXPECT_NE(out.find("logged in to " + g_stack->ingest_url()), std::string::npos) << out;
  EXPECT_EQ(std::filesystem::status(config).permissions() & std::filesystem::perms::all,
            std::filesystem::perms::owner_read | std::filesystem::perms::owner_write);

  rc = testing::run_command(kiln + " whoami 2>&1", &out);
  EXPECT_EQ(rc, 0) << out;
  EXPECT_NE(out.find("roles:  read,build,admin"), std::string::npos) << out;
  rc = testing::run_command(kiln + " ls --limit 1 2>&1", &out);
  EXPECT_EQ(rc, 0) << out;

  rc = testing::run_command(kiln + " logout 2>&1 && " + kiln + " whoami 2>&1", &out);
  EXPECT_EQ(rc, 3) << "no token after logout\n" << out;
  rc = testing::run_command(g_stack->cli() + " completion bash", &out);
  EXPECT_EQ(rc, 0);
  EXPECT_NE(out.find("complete -F _kiln kiln"), std::string::npos) << out;
}

TEST(EndToEnd, AnalyticsAndCliStatsAgreeWithWhatHappened) {
  // Runs last (tests run in order): counts what the suite did, through the API and the CLI.
  auto list = http("GET", g_stack->analytics_url() + "/v1/builds?limit=200", "",
                   {{"Authorization", std::string("Bearer ") + kAdminToken}});
  ASSERT_EQ(list.status, 200);
  int succeeded = 0, failed = 0, cancelled = 0;
  auto builds = list.json()->getArray("builds");
  for (size_t i = 0; builds && i < builds->size(); ++i) {
    const std::string status = str(builds->getObject(static_cast<unsigned>(i)), "status");
    succeeded += status == "succeeded";
    failed += status == "failed";
    cancelled += status == "cancelled";
  }
  EXPECT_GE(succeeded, 5);
  EXPECT_GE(failed, 1);
  EXPECT_GE(cancelled, 2);
  std::string out;
  const int rc =
      testing::run_command(g_stack->cli() + " --query " + g_stack->analytics_url() + " --token " +
                               kAdminToken + " --output json stats --days 1",
                           &out);
  ASSERT_EQ(rc, 0) << out;
  auto stats = HttpReply{200, out}.json();
  EXPECT_EQ(str(stats, "succeeded"), std::to_string(succeeded)) << out;
  EXPECT_EQ(str(stats, "failed"), std::to_string(failed)) << out;
  EXPECT_EQ(str(stats, "cancelled"), std::to_string(cancelled)) << out;
}

}  // namespace
}  // namespace kiln::e2e

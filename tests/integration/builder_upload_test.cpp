// Builds without Git: the Dockerfile comes in the `requested` event and the context as a tar.gz
// uploaded to KILN_UPLOADS in chunks (as webhook-ingest stores them). Real nats-server,
// docker-registry with kiln's busybox base image, and buildah.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <map>
#include <memory>
#include <sstream>

#include "builder/builder.h"
#include "bus/bus.h"
#include "common/ids.h"
#include "events/envelope.h"
#include "events/subjects.h"
#include "support/git_repo.h"
#include "support/pipeline.h"
#include "support/process.h"
#include "support/servers.h"
#include "support/staged.h"

namespace kiln::builder {
namespace {

namespace fs = std::filesystem;
namespace v1 = events::v1;
using testing::must_run;
using testing::sh_quote;

// The largest chunk docs/design.md allows ("Events and projections": UploadChunk).
constexpr std::size_t kChunkBytes = 512 * 1024;

std::string read_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

class BuilderUploadTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    nats_ = std::make_unique<testing::NatsServer>();
    registry_ = std::make_unique<testing::RegistryServer>();
    root_ = testing::make_temp_dir("kiln-builder-upload-test");
    testing::push_base_image(registry_->host(), root_ + "/buildah");
    base_image_ = registry_->host() + "/kiln/busybox";
    bus_ = testing::connect_bus(nats_->url(), "upload-test");

    options_ = std::make_unique<BuilderOptions>();
    options_->worker_id = "upload-test";
    options_->buildah_root = root_ + "/buildah";
    options_->artifacts_dir = root_ + "/artifacts";
    options_->work_dir = root_ + "/work";
    options_->insecure_registries = {registry_->host()};
    options_->staging.registry = registry_->host();
    options_->heartbeat_seconds = 1;
    options_->platform = "linux/amd64";
    options_->common.http.port = 0;
    builder_ = std::make_unique<Builder>(*options_, *bus_);
    builder_->start();
  }

  static void TearDownTestSuite() {
    builder_.reset();
    options_.reset();
    bus_.reset();
    registry_.reset();
    nats_.reset();
    testing::remove_tree(root_);
  }

  // A tar.gz of `files` (name -> content); `tar_args` go before the member list.
  static std::string make_archive(const std::map<std::string, std::string>& files,
                                  const std::string& tar_args = {}) {
    const std::string dir = root_ + "/ctx-" + random_id();
    testing::write_files(dir, files);
    std::string members;
    for (const auto& file : files) members += " " + sh_quote(file.first);
    const std::string archive = dir + ".tar.gz";
    must_run("tar -C " + sh_quote(dir) + " -czf " + sh_quote(archive) + " " + tar_args + members);
    return read_file(archive);
  }

  // Publishes `bytes` as the upload's chunks; the last announces `announced_sha` (the real one
  // when empty). Returns the real hex sha256.
  static std::string publish_upload(const std::string& upload_id, const std::string& bytes,
                                    const std::string& announced_sha = {}) {
    const std::string sha = sha256_hex(bytes);
    std::int64_t index = 0;
    std::size_t offset = 0;
    do {
      const std::size_t n = std::min(kChunkBytes, bytes.size() - offset);
      v1::UploadChunk chunk;
      chunk.set_upload_id(upload_id);
      chunk.set_index(index);
      chunk.set_data(bytes.substr(offset, n));
      offset += n;
      if (offset == bytes.size()) {
        chunk.set_last(true);
        chunk.set_sha256(announced_sha.empty() ? sha : announced_sha);
        chunk.set_total_size(static_cast<std::int64_t>(bytes.size()));
      }
      auto ack = bus_->publish(events::upload_subject(upload_id), chunk.SerializeAsString(),
                               upload_id + ":" + std::to_string(index));
      EXPECT_TRUE(ack.ok()) << ack.error().describe();
      ++index;
    } while (offset < bytes.size());
    return sha;
  }

  // requested (upload source) + dispatched; returns the build id.
  static std::string start_upload_build(const std::string& dockerfile, const std::string& upload_id,
                                        const std::string& sha, std::int64_t size) {
    const std::string id = random_id();
    testing::publish(
        *bus_, testing::make_upload_requested(id, "uploads", dockerfile, upload_id, sha, size));
    testing::publish(*bus_, testing::make_dispatched(id, 1));
    return id;
  }

  static v1::Envelope wait_outcome(const std::string& id) {
    return testing::wait_build_outcome(*bus_, id);
  }

  static std::string read_logs(const std::string& id) { return testing::read_log_text(*bus_, id); }

  static inline std::unique_ptr<testing::NatsServer> nats_;
  static inline std::unique_ptr<testing::RegistryServer> registry_;
  static inline std::string root_;
  static inline std::string base_image_;
  static inline std::unique_ptr<bus::Bus> bus_;
  static inline std::unique_ptr<BuilderOptions> options_;
  static inline std::unique_ptr<Builder> builder_;
};

TEST_F(BuilderUploadTest, UploadedContextInChunksBuilds) {
  // Random bytes do not compress: the archive spans three chunks.
  const std::string big = must_run("head -c 1200000 /dev/urandom | base64 -w 0");
  const std::string archive =
      make_archive({{"app.txt", "uploaded-app-content-91\n"}, {"data/big.txt", big}});
  ASSERT_GT(archive.size(), 2 * kChunkBytes);
  const std::string upload_id = random_id();
  const std::string sha = publish_upload(upload_id, archive);

  const std::string id =
      start_upload_build("FROM " + base_image_ +
                             "\n"
                             "COPY app.txt /app.txt\n"
                             "COPY data/ /data/\n"
                             "RUN cat /app.txt && sha256sum /data/big.txt\n",
                         upload_id, sha, static_cast<std::int64_t>(archive.size()));
  const v1::Envelope outcome = wait_outcome(id);
  ASSERT_TRUE(outcome.has_built()) << outcome.DebugString();
  EXPECT_EQ(outcome.built().steps_total(), 4);
  EXPECT_TRUE(testing::is_staged(outcome.built().staged()));
  // The build saw the reassembled context: the file's content and its digest are in the log.
  const std::string logs = read_logs(id);
  EXPECT_NE(logs.find("uploaded-app-content-91"), std::string::npos) << logs;
  EXPECT_NE(logs.find(sha256_hex(big)), std::string::npos) << logs;
}

TEST_F(BuilderUploadTest, Sha256MismatchFailsAtFetch) {
  const std::string archive = make_archive({{"app.txt", "some content\n"}});
  const std::string dockerfile = "FROM " + base_image_ + "\nCOPY app.txt /app.txt\n";
  const std::string wrong = sha256_hex("not the archive");
  {
    SCOPED_TRACE("the requested event announces another sha256");
    const std::string upload_id = random_id();
    publish_upload(upload_id, archive);
    const auto outcome = wait_outcome(start_upload_build(
        dockerfile, upload_id, wrong, static_cast<std::int64_t>(archive.size())));
    ASSERT_TRUE(outcome.has_failed()) << outcome.DebugString();
    EXPECT_EQ(outcome.failed().stage(), v1::FETCH);
    EXPECT_NE(outcome.failed().reason().find("sha256"), std::string::npos)
        << outcome.failed().reason();
  }
  {
    SCOPED_TRACE("the last chunk announces another sha256 than its bytes have");
    const std::string upload_id = random_id();
    const std::string sha = publish_upload(upload_id, archive, wrong);
    const auto outcome = wait_outcome(
        start_upload_build(dockerfile, upload_id, sha, static_cast<std::int64_t>(archive.size())));
    ASSERT_TRUE(outcome.has_failed()) << outcome.DebugString();
    EXPECT_EQ(outcome.failed().stage(), v1::FETCH);
    EXPECT_NE(outcome.failed().reason().find("sha256"), std::string::npos)
        << outcome.failed().reason();
  }
}

TEST_F(BuilderUploadTest, ArchiveWithDotDotPathFailsAtFetchAndWritesNothingOutside) {
  // GNU tar stores the transformed name as given: the archive holds "../escaped.txt".
  const std::string archive =
      make_archive({{"app.txt", "fine\n"}, {"escaped.txt", "should never be written\n"}},
                   "--transform='s|^escaped.txt$|../escaped.txt|'");
  const std::string upload_id = random_id();
  const std::string sha = publish_upload(upload_id, archive);
  const std::string id =
      start_upload_build("FROM " + base_image_ + "\nCOPY app.txt /app.txt\n", upload_id, sha,
                         static_cast<std::int64_t>(archive.size()));
  const auto outcome = wait_outcome(id);
  ASSERT_TRUE(outcome.has_failed()) << outcome.DebugString();
  EXPECT_EQ(outcome.failed().stage(), v1::FETCH);
  EXPECT_NE(outcome.failed().reason().find("../escaped.txt"), std::string::npos)
      << outcome.failed().reason();
  EXPECT_EQ(outcome.failed().reason().find('\n'), std::string::npos);
  // Nothing landed beside the work directories.
  for (const auto& entry : fs::recursive_directory_iterator(root_)) {
    if (entry.path().filename() == "escaped.txt") {
      EXPECT_NE(entry.path().string().find("/ctx-"), std::string::npos)
          << "written outside the context: " << entry.path();
    }
  }
}

}  // namespace
}  // namespace kiln::builder

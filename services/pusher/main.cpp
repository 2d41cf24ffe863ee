// kiln-pusher: takes built images (staged in a registry by the builders), promotes them to their
// registry and publishes pushed + succeeded, or failed / cancelled.
#include "common/shutdown.h"
#include "pusher/pusher.h"
#include "service/service.h"

int main(int argc, char** argv) {
  return kiln::service::run(argc, argv, [](int argc, char** argv) {
    kiln::pusher::PusherOptions options;
    kiln::Config config = kiln::pusher::describe(options);
    if (!config.parse(argc, argv)) return 0;  // --help
    kiln::shutdown::install();
    kiln::service::init_logging(options.common, "pusher");
    auto bus = kiln::service::connect_bus(options.common);
    if (!bus) return 0;  // shutdown asked for while connecting
    kiln::pusher::Pusher pusher(options, *bus);
    pusher.start();
    kiln::shutdown::wait();
    pusher.stop();
    return 0;
  });
}

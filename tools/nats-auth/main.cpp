// kiln-nats-auth --credentials-dir DIR
// Makes sure DIR holds a credentials file per kiln NATS user (nats-<user>, one line
// user:password, mode 0600; a missing one gets a fresh random password, an existing one is kept)
// and prints nats-server's authorization block for those users and their permissions. Each
// service is then started with nats.credentials-file=DIR/nats-<service>.
#include <sys/stat.h>

#include <cerrno>
#include <iostream>
#include <map>
#include <string>

#include "bus/permissions.h"

namespace {

constexpr char kUsage[] =
    "Usage: kiln-nats-auth --credentials-dir DIR\n"
    "Writes DIR/nats-<user> (user:password, mode 0600) for each of kiln's NATS users that has "
    "none,\nand prints the nats-server authorization block granting each user only its "
    "subjects\n(include it in nats-server's configuration).\nUsers: ";

int usage(std::ostream& out, int code) {
  out << kUsage;
  for (const auto& user : kiln::bus::kiln_permissions()) out << user.user << " ";
  out << "\n";
  return code;
}

}  // namespace

int main(int argc, char** argv) {
  std::string dir;
  for (int i = 1; i < argc; ++i) {
    const std::string arg = argv[i];
    if (arg == "-h" || arg == "--help") return usage(std::cout, 0);
    if (arg == "--credentials-dir" && i + 1 < argc) {
      dir = argv[++i];
    } else if (arg.rfind("--credentials-dir=", 0) == 0) {
      dir = arg.substr(arg.find('=') + 1);
    } else {
      std::cerr << "kiln-nats-auth: unknown argument '" << arg << "'\n";
      return usage(std::cerr, 2);
    }
  }
  if (dir.empty()) return usage(std::cerr, 2);
  if (::mkdir(dir.c_str(), 0700) != 0 && errno != EEXIST) {
    std::cerr << "kiln-nats-auth: cannot create " << dir << "\n";
    return 1;
  }
  std::map<std::string, std::string> passwords;
  for (const auto& user : kiln::bus::kiln_permissions()) {
    const std::string path = dir + "/nats-" + user.user;
    auto existing = kiln::bus::read_credentials_file(path);
    if (existing.ok() && existing->user == user.user) {
      passwords[user.user] = existing->password;
      continue;
    }
    if (!existing.ok() && existing.error().code != kiln::ErrorCode::kNotFound) {
      std::cerr << "kiln-nats-auth: " << existing.error().describe() << "\n";
      return 1;
    }
    kiln::bus::Credentials fresh{user.user, kiln::bus::random_password()};
    if (auto written = kiln::bus::write_credentials_file(path, fresh); !written.ok()) {
      std::cerr << "kiln-nats-auth: " << written.error().describe() << "\n";
      return 1;
    }
    passwords[user.user] = fresh.password;
  }
  auto config = kiln::bus::authorization_config(passwords);
  if (!config.ok()) {
    std::cerr << "kiln-nats-auth: " << config.error().describe() << "\n";
    return 1;
  }
  std::cout << *config;
  return 0;
}

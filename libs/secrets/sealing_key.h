// The key that seals build secrets while they wait in the bus for their build (build_secrets.h).
// JetStream keeps what it stores on disk and replicates it; sealing with AES-256-GCM before a put
// means the bus, its files and any client reading the bucket only ever see ciphertext. The key
// is a file of 64 hex digits (32 random bytes) that the operator gives webhook-ingest and every
// builder (`secrets.key-file`); infra/services.sh makes one for a single machine.
//
// Errors: Result (a key file that cannot be used; a sealed value that does not open).
#pragma once

#include <array>
#include <string>
#include <string_view>

#include "common/result.h"

namespace kiln::secrets {

class SealingKey {
 public:
  // Reads the key from `path`: 64 hex digits, the file readable by its owner only.
  static Result<SealingKey> load(const std::string& path);
  // Writes a new random key to `path` (mode 0600); fails when the file exists.
  static Status create(const std::string& path);
  static SealingKey from_bytes(const std::array<unsigned char, 32>& bytes);

  // nonce || ciphertext || tag. `context` is bound to the value (the build and secret it belongs
  // to), so a sealed value copied to another key of the bucket does not open there.
  std::string seal(std::string_view plaintext, std::string_view context) const;
  Result<std::string> open(std::string_view sealed, std::string_view context) const;

 private:
  std::array<unsigned char, 32> key_{};
};

}  // namespace kiln::secrets

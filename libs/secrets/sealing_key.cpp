#include "secrets/sealing_key.h"

#include <openssl/evp.h>
#include <openssl/rand.h>

#include <cstring>
#include <memory>
#include <sstream>
#include <stdexcept>

#include "common/private_file.h"

namespace kiln::secrets {
namespace {

constexpr std::size_t kNonceBytes = 12;
constexpr std::size_t kTagBytes = 16;

struct CipherContextFree {
  void operator()(EVP_CIPHER_CTX* ctx) const { EVP_CIPHER_CTX_free(ctx); }
};
using CipherContext = std::unique_ptr<EVP_CIPHER_CTX, CipherContextFree>;

CipherContext new_context() {
  CipherContext ctx(EVP_CIPHER_CTX_new());
  if (!ctx) throw std::bad_alloc();
  return ctx;
}

const auto* bytes(std::string_view s) { return reinterpret_cast<const unsigned char*>(s.data()); }

int hex_value(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

}  // namespace

SealingKey SealingKey::from_bytes(const std::array<unsigned char, 32>& bytes) {
  SealingKey key;
  key.key_ = bytes;
  return key;
}

Result<SealingKey> SealingKey::load(const std::string& path) {
  auto content = read_private_file(path, "secrets key file");
  if (!content.ok()) return content.error();
  std::istringstream in(*content);
  std::string text;
  in >> text;
  if (text.size() != 64) {
    return make_error(ErrorCode::kInvalidArgument,
                      "secrets key file " + path + " must hold 64 hex digits (32 bytes)");
  }
  std::array<unsigned char, 32> raw{};
  for (std::size_t i = 0; i < raw.size(); ++i) {
    const int high = hex_value(text[2 * i]);
    const int low = hex_value(text[2 * i + 1]);
    if (high < 0 || low < 0) {
      return make_error(ErrorCode::kInvalidArgument,
                        "secrets key file " + path + " holds a character that is not hex");
    }
    raw[i] = static_cast<unsigned char>(high * 16 + low);
  }
  return from_bytes(raw);
}

Status SealingKey::create(const std::string& path) {
  return write_private_file(path, random_hex(32) + "\n", "secrets key file", /*replace=*/false);
}

std::string SealingKey::seal(std::string_view plaintext, std::string_view context) const {
  std::string out(kNonceBytes + plaintext.size() + kTagBytes, '\0');
  auto* nonce = reinterpret_cast<unsigned char*>(out.data());
  if (RAND_bytes(nonce, kNonceBytes) != 1) throw std::runtime_error("RAND_bytes failed");
  auto ctx = new_context();
  int len = 0;
  auto* cipher = nonce + kNonceBytes;
  if (EVP_EncryptInit_ex(ctx.get(), EVP_aes_256_gcm(), nullptr, key_.data(), nonce) != 1 ||
      EVP_EncryptUpdate(ctx.get(), nullptr, &len, bytes(context),
                        static_cast<int>(context.size())) != 1 ||
      EVP_EncryptUpdate(ctx.get(), cipher, &len, bytes(plaintext),
                        static_cast<int>(plaintext.size())) != 1 ||
      EVP_EncryptFinal_ex(ctx.get(), cipher + len, &len) != 1 ||
      EVP_CIPHER_CTX_ctrl(ctx.get(), EVP_CTRL_GCM_GET_TAG, kTagBytes, cipher + plaintext.size()) !=
          1) {
    throw std::runtime_error("AES-256-GCM sealing failed");
  }
  return out;
}

Result<std::string> SealingKey::open(std::string_view sealed, std::string_view context) const {
  if (sealed.size() < kNonceBytes + kTagBytes) {
    return make_error(ErrorCode::kDataLoss, "a sealed secret is too short");
  }
  const std::size_t size = sealed.size() - kNonceBytes - kTagBytes;
  const auto* nonce = bytes(sealed);
  const auto* cipher = nonce + kNonceBytes;
  std::string plain(size, '\0');
  auto* out = reinterpret_cast<unsigned char*>(plain.data());
  auto ctx = new_context();
  int len = 0;
  std::array<unsigned char, kTagBytes> tag{};
  std::memcpy(tag.data(), cipher + size, kTagBytes);
  const bool opened =
      EVP_DecryptInit_ex(ctx.get(), EVP_aes_256_gcm(), nullptr, key_.data(), nonce) == 1 &&
      EVP_DecryptUpdate(ctx.get(), nullptr, &len, bytes(context),
                        static_cast<int>(context.size())) == 1 &&
      EVP_DecryptUpdate(ctx.get(), out, &len, cipher, static_cast<int>(size)) == 1 &&
      EVP_CIPHER_CTX_ctrl(ctx.get(), EVP_CTRL_GCM_SET_TAG, kTagBytes, tag.data()) == 1 &&
      EVP_DecryptFinal_ex(ctx.get(), out + len, &len) == 1;
  if (!opened) {
    return make_error(ErrorCode::kPermissionDenied,
                      "a sealed secret does not open with this key (another secrets.key-file, "
                      "or the value was changed)");
  }
  return plain;
}

}  // namespace kiln::secrets

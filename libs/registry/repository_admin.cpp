// RegistryClient::delete_manifest and list_tags: what the pusher needs to clean the staging
// repository up after a promotion and by age.
#include <Poco/JSON/Array.h>
#include <Poco/JSON/Object.h>
#include <Poco/JSON/Parser.h>

#include <algorithm>

#include "oci/digest.h"
#include "oci/reference.h"
#include "registry/auth.h"
#include "registry/client.h"
#include "registry/client_impl.h"

namespace kiln::registry {
namespace {

Status check_repository(const std::string& repository) {
  if (!oci::is_valid_repository(repository)) {
    return make_error(ErrorCode::kInvalidArgument,
                      "invalid repository name \"" + repository + "\"");
  }
  return {};
}

// The next page's URL from a Link header (`</v2/x/tags/list?last=t&n=100>; rel="next"`, maybe
// beside other links); "" when there is none.
std::string next_page(const std::string& base, const std::string& link) {
  std::size_t at = 0;
  while (at < link.size()) {
    const auto open = link.find('<', at);
    if (open == std::string::npos) return {};
    const auto close = link.find('>', open);
    if (close == std::string::npos) return {};
    const auto end = std::min(link.find('<', close), link.size());
    const std::string params = link.substr(close + 1, end - close - 1);
    if (params.find("rel=\"next\"") != std::string::npos ||
        params.find("rel=next") != std::string::npos) {
      return RegistryClient::Impl::resolve(base, link.substr(open + 1, close - open - 1));
    }
    at = end;
  }
  return {};
}

}  // namespace

Status RegistryClient::delete_manifest(const std::string& repository, const std::string& digest,
                                       const TransferControl& control) {
  if (auto s = check_repository(repository); !s) return s.error();
  if (auto d = oci::Digest::parse(digest); !d) return d.error();
  Call call;
  call.request.method = "DELETE";
  call.request.url = impl_->repo_url(repository, "/manifests/" + digest);
  call.scopes = {repository_scope(repository, "pull,push,delete")};
  call.what = "DELETE manifest " + repository + "@" + digest;
  auto response = impl_->send(call, control);
  if (!response) return response.error();
  if (response->status == 202 || response->status == 200 || response->status == 404) return {};
  Error e = impl_->error_from(*response, call.what);
  if (response->status == 405) {
    e.code = ErrorCode::kFailedPrecondition;
    e.message += " (the registry does not allow deletes: set storage.delete.enabled)";
  }
  return e;
}

Result<std::vector<std::string>> RegistryClient::list_tags(const std::string& repository,
                                                           const TransferControl& control) {
  if (auto s = check_repository(repository); !s) return s.error();
  std::vector<std::string> tags;
  std::string url = impl_->repo_url(repository, "/tags/list?n=1000");
  while (!url.empty()) {
    Call call;
    call.request.url = url;
    call.request.max_body = 16 << 20;
    call.scopes = {repository_scope(repository, "pull")};
    call.what = "GET tags of " + repository;
    auto response = impl_->send(call, control);
    if (!response) return response.error();
    if (response->status == 404) return tags;
    if (response->status != 200) return impl_->error_from(*response, call.what);
    try {
      Poco::JSON::Parser parser;
      auto root = parser.parse(response->body).extract<Poco::JSON::Object::Ptr>();
      if (auto list = root->getArray("tags")) {
        for (std::size_t i = 0; i < list->size(); ++i)
          tags.push_back(list->getElement<std::string>(i));
      }
    } catch (const Poco::Exception& e) {
      return make_error(ErrorCode::kUnavailable,
                        call.what + ": unreadable answer: " + e.displayText());
    }
    std::string next = next_page(url, response->header("link"));
    if (next == url) break;  // a registry pointing at the same page again
    url = std::move(next);
  }
  return tags;
}

}  // namespace kiln::registry

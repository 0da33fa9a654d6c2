#include "provider/common/s3.h"

#include <curl/curl.h>
#include <expat.h>

#include <algorithm>
#include <functional>
#include <memory>
#include <utility>

#include "absl/strings/ascii.h"
#include "provider/common/crypto.h"

namespace provider {
namespace {

// Calls `on_end(path, text)` at the end of each element of `xml`, with the
// names of the elements open (the ended one last) and its text. False when
// the document is not well-formed XML.
bool WalkXml(
    const std::string& xml,
    const std::function<void(const std::vector<std::string>&, const std::string&)>& on_end) {
  struct Walk {
    std::vector<std::string> path;
    std::string text;
    const std::function<void(const std::vector<std::string>&, const std::string&)>* on_end;
  } walk{{}, {}, &on_end};
  std::unique_ptr<XML_ParserStruct, decltype(&XML_ParserFree)> parser(XML_ParserCreate("UTF-8"),
                                                                      &XML_ParserFree);
  if (!parser) return false;
  XML_SetUserData(parser.get(), &walk);
  XML_SetElementHandler(
      parser.get(),
      [](void* data, const XML_Char* name, const XML_Char**) {
        auto* w = static_cast<Walk*>(data);
        w->path.emplace_back(name);
        w->text.clear();
      },
      [](void* data, const XML_Char*) {
        auto* w = static_cast<Walk*>(data);
        (*w->on_end)(w->path, w->text);
        w->path.pop_back();
        w->text.clear();
      });
  XML_SetCharacterDataHandler(parser.get(), [](void* data, const XML_Char* s, int len) {
    static_cast<Walk*>(data)->text.append(s, static_cast<size_t>(len));
  });
  return XML_Parse(parser.get(), xml.data(), static_cast<int>(xml.size()), XML_TRUE) ==
         XML_STATUS_OK;
}

// The <Code> of S3's <Error> document ("" when there is none).
std::string ErrorCode(const std::string& xml) {
  std::string code;
  WalkXml(xml, [&](const std::vector<std::string>& path, const std::string& text) {
    if (path.size() == 2 && path[0] == "Error" && path[1] == "Code") code = text;
  });
  return code;
}

// S3's <Error><Code>..</Code><Message>..</Message></Error>, as "Code: Message".
std::string ErrorOf(const std::string& xml) {
  std::string code, message;
  WalkXml(xml, [&](const std::vector<std::string>& path, const std::string& text) {
    if (path.size() != 2 || path[0] != "Error") return;
    if (path[1] == "Code") code = text;
    if (path[1] == "Message") message = text;
  });
  if (code.empty()) return "";
  return message.empty() ? code : code + ": " + message;
}

size_t WriteBody(char* data, size_t size, size_t n, void* out) {
  static_cast<std::string*>(out)->append(data, size * n);
  return size * n;
}

size_t WriteHeader(char* data, size_t size, size_t n, void* out) {
  const std::string line(data, size * n);
  const size_t colon = line.find(':');
  if (colon != std::string::npos) {
    std::string value = line.substr(colon + 1);
    const size_t begin = value.find_first_not_of(" \t");
    const size_t end = value.find_last_not_of(" \t\r\n");
    value = begin == std::string::npos ? "" : value.substr(begin, end - begin + 1);
    (*static_cast<std::map<std::string, std::string>*>(
        out))[absl::AsciiStrToLower(line.substr(0, colon))] = value;
  }
  return size * n;
}

// The host[:port] of `endpoint` and its scheme; InvalidArgument when it is
// not an http(s) URL.
absl::Status ParseEndpoint(const std::string& endpoint, std::string* scheme, std::string* host) {
  std::unique_ptr<CURLU, decltype(&curl_url_cleanup)> url(curl_url(), &curl_url_cleanup);
  if (!url || curl_url_set(url.get(), CURLUPART_URL, endpoint.c_str(), 0) != CURLUE_OK) {
    return absl::InvalidArgumentError("endpoint \"" + endpoint + "\" is not a URL");
  }
  auto part = [&](CURLUPart which) -> std::string {
    char* value = nullptr;
    if (curl_url_get(url.get(), which, &value, 0) != CURLUE_OK || value == nullptr) return "";
    std::string out(value);
    curl_free(value);
    return out;
  };
  *scheme = absl::AsciiStrToLower(part(CURLUPART_SCHEME));
  if (*scheme != "http" && *scheme != "https") {
    return absl::InvalidArgumentError("endpoint \"" + endpoint + "\" is not an http(s) URL");
  }
  *host = part(CURLUPART_HOST);
  // A default port (https://host:443) is left out, as curl leaves it out
  // of the Host header it sends: the signed host must be the one sent.
  char* port = nullptr;
  if (curl_url_get(url.get(), CURLUPART_PORT, &port, CURLU_NO_DEFAULT_PORT) == CURLUE_OK &&
      port != nullptr) {
    *host += std::string(":") + port;
  }
  curl_free(port);
  return absl::OkStatus();
}

}  // namespace

absl::StatusOr<S3ListPage> ParseListObjects(const std::string& xml) {
  S3ListPage page;
  S3Object current;
  bool list = false;
  const bool ok = WalkXml(xml, [&](const std::vector<std::string>& path, const std::string& text) {
    if (path[0] != "ListBucketResult") return;
    list = true;
    if (path.size() == 3 && path[1] == "Contents") {
      if (path[2] == "Key") current.key = text;
      if (path[2] == "Size") current.size = std::strtoll(text.c_str(), nullptr, 10);
    } else if (path.size() == 2 && path[1] == "Contents") {
      page.objects.push_back(std::move(current));
      current = S3Object();
    } else if (path.size() == 2 && path[1] == "IsTruncated") {
      page.truncated = text == "true";
    } else if (path.size() == 2 && path[1] == "NextContinuationToken") {
      page.next_token = text;
    }
  });
  if (!ok || !list) return absl::InvalidArgumentError("the answer is not a ListBucketResult");
  return page;
}

absl::StatusOr<S3Client::Response> S3Client::Send(
    const std::string& method, const std::string& key,
    const std::map<std::string, std::string>& query, const std::string& body,
    const std::map<std::string, std::string>& headers) {
  std::string scheme, host;
  if (const absl::Status s = ParseEndpoint(options_.endpoint, &scheme, &host); !s.ok()) return s;
  if (options_.bucket.empty()) return absl::InvalidArgumentError("no bucket is named");
  SigV4Request request;
  request.method = method;
  if (options_.path_style) {
    request.path = "/" + options_.bucket + (key.empty() ? "" : "/" + key);
  } else {
    host = options_.bucket + "." + host;
    request.path = "/" + key;
  }
  request.query = query;
  request.headers = headers;
  request.headers["host"] = host;
  request.payload_sha256 = Sha256Hex(body);
  const SigV4Signed signed_request = SignV4(request, options_.credentials, options_.region, "s3",
                                            std::chrono::system_clock::now());

  std::string url = scheme + "://" + host + UriEncode(request.path, true);
  std::string encoded_query;
  for (const auto& [k, v] : query) {
    encoded_query +=
        (encoded_query.empty() ? "?" : "&") + UriEncode(k, false) + "=" + UriEncode(v, false);
  }
  url += encoded_query;

  std::unique_ptr<CURL, decltype(&curl_easy_cleanup)> h(curl_easy_init(), &curl_easy_cleanup);
  if (!h) return absl::InternalError("cannot start a libcurl handle");
  curl_slist* list = nullptr;
  auto add = [&](const std::string& line) { list = curl_slist_append(list, line.c_str()); };
  for (const auto& [k, v] : headers) add(k + ": " + v);
  add("x-amz-date: " + signed_request.amz_date);
  add("x-amz-content-sha256: " + request.payload_sha256);
  if (!options_.credentials.session_token.empty()) {
    add("x-amz-security-token: " + options_.credentials.session_token);
  }
  add("Authorization: " + signed_request.authorization);
  add("Expect:");  // no 100-continue round trip
  std::unique_ptr<curl_slist, decltype(&curl_slist_free_all)> header_list(list,
                                                                          &curl_slist_free_all);
  Response response;
  char errbuf[CURL_ERROR_SIZE] = {};
  curl_easy_setopt(h.get(), CURLOPT_URL, url.c_str());
  curl_easy_setopt(h.get(), CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(h.get(), CURLOPT_ERRORBUFFER, errbuf);
  curl_easy_setopt(h.get(), CURLOPT_CONNECTTIMEOUT_MS,
                   static_cast<long>(options_.connect_timeout.count()));
  curl_easy_setopt(h.get(), CURLOPT_TIMEOUT_MS, static_cast<long>(options_.timeout.count()));
  curl_easy_setopt(h.get(), CURLOPT_HTTPHEADER, header_list.get());
  curl_easy_setopt(h.get(), CURLOPT_WRITEFUNCTION, &WriteBody);
  curl_easy_setopt(h.get(), CURLOPT_WRITEDATA, &response.body);
  curl_easy_setopt(h.get(), CURLOPT_HEADERFUNCTION, &WriteHeader);
  curl_easy_setopt(h.get(), CURLOPT_HEADERDATA, &response.headers);
  if (method == "HEAD") {
    curl_easy_setopt(h.get(), CURLOPT_NOBODY, 1L);
  } else if (method == "PUT") {
    curl_easy_setopt(h.get(), CURLOPT_CUSTOMREQUEST, "PUT");
    curl_easy_setopt(h.get(), CURLOPT_POSTFIELDS, body.data());
    curl_easy_setopt(h.get(), CURLOPT_POSTFIELDSIZE_LARGE, static_cast<curl_off_t>(body.size()));
  } else if (method != "GET") {
    curl_easy_setopt(h.get(), CURLOPT_CUSTOMREQUEST, method.c_str());
  }
  const CURLcode code = curl_easy_perform(h.get());
  if (code != CURLE_OK) {
    return absl::UnavailableError(method + " " + url + ": " +
                                  (errbuf[0] != '\0' ? errbuf : curl_easy_strerror(code)));
  }
  curl_easy_getinfo(h.get(), CURLINFO_RESPONSE_CODE, &response.status);
  return response;
}

absl::Status S3Client::Refused(const std::string& what, const std::string& key,
                               const Response& r) const {
  std::string message =
      what + " s3://" + options_.bucket + "/" + key + ": HTTP " + std::to_string(r.status);
  if (const std::string error = ErrorOf(r.body); !error.empty()) message += " (" + error + ")";
  switch (r.status) {
    case 400:
      return absl::InvalidArgumentError(message);
    case 401:
    case 403:
      return absl::PermissionDeniedError(message);
    case 404:
      // Only a missing object is NotFound: a missing bucket, or an endpoint
      // that is not S3, must never read as "nothing was stored".
      if (ErrorCode(r.body) == "NoSuchKey") return absl::NotFoundError(message);
      return absl::FailedPreconditionError(message);
    case 409:
      return absl::FailedPreconditionError(message);
    default:
      return r.status >= 500 ? absl::UnavailableError(message) : absl::UnknownError(message);
  }
}

absl::Status S3Client::Put(const std::string& key, const std::string& body,
                           const std::map<std::string, std::string>& metadata) {
  std::map<std::string, std::string> headers{{"content-type", "application/octet-stream"}};
  // Empty values are left out: curl drops a header without a value, and
  // a signed header that is not sent fails the signature.
  for (const auto& [k, v] : metadata) {
    if (!v.empty()) headers["x-amz-meta-" + absl::AsciiStrToLower(k)] = v;
  }
  absl::StatusOr<Response> r = Send("PUT", key, {}, body, headers);
  if (!r.ok()) return r.status();
  if (r->status != 200) return Refused("put", key, *r);
  return absl::OkStatus();
}

namespace {
std::map<std::string, std::string> MetadataOf(const std::map<std::string, std::string>& headers) {
  std::map<std::string, std::string> out;
  for (const auto& [k, v] : headers) {
    if (k.starts_with("x-amz-meta-")) out[k.substr(11)] = v;
  }
  return out;
}
}  // namespace

absl::StatusOr<S3Got> S3Client::Get(const std::string& key) {
  absl::StatusOr<Response> r = Send("GET", key, {}, "", {});
  if (!r.ok()) return r.status();
  if (r->status != 200) return Refused("get", key, *r);
  return S3Got{std::move(r->body), MetadataOf(r->headers)};
}

absl::StatusOr<std::optional<std::map<std::string, std::string>>> S3Client::Head(
    const std::string& key) {
  absl::StatusOr<Response> r = Send("HEAD", key, {}, "", {});
  if (!r.ok()) return r.status();
  if (r->status == 404) return std::nullopt;
  if (r->status != 200) return Refused("head", key, *r);
  return MetadataOf(r->headers);
}

absl::Status S3Client::Delete(const std::string& key) {
  absl::StatusOr<Response> r = Send("DELETE", key, {}, "", {});
  if (!r.ok()) return r.status();
  if (r->status != 204 && r->status != 200 && r->status != 404) {
    return Refused("delete", key, *r);
  }
  return absl::OkStatus();
}

absl::StatusOr<std::vector<S3Object>> S3Client::List(const std::string& prefix) {
  std::vector<S3Object> out;
  std::string token;
  for (;;) {
    std::map<std::string, std::string> query{{"list-type", "2"}, {"prefix", prefix}};
    if (!token.empty()) query["continuation-token"] = token;
    absl::StatusOr<Response> r = Send("GET", "", query, "", {});
    if (!r.ok()) return r.status();
    if (r->status != 200) return Refused("list", prefix + "*", *r);
    absl::StatusOr<S3ListPage> page = ParseListObjects(r->body);
    if (!page.ok()) {
      return absl::DataLossError("list s3://" + options_.bucket + "/" + prefix +
                                 "*: " + std::string(page.status().message()));
    }
    for (S3Object& o : page->objects) out.push_back(std::move(o));
    if (!page->truncated || page->next_token.empty()) break;
    token = page->next_token;
  }
  std::sort(out.begin(), out.end(),
            [](const S3Object& a, const S3Object& b) { return a.key < b.key; });
  return out;
}

absl::Status S3Client::CreateBucket() {
  std::string body;
  if (options_.region != "us-east-1") {
    body = "<CreateBucketConfiguration><LocationConstraint>" + options_.region +
           "</LocationConstraint></CreateBucketConfiguration>";
  }
  absl::StatusOr<Response> r = Send("PUT", "", {}, body, {});
  if (!r.ok()) return r.status();
  if (r->status == 200 || ErrorOf(r->body).starts_with("BucketAlreadyOwnedByYou")) {
    return absl::OkStatus();
  }
  return Refused("create bucket", "", *r);
}

}  // namespace provider

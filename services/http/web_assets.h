// The dashboard's files (clients/web) as the HTTP server serves them.
//
// The definition of EmbeddedWebAssets() is generated at build time
// (clients/web/embed.cmake writes web_assets.cc from the esbuild output in
// clients/web/dist; with AESIGNAL_WEB=OFF it holds one placeholder page).
//
// Constants with static storage duration; thread-safe.
#ifndef AESIGNAL_SERVICES_HTTP_WEB_ASSETS_H_
#define AESIGNAL_SERVICES_HTTP_WEB_ASSETS_H_

#include <span>
#include <string_view>

namespace aesignal::http {

struct WebAsset {
  // URL path, e.g. "/index.html", "/assets/app-3F2A1B.js".
  std::string_view path;
  // e.g. "text/html; charset=utf-8".
  std::string_view content_type;
  std::string_view body;
  // Hex SHA-256 of body (the ETag).
  std::string_view sha256;
  // Whether the name carries a content hash (served as immutable).
  bool immutable;
};

// Every embedded file; "/index.html" is always among them.
std::span<const WebAsset> EmbeddedWebAssets();

}  // namespace aesignal::http

#endif  // AESIGNAL_SERVICES_HTTP_WEB_ASSETS_H_

// One libmicrohttpd answer with a body, for the programs' small HTTP servers
// (metrics, probes, the admission webhook). Header-only: the library using it
// links libmicrohttpd; common does not.
#ifndef PLATFORM_COMMON_MHD_REPLY_H_
#define PLATFORM_COMMON_MHD_REPLY_H_

#include <microhttpd.h>

#include <string>

namespace platform {

// Queues `body` (copied) with status `code` and Content-Type `type`.
inline MHD_Result MhdReply(MHD_Connection* connection, unsigned int code, const std::string& body,
                           const char* type) {
  MHD_Response* response = MHD_create_response_from_buffer(
      body.size(), const_cast<char*>(body.data()), MHD_RESPMEM_MUST_COPY);
  if (response == nullptr) return MHD_NO;
  MHD_add_response_header(response, "Content-Type", type);
  const MHD_Result r = MHD_queue_response(connection, code, response);
  MHD_destroy_response(response);
  return r;
}

}  // namespace platform

#endif  // PLATFORM_COMMON_MHD_REPLY_H_

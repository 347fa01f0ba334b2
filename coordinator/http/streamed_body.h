// Internal to fl_http: the Beast body type a request is read into. Like
// http::string_body, with two differences that matter at upload sizes:
//
// - The body's digest (auth::body_hash) is computed piece by piece as Beast hands over
//   each read (still in cache), when authentication declared a digest for it
//   (Request::declared_body_hash); no second pass over the whole body.
// - A body declared larger than `pool_above` bytes is read into a buffer from
//   the server's BodyBufferPool, sized once from Content-Length (which the
//   session has already held to the route's limit), and appended to without
//   zero-filling first. A chunked body grows as it comes, bounded by the
//   parser's body_limit.
//
// Set `hash` and `pool` on the body value after the header is read and
// before the body is (Beast constructs the reader at the first body byte).
//
// Thread-safety: a value, used by one connection's strand.
#pragma once

#include <boost/beast/core/buffers_range.hpp>
#include <boost/beast/http/error.hpp>
#include <boost/beast/http/message.hpp>
#include <boost/optional.hpp>
#include <cstdint>
#include <optional>
#include <string>

#include "coordinator/http/body_buffer_pool.h"
#include "protocol/signature_scheme.h"

namespace fl::http {

struct StreamedBody {
  struct value_type {
    std::string bytes;
    std::optional<auth::BodyHasher> hash;  // set: hash bytes as they arrive
    BodyBufferPool* pool = nullptr;
    uint64_t pool_above = 0;
  };

  static std::uint64_t size(const value_type& body) { return body.bytes.size(); }

  class reader {
   public:
    template <bool isRequest, class Fields>
    reader(boost::beast::http::header<isRequest, Fields>&, value_type& body) : body_(body) {}

    void init(const boost::optional<std::uint64_t>& length, boost::beast::error_code& ec) {
      ec = {};
      if (!length) return;
      if (*length > body_.bytes.max_size()) {
        ec = boost::beast::http::error::buffer_overflow;
        return;
      }
      const auto bytes = static_cast<size_t>(*length);
      if (body_.pool && *length > body_.pool_above && body_.bytes.capacity() < bytes)
        body_.bytes = body_.pool->acquire(bytes);
      else
        body_.bytes.reserve(bytes);
    }

    template <class ConstBufferSequence>
    std::size_t put(const ConstBufferSequence& buffers, boost::beast::error_code& ec) {
      ec = {};
      size_t taken = 0;
      for (const auto piece : boost::beast::buffers_range_ref(buffers)) {
        const auto* data = static_cast<const char*>(piece.data());
        if (piece.size() > body_.bytes.max_size() - body_.bytes.size()) {
          ec = boost::beast::http::error::buffer_overflow;
          return taken;
        }
        body_.bytes.append(data, piece.size());
        if (body_.hash) body_.hash->update(std::string_view(data, piece.size()));
        taken += piece.size();
      }
      return taken;
    }

    void finish(boost::beast::error_code& ec) { ec = {}; }

   private:
    value_type& body_;
  };
};

}  // namespace fl::http

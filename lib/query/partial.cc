// The common part of every partial result: its frame (magic, version,
// length, checksum), the call text and cap, and the dispatch to its kind's
// merge, encoding and decoding (which live beside the calls, under calls/).
#include "lib/query/partial.h"

#include <type_traits>

#include "fmt/format.h"
#include "lib/query/partial_codec.h"
#include "lib/util/checksum.h"
#include "lib/util/endian.h"
#include "lib/util/status_macros.h"

namespace featurebase::internal {
namespace {

constexpr uint32_t kMagic = 0x52504246;  // "FBPR"
constexpr uint16_t kVersion = 1;

// The body alternative whose kind byte is `kind`, default-constructed, or
// false when no kind has that byte.
template <size_t I = 0>
bool BodyOfKind(uint8_t kind, PartialBody* body) {
  if constexpr (I == std::variant_size_v<PartialBody>) {
    return false;
  } else {
    using T = std::variant_alternative_t<I, PartialBody>;
    if (uint8_t(T::kKind) == kind) {
      body->emplace<I>();
      return true;
    }
    return BodyOfKind<I + 1>(kind, body);
  }
}

}  // namespace

absl::Status PartialReader::Need(size_t n, std::string_view what) const {
  if (body_.size() - pos_ < n) {
    return absl::DataLossError(fmt::format(
        "decode partial result: truncated {} at offset {} (need {}, have {})",
        what, offset(), n, body_.size() - pos_));
  }
  return absl::OkStatus();
}

absl::StatusOr<__int128> PartialReader::I128(std::string_view what) {
  FB_RETURN_IF_ERROR(Need(16, what));
  const uint64_t lo = LoadFixed<uint64_t>(body_.data() + pos_);
  const uint64_t hi = LoadFixed<uint64_t>(body_.data() + pos_ + 8);
  pos_ += 16;
  return static_cast<__int128>((static_cast<unsigned __int128>(hi) << 64) | lo);
}

absl::StatusOr<bool> PartialReader::Flag(std::string_view what) {
  const size_t at = offset();
  FB_ASSIGN_OR_RETURN(auto b, Fixed<uint8_t>(what));
  if (b > 1) return Bad(at, fmt::format("{} {} is not 0 or 1", what, b));
  return b == 1;
}

absl::StatusOr<std::string_view> PartialReader::Bytes(size_t n,
                                                      std::string_view what) {
  FB_RETURN_IF_ERROR(Need(n, what));
  std::string_view s = body_.substr(pos_, n);
  pos_ += n;
  return s;
}

absl::StatusOr<uint64_t> PartialReader::Count(size_t min_bytes,
                                              std::string_view what) {
  const size_t at = offset();
  FB_ASSIGN_OR_RETURN(auto n, Fixed<uint64_t>(what));
  if (min_bytes > 0 && n > (body_.size() - pos_) / min_bytes) {
    return absl::DataLossError(
        fmt::format("decode partial result: {} count {} at offset {} "
                    "exceeds the remaining {} bytes",
                    what, n, at, body_.size() - pos_));
  }
  return n;
}

absl::StatusOr<uint64_t> PartialReader::CappedCount(size_t min_bytes,
                                                    uint64_t cap,
                                                    std::string_view what) {
  const size_t at = offset();
  FB_ASSIGN_OR_RETURN(auto n, Count(min_bytes, what));
  if (cap != 0 && n > cap) {
    return Bad(at, fmt::format("{} count {} exceeds the cap {}", what, n, cap));
  }
  return n;
}

absl::Status PartialReader::Bad(size_t at, std::string_view what) const {
  return absl::DataLossError(
      fmt::format("decode partial result: {} at offset {}", what, at));
}

PartialKind Partial::kind() const {
  return std::visit([](const auto& b) { return b.kKind; }, body);
}

void CapPartial(Partial* p) {
  if (p->cap == 0) return;
  std::visit(
      [cap = p->cap](auto& b) {
        if constexpr (requires { b.Cap(cap); }) b.Cap(cap);
      },
      p->body);
}

absl::Status MergePartial(Partial* into, const Partial& from) {
  bool same = into->call == from.call && into->cap == from.cap &&
              into->body.index() == from.body.index();
  if (same) {
    same = std::visit(
        [&](auto& a) {
          using T = std::decay_t<decltype(a)>;
          const T& b = std::get<T>(from.body);
          if constexpr (requires { a.Matches(b); }) {
            if (!a.Matches(b)) return false;
          }
          a.Merge(b);
          return true;
        },
        into->body);
  }
  if (!same) {
    return absl::InvalidArgumentError(fmt::format(
        "merge partial results: they answer different calls ({} and {})",
        into->call, from.call));
  }
  CapPartial(into);
  return absl::OkStatus();
}

std::string EncodePartial(const Partial& p) {
  std::string body;
  body.push_back(char(p.kind()));
  PutFixed<uint32_t>(&body, uint32_t(p.call.size()));
  body += p.call;
  PutFixed<uint64_t>(&body, p.cap);
  std::visit([&](const auto& b) { b.Encode(&body); }, p.body);
  std::string out;
  out.reserve(kPartialHeader + body.size());
  PutFixed<uint32_t>(&out, kMagic);
  PutFixed<uint16_t>(&out, kVersion);
  PutFixed<uint16_t>(&out, 0);
  PutFixed<uint64_t>(&out, body.size());
  PutFixed<uint64_t>(&out, Checksum64(body));
  out += body;
  return out;
}

absl::StatusOr<Partial> DecodePartial(std::string_view bytes) {
  auto loss = [](std::string msg) {
    return absl::DataLossError("decode partial result: " + msg);
  };
  if (bytes.size() < kPartialHeader) {
    return loss(fmt::format("truncated header at offset 0 (need {}, have {})",
                            kPartialHeader, bytes.size()));
  }
  if (LoadFixed<uint32_t>(bytes.data()) != kMagic)
    return loss("bad magic at offset 0");
  if (const uint16_t v = LoadFixed<uint16_t>(bytes.data() + 4); v != kVersion)
    return loss(fmt::format("unsupported version {} at offset 4", v));
  if (LoadFixed<uint16_t>(bytes.data() + 6) != 0)
    return loss("unknown flags at offset 6");
  const uint64_t len = LoadFixed<uint64_t>(bytes.data() + 8);
  if (len != bytes.size() - kPartialHeader) {
    return loss(
        fmt::format("body length {} at offset 8 does not match the {} "
                    "bytes after the header",
                    len, bytes.size() - kPartialHeader));
  }
  const std::string_view body = bytes.substr(kPartialHeader);
  if (Checksum64(body) != LoadFixed<uint64_t>(bytes.data() + 16))
    return loss("checksum mismatch at offset 16");

  PartialReader r(body);
  Partial p;
  const size_t at = r.offset();
  FB_ASSIGN_OR_RETURN(auto kind, r.Fixed<uint8_t>("kind"));
  if (!BodyOfKind(kind, &p.body))
    return r.Bad(at, fmt::format("unknown kind {}", kind));
  FB_ASSIGN_OR_RETURN(auto call_len, r.Fixed<uint32_t>("call length"));
  FB_ASSIGN_OR_RETURN(auto call, r.Bytes(call_len, "call"));
  p.call = std::string(call);
  FB_ASSIGN_OR_RETURN(p.cap, r.Fixed<uint64_t>("cap"));
  absl::Status s = std::visit(
      [&](auto& b) -> absl::Status {
        using T = std::decay_t<decltype(b)>;
        FB_ASSIGN_OR_RETURN(b, T::Decode(r, p.cap));
        return absl::OkStatus();
      },
      p.body);
  FB_RETURN_IF_ERROR(s);
  if (!r.done()) {
    return r.Bad(r.offset(),
                 fmt::format("{} bytes left over",
                             body.size() + kPartialHeader - r.offset()));
  }
  return p;
}

}  // namespace featurebase::internal

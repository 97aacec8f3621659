#include "lib/storage/wal.h"

#include <algorithm>
#include <cstring>

#include "fmt/format.h"
#include "lib/util/checksum.h"
#include "lib/util/endian.h"

namespace featurebase::internal {

std::string WalFileName(uint64_t number) {
  return fmt::format("wal-{:06d}.log", number);
}

namespace {

uint32_t HeaderCheck(uint32_t length) {
  char buf[4];
  std::memcpy(buf, &length, 4);
  return uint32_t(Hash64(std::string_view(buf, 4), kWalSeed));
}

bool AllZero(std::string_view bytes) {
  return std::all_of(bytes.begin(), bytes.end(), [](char c) { return c == 0; });
}

}  // namespace

void AppendWalRecord(std::string* out, std::string_view payload) {
  const uint32_t n = uint32_t(payload.size());
  PutFixed<uint32_t>(out, n);
  PutFixed<uint32_t>(out, HeaderCheck(n));
  PutFixed<uint64_t>(out, Checksum64(payload));
  out->append(payload);
}

absl::StatusOr<std::unique_ptr<WalWriter>> WalWriter::Create(
    Env* env, const std::string& dir, uint64_t number, uint64_t start_version) {
  auto file = env->NewAppendFile(dir + "/" + WalFileName(number));
  if (!file.ok()) return file.status();
  std::string header(kWalMagic);
  PutFixed<uint64_t>(&header, number);
  PutFixed<uint64_t>(&header, start_version);
  if (auto s = (*file)->Append(header); !s.ok()) return s;
  if (auto s = (*file)->Sync(); !s.ok()) return s;
  if (auto s = env->SyncDir(dir); !s.ok()) return s;
  return std::unique_ptr<WalWriter>(new WalWriter(std::move(*file), number));
}

absl::Status ReadWal(std::string_view bytes, std::string_view name,
                     uint64_t number, bool newest, std::vector<WalRecord>* out,
                     uint64_t* valid_end, uint64_t* start_version) {
  auto corrupt = [&](uint64_t at, std::string_view what) {
    return absl::DataLossError(
        fmt::format("{}: {} at offset {}", name, what, at));
  };
  *valid_end = bytes.size();
  *start_version = 0;
  if (bytes.size() < kWalFileHeaderBytes) {
    // A crash right after creating the file.
    if (newest &&
        (AllZero(bytes) || kWalMagic.starts_with(bytes.substr(
                               0, std::min(bytes.size(), kWalMagic.size()))))) {
      *valid_end = 0;
      return absl::OkStatus();
    }
    return corrupt(0, "truncated log file header");
  }
  if (bytes.substr(0, kWalMagic.size()) != kWalMagic) {
    if (bytes.substr(0, 5) == kWalMagic.substr(0, 5))
      return corrupt(0,
                     fmt::format("unsupported log file version \"{}\" "
                                 "(this library reads \"{}\")",
                                 bytes.substr(0, kWalMagic.size()), kWalMagic));
    return corrupt(0, "bad log file magic");
  }
  if (LoadFixed<uint64_t>(bytes.data() + 8) != number)
    return corrupt(8, "log file number does not match its name");
  *start_version = LoadFixed<uint64_t>(bytes.data() + 16);
  uint64_t pos = kWalFileHeaderBytes;
  while (pos < bytes.size()) {
    const std::string_view rest = bytes.substr(pos);
    // Damage here is a torn tail only in the newest file and only if no
    // intact data can follow it.
    auto torn_or = [&](std::string_view what, bool torn) -> absl::Status {
      if (newest && torn) {
        *valid_end = pos;
        return absl::OkStatus();
      }
      return corrupt(pos, what);
    };
    if (rest.size() < kWalRecordHeaderBytes)
      return torn_or("truncated record header", true);
    const uint32_t n = LoadFixed<uint32_t>(rest.data());
    const uint32_t check = LoadFixed<uint32_t>(rest.data() + 4);
    if (check != HeaderCheck(n) || n > kWalMaxPayload)
      return torn_or("bad record header", AllZero(rest));
    if (rest.size() - kWalRecordHeaderBytes < n)
      return torn_or("truncated record", true);
    const std::string_view payload = rest.substr(kWalRecordHeaderBytes, n);
    if (Checksum64(payload) != LoadFixed<uint64_t>(rest.data() + 8)) {
      const std::string_view after = rest.substr(kWalRecordHeaderBytes + n);
      return torn_or("record checksum mismatch", AllZero(after));
    }
    out->push_back({pos, payload});
    pos += kWalRecordHeaderBytes + n;
  }
  return absl::OkStatus();
}

}  // namespace featurebase::internal

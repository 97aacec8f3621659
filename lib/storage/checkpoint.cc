#include "lib/storage/checkpoint.h"

#include <algorithm>
#include <atomic>
#include <bit>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <set>
#include <thread>
#include <vector>

#include "fmt/format.h"
#include "lib/keys/translator_access.h"
#include "lib/storage/codec.h"
#include "lib/storage/file.h"
#include "lib/util/checksum.h"
#include "lib/util/status_macros.h"
#include "lib/util/status_util.h"

namespace featurebase::internal {

namespace {

constexpr std::string_view kManifestMagic = "FBCKPT01";
constexpr size_t kManifestHeaderBytes = 24;  // magic, length, checksum
constexpr uint32_t kNoField = UINT32_MAX;
// Buffered bytes before a data file write.
constexpr size_t kWriteBuffer = size_t{4} << 20;

void EncodeFragment(const Fragment& f, std::string* out) {
  PutU8(out, uint8_t(f.mode()));
  PutU64(out, f.rows().size());
  f.rows().ForEach([&](uint64_t row, const RowData& r) {
    PutU64(out, row);
    PutRow(out, r);
    return true;
  });
  // Mutex fragments keep their column -> row table, so that a load copies
  // pages instead of rebuilding them bit by bit (half the load time).
  if (const ColumnRows* cr = f.column_rows()) {
    const size_t at = out->size();
    PutU32(out, 0);
    uint32_t n = 0;
    for (int i = 0; i < ColumnRows::kPages; ++i) {
      const ColumnRows::PageView page = cr->PageAt(i);
      if (page.data == nullptr) continue;
      PutU8(out, uint8_t(i));
      PutU8(out, uint8_t(page.width));
      out->append(reinterpret_cast<const char*>(page.data),
                  size_t(page.width) * ColumnRows::kPageSize);
      ++n;
    }
    std::memcpy(out->data() + at, &n, 4);
  }
}

// Entries holding a row in a page of `width`-byte entries.
uint64_t CountEntries(std::string_view bytes, int width) {
  uint64_t n = 0;
  if (width == 1) {
    // Eight entries per word: a byte's high bit in `zero` is set iff the
    // byte is zero (pages are kPageSize bytes, a multiple of 8).
    constexpr uint64_t kLow7 = 0x7F7F7F7F7F7F7F7Full;
    for (size_t i = 0; i + 8 <= bytes.size(); i += 8) {
      uint64_t w;
      std::memcpy(&w, bytes.data() + i, 8);
      const uint64_t zero = ~(((w & kLow7) + kLow7) | w | kLow7);
      n += 8 - uint64_t(std::popcount(zero));
    }
    return n;
  }
  auto count = [&](auto zero) {
    using T = decltype(zero);
    for (size_t i = 0; i + sizeof(T) <= bytes.size(); i += sizeof(T)) {
      T v;
      std::memcpy(&v, bytes.data() + i, sizeof(T));
      n += v != 0;
    }
  };
  if (width == 2) {
    count(uint16_t{0});
  } else if (width == 4) {
    count(uint32_t{0});
  } else {
    count(uint64_t{0});
  }
  return n;
}

bool SameBsi(const BsiShard& a, const BsiShard& b) {
  if (a.depth() != b.depth()) return false;
  for (int r = 0; r < 2 + a.depth(); ++r) {
    if (a.row(r) != b.row(r)) return false;
  }
  return true;
}

// Appends blocks to the new data file.
class BlockWriter {
 public:
  BlockWriter(std::string dir, uint64_t number)
      : dir_(std::move(dir)), number_(number) {}

  absl::StatusOr<BlockRef> Add(const std::function<void(std::string*)>& body) {
    if (!file_) {
      FB_ASSIGN_OR_RETURN(file_, AppendFile::Create(TempPath()));
    }
    const size_t start = buf_.size();
    body(&buf_);
    const uint64_t sum = Checksum64(std::string_view(buf_).substr(start));
    PutU64(&buf_, sum);
    BlockRef ref{number_, written_ + start, buf_.size() - start};
    if (buf_.size() >= kWriteBuffer) FB_RETURN_IF_ERROR(Flush());
    return ref;
  }

  absl::Status Flush() {
    if (buf_.empty()) return absl::OkStatus();
    FB_RETURN_IF_ERROR(file_->Append(buf_));
    written_ += buf_.size();
    buf_.clear();
    return absl::OkStatus();
  }

  // Flushes, syncs and renames the file to its final name; its size (0
  // when nothing was written).
  absl::StatusOr<uint64_t> Finish() {
    if (!file_) return uint64_t{0};
    FB_RETURN_IF_ERROR(Flush());
    FB_RETURN_IF_ERROR(file_->Sync());
    file_.reset();
    const std::string path = dir_ + "/" + DataFileName(number_);
    if (::rename(TempPath().c_str(), path.c_str()) != 0)
      return IoError("rename", TempPath(), errno);
    return written_;
  }

 private:
  std::string TempPath() const {
    return dir_ + "/" + DataFileName(number_) + ".tmp";
  }

  std::string dir_;
  uint64_t number_;
  std::unique_ptr<AppendFile> file_;
  std::string buf_;
  uint64_t written_ = 0;
};

void PutRef(std::string* out, const BlockRef& r) {
  PutU64(out, r.file);
  PutU64(out, r.offset);
  PutU64(out, r.length);
}

std::string EncodeManifest(const Catalog& c, const IndexState& s) {
  std::string p;
  PutU64(&p, c.number);
  PutU64(&p, c.version);
  PutU64(&p, c.wal_start);
  PutBytes(&p, s.name);
  PutU8(&p, s.options.keys ? 1 : 0);
  PutU8(&p, s.options.track_existence ? 1 : 0);
  PutU32(&p, s.options.partitions);
  PutU64(&p, s.next_auto_id);
  PutU64(&p, s.column_key_deletes);
  PutU32(&p, uint32_t(s.stream_offsets.size()));
  for (const auto& [source, offset] : s.stream_offsets) {
    PutBytes(&p, source);
    PutI64(&p, offset);
  }
  PutU32(&p, uint32_t(c.files.size()));
  for (const auto& [number, size] : c.files) {
    PutU64(&p, number);
    PutU64(&p, size);
  }
  std::map<std::string_view, uint32_t> index;
  PutU32(&p, uint32_t(s.fields.size()));
  for (const auto& [name, f] : s.fields) {
    index.emplace(name, uint32_t(index.size()));
    PutBytes(&p, name);
    PutFieldOptions(&p, f->options);
    PutU8(&p, uint8_t(f->bsi ? f->bsi->bit_depth() : 0));
  }
  auto field_index = [&](const std::string& name) {
    return name.empty() ? kNoField : index.at(name);
  };
  PutU32(&p, uint32_t(c.keys.size()));
  for (const auto& [name, entry] : c.keys) {
    PutU32(&p, field_index(name));
    PutU64(&p, entry.first);
    PutRef(&p, entry.second);
  }
  PutU64(&p, c.fragments.size());
  for (const auto& [key, ref] : c.fragments) {
    PutU32(&p, field_index(std::get<0>(key)));
    PutU64(&p, std::get<1>(key));
    PutU64(&p, std::get<2>(key));
    PutRef(&p, ref);
  }
  PutU64(&p, c.bsi.size());
  for (const auto& [key, ref] : c.bsi) {
    PutU32(&p, field_index(key.first));
    PutU64(&p, key.second);
    PutRef(&p, ref);
  }
  std::string out(kManifestMagic);
  PutU64(&out, p.size());
  PutU64(&out, Checksum64(p));
  out += p;
  return out;
}

}  // namespace

std::string DataFileName(uint64_t number) {
  return fmt::format("data-{:06d}.fbd", number);
}

absl::Status WriteCheckpoint(const std::string& dir,
                             std::shared_ptr<const IndexState> state,
                             uint64_t wal_start, Catalog* catalog) {
  Catalog next = *catalog;
  next.number = catalog->number + 1;
  next.version = state->version;
  next.wal_start = wal_start;
  BlockWriter out(dir, next.number);
  const IndexState* prev = catalog->state.get();
  static const PersistentMap<View> kNoViews;
  static const PersistentMap<BsiShard> kNoShards;
  static const View kNoView;

  auto put_fragment = [&](const std::string& field, uint64_t vk, uint64_t shard,
                          const Fragment* before,
                          const Fragment* after) -> absl::Status {
    if (before != nullptr && after != nullptr &&
        before->rows().SameAs(after->rows()))
      return absl::OkStatus();
    const auto key = std::make_tuple(field, vk, shard);
    if (after == nullptr || after->empty()) {
      next.fragments.erase(key);
      return absl::OkStatus();
    }
    FB_ASSIGN_OR_RETURN(next.fragments[key], out.Add([&](std::string* b) {
      EncodeFragment(*after, b);
    }));
    return absl::OkStatus();
  };
  auto put_view = [&](const std::string& field, uint64_t vk, const View* before,
                      const View* after) -> absl::Status {
    absl::Status status;
    View::Diff(before ? *before : kNoView, after ? *after : kNoView,
               [&](uint64_t shard, const Fragment* a, const Fragment* b) {
                 if (status.ok()) status = put_fragment(field, vk, shard, a, b);
               });
    return status;
  };
  auto put_keys = [&](const std::string& field,
                      const KeyTranslator& keys) -> absl::Status {
    const uint64_t seq = keys.sequence();
    auto it = next.keys.find(field);
    if (it != next.keys.end() && it->second.first == seq)
      return absl::OkStatus();
    FB_ASSIGN_OR_RETURN(
        BlockRef ref, out.Add([&](std::string* b) { keys.EncodeSnapshot(b); }));
    next.keys[field] = {seq, ref};
    return absl::OkStatus();
  };

  for (const auto& [name, f] : state->fields) {
    const FieldState* b = prev ? prev->FindField(name) : nullptr;
    if (f->row_keys) FB_RETURN_IF_ERROR(put_keys(name, *f->row_keys));
    if (b == f.get()) continue;
    absl::Status status;
    PersistentMap<View>::Diff(b ? b->views : kNoViews, f->views,
                              [&](uint64_t vk, const View* va, const View* vb) {
                                if (status.ok())
                                  status = put_view(name, vk, va, vb);
                              });
    FB_RETURN_IF_ERROR(status);
    PersistentMap<BsiShard>::Diff(
        b ? b->bsi_shards : kNoShards, f->bsi_shards,
        [&](uint64_t shard, const BsiShard* sa, const BsiShard* sb) {
          if (!status.ok() || (sa && sb && SameBsi(*sa, *sb))) return;
          const auto key = std::make_pair(name, shard);
          if (sb == nullptr || sb->Exists().IsEmpty()) {
            next.bsi.erase(key);
            return;
          }
          auto ref = out.Add([&](std::string* body) { sb->Encode(body); });
          if (!ref.ok()) {
            status = ref.status();
            return;
          }
          next.bsi[key] = *ref;
        });
    FB_RETURN_IF_ERROR(status);
  }
  FB_RETURN_IF_ERROR(
      put_view("", 0, prev ? &prev->exists : nullptr, &state->exists));
  if (state->column_keys) FB_RETURN_IF_ERROR(put_keys("", *state->column_keys));

  // Compaction: rewrite the live blocks of files under half live.
  std::map<uint64_t, uint64_t> live;
  auto count = [&](const BlockRef& r) { live[r.file] += r.length; };
  for (const auto& [k, r] : next.fragments) count(r);
  for (const auto& [k, r] : next.bsi) count(r);
  for (const auto& [k, e] : next.keys) count(e.second);
  std::set<uint64_t> compact;
  for (const auto& [number, size] : next.files) {
    if (live[number] * 2 < size) compact.insert(number);
  }
  if (!compact.empty()) {
    for (auto& [key, ref] : next.fragments) {
      if (!compact.count(ref.file)) continue;
      const auto& [field, vk, shard] = key;
      const Fragment* frag =
          field.empty() ? state->exists.Find(shard)
                        : state->FindField(field)->FindFragment(vk, shard);
      FB_ASSIGN_OR_RETURN(
          ref, out.Add([&](std::string* b) { EncodeFragment(*frag, b); }));
    }
    for (auto& [key, ref] : next.bsi) {
      if (!compact.count(ref.file)) continue;
      const BsiShard* bs =
          state->FindField(key.first)->bsi_shards.Find(key.second);
      FB_ASSIGN_OR_RETURN(ref, out.Add([&](std::string* b) { bs->Encode(b); }));
    }
    for (auto& [field, entry] : next.keys) {
      if (!compact.count(entry.second.file)) continue;
      const KeyTranslator& keys = field.empty()
                                      ? *state->column_keys
                                      : *state->FindField(field)->row_keys;
      entry.first = keys.sequence();
      FB_ASSIGN_OR_RETURN(entry.second, out.Add([&](std::string* b) {
        keys.EncodeSnapshot(b);
      }));
    }
  }
  FB_ASSIGN_OR_RETURN(const uint64_t size, out.Finish());
  // Only files still referenced stay listed.
  std::set<uint64_t> referenced;
  for (const auto& [k, r] : next.fragments) referenced.insert(r.file);
  for (const auto& [k, r] : next.bsi) referenced.insert(r.file);
  for (const auto& [k, e] : next.keys) referenced.insert(e.second.file);
  if (size > 0) next.files[next.number] = size;
  for (auto it = next.files.begin(); it != next.files.end();) {
    it = referenced.count(it->first) ? std::next(it) : next.files.erase(it);
  }
  if (size > 0) FB_RETURN_IF_ERROR(SyncDir(dir));
  FB_RETURN_IF_ERROR(WriteFileAtomically(dir, std::string(kCheckpointName),
                                         EncodeManifest(next, *state)));
  // The new manifest is durable: files it does not name are garbage.
  for (const auto& [number, size] : catalog->files) {
    if (!next.files.count(number))
      FB_RETURN_IF_ERROR(RemoveFile(dir + "/" + DataFileName(number)));
  }
  if (size == 0) (void)RemoveFile(dir + "/" + DataFileName(next.number));
  (void)RemoveFile(dir + "/" + DataFileName(next.number) + ".tmp");
  next.state = std::move(state);
  *catalog = std::move(next);
  return absl::OkStatus();
}

namespace {

struct LoadItem {
  enum Kind { kFragment, kBsi } kind;
  uint32_t field;
  uint64_t view;
  uint64_t shard;
  BlockRef ref;
};

absl::StatusOr<BlockRef> ReadRef(ByteReader& r,
                                 const std::map<uint64_t, uint64_t>& files) {
  BlockRef ref;
  FB_ASSIGN_OR_RETURN(ref.file, r.U64("block file"));
  FB_ASSIGN_OR_RETURN(ref.offset, r.U64("block offset"));
  FB_ASSIGN_OR_RETURN(ref.length, r.U64("block length"));
  auto it = files.find(ref.file);
  if (it == files.end()) return r.Corrupt("block in an unlisted data file");
  if (ref.length < 8 || ref.offset > it->second ||
      it->second - ref.offset < ref.length) {
    return r.Corrupt("block beyond its data file");
  }
  return ref;
}

}  // namespace

absl::StatusOr<Catalog> LoadCheckpoint(const std::string& dir, OwnerToken owner,
                                       int threads) {
  const std::string path = dir + "/" + std::string(kCheckpointName);
  FB_ASSIGN_OR_RETURN(std::unique_ptr<MappedFile> manifest,
                      MappedFile::Open(path));
  const std::string file(kCheckpointName);
  std::string_view bytes = manifest->bytes();
  if (bytes.size() < kManifestHeaderBytes ||
      bytes.substr(0, kManifestMagic.size()) != kManifestMagic) {
    return absl::DataLossError(
        fmt::format("{}: bad or truncated header at offset 0", file));
  }
  const uint64_t len = LoadFixed<uint64_t>(bytes.data() + 8);
  if (len != bytes.size() - kManifestHeaderBytes) {
    return absl::DataLossError(fmt::format(
        "{}: length {} does not match the file ({} bytes) at offset 8", file,
        len, bytes.size()));
  }
  const std::string_view payload = bytes.substr(kManifestHeaderBytes);
  if (Checksum64(payload) != LoadFixed<uint64_t>(bytes.data() + 16)) {
    return absl::DataLossError(
        fmt::format("{}: checksum mismatch at offset 16", file));
  }
  ByteReader r(payload, file, kManifestHeaderBytes);
  Catalog c;
  auto s = std::make_shared<IndexState>();
  FB_ASSIGN_OR_RETURN(c.number, r.U64("checkpoint number"));
  FB_ASSIGN_OR_RETURN(c.version, r.U64("version"));
  FB_ASSIGN_OR_RETURN(c.wal_start, r.U64("log start"));
  s->version = c.version;
  FB_ASSIGN_OR_RETURN(std::string_view name, r.Bytes("index name"));
  s->name = std::string(name);
  FB_ASSIGN_OR_RETURN(const uint8_t keys, r.U8("index keys"));
  FB_ASSIGN_OR_RETURN(const uint8_t exist, r.U8("index existence"));
  FB_ASSIGN_OR_RETURN(s->options.partitions, r.U32("partitions"));
  if (keys > 1 || exist > 1) return r.Corrupt("bad index options");
  s->options.keys = keys == 1;
  s->options.track_existence = exist == 1;
  FB_ASSIGN_OR_RETURN(s->next_auto_id, r.U64("next auto id"));
  FB_ASSIGN_OR_RETURN(s->column_key_deletes, r.U64("key deletes"));
  FB_ASSIGN_OR_RETURN(const uint32_t n_offsets, r.U32("stream offset count"));
  for (uint32_t i = 0; i < n_offsets; ++i) {
    FB_ASSIGN_OR_RETURN(std::string_view source, r.Bytes("stream source"));
    FB_ASSIGN_OR_RETURN(const int64_t at, r.I64("stream offset"));
    s->stream_offsets[std::string(source)] = at;
  }
  FB_ASSIGN_OR_RETURN(const uint32_t n_files, r.U32("data file count"));
  for (uint32_t i = 0; i < n_files; ++i) {
    FB_ASSIGN_OR_RETURN(const uint64_t number, r.U64("data file number"));
    FB_ASSIGN_OR_RETURN(c.files[number], r.U64("data file size"));
  }
  FB_ASSIGN_OR_RETURN(const uint32_t n_fields, r.U32("field count"));
  std::vector<FieldState*> fields;
  std::vector<std::string> field_names;
  for (uint32_t i = 0; i < n_fields; ++i) {
    FB_ASSIGN_OR_RETURN(std::string_view fname, r.Bytes("field name"));
    FB_ASSIGN_OR_RETURN(FieldOptions options, r.Options("field options"));
    FB_ASSIGN_OR_RETURN(const uint8_t depth, r.U8("bit depth"));
    auto f = NewFieldState(fname, options, owner);
    if (!f.ok()) return r.Corrupt("bad field", f.status());
    if (depth > kBsiMaxDepth || (depth > 0 && !(*f)->bsi))
      return r.Corrupt("bad bit depth");
    if (depth > 0) (*f)->bsi->GrowBitDepth(depth);
    fields.push_back(f->get());
    field_names.emplace_back(fname);
    if (!s->fields.emplace(std::string(fname), std::move(*f)).second)
      return r.Corrupt(fmt::format("field \"{}\" listed twice", fname));
  }
  auto field_at = [&](uint32_t i, std::string* fname) -> absl::Status {
    if (i == kNoField) {
      fname->clear();
      return absl::OkStatus();
    }
    if (i >= fields.size()) return r.Corrupt("field index out of range");
    *fname = field_names[i];
    return absl::OkStatus();
  };

  // Map the data files and check their sizes.
  std::map<uint64_t, std::unique_ptr<MappedFile>> maps;
  for (const auto& [number, size] : c.files) {
    const std::string fpath = dir + "/" + DataFileName(number);
    auto m = MappedFile::Open(fpath);
    if (!m.ok()) {
      return absl::DataLossError(
          fmt::format("{}: {}", DataFileName(number), Message(m.status())));
    }
    if ((*m)->bytes().size() < size) {
      return absl::DataLossError(fmt::format(
          "{}: truncated to {} bytes, the checkpoint needs {} at offset {}",
          DataFileName(number), (*m)->bytes().size(), size,
          (*m)->bytes().size()));
    }
    maps.emplace(number, std::move(*m));
  }
  auto block = [&](const BlockRef& ref) -> absl::StatusOr<std::string_view> {
    const std::string_view all = maps.at(ref.file)->bytes();
    const std::string_view b = all.substr(ref.offset, ref.length);
    const std::string_view body = b.substr(0, b.size() - 8);
    if (Checksum64(body) != LoadFixed<uint64_t>(b.data() + body.size())) {
      return absl::DataLossError(
          fmt::format("{}: block checksum mismatch at offset {}",
                      DataFileName(ref.file), ref.offset));
    }
    return body;
  };

  FB_ASSIGN_OR_RETURN(const uint32_t n_keys, r.U32("key store count"));
  for (uint32_t i = 0; i < n_keys; ++i) {
    FB_ASSIGN_OR_RETURN(const uint32_t fi, r.U32("key store field"));
    std::string fname;
    FB_RETURN_IF_ERROR(field_at(fi, &fname));
    FB_ASSIGN_OR_RETURN(const uint64_t seq, r.U64("key sequence"));
    FB_ASSIGN_OR_RETURN(const BlockRef ref, ReadRef(r, c.files));
    FB_ASSIGN_OR_RETURN(const std::string_view body, block(ref));
    auto decoded = KeyTranslator::DecodeSnapshot(body);
    if (!decoded.ok()) {
      return absl::DataLossError(fmt::format("{}: key store at offset {}: {}",
                                             DataFileName(ref.file), ref.offset,
                                             Message(decoded.status())));
    }
    std::shared_ptr<KeyTranslator> t = std::move(*decoded);
    if (fname.empty()) {
      if (!s->options.keys) return r.Corrupt("record keys on an unkeyed index");
      s->column_keys = std::move(t);
    } else {
      FieldState* f = fields[fi];
      if (!f->row_keys) return r.Corrupt("row keys on an unkeyed field");
      f->row_keys = std::move(t);
    }
    c.keys[fname] = {seq, ref};
  }
  if (s->options.keys && !s->column_keys) {
    auto partitioner = HashPartitioner::Create(s->options.partitions);
    if (!partitioner.ok()) return r.Corrupt("bad partition count");
    s->column_keys = KeyTranslator::NewColumnTranslator(*partitioner);
  }

  std::vector<LoadItem> items;
  FB_ASSIGN_OR_RETURN(const uint64_t n_frags, r.U64("fragment count"));
  for (uint64_t i = 0; i < n_frags; ++i) {
    LoadItem it{LoadItem::kFragment, 0, 0, 0, {}};
    FB_ASSIGN_OR_RETURN(it.field, r.U32("fragment field"));
    std::string fname;
    FB_RETURN_IF_ERROR(field_at(it.field, &fname));
    FB_ASSIGN_OR_RETURN(it.view, r.U64("fragment view"));
    FB_ASSIGN_OR_RETURN(it.shard, r.U64("fragment shard"));
    FB_ASSIGN_OR_RETURN(it.ref, ReadRef(r, c.files));
    if (it.field != kNoField && fields[it.field]->bsi)
      return r.Corrupt("fragment of a value field");
    if (it.shard > (UINT64_MAX >> 20)) return r.Corrupt("shard out of range");
    c.fragments[{fname, it.view, it.shard}] = it.ref;
    items.push_back(it);
  }
  FB_ASSIGN_OR_RETURN(const uint64_t n_bsi, r.U64("value shard count"));
  for (uint64_t i = 0; i < n_bsi; ++i) {
    LoadItem it{LoadItem::kBsi, 0, 0, 0, {}};
    FB_ASSIGN_OR_RETURN(it.field, r.U32("value shard field"));
    std::string fname;
    FB_RETURN_IF_ERROR(field_at(it.field, &fname));
    if (fname.empty() || !fields[it.field]->bsi)
      return r.Corrupt("value shard of a non-value field");
    FB_ASSIGN_OR_RETURN(it.shard, r.U64("value shard"));
    FB_ASSIGN_OR_RETURN(it.ref, ReadRef(r, c.files));
    c.bsi[{fname, it.shard}] = it.ref;
    items.push_back(it);
  }
  if (!r.done()) return r.Corrupt("trailing bytes");

  // Decode blocks in parallel; insert into the maps in order afterwards.
  std::vector<Fragment> frags(items.size());
  std::vector<BsiShard> shards(items.size());
  std::vector<absl::Status> errors(items.size());
  std::atomic<size_t> next_item{0};
  auto work = [&] {
    for (size_t i; (i = next_item.fetch_add(1)) < items.size();) {
      const LoadItem& it = items[i];
      auto body = block(it.ref);
      if (!body.ok()) {
        errors[i] = body.status();
        continue;
      }
      const std::string fname = DataFileName(it.ref.file);
      if (it.kind == LoadItem::kBsi) {
        auto bs = BsiShard::Decode(*body);
        if (!bs.ok()) {
          errors[i] = absl::DataLossError(
              fmt::format("{}: value shard at offset {}: {}", fname,
                          it.ref.offset, Message(bs.status())));
        } else {
          shards[i] = std::move(*bs);
        }
        continue;
      }
      ByteReader br(*body, fname, it.ref.offset);
      auto decode = [&]() -> absl::Status {
        FB_ASSIGN_OR_RETURN(const uint8_t mode, br.U8("fragment mode"));
        const Fragment::Mode want =
            it.field == kNoField || it.view == kExistenceView
                ? Fragment::Mode::kMulti
                : fields[it.field]->mode();
        if (mode != uint8_t(want))
          return br.Corrupt("fragment mode does not match its field");
        FB_ASSIGN_OR_RETURN(const uint64_t n, br.U64("row count"));
        std::vector<std::pair<uint64_t, RowData>> rows;
        rows.reserve(std::min<uint64_t>(n, 1 << 16));
        uint64_t last = 0;
        for (uint64_t k = 0; k < n; ++k) {
          FB_ASSIGN_OR_RETURN(const uint64_t row, br.U64("row id"));
          if (row > kMaxRowId || (k > 0 && row <= last))
            return br.Corrupt("row ids out of order or range");
          last = row;
          FB_ASSIGN_OR_RETURN(RowData bits, br.Row(owner, "row bits"));
          const std::optional<uint32_t> max = bits.Maximum();
          if (!max) return br.Corrupt("empty row");
          if (*max >= (uint32_t{1} << 20))
            return br.Corrupt("column offset beyond the shard");
          rows.emplace_back(row, std::move(bits));
        }
        std::optional<ColumnRows> table;
        if (want == Fragment::Mode::kMutex) {
          // The column -> row table must cover exactly the rows' bits.
          uint64_t bits = 0;
          for (const auto& [row, b] : rows) bits += b.Cardinality();
          FB_ASSIGN_OR_RETURN(const uint32_t pages, br.U32("page count"));
          if (pages > uint32_t(ColumnRows::kPages))
            return br.Corrupt("too many column pages");
          std::vector<ColumnRows::PageData> data(pages);
          uint64_t entries = 0;
          for (uint32_t k = 0; k < pages; ++k) {
            FB_ASSIGN_OR_RETURN(const uint8_t index, br.U8("page index"));
            FB_ASSIGN_OR_RETURN(const uint8_t width, br.U8("page width"));
            if ((k > 0 && index <= data[k - 1].index) ||
                (width != 1 && width != 2 && width != 4 && width != 8))
              return br.Corrupt("bad column page");
            FB_ASSIGN_OR_RETURN(
                std::string_view bytes,
                br.Raw(size_t(width) * ColumnRows::kPageSize, "column page"));
            data[k] = {index, width, bytes};
            entries += CountEntries(bytes, width);
          }
          if (entries != bits) {
            return br.Corrupt(fmt::format(
                "column table holds {} columns, the rows {}", entries, bits));
          }
          table = ColumnRows::FromPages(owner, data);
        }
        if (!br.done()) return br.Corrupt("trailing bytes in fragment");
        frags[i] = Fragment::FromRows(Fragment::Mode(mode), owner,
                                      std::move(rows), std::move(table));
        return absl::OkStatus();
      };
      errors[i] = decode();
    }
  };
  std::vector<std::thread> pool;
  const int n_threads = std::max(1, std::min<int>(threads, int(items.size())));
  for (int t = 1; t < n_threads; ++t) pool.emplace_back(work);
  work();
  for (auto& t : pool) t.join();
  for (const absl::Status& e : errors) FB_RETURN_IF_ERROR(e);
  for (size_t i = 0; i < items.size(); ++i) {
    const LoadItem& it = items[i];
    if (it.kind == LoadItem::kBsi) {
      fields[it.field]->bsi_shards.Put(owner, it.shard, std::move(shards[i]));
    } else if (it.field == kNoField) {
      s->exists.Put(owner, it.shard, std::move(frags[i]));
    } else {
      fields[it.field]
          ->views.Mutate(owner, it.view)
          ->Put(owner, it.shard, std::move(frags[i]));
    }
  }
  c.state = std::move(s);
  return c;
}

}  // namespace featurebase::internal

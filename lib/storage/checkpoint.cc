#include "lib/storage/checkpoint.h"

#include <algorithm>
#include <atomic>
#include <set>
#include <vector>

#include "fmt/format.h"
#include "lib/keys/translator_access.h"
#include "lib/storage/codec.h"
#include "lib/storage/env.h"
#include "lib/storage/fragment_codec.h"
#include "lib/util/checksum.h"
#include "lib/util/status_macros.h"
#include "lib/util/status_util.h"
#include "lib/util/thread_pool.h"

namespace featurebase::internal {

namespace {

constexpr std::string_view kManifestMagic = "FBCKPT01";
constexpr size_t kManifestHeaderBytes = 24;  // magic, length, checksum
constexpr uint32_t kNoField = UINT32_MAX;
// Buffered bytes before a data file write.
constexpr size_t kWriteBuffer = size_t{4} << 20;

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
  BlockWriter(Env* env, std::string dir, uint64_t number)
      : env_(env), dir_(std::move(dir)), number_(number) {}

  absl::StatusOr<BlockRef> Add(const std::function<void(std::string*)>& body) {
    if (!file_) {
      FB_ASSIGN_OR_RETURN(file_, env_->NewAppendFile(TempPath()));
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
    FB_RETURN_IF_ERROR(
        env_->RenameFile(TempPath(), dir_ + "/" + DataFileName(number_)));
    return written_;
  }

 private:
  std::string TempPath() const {
    return dir_ + "/" + DataFileName(number_) + ".tmp";
  }

  Env* env_;
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

absl::Status WriteCheckpoint(Env* env, const std::string& dir,
                             std::shared_ptr<const IndexState> state,
                             uint64_t wal_start, Catalog* catalog) {
  Catalog next = *catalog;
  next.number = catalog->number + 1;
  next.version = state->version;
  next.wal_start = wal_start;
  BlockWriter out(env, dir, next.number);
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
  if (size > 0) FB_RETURN_IF_ERROR(env->SyncDir(dir));
  FB_RETURN_IF_ERROR(WriteFileAtomically(env, dir, std::string(kCheckpointName),
                                         EncodeManifest(next, *state)));
  // The new manifest is durable: files it does not name are garbage.
  for (const auto& [number, size] : catalog->files) {
    if (!next.files.count(number))
      FB_RETURN_IF_ERROR(env->RemoveFile(dir + "/" + DataFileName(number)));
  }
  if (size == 0) (void)env->RemoveFile(dir + "/" + DataFileName(next.number));
  (void)env->RemoveFile(dir + "/" + DataFileName(next.number) + ".tmp");
  next.state = std::move(state);
  *catalog = std::move(next);
  return absl::OkStatus();
}

namespace {

// What the manifest says, before any data block is read.
struct Manifest {
  struct Block {
    enum Kind { kKeys, kFragment, kBsi } kind;
    uint32_t field;  // kNoField: the index itself
    uint64_t view;
    uint64_t shard;
    BlockRef ref;
  };
  Catalog catalog;  // everything but its state
  // The index with its fields and counters and no data yet.
  std::shared_ptr<IndexState> state;
  std::vector<FieldState*> fields;  // by their index in the manifest
  std::vector<Block> blocks;        // key stores first, in manifest order
};

// One decoded block: the member its kind calls for.
struct DecodedBlock {
  std::shared_ptr<KeyTranslator> keys;
  Fragment fragment;
  BsiShard bsi;
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

// Step 1: checks the manifest's frame and parses it; reads no data file.
absl::StatusOr<Manifest> ParseManifest(std::string_view bytes,
                                       OwnerToken owner) {
  const std::string file(kCheckpointName);
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
  Manifest m;
  Catalog& c = m.catalog;
  m.state = std::make_shared<IndexState>();
  IndexState* s = m.state.get();
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
    m.fields.push_back(f->get());
    field_names.emplace_back(fname);
    if (!s->fields.emplace(std::string(fname), std::move(*f)).second)
      return r.Corrupt(fmt::format("field \"{}\" listed twice", fname));
  }
  auto field_at = [&](uint32_t i, std::string* fname) -> absl::Status {
    if (i == kNoField) {
      fname->clear();
      return absl::OkStatus();
    }
    if (i >= m.fields.size()) return r.Corrupt("field index out of range");
    *fname = field_names[i];
    return absl::OkStatus();
  };

  FB_ASSIGN_OR_RETURN(const uint32_t n_keys, r.U32("key store count"));
  for (uint32_t i = 0; i < n_keys; ++i) {
    Manifest::Block b{Manifest::Block::kKeys, 0, 0, 0, {}};
    FB_ASSIGN_OR_RETURN(b.field, r.U32("key store field"));
    std::string fname;
    FB_RETURN_IF_ERROR(field_at(b.field, &fname));
    FB_ASSIGN_OR_RETURN(const uint64_t seq, r.U64("key sequence"));
    FB_ASSIGN_OR_RETURN(b.ref, ReadRef(r, c.files));
    if (fname.empty() && !s->options.keys)
      return r.Corrupt("record keys on an unkeyed index");
    if (!fname.empty() && !m.fields[b.field]->row_keys)
      return r.Corrupt("row keys on an unkeyed field");
    c.keys[fname] = {seq, b.ref};
    m.blocks.push_back(b);
  }
  if (s->options.keys && !c.keys.count("")) {
    auto partitioner = HashPartitioner::Create(s->options.partitions);
    if (!partitioner.ok()) return r.Corrupt("bad partition count");
    s->column_keys = KeyTranslator::NewColumnTranslator(*partitioner);
  }

  FB_ASSIGN_OR_RETURN(const uint64_t n_frags, r.U64("fragment count"));
  for (uint64_t i = 0; i < n_frags; ++i) {
    Manifest::Block b{Manifest::Block::kFragment, 0, 0, 0, {}};
    FB_ASSIGN_OR_RETURN(b.field, r.U32("fragment field"));
    std::string fname;
    FB_RETURN_IF_ERROR(field_at(b.field, &fname));
    FB_ASSIGN_OR_RETURN(b.view, r.U64("fragment view"));
    FB_ASSIGN_OR_RETURN(b.shard, r.U64("fragment shard"));
    FB_ASSIGN_OR_RETURN(b.ref, ReadRef(r, c.files));
    if (b.field != kNoField && m.fields[b.field]->bsi)
      return r.Corrupt("fragment of a value field");
    if (b.shard > (UINT64_MAX >> 20)) return r.Corrupt("shard out of range");
    c.fragments[{fname, b.view, b.shard}] = b.ref;
    m.blocks.push_back(b);
  }
  FB_ASSIGN_OR_RETURN(const uint64_t n_bsi, r.U64("value shard count"));
  for (uint64_t i = 0; i < n_bsi; ++i) {
    Manifest::Block b{Manifest::Block::kBsi, 0, 0, 0, {}};
    FB_ASSIGN_OR_RETURN(b.field, r.U32("value shard field"));
    std::string fname;
    FB_RETURN_IF_ERROR(field_at(b.field, &fname));
    if (fname.empty() || !m.fields[b.field]->bsi)
      return r.Corrupt("value shard of a non-value field");
    FB_ASSIGN_OR_RETURN(b.shard, r.U64("value shard"));
    FB_ASSIGN_OR_RETURN(b.ref, ReadRef(r, c.files));
    c.bsi[{fname, b.shard}] = b.ref;
    m.blocks.push_back(b);
  }
  if (!r.done()) return r.Corrupt("trailing bytes");
  return m;
}

// Step 2: maps the data files the manifest lists, checks their sizes and
// decodes every block (checksum first) on `threads` threads. The first
// error in block order wins, so that the message does not depend on
// scheduling.
absl::StatusOr<std::vector<DecodedBlock>> DecodeBlocks(Env* env,
                                                       const std::string& dir,
                                                       const Manifest& m,
                                                       OwnerToken owner,
                                                       int threads) {
  std::map<uint64_t, std::unique_ptr<MappedFile>> maps;
  for (const auto& [number, size] : m.catalog.files) {
    auto f = env->MapFile(dir + "/" + DataFileName(number));
    if (!f.ok()) {
      return absl::DataLossError(
          fmt::format("{}: {}", DataFileName(number), Message(f.status())));
    }
    if ((*f)->bytes().size() < size) {
      return absl::DataLossError(fmt::format(
          "{}: truncated to {} bytes, the checkpoint needs {} at offset {}",
          DataFileName(number), (*f)->bytes().size(), size,
          (*f)->bytes().size()));
    }
    maps.emplace(number, std::move(*f));
  }

  std::vector<DecodedBlock> out(m.blocks.size());
  std::vector<absl::Status> errors(m.blocks.size());
  auto decode = [&](const Manifest::Block& b, DecodedBlock* d) -> absl::Status {
    const std::string fname = DataFileName(b.ref.file);
    const std::string_view all = maps.at(b.ref.file)->bytes();
    const std::string_view block = all.substr(b.ref.offset, b.ref.length);
    const std::string_view body = block.substr(0, block.size() - 8);
    if (Checksum64(body) != LoadFixed<uint64_t>(block.data() + body.size())) {
      return absl::DataLossError(fmt::format(
          "{}: block checksum mismatch at offset {}", fname, b.ref.offset));
    }
    switch (b.kind) {
      case Manifest::Block::kKeys: {
        auto keys = KeyTranslator::DecodeSnapshot(body);
        if (!keys.ok()) {
          return absl::DataLossError(
              fmt::format("{}: key store at offset {}: {}", fname, b.ref.offset,
                          Message(keys.status())));
        }
        d->keys = std::move(*keys);
        return absl::OkStatus();
      }
      case Manifest::Block::kBsi: {
        auto bsi = BsiShard::Decode(body);
        if (!bsi.ok()) {
          return absl::DataLossError(
              fmt::format("{}: value shard at offset {}: {}", fname,
                          b.ref.offset, Message(bsi.status())));
        }
        d->bsi = std::move(*bsi);
        return absl::OkStatus();
      }
      case Manifest::Block::kFragment: {
        const Fragment::Mode want =
            b.field == kNoField || b.view == kExistenceView
                ? Fragment::Mode::kMulti
                : m.fields[b.field]->mode();
        FB_ASSIGN_OR_RETURN(d->fragment, DecodeFragment(body, want, owner,
                                                        fname, b.ref.offset));
        return absl::OkStatus();
      }
    }
    return absl::InternalError("decode checkpoint block: unknown kind");
  };
  auto work = [&](size_t i) { errors[i] = decode(m.blocks[i], &out[i]); };
  const size_t n_threads =
      size_t(std::max(1, std::min<int>(threads, int(m.blocks.size()))));
  if (n_threads == 1) {
    for (size_t i = 0; i < m.blocks.size(); ++i) work(i);
  } else {
    // The calling thread works too.
    ThreadPool pool(n_threads - 1);
    pool.ParallelFor(m.blocks.size(), work);
  }
  for (const absl::Status& e : errors) FB_RETURN_IF_ERROR(e);
  return out;
}

// Step 3: puts the decoded blocks into the manifest's index.
Catalog Install(Manifest m, std::vector<DecodedBlock> decoded,
                OwnerToken owner) {
  IndexState* s = m.state.get();
  for (size_t i = 0; i < m.blocks.size(); ++i) {
    const Manifest::Block& b = m.blocks[i];
    DecodedBlock& d = decoded[i];
    switch (b.kind) {
      case Manifest::Block::kKeys:
        if (b.field == kNoField) {
          s->column_keys = std::move(d.keys);
        } else {
          m.fields[b.field]->row_keys = std::move(d.keys);
        }
        break;
      case Manifest::Block::kBsi:
        m.fields[b.field]->bsi_shards.Put(owner, b.shard, std::move(d.bsi));
        break;
      case Manifest::Block::kFragment:
        if (b.field == kNoField) {
          s->exists.Put(owner, b.shard, std::move(d.fragment));
        } else {
          m.fields[b.field]
              ->views.Mutate(owner, b.view)
              ->Put(owner, b.shard, std::move(d.fragment));
        }
        break;
    }
  }
  m.catalog.state = std::move(m.state);
  return std::move(m.catalog);
}

}  // namespace

absl::StatusOr<Catalog> LoadCheckpoint(Env* env, const std::string& dir,
                                       OwnerToken owner, int threads) {
  FB_ASSIGN_OR_RETURN(std::unique_ptr<MappedFile> file,
                      env->MapFile(dir + "/" + std::string(kCheckpointName)));
  FB_ASSIGN_OR_RETURN(Manifest manifest, ParseManifest(file->bytes(), owner));
  FB_ASSIGN_OR_RETURN(std::vector<DecodedBlock> decoded,
                      DecodeBlocks(env, dir, manifest, owner, threads));
  return Install(std::move(manifest), std::move(decoded), owner);
}

}  // namespace featurebase::internal

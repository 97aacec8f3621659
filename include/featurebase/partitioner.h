// HashPartitioner: the stable mapping from record keys and shards to index
// partitions, and from index partitions to Kafka partitions.
//
// A keyed index splits its records into N partitions (default 256). A
// record's key, its translation entry and its shard all belong to the same
// partition: the key's partition is a hash of the key, and the translator
// (translate.h) gives a key of partition p an id only inside a shard whose
// own partition is p. A producer can therefore compute, before sending, which
// partition (and which Kafka partition) a record belongs to, and a consumer
// that owns a set of partitions writes only to its own shards.
//
// The functions below are a published contract (docs/partitioner.md, with
// test vectors): they never change for a given partition count.
//
//   hash(key)             = XXH3-64(key bytes, seed kPartitionSeed)
//   reduce(h, N)          = floor(h * N / 2^64)   (high 64 bits of the
//                                                  128-bit product)
//   KeyPartition(key)     = reduce(hash(key), N)
//   ShardPartition(shard) = reduce(XXH3-64(8-byte little-endian shard,
//                                          seed kPartitionSeed), N)
//   KafkaPartition(key,K) = KeyPartition(key) mod K
//
// Thread-safety: immutable after construction; every method may be called
// concurrently.
#ifndef FEATUREBASE_PARTITIONER_H_
#define FEATUREBASE_PARTITIONER_H_

#include <cstddef>
#include <cstdint>
#include <span>
#include <string_view>
#include <vector>

#include "featurebase/status.h"

namespace featurebase {

class HashPartitioner {
 public:
  // The XXH3-64 seed of every partitioning hash ("FBpart01" read as a
  // big-endian integer).
  static constexpr uint64_t kPartitionSeed = 0x4642706172743031ull;
  // FeatureBase's default partition count.
  static constexpr uint32_t kDefaultPartitions = 256;
  // The largest supported partition count.
  static constexpr uint32_t kMaxPartitions = 65536;

  // A partitioner over kDefaultPartitions partitions.
  HashPartitioner() = default;

  // A partitioner over `partitions` partitions. InvalidArgument unless
  // 1 <= partitions <= kMaxPartitions.
  static StatusOr<HashPartitioner> Create(uint32_t partitions);

  uint32_t partitions() const { return partitions_; }

  // XXH3-64 of `key` with kPartitionSeed. Pure.
  static uint64_t HashKey(std::string_view key);

  // The partition of a key whose HashKey is `hash`: floor(hash * N / 2^64).
  uint32_t PartitionOfHash(uint64_t hash) const {
    return uint32_t((static_cast<unsigned __int128>(hash) * partitions_) >> 64);
  }

  // The partition of a record key, in [0, partitions()). The empty key (a
  // null value) has a partition too; callers normally skip it.
  uint32_t KeyPartition(std::string_view key) const {
    return PartitionOfHash(HashKey(key));
  }

  // out[i] = KeyPartition(keys[i]). Precondition: out.size() >= keys.size().
  // The fast path for producers routing whole batches.
  void KeyPartitions(std::span<const std::string_view> keys,
                     std::span<uint32_t> out) const;

  // The partition owning `shard`: reduce(XXH3-64(8-byte little-endian shard,
  // kPartitionSeed), N).
  uint32_t ShardPartition(uint64_t shard) const;

  // The lowest shard >= `from_shard` owned by `partition`. Expected
  // O(partitions()) hashes. Precondition: partition < partitions().
  uint64_t NextShardOf(uint32_t partition, uint64_t from_shard) const;

  // The shards in [0, shard_limit) owned by any partition in `partitions`
  // (ascending). O(shard_limit) hashes: a consumer computes this once for
  // the shards it may write to.
  std::vector<uint64_t> ShardsOwnedBy(std::span<const uint32_t> partitions,
                                      uint64_t shard_limit) const;

  // The Kafka partition a producer should send a record with `key` to, out of
  // `kafka_partitions`: KeyPartition(key) mod kafka_partitions. Each index
  // partition goes to exactly one Kafka partition, so each Kafka partition
  // carries whole index partitions. When kafka_partitions does not divide
  // partitions(), Kafka partitions below (partitions() mod kafka_partitions)
  // carry one index partition more than the others; when kafka_partitions >
  // partitions(), the Kafka partitions >= partitions() stay empty.
  // InvalidArgument if kafka_partitions is 0.
  StatusOr<uint32_t> KafkaPartition(std::string_view key,
                                    uint32_t kafka_partitions) const;

  // The Kafka partition carrying index partition `partition`:
  // partition mod kafka_partitions. Precondition: kafka_partitions > 0.
  static uint32_t KafkaPartitionOfPartition(uint32_t partition,
                                            uint32_t kafka_partitions) {
    return partition % kafka_partitions;
  }

  // The index partitions carried by Kafka partition `kafka_partition`
  // (ascending): every p < partitions() with p mod kafka_partitions ==
  // kafka_partition. A consumer assigned that Kafka partition owns exactly
  // these index partitions (and the shards ShardsOwnedBy returns for them).
  // InvalidArgument if kafka_partitions is 0 or kafka_partition >=
  // kafka_partitions.
  StatusOr<std::vector<uint32_t>> PartitionsOfKafkaPartition(
      uint32_t kafka_partition, uint32_t kafka_partitions) const;

  friend bool operator==(const HashPartitioner&,
                         const HashPartitioner&) = default;

 private:
  explicit HashPartitioner(uint32_t partitions) : partitions_(partitions) {}

  uint32_t partitions_ = kDefaultPartitions;
};

}  // namespace featurebase

#endif  // FEATUREBASE_PARTITIONER_H_

#include "featurebase/partitioner.h"

#include <fmt/format.h>

#include <cstring>

#define XXH_INLINE_ALL
#include <xxhash.h>

namespace featurebase {

StatusOr<HashPartitioner> HashPartitioner::Create(uint32_t partitions) {
  if (partitions == 0 || partitions > kMaxPartitions) {
    return absl::InvalidArgumentError(
        fmt::format("partitioner: partition count {} outside [1, {}]",
                    partitions, kMaxPartitions));
  }
  return HashPartitioner(partitions);
}

uint64_t HashPartitioner::HashKey(std::string_view key) {
  return XXH3_64bits_withSeed(key.data(), key.size(), kPartitionSeed);
}

void HashPartitioner::KeyPartitions(std::span<const std::string_view> keys,
                                    std::span<uint32_t> out) const {
  // The inlined XXH3 keeps this loop free of calls; the multiply-shift
  // reduction avoids a 64-bit division per key.
  const size_t n = keys.size();
  for (size_t i = 0; i < n; ++i) {
    out[i] = PartitionOfHash(
        XXH3_64bits_withSeed(keys[i].data(), keys[i].size(), kPartitionSeed));
  }
}

uint32_t HashPartitioner::ShardPartition(uint64_t shard) const {
  char le[8];
  std::memcpy(le, &shard, 8);  // little-endian hosts only (lib/util/endian.h)
  return PartitionOfHash(XXH3_64bits_withSeed(le, 8, kPartitionSeed));
}

uint64_t HashPartitioner::NextShardOf(uint32_t partition,
                                      uint64_t from_shard) const {
  uint64_t s = from_shard;
  while (ShardPartition(s) != partition) ++s;
  return s;
}

std::vector<uint64_t> HashPartitioner::ShardsOwnedBy(
    std::span<const uint32_t> partitions, uint64_t shard_limit) const {
  std::vector<bool> mine(partitions_, false);
  for (uint32_t p : partitions) {
    if (p < partitions_) mine[p] = true;
  }
  std::vector<uint64_t> shards;
  for (uint64_t s = 0; s < shard_limit; ++s) {
    if (mine[ShardPartition(s)]) shards.push_back(s);
  }
  return shards;
}

StatusOr<uint32_t> HashPartitioner::KafkaPartition(
    std::string_view key, uint32_t kafka_partitions) const {
  if (kafka_partitions == 0) {
    return absl::InvalidArgumentError(
        "kafka partition: kafka partition count is 0");
  }
  return KeyPartition(key) % kafka_partitions;
}

StatusOr<std::vector<uint32_t>> HashPartitioner::PartitionsOfKafkaPartition(
    uint32_t kafka_partition, uint32_t kafka_partitions) const {
  if (kafka_partitions == 0 || kafka_partition >= kafka_partitions) {
    return absl::InvalidArgumentError(
        fmt::format("partitions of kafka partition: kafka partition {} "
                    "outside [0, {})",
                    kafka_partition, kafka_partitions));
  }
  std::vector<uint32_t> out;
  for (uint64_t p = kafka_partition; p < partitions_; p += kafka_partitions) {
    out.push_back(uint32_t(p));
  }
  return out;
}

}  // namespace featurebase

// Shards: FeatureBase splits the column (record) space into shards of 2^20
// columns. A shard is the unit of storage (one fragment per field view and
// shard), of parallel query execution and of partitioning.
#ifndef FEATUREBASE_SHARD_H_
#define FEATUREBASE_SHARD_H_

#include <cstdint>

namespace featurebase {

// log2 of the shard width; fixed, as in FeatureBase (changing it would change
// every persisted position).
inline constexpr int kShardWidthExponent = 20;
// Columns per shard: 1,048,576.
inline constexpr uint64_t kShardWidth = uint64_t{1} << kShardWidthExponent;

// The shard holding column `col`: col / 2^20.
constexpr uint64_t ShardOf(uint64_t col) { return col >> kShardWidthExponent; }
// The offset of column `col` inside its shard: col % 2^20.
constexpr uint32_t OffsetInShard(uint64_t col) {
  return uint32_t(col & (kShardWidth - 1));
}
// The first column of `shard`.
constexpr uint64_t ShardStart(uint64_t shard) {
  return shard << kShardWidthExponent;
}

}  // namespace featurebase

#endif  // FEATUREBASE_SHARD_H_

// FeatureBase's write rule, in one place: which views of a field one write
// of a (row, record) bit touches (Field.SetBit), and what a clear takes
// with it (Field.ClearBit). Index::Set, Index::Clear and Batch's flush all
// ask here, so single writes and batches cannot drift apart.
#ifndef FEATUREBASE_LIB_CORE_WRITE_VIEWS_H_
#define FEATUREBASE_LIB_CORE_WRITE_VIEWS_H_

#include <cstdint>
#include <optional>
#include <vector>

#include "absl/time/civil_time.h"
#include "lib/core/index_state.h"

namespace featurebase::internal {

// The views a write of row r for one record sets r in (existence: row 0).
// Mutex and bool fields keep one row per record in each of these views:
// their fragments replace the record's other row (Fragment::Mode), so the
// views written are the same as a set field's.
struct WriteViews {
  bool standard = false;       // kStandardView
  std::vector<uint64_t> time;  // time views, coarsest unit first
  bool existence = false;      // row 0 of kExistenceView
};

// The views that writing a row of field `f` touches, for a write at UTC
// civil time `time` (nullopt: no time). Set, mutex and bool fields: the
// standard view and existence. Time fields: the standard view unless the
// field has none, one time view per unit of its quantum when `time` is
// given (ViewsForTime), and existence when it keeps a standard view.
// Int, decimal and timestamp fields write their bit-sliced index: none.
// Non-time fields ignore `time` (callers decide whether a time is an
// error). Nothing at all (a time field without standard view and no time)
// means the write has nowhere to go. O(quantum units); allocates only for
// time views.
WriteViews ViewsOfWrite(const FieldState& f,
                        std::optional<absl::CivilSecond> time);

// Whether clearing a record's row of `f` also clears its existence bit:
// for mutex and bool fields (the record then holds no row) but not set or
// time fields, whose other rows may remain (FeatureBase's ClearBit).
bool ClearRemovesExistence(const FieldState& f);

}  // namespace featurebase::internal

#endif  // FEATUREBASE_LIB_CORE_WRITE_VIEWS_H_

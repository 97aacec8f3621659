#include "lib/core/write_views.h"

#include "lib/core/time_views.h"

namespace featurebase::internal {

WriteViews ViewsOfWrite(const FieldState& f,
                        std::optional<absl::CivilSecond> time) {
  WriteViews out;
  if (f.bsi) return out;
  out.standard = f.has_standard_view();
  if (f.options.type == FieldType::kTime && time)
    out.time = ViewsForTime(f.options.time_quantum, *time);
  out.existence = f.tracks_existence();
  return out;
}

bool ClearRemovesExistence(const FieldState& f) {
  return f.mode() != Fragment::Mode::kMulti && f.tracks_existence();
}

}  // namespace featurebase::internal

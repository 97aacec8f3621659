// What the files of lib/bitmap that reach into CRoaring share: the cast
// between Roaring32's opaque handle and roaring_bitmap_t, and whether this
// CRoaring exposes its containers to our own kernels. Included only by
// lib/bitmap/*.cc (it includes CRoaring, which nothing above lib/bitmap may
// see).
#ifndef FEATUREBASE_LIB_BITMAP_ROARING_KERNELS_INTERNAL_H_
#define FEATUREBASE_LIB_BITMAP_ROARING_KERNELS_INTERNAL_H_

#include <roaring/roaring.h>

#include <new>

#include "lib/bitmap/roaring32.h"

// Container-level kernels. CRoaring 0.2.x exposes its containers in its
// public headers (SHARED_CONTAINER_TYPE_CODE is one of their macros); other
// versions hide them, and there the fused kernels fall back to whole-bitmap
// CRoaring calls and PackedRoaring32 packs nothing.
#ifdef SHARED_CONTAINER_TYPE_CODE
#define FB_ROARING_CONTAINER_KERNELS 1
#endif

namespace featurebase::internal {

inline roaring_bitmap_t* R(RoaringOpaque* p) {
  return reinterpret_cast<roaring_bitmap_t*>(p);
}

inline RoaringOpaque* O(roaring_bitmap_t* p) {
  // CRoaring returns null only when allocation fails: treat that like the
  // standard library does.
  if (p == nullptr) throw std::bad_alloc();
  return reinterpret_cast<RoaringOpaque*>(p);
}

// Words of a bitset container (2^16 bits).
inline constexpr int kBitsetWords = 1 << 10;

}  // namespace featurebase::internal

#endif  // FEATUREBASE_LIB_BITMAP_ROARING_KERNELS_INTERNAL_H_

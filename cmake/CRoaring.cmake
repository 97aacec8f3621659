# Builds CRoaring from a source tree (Debian's 0.2.66 by default, or any newer
# tree given with -DFB_CROARING_SOURCE_DIR=...) as an object library compiled
# with SIMD. The objects are linked into featurebase_core itself, so consumers
# need no libroaring.
set(FB_CROARING_SOURCE_DIR "${PROJECT_SOURCE_DIR}/.deps/CRoaring-0.2.66"
    CACHE PATH "CRoaring source tree (run scripts/deps to fetch Debian's)")
set(FB_MARCH "x86-64-v3" CACHE STRING
    "-march for CRoaring and our bitmap kernels (x86-64-v3 = AVX2+BMI2+POPCNT; 'native' or '' also work)")

if(NOT EXISTS "${FB_CROARING_SOURCE_DIR}/include/roaring/roaring.h")
  message(FATAL_ERROR
    "CRoaring source not found in FB_CROARING_SOURCE_DIR=${FB_CROARING_SOURCE_DIR}. "
    "Run scripts/deps, or pass -DFB_CROARING_SOURCE_DIR=<a CRoaring checkout>.")
endif()

file(GLOB_RECURSE _fb_croaring_sources CONFIGURE_DEPENDS "${FB_CROARING_SOURCE_DIR}/src/*.c")
add_library(fb_croaring OBJECT ${_fb_croaring_sources})
target_include_directories(fb_croaring SYSTEM PUBLIC
  "$<BUILD_INTERFACE:${FB_CROARING_SOURCE_DIR}/include>"
  "$<BUILD_INTERFACE:${FB_CROARING_SOURCE_DIR}/cpp>")
set_target_properties(fb_croaring PROPERTIES POSITION_INDEPENDENT_CODE ON C_STANDARD 11)
# Third-party code: optimise it even in Debug builds and keep its warnings out of ours.
target_compile_options(fb_croaring PRIVATE -O3 -w)
if(FB_MARCH)
  target_compile_options(fb_croaring PRIVATE -march=${FB_MARCH})
endif()

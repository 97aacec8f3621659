// Bulk loads and glibc's malloc. `fbc import-csv` touches about a gigabyte
// of fresh memory for 5M taxi rows (two batches of 2^20 records, their
// flush buffers, the index). With glibc's defaults every 4 KiB page of it
// costs a page fault, and memory freed between batches goes back to the
// kernel only to fault in again; on a virtual machine a fault costs
// microseconds, and faults were a third of the import's CPU time here.
// glibc reads its malloc settings from GLIBC_TUNABLES once, at start, and
// the one that matters most (transparent huge pages for the heap) has no
// mallopt() equivalent, so the tool re-executes itself with them set.
//
// The library never does this: an embedding program chooses its own
// allocator settings.
#ifndef FEATUREBASE_EXAMPLES_FBC_BULK_MALLOC_H_
#define FEATUREBASE_EXAMPLES_FBC_BULK_MALLOC_H_

namespace fbc {

// The GLIBC_TUNABLES bulk loads run with: huge pages for the heap
// (glibc.malloc.hugetlb=1: madvise(MADV_HUGEPAGE) on the memory malloc
// takes from the kernel, which needs the kernel's transparent_hugepage
// setting to be "madvise" or "always"), buffers of up to 32 MiB kept in the
// heap rather than mapped and unmapped per allocation, freed memory kept
// rather than trimmed, and the heap grown 64 MiB at a time.
inline constexpr char kBulkLoadTunables[] =
    "glibc.malloc.hugetlb=1:glibc.malloc.mmap_threshold=33554432:"
    "glibc.malloc.trim_threshold=68719476736:glibc.malloc.top_pad=67108864";

// Re-executes the running program (/proc/self/exe with the same argv) with
// GLIBC_TUNABLES=kBulkLoadTunables, unless GLIBC_TUNABLES is already set
// (by the user, or by the re-execution itself), FBC_DEFAULT_MALLOC is set
// (to anything), or the C library is not glibc. Returns when it did not
// re-execute, or when exec failed (the program then runs as it is).
void ReexecWithBulkLoadMalloc(char** argv);

// Whether the running process has GLIBC_TUNABLES=kBulkLoadTunables.
bool HasBulkLoadMalloc();

}  // namespace fbc

#endif  // FEATUREBASE_EXAMPLES_FBC_BULK_MALLOC_H_

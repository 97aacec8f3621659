// A fixture for scripts/check-layers: the copy-on-write model reaching up
// into the query layer must be refused.
#include "lib/query/executor.h"

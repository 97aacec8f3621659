// Storage-layer access to a KeyTranslator's journal: once enabled, every
// mutation's log frames (the same bytes the `log` arguments receive) are
// kept until taken, so the write-ahead log can carry the key changes made
// since the previous commit (keys are created outside commits, by
// Index::ColumnId, ResolveRow and Batch::Flush).
//
// Thread-safety: as KeyTranslator's writers (serialized internally).
#ifndef FEATUREBASE_LIB_KEYS_TRANSLATOR_ACCESS_H_
#define FEATUREBASE_LIB_KEYS_TRANSLATOR_ACCESS_H_

#include <string>

#include "featurebase/translate.h"

namespace featurebase::internal {

class TranslatorAccess {
 public:
  // Starts keeping log frames of every later mutation.
  static void EnableJournal(KeyTranslator& t);
  // The frames kept since the last call, in sequence order; empties the
  // journal.
  static std::string TakeJournal(KeyTranslator& t);
  // Puts taken frames back in front of any kept since (a commit that could
  // not be logged).
  static void RestoreJournal(KeyTranslator& t, std::string frames);
};

}  // namespace featurebase::internal

#endif  // FEATUREBASE_LIB_KEYS_TRANSLATOR_ACCESS_H_

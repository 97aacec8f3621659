// The library's (and tests') view of a builder call's query tree.
#ifndef FEATUREBASE_LIB_QUERY_BUILDER_ACCESS_H_
#define FEATUREBASE_LIB_QUERY_BUILDER_ACCESS_H_

#include <memory>
#include <utility>

#include "featurebase/query_builder.h"
#include "lib/pql/ast.h"

namespace featurebase::internal {

struct BuilderAccess {
  static const pql::Call& Node(const featurebase::pql::Call& c) {
    return *c.node_;
  }
  static featurebase::pql::Call Make(pql::Call node) {
    return featurebase::pql::Call(
        std::make_shared<const pql::Call>(std::move(node)));
  }
};

}  // namespace featurebase::internal

#endif  // FEATUREBASE_LIB_QUERY_BUILDER_ACCESS_H_

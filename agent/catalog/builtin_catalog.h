// The instance types Cozystack offers out of the box, compiled in so a host
// with no catalog file still answers "which types fit here".
#pragma once

#include "agent/catalog/instance_type.h"

namespace kvhost {

// The 48 sizes of Cozystack's "instanceType Resources" table (u1, o1, cx1, m1,
// n1, rt1 from kubevirt/common-instancetypes, gn1 kept by Cozystack), with each
// series' placement semantics. Ordered by series, then size; source "built-in".
Catalog BuiltinCatalog();

}  // namespace kvhost

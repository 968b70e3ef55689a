// Kubernetes quantity strings for sizes kept in KiB (base/sizes.h).
#pragma once

#include "base/sizes.h"

namespace kvhost::publish {

using kvhost::KibQuantity;

}  // namespace kvhost::publish

#pragma once
// Element types and shapes live in lull_base (shared with the collectives);
// this header keeps the snapshot store's include path.
#include "lull/base/dtype.h"

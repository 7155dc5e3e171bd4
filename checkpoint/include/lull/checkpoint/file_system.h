#pragma once
// The file-system seam lives in lull_base (shared with the launcher and
// the arbiter); this header keeps the snapshot store's include path.
#include "lull/base/file_system.h"

#pragma once
// A node of 4 slots with one internal tenant (lab) and one spot tenant
// (guest: 2 minutes of grace, a snapshot every 10 minutes of compute), for
// the policy command tests and the simulator's (whose figures follow from
// these numbers).
#include <string>

namespace lull::test {

inline const std::string kSmallNodePolicy = R"([node]
slots = 4
idle_before_lull = "0s"
[classes.internal]
priority = 100
preemptible = false
[classes.spot]
priority = 10
preemptible = true
grace = "2m"
checkpoint_interval = "10m"
[tenants.lab]
class = "internal"
slots = 4
[tenants.guest]
class = "spot"
slots = 4
)";

}  // namespace lull::test

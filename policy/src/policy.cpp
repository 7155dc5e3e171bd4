#include "lull/policy/policy.h"

#include <algorithm>
#include <array>
#include <utility>

namespace lull::policy {

namespace {

constexpr std::array<std::pair<VictimCriterion, std::string_view>, 6> kCriterionNames{{
    {VictimCriterion::least_work_lost, "least_work_lost"},
    {VictimCriterion::lowest_priority, "lowest_priority"},
    {VictimCriterion::newest, "newest"},
    {VictimCriterion::oldest, "oldest"},
    {VictimCriterion::fewest_slots, "fewest_slots"},
    {VictimCriterion::most_slots, "most_slots"},
}};

template <typename Item>
const Item* find_by_name(const std::vector<Item>& sorted, std::string_view name) noexcept {
  const auto found = std::lower_bound(sorted.begin(), sorted.end(), name,
                                      [](const Item& item, std::string_view key) { return item.name < key; });
  return found != sorted.end() && found->name == name ? &*found : nullptr;
}

}  // namespace

std::string_view victim_criterion_name(VictimCriterion criterion) noexcept {
  for (const auto& [value, name] : kCriterionNames) {
    if (value == criterion) return name;
  }
  return "unknown";
}

std::optional<VictimCriterion> victim_criterion_from_name(std::string_view name) noexcept {
  for (const auto& [value, spelling] : kCriterionNames) {
    if (spelling == name) return value;
  }
  return std::nullopt;
}

const std::vector<VictimCriterion>& all_victim_criteria() {
  static const std::vector<VictimCriterion> all = [] {
    std::vector<VictimCriterion> criteria;
    for (const auto& entry : kCriterionNames) criteria.push_back(entry.first);
    return criteria;
  }();
  return all;
}

std::vector<VictimCriterion> default_victim_order() {
  return {VictimCriterion::least_work_lost, VictimCriterion::lowest_priority, VictimCriterion::newest};
}

const JobClass* Policy::find_class(std::string_view name) const noexcept { return find_by_name(classes, name); }

const Tenant* Policy::find_tenant(std::string_view name) const noexcept { return find_by_name(tenants, name); }

}  // namespace lull::policy

// quality/registry.cc — see registry.h.
#include "watershed/quality/registry.h"

#include <memory>

#include "watershed/base/strings.h"
#include "watershed/quality/kinds/kinds.h"

namespace watershed::quality {

const std::vector<const CheckKind*>& Kinds() {
  // Listed explicitly (no self-registration: a static library drops unreferenced objects).
  static const auto* kinds = new std::vector<const CheckKind*>{kinds::NotNull().release(),
                                                               kinds::Unique().release(),
                                                               kinds::AcceptedValues().release(),
                                                               kinds::Range().release(),
                                                               kinds::Regex().release(),
                                                               kinds::RowCount().release(),
                                                               kinds::Freshness().release(),
                                                               kinds::Relationships().release(),
                                                               kinds::Schema().release(),
                                                               kinds::VolumeAnomaly().release(),
                                                               kinds::Sql().release()};
  return *kinds;
}

const CheckKind* FindKind(std::string_view name) {
  for (const CheckKind* k : Kinds()) {
    if (k->name() == name) return k;
  }
  return nullptr;
}

std::string KindNames() {
  std::vector<std::string> names;
  for (const CheckKind* k : Kinds()) names.emplace_back(k->name());
  return Join(names, ", ");
}

}  // namespace watershed::quality

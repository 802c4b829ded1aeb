#include "daemon/query/stored_units.hpp"

namespace ca::query {

namespace v1 = cargo_analysis::v1;

v1::UnitRegistered to_registered(const store::StoredUnit& unit) {
  v1::UnitRegistered out;
  out.set_package_id(unit.package_id);
  out.mutable_target()->set_name(unit.target_name);
  out.mutable_target()->set_kind(unit.target_kind);
  out.set_mode(unit.mode);
  out.set_platform(unit.platform);
  out.set_index(unit.index);
  for (uint32_t dep : unit.dependencies) {
    out.add_dependencies(dep);
  }
  for (const std::string& feature : unit.features) {
    out.add_features(feature);
  }
  return out;
}

UnitMap unit_map(std::span<const store::StoredUnit> units) {
  UnitMap out;
  for (const store::StoredUnit& unit : units) {
    out.emplace(unit.index, to_registered(unit));
  }
  return out;
}

std::optional<v1::DirtyReason> decode_cause(const std::string& blob) {
  if (blob.empty()) {
    return std::nullopt;
  }
  v1::DirtyReason reason;
  if (!reason.ParseFromString(blob)) {
    return std::nullopt;
  }
  return reason;
}

} // namespace ca::query

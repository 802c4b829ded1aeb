// Units read from the `units` table (store::StoredUnit) in the shapes the report code uses for
// units read from events, so that descriptions and reasons read the same in every report.
#pragma once

#include "cargo_analysis/v1/events.pb.h"
#include "daemon/query/run_analysis.hpp"
#include "daemon/store/run_reader.hpp"

#include <optional>
#include <span>

namespace ca::query {

// The `unit-registered` event the row came from, as far as the row keeps it (features only
// in rows of schema version 5 on).
cargo_analysis::v1::UnitRegistered to_registered(const store::StoredUnit& unit);

// The run's units by index, for format_dirty_reason().
UnitMap unit_map(std::span<const store::StoredUnit> units);

// The unit's stored cause, decoded; nullopt if it has none or it does not decode.
std::optional<cargo_analysis::v1::DirtyReason> decode_cause(const std::string& blob);

} // namespace ca::query

// Unit descriptions shared by the rebuilds and timings reports (cargo's `cargo_report/util.rs`
// and `rebuilds.rs::unit_description`).
#include "daemon/query/run_analysis.hpp"

#include "shared/package_id.hpp"

namespace ca::query {

namespace v1 = cargo_analysis::v1;

std::string unit_target_description(const v1::Target& target, std::string_view mode) {
  // A lib that is built or checked gets no target part: most dependencies are that, and
  // `serde@1.0.1` says all there is to say.
  const bool build_or_check = mode == "build" || mode == "check" || mode == "check-test";
  std::string out;
  if (target.kind() == "lib" && build_or_check) {
    // nothing
  } else if (target.kind() == "build-script") {
    out = " build-script";
  } else {
    out = " " + target.name() + " \"" + target.kind() + "\"";
  }

  // Cargo 1.95 logs every check as `check` (its `CompileMode` serializer drops `test: true`),
  // so ` (check-test)` only appears for producers that write `check-test` themselves.
  if (mode == "test") {
    out += " (test)";
  } else if (mode == "check") {
    out += " (check)";
  } else if (mode == "check-test") {
    out += " (check-test)";
  } else if (mode == "doc") {
    out += " (doc)";
  } else if (mode == "doctest") {
    out += " (doc test)";
  } else if (mode == "docscrape") {
    out += " (doc scrape)";
  } else if (mode == "run-custom-build") {
    out += " (run)";
  }
  return out;
}

std::string unit_description(const v1::UnitRegistered& unit) {
  PackageName package = parse_package_id(unit.package_id());
  return package.name + "@" + (package.version.empty() ? "<n/a>" : package.version) +
         unit_target_description(unit.target(), unit.mode());
}

std::vector<const v1::Event*> event_pointers(std::span<const v1::Event> events) {
  std::vector<const v1::Event*> out;
  out.reserve(events.size());
  for (const v1::Event& e : events) {
    out.push_back(&e);
  }
  return out;
}

void fill_unit_ref(const v1::UnitRegistered& unit, v1::UnitRef& ref) {
  PackageName package = parse_package_id(unit.package_id());
  ref.Clear();
  ref.set_index(unit.index());
  ref.set_package_id(unit.package_id());
  ref.mutable_target()->CopyFrom(unit.target());
  ref.set_mode(unit.mode());
  ref.set_target_description(unit_target_description(unit.target(), unit.mode()));
  ref.set_description(package.name + "@" + (package.version.empty() ? "<n/a>" : package.version) +
                      ref.target_description());
  ref.set_name(std::move(package.name));
  ref.set_version(std::move(package.version));
  ref.mutable_features()->CopyFrom(unit.features());
}

v1::UnitRef make_unit_ref(const v1::UnitRegistered& unit) {
  v1::UnitRef ref;
  fill_unit_ref(unit, ref);
  return ref;
}

} // namespace ca::query

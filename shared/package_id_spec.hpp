// Cargo's package ID specifications, as `--package`/`-p` takes them (cargo-util-schemas'
// `PackageIdSpec`), and cargo's checks of a spec against the packages in scope:
//   serde                                                  a name
//   serde@1, serde@1.0, serde@1.0.152, serde@1.0.0-beta.1  a name and a (partial) version
//   registry+https://github.com/rust-lang/crates.io-index#serde@1.0.152
//   https://github.com/rust-lang/crates.io-index#serde      a source without its kind
//   path+file:///ws/app#0.1.0, path+file:///ws/app#app@0.1.0, file:///ws/app
//   git+https://github.com/o/r?branch=main#name@1.0.0
// A URL without a fragment names the package after its last path segment; a fragment that starts
// with a digit is a version of that package.
#pragma once

#include "shared/error.hpp"

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace ca {

// `1`, `1.2` or `1.2.3[-pre][+build]`: matches every version that agrees in what it gives.
struct PartialVersion {
  uint64_t major = 0;
  std::optional<uint64_t> minor;
  std::optional<uint64_t> patch;
  std::string pre;   // only with a patch
  std::string build; // only with a patch

  // Whether `version` (a full semver version as cargo logs it) agrees. A version that does not
  // parse matches nothing.
  bool matches(std::string_view version) const;
};

struct PackageIdSpec {
  std::string name;
  std::optional<PartialVersion> version;
  std::string kind; // registry, sparse, git or path; empty when the spec gives none
  std::string url;  // the source URL without kind and fragment; empty for a bare spec
  std::string text; // as written

  // Whether the package `package_id` (cargo's package id as `unit-registered` logs it, e.g.
  // `path+file:///ws/app#0.1.0`) is one this spec names: same name, a matching version if the
  // spec gives one, the same source if it gives one.
  bool matches(std::string_view package_id) const;
};

// Parses a spec. Returns invalid_argument in cargo's words ("invalid package ID specification:
// `a@x`: unexpected version requirement, expected a version like \"1.32\"") when it is malformed:
// an empty or invalid name, a bad version, an unknown source kind, a file path without `file://`.
Result<PackageIdSpec> parse_package_id_spec(std::string_view text);

// Cargo's checks of `specs` against the packages in scope (`package_ids`, cargo's ids, in any
// order, repeats allowed). Returns not_found when a spec matches none ("package ID specification
// `x` did not match any packages", with cargo's help: similar specs for a spec with a source,
// else the closest name), invalid_argument when one matches packages of two versions or sources
// ("specification `x` is ambiguous", cargo 1.95's help line, then the specs to use instead, one
// per line).
Result<void> check_package_specs(const std::vector<PackageIdSpec>& specs,
                                 const std::vector<std::string>& package_ids);

// Whether any of `specs` names `package_id` (true when `specs` is empty: no filter).
bool any_spec_matches(const std::vector<PackageIdSpec>& specs, std::string_view package_id);

} // namespace ca

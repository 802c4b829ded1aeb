// Cargo package id specs as logged in `unit-registered`:
//   path+file:///ws/wsapp#0.1.0                                   -> wsapp 0.1.0
//   registry+https://github.com/rust-lang/crates.io-index#serde@1.0.1 -> serde 1.0.1
//   path+file:///ws/crates/foo#bar@0.2.0                          -> bar 0.2.0
//   git+https://github.com/o/r?branch=main#name@1.0.0             -> name 1.0.0
// Mirrors cargo-util-schemas' PackageIdSpec::name()/version() for the forms cargo writes.
#pragma once

#include <string>
#include <string_view>

namespace ca {

struct PackageName {
  std::string name;
  std::string version; // empty when the spec has none
};

PackageName parse_package_id(std::string_view spec);

} // namespace ca

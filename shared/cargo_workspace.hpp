// Whether a directory is in a cargo workspace, as cargo's `report` commands decide it: cargo
// looks for a `Cargo.toml` in the directory and its ancestors (`find_root_manifest_for_wd`);
// with none, its reports read every workspace's logs, show paths relative to the directory, and
// write the timings page to a new temporary directory.
#pragma once

#include <string>

namespace ca {

// True when neither `dir` nor any ancestor holds a `Cargo.toml` (a regular file, or a link to
// one). False for an empty `dir` (no directory given: nothing to decide). Reads the filesystem;
// errors (a directory that cannot be read) count as no manifest there.
bool outside_any_cargo_workspace(const std::string& dir);

} // namespace ca

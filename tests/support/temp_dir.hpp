// A unique temporary directory per test: removed when the test passed, kept (and its path
// printed) when it failed, so the daemon log and database can be inspected.
#pragma once

#include <filesystem>
#include <string>

namespace ca::test {

class TempDir {
public:
  TempDir();
  ~TempDir();
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;

  const std::filesystem::path& path() const { return m_path; }
  std::filesystem::path operator/(const std::string& name) const { return m_path / name; }

private:
  std::filesystem::path m_path;
};

// Path of a fixture under tests/fixtures.
std::filesystem::path fixture_path(const std::string& relative);

// Reads a whole file; fails the current test (and returns "") if it cannot.
std::string read_file(const std::filesystem::path& path);

} // namespace ca::test

// Cargo's package ID specs: parsing, matching logged package ids, and cargo's errors for a spec
// that matches nothing or is ambiguous (wording as cargo 1.95's `cargo pkgid` prints it).
#include "shared/package_id_spec.hpp"

#include <gtest/gtest.h>

namespace ca {
namespace {

constexpr const char* k_crates_io = "registry+https://github.com/rust-lang/crates.io-index";

PackageIdSpec spec(std::string_view text) {
  auto r = parse_package_id_spec(text);
  EXPECT_TRUE(r) << text << ": " << (r ? "" : r.error().message);
  return r ? *r : PackageIdSpec{};
}

std::string registry(const std::string& name, const std::string& version) {
  return std::string(k_crates_io) + "#" + name + "@" + version;
}

TEST(PackageIdSpec, ParsesEveryFormCargoAccepts) {
  auto bare = spec("serde");
  EXPECT_EQ(bare.name, "serde");
  EXPECT_FALSE(bare.version);
  EXPECT_EQ(bare.url, "");

  auto versioned = spec("serde@1.0.152");
  EXPECT_EQ(versioned.name, "serde");
  ASSERT_TRUE(versioned.version);
  EXPECT_EQ(versioned.version->major, 1u);
  EXPECT_EQ(versioned.version->minor, 0u);
  EXPECT_EQ(versioned.version->patch, 152u);

  auto partial = spec("serde@1");
  ASSERT_TRUE(partial.version);
  EXPECT_FALSE(partial.version->minor);

  auto full = spec(registry("serde", "1.0.152"));
  EXPECT_EQ(full.kind, "registry");
  EXPECT_EQ(full.url, "https://github.com/rust-lang/crates.io-index");
  EXPECT_EQ(full.name, "serde");
  ASSERT_TRUE(full.version);

  auto path = spec("path+file:///ws/app#0.1.0"); // a fragment that is a version
  EXPECT_EQ(path.kind, "path");
  EXPECT_EQ(path.url, "file:///ws/app");
  EXPECT_EQ(path.name, "app");
  ASSERT_TRUE(path.version);

  auto renamed = spec("path+file:///ws/crates/foo#bar@0.2.0");
  EXPECT_EQ(renamed.name, "bar");
  EXPECT_EQ(renamed.url, "file:///ws/crates/foo");

  auto url_only = spec("file:///ws/app/");
  EXPECT_EQ(url_only.kind, "");
  EXPECT_EQ(url_only.name, "app");
  EXPECT_FALSE(url_only.version);

  auto git = spec("git+https://github.com/o/r?branch=main#name@1.0.0");
  EXPECT_EQ(git.kind, "git");
  EXPECT_EQ(git.url, "https://github.com/o/r?branch=main");
  EXPECT_EQ(git.name, "name");

  auto pre = spec("x@1.0.0-beta.1+build5");
  ASSERT_TRUE(pre.version);
  EXPECT_EQ(pre.version->pre, "beta.1");
  EXPECT_EQ(pre.version->build, "build5");
}

TEST(PackageIdSpec, MalformedSpecsAreErrorsInCargosWords) {
  struct Case {
    const char* text;
    const char* message;
  };
  for (const Case& c : {
           Case{"a@x", "invalid package ID specification: `a@x`: unexpected version requirement, "
                       "expected a version like \"1.32\""},
           Case{"a@1.x", "invalid package ID specification: `a@1.x`: unexpected version "
                         "requirement, expected a version like \"1.32\""},
           Case{"a@^1", "invalid package ID specification: `a@^1`: unexpected version "
                        "requirement, expected a version like \"1.32\""},
           Case{"a@1.2-pre", "invalid package ID specification: `a@1.2-pre`: unexpected version "
                             "requirement, expected a version like \"1.32\""},
           Case{"a b", "invalid package ID specification: `a b`: invalid character ` ` in "
                       "package name: `a b`, characters must be Unicode XID characters "
                       "(numbers, `-`, `_`, or most letters)"},
           Case{"", "invalid package ID specification: ``: package name cannot be empty"},
           Case{"@1.0.0", "invalid package ID specification: `@1.0.0`: package name cannot be "
                          "empty"},
           Case{"./a", "invalid package ID specification: `./a`: package ID specification `./a` "
                       "looks like a file path, maybe try file:///..."},
           Case{"svn+https://x/y#a", "invalid package ID specification: `svn+https://x/y#a`: "
                                     "unsupported source protocol: svn"},
       }) {
    auto r = parse_package_id_spec(c.text);
    ASSERT_FALSE(r) << c.text;
    EXPECT_EQ(r.error().code, ErrorCode::invalid_argument);
    EXPECT_EQ(r.error().message, c.message);
  }
}

TEST(PackageIdSpec, MatchesLoggedPackageIdsByNameVersionAndSource) {
  const std::string serde = registry("serde", "1.0.152");
  const std::string app = "path+file:///ws/app#0.1.0";
  EXPECT_TRUE(spec("serde").matches(serde));
  EXPECT_TRUE(spec("serde@1").matches(serde));
  EXPECT_TRUE(spec("serde@1.0").matches(serde));
  EXPECT_TRUE(spec("serde@1.0.152").matches(serde));
  EXPECT_FALSE(spec("serde@1.0.153").matches(serde));
  EXPECT_FALSE(spec("serde@2").matches(serde));
  EXPECT_FALSE(spec("serde_json").matches(serde));
  EXPECT_TRUE(spec(serde).matches(serde));
  EXPECT_TRUE(spec("https://github.com/rust-lang/crates.io-index#serde").matches(serde));
  EXPECT_FALSE(spec("sparse+https://github.com/rust-lang/crates.io-index#serde").matches(serde));
  EXPECT_FALSE(spec("registry+https://example.com/index#serde").matches(serde));

  EXPECT_TRUE(spec("app").matches(app));
  EXPECT_TRUE(spec("app@0.1.0").matches(app));
  EXPECT_TRUE(spec("path+file:///ws/app#0.1.0").matches(app));
  EXPECT_TRUE(spec("path+file:///ws/app#app@0.1").matches(app));
  EXPECT_TRUE(spec("file:///ws/app").matches(app));
  EXPECT_FALSE(spec("path+file:///elsewhere/app#0.1.0").matches(app));

  EXPECT_TRUE(spec("x@1.0.0-beta.1").matches(registry("x", "1.0.0-beta.1")));
  EXPECT_FALSE(spec("x@1.0.0-beta.2").matches(registry("x", "1.0.0-beta.1")));
}

TEST(PackageIdSpec, NoFilterMatchesEverything) {
  EXPECT_TRUE(any_spec_matches({}, "path+file:///ws/app#0.1.0"));
  EXPECT_TRUE(any_spec_matches({spec("b"), spec("app")}, "path+file:///ws/app#0.1.0"));
  EXPECT_FALSE(any_spec_matches({spec("b")}, "path+file:///ws/app#0.1.0"));
}

TEST(PackageIdSpec, ASpecMatchingNothingNamesTheClosestNameAsCargoDoes) {
  const std::vector<std::string> ids = {"path+file:///ws/a#0.1.0", "path+file:///ws/b#0.1.0",
                                        "path+file:///ws/crates_io#crates-io@0.2.0"};
  auto r = check_package_specs({spec("crates_io")}, ids);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, ErrorCode::not_found);
  EXPECT_EQ(r.error().message, "package ID specification `crates_io` did not match any packages\n\n"
                               "help: a package with a similar name exists: `crates-io`");
  // A version that is not there: the name is the closest (cargo 1.95 says the same).
  r = check_package_specs({spec("crates-io@0.3")}, ids);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().message,
            "package ID specification `crates-io@0.3` did not match any packages\n\n"
            "help: a package with a similar name exists: `crates-io`");
  // Nothing close: the first line alone.
  r = check_package_specs({spec("zzzz")}, ids);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().message, "package ID specification `zzzz` did not match any packages");
}

TEST(PackageIdSpec, ASpecWithTheWrongSourceListsSimilarSpecs) {
  const std::vector<std::string> ids = {"path+file:///ws/a#0.1.0"};
  auto r = check_package_specs({spec(registry("a", "0.1.0"))}, ids);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().message, "package ID specification `" + registry("a", "0.1.0") +
                                   "` did not match any packages\n"
                                   "help: there are similar package ID specifications:\n\n"
                                   "  a@0.1.0");
}

TEST(PackageIdSpec, AnAmbiguousSpecListsTheSpecsToUse) {
  const std::vector<std::string> ids = {registry("two-ver", "0.1.0"), registry("two-ver", "0.2.0"),
                                        registry("two-ver", "0.1.0"), "path+file:///ws/a#0.1.0"};
  auto r = check_package_specs({spec("two-ver")}, ids);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, ErrorCode::invalid_argument);
  EXPECT_EQ(r.error().message,
            "specification `two-ver` is ambiguous\n"
            "help: re-run this command with one of the following specifications\n"
            "  two-ver@0.1.0\n"
            "  two-ver@0.2.0");
  // A version makes it one package; the same unit logged twice is still one package.
  EXPECT_TRUE(check_package_specs({spec("two-ver@0.1"), spec("a")}, ids));
  // Same name and version from two sources: the full ids are the specs to use.
  r = check_package_specs({spec("a")}, {"path+file:///ws/a#0.1.0", registry("a", "0.1.0")});
  ASSERT_FALSE(r);
  EXPECT_NE(r.error().message.find("\n  path+file:///ws/a#0.1.0"), std::string::npos)
      << r.error().message;
  EXPECT_NE(r.error().message.find("\n  " + registry("a", "0.1.0")), std::string::npos)
      << r.error().message;
}

} // namespace
} // namespace ca

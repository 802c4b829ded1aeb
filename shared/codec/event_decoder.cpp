// Decoding cargo's JSONL lines with simdjson's DOM API.
//
// The hot path is one line -> one Event: the line is copied into a reused, padded buffer (simdjson
// reads up to SIMDJSON_PADDING bytes past the end), parsed by a reused dom::parser (no allocation
// once its capacity fits the longest line seen), and the typed fields are looked up by key.
// Objects are small (at most a dozen keys), so a linear `at_key` per field costs less than
// building a map, and it makes the decoder indifferent to key order.
//
// Which fields are required follows cargo's serde definitions (`util/log_message.rs` and
// `compiler/fingerprint/{mod,dirty_reason}.rs` in cargo's source tree): a field cargo always
// writes is required, one with `#[serde(default)]` or of type `Option<_>` may be missing (and
// `null` for an `Option`). Cargo's internally tagged enums nest by flattening: a
// `fs-status-outdated` cause carries `fs_status` and, for `stale-item`, `stale_item` and the
// item's fields, all in the one `cause` object:
//   {"dirty_reason":"fs-status-outdated","fs_status":"stale-item","stale_item":"changed-file",
//    "reference":"...","reference_mtime":1795415250807.422,"stale":"...","stale_mtime":...}
// Mtimes are f64 milliseconds since the epoch (cargo's `serde_file_time`).
#include "shared/codec/event_decoder.hpp"

#include "shared/run_id.hpp"

#include <fmt/format.h>
#include <simdjson.h>

#include <algorithm>
#include <cstring>
#include <limits>
#include <optional>

namespace ca::codec {

namespace pb = cargo_analysis::v1;

namespace {

using simdjson::dom::array;
using simdjson::dom::element;
using simdjson::dom::object;

// Known reasons, by the payload case each one fills.
struct ReasonName {
  std::string_view name;
  pb::Event::PayloadCase payload;
};

constexpr ReasonName k_reasons[] = {
    {"build-started", pb::Event::kBuildStarted},
    {"resolution-started", pb::Event::kResolutionStarted},
    {"resolution-finished", pb::Event::kResolutionFinished},
    {"unit-graph-started", pb::Event::kUnitGraphStarted},
    {"unit-graph-finished", pb::Event::kUnitGraphFinished},
    {"unit-registered", pb::Event::kUnitRegistered},
    {"unit-fingerprint", pb::Event::kUnitFingerprint},
    {"unit-started", pb::Event::kUnitStarted},
    {"unit-rmeta-finished", pb::Event::kUnitRmetaFinished},
    {"unit-section-started", pb::Event::kUnitSectionStarted},
    {"unit-section-finished", pb::Event::kUnitSectionFinished},
    {"unit-finished", pb::Event::kUnitFinished},
};

pb::Event::PayloadCase payload_of(std::string_view reason) {
  for (const auto& r : k_reasons) {
    if (r.name == reason) {
      return r.payload;
    }
  }
  return pb::Event::PAYLOAD_NOT_SET;
}

// The shape of a DirtyReason kind's fields, i.e. which `detail` case it fills.
enum class Detail { none, string_change, list_change, count_change, env_var, unit, fs_status };

struct DirtyKind {
  std::string_view name;
  Detail detail;
};

constexpr DirtyKind k_dirty_kinds[] = {
    {"rustc-changed", Detail::none},
    {"features-changed", Detail::string_change},
    {"declared-features-changed", Detail::string_change},
    {"target-configuration-changed", Detail::none},
    {"path-to-source-changed", Detail::none},
    {"profile-configuration-changed", Detail::none},
    {"rustflags-changed", Detail::list_change},
    {"config-settings-changed", Detail::none},
    {"compile-kind-changed", Detail::none},
    {"local-lengths-changed", Detail::none},
    {"precalculated-components-changed", Detail::string_change},
    {"fingerprint-method-changed", Detail::string_change},
    {"dep-info-output-changed", Detail::string_change},
    {"rerun-if-changed-output-file-changed", Detail::string_change},
    {"rerun-if-changed-output-paths-changed", Detail::list_change},
    {"env-vars-changed", Detail::string_change},
    {"env-var-changed", Detail::env_var},
    {"local-fingerprint-type-changed", Detail::string_change},
    {"number-of-dependencies-changed", Detail::count_change},
    {"unit-dependency-name-changed", Detail::string_change},
    {"unit-dependency-info-changed", Detail::unit},
    {"fs-status-outdated", Detail::fs_status},
    {"nothing-obvious", Detail::none},
    {"forced", Detail::none},
    {"fresh-build", Detail::none},
};

Detail detail_of(std::string_view kind) {
  for (const auto& k : k_dirty_kinds) {
    if (k.name == kind) {
      return k.detail;
    }
  }
  return Detail::none; // a kind this version does not know: kept by name only
}

// Typed reads of one JSON object's fields. Problems are reported as
// "field `<prefix><key>` of <reason>: <what>", e.g. "field `cause.old` of unit-fingerprint:
// expected a string". Messages are only formatted on failure.
class Fields {
public:
  Fields(object obj, std::string_view reason, std::string_view prefix = {})
      : m_obj(obj), m_reason(reason), m_prefix(prefix) {}

  Result<std::string_view> string(std::string_view key) const {
    element e;
    if (m_obj.at_key(key).get(e) != simdjson::SUCCESS) {
      return missing(key);
    }
    std::string_view s;
    if (e.get_string().get(s) != simdjson::SUCCESS) {
      return ill_typed(key, "a string");
    }
    return s;
  }

  // A string that may be missing or null (cargo's `Option<String>`).
  Result<std::optional<std::string_view>> optional_string(std::string_view key) const {
    element e;
    if (m_obj.at_key(key).get(e) != simdjson::SUCCESS || e.is_null()) {
      return std::optional<std::string_view>{};
    }
    std::string_view s;
    if (e.get_string().get(s) != simdjson::SUCCESS) {
      return ill_typed(key, "a string or null");
    }
    return std::optional<std::string_view>{s};
  }

  Result<uint64_t> u64(std::string_view key) const {
    element e;
    if (m_obj.at_key(key).get(e) != simdjson::SUCCESS) {
      return missing(key);
    }
    return u64_value(key, e);
  }

  // A unit index or a job count: cargo's u64/u32, stored as uint32 (the proto's width).
  Result<uint32_t> u32(std::string_view key) const {
    CA_TRY_ASSIGN(const uint64_t v, u64(key));
    return narrow(key, v);
  }

  // An unsigned integer that may be missing or null (cargo's `Option<u64>`).
  Result<std::optional<uint64_t>> optional_u64(std::string_view key) const {
    element e;
    if (m_obj.at_key(key).get(e) != simdjson::SUCCESS || e.is_null()) {
      return std::optional<uint64_t>{};
    }
    CA_TRY_ASSIGN(const uint64_t v, u64_value(key, e));
    return std::optional<uint64_t>{v};
  }

  // Any JSON number (cargo's f64s: `elapsed` seconds, mtimes in ms; integers are accepted).
  Result<double> number(std::string_view key) const {
    element e;
    if (m_obj.at_key(key).get(e) != simdjson::SUCCESS) {
      return missing(key);
    }
    double v = 0;
    if (e.get_double().get(v) != simdjson::SUCCESS) {
      return ill_typed(key, "a number");
    }
    return v;
  }

  // A boolean with `#[serde(default)]`: missing means false.
  Result<bool> optional_bool(std::string_view key) const {
    element e;
    if (m_obj.at_key(key).get(e) != simdjson::SUCCESS) {
      return false;
    }
    bool v = false;
    if (e.get_bool().get(v) != simdjson::SUCCESS) {
      return ill_typed(key, "a boolean");
    }
    return v;
  }

  Result<object> object_field(std::string_view key) const {
    element e;
    if (m_obj.at_key(key).get(e) != simdjson::SUCCESS) {
      return missing(key);
    }
    object o;
    if (e.get_object().get(o) != simdjson::SUCCESS) {
      return ill_typed(key, "an object");
    }
    return o;
  }

  // An optional object (cargo's `Option<T>` with `skip_serializing_if`): missing or null is
  // nullopt.
  Result<std::optional<object>> optional_object(std::string_view key) const {
    element e;
    if (m_obj.at_key(key).get(e) != simdjson::SUCCESS || e.is_null()) {
      return std::optional<object>{};
    }
    object o;
    if (e.get_object().get(o) != simdjson::SUCCESS) {
      return ill_typed(key, "an object");
    }
    return std::optional<object>{o};
  }

  // An array of strings into `out`; with `required` false a missing key is an empty array
  // (`#[serde(default)]`).
  Result<void> strings(std::string_view key,
                       google::protobuf::RepeatedPtrField<std::string>* out,
                       bool required) const {
    array a;
    CA_TRY_ASSIGN(const bool present, array_field(key, required, a));
    if (!present) {
      return {};
    }
    out->Reserve(static_cast<int>(a.size()));
    for (const element item : a) {
      std::string_view s;
      if (item.get_string().get(s) != simdjson::SUCCESS) {
        return ill_typed(key, "an array of strings");
      }
      out->Add()->assign(s.data(), s.size());
    }
    return {};
  }

  // An array of unit indices into `out`; a missing key is an empty array (`#[serde(default)]`).
  Result<void> indices(std::string_view key, google::protobuf::RepeatedField<uint32_t>* out) const {
    array a;
    CA_TRY_ASSIGN(const bool present, array_field(key, false, a));
    if (!present) {
      return {};
    }
    out->Reserve(static_cast<int>(a.size()));
    for (const element item : a) {
      uint64_t v = 0;
      if (item.get_uint64().get(v) != simdjson::SUCCESS) {
        return ill_typed(key, "an array of unsigned integers");
      }
      CA_TRY_ASSIGN(const uint32_t index, narrow(key, v));
      out->Add(index);
    }
    return {};
  }

  // The same reader over a nested object, e.g. `cause` of unit-fingerprint.
  Fields nested(object obj, std::string_view prefix) const { return {obj, m_reason, prefix}; }

private:
  Result<bool> array_field(std::string_view key, bool required, array& out) const {
    element e;
    if (m_obj.at_key(key).get(e) != simdjson::SUCCESS) {
      if (required) {
        return missing(key);
      }
      return false;
    }
    if (e.get_array().get(out) != simdjson::SUCCESS) {
      return ill_typed(key, "an array");
    }
    return true;
  }

  Result<uint64_t> u64_value(std::string_view key, element e) const {
    uint64_t v = 0;
    if (e.get_uint64().get(v) != simdjson::SUCCESS) {
      return ill_typed(key, "an unsigned integer");
    }
    return v;
  }

  Result<uint32_t> narrow(std::string_view key, uint64_t v) const {
    if (v > std::numeric_limits<uint32_t>::max()) {
      return problem(key, fmt::format("{} is out of range (at most {})", v,
                                      std::numeric_limits<uint32_t>::max()));
    }
    return static_cast<uint32_t>(v);
  }

  Unexpected missing(std::string_view key) const { return problem(key, "missing"); }

  Unexpected ill_typed(std::string_view key, std::string_view expected) const {
    return problem(key, fmt::format("expected {}", expected));
  }

  Unexpected problem(std::string_view key, std::string_view what) const {
    return unexpected(ErrorCode::invalid_argument,
                      fmt::format("field `{}{}` of {}: {}", m_prefix, key, m_reason, what));
  }

  object m_obj;
  std::string_view m_reason;
  std::string_view m_prefix;
};

void assign(std::string* out, std::string_view s) {
  out->assign(s.data(), s.size());
}

// --- payloads ----------------------------------------------------------------------------------

Result<void> decode_build_started(const Fields& f, pb::BuildStarted& m) {
  CA_TRY(f.strings("command", m.mutable_command(), true));
  CA_TRY_ASSIGN(const auto cwd, f.string("cwd"));
  CA_TRY_ASSIGN(const auto host, f.string("host"));
  CA_TRY_ASSIGN(const auto jobs, f.u32("jobs"));
  CA_TRY_ASSIGN(const auto num_cpus, f.optional_u64("num_cpus"));
  CA_TRY_ASSIGN(const auto profile, f.string("profile"));
  CA_TRY_ASSIGN(const auto rustc_version, f.string("rustc_version"));
  CA_TRY_ASSIGN(const auto rustc_version_verbose, f.string("rustc_version_verbose"));
  CA_TRY_ASSIGN(const auto target_dir, f.string("target_dir"));
  CA_TRY_ASSIGN(const auto workspace_root, f.string("workspace_root"));
  assign(m.mutable_cwd(), cwd);
  assign(m.mutable_host(), host);
  m.set_jobs(jobs);
  if (num_cpus) {
    m.set_num_cpus(*num_cpus);
  }
  assign(m.mutable_profile(), profile);
  assign(m.mutable_rustc_version(), rustc_version);
  assign(m.mutable_rustc_version_verbose(), rustc_version_verbose);
  assign(m.mutable_target_dir(), target_dir);
  assign(m.mutable_workspace_root(), workspace_root);
  return {};
}

Result<void> decode_phase(const Fields& f, pb::Phase& m) {
  CA_TRY_ASSIGN(const double elapsed, f.number("elapsed"));
  m.set_elapsed(elapsed);
  return {};
}

Result<void> decode_unit_registered(const Fields& f, pb::UnitRegistered& m) {
  CA_TRY_ASSIGN(const auto package_id, f.string("package_id"));
  CA_TRY_ASSIGN(const object target, f.object_field("target"));
  const Fields t = f.nested(target, "target.");
  CA_TRY_ASSIGN(const auto target_name, t.string("name"));
  CA_TRY_ASSIGN(const auto target_kind, t.string("kind"));
  // CompileMode serializes as a plain string (check{test} and doc{..} lose their detail).
  CA_TRY_ASSIGN(const auto mode, f.string("mode"));
  CA_TRY_ASSIGN(const auto platform, f.string("platform"));
  CA_TRY_ASSIGN(const auto index, f.u32("index"));
  CA_TRY(f.strings("features", m.mutable_features(), false));
  CA_TRY_ASSIGN(const bool requested, f.optional_bool("requested"));
  CA_TRY(f.indices("dependencies", m.mutable_dependencies()));
  assign(m.mutable_package_id(), package_id);
  assign(m.mutable_target()->mutable_name(), target_name);
  assign(m.mutable_target()->mutable_kind(), target_kind);
  assign(m.mutable_mode(), mode);
  assign(m.mutable_platform(), platform);
  m.set_index(index);
  m.set_requested(requested);
  return {};
}

Result<void> decode_stale_item(const Fields& f, pb::StaleItem& m) {
  CA_TRY_ASSIGN(const auto kind, f.string("stale_item"));
  assign(m.mutable_stale_item(), kind);
  if (kind == "missing-file" || kind == "unable-to-read-file" ||
      kind == "failed-to-read-metadata" || kind == "missing-checksum") {
    CA_TRY_ASSIGN(const auto path, f.string("path"));
    assign(m.mutable_path(), path);
  } else if (kind == "file-size-changed") {
    CA_TRY_ASSIGN(const auto path, f.string("path"));
    CA_TRY_ASSIGN(const uint64_t old_size, f.u64("old_size"));
    CA_TRY_ASSIGN(const uint64_t new_size, f.u64("new_size"));
    assign(m.mutable_path(), path);
    m.set_old_size(old_size);
    m.set_new_size(new_size);
  } else if (kind == "changed-file") {
    CA_TRY_ASSIGN(const auto reference, f.string("reference"));
    CA_TRY_ASSIGN(const double reference_mtime, f.number("reference_mtime"));
    CA_TRY_ASSIGN(const auto stale, f.string("stale"));
    CA_TRY_ASSIGN(const double stale_mtime, f.number("stale_mtime"));
    assign(m.mutable_reference(), reference);
    m.set_reference_mtime(reference_mtime);
    assign(m.mutable_stale(), stale);
    m.set_stale_mtime(stale_mtime);
  } else if (kind == "changed-checksum") {
    CA_TRY_ASSIGN(const auto source, f.string("source"));
    CA_TRY_ASSIGN(const auto stored_checksum, f.string("stored_checksum"));
    CA_TRY_ASSIGN(const auto new_checksum, f.string("new_checksum"));
    assign(m.mutable_source(), source);
    assign(m.mutable_stored_checksum(), stored_checksum);
    assign(m.mutable_new_checksum(), new_checksum);
  } else if (kind == "changed-env") {
    CA_TRY_ASSIGN(const auto var, f.string("var"));
    CA_TRY_ASSIGN(const auto previous, f.optional_string("previous"));
    CA_TRY_ASSIGN(const auto current, f.optional_string("current"));
    assign(m.mutable_var(), var);
    if (previous) {
      assign(m.mutable_previous(), *previous);
    }
    if (current) {
      assign(m.mutable_current(), *current);
    }
  }
  // Any other kind is one this version does not know: kept by name only.
  return {};
}

Result<void> decode_fs_status(const Fields& f, pb::FsStatus& m) {
  CA_TRY_ASSIGN(const auto kind, f.string("fs_status"));
  assign(m.mutable_fs_status(), kind);
  if (kind == "stale-item") {
    CA_TRY(decode_stale_item(f, *m.mutable_stale_item()));
  } else if (kind == "stale-dependency") {
    CA_TRY_ASSIGN(const uint32_t unit, f.u32("unit"));
    CA_TRY_ASSIGN(const double dep_mtime, f.number("dep_mtime"));
    CA_TRY_ASSIGN(const double max_mtime, f.number("max_mtime"));
    m.set_unit(unit);
    m.set_dep_mtime(dep_mtime);
    m.set_max_mtime(max_mtime);
  } else if (kind == "stale-dep-fingerprint") {
    CA_TRY_ASSIGN(const uint32_t unit, f.u32("unit"));
    m.set_unit(unit);
  }
  // `stale` has no fields; any other kind is kept by name only.
  return {};
}

Result<void> decode_dirty_reason(const Fields& f, pb::DirtyReason& m) {
  CA_TRY_ASSIGN(const auto kind, f.string("dirty_reason"));
  assign(m.mutable_dirty_reason(), kind);
  switch (detail_of(kind)) {
  case Detail::none:
    return {};
  case Detail::string_change: {
    CA_TRY_ASSIGN(const auto old_value, f.string("old"));
    CA_TRY_ASSIGN(const auto new_value, f.string("new"));
    auto* change = m.mutable_string_change();
    assign(change->mutable_old(), old_value);
    assign(change->mutable_new_(), new_value);
    return {};
  }
  case Detail::list_change: {
    auto* change = m.mutable_list_change();
    CA_TRY(f.strings("old", change->mutable_old(), true));
    CA_TRY(f.strings("new", change->mutable_new_(), true));
    return {};
  }
  case Detail::count_change: {
    CA_TRY_ASSIGN(const uint64_t old_value, f.u64("old"));
    CA_TRY_ASSIGN(const uint64_t new_value, f.u64("new"));
    auto* change = m.mutable_count_change();
    change->set_old(old_value);
    change->set_new_(new_value);
    return {};
  }
  case Detail::env_var: {
    CA_TRY_ASSIGN(const auto name, f.string("name"));
    CA_TRY_ASSIGN(const auto old_value, f.optional_string("old_value"));
    CA_TRY_ASSIGN(const auto new_value, f.optional_string("new_value"));
    auto* change = m.mutable_env_var();
    assign(change->mutable_name(), name);
    if (old_value) {
      assign(change->mutable_old_value(), *old_value);
    }
    if (new_value) {
      assign(change->mutable_new_value(), *new_value);
    }
    return {};
  }
  case Detail::unit: {
    CA_TRY_ASSIGN(const uint32_t unit, f.u32("unit"));
    m.set_unit(unit);
    return {};
  }
  case Detail::fs_status:
    return decode_fs_status(f, *m.mutable_fs_status());
  }
  return {};
}

Result<void> decode_unit_fingerprint(const Fields& f, pb::UnitFingerprint& m) {
  CA_TRY_ASSIGN(const uint32_t index, f.u32("index"));
  CA_TRY_ASSIGN(const auto status, f.string("status"));
  CA_TRY_ASSIGN(const auto cause, f.optional_object("cause"));
  m.set_index(index);
  if (status == "new") {
    m.set_status(pb::FINGERPRINT_STATUS_NEW);
  } else if (status == "dirty") {
    m.set_status(pb::FINGERPRINT_STATUS_DIRTY);
  } else if (status == "fresh") {
    m.set_status(pb::FINGERPRINT_STATUS_FRESH);
  }
  // Another status is one this version does not know: left unspecified (the line is in `raw`).
  if (cause) {
    CA_TRY(decode_dirty_reason(f.nested(*cause, "cause."), *m.mutable_cause()));
  }
  return {};
}

Result<void> decode_unit_started(const Fields& f, pb::UnitStarted& m) {
  CA_TRY_ASSIGN(const uint32_t index, f.u32("index"));
  CA_TRY_ASSIGN(const double elapsed, f.number("elapsed"));
  m.set_index(index);
  m.set_elapsed(elapsed);
  return {};
}

Result<void> decode_unit_progress(const Fields& f, pb::UnitProgress& m) {
  CA_TRY_ASSIGN(const uint32_t index, f.u32("index"));
  CA_TRY_ASSIGN(const double elapsed, f.number("elapsed"));
  CA_TRY(f.indices("unblocked", m.mutable_unblocked()));
  m.set_index(index);
  m.set_elapsed(elapsed);
  return {};
}

Result<void> decode_unit_section(const Fields& f, pb::UnitSection& m) {
  CA_TRY_ASSIGN(const uint32_t index, f.u32("index"));
  CA_TRY_ASSIGN(const double elapsed, f.number("elapsed"));
  CA_TRY_ASSIGN(const auto section, f.string("section"));
  m.set_index(index);
  m.set_elapsed(elapsed);
  assign(m.mutable_section(), section);
  return {};
}

Result<void> decode_payload(const Fields& f, pb::Event::PayloadCase payload, pb::Event& out) {
  switch (payload) {
  case pb::Event::kBuildStarted:
    return decode_build_started(f, *out.mutable_build_started());
  case pb::Event::kResolutionStarted:
    return decode_phase(f, *out.mutable_resolution_started());
  case pb::Event::kResolutionFinished:
    return decode_phase(f, *out.mutable_resolution_finished());
  case pb::Event::kUnitGraphStarted:
    return decode_phase(f, *out.mutable_unit_graph_started());
  case pb::Event::kUnitGraphFinished:
    return decode_phase(f, *out.mutable_unit_graph_finished());
  case pb::Event::kUnitRegistered:
    return decode_unit_registered(f, *out.mutable_unit_registered());
  case pb::Event::kUnitFingerprint:
    return decode_unit_fingerprint(f, *out.mutable_unit_fingerprint());
  case pb::Event::kUnitStarted:
    return decode_unit_started(f, *out.mutable_unit_started());
  case pb::Event::kUnitRmetaFinished:
    return decode_unit_progress(f, *out.mutable_unit_rmeta_finished());
  case pb::Event::kUnitSectionStarted:
    return decode_unit_section(f, *out.mutable_unit_section_started());
  case pb::Event::kUnitSectionFinished:
    return decode_unit_section(f, *out.mutable_unit_section_finished());
  case pb::Event::kUnitFinished:
    return decode_unit_progress(f, *out.mutable_unit_finished());
  case pb::Event::PAYLOAD_NOT_SET:
    return {}; // a reason this version does not know
  }
  return {};
}

const char* type_name(simdjson::dom::element_type type) {
  using simdjson::dom::element_type;
  switch (type) {
  case element_type::ARRAY:
    return "an array";
  case element_type::OBJECT:
    return "an object";
  case element_type::INT64:
  case element_type::UINT64:
  case element_type::DOUBLE:
    return "a number";
  case element_type::STRING:
    return "a string";
  case element_type::BOOL:
    return "a boolean";
  case element_type::NULL_VALUE:
    return "null";
  }
  return "something else";
}

} // namespace

struct EventDecoder::Impl {
  simdjson::dom::parser parser{k_max_line_bytes};
  // The line, copied with SIMDJSON_PADDING readable bytes after it.
  std::unique_ptr<char[]> buffer;
  std::size_t capacity = 0; // bytes of `buffer` usable for the line itself

  // Copies `line` into `buffer`, growing it geometrically; returns the padded copy.
  const char* pad(std::string_view line) {
    if (line.size() > capacity) {
      capacity = std::max(line.size(), std::max<std::size_t>(capacity * 2, 4096));
      buffer = std::make_unique_for_overwrite<char[]>(capacity + simdjson::SIMDJSON_PADDING);
    }
    std::memcpy(buffer.get(), line.data(), line.size());
    std::memset(buffer.get() + line.size(), 0, simdjson::SIMDJSON_PADDING);
    return buffer.get();
  }
};

EventDecoder::EventDecoder() : m_impl(std::make_unique<Impl>()) {}
EventDecoder::~EventDecoder() = default;

Result<void> EventDecoder::decode(std::string_view line, pb::Event& out) {
  out.Clear();
  if (line.size() > k_max_line_bytes) {
    return unexpected(
        ErrorCode::resource_exhausted,
        fmt::format("line is {} bytes, over the {}-byte limit", line.size(), k_max_line_bytes));
  }
  // A CRLF line ending (or several carriage returns: then they all go, so that the line kept
  // as `raw` decodes to the same event again; tests/fuzz/fuzz_event_decoder.cpp found that).
  while (!line.empty() && line.back() == '\r') {
    line.remove_suffix(1);
  }
  if (line.empty()) {
    return unexpected(ErrorCode::invalid_argument, "empty line");
  }

  element doc;
  const char* padded = m_impl->pad(line);
  if (const auto error = m_impl->parser.parse(padded, line.size(), false).get(doc);
      error != simdjson::SUCCESS) {
    return unexpected(ErrorCode::invalid_argument,
                      fmt::format("invalid JSON: {}", simdjson::error_message(error)));
  }
  object obj;
  if (doc.get_object().get(obj) != simdjson::SUCCESS) {
    return unexpected(ErrorCode::invalid_argument,
                      fmt::format("expected a JSON object, got {}", type_name(doc.type())));
  }

  // The envelope. Cargo writes these three keys first, so stop as soon as all are seen.
  std::optional<element> run_id_value;
  std::optional<element> timestamp_value;
  std::optional<element> reason_value;
  for (const auto field : obj) {
    if (field.key == "run_id") {
      if (!run_id_value) {
        run_id_value = field.value;
      }
    } else if (field.key == "timestamp") {
      if (!timestamp_value) {
        timestamp_value = field.value;
      }
    } else if (field.key == "reason") {
      if (!reason_value) {
        reason_value = field.value;
      }
    }
    if (run_id_value && timestamp_value && reason_value) {
      break;
    }
  }

  std::string_view run_id;
  if (!run_id_value) {
    return unexpected(ErrorCode::invalid_argument, "missing field `run_id`");
  }
  if (run_id_value->get_string().get(run_id) != simdjson::SUCCESS) {
    return unexpected(ErrorCode::invalid_argument, "field `run_id`: expected a string");
  }
  CA_TRY(parse_run_id(run_id));

  std::string_view reason;
  if (!reason_value) {
    return unexpected(ErrorCode::invalid_argument, "missing field `reason`");
  }
  if (reason_value->get_string().get(reason) != simdjson::SUCCESS) {
    return unexpected(ErrorCode::invalid_argument, "field `reason`: expected a string");
  }

  // A missing timestamp is tolerated (producers other than cargo may omit it); one that does not
  // parse is kept as text with timestamp_unix_ns 0, since the event itself is still good.
  std::string_view timestamp;
  if (timestamp_value && timestamp_value->get_string().get(timestamp) != simdjson::SUCCESS) {
    return unexpected(ErrorCode::invalid_argument, "field `timestamp`: expected a string");
  }

  if (auto decoded = decode_payload(Fields(obj, reason), payload_of(reason), out); !decoded) {
    out.Clear(); // no half-filled payload
    return decoded;
  }

  assign(out.mutable_run_id(), run_id);
  assign(out.mutable_timestamp(), timestamp);
  if (!timestamp.empty()) {
    if (const auto ns = parse_rfc3339_ns(timestamp)) {
      out.set_timestamp_unix_ns(*ns);
    }
  }
  assign(out.mutable_reason(), reason);
  assign(out.mutable_raw(), line);
  return {};
}

} // namespace ca::codec

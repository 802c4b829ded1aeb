// Encoding typed events back into cargo's JSON line shape.
//
// Keys come out in the order cargo's serde derive writes them (declaration order, the tag of an
// internally tagged enum first, nested tags flattened into the same object), optional fields
// are left out or written as `null` exactly where cargo's `skip_serializing_if` and `Option`
// do, and numbers print in their shortest round-trip form as serde_json's do. Not a hot path:
// nlohmann's ordered_json keeps the code close to cargo's struct definitions.
#include "shared/codec/event_decoder.hpp"
#include "shared/run_id.hpp"

#include <nlohmann/json.hpp>

namespace ca::codec {

namespace pb = cargo_analysis::v1;

namespace {

using Json = nlohmann::ordered_json;

const char* reason_name(pb::Event::PayloadCase payload) {
  switch (payload) {
  case pb::Event::kBuildStarted:
    return "build-started";
  case pb::Event::kResolutionStarted:
    return "resolution-started";
  case pb::Event::kResolutionFinished:
    return "resolution-finished";
  case pb::Event::kUnitGraphStarted:
    return "unit-graph-started";
  case pb::Event::kUnitGraphFinished:
    return "unit-graph-finished";
  case pb::Event::kUnitRegistered:
    return "unit-registered";
  case pb::Event::kUnitFingerprint:
    return "unit-fingerprint";
  case pb::Event::kUnitStarted:
    return "unit-started";
  case pb::Event::kUnitRmetaFinished:
    return "unit-rmeta-finished";
  case pb::Event::kUnitSectionStarted:
    return "unit-section-started";
  case pb::Event::kUnitSectionFinished:
    return "unit-section-finished";
  case pb::Event::kUnitFinished:
    return "unit-finished";
  case pb::Event::PAYLOAD_NOT_SET:
    break;
  }
  return "";
}

const char* status_name(pb::FingerprintStatus status) {
  switch (status) {
  case pb::FINGERPRINT_STATUS_NEW:
    return "new";
  case pb::FINGERPRINT_STATUS_DIRTY:
    return "dirty";
  case pb::FINGERPRINT_STATUS_FRESH:
    return "fresh";
  default:
    return "unspecified";
  }
}

template <class Repeated> Json array_of(const Repeated& items) {
  Json a = Json::array();
  for (const auto& item : items) {
    a.push_back(item);
  }
  return a;
}

// Cargo's `Option<String>`: `null` when unset.
Json optional_string(bool present, const std::string& value) {
  return present ? Json(value) : Json(nullptr);
}

void encode_stale_item(const pb::StaleItem& m, Json& j) {
  const std::string& kind = m.stale_item();
  j["stale_item"] = kind;
  if (kind == "missing-file" || kind == "unable-to-read-file" ||
      kind == "failed-to-read-metadata" || kind == "missing-checksum") {
    j["path"] = m.path();
  } else if (kind == "file-size-changed") {
    j["path"] = m.path();
    j["old_size"] = m.old_size();
    j["new_size"] = m.new_size();
  } else if (kind == "changed-file") {
    j["reference"] = m.reference();
    j["reference_mtime"] = m.reference_mtime();
    j["stale"] = m.stale();
    j["stale_mtime"] = m.stale_mtime();
  } else if (kind == "changed-checksum") {
    j["source"] = m.source();
    j["stored_checksum"] = m.stored_checksum();
    j["new_checksum"] = m.new_checksum();
  } else if (kind == "changed-env") {
    j["var"] = m.var();
    j["previous"] = optional_string(m.has_previous(), m.previous());
    j["current"] = optional_string(m.has_current(), m.current());
  }
}

void encode_fs_status(const pb::FsStatus& m, Json& j) {
  const std::string& kind = m.fs_status();
  j["fs_status"] = kind;
  if (kind == "stale-item") {
    encode_stale_item(m.stale_item(), j);
  } else if (kind == "stale-dependency") {
    j["unit"] = m.unit();
    j["dep_mtime"] = m.dep_mtime();
    j["max_mtime"] = m.max_mtime();
  } else if (kind == "stale-dep-fingerprint") {
    j["unit"] = m.unit();
  }
}

Json encode_dirty_reason(const pb::DirtyReason& m) {
  Json j = Json::object();
  j["dirty_reason"] = m.dirty_reason();
  switch (m.detail_case()) {
  case pb::DirtyReason::kStringChange:
    j["old"] = m.string_change().old();
    j["new"] = m.string_change().new_();
    break;
  case pb::DirtyReason::kListChange:
    j["old"] = array_of(m.list_change().old());
    j["new"] = array_of(m.list_change().new_());
    break;
  case pb::DirtyReason::kCountChange:
    j["old"] = m.count_change().old();
    j["new"] = m.count_change().new_();
    break;
  case pb::DirtyReason::kEnvVar:
    j["name"] = m.env_var().name();
    j["old_value"] = optional_string(m.env_var().has_old_value(), m.env_var().old_value());
    j["new_value"] = optional_string(m.env_var().has_new_value(), m.env_var().new_value());
    break;
  case pb::DirtyReason::kUnit:
    j["unit"] = m.unit();
    break;
  case pb::DirtyReason::kFsStatus:
    encode_fs_status(m.fs_status(), j);
    break;
  case pb::DirtyReason::DETAIL_NOT_SET:
    break;
  }
  return j;
}

void encode_unit_progress(const pb::UnitProgress& m, Json& j) {
  j["index"] = m.index();
  j["elapsed"] = m.elapsed();
  if (!m.unblocked().empty()) {
    j["unblocked"] = array_of(m.unblocked());
  }
}

void encode_unit_section(const pb::UnitSection& m, Json& j) {
  j["index"] = m.index();
  j["elapsed"] = m.elapsed();
  j["section"] = m.section();
}

void encode_payload(const pb::Event& e, Json& j) {
  switch (e.payload_case()) {
  case pb::Event::kBuildStarted: {
    const auto& m = e.build_started();
    j["command"] = array_of(m.command());
    j["cwd"] = m.cwd();
    j["host"] = m.host();
    j["jobs"] = m.jobs();
    j["num_cpus"] = m.has_num_cpus() ? Json(m.num_cpus()) : Json(nullptr);
    j["profile"] = m.profile();
    j["rustc_version"] = m.rustc_version();
    j["rustc_version_verbose"] = m.rustc_version_verbose();
    j["target_dir"] = m.target_dir();
    j["workspace_root"] = m.workspace_root();
    break;
  }
  case pb::Event::kResolutionStarted:
    j["elapsed"] = e.resolution_started().elapsed();
    break;
  case pb::Event::kResolutionFinished:
    j["elapsed"] = e.resolution_finished().elapsed();
    break;
  case pb::Event::kUnitGraphStarted:
    j["elapsed"] = e.unit_graph_started().elapsed();
    break;
  case pb::Event::kUnitGraphFinished:
    j["elapsed"] = e.unit_graph_finished().elapsed();
    break;
  case pb::Event::kUnitRegistered: {
    const auto& m = e.unit_registered();
    j["package_id"] = m.package_id();
    j["target"] = Json{{"name", m.target().name()}, {"kind", m.target().kind()}};
    j["mode"] = m.mode();
    j["platform"] = m.platform();
    j["index"] = m.index();
    if (!m.features().empty()) {
      j["features"] = array_of(m.features());
    }
    if (m.requested()) {
      j["requested"] = true;
    }
    if (!m.dependencies().empty()) {
      j["dependencies"] = array_of(m.dependencies());
    }
    break;
  }
  case pb::Event::kUnitFingerprint: {
    const auto& m = e.unit_fingerprint();
    j["index"] = m.index();
    j["status"] = status_name(m.status());
    if (m.has_cause()) {
      j["cause"] = encode_dirty_reason(m.cause());
    }
    break;
  }
  case pb::Event::kUnitStarted:
    j["index"] = e.unit_started().index();
    j["elapsed"] = e.unit_started().elapsed();
    break;
  case pb::Event::kUnitRmetaFinished:
    encode_unit_progress(e.unit_rmeta_finished(), j);
    break;
  case pb::Event::kUnitSectionStarted:
    encode_unit_section(e.unit_section_started(), j);
    break;
  case pb::Event::kUnitSectionFinished:
    encode_unit_section(e.unit_section_finished(), j);
    break;
  case pb::Event::kUnitFinished:
    encode_unit_progress(e.unit_finished(), j);
    break;
  case pb::Event::PAYLOAD_NOT_SET:
    break;
  }
}

} // namespace

std::string encode_event(const pb::Event& event) {
  if (!event.raw().empty()) {
    return event.raw();
  }
  Json j = Json::object();
  j["run_id"] = event.run_id();
  if (!event.timestamp().empty()) {
    j["timestamp"] = event.timestamp();
  } else if (event.timestamp_unix_ns() != 0) {
    j["timestamp"] = format_rfc3339_ns(event.timestamp_unix_ns());
  }
  j["reason"] =
      event.reason().empty() ? std::string(reason_name(event.payload_case())) : event.reason();
  encode_payload(event, j);
  // Proto strings set through the C++ API are not checked for UTF-8; never throw over them.
  return j.dump(-1, ' ', false, Json::error_handler_t::replace);
}

} // namespace ca::codec

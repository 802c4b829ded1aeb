#include "shared/team/log_fold.hpp"

#include "shared/codec/event_decoder.hpp"
#include "shared/display_command.hpp"
#include "shared/package_id.hpp"
#include "shared/run_id.hpp"
#include "shared/run_state.hpp"

#include <fcntl.h>
#include <fmt/format.h>
#include <google/protobuf/util/json_util.h>
#include <sys/file.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <fstream>
#include <map>
#include <set>
#include <sstream>

namespace ca::team {
namespace {

namespace v1 = cargo_analysis::v1;

const char* fingerprint_name(v1::FingerprintStatus s) {
  switch (s) {
  case v1::FINGERPRINT_STATUS_NEW:
    return "new";
  case v1::FINGERPRINT_STATUS_DIRTY:
    return "dirty";
  case v1::FINGERPRINT_STATUS_FRESH:
    return "fresh";
  default:
    return "";
  }
}

// True if another process holds the file's lock (cargo, while it still writes the log).
bool locked_by_writer(const std::filesystem::path& path) {
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    return false;
  }
  bool locked = ::flock(fd, LOCK_SH | LOCK_NB) != 0 && errno == EWOULDBLOCK;
  ::close(fd);
  return locked;
}

} // namespace

Result<TeamRun> fold_log_file(const std::filesystem::path& path, uint64_t* skipped_lines) {
  if (locked_by_writer(path)) {
    return unexpected(ErrorCode::failed_precondition,
                      fmt::format("{}: cargo is still writing it", path.string()));
  }
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    return unexpected(ErrorCode::io,
                      fmt::format("cannot read {}: {}", path.string(), std::strerror(errno)));
  }
  std::stringstream buf;
  buf << in.rdbuf();
  const std::string text = buf.str();

  codec::EventDecoder decoder;
  v1::Event e;
  TeamRun run;
  std::map<uint32_t, TeamUnit> units;
  std::map<uint32_t, std::vector<uint32_t>> deps;
  double last_elapsed = 0;
  uint64_t skipped = 0;
  size_t pos = 0;
  while (pos < text.size()) {
    size_t nl = text.find('\n', pos);
    if (nl == std::string::npos) {
      run.state = to_string(RunState::interrupted); // the log ends mid-line
      break;
    }
    std::string_view line(text.data() + pos, nl - pos);
    pos = nl + 1;
    if (line.empty() || !decoder.decode(line, e)) {
      ++skipped;
      continue;
    }
    if (run.run_id.empty()) {
      run.run_id = e.run_id();
    } else if (e.run_id() != run.run_id) {
      ++skipped; // a log holds one run
      continue;
    }
    ++run.events;
    switch (e.payload_case()) {
    case v1::Event::kBuildStarted: {
      const auto& b = e.build_started();
      run.command.assign(b.command().begin(), b.command().end());
      run.command_line = display_command(run.command);
      run.workspace_root = b.workspace_root();
      run.profile = b.profile();
      run.target_dir = b.target_dir();
      run.rustc_version = b.rustc_version();
      run.jobs = b.jobs();
      break;
    }
    case v1::Event::kUnitRegistered: {
      const auto& r = e.unit_registered();
      TeamUnit& u = units[r.index()];
      u.index = r.index();
      u.package_id = r.package_id();
      auto name = parse_package_id(r.package_id());
      u.name = name.name;
      u.version = name.version;
      u.target_name = r.target().name();
      u.target_kind = r.target().kind();
      u.mode = r.mode();
      u.platform = r.platform();
      deps[r.index()].assign(r.dependencies().begin(), r.dependencies().end());
      break;
    }
    case v1::Event::kUnitFingerprint: {
      const auto& f = e.unit_fingerprint();
      TeamUnit& u = units[f.index()];
      u.index = f.index();
      u.fingerprint = fingerprint_name(f.status());
      if (f.has_cause()) {
        u.cause_kind = f.cause().dirty_reason();
        google::protobuf::util::JsonPrintOptions options;
        options.preserve_proto_field_names = true;
        u.cause_json.clear();
        (void)google::protobuf::util::MessageToJsonString(f.cause(), &u.cause_json, options);
      }
      break;
    }
    case v1::Event::kUnitStarted:
      units[e.unit_started().index()].start = e.unit_started().elapsed();
      last_elapsed = std::max(last_elapsed, e.unit_started().elapsed());
      break;
    case v1::Event::kUnitRmetaFinished:
      units[e.unit_rmeta_finished().index()].rmeta = e.unit_rmeta_finished().elapsed();
      last_elapsed = std::max(last_elapsed, e.unit_rmeta_finished().elapsed());
      break;
    case v1::Event::kUnitFinished:
      units[e.unit_finished().index()].finish = e.unit_finished().elapsed();
      last_elapsed = std::max(last_elapsed, e.unit_finished().elapsed());
      break;
    default:
      break;
    }
  }
  if (skipped_lines != nullptr) {
    *skipped_lines = skipped;
  }
  if (run.run_id.empty()) {
    return unexpected(ErrorCode::invalid_argument,
                      fmt::format("{}: no cargo build-analysis line in it", path.string()));
  }
  auto id = parse_run_id(run.run_id);
  run.start_unix_ms = id ? id->unix_ms : 0;
  run.session_id = run.run_id;
  run.link = "none";
  run.duration_secs = last_elapsed;
  bool unfinished = false;
  std::set<uint32_t> rebuilt;
  for (auto& [index, u] : units) {
    u.index = index;
    if (u.fingerprint == "new" || u.fingerprint == "dirty") {
      rebuilt.insert(index);
    }
  }
  for (auto& [index, u] : units) {
    ++run.units_total;
    run.units_new += u.fingerprint == "new" ? 1 : 0;
    run.units_dirty += u.fingerprint == "dirty" ? 1 : 0;
    run.units_fresh += u.fingerprint == "fresh" ? 1 : 0;
    run.units_finished += u.finish ? 1 : 0;
    unfinished = unfinished || (u.start && !u.finish);
    // A root rebuild: rebuilt, and none of its direct dependencies was (cargo's definition).
    u.root =
        rebuilt.count(index) > 0 && std::none_of(deps[index].begin(), deps[index].end(),
                                                 [&](uint32_t d) { return rebuilt.count(d) > 0; });
    run.units.push_back(u);
  }
  if (run.state.empty()) {
    run.state = to_string(unfinished ? RunState::failed : RunState::completed);
  }
  return run;
}

} // namespace ca::team

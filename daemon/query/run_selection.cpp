#include "daemon/query/run_selection.hpp"

#include "daemon/query/query_engine.hpp"
#include "shared/cargo_workspace.hpp"
#include "shared/run_id.hpp"
#include "shared/time_range.hpp"

namespace ca::query {

namespace v1 = cargo_analysis::v1;

namespace {

std::string workspace_context(const std::string& dir) {
  return dir.empty() ? std::string() : " for workspace at `" + dir + "`";
}

bool in_range(const v1::RunSummary& run, const TimeRange& range) {
  return run.start_unix_ms() >= range.lower() && run.start_unix_ms() < range.upper();
}

} // namespace

Result<void> TimeRange::check() const {
  return check_time_range(since, until);
}

std::string TimeRange::suffix() const {
  std::string words = describe_time_range(since, until);
  return words.empty() ? words : " " + words;
}

Result<std::string>
scope_root(store::RunReader& reader, const std::string& workspace, const std::string& cwd) {
  const std::string& dir = !workspace.empty() ? workspace : cwd;
  if (dir.empty()) {
    return std::string();
  }
  CA_TRY_ASSIGN(std::string root, reader.workspace_containing(dir));
  if (!root.empty()) {
    return root;
  }
  if (workspace.empty() && outside_any_cargo_workspace(cwd)) {
    return std::string(); // cargo's rule: every workspace's logs
  }
  return unexpected(ErrorCode::not_found, "no sessions found" + workspace_context(dir));
}

Result<SelectedRuns> select_runs(store::RunReader& reader,
                                 const std::string& id,
                                 const std::string& workspace,
                                 const std::string& cwd,
                                 const TimeRange& range) {
  SelectedRuns out;
  if (id.empty()) {
    CA_TRY_ASSIGN(std::string root, scope_root(reader, workspace, cwd));
    CA_TRY_ASSIGN(auto newest, reader.newest_run_in_range(root, range.lower(), range.upper()));
    if (newest.run_id.empty()) {
      return unexpected(ErrorCode::not_found,
                        "no sessions found" + workspace_context(root) + range.suffix());
    }
    CA_TRY_ASSIGN(auto run, reader.run(newest.run_id));
    out.runs.push_back(std::move(run));
    out.other_runs = range.bounded() ? static_cast<uint32_t>(newest.matched - 1) : 0;
    return out;
  }
  if (auto run = reader.run(id)) {
    if (!in_range(*run, range)) {
      return unexpected(ErrorCode::not_found, "run `" + id + "` did not start" + range.suffix());
    }
    out.runs.push_back(std::move(*run));
    return out;
  }
  CA_TRY_ASSIGN(auto runs, reader.session_runs(id));
  if (runs.empty()) {
    if (!parse_run_id(id)) {
      // Cargo's own check: neither a stored session id nor a well-formed run id.
      return unexpected(ErrorCode::invalid_argument, parse_run_id(id).error().message);
    }
    return unexpected(ErrorCode::not_found, "session `" + id + "` not found");
  }
  if (range.bounded()) {
    std::erase_if(runs, [&](const v1::RunSummary& r) { return !in_range(r, range); });
    if (runs.empty()) {
      return unexpected(ErrorCode::not_found,
                        "no run of session `" + id + "` started" + range.suffix());
    }
  }
  order_as_tree(runs);
  out.runs = std::move(runs);
  return out;
}

Result<std::vector<PackageIdSpec>>
parse_specs(const google::protobuf::RepeatedPtrField<std::string>& packages) {
  std::vector<PackageIdSpec> out;
  for (const std::string& text : packages) {
    CA_TRY_ASSIGN(auto spec, parse_package_id_spec(text));
    out.push_back(std::move(spec));
  }
  return out;
}

} // namespace ca::query

# fish completion for cargo-analysis-client.
# Installed as /usr/share/fish/vendor_completions.d/cargo-analysis-client.fish.
set -l cmds report ingest exec watch status stop gc recover team
set -l reports sessions rebuilds timings critical-path diff trends slowest-crates thrash
set -l teams init push

complete -c cargo-analysis-client -f
complete -c cargo-analysis-client -n "not __fish_seen_subcommand_from $cmds" -l runtime-dir -r -a "(__fish_complete_directories)" -d "the daemon's runtime dir"
complete -c cargo-analysis-client -n "not __fish_seen_subcommand_from $cmds" -l no-spawn -d "do not start the daemon"
complete -c cargo-analysis-client -n "not __fish_seen_subcommand_from $cmds" -l color -x -a "auto always never" -d "colors"
complete -c cargo-analysis-client -n "not __fish_seen_subcommand_from $cmds" -l version -d "print the version"
complete -c cargo-analysis-client -s h -l help -d "print help"

complete -c cargo-analysis-client -n "not __fish_seen_subcommand_from $cmds" -a report -d "build-analysis reports"
complete -c cargo-analysis-client -n "not __fish_seen_subcommand_from $cmds" -a ingest -d "send cargo log files to the daemon"
complete -c cargo-analysis-client -n "not __fish_seen_subcommand_from $cmds" -a exec -d "run a command with build analysis on"
complete -c cargo-analysis-client -n "not __fish_seen_subcommand_from $cmds" -a watch -d "live view of the builds in progress"
complete -c cargo-analysis-client -n "not __fish_seen_subcommand_from $cmds" -a status -d "health, counters and configuration"
complete -c cargo-analysis-client -n "not __fish_seen_subcommand_from $cmds" -a stop -d "stop the daemon"
complete -c cargo-analysis-client -n "not __fish_seen_subcommand_from $cmds" -a gc -d "apply the retention policy now"
complete -c cargo-analysis-client -n "not __fish_seen_subcommand_from $cmds" -a recover -d "rebuild a damaged database from cargo's logs"
complete -c cargo-analysis-client -n "not __fish_seen_subcommand_from $cmds" -a team -d "the team's ClickHouse: init, push"

# report
set -l in_report "__fish_seen_subcommand_from report"
complete -c cargo-analysis-client -n "$in_report; and not __fish_seen_subcommand_from $reports" -a sessions -d "build sessions as run trees"
complete -c cargo-analysis-client -n "$in_report; and not __fish_seen_subcommand_from $reports" -a rebuilds -d "why units were rebuilt"
complete -c cargo-analysis-client -n "$in_report; and not __fish_seen_subcommand_from $reports" -a timings -d "unit timings"
complete -c cargo-analysis-client -n "$in_report; and not __fish_seen_subcommand_from $reports" -a critical-path -d "the units that bounded a build"
complete -c cargo-analysis-client -n "$in_report; and not __fish_seen_subcommand_from $reports" -a diff -d "compare two runs or sessions"
complete -c cargo-analysis-client -n "$in_report; and not __fish_seen_subcommand_from $reports" -a trends -d "history: build time, slowest units"
complete -c cargo-analysis-client -n "$in_report; and not __fish_seen_subcommand_from $reports" -a slowest-crates -d "crates by total compile time"
complete -c cargo-analysis-client -n "$in_report; and not __fish_seen_subcommand_from $reports" -a thrash -d "units rebuilt back and forth"
complete -c cargo-analysis-client -n "$in_report; and __fish_seen_subcommand_from sessions trends slowest-crates" -l team -d "every machine, from the team's ClickHouse"
complete -c cargo-analysis-client -n "$in_report; and __fish_seen_subcommand_from sessions trends slowest-crates" -l machine -x -d "with --team: only this machine"
complete -c cargo-analysis-client -n "$in_report; and __fish_seen_subcommand_from sessions trends" -l all -d "every workspace"
complete -c cargo-analysis-client -n "$in_report; and __fish_seen_subcommand_from sessions rebuilds timings critical-path trends thrash" -l workspace -r -a "(__fish_complete_directories)" -d "workspace"
complete -c cargo-analysis-client -n "$in_report; and __fish_seen_subcommand_from rebuilds timings critical-path" -l id -x -d "run id or session id"
complete -c cargo-analysis-client -n "$in_report; and __fish_seen_subcommand_from sessions trends slowest-crates" -l limit -x -d "at most N"
complete -c cargo-analysis-client -n "$in_report; and __fish_seen_subcommand_from trends thrash" -l last -x -d "newest N sessions (thrash: runs)"
complete -c cargo-analysis-client -n "$in_report; and __fish_seen_subcommand_from rebuilds diff" -s v -l verbose -d "more detail"
complete -c cargo-analysis-client -n "$in_report; and __fish_seen_subcommand_from timings" -l format -x -a "html json text trace" -d "output format"
complete -c cargo-analysis-client -n "$in_report; and __fish_seen_subcommand_from timings" -s o -l output -r -F -d "HTML file to write"
complete -c cargo-analysis-client -n "$in_report; and __fish_seen_subcommand_from timings" -l open -d "open in a browser"
complete -c cargo-analysis-client -n "$in_report; and __fish_seen_subcommand_from timings" -l session -d "the run's whole session on one timeline"
complete -c cargo-analysis-client -n "$in_report; and __fish_seen_subcommand_from sessions rebuilds critical-path diff trends slowest-crates thrash" -l format -x -a "human json" -d "output format"
complete -c cargo-analysis-client -n "$in_report; and __fish_seen_subcommand_from sessions rebuilds timings critical-path diff trends slowest-crates" -l since -x -d "only runs started since (RFC 3339, date, age: 2h)"
complete -c cargo-analysis-client -n "$in_report; and __fish_seen_subcommand_from sessions rebuilds timings critical-path diff trends slowest-crates" -l until -x -d "only runs started before"
complete -c cargo-analysis-client -n "$in_report; and __fish_seen_subcommand_from rebuilds timings critical-path trends" -s p -l package -x -d "only this package (package ID spec)"

# the others
complete -c cargo-analysis-client -n "__fish_seen_subcommand_from ingest" -F
complete -c cargo-analysis-client -n "__fish_seen_subcommand_from exec" -F -a "(__fish_complete_subcommand --fcs-skip=2)"
complete -c cargo-analysis-client -n "__fish_seen_subcommand_from watch" -l workspace -r -a "(__fish_complete_directories)" -d "workspace"
complete -c cargo-analysis-client -n "__fish_seen_subcommand_from watch" -l session -x -d "session id"
complete -c cargo-analysis-client -n "__fish_seen_subcommand_from watch" -l runs -x -d "exit after N builds"
complete -c cargo-analysis-client -n "__fish_seen_subcommand_from status gc" -l format -x -a "human json" -d "output format"
complete -c cargo-analysis-client -n "__fish_seen_subcommand_from gc" -l keep-days -x -d "days"
complete -c cargo-analysis-client -n "__fish_seen_subcommand_from gc" -l keep-sessions -x -d "sessions"
complete -c cargo-analysis-client -n "__fish_seen_subcommand_from gc" -l max-db-mb -x -d "MiB"
complete -c cargo-analysis-client -n "__fish_seen_subcommand_from gc" -l vacuum -d "rewrite the database"
complete -c cargo-analysis-client -n "__fish_seen_subcommand_from gc" -l dry-run -d "only report what would go"
complete -c cargo-analysis-client -n "__fish_seen_subcommand_from recover" -l state-dir -r -a "(__fish_complete_directories)" -d "the daemon's state dir"
set -l in_team "__fish_seen_subcommand_from team"
complete -c cargo-analysis-client -n "$in_team; and not __fish_seen_subcommand_from $teams" -a init -d "create the team tables"
complete -c cargo-analysis-client -n "$in_team; and not __fish_seen_subcommand_from $teams" -a push -d "send cargo logs without a daemon"
complete -c cargo-analysis-client -n "$in_team; and __fish_seen_subcommand_from $teams" -l url -x -d "ClickHouse, http://host:8123"
complete -c cargo-analysis-client -n "$in_team; and __fish_seen_subcommand_from init" -l cluster -x -d "Distributed tables over this cluster"
complete -c cargo-analysis-client -n "$in_team; and __fish_seen_subcommand_from push" -l machine -x -d "this machine's label"
complete -c cargo-analysis-client -n "$in_team; and __fish_seen_subcommand_from push" -l config -r -F -d "configuration file"
complete -c cargo-analysis-client -n "$in_team; and __fish_seen_subcommand_from push" -l batch -x -d "runs per INSERT"
complete -c cargo-analysis-client -n "$in_team; and __fish_seen_subcommand_from push" -F

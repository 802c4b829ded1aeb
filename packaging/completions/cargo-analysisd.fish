# fish completion for cargo-analysisd.
# Installed as /usr/share/fish/vendor_completions.d/cargo-analysisd.fish.
complete -c cargo-analysisd -f
complete -c cargo-analysisd -l foreground -d "log to stderr"
complete -c cargo-analysisd -l runtime-dir -r -a "(__fish_complete_directories)" -d "sockets and lock"
complete -c cargo-analysisd -l state-dir -r -a "(__fish_complete_directories)" -d "database and log"
complete -c cargo-analysisd -l watch-dir -r -a "(__fish_complete_directories)" -d "cargo log directory to watch"
complete -c cargo-analysisd -l no-watch -d "watch no cargo log directory"
complete -c cargo-analysisd -l idle-timeout -x -d "exit after S idle seconds"
complete -c cargo-analysisd -l log-level -x -a "trace debug info warn error" -d "log level"
complete -c cargo-analysisd -l keep-days -x -d "delete sessions older than N days"
complete -c cargo-analysisd -l keep-sessions -x -d "keep at most N sessions"
complete -c cargo-analysisd -l max-db-mb -x -d "database size limit (MiB)"
complete -c cargo-analysisd -l config -r -F -d "configuration file"
complete -c cargo-analysisd -l team-url -x -d "the team's ClickHouse, http://host:8123"
complete -c cargo-analysisd -l team-machine -x -d "this machine's label in the team tables"
complete -c cargo-analysisd -l version -d "print the version"
complete -c cargo-analysisd -s h -l help -d "print help"

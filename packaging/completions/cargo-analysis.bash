# bash completion for cargo-analysis-client and cargo-analysisd.
# Installed as /usr/share/bash-completion/completions/{cargo-analysis-client,cargo-analysisd}.

_cargo_analysis_client() {
  local cur prev words cword
  _init_completion || return

  # The subcommand path: the words after the program that are not options.
  local i cmd="" sub=""
  for ((i = 1; i < cword; i++)); do
    case ${words[i]} in
      --runtime-dir | --color) ((i++)) ;;
      -*) ;;
      analysis-client) ;; # `cargo analysis-client ...`
      *)
        if [[ -z $cmd ]]; then
          cmd=${words[i]}
        elif [[ ($cmd == report || $cmd == team) && -z $sub ]]; then
          sub=${words[i]}
        fi
        ;;
    esac
  done

  case $prev in
    --runtime-dir | --workspace | --state-dir)
      _filedir -d
      return
      ;;
    -o | --output)
      _filedir html
      return
      ;;
    --color)
      COMPREPLY=($(compgen -W "auto always never" -- "$cur"))
      return
      ;;
    --format)
      if [[ $sub == timings ]]; then
        COMPREPLY=($(compgen -W "html json text trace" -- "$cur"))
      else
        COMPREPLY=($(compgen -W "human json" -- "$cur"))
      fi
      return
      ;;
    --session)
      # A flag of `report timings`; elsewhere it takes a session id.
      [[ $sub == timings ]] || return
      ;;
    --config)
      _filedir toml
      return
      ;;
    --id | --limit | --last | --keep-days | --keep-sessions | --max-db-mb | --runs | --since | \
      --until | --machine | --url | --cluster | --batch)
      return
      ;;
  esac

  local opts
  case $cmd in
    "")
      opts="--runtime-dir --no-spawn --color --version --help
            report ingest exec watch status stop gc recover team"
      ;;
    report)
      case $sub in
        "") opts="sessions rebuilds timings critical-path diff trends slowest-crates thrash --help" ;;
        sessions) opts="--all --workspace --limit --since --until --format --team --machine --help" ;;
        rebuilds) opts="--id --workspace -v --verbose --since --until -p --package --format --help" ;;
        timings) opts="--id --session --workspace --format -o --output --open --since --until -p --package --help" ;;
        critical-path) opts="--id --workspace --since --until -p --package --format --help" ;;
        diff) opts="-v --verbose --since --until --workspace --format --help" ;;
        trends) opts="--all --workspace --last --limit --since --until -p --package --format --team --machine --help" ;;
        slowest-crates) opts="--since --until --limit --format --team --machine --help" ;;
        thrash) opts="--workspace --last --format --help" ;;
      esac
      ;;
    ingest)
      _filedir
      return
      ;;
    exec)
      # Everything after `--` is a command line of its own.
      local j
      for ((j = 1; j < cword; j++)); do
        if [[ ${words[j]} == -- ]]; then
          _command_offset $((j + 1))
          return
        fi
      done
      opts="-- --help"
      ;;
    watch) opts="--workspace --session --runs --help" ;;
    status) opts="--format --help" ;;
    stop) opts="--help" ;;
    gc) opts="--keep-days --keep-sessions --max-db-mb --vacuum --dry-run --format --help" ;;
    recover) opts="--state-dir --help" ;;
    team)
      case $sub in
        "") opts="init push --help" ;;
        init) opts="--url --cluster --help" ;;
        push)
          if [[ $cur != -* ]]; then
            _filedir
            return
          fi
          opts="--url --machine --config --batch --help"
          ;;
      esac
      ;;
  esac
  COMPREPLY=($(compgen -W "$opts" -- "$cur"))
}

_cargo_analysisd() {
  local cur prev words cword
  _init_completion || return
  case $prev in
    --runtime-dir | --state-dir | --watch-dir)
      _filedir -d
      return
      ;;
    --config)
      _filedir toml
      return
      ;;
    --log-level)
      COMPREPLY=($(compgen -W "trace debug info warn error" -- "$cur"))
      return
      ;;
    --idle-timeout | --keep-days | --keep-sessions | --max-db-mb | --team-url | --team-machine)
      return
      ;;
  esac
  COMPREPLY=($(compgen -W "--foreground --runtime-dir --state-dir --watch-dir --no-watch
                           --idle-timeout --log-level --keep-days --keep-sessions --max-db-mb
                           --config --team-url --team-machine --version --help" -- "$cur"))
}

complete -F _cargo_analysis_client cargo-analysis-client
complete -F _cargo_analysisd cargo-analysisd

// One daemon per database, whatever its runtime dir.
//
// The pid lock in the runtime dir (daemon/main.cpp) keeps two daemons off one set of sockets, but
// two shells with different XDG_RUNTIME_DIR start two daemons on one state dir: both would write
// one database and tail one log dir. So the state dir has a lock of its own: an flock on
// `<state-dir>/daemon.lock`, held for the life of the process, whose content names the holder
// ("<pid>\n<runtime dir>\n") for the message a second daemon prints.
#pragma once

#include "shared/error.hpp"

#include <filesystem>

namespace ca {

// Takes the state dir's lock and writes our pid and `runtime_dir` into it. Returns the open
// descriptor (keep it open: closing it releases the lock), or failed_precondition naming the
// holder's pid and runtime dir if another process holds it, or an io error naming the file.
Result<int> take_state_lock(const std::filesystem::path& state_dir,
                            const std::filesystem::path& runtime_dir);

} // namespace ca

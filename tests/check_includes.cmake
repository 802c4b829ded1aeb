# Checks every `#include "..."` under shared/, daemon/ and client/ against the layer table.
#
#   cmake -DROOT=<repo root> [-DTABLE=<markdown file>] -P tests/check_includes.cmake
#
# The table is the "## Layers" section of TABLE (default: ROOT/README.md): one row per library,
#   | `ca_ingest` | `daemon/ingest/` | `ca_shared`, `ca_runtime`, `daemon/store/batch_sink.hpp` |
# giving its name, the folder (or file) it owns, and what it may use: other libraries (`ca_...`:
# all their headers, and what their own rows allow) or single headers of a library (a path). A file belongs to the
# row whose folder is the longest prefix of its path; so does a header it includes. An include
# passes if the header belongs to the file's own row or is allowed by it. A file or header that
# belongs to no row fails too, so a new folder needs a row before its first include.
#
# The compiler enforces the link graph (cmake/CaLayers.cmake); this test checks what the link
# graph cannot say: which headers of a library a layer may include, and the headers of files
# that no translation unit happens to include. Prints one line per violation and fails.

cmake_minimum_required(VERSION 3.22)

if(NOT ROOT)
  message(FATAL_ERROR "usage: cmake -DROOT=<repo root> [-DTABLE=<file>] -P check_includes.cmake")
endif()
if(NOT TABLE)
  set(TABLE ${ROOT}/README.md)
endif()

# --- the table --------------------------------------------------------------------------------
# Read whole and split by hand: a ";" in the text would split CMake's list elements.
file(READ ${TABLE} text)
string(REPLACE ";" "," text "${text}")
string(REPLACE "\n" ";" lines "${text}")
set(in_section FALSE)
set(rows)
foreach(line IN LISTS lines)
  if(line MATCHES "^## ")
    if(line MATCHES "^## Layers *$")
      set(in_section TRUE)
    else()
      set(in_section FALSE)
    endif()
    continue()
  endif()
  if(NOT in_section OR NOT line MATCHES "^\\| *`")
    continue()
  endif()
  # Cells: | name | folder | may use |. (A "|" inside a cell is not supported.)
  string(REGEX REPLACE "^\\|(.*)\\| *$" "\\1" cells "${line}")
  string(REPLACE "|" ";" cells "${cells}")
  list(LENGTH cells n)
  if(NOT n EQUAL 3)
    message(FATAL_ERROR "${TABLE}: a Layers row needs 3 cells: ${line}")
  endif()
  list(GET cells 0 name_cell)
  list(GET cells 1 folder_cell)
  list(GET cells 2 uses_cell)
  string(REGEX MATCH "`([^`]+)`" _ "${name_cell}")
  set(name ${CMAKE_MATCH_1})
  string(REGEX MATCH "`([^`]+)`" _ "${folder_cell}")
  set(folder ${CMAKE_MATCH_1})
  # What counts: library names (`ca_...`) and header paths (with a "/"); other code words in
  # the cell (`BatchSink`) are prose.
  string(REGEX MATCHALL "`[^`]+`" words "${uses_cell}")
  string(REPLACE "`" "" words "${words}")
  set(uses)
  foreach(word IN LISTS words)
    if(word MATCHES "^ca_" OR word MATCHES "/")
      list(APPEND uses ${word})
    endif()
  endforeach()
  if(NOT name OR NOT folder)
    message(FATAL_ERROR "${TABLE}: a Layers row needs a `name` and a `folder`: ${line}")
  endif()
  list(APPEND rows ${name})
  set(folder_${name} ${folder})
  set(uses_${name} ${uses})
endforeach()
if(NOT rows)
  message(FATAL_ERROR "${TABLE}: no \"## Layers\" table found")
endif()

# The row a repo path belongs to (longest folder prefix, or the exact file), or "".
function(owner_of path out)
  set(best "")
  set(best_len 0)
  foreach(row IN LISTS rows)
    set(f ${folder_${row}})
    string(LENGTH "${f}" len)
    string(SUBSTRING "${path}" 0 ${len} head)
    if(head STREQUAL f AND (f MATCHES "/$" OR path STREQUAL f) AND len GREATER best_len)
      set(best ${row})
      set(best_len ${len})
    endif()
  endforeach()
  set(${out} "${best}" PARENT_SCOPE)
endfunction()

# What a row may use: its entries, and through each library it may use, that library's entries,
# transitively.
foreach(row IN LISTS rows)
  set(allowed)
  set(todo ${uses_${row}})
  while(todo)
    list(POP_FRONT todo entry)
    if(entry IN_LIST allowed)
      continue()
    endif()
    list(APPEND allowed ${entry})
    if(entry IN_LIST rows)
      list(APPEND todo ${uses_${entry}})
    elseif(NOT entry MATCHES "/")
      message(FATAL_ERROR "${TABLE}: row ${row} uses ${entry}, which is no row of the table")
    endif()
  endwhile()
  set(allowed_${row} ${allowed})
endforeach()

# --- the sources ------------------------------------------------------------------------------
file(GLOB_RECURSE sources RELATIVE ${ROOT} ${ROOT}/shared/*.[ch]pp ${ROOT}/daemon/*.[ch]pp
     ${ROOT}/client/*.[ch]pp)
list(SORT sources)
set(violations 0)
set(checked 0)
foreach(source IN LISTS sources)
  owner_of(${source} row)
  if(NOT row)
    message("${source}: belongs to no row of the layer table (${TABLE})")
    math(EXPR violations "${violations} + 1")
    continue()
  endif()
  file(STRINGS ${ROOT}/${source} includes REGEX "^[ \t]*#[ \t]*include[ \t]*\"")
  foreach(include_line IN LISTS includes)
    string(REGEX REPLACE "^[ \t]*#[ \t]*include[ \t]*\"([^\"]+)\".*" "\\1" header
                         "${include_line}")
    math(EXPR checked "${checked} + 1")
    owner_of(${header} header_row)
    if(NOT header_row)
      message("${source}: includes ${header}, which belongs to no row of the layer table")
      math(EXPR violations "${violations} + 1")
    elseif(NOT header_row STREQUAL row AND NOT header_row IN_LIST allowed_${row}
           AND NOT header IN_LIST allowed_${row})
      message("${source}: includes ${header} (${header_row}), which ${row} may not use")
      math(EXPR violations "${violations} + 1")
    endif()
  endforeach()
endforeach()

list(LENGTH sources files)
if(violations GREATER 0)
  message(FATAL_ERROR "${violations} includes break the layer table (${TABLE}, \"## Layers\")")
endif()
message("include rules: ${checked} includes in ${files} files follow the layer table")

# The include-rules check must catch what it is for: runs tests/check_includes.cmake on
# tests/fixtures/layers (a small table and files that break it on purpose) and expects it to
# fail with exactly these violations, and to pass over the includes the table allows.
#
#   cmake -DSOURCE_DIR=<repo root> -P tests/check_includes_test.cmake
cmake_minimum_required(VERSION 3.22)

set(fixture ${SOURCE_DIR}/tests/fixtures/layers)
execute_process(
  COMMAND ${CMAKE_COMMAND} -DROOT=${fixture} -P ${SOURCE_DIR}/tests/check_includes.cmake
  RESULT_VARIABLE rc
  OUTPUT_VARIABLE out
  ERROR_VARIABLE out)

set(expected
    "daemon/ingest/source.cpp: includes daemon/store/writer.hpp (ca_store), which ca_ingest may not use"
    "daemon/ingest/source.cpp: includes daemon/query/report.hpp, which belongs to no row of the layer table"
    "shared/util.hpp: includes daemon/ingest/source.hpp (ca_ingest), which ca_shared may not use"
    "3 includes break the layer table")
set(failures)
if(rc EQUAL 0)
  list(APPEND failures "the check passed a tree that breaks the table")
endif()
foreach(line IN LISTS expected)
  string(FIND "${out}" "${line}" at)
  if(at EQUAL -1)
    list(APPEND failures "missing: ${line}")
  endif()
endforeach()
# Allowed includes are not reported: ingest's own header, shared and the one store header its
# row names; the store's own headers and shared from the store.
foreach(allowed "source.cpp: includes daemon/ingest/source.hpp"
                "source.cpp: includes daemon/store/batch_sink.hpp"
                "source.cpp: includes shared/util.hpp" "writer.hpp: includes")
  string(FIND "${out}" "${allowed}" at)
  if(NOT at EQUAL -1)
    list(APPEND failures "reported although allowed: ${allowed}")
  endif()
endforeach()
if(failures)
  string(REPLACE ";" "\n  " failures "${failures}")
  message(FATAL_ERROR "check_includes.cmake on ${fixture}:\n  ${failures}\noutput:\n${out}")
endif()
message("include rules: the fixture's 3 violations found, its allowed includes passed")

# The layer table (README.md, "Layers"), enforced by the compiler.
#
# Includes name headers by their path from the repo root (`#include "daemon/store/writer.hpp"`).
# If every library exported the repo root as an include dir, any header would be reachable from
# anywhere and the table would hold only on paper. Instead each library exports a folder of its
# own under the build tree that holds links to its own headers, at their repo paths, and nothing
# else. A file then sees only the headers of the libraries its library links, so an include the
# link graph does not allow fails to compile ("daemon/store/writer.hpp: No such file or
# directory"); tests/check_includes.cmake checks the finer rules of the table (which headers of a
# library) for every file.
set(CA_LAYERS_DIR ${CMAKE_BINARY_DIR}/layers)

# ca_layer_headers(<out-var> <name> [DIRS dir...] [HEADERS header...]): links the .hpp files of
# each DIRS folder (not its subfolders) and each HEADERS file, all relative to the repo root,
# under ${CA_LAYERS_DIR}/<name>/ at the same relative paths, and sets <out-var> to that folder.
# The folder is made anew at each configure, so a header that left the list is gone from it.
function(ca_layer_headers out name)
  cmake_parse_arguments(ARG "" "" "DIRS;HEADERS" ${ARGN})
  set(root ${CA_LAYERS_DIR}/${name})
  file(REMOVE_RECURSE ${root})
  set(headers ${ARG_HEADERS})
  foreach(dir IN LISTS ARG_DIRS)
    file(GLOB dir_headers CONFIGURE_DEPENDS RELATIVE ${PROJECT_SOURCE_DIR}
         ${PROJECT_SOURCE_DIR}/${dir}/*.hpp)
    list(APPEND headers ${dir_headers})
  endforeach()
  foreach(header IN LISTS headers)
    if(NOT EXISTS ${PROJECT_SOURCE_DIR}/${header})
      message(FATAL_ERROR "ca_layer_headers(${name}): no such header: ${header}")
    endif()
    get_filename_component(parent ${root}/${header} DIRECTORY)
    file(MAKE_DIRECTORY ${parent})
    file(CREATE_LINK ${PROJECT_SOURCE_DIR}/${header} ${root}/${header} SYMBOLIC)
  endforeach()
  file(MAKE_DIRECTORY ${root})
  set(${out} ${root} PARENT_SCOPE)
endfunction()

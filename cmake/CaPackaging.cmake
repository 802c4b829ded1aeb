# Installation and the Debian package (`cpack -G DEB` in a build dir):
#   bin/cargo-analysisd, bin/cargo-analysis-client   (installed by the top-level CMakeLists)
#   lib/systemd/user/cargo-analysisd.{socket,service}
#   share/bash-completion/completions/, share/zsh/vendor-completions/,
#   share/fish/vendor_completions.d/
#   share/man/man1/cargo-analysisd.1.gz, cargo-analysis-client.1.gz  (help2man, at build time)
#   share/doc/cargo-analysis/README.md
# The package is cargo-analysis_<version>_<arch>.deb with its shared-library dependencies found
# by dpkg-shlibdeps.

# --- systemd user units --------------------------------------------------------------------------
# The units in systemd/ name /usr/bin/...; the installed copies name the bare programs, which
# systemd resolves on its fixed search path (/usr/local/bin, /usr/bin, ...), so that they are
# right for a package in /usr and for `cmake --install` into /usr/local alike.
foreach(unit cargo-analysisd.service cargo-analysisd.socket)
  file(READ ${CMAKE_CURRENT_SOURCE_DIR}/systemd/${unit} text)
  string(REPLACE "/usr/bin/" "" text "${text}")
  file(WRITE ${CMAKE_CURRENT_BINARY_DIR}/systemd/${unit} "${text}")
  set_property(DIRECTORY APPEND PROPERTY CMAKE_CONFIGURE_DEPENDS
                                         ${CMAKE_CURRENT_SOURCE_DIR}/systemd/${unit})
endforeach()
install(FILES ${CMAKE_CURRENT_BINARY_DIR}/systemd/cargo-analysisd.service
              ${CMAKE_CURRENT_BINARY_DIR}/systemd/cargo-analysisd.socket
        DESTINATION lib/systemd/user)

# --- shell completions ---------------------------------------------------------------------------
set(ca_completions ${CMAKE_CURRENT_SOURCE_DIR}/packaging/completions)
# bash-completion loads a file named after the command; one file serves both programs.
install(FILES ${ca_completions}/cargo-analysis.bash DESTINATION share/bash-completion/completions
        RENAME cargo-analysis-client)
install(FILES ${ca_completions}/cargo-analysis.bash DESTINATION share/bash-completion/completions
        RENAME cargo-analysisd)
install(FILES ${ca_completions}/_cargo-analysis-client DESTINATION share/zsh/vendor-completions)
install(FILES ${ca_completions}/cargo-analysis-client.fish ${ca_completions}/cargo-analysisd.fish
        DESTINATION share/fish/vendor_completions.d)

# --- man pages, from each program's --help -------------------------------------------------------
# (Not under sanitizers: the pages are the same, and a sanitizer's report must not fail a build.)
find_program(HELP2MAN help2man)
if(HELP2MAN AND NOT CA_SANITIZE)
  set(ca_man_pages)
  foreach(prog IN ITEMS cargo-analysisd cargo-analysis-client)
    if(prog STREQUAL "cargo-analysisd")
      set(summary "collects cargo build-analysis events and answers reports")
    else()
      set(summary "build-analysis reports of cargo builds, from cargo-analysisd")
    endif()
    set(page ${CMAKE_CURRENT_BINARY_DIR}/man/${prog}.1)
    set(include ${CMAKE_CURRENT_SOURCE_DIR}/packaging/man/${prog}.h2m)
    add_custom_command(
      OUTPUT ${page}.gz
      COMMAND ${CMAKE_COMMAND} -E make_directory ${CMAKE_CURRENT_BINARY_DIR}/man
      COMMAND ${HELP2MAN} --no-info --no-discard-stderr --section=1 --name=${summary}
              --version-string=${PROJECT_VERSION} --include=${include} --output=${page}
              $<TARGET_FILE:${prog}>
      COMMAND gzip -9nf ${page}
      DEPENDS ${prog} ${include}
      COMMENT "help2man ${prog}"
      VERBATIM)
    list(APPEND ca_man_pages ${page}.gz)
  endforeach()
  add_custom_target(man ALL DEPENDS ${ca_man_pages})
  install(FILES ${ca_man_pages} DESTINATION ${CMAKE_INSTALL_MANDIR}/man1)
elseif(NOT HELP2MAN)
  message(WARNING "help2man not found: no man pages (apt-get install help2man)")
endif()

install(FILES ${CMAKE_CURRENT_SOURCE_DIR}/README.md DESTINATION ${CMAKE_INSTALL_DOCDIR})

# --- the Debian package --------------------------------------------------------------------------
set(CA_PACKAGE_CONTACT "cargo-analysis maintainers <maintainers@users.noreply.github.com>"
    CACHE STRING "Maintainer field of the .deb")
set(CPACK_GENERATOR DEB)
set(CPACK_PACKAGE_NAME cargo-analysis)
set(CPACK_PACKAGE_VERSION ${PROJECT_VERSION})
set(CPACK_PACKAGE_CONTACT ${CA_PACKAGE_CONTACT})
set(CPACK_PACKAGE_DESCRIPTION_SUMMARY "build-analysis daemon and reports for Rust's cargo")
set(CPACK_DEBIAN_PACKAGE_DESCRIPTION
    "build-analysis daemon and reports for Rust's cargo\n"
    " cargo-analysisd takes the build-analysis logs cargo writes (-Zbuild-analysis),\n"
    " ties nested cargo calls into sessions, indexes them in SQLite and answers\n"
    " reports (sessions, rebuilds, timings, critical path, trends) instantly, for the\n"
    " cargo-analysis-client CLI (also `cargo analysis-client`) and IDEs over gRPC.")
string(REPLACE ";" "" CPACK_DEBIAN_PACKAGE_DESCRIPTION "${CPACK_DEBIAN_PACKAGE_DESCRIPTION}")
set(CPACK_PACKAGING_INSTALL_PREFIX /usr)
set(CPACK_DEBIAN_FILE_NAME DEB-DEFAULT) # cargo-analysis_<version>_<arch>.deb
set(CPACK_DEBIAN_PACKAGE_SECTION devel)
set(CPACK_DEBIAN_PACKAGE_SHLIBDEPS ON)
set(CPACK_DEBIAN_PACKAGE_RECOMMENDS cargo)
set(CPACK_STRIP_FILES ON)
include(CPack)

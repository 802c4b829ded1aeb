# ca_settings: language level and sanitizers; ca_warnings: our warning policy.
# Every target of ours links both PRIVATE (ccache's standard_settings/standard_warnings).
add_library(ca_settings INTERFACE)
target_compile_features(ca_settings INTERFACE cxx_std_20)
if(CA_SANITIZE)
  target_compile_options(ca_settings INTERFACE -fsanitize=${CA_SANITIZE} -fno-omit-frame-pointer
                                               -fno-sanitize-recover=all)
  target_link_options(ca_settings INTERFACE -fsanitize=${CA_SANITIZE})
  if(CA_SANITIZE MATCHES "thread" AND CMAKE_CXX_COMPILER_ID STREQUAL "GNU")
    # GCC warns that TSan does not model std::atomic_thread_fence, which Boost.Asio's headers
    # use; the warning is about a library's code, and TSan's reports still cover ours.
    target_compile_options(ca_settings INTERFACE -Wno-tsan)
  endif()
endif()

# CA_FUZZ (clang only): every object is instrumented for libFuzzer's coverage; the fuzz targets
# themselves link its driver (tests/fuzz).
if(CA_FUZZ)
  target_compile_options(ca_settings INTERFACE -fsanitize=fuzzer-no-link)
endif()

add_library(ca_warnings INTERFACE)
target_compile_options(ca_warnings INTERFACE -Wall -Wextra -Wpedantic -Wshadow
                                             -Wnon-virtual-dtor -Wno-missing-field-initializers)
if(CA_WERROR)
  target_compile_options(ca_warnings INTERFACE -Werror)
endif()

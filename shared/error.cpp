#include "shared/error.hpp"

namespace ca {

const char* to_string(ErrorCode code) {
  switch (code) {
  case ErrorCode::invalid_argument:
    return "invalid_argument";
  case ErrorCode::not_found:
    return "not_found";
  case ErrorCode::io:
    return "io";
  case ErrorCode::database:
    return "database";
  case ErrorCode::unavailable:
    return "unavailable";
  case ErrorCode::failed_precondition:
    return "failed_precondition";
  case ErrorCode::resource_exhausted:
    return "resource_exhausted";
  case ErrorCode::damaged:
    return "damaged";
  case ErrorCode::internal:
    return "internal";
  }
  return "unknown";
}

} // namespace ca

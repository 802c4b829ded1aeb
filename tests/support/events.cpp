#include "tests/support/events.hpp"

#include "shared/codec/event_decoder.hpp"

#include <gtest/gtest.h>

#include <sstream>

namespace ca::test {

namespace v1 = cargo_analysis::v1;

std::vector<v1::Event> decode_lines(const std::string& text, const std::string& source) {
  codec::EventDecoder decoder;
  std::vector<v1::Event> events;
  std::istringstream in(text);
  std::string line;
  for (int number = 1; std::getline(in, line); ++number) {
    if (line.empty()) {
      continue;
    }
    v1::Event event;
    auto decoded = decoder.decode(line, event);
    EXPECT_TRUE(decoded) << source << ":" << number << ": " << decoded.error().message;
    if (decoded) {
      events.push_back(std::move(event));
    }
  }
  return events;
}

v1::RunSummary summary_of(const std::vector<v1::Event>& events) {
  v1::RunSummary run;
  for (const v1::Event& event : events) {
    if (event.has_build_started()) {
      run.set_run_id(event.run_id());
      run.set_workspace_root(event.build_started().workspace_root());
      break;
    }
  }
  return run;
}

} // namespace ca::test

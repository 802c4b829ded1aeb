// Compiled (syntax only) with ca_ingest's include dirs by the CTest layers_ingest_sees_batch_sink:
// the store's BatchSink is what ingest may use, so this must compile. It is also the control for
// ingest_does_not_see_writer.cpp: the same flags, one include apart.
#include "daemon/ingest/batch_commit.hpp"
#include "daemon/store/batch_sink.hpp"

int main() {
  return 0;
}

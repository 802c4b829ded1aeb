// Compiled (syntax only) with ca_ingest's include dirs by the CTest
// layers_ingest_does_not_see_writer, which expects the include below to fail: the layer table
// lets ingest use the store's BatchSink, never its Writer.
#include "daemon/ingest/batch_commit.hpp"
#include "daemon/store/writer.hpp"

int main() {
  return 0;
}

// fuzz/fuzz_project.cc — watershed.yml over any bytes: opening a project either succeeds or
// fails with a message; never a crash (yaml-cpp exceptions stay inside base/config).
#include <cstdint>
#include <string>

#include "fuzz/fuzz_util.h"
#include "watershed/project/project.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace watershed;
  const std::string dir = fuzz::ScratchDir();
  fuzz::WriteFile(dir + "/watershed.yml", data, size);
  auto project = project::Project::Open(dir);
  if (project.ok()) (*project)->TableConfigFor("a.b");
  return 0;
}

// Replays a fuzz target's corpus without libFuzzer: the same
// LLVMFuzzerTestOneInput, fed each file of the directories (or files) given,
// so the seed corpus and every reproduced finding stay a regression test in
// the ordinary build (CTest: fuzz.<target>.corpus). A crash or a sanitizer
// report fails it like any test; a missing or empty corpus fails too, so the
// test cannot pass by running nothing.
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <system_error>
#include <vector>

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size);

namespace {

std::vector<std::filesystem::path> inputs_in(const std::filesystem::path& place) {
  std::vector<std::filesystem::path> inputs;
  std::error_code error;
  if (std::filesystem::is_regular_file(place, error)) return {place};
  for (const auto& entry : std::filesystem::directory_iterator(place, error)) {
    if (entry.is_regular_file()) inputs.push_back(entry.path());
  }
  std::sort(inputs.begin(), inputs.end());  // a stable order: a failure names the same input every run
  return inputs;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 2) {
    std::fprintf(stderr, "usage: %s CORPUS_DIR_OR_FILE...\n", argv[0]);
    return 2;
  }
  std::size_t replayed = 0;
  for (int arg = 1; arg < argc; ++arg) {
    const std::vector<std::filesystem::path> inputs = inputs_in(argv[arg]);
    if (inputs.empty()) {
      std::fprintf(stderr, "%s: no corpus files in %s\n", argv[0], argv[arg]);
      return 1;
    }
    for (const auto& input : inputs) {
      std::ifstream file(input, std::ios::binary);
      const std::vector<char> bytes{std::istreambuf_iterator<char>(file), std::istreambuf_iterator<char>()};
      if (!file.good() && !file.eof()) {
        std::fprintf(stderr, "%s: cannot read %s\n", argv[0], input.c_str());
        return 1;
      }
      std::fprintf(stderr, "replay %s (%zu bytes)\n", input.c_str(), bytes.size());
      LLVMFuzzerTestOneInput(reinterpret_cast<const std::uint8_t*>(bytes.data()), bytes.size());
      ++replayed;
    }
  }
  std::printf("%zu inputs replayed, no finding\n", replayed);
  return 0;
}

#pragma once
// FUZZ_CHECK(condition, what): a property every input must keep. When it
// breaks, the input is a finding: the message goes to stderr and abort()
// makes libFuzzer save the input (and fails the corpus replay test).
#include <cstdio>
#include <cstdlib>

#define FUZZ_CHECK(condition, what)                                                                  \
  do {                                                                                               \
    if (!(condition)) {                                                                              \
      std::fprintf(stderr, "fuzz property broken at %s:%d: %s (%s)\n", __FILE__, __LINE__, what,     \
                   #condition);                                                                      \
      std::abort();                                                                                  \
    }                                                                                                \
  } while (false)

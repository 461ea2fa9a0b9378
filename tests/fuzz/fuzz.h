/*
 * The libFuzzer entry points every target under tests/fuzz defines, so
 * that -Wmissing-prototypes holds.  A target is linked either with
 * libFuzzer (clang -fsanitize=fuzzer, `make fuzz`) or with driver.c,
 * which replays a seed corpus as a regression test (`make tests`).
 */
#ifndef GH_FUZZ_H
#define GH_FUZZ_H

#include <stddef.h>
#include <stdint.h>

/* Run one input; must not leak, print or keep state that changes the next verdict.  Returns 0. */
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* One-time set-up (keys, servers); argc/argv are libFuzzer's and left alone.  Returns 0. */
int LLVMFuzzerInitialize(int *argc, char ***argv);

#endif

/*
 * fuzz: what every target of tests/fuzz shares. Each fuzz_<name>.c defines
 * LLVMFuzzerTestOneInput, built twice: with clang's libFuzzer for `make
 * fuzz` and fuzz.short (tests/fuzz/run.sh), and with replay.c's main for
 * fuzz.corpus.<name>, which feeds it the committed corpus under the test
 * build's compiler and sanitizers.
 *
 * A target checks properties, not only the absence of crashes: a broken
 * one is reported with FUZZ_CHECK, which aborts (a crash to libFuzzer).
 */
#ifndef CRM_FUZZ_H
#define CRM_FUZZ_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Not assert(): it must hold in every build type. */
#define FUZZ_CHECK(cond)                                                                           \
    do {                                                                                           \
        if (!(cond)) {                                                                             \
            fprintf(stderr, "%s:%d: property broken: %s\n", __FILE__, __LINE__, #cond);            \
            abort();                                                                               \
        }                                                                                          \
    } while (0)

#endif

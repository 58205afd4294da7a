/*
 * fuzz/fuzz_input.h - what every libFuzzer harness here shares: the fuzzer's
 * bytes read as a stream of big-endian fields, and the check that ends a run.
 *
 * Why it is shaped so.  A harness decodes its operations from the input a few
 * bytes at a time; running out of input must not end the run early or read
 * past the buffer, so take() yields zeros once the bytes are used up (the
 * operation still runs, on zero fields).  A broken invariant aborts, which
 * libFuzzer reports as a crash with the input that caused it.
 */
#ifndef PCIVIRT_FUZZ_INPUT_H
#define PCIVIRT_FUZZ_INPUT_H

#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

/* CHECK() - an invariant of the harness: abort (a finding) when it does not hold. */
#define CHECK(c)                                                                                                       \
    do {                                                                                                               \
        if (!(c)) {                                                                                                    \
            abort();                                                                                                   \
        }                                                                                                              \
    } while (0)

/* The fuzzer's bytes not consumed yet. */
struct input {
    const uint8_t *p;
    size_t n;
};

/* take() - the next @bytes (1..4) bytes as a big-endian number; zeros past the end. */
static inline uint32_t
take(struct input *in, unsigned bytes)
{
    uint32_t v = 0;

    for (unsigned i = 0; i < bytes; i++) {
        v = (v << 8) | (in->n ? (in->n--, *in->p++) : 0);
    }
    return v;
}

#endif /* PCIVIRT_FUZZ_INPUT_H */

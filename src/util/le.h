/*
 * util/le.h - little-endian register accessors.
 *
 * PCI registers and VMBus wire structures are little-endian byte arrays.  Every
 * access in pcivirt goes through these helpers over `uint8_t *` so that no code
 * depends on host byte order, casts to wider pointers or uses bitfields
 * (../shared/STYLE.md rule 4).
 */
#ifndef PCIVIRT_UTIL_LE_H
#define PCIVIRT_UTIL_LE_H

#include <stdint.h>

static inline uint16_t
le16_get(const uint8_t *p)
{
    return (uint16_t)(p[0] | (p[1] << 8));
}

static inline uint32_t
le32_get(const uint8_t *p)
{
    return (uint32_t)p[0] | ((uint32_t)p[1] << 8) | ((uint32_t)p[2] << 16) | ((uint32_t)p[3] << 24);
}

static inline uint64_t
le64_get(const uint8_t *p)
{
    return (uint64_t)le32_get(p) | ((uint64_t)le32_get(p + 4) << 32);
}

static inline void
le16_put(uint8_t *p, uint16_t v)
{
    p[0] = (uint8_t)v;
    p[1] = (uint8_t)(v >> 8);
}

static inline void
le32_put(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)v;
    p[1] = (uint8_t)(v >> 8);
    p[2] = (uint8_t)(v >> 16);
    p[3] = (uint8_t)(v >> 24);
}

static inline void
le64_put(uint8_t *p, uint64_t v)
{
    le32_put(p, (uint32_t)v);
    le32_put(p + 4, (uint32_t)(v >> 32));
}

/* Read 1, 2, 4 or 8 bytes as an unsigned value; other lengths read byte by byte. */
static inline uint64_t
le_get(const uint8_t *p, unsigned len)
{
    uint64_t v = 0;

    while (len--) {
        v = (v << 8) | p[len];
    }
    return v;
}

static inline void
le_put(uint8_t *p, unsigned len, uint64_t v)
{
    for (unsigned i = 0; i < len; i++) {
        p[i] = (uint8_t)(v >> (8 * i));
    }
}

#endif /* PCIVIRT_UTIL_LE_H */

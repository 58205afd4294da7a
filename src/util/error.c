/*
 * util/error.c - PCIVIRT_E* descriptions and the detail object of pcivirt/error.h.
 */
#include "pcivirt/error.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

const char *
pcivirt_strerror(int code)
{
    switch (code) {
    case PCIVIRT_OK: return "success";
    case PCIVIRT_EINVAL: return "invalid argument";
    case PCIVIRT_ENOMEM: return "out of memory";
    case PCIVIRT_ERANGE: return "out of range";
    case PCIVIRT_ENOENT: return "no such object";
    case PCIVIRT_EEXIST: return "already exists";
    case PCIVIRT_EBUSY: return "busy";
    case PCIVIRT_EIO: return "input/output error";
    case PCIVIRT_EFORMAT: return "malformed input";
    case PCIVIRT_ELOOP: return "capability chain loops";
    case PCIVIRT_ENOTSUP: return "not supported";
    case PCIVIRT_ESTATE: return "wrong state";
    case PCIVIRT_ETIMEDOUT: return "timed out";
    case PCIVIRT_EACCES: return "permission denied";
    case PCIVIRT_EOVERLAP: return "overlapping allocation";
    case PCIVIRT_ENOSPC: return "no space left";
    default: return "unknown error";
    }
}

int
pcivirt_error_set(struct pcivirt_error *err, int code, const char *fmt, ...)
{
    va_list ap;

    if (err == NULL) {
        return code;
    }
    err->code = code;
    va_start(ap, fmt);
    vsnprintf(err->message, sizeof(err->message), fmt, ap);
    va_end(ap);
    return code;
}

void
pcivirt_error_locate(struct pcivirt_error *err, const char *where, unsigned line, const char *field)
{
    if (err == NULL) {
        return;
    }
    if (where != NULL) {
        snprintf(err->where, sizeof(err->where), "%s", where);
    }
    err->line = line;
    if (field != NULL) {
        snprintf(err->field, sizeof(err->field), "%s", field);
    }
}

void
pcivirt_error_clear(struct pcivirt_error *err)
{
    if (err != NULL) {
        memset(err, 0, sizeof(*err));
    }
}

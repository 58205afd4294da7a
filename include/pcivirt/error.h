/*
 * pcivirt/error.h - the error currency of the native (non-NT) layers.
 *
 * The config-space engine, the device model, parsers and the command's helpers
 * return 0 on success or a negative PCIVIRT_E* code.  When a person needs detail
 * (which file, which line, which field, which arithmetic), the caller passes an
 * optional struct pcivirt_error that the library fills; library code never prints.
 * The runtime, the PF driver and the contract speak NTSTATUS instead (pcivirt/nt.h).
 */
#ifndef PCIVIRT_ERROR_H
#define PCIVIRT_ERROR_H

#include "pcivirt/export.h"

#ifdef __cplusplus
extern "C" {
#endif

enum pcivirt_errno {
    PCIVIRT_OK = 0,
    PCIVIRT_EINVAL = -1,     /* an argument is out of its documented domain */
    PCIVIRT_ENOMEM = -2,     /* an allocation failed */
    PCIVIRT_ERANGE = -3,     /* an offset, index or length is outside its space */
    PCIVIRT_ENOENT = -4,     /* no such object (file, capability, VF, VM) */
    PCIVIRT_EEXIST = -5,     /* the object already exists */
    PCIVIRT_EBUSY = -6,      /* the object is in use */
    PCIVIRT_EIO = -7,        /* an I/O operation failed (see errno in the message) */
    PCIVIRT_EFORMAT = -8,    /* malformed input: dump, scenario, packet */
    PCIVIRT_ELOOP = -9,      /* a capability chain loops or overlaps */
    PCIVIRT_ENOTSUP = -10,   /* the operation is not supported by this object */
    PCIVIRT_ESTATE = -11,    /* the object is in the wrong state for the operation */
    PCIVIRT_ETIMEDOUT = -12, /* a bounded wait ran out */
    PCIVIRT_EACCES = -13,    /* the caller may not do this (trust boundary) */
    PCIVIRT_EOVERLAP = -14,  /* two allocations (capabilities, ranges) overlap */
    PCIVIRT_ENOSPC = -15,    /* a space (bus range, MMIO window) is exhausted */
};

#define PCIVIRT_ERROR_WHERE_MAX 256
#define PCIVIRT_ERROR_MESSAGE_MAX 768

/*
 * Detail for a person.  @where names the input (a file, a device, a VM) and @line
 * its line when known (0 otherwise); @field names the offending field or register.
 */
struct pcivirt_error {
    int code;
    unsigned line;
    char where[PCIVIRT_ERROR_WHERE_MAX];
    char field[64];
    char message[PCIVIRT_ERROR_MESSAGE_MAX];
};

/**
 * pcivirt_strerror() - a short English description of a PCIVIRT_E* code.
 * @code: 0 or a negative PCIVIRT_E* value.
 *
 * Return: a static string; "unknown error" for values outside the enum.
 */
PCIVIRT_API const char *pcivirt_strerror(int code);

/**
 * pcivirt_error_set() - record @code and a formatted message in @err.
 * @err: may be NULL, then nothing is recorded.
 * @code: the PCIVIRT_E* code, also returned.
 * @fmt: printf-style message; truncated to fit.
 *
 * @where, @line and @field are left as they are, so a caller can fill them first.
 *
 * Return: @code, so that `return pcivirt_error_set(err, PCIVIRT_EINVAL, ...)` reads well.
 */
PCIVIRT_API int pcivirt_error_set(struct pcivirt_error *err, int code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/**
 * pcivirt_error_locate() - record where the error is (input name, line, field).
 * @err: may be NULL.
 * @where: input name or NULL to keep the current one.
 * @line: 1-based line, or 0 for none.
 * @field: field or register name, or NULL to keep the current one.
 */
PCIVIRT_API void pcivirt_error_locate(struct pcivirt_error *err, const char *where, unsigned line, const char *field);

/**
 * pcivirt_error_clear() - reset @err to "no error".  @err may be NULL.
 */
PCIVIRT_API void pcivirt_error_clear(struct pcivirt_error *err);

#ifdef __cplusplus
}
#endif

#endif /* PCIVIRT_ERROR_H */

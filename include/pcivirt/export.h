/*
 * pcivirt/export.h - the one export macro of libpcivirt.
 *
 * The library is built with -fvisibility=hidden; only declarations marked
 * PCIVIRT_API are part of its ABI.  Consumers linking the static library define
 * nothing; the macro then only sets default visibility, which is harmless.
 */
#ifndef PCIVIRT_EXPORT_H
#define PCIVIRT_EXPORT_H

#if defined(_WIN32)
#if defined(PCIVIRT_BUILDING)
#define PCIVIRT_API __declspec(dllexport)
#else
#define PCIVIRT_API
#endif
#elif defined(__GNUC__)
#define PCIVIRT_API __attribute__((visibility("default")))
#else
#define PCIVIRT_API
#endif

#define PCIVIRT_VERSION_MAJOR 0
#define PCIVIRT_VERSION_MINOR 1
#define PCIVIRT_VERSION_PATCH 0
#define PCIVIRT_VERSION_STRING "0.1.0"

#endif /* PCIVIRT_EXPORT_H */

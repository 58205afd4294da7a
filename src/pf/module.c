/*
 * pf/module.c - the exported entry point of the loadable driver module.
 *
 * src/pf/targets.cmake builds the reference driver a second time as
 * pcivirt_pf.so with PCIVIRT_PF_MODULE defined and hidden visibility, so that
 * the module exports exactly one symbol, DriverEntry, and resolves the runtime's
 * functions from the process that dlopen()s it (wdf_driver_load_module).  In
 * libpcivirt this file only declares a type: the library's entry is PfDriverEntry.
 */
#include "pf/pf.h"

#ifdef PCIVIRT_PF_MODULE

__attribute__((visibility("default"))) NTSTATUS DriverEntry(PDRIVER_OBJECT DriverObject, PUNICODE_STRING RegistryPath);

NTSTATUS
DriverEntry(PDRIVER_OBJECT DriverObject, PUNICODE_STRING RegistryPath)
{
    return PfDriverEntry(DriverObject, RegistryPath);
}

#else

typedef int pf_module_entry_is_in_the_module_build_only;

#endif

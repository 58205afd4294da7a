/*
 * tests/pf/broken_driver.c - DriverEntry of a deliberately broken PF driver.
 *
 * The reference driver with exactly one contract violation switched on
 * (PF_BROKEN_FAULT names a member of struct pf_faults, pf/driver.h), built as a
 * module by tests/pf/targets.cmake.  test_conform_broken.c shows the suite fails
 * each one for the check that names its defect (STYLE.md rule 13).
 */
#include "pf/driver.h"

__attribute__((visibility("default"))) NTSTATUS DriverEntry(PDRIVER_OBJECT DriverObject,
                                                           PUNICODE_STRING RegistryPath);

NTSTATUS
DriverEntry(PDRIVER_OBJECT DriverObject, PUNICODE_STRING RegistryPath)
{
    struct pf_faults faults = {0};

    faults.PF_BROKEN_FAULT = true;
    return PfDriverEntryWithFaults(DriverObject, RegistryPath, &faults);
}

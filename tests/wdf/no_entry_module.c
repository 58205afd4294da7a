/*
 * tests/wdf/no_entry_module.c - a loadable module without DriverEntry, to test
 * that the runtime refuses it with STATUS_DRIVER_ENTRYPOINT_NOT_FOUND.
 */
int pcivirt_test_not_a_driver(void);

__attribute__((visibility("default"))) int
pcivirt_test_not_a_driver(void)
{
    return 42;
}

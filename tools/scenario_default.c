/*
 * tools/scenario_default.c - the scenario `pcivirt run` executes without an argument.
 *
 * It is compiled in so that `make run` needs no file, and it is the same text as
 * examples/default.json: tests/cli/test_scenario.c compares the two byte for byte
 * and parses this one with the ordinary parser, so neither can drift.  What it
 * covers is issue 7's default job: a software SR-IOV device with VFs enabled,
 * three VMs with VFs, guest drivers doing real work, a rebalance every VM
 * acknowledges, one a VM ignores (timeout, then the policy), a clean handoff,
 * a surprise removal and teardown.
 */
#include "scenario.h"

static const char default_text[] =
    "{\n"
    "  \"pcivirt-scenario\": 1,\n"
    "  \"name\": \"default\",\n"
    "  \"description\": \"One software SR-IOV NIC (built-in 82599 profile, 8 VFs). Three VMs each get a VF and run the "
    "sample VF driver: config enumeration, BAR set-up, config-block read and exchange, DMA, interrupts, register "
    "accesses and a PF-side MAC change. A rebalance every VM acknowledges; a rebalance vm3 ignores (timeout, then its "
    "VF is surprise-removed); VF 1 handed from vm2 to vm3 through an eject and a clean-handoff check; a PF-side block "
    "change; a surprise removal of the PF; teardown.\",\n"
    "  \"options\": { \"clock\": \"virtual\", \"seed\": 1 },\n"
    "  \"timing\": { \"query_stop_timeout_ms\": 5000, \"eject_window_ms\": 60000, \"on_timeout\": \"surprise-remove\" "
    "},\n"
    "  \"devices\": [\n"
    "    { \"name\": \"nic0\", \"source\": \"builtin:82599\", \"num_vfs\": 8, \"ari\": true }\n"
    "  ],\n"
    "  \"workloads\": [\n"
    "    {\n"
    "      \"name\": \"driver\",\n"
    "      \"iterations\": 2,\n"
    "      \"ops\": [\n"
    "        { \"op\": \"enumerate\" },\n"
    "        { \"op\": \"bar-setup\" },\n"
    "        { \"op\": \"block-read\", \"block\": 0, \"length\": 6 },\n"
    "        { \"op\": \"block-exchange\", \"block\": 1, \"length\": 64 },\n"
    "        { \"op\": \"dma\", \"size\": 4096, \"count\": 8 },\n"
    "        { \"op\": \"interrupts\", \"count\": 4 },\n"
    "        { \"op\": \"mmio\", \"count\": 16 },\n"
    "        { \"op\": \"pf-set-mac\" }\n"
    "      ]\n"
    "    }\n"
    "  ],\n"
    "  \"vms\": [\n"
    "    { \"name\": \"vm1\", \"memory_mib\": 64, \"workload\": \"driver\" },\n"
    "    { \"name\": \"vm2\", \"memory_mib\": 64, \"vpci_version\": \"1.2\", \"workload\": \"driver\" },\n"
    "    { \"name\": \"vm3\", \"memory_mib\": 64, \"workload\": \"driver\" }\n"
    "  ],\n"
    "  \"assignments\": [\n"
    "    { \"vm\": \"vm1\", \"device\": \"nic0\", \"vf\": 0 },\n"
    "    { \"vm\": \"vm2\", \"device\": \"nic0\", \"vf\": 1 },\n"
    "    { \"vm\": \"vm3\", \"device\": \"nic0\", \"vf\": 2 }\n"
    "  ],\n"
    "  \"timeline\": [\n"
    "    { \"action\": \"workload\", \"note\": \"every guest driver does its work\" },\n"
    "    { \"action\": \"rebalance\", \"device\": \"nic0\", \"note\": \"every VM acknowledges; the BARs move\" },\n"
    "    { \"action\": \"workload\", \"note\": \"the drivers carry on at the new addresses\" },\n"
    "    { \"action\": \"guest\", \"vm\": \"vm3\", \"misbehave\": [\"ignore-query-stop\"], \"note\": \"vm3 stops "
    "answering\" },\n"
    "    { \"action\": \"rebalance\", \"device\": \"nic0\", \"note\": \"vm3 times out; the policy surprise-removes its "
    "VF\" },\n"
    "    { \"action\": \"guest\", \"vm\": \"vm3\", \"misbehave\": [], \"note\": \"vm3 behaves again\" },\n"
    "    { \"action\": \"eject\", \"vm\": \"vm2\", \"device\": \"nic0\", \"vf\": 1, \"note\": \"vm2 gives VF 1 back\" "
    "},\n"
    "    { \"action\": \"assign\", \"vm\": \"vm3\", \"device\": \"nic0\", \"vf\": 1, \"note\": \"VF 1 is reset and "
    "checked clean before vm3 gets it\" },\n"
    "    { \"action\": \"workload\", \"vms\": [\"vm1\", \"vm3\"] },\n"
    "    { \"action\": \"pf-block-change\", \"device\": \"nic0\", \"vf\": 0, \"block\": 2, \"note\": \"the PF rewrites "
    "a block of vm1's VF\" },\n"
    "    { \"action\": \"surprise-remove\", \"device\": \"nic0\", \"note\": \"the PF disappears; every VM loses its "
    "VF\" }\n"
    "  ]\n"
    "}\n";

const char *
scenario_default_text(void)
{
    return default_text;
}

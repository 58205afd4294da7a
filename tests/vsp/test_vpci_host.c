/*
 * tests/vsp/test_vpci_host.c - the vPCI host against a raw protocol guest.
 *
 * The guest end of the channel is driven by hand, message by message, as a guest
 * kernel would (contract.md 8.3-8.6); the PF on the other side is the test PF over
 * the software device (testpf.h).  Oracles are independent of the stack: the
 * device profile (IDs, class, BAR sizes -> probed values computed here), the
 * device's own registers read through the BAR (VF index, ID magic, MAC), the test
 * PF's call counters (which path an access took), the VM's memory and interrupt
 * sink (DMA and MSI-X), and the event log for refusals.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "vpci_fixture.h"

#define VF 2u /* the VF the tests assign: not 0, so a VfIndex mix-up shows */
#define BAR0_GPA 0xE0000000ull
#define BAR3_GPA 0xE0100000ull

static int
setup(void **state)
{
    struct fx *f = pv_calloc(1, sizeof(*f));

    assert_non_null(f);
    assert_int_equal(fx_init(f, false), 0);
    *state = f;
    return 0;
}

static int
setup_v1(void **state)
{
    struct fx *f = pv_calloc(1, sizeof(*f));

    assert_non_null(f);
    assert_int_equal(fx_init(f, true), 0);
    *state = f;
    return 0;
}

static int
teardown(void **state)
{
    struct fx *f = *state;

    fx_fini(f);
    assert_int_equal(f->pf.refs, 0); /* every InterfaceReference was dereferenced */
    pv_free(f);
    return 0;
}

/* Assign VF and bring the bus up to the point of config access, like Linux's probe. */
static uint32_t
bring_up(struct fx *f, uint32_t version)
{
    struct vpci_msg m;
    struct vpci_reply r;
    uint32_t slot = 0;

    assert_int_equal(vsp_vmm_assign(f->vmm, 0, VF, f->vm, &slot), 0);
    assert_int_equal(fx_negotiate(f, version), STATUS_SUCCESS);
    m = (struct vpci_msg){.type = PCI_QUERY_BUS_RELATIONS};
    assert_int_equal(vpci_chan_send(f->guest, &m, FX_WAIT_NS), STATUS_SUCCESS);
    assert_int_equal(fx_recv(f, &m, FX_WAIT_NS), STATUS_SUCCESS);
    assert_int_equal(m.u.relations.count, 1);
    assert_int_equal(fx_slot_msg(f, PCI_QUERY_RESOURCE_REQUIREMENTS, slot, &r), STATUS_SUCCESS);
    assert_int_equal(fx_d0(f, FX_WINDOW), STATUS_SUCCESS);
    assert_int_equal(fx_slot_msg(f, PCI_RESOURCES_ASSIGNED2, slot, &r), STATUS_SUCCESS);
    return slot;
}

/* Program BAR0 and BAR3 (64-bit) and enable memory decode, as 8.5 step 5 says. */
static void
place_bars(struct fx *f, uint32_t slot)
{
    fx_cfg_write(f, slot, 0x04, 0, 2);
    fx_cfg_write(f, slot, 0x10, (uint32_t)BAR0_GPA, 4);
    fx_cfg_write(f, slot, 0x14, (uint32_t)(BAR0_GPA >> 32), 4);
    fx_cfg_write(f, slot, 0x1C, (uint32_t)BAR3_GPA, 4);
    fx_cfg_write(f, slot, 0x20, (uint32_t)(BAR3_GPA >> 32), 4);
    fx_cfg_write(f, slot, 0x04, 0x0006, 2); /* Memory Space + Bus Master */
}

static void
test_version_negotiation(void **state)
{
    struct fx *f = *state;
    struct vsp_event ev;
    struct vpci_reply r;

    /* Before negotiation every other message is out of order. */
    assert_int_equal(fx_slot_msg(f, PCI_QUERY_RESOURCE_REQUIREMENTS, 0, &r), STATUS_BAD_DATA);
    assert_true(vsp_event_log_find(f->log, VSP_EV_BAD_PACKET, VSP_EV_NONE, VSP_EV_NONE, vsp_vm_id(f->vm), &ev));
    /* Versions outside 1.1..1.4 (contract.md 8.3) are refused so the guest tries lower. */
    assert_int_equal(fx_negotiate(f, PCI_PROTOCOL_VERSION_1_5), STATUS_REVISION_MISMATCH);
    assert_int_equal(fx_negotiate(f, PCI_MAKE_VERSION(2, 0)), STATUS_REVISION_MISMATCH);
    assert_int_equal(fx_negotiate(f, PCI_PROTOCOL_VERSION_1_0), STATUS_REVISION_MISMATCH);
    assert_int_equal(vsp_vpci_host_version(f->host), 0);
    assert_int_equal(fx_negotiate(f, PCI_PROTOCOL_VERSION_1_4), STATUS_SUCCESS);
    assert_int_equal(vsp_vpci_host_version(f->host), PCI_PROTOCOL_VERSION_1_4);
    /* After negotiation only the same version may be offered again (8.6, resume). */
    assert_int_equal(fx_negotiate(f, PCI_PROTOCOL_VERSION_1_2), STATUS_REVISION_MISMATCH);
    assert_int_equal(fx_negotiate(f, PCI_PROTOCOL_VERSION_1_4), STATUS_SUCCESS);
}

static void
check_desc(struct fx *f, const struct vpci_fn_desc *d, uint32_t slot)
{
    struct vsp_vf_info info;

    assert_int_equal(vsp_vmm_vf_info(f->vmm, 0, VF, &info), 0);
    assert_int_equal(d->vendor_id, f->pf.prof.vendor_id);
    assert_int_equal(d->device_id, f->pf.prof.vf_device_id);
    assert_int_equal(d->revision, f->pf.prof.vf_revision);
    assert_int_equal((d->base_class << 16) | (d->subclass << 8) | d->prog_if, f->pf.prof.class_code);
    assert_int_equal(d->subsystem & 0xFFFF, f->pf.prof.subsys_vendor_id);
    assert_int_equal(d->subsystem >> 16, f->pf.prof.vf_subsys_id);
    assert_int_equal(d->slot, slot);
    assert_int_equal(d->serial, info.serial);
    assert_true(info.serial != 0);
}

static void
test_relations_v2_and_v1(void **state)
{
    struct fx *f = *state;
    struct vpci_msg m = {.type = PCI_QUERY_BUS_RELATIONS};
    uint32_t slot;

    assert_int_equal(fx_negotiate(f, PCI_PROTOCOL_VERSION_1_3), STATUS_SUCCESS);
    /* Assigning after negotiation pushes BUS_RELATIONS2 (>= 1.3) unasked. */
    assert_int_equal(vsp_vmm_assign(f->vmm, 0, VF, f->vm, &slot), 0);
    assert_int_equal(fx_recv(f, &m, FX_WAIT_NS), STATUS_SUCCESS);
    assert_int_equal(m.type, PCI_BUS_RELATIONS2);
    assert_int_equal(m.u.relations.count, 1);
    check_desc(f, &m.u.relations.fn[0], slot);
    /* QUERY_BUS_RELATIONS answers with the same list. */
    m = (struct vpci_msg){.type = PCI_QUERY_BUS_RELATIONS};
    assert_int_equal(vpci_chan_send(f->guest, &m, FX_WAIT_NS), STATUS_SUCCESS);
    assert_int_equal(fx_recv(f, &m, FX_WAIT_NS), STATUS_SUCCESS);
    assert_int_equal(m.type, PCI_BUS_RELATIONS2);
    check_desc(f, &m.u.relations.fn[0], slot);
}

static void
test_relations_v1_protocol(void **state)
{
    struct fx *f = *state;
    struct vpci_msg m = {.type = PCI_QUERY_BUS_RELATIONS};
    uint32_t slot;

    assert_int_equal(vsp_vmm_assign(f->vmm, 0, VF, f->vm, &slot), 0);
    assert_int_equal(fx_negotiate(f, PCI_PROTOCOL_VERSION_1_2), STATUS_SUCCESS);
    assert_int_equal(vpci_chan_send(f->guest, &m, FX_WAIT_NS), STATUS_SUCCESS);
    assert_int_equal(fx_recv(f, &m, FX_WAIT_NS), STATUS_SUCCESS);
    assert_int_equal(m.type, PCI_BUS_RELATIONS); /* below 1.3: the v1 layout */
    check_desc(f, &m.u.relations.fn[0], slot);
}

/* The probed values, computed here from the profile (contract.md 6.4 encoding). */
static void
expected_probed(const struct pv_profile *p, uint32_t out[6])
{
    memset(out, 0, 6 * sizeof(uint32_t));
    for (unsigned i = 0; i < 6; i++) {
        if (p->vf_bar[i].size != 0) {
            uint64_t m = ~(p->vf_bar[i].size - 1);

            out[i] = ((uint32_t)m & ~0xFu) | 0x4u | (p->vf_bar[i].prefetch ? 0x8u : 0);
            out[i + 1] = (uint32_t)(m >> 32);
            i++;
        }
    }
}

static void
test_resource_requirements(void **state)
{
    struct fx *f = *state;
    uint32_t want[6];
    struct vpci_reply r;
    uint32_t slot;

    assert_int_equal(vsp_vmm_assign(f->vmm, 0, VF, f->vm, &slot), 0);
    assert_int_equal(fx_negotiate(f, PCI_PROTOCOL_VERSION_1_4), STATUS_SUCCESS);
    expected_probed(&f->pf.prof, want);
    assert_int_equal(fx_slot_msg(f, PCI_QUERY_RESOURCE_REQUIREMENTS, slot, &r), STATUS_SUCCESS);
    assert_memory_equal(r.u.probed_bar, want, sizeof(want));
    assert_true(f->pf.probed_v2 > 0); /* a v2 table: per-VF QueryProbedBars_2 */
    assert_int_equal(f->pf.probed_v1, 0);
    /* An empty slot and a function other than 0 have no device. */
    assert_int_equal(fx_slot_msg(f, PCI_QUERY_RESOURCE_REQUIREMENTS, 7, &r), STATUS_NO_SUCH_DEVICE);
    assert_int_equal(fx_slot_msg(f, PCI_QUERY_RESOURCE_REQUIREMENTS, vpci_slot_make(slot, 1), &r),
                     STATUS_NO_SUCH_DEVICE);
}

static void
test_v1_table_uses_query_probed_bars(void **state)
{
    struct fx *f = *state;
    uint32_t want[6];
    struct vpci_reply r;
    uint32_t slot;

    assert_false(vsp_pf_is_v2(f->binding));
    assert_int_equal(vsp_vmm_assign(f->vmm, 0, VF, f->vm, &slot), 0);
    assert_int_equal(fx_negotiate(f, PCI_PROTOCOL_VERSION_1_4), STATUS_SUCCESS);
    expected_probed(&f->pf.prof, want);
    assert_int_equal(fx_slot_msg(f, PCI_QUERY_RESOURCE_REQUIREMENTS, slot, &r), STATUS_SUCCESS);
    assert_memory_equal(r.u.probed_bar, want, sizeof(want));
    assert_int_equal(f->pf.probed_v2, 0);
    assert_true(f->pf.probed_v1 > 0);
}

static void
test_order_rules(void **state)
{
    struct fx *f = *state;
    struct vpci_reply r;
    uint32_t slot;

    assert_int_equal(vsp_vmm_assign(f->vmm, 0, VF, f->vm, &slot), 0);
    assert_int_equal(fx_negotiate(f, PCI_PROTOCOL_VERSION_1_4), STATUS_SUCCESS);
    /* Resources before D0 entry and before the requirements query are out of order. */
    assert_int_equal(fx_slot_msg(f, PCI_RESOURCES_ASSIGNED2, slot, &r), STATUS_BAD_DATA);
    assert_int_equal(fx_d0(f, FX_WINDOW), STATUS_SUCCESS);
    assert_int_equal(fx_slot_msg(f, PCI_RESOURCES_ASSIGNED2, slot, &r), STATUS_BAD_DATA);
    /* A second D0 entry, a window inside RAM or unaligned. */
    assert_int_equal(fx_d0(f, FX_WINDOW), STATUS_BAD_DATA);
    assert_int_equal(fx_slot_msg(f, PCI_BUS_D0EXIT, 0, &r), STATUS_SUCCESS);
    assert_int_equal(fx_d0(f, 0x10000), STATUS_INVALID_PARAMETER);
    assert_int_equal(fx_d0(f, FX_WINDOW + 0x800), STATUS_INVALID_PARAMETER);
    assert_int_equal(fx_slot_msg(f, PCI_BUS_D0EXIT, 0, &r), STATUS_BAD_DATA);
    /* Interrupts before resources. */
    {
        struct vpci_msg m = {.type = PCI_CREATE_INTERRUPT_MESSAGE2, .slot = slot};

        m.u.msi.vector = 0x40;
        m.u.msi.vector_count = 1;
        m.u.msi.processor_count = 1;
        assert_int_equal(fx_request(f, &m, &r), STATUS_BAD_DATA);
    }
    assert_true(vsp_event_log_total(f->log, VSP_EV_GUEST_ERROR) >= 5);
}

static void
test_config_window_and_emulated_registers(void **state)
{
    struct fx *f = *state;
    uint32_t want[6];
    uint32_t slot = bring_up(f, PCI_PROTOCOL_VERSION_1_4);
    uint8_t raw[4];

    expected_probed(&f->pf.prof, want);
    /* IDs come from GetVendorAndDevice: the VF's own registers read all-ones. */
    assert_int_equal(fx_cfg_read(f, slot, 0x00, 4), (uint32_t)f->pf.prof.vf_device_id << 16 | f->pf.prof.vendor_id);
    pv_sriov_config_read(f->pf.dev, tpf_rid(&f->pf, VF), 0, raw, 4);
    assert_int_equal(le32_get(raw), 0xFFFFFFFFu);
    /* Class and revision are forwarded. */
    assert_int_equal(fx_cfg_read(f, slot, 0x08, 4), f->pf.prof.class_code << 8 | f->pf.prof.vf_revision);
    /* BAR sizing: all-ones in, the probed value out (8.5); 64-bit high half too. */
    fx_cfg_write(f, slot, 0x10, 0xFFFFFFFF, 4);
    fx_cfg_write(f, slot, 0x14, 0xFFFFFFFF, 4);
    assert_int_equal(fx_cfg_read(f, slot, 0x10, 4), want[0]);
    assert_int_equal(fx_cfg_read(f, slot, 0x14, 4), want[1]);
    assert_int_equal(fx_cfg_read(f, slot, 0x18, 4), 0); /* BAR2 does not exist */
    fx_cfg_write(f, slot, 0x18, 0xFFFFFFFF, 4);
    assert_int_equal(fx_cfg_read(f, slot, 0x18, 4), 0);
    /* ROM BAR and Interrupt Line/Pin read 0. */
    fx_cfg_write(f, slot, 0x30, 0xFFFFFFFF, 4);
    assert_int_equal(fx_cfg_read(f, slot, 0x30, 4), 0);
    assert_int_equal(fx_cfg_read(f, slot, 0x3C, 2), 0);
    /* A placed BAR reads back its address with the type bits; writes ignored once MSE is on. */
    place_bars(f, slot);
    assert_int_equal(fx_cfg_read(f, slot, 0x10, 4), (uint32_t)BAR0_GPA | (want[0] & 0xF));
    assert_int_equal(fx_cfg_read(f, slot, 0x04, 2) & 0x6, 0x6);
    fx_cfg_write(f, slot, 0x10, 0xD0000000u, 4);
    assert_int_equal(fx_cfg_read(f, slot, 0x10, 4), (uint32_t)BAR0_GPA | (want[0] & 0xF));
    /* The device never saw a BAR write (a VF's BARs are read-only zero anyway). */
    pv_sriov_config_read(f->pf.dev, tpf_rid(&f->pf, VF), 0x10, raw, 4);
    assert_int_equal(le32_get(raw), 0);
    /* An empty slot selected: all-ones. */
    assert_int_equal(fx_cfg_read(f, 5, 0x00, 4), 0xFFFFFFFFu);
    /* Slot-select register reads back. */
    assert_int_equal(fx_mmio_read32(f, FX_WINDOW), 5);
}

static void
test_bar_direct_and_trapped(void **state)
{
    struct fx *f = *state;
    uint32_t slot = bring_up(f, PCI_PROTOCOL_VERSION_1_4);
    struct vsp_vpci_stats st;
    SRIOV_MITIGATED_RANGES_OUTPUT priv = {
        .BasePageNumber = 1, .PageCount = 1, .InterceptReads = 1, .InterceptWrites = 1};
    const SRIOV_MITIGATED_RANGES_OUTPUT *ranges[6] = {&priv};
    ULONG counts[6] = {1};
    uint8_t reg[4];

    /* Before MSE nothing decodes at the guest address. */
    assert_int_equal(fx_mmio_read32(f, BAR0_GPA + SWVF_REG_ID), 0xFFFFFFFFu);
    place_bars(f, slot);
    /* Direct: the device's own registers prove which VF answers. */
    assert_int_equal(fx_mmio_read32(f, BAR0_GPA + SWVF_REG_ID), SWVF_ID_MAGIC);
    assert_int_equal(fx_mmio_read32(f, BAR0_GPA + SWVF_REG_VF_INDEX), VF);
    assert_int_equal(fx_mmio_write32(f, BAR0_GPA + SWVF_REG_SCRATCH, 0xCAFE), 0);
    pv_sriov_mmio_read(f->pf.dev, tpf_rid(&f->pf, VF), 0, SWVF_REG_SCRATCH, reg, 4);
    assert_int_equal(le32_get(reg), 0xCAFE);
    vsp_vpci_host_stats(f->host, &st);
    assert_int_equal(st.mmio_direct, 3);
    assert_int_equal(st.mmio_trapped, 0);
    /* Untrapped privileged page goes straight to the device too. */
    assert_int_equal(fx_mmio_write32(f, BAR0_GPA + SWVF_REG_PRIV_QUEUES, 4), 0);
    assert_int_equal(f->pf.mitigated_calls, 0);
    /* Trap page 1 of BAR0: accesses become ReadWriteMitigatedRegister calls. */
    assert_int_equal(vsp_intercept_replace(vsp_pf_intercept(f->binding, VF), ranges, counts, NULL), 0);
    assert_int_equal(fx_mmio_write32(f, BAR0_GPA + SWVF_REG_PRIV_QUEUES, 6), 0);
    assert_int_equal(fx_mmio_read32(f, BAR0_GPA + SWVF_REG_PRIV_QUEUES), 6);
    assert_int_equal(f->pf.mitigated_calls, 2);
    pv_sriov_mmio_read(f->pf.dev, tpf_rid(&f->pf, VF), 0, SWVF_REG_PRIV_QUEUES, reg, 4);
    assert_int_equal(le32_get(reg), 6);
    /* Page 0 still direct. */
    assert_int_equal(fx_mmio_read32(f, BAR0_GPA + SWVF_REG_VF_INDEX), VF);
    assert_int_equal(f->pf.mitigated_calls, 2);
    /* Straddling the end of BAR0, and beyond it: not decoded. */
    assert_int_equal(vsp_vpci_host_mmio_read(f->host, BAR0_GPA + 0x4000 - 2, reg, 4), PCIVIRT_ERANGE);
    assert_int_equal(vsp_vpci_host_mmio_read(f->host, BAR0_GPA + 0x4000, reg, 4), PCIVIRT_ENOENT);
    vsp_vpci_host_stats(f->host, &st);
    assert_int_equal(st.mmio_trapped, 2);
}

static void
test_remap_after_rebalance(void **state)
{
    struct fx *f = *state;
    uint32_t slot = bring_up(f, PCI_PROTOCOL_VERSION_1_4);
    CM_PARTIAL_RESOURCE_DESCRIPTOR before, after;
    ULONGLONG b0 = 0, b1 = 0;

    place_bars(f, slot);
    assert_int_equal(fx_mmio_read32(f, BAR0_GPA + SWVF_REG_VF_INDEX), VF);
    assert_int_equal(tpf_resource(&f->pf, VF, 0, &before), STATUS_SUCCESS);
    /* The PF restarts with new resources: the VF BAR apertures move on the host. */
    assert_int_equal(pv_sriov_assign_resources(f->pf.dev, f->pf.plat, NULL), 0);
    assert_int_equal(tpf_resource(&f->pf, VF, 0, &after), STATUS_SUCCESS);
    RtlCmDecodeMemIoResource(&before, &b0);
    RtlCmDecodeMemIoResource(&after, &b1);
    assert_true(b0 != b1);
    /* Until the stack re-queries, the guest's BAR points at the old host pages: nothing there. */
    assert_int_equal(fx_mmio_read32(f, BAR0_GPA + SWVF_REG_VF_INDEX), 0xFFFFFFFFu);
    assert_int_equal(vsp_vpci_remap(f->vpci, 0), 1);
    assert_int_equal(fx_mmio_read32(f, BAR0_GPA + SWVF_REG_VF_INDEX), VF);
    assert_int_equal(vsp_vpci_remap(f->vpci, 1), 0); /* another PF: nothing */
}

static NTSTATUS
read_block(struct fx *f, uint32_t slot, uint32_t id, uint32_t len, struct vpci_reply *r)
{
    struct vpci_msg m = {.type = PCI_READ_BLOCK, .slot = slot};

    m.u.block.block_id = id;
    m.u.block.byte_count = len;
    return fx_request(f, &m, r);
}

static NTSTATUS
write_block(struct fx *f, uint32_t slot, uint32_t id, const void *data, uint32_t len)
{
    struct vpci_msg m = {.type = PCI_WRITE_BLOCK, .slot = slot};
    struct vpci_reply r;

    m.u.block.block_id = id;
    m.u.block.byte_count = len;
    memcpy(m.u.block.data, data, len);
    return fx_request(f, &m, &r);
}

static void
test_blocks(void **state)
{
    struct fx *f = *state;
    uint32_t slot = bring_up(f, PCI_PROTOCOL_VERSION_1_4);
    uint8_t buf[128];
    struct vpci_reply r;
    uint8_t zero[122] = {0};

    /* Block 0 is the MAC the PF gave this VF; the device register says the same. */
    place_bars(f, slot);
    assert_int_equal(read_block(f, slot, TPF_BLOCK_MAC, 128, &r), STATUS_SUCCESS);
    assert_int_equal(r.u.read_block.byte_count, 128); /* exactly Length bytes (6.3) */
    assert_int_equal(le32_get(r.u.read_block.data), fx_mmio_read32(f, BAR0_GPA + SWVF_REG_MAC_LO));
    assert_int_equal(le16_get(r.u.read_block.data + 4), fx_mmio_read32(f, BAR0_GPA + SWVF_REG_MAC_HI) & 0xFFFF);
    assert_int_equal(r.u.read_block.data[5], VF);
    assert_memory_equal(r.u.read_block.data + 6, zero, sizeof(zero));
    /* A writable block round-trips; the PF-owned one refuses writes; unknown ids fail. */
    for (unsigned i = 0; i < sizeof(buf); i++) {
        buf[i] = (uint8_t)(i * 7 + 1);
    }
    assert_int_equal(write_block(f, slot, TPF_BLOCK_VF, buf, 128), STATUS_SUCCESS);
    assert_int_equal(read_block(f, slot, TPF_BLOCK_VF, 128, &r), STATUS_SUCCESS);
    assert_memory_equal(r.u.read_block.data, buf, 128);
    assert_memory_equal(f->pf.blk[VF][TPF_BLOCK_VF], buf, 128);
    assert_int_equal(write_block(f, slot, TPF_BLOCK_MAC, buf, 6), STATUS_NOT_SUPPORTED);
    assert_int_equal(read_block(f, slot, 9, 16, &r), STATUS_INVALID_PARAMETER);
    /* Another VF's blocks were never touched. */
    assert_int_equal(f->pf.blk_len[VF + 1][TPF_BLOCK_VF], 0);
    assert_int_equal(read_block(f, 9, TPF_BLOCK_MAC, 16, &r), STATUS_NO_SUCH_DEVICE);
}

static void
test_invalidate(void **state)
{
    struct fx *f = *state;
    uint32_t slot = bring_up(f, PCI_PROTOCOL_VERSION_1_4);
    SRIOV_INVALIDATE_BLOCK ib = {.VfIndex = VF, .BlockMask = 0x5};
    struct vpci_msg m;

    assert_int_equal(vsp_vpci_invalidate(f->vpci, 0, &ib), 1);
    assert_int_equal(fx_recv(f, &m, FX_WAIT_NS), STATUS_SUCCESS);
    assert_int_equal(m.type, PCI_INVALIDATE_BLOCK);
    assert_int_equal(m.slot, slot);
    assert_int_equal(m.u.block_mask, 0x5);
    /* A VF no VM holds: nothing queued, nothing sent. */
    ib.VfIndex = VF + 1;
    assert_int_equal(vsp_vpci_invalidate(f->vpci, 0, &ib), 0);
    assert_int_equal(fx_recv(f, &m, 50 * (int64_t)VSP_NS_PER_MS), STATUS_IO_TIMEOUT);
    /* ALL_VFS reaches the assigned one. */
    ib = (SRIOV_INVALIDATE_BLOCK){.VfIndex = SRIOV_INVALIDATE_BLOCK_ALL_VFS, .BlockMask = 1ull << 63};
    assert_int_equal(vsp_vpci_invalidate(f->vpci, 0, &ib), 1);
    assert_int_equal(fx_recv(f, &m, FX_WAIT_NS), STATUS_SUCCESS);
    assert_int_equal(m.u.block_mask, 1ull << 63);
    assert_int_equal(vsp_event_log_total(f->log, VSP_EV_INVALIDATE), 2);
}

static void
test_eject_handshake(void **state)
{
    struct fx *f = *state;
    uint32_t slot = bring_up(f, PCI_PROTOCOL_VERSION_1_4);
    struct vpci_msg m;
    struct vsp_vf_info info;

    place_bars(f, slot);
    assert_int_equal(vsp_vmm_eject(f->vmm, 0, VF, "test"), 0);
    assert_int_equal(fx_recv(f, &m, FX_WAIT_NS), STATUS_SUCCESS);
    assert_int_equal(m.type, PCI_EJECT);
    assert_int_equal(m.slot, slot);
    m = (struct vpci_msg){.type = PCI_EJECTION_COMPLETE, .slot = slot};
    assert_int_equal(vpci_chan_send(f->guest, &m, FX_WAIT_NS), STATUS_SUCCESS);
    /* The host answers with relations that no longer list the VF (8.6). */
    assert_int_equal(fx_recv(f, &m, FX_WAIT_NS), STATUS_SUCCESS);
    assert_int_equal(m.type, PCI_BUS_RELATIONS2);
    assert_int_equal(m.u.relations.count, 0);
    assert_true(fx_wait_vf_state(f, VF, VSP_VF_FREE));
    assert_int_equal(vsp_vmm_vf_info(f->vmm, 0, VF, &info), 0);
    assert_int_equal(f->pf.resets, 1);
    /* The former BAR address no longer reaches the device. */
    assert_int_equal(fx_mmio_read32(f, BAR0_GPA + SWVF_REG_ID), 0xFFFFFFFFu);
    assert_int_equal(fx_cfg_read(f, slot, 0, 4), 0xFFFFFFFFu);
}

static void
test_power_state(void **state)
{
    struct fx *f = *state;
    uint32_t slot = bring_up(f, PCI_PROTOCOL_VERSION_1_4);
    struct vpci_msg m = {.type = PCI_POWER_STATE_CHANGE, .slot = slot, .u.power_state = 4};
    struct vpci_reply r;

    assert_int_equal(fx_request(f, &m, &r), STATUS_SUCCESS);
    assert_int_equal(f->pf.power[VF], PowerDeviceD3);
    assert_int_equal(r.u.power.state, 4);
    m.u.power_state = 1;
    assert_int_equal(fx_request(f, &m, &r), STATUS_SUCCESS);
    assert_int_equal(f->pf.power[VF], PowerDeviceD0);
}

/* Find capability @id in the guest's view of the VF. */
static uint32_t
find_cap(struct fx *f, uint32_t slot, uint8_t id)
{
    uint32_t pos = fx_cfg_read(f, slot, 0x34, 1);

    for (int n = 0; n < 48 && pos >= 0x40; n++) {
        if (fx_cfg_read(f, slot, pos, 1) == id) {
            return pos;
        }
        pos = fx_cfg_read(f, slot, pos + 1, 1);
    }
    return 0;
}

static void
test_dma_and_msix(void **state)
{
    struct fx *f = *state;
    uint32_t slot = bring_up(f, PCI_PROTOCOL_VERSION_1_4);
    struct vpci_msg m = {.type = PCI_CREATE_INTERRUPT_MESSAGE2, .slot = slot};
    struct vpci_reply r;
    uint8_t src[64], dst[64];
    uint32_t msix;

    place_bars(f, slot);
    m.u.msi.vector = 0x41;
    m.u.msi.vector_count = 1;
    m.u.msi.processor_count = 1;
    assert_int_equal(fx_request(f, &m, &r), STATUS_SUCCESS);
    assert_int_equal(r.u.mapping.vector_count, 1);
    /* Program MSI-X entry 0 with what the host answered, unmask, enable MSI-X. */
    fx_mmio_write32(f, BAR3_GPA + SWVF_MSIX_TABLE_OFFSET + 0, (uint32_t)r.u.mapping.address);
    fx_mmio_write32(f, BAR3_GPA + SWVF_MSIX_TABLE_OFFSET + 4, (uint32_t)(r.u.mapping.address >> 32));
    fx_mmio_write32(f, BAR3_GPA + SWVF_MSIX_TABLE_OFFSET + 8, r.u.mapping.data);
    fx_mmio_write32(f, BAR3_GPA + SWVF_MSIX_TABLE_OFFSET + 12, 0);
    msix = find_cap(f, slot, 0x11);
    assert_true(msix != 0);
    fx_cfg_write(f, slot, msix + 2, 0x8000, 2);
    /* DMA inside the VM's memory, with an interrupt on completion. */
    for (unsigned i = 0; i < sizeof(src); i++) {
        src[i] = (uint8_t)(0xA0 + i);
    }
    assert_int_equal(vsp_gmem_write(vsp_vm_memory(f->vm), 0x10000, src, sizeof(src)), 0);
    fx_mmio_write32(f, BAR0_GPA + SWVF_REG_DMA_SRC_LO, 0x10000);
    fx_mmio_write32(f, BAR0_GPA + SWVF_REG_DMA_DST_LO, 0x20000);
    fx_mmio_write32(f, BAR0_GPA + SWVF_REG_DMA_LEN, sizeof(src));
    fx_mmio_write32(f, BAR0_GPA + SWVF_REG_DMA_CTRL, SWVF_DMA_CTRL_IRQ | (0u << SWVF_DMA_CTRL_VECTOR_SHIFT));
    fx_mmio_write32(f, BAR0_GPA + SWVF_REG_DMA_DOORBELL, SWVF_DMA_GO);
    assert_int_equal(fx_mmio_read32(f, BAR0_GPA + SWVF_REG_DMA_STATUS) & SWVF_DMA_STS_DONE, SWVF_DMA_STS_DONE);
    assert_int_equal(vsp_gmem_read(vsp_vm_memory(f->vm), 0x20000, dst, sizeof(dst)), 0);
    assert_memory_equal(dst, src, sizeof(src));
    assert_int_equal(f->irqs, 1);
    assert_int_equal(f->irq_vec[0], 0x41);
    /* Delete the message: the same MSI is now refused by interrupt remapping. */
    m = (struct vpci_msg){.type = PCI_DELETE_INTERRUPT_MESSAGE, .slot = slot, .u.mapping = r.u.mapping};
    assert_int_equal(vpci_chan_send(f->guest, &m, FX_WAIT_NS), STATUS_SUCCESS);
    /* Deleting twice is refused (the entry is gone); a request-reply proves ordering. */
    assert_int_equal(fx_negotiate(f, PCI_PROTOCOL_VERSION_1_4), STATUS_SUCCESS);
    fx_mmio_write32(f, BAR0_GPA + SWVF_REG_DMA_STATUS, SWVF_DMA_STS_W1C);
    fx_mmio_write32(f, BAR0_GPA + SWVF_REG_DMA_DOORBELL, SWVF_DMA_GO);
    assert_int_equal(f->irqs, 1);
    assert_true(vsp_event_log_total(f->log, VSP_EV_IRQ_FAULT) >= 1);
}

static void
test_malformed_packets(void **state)
{
    struct fx *f = *state;
    uint8_t reply[64];
    size_t rlen = 0;
    uint8_t junk[24] = {0};
    struct vpci_reply r;
    struct vsp_vpci_stats st;

    assert_int_equal(fx_negotiate(f, PCI_PROTOCOL_VERSION_1_4), STATUS_SUCCESS);
    /* Unknown message id, with completion requested: answered STATUS_BAD_DATA. */
    le32_put(junk, 0x42490077u);
    assert_int_equal(vmbus_channel_request(f->guest, junk, 8, reply, sizeof(reply), &rlen, FX_WAIT_NS), STATUS_SUCCESS);
    assert_int_equal((NTSTATUS)le32_get(reply), STATUS_BAD_DATA);
    /* A host-to-guest message from the guest. */
    le32_put(junk, PCI_BUS_RELATIONS);
    assert_int_equal(vmbus_channel_request(f->guest, junk, 8, reply, sizeof(reply), &rlen, FX_WAIT_NS), STATUS_SUCCESS);
    assert_int_equal((NTSTATUS)le32_get(reply), STATUS_BAD_DATA);
    /* READ_BLOCK truncated, and with a byte count of 0 and 129. */
    le32_put(junk, PCI_READ_BLOCK);
    assert_int_equal(vmbus_channel_request(f->guest, junk, 8, reply, sizeof(reply), &rlen, FX_WAIT_NS), STATUS_SUCCESS);
    assert_int_equal((NTSTATUS)le32_get(reply), STATUS_BAD_DATA);
    le32_put(junk + 12, 129);
    assert_int_equal(vmbus_channel_request(f->guest, junk, 16, reply, sizeof(reply), &rlen, FX_WAIT_NS),
                     STATUS_SUCCESS);
    assert_int_equal((NTSTATUS)le32_get(reply), STATUS_BAD_DATA);
    /* Slot with reserved bits. */
    le32_put(junk, PCI_QUERY_RESOURCE_REQUIREMENTS);
    le32_put(junk + 4, 0x100);
    assert_int_equal(vmbus_channel_request(f->guest, junk, 8, reply, sizeof(reply), &rlen, FX_WAIT_NS), STATUS_SUCCESS);
    assert_int_equal((NTSTATUS)le32_get(reply), STATUS_BAD_DATA);
    /* A message without completion requested is dropped (and logged); the host lives on. */
    le32_put(junk, 0x4249FFFFu);
    assert_int_equal(vmbus_channel_send(f->guest, junk, 8, FX_WAIT_NS), STATUS_SUCCESS);
    assert_int_equal(fx_negotiate(f, PCI_PROTOCOL_VERSION_1_4), STATUS_SUCCESS);
    vsp_vpci_host_stats(f->host, &st);
    assert_true(st.refused >= 6);
    assert_true(vsp_event_log_total(f->log, VSP_EV_BAD_PACKET) >= 6);
    /* Bad MMIO lengths. */
    assert_int_equal(vsp_vpci_host_mmio_read(f->host, FX_WINDOW, reply, 0), PCIVIRT_EINVAL);
    assert_int_equal(vsp_vpci_host_mmio_read(f->host, FX_WINDOW, reply, 9), PCIVIRT_EINVAL);
    (void)r;
}

static void
test_binding_refuses_bad_tables(void **state)
{
    struct fx *f = *state;
    SRIOV_DEVICE_INTERFACE_STANDARD_2 t = f->pf.sriov;
    struct vsp_pf_tables tables = {.sriov = &t};
    struct pcivirt_error err;
    struct vsp_pf *pf = NULL;
    uint32_t bad[6] = {0xFFFFC00Cu, 0, 0, 0, 0, 0x4};
    struct vsp_vf_bars bars;

    t.Size = 100;
    assert_int_equal(vsp_pf_create(1, &tables, 4, NULL, &pf, &err), PCIVIRT_EINVAL);
    assert_non_null(strstr(err.message, "Size 100"));
    t.Size = sizeof(t);
    t.GetResourceForBar = NULL;
    assert_int_equal(vsp_pf_create(1, &tables, 4, NULL, &pf, &err), PCIVIRT_EINVAL);
    assert_non_null(strstr(err.message, "GetResourceForBar"));
    assert_null(pf);
    /* Probed values: a 64-bit BAR in the last slot, an I/O BAR, a holed mask. */
    assert_int_equal(vsp_vf_bars_decode(bad, &bars, &err), PCIVIRT_EFORMAT);
    bad[5] = 0;
    bad[0] = 0xFFFFF001u;
    assert_int_equal(vsp_vf_bars_decode(bad, &bars, &err), PCIVIRT_EFORMAT);
    bad[0] = 0xFF0FF000u;
    assert_int_equal(vsp_vf_bars_decode(bad, &bars, &err), PCIVIRT_EFORMAT);
    bad[0] = 0xFFFFF000u;
    assert_int_equal(vsp_vf_bars_decode(bad, &bars, &err), 0);
    assert_int_equal(bars.size[0], 0x1000);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_version_negotiation, setup, teardown),
        cmocka_unit_test_setup_teardown(test_relations_v2_and_v1, setup, teardown),
        cmocka_unit_test_setup_teardown(test_relations_v1_protocol, setup, teardown),
        cmocka_unit_test_setup_teardown(test_resource_requirements, setup, teardown),
        cmocka_unit_test_setup_teardown(test_v1_table_uses_query_probed_bars, setup_v1, teardown),
        cmocka_unit_test_setup_teardown(test_order_rules, setup, teardown),
        cmocka_unit_test_setup_teardown(test_config_window_and_emulated_registers, setup, teardown),
        cmocka_unit_test_setup_teardown(test_bar_direct_and_trapped, setup, teardown),
        cmocka_unit_test_setup_teardown(test_remap_after_rebalance, setup, teardown),
        cmocka_unit_test_setup_teardown(test_blocks, setup, teardown),
        cmocka_unit_test_setup_teardown(test_invalidate, setup, teardown),
        cmocka_unit_test_setup_teardown(test_eject_handshake, setup, teardown),
        cmocka_unit_test_setup_teardown(test_power_state, setup, teardown),
        cmocka_unit_test_setup_teardown(test_dma_and_msix, setup, teardown),
        cmocka_unit_test_setup_teardown(test_malformed_packets, setup, teardown),
        cmocka_unit_test_setup_teardown(test_binding_refuses_bad_tables, setup, teardown),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}

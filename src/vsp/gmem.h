/*
 * vsp/gmem.h - a VM's guest physical memory: sparse, bounded, range-checked.
 *
 * A VM is configured with a memory size; its guest physical addresses are
 * 0 .. size-1.  Memory is materialised one 4 KiB page at a time on the first
 * write, so a VM configured with gigabytes costs only what its guest driver and
 * its devices' DMA actually touch; unwritten memory reads as zero, like fresh
 * guest RAM.  Pages live in a three-level radix table (1 GiB → 2 MiB → 4 KiB),
 * so a lookup is three array indexings whatever the size.
 *
 * Every access is checked against the configured size before anything is read
 * or written: an access that does not fit entirely is refused with
 * PCIVIRT_ERANGE and touches nothing (the IOMMU relies on this to make a
 * faulting DMA write nothing).  The object is thread-safe: the guest driver and
 * device DMA (through the IOMMU) may access it concurrently.
 */
#ifndef PCIVIRT_VSP_GMEM_H
#define PCIVIRT_VSP_GMEM_H

#include <stddef.h>
#include <stdint.h>

#define VSP_PAGE_SHIFT 12
#define VSP_PAGE_SIZE (1u << VSP_PAGE_SHIFT)

/* The largest configurable guest memory: 256 TiB (48-bit guest physical addresses). */
#define VSP_GMEM_MAX_SIZE (1ull << 48)

struct vsp_gmem;

/**
 * vsp_gmem_create() - guest memory of @size bytes, all zero.
 * @size: a multiple of 4 KiB, 4 KiB .. VSP_GMEM_MAX_SIZE.
 *
 * Return: 0; PCIVIRT_EINVAL for a bad size or NULL @out; PCIVIRT_ENOMEM.
 */
int vsp_gmem_create(uint64_t size, struct vsp_gmem **out);

/* vsp_gmem_destroy() - free @mem and every page (NULL is accepted). */
void vsp_gmem_destroy(struct vsp_gmem *mem);

/* vsp_gmem_size() - the configured size in bytes. */
uint64_t vsp_gmem_size(const struct vsp_gmem *mem);

/* vsp_gmem_resident_pages() - pages materialised so far. */
size_t vsp_gmem_resident_pages(struct vsp_gmem *mem);

/* vsp_gmem_range_ok() - true when [@gpa, @gpa + @len) lies inside the memory (@len 0 is never ok). */
int vsp_gmem_range_ok(const struct vsp_gmem *mem, uint64_t gpa, uint64_t len);

/**
 * vsp_gmem_read() - copy @len bytes at @gpa into @buf.
 * Return: 0; PCIVIRT_ERANGE if the range is not entirely inside (nothing copied);
 * PCIVIRT_EINVAL for @len 0 or NULL @buf.
 */
int vsp_gmem_read(struct vsp_gmem *mem, uint64_t gpa, void *buf, size_t len);

/**
 * vsp_gmem_write() - copy @len bytes from @buf to @gpa.
 * Return: 0; PCIVIRT_ERANGE if the range is not entirely inside; PCIVIRT_EINVAL
 * for @len 0 or NULL @buf; PCIVIRT_ENOMEM if a page could not be materialised.
 * On any error nothing is written (pages are materialised before copying).
 */
int vsp_gmem_write(struct vsp_gmem *mem, uint64_t gpa, const void *buf, size_t len);

#endif /* PCIVIRT_VSP_GMEM_H */

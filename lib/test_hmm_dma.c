// SPDX-License-Identifier: GPL-2.0
/*
 * The simulated DMA engine of the test device. A real device copies a
 * whole batch of locked, unmapped pages in one operation; so does this
 * one, and it counts each operation and each page it copies, so tests
 * can check that a migration issued one copy per batch and copied every
 * page it moved.
 *
 * Callers pass system pages: for a device-private page, the system page
 * that holds its data (dmirror_devmem_backing()).
 */
#include <linux/highmem.h>
#include <linux/mm.h>

#include "test_hmm.h"

static void dmirror_dma_fill(struct page *dst, u64 word)
{
	u64 *p = kmap_local_page(dst);
	unsigned int i;

	for (i = 0; i < PAGE_SIZE / sizeof(*p); i++)
		p[i] = word;
	kunmap_local(p);
}

/*
 * One DMA operation: dst[i] receives src[i], or zeroes where src[i] is
 * NULL (a page that was never populated, or the zero page).
 */
void dmirror_dma_copy(struct dmirror_device *mdevice, struct page **dst,
		      struct page **src, unsigned long npages)
{
	unsigned long i;

	if (!npages)
		return;
	for (i = 0; i < npages; i++) {
		if (src[i])
			copy_highpage(dst[i], src[i]);
		else
			clear_highpage(dst[i]);
	}
	dmirror_count_add(mdevice, batches, 1);
	dmirror_count_add(mdevice, pages_copied, npages);
}

/*
 * The probe's stand-in for a copy: mark every destination with the
 * sentinel, so whatever later reads it can tell whether anyone copied
 * data over it. Not a copy, so not counted as one.
 */
void dmirror_dma_prime(struct dmirror_device *mdevice, struct page **dst,
		       unsigned long npages)
{
	unsigned long i;

	for (i = 0; i < npages; i++)
		dmirror_dma_fill(dst[i], HMM_NC_SENTINEL);
}

// SPDX-License-Identifier: GPL-2.0
/*
 * The simulated DMA engine of the test device. A real device copies a
 * whole batch of locked, unmapped pages in one operation; so does this
 * one, and it counts each operation and each page it copies, so tests
 * can check that a migration issued one copy per batch and copied every
 * page it moved. For benchmarks it can also copy page by page and pay a
 * set-up cost per operation (HMM_NC_ENGINE_SET).
 *
 * Callers pass system pages: for a device-private page, the system page
 * that holds its data (dmirror_devmem_backing()).
 */
#include <linux/highmem.h>
#include <linux/ktime.h>
#include <linux/mm.h>
#include <linux/sched.h>
#include <linux/spinlock.h>
#include <linux/uaccess.h>

#include "test_hmm.h"
#include "test_hmm_compat.h"

/* Guards every device's struct dmirror_engine. */
static DEFINE_SPINLOCK(dmirror_engine_lock);

static void dmirror_dma_fill(struct page *dst, u64 word)
{
	u64 *p = kmap_local_page(dst);
	unsigned int i;

	for (i = 0; i < PAGE_SIZE / sizeof(*p); i++)
		p[i] = word;
	kunmap_local(p);
}

/* A snapshot of the device's engine parameters. */
void dmirror_dma_engine(struct dmirror_device *mdevice,
			struct dmirror_engine *engine)
{
	spin_lock(&dmirror_engine_lock);
	*engine = mdevice->engine;
	spin_unlock(&dmirror_engine_lock);
}

unsigned long dmirror_dma_batch_pages(const struct dmirror_engine *engine)
{
	return engine->batch_pages ? engine->batch_pages : HMM_NC_BATCH_PAGES;
}

/*
 * The set-up cost: a busy wait on the clock, like a driver polling its
 * engine. Not udelay(), whose calibrated loop can be far off in a guest
 * without a stable TSC.
 */
static void dmirror_dma_setup(u32 us)
{
	u64 end = ktime_get_ns() + (u64)us * NSEC_PER_USEC;

	while (ktime_get_ns() < end)
		cpu_relax();
}

/*
 * One DMA operation: the set-up cost, then dst[i] receives src[i], or
 * zeroes where src[i] is NULL (a page that was never populated, or the
 * zero page). An operation the caller's fault switch fails copies
 * nothing, as an engine that reports an error promises nothing about
 * what it wrote: -EIO.
 */
static int dmirror_dma_op(struct dmirror_device *mdevice,
			  const struct dmirror_engine *engine,
			  struct page **dst, struct page **src,
			  unsigned long npages, struct dmirror_faults *faults)
{
	unsigned long i;

	if (engine->setup_us)
		dmirror_dma_setup(engine->setup_us);
	if (dmirror_fault(faults, mdevice, HMM_NC_FAULT_DMA))
		return -EIO;
	for (i = 0; i < npages; i++) {
		if (src[i])
			copy_highpage(dst[i], src[i]);
		else
			clear_highpage(dst[i]);
	}
	dmirror_count_add(mdevice, batches, 1);
	dmirror_count_add(mdevice, pages_copied, npages);
	return 0;
}

/*
 * Copy a batch: one operation, or one per page when the engine is set
 * to work page by page. The first failed operation fails the batch.
 * faults is the caller's fault switch, NULL where nothing may fail.
 */
int dmirror_dma_copy(struct dmirror_device *mdevice, struct page **dst,
		     struct page **src, unsigned long npages,
		     struct dmirror_faults *faults)
{
	struct dmirror_engine engine;
	unsigned long i;
	int ret = 0;

	if (!npages)
		return 0;
	dmirror_dma_engine(mdevice, &engine);
	if (!(engine.flags & HMM_NC_ENGINE_PER_PAGE))
		return dmirror_dma_op(mdevice, &engine, dst, src, npages,
				      faults);
	for (i = 0; i < npages && !ret; i++) {
		ret = dmirror_dma_op(mdevice, &engine, dst + i, src + i, 1,
				     faults);
		cond_resched();
	}
	return ret;
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

static int dmirror_engine_check(const struct hmm_nc_engine *cmd)
{
	int i;

	if (cmd->flags & ~HMM_NC_ENGINE_FLAGS || cmd->reserved0)
		return -EINVAL;
	for (i = 0; i < ARRAY_SIZE(cmd->reserved); i++)
		if (cmd->reserved[i])
			return -EINVAL;
	if (cmd->batch_pages > HMM_NC_BATCH_PAGES ||
	    cmd->setup_us > HMM_NC_ENGINE_MAX_SETUP_US)
		return -EINVAL;
	return 0;
}

/* The engine as it now stands, as ENGINE_SET and ENGINE_GET answer it. */
static long dmirror_engine_answer(struct dmirror_device *mdevice,
				  struct hmm_nc_engine *cmd)
{
	struct dmirror_engine engine;

	dmirror_dma_engine(mdevice, &engine);
	cmd->flags = engine.flags;
	cmd->batch_pages = dmirror_dma_batch_pages(&engine);
	cmd->setup_us = engine.setup_us;
	return 0;
}

long dmirror_ioctl_engine_set(struct dmirror *dmirror, void *data)
{
	struct dmirror_device *mdevice = dmirror->mdevice;
	struct hmm_nc_engine *cmd = data;
	struct dmirror_engine engine = {
		.flags = cmd->flags,
		.batch_pages = cmd->batch_pages,
		.setup_us = cmd->setup_us,
	};

	if (dmirror_engine_check(cmd))
		return -EINVAL;
	spin_lock(&dmirror_engine_lock);
	mdevice->engine = engine;
	spin_unlock(&dmirror_engine_lock);
	return dmirror_engine_answer(mdevice, cmd);
}

long dmirror_ioctl_engine_get(struct dmirror *dmirror, void *data)
{
	struct hmm_nc_engine *cmd = data;

	if (dmirror_engine_check(cmd) || cmd->flags || cmd->batch_pages ||
	    cmd->setup_us)
		return -EINVAL;
	return dmirror_engine_answer(dmirror->mdevice, cmd);
}

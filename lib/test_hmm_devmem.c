// SPDX-License-Identifier: GPL-2.0
/*
 * Device-private memory of the test device.
 *
 * Each device owns chunks of ZONE_DEVICE MEMORY_DEVICE_PRIVATE pages,
 * one memory section each (the unit request_free_mem_region() hands
 * out). A chunk is created when a device page is wanted and none is
 * free, and returned by a work item once none of its pages is in use,
 * so an idle device holds no device memory.
 *
 * Device-private pages cannot be reached by the CPU, so the simulated
 * device keeps each one's data in a system page of its own (the backing
 * page, in page->zone_device_data while the device page is in use).
 * Nothing in a device page points at per-file state: a page outlives
 * the file that put it there, and its CPU fault needs only the device.
 */
#include <linux/bitmap.h>
#include <linux/delay.h>
#include <linux/ioport.h>
#include <linux/memremap.h>
#include <linux/mm.h>
#include <linux/sched/signal.h>
#include <linux/slab.h>

#include "test_hmm.h"
#include "test_hmm_compat.h"

#define DMIRROR_CHUNK_BYTES	BIT(PA_SECTION_SHIFT)
#define DMIRROR_CHUNK_PAGES	(DMIRROR_CHUNK_BYTES >> PAGE_SHIFT)

struct dmirror_chunk {
	struct dev_pagemap pagemap;	/* pagemap.owner is the device */
	struct dmirror_device *mdevice;
	struct list_head node;		/* in devmem->chunks while usable */
	unsigned long first_pfn;
	unsigned long used;		/* pages handed out, not yet freed */
	unsigned long *free_map;	/* a set bit is a free page */
};

static struct dmirror_chunk *dmirror_page_chunk(struct page *page)
{
	return container_of(page->pgmap, struct dmirror_chunk, pagemap);
}

struct dmirror_device *dmirror_devmem_owner(struct page *page)
{
	return dmirror_page_chunk(page)->mdevice;
}

struct page *dmirror_devmem_backing(struct page *dpage)
{
	return dpage->zone_device_data;
}

/* Called when the last reference to a device page goes away. */
static void dmirror_devmem_page_free(struct page *page)
{
	struct dmirror_chunk *chunk = dmirror_page_chunk(page);
	struct dmirror_device *mdevice = chunk->mdevice;
	struct dmirror_devmem *devmem = &mdevice->devmem;
	unsigned long flags;
	bool idle;

	__free_page(page->zone_device_data);
	page->zone_device_data = NULL;

	spin_lock_irqsave(&devmem->lock, flags);
	set_bit(page_to_pfn(page) - chunk->first_pfn, chunk->free_map);
	idle = --chunk->used == 0;
	spin_unlock_irqrestore(&devmem->lock, flags);

	dmirror_count_add(mdevice, devmem_free, 1);
	if (idle)
		queue_work(system_wq, &devmem->reclaim);
}

static const struct dev_pagemap_ops dmirror_devmem_ops = {
	.page_free	= dmirror_devmem_page_free,
	.migrate_to_ram	= dmirror_migrate_to_ram,
};

static struct page *dmirror_chunk_take(struct dmirror_chunk *chunk)
{
	unsigned long idx = find_first_bit(chunk->free_map,
					   DMIRROR_CHUNK_PAGES);

	clear_bit(idx, chunk->free_map);
	chunk->used++;
	return pfn_to_page(chunk->first_pfn + idx);
}

/* A free page of a usable chunk, or NULL when all are in use. */
static struct page *dmirror_devmem_take(struct dmirror_devmem *devmem)
{
	struct dmirror_chunk *chunk;
	struct page *page = NULL;
	unsigned long flags;

	spin_lock_irqsave(&devmem->lock, flags);
	list_for_each_entry(chunk, &devmem->chunks, node) {
		if (chunk->used < DMIRROR_CHUNK_PAGES) {
			page = dmirror_chunk_take(chunk);
			break;
		}
	}
	spin_unlock_irqrestore(&devmem->lock, flags);
	return page;
}

static void dmirror_chunk_free(struct dmirror_chunk *chunk)
{
	bitmap_free(chunk->free_map);
	kfree(chunk);
}

static struct dmirror_chunk *dmirror_chunk_alloc(struct dmirror_device *mdevice)
{
	struct dmirror_chunk *chunk;

	chunk = kzalloc(sizeof(*chunk), GFP_KERNEL);
	if (!chunk)
		return NULL;
	chunk->free_map = bitmap_alloc(DMIRROR_CHUNK_PAGES, GFP_KERNEL);
	if (!chunk->free_map) {
		kfree(chunk);
		return NULL;
	}
	bitmap_fill(chunk->free_map, DMIRROR_CHUNK_PAGES);
	chunk->mdevice = mdevice;
	return chunk;
}

/* Give the chunk physical address space and struct pages. */
static int dmirror_chunk_map(struct dmirror_chunk *chunk)
{
	struct dmirror_device *mdevice = chunk->mdevice;
	struct dev_pagemap *pgmap = &chunk->pagemap;
	struct resource *res;
	void *addr;

	res = request_free_mem_region(&iomem_resource, DMIRROR_CHUNK_BYTES,
				      mdevice->devmem.name);
	if (IS_ERR(res))
		return PTR_ERR(res);

	pgmap->type = MEMORY_DEVICE_PRIVATE;
	pgmap->range.start = res->start;
	pgmap->range.end = res->end;
	pgmap->nr_range = 1;
	pgmap->ops = &dmirror_devmem_ops;
	pgmap->owner = mdevice;
	addr = memremap_pages(pgmap, numa_node_id());
	if (IS_ERR(addr)) {
		release_mem_region(res->start, resource_size(res));
		return PTR_ERR(addr);
	}
	chunk->first_pfn = PHYS_PFN(pgmap->range.start);
	dmirror_devmem_pin_module();
	return 0;
}

static void dmirror_chunk_unmap(struct dmirror_chunk *chunk)
{
	struct range *range = &chunk->pagemap.range;

	memunmap_pages(&chunk->pagemap);
	release_mem_region(range->start, range_len(range));
	dmirror_devmem_unpin_module();
}

/*
 * Create a chunk and take its first page before anyone else can see
 * the chunk, so the reclaim work never finds it unused and removes it
 * under our feet.
 */
static struct page *dmirror_devmem_grow(struct dmirror_device *mdevice)
{
	struct dmirror_devmem *devmem = &mdevice->devmem;
	struct dmirror_chunk *chunk;
	unsigned long flags;
	struct page *page;

	chunk = dmirror_chunk_alloc(mdevice);
	if (!chunk)
		return NULL;
	if (dmirror_chunk_map(chunk)) {
		dmirror_chunk_free(chunk);
		return NULL;
	}
	dmirror_count_add(mdevice, devmem_chunks, 1);

	spin_lock_irqsave(&devmem->lock, flags);
	page = dmirror_chunk_take(chunk);
	list_add_tail(&chunk->node, &devmem->chunks);
	spin_unlock_irqrestore(&devmem->lock, flags);
	return page;
}

/*
 * A device page for new data: one reference, locked, with a backing
 * page whose content the caller must fill before the page is mapped.
 *
 * The backing page is what the device's memory costs the system, so it
 * is charged to the memory cgroup of the task that fills it: a cgroup's
 * limit then bounds how much it can move to the device. Past the limit
 * the allocation fails (no retry, no OOM kill) and the page stays in
 * system memory, as it would when a real device runs out of memory.
 * (The device page itself is charged too, to the old page's cgroup, by
 * the migration core: a page on the device costs its cgroup two pages
 * when both are the same one.)
 */
struct page *dmirror_devmem_alloc(struct dmirror_device *mdevice)
{
	struct page *backing, *dpage;

	backing = alloc_page(GFP_HIGHUSER | __GFP_ACCOUNT | __GFP_NORETRY |
			     __GFP_NOWARN);
	if (!backing)
		return NULL;
	dpage = dmirror_devmem_take(&mdevice->devmem);
	if (!dpage)
		dpage = dmirror_devmem_grow(mdevice);
	if (!dpage) {
		__free_page(backing);
		return NULL;
	}
	dpage->zone_device_data = backing;
	dmirror_device_page_init(dpage);
	dmirror_count_add(mdevice, devmem_alloc, 1);
	return dpage;
}

static unsigned long dmirror_chunk_used(struct dmirror_chunk *chunk)
{
	struct dmirror_devmem *devmem = &chunk->mdevice->devmem;
	unsigned long flags, used;

	spin_lock_irqsave(&devmem->lock, flags);
	used = chunk->used;
	spin_unlock_irqrestore(&devmem->lock, flags);
	return used;
}

/*
 * Move every page of a chunk that is off the usable list back to system
 * memory. Pages locked by a migration in flight are skipped by the
 * kernel; we come back for them once that migration has finished. A
 * killable drain gives up with -EINTR when its caller is killed, between
 * two batches (a chunk is 128 MiB: with a slow engine, HMM_NC_ENGINE_SET,
 * evicting it whole takes as many milliseconds as it has pages) or while
 * it waits.
 */
static int dmirror_chunk_drain(struct dmirror_chunk *chunk, bool killable)
{
	unsigned long idx, end;

	while (dmirror_chunk_used(chunk)) {
		for (idx = 0; idx < DMIRROR_CHUNK_PAGES;
		     idx += HMM_NC_BATCH_PAGES) {
			if (killable && fatal_signal_pending(current))
				return -EINTR;
			end = idx + HMM_NC_BATCH_PAGES;
			if (find_next_zero_bit(chunk->free_map, end, idx) >= end)
				continue;
			dmirror_migrate_evict(chunk->mdevice,
					      chunk->first_pfn + idx,
					      HMM_NC_BATCH_PAGES);
			cond_resched();
		}
		if (!dmirror_chunk_used(chunk))
			break;
		if (!killable)
			msleep(20);
		else if (schedule_timeout_killable(msecs_to_jiffies(20)) ||
			 fatal_signal_pending(current))
			return -EINTR;
	}
	return 0;
}

/* Unlinks and returns a chunk nobody uses, or NULL. */
static struct dmirror_chunk *dmirror_devmem_pick_idle(struct dmirror_devmem *devmem)
{
	struct dmirror_chunk *chunk, *found = NULL;
	unsigned long flags;

	spin_lock_irqsave(&devmem->lock, flags);
	list_for_each_entry(chunk, &devmem->chunks, node) {
		if (!chunk->used) {
			list_del(&chunk->node);
			found = chunk;
			break;
		}
	}
	spin_unlock_irqrestore(&devmem->lock, flags);
	return found;
}

static void dmirror_devmem_reclaim(struct work_struct *work)
{
	struct dmirror_devmem *devmem =
		container_of(work, struct dmirror_devmem, reclaim);
	struct dmirror_chunk *chunk;

	mutex_lock(&devmem->remove_lock);
	while ((chunk = dmirror_devmem_pick_idle(devmem))) {
		dmirror_chunk_unmap(chunk);
		dmirror_chunk_free(chunk);
	}
	mutex_unlock(&devmem->remove_lock);
}

/*
 * HMM_DMIRROR_RELEASE, and module unload: bring every page of the device
 * back to system memory and return all its chunks. New allocations meanwhile
 * get a new chunk, as the old ones are off the list.
 */
int dmirror_devmem_release(struct dmirror_device *mdevice, bool killable)
{
	struct dmirror_devmem *devmem = &mdevice->devmem;
	struct dmirror_chunk *chunk, *next;
	unsigned long flags;
	LIST_HEAD(victims);
	int ret = 0;

	if (!killable)
		mutex_lock(&devmem->remove_lock);
	else if (mutex_lock_killable(&devmem->remove_lock))
		return -EINTR;
	spin_lock_irqsave(&devmem->lock, flags);
	list_splice_init(&devmem->chunks, &victims);
	spin_unlock_irqrestore(&devmem->lock, flags);

	list_for_each_entry_safe(chunk, next, &victims, node) {
		ret = dmirror_chunk_drain(chunk, killable);
		if (ret)
			break;
		list_del(&chunk->node);
		dmirror_chunk_unmap(chunk);
		dmirror_chunk_free(chunk);
	}
	/* Killed: the chunks not returned serve allocations again. */
	spin_lock_irqsave(&devmem->lock, flags);
	list_splice(&victims, &devmem->chunks);
	spin_unlock_irqrestore(&devmem->lock, flags);
	mutex_unlock(&devmem->remove_lock);
	return ret;
}

void dmirror_devmem_init(struct dmirror_device *mdevice)
{
	struct dmirror_devmem *devmem = &mdevice->devmem;

	spin_lock_init(&devmem->lock);
	INIT_LIST_HEAD(&devmem->chunks);
	mutex_init(&devmem->remove_lock);
	INIT_WORK(&devmem->reclaim, dmirror_devmem_reclaim);
	snprintf(devmem->name, sizeof(devmem->name), "hmm_dmirror%u",
		 mdevice->index);
}

/* No file is open any more; processes may still hold device pages. */
void dmirror_devmem_fini(struct dmirror_device *mdevice)
{
	dmirror_devmem_release(mdevice, false);
	cancel_work_sync(&mdevice->devmem.reclaim);
}

// SPDX-License-Identifier: GPL-2.0
/*
 * Migration workflows of the test device, all built on one batch
 * protocol (the one real devices follow):
 *
 *   collect, unmap and lock a batch of source pages (migrate_vma_setup
 *       or migrate_device_range)
 *   allocate the destination pages, locked
 *   let the DMA engine copy the whole batch in one operation
 *   move each page's state with MIGRATE_SYNC_NO_COPY (migrate_vma_pages,
 *       or migrate_folio() in the caller's mode for HMM_NC_MIGRATE_ANON)
 *   remap and unlock everything (migrate_vma_finalize)
 *
 * The copy happens while every page of the batch is locked and unmapped,
 * so no page is mapped before its data is in place. A batch is at most
 * HMM_NC_BATCH_PAGES pages (fewer if HMM_NC_ENGINE_SET says so) and never
 * crosses a VMA.
 */
#include <linux/hmm.h>
#include <linux/migrate.h>
#include <linux/mm.h>
#include <linux/pagemap.h>
#include <linux/sched/mm.h>
#include <linux/slab.h>

#include "test_hmm.h"
#include "test_hmm_compat.h"
#include "test_hmm_job.h"

/*
 * faults: the fault switch of the file the command came through; NULL
 * for work nobody could be told had failed (eviction).
 */
int dmirror_job_init(struct dmirror_job *job, struct dmirror_device *mdevice,
		     struct dmirror_faults *faults)
{
	void **arrays;

	memset(job, 0, sizeof(*job));
	job->mdevice = mdevice;
	job->faults = faults;
	dmirror_dma_engine(mdevice, &job->engine);
	arrays = kvcalloc(4 * HMM_NC_BATCH_PAGES, sizeof(void *), GFP_KERNEL);
	if (!arrays)
		return -ENOMEM;
	job->src = (unsigned long *)arrays;
	job->dst = job->src + HMM_NC_BATCH_PAGES;
	job->from = (struct page **)(arrays + 2 * HMM_NC_BATCH_PAGES);
	job->to = job->from + HMM_NC_BATCH_PAGES;
	return 0;
}

void dmirror_job_fini(struct dmirror_job *job)
{
	kvfree(job->src);
}

void dmirror_job_queue(struct dmirror_job *job, struct page *from,
		       struct page *to)
{
	job->from[job->ncopy] = from;
	job->to[job->ncopy] = to;
	job->ncopy++;
}

bool dmirror_job_fault(struct dmirror_job *job, u32 point)
{
	return dmirror_fault(job->faults, job->mdevice, point);
}

static int dmirror_job_copy(struct dmirror_job *job)
{
	return dmirror_dma_copy(job->mdevice, job->to, job->from, job->ncopy,
				job->faults);
}

/*
 * Page i's copy failed before its state moved: it stays where it is,
 * and the finalize step frees its destination.
 */
void dmirror_job_copy_failed(struct dmirror_job *job, unsigned long i)
{
	job->src[i] &= ~MIGRATE_PFN_MIGRATE;
	dmirror_count_add(job->mdevice, copy_failed, 1);
}

/* Account the source pages the kernel has locked and pinned for us. */
static void dmirror_job_hold(struct dmirror_job *job, unsigned long npages)
{
	unsigned long i;

	job->held = 0;
	job->ncopy = 0;
	for (i = 0; i < npages; i++)
		if ((job->src[i] & MIGRATE_PFN_MIGRATE) &&
		    migrate_pfn_to_page(job->src[i]))
			job->held++;
	dmirror_count_add(job->mdevice, pages_locked, job->held);
	dmirror_count_add(job->mdevice, pages_taken, job->held);
}

void dmirror_job_lock_dst(struct dmirror_job *job, unsigned long i,
			  struct page *dpage)
{
	job->dst[i] = dmirror_migrate_dst_pfn(dpage);
	dmirror_count_add(job->mdevice, pages_locked, 1);
}

/*
 * After the finalize step every page of the batch is unlocked and every
 * source reference dropped.
 */
static void dmirror_job_release(struct dmirror_job *job, unsigned long npages)
{
	unsigned long i, ndst = 0;

	for (i = 0; i < npages; i++)
		if (migrate_pfn_to_page(job->dst[i]))
			ndst++;
	dmirror_count_add(job->mdevice, pages_unlocked, job->held + ndst);
	dmirror_count_add(job->mdevice, pages_returned, job->held);
}

/* Count the pages whose state moved (or not) through callback cb. */
static unsigned long dmirror_job_count(struct dmirror_job *job,
				       unsigned long npages, int cb, int mode)
{
	unsigned long i, moved = 0, failed = 0;

	for (i = 0; i < npages; i++) {
		if (!migrate_pfn_to_page(job->dst[i]))
			continue;
		if (job->src[i] & MIGRATE_PFN_MIGRATE)
			moved++;
		else
			failed++;
	}
	dmirror_count_add(job->mdevice, migrated[cb][mode], moved);
	dmirror_count_add(job->mdevice, failed[cb][mode], failed);
	job->moved += moved;
	return moved;
}

/*
 * Mark the pages of [start, end) that another process maps too (shared
 * after fork) or that KSM merged, before migrate_vma_setup() unmaps them
 * from every process and nothing tells any more. The mmap lock is held:
 * no fork can share more of them before the batch is collected, and a
 * KSM merge after the scan is seen on the locked page.
 */
static int dmirror_job_scan_shared(struct dmirror_job *job,
				   unsigned long start, unsigned long end)
{
	unsigned long i, npages = (end - start) >> PAGE_SHIFT;
	struct hmm_range range = {
		.notifier = job->notifier,
		.start = start,
		.end = end,
		.hmm_pfns = job->src,	/* scratch until the batch is set up */
		.dev_private_owner = job->mdevice,
	};
	int tries, ret;

	bitmap_zero(job->shared, HMM_NC_BATCH_PAGES);
	for (tries = 0; tries < 100; tries++) {
		range.notifier_seq = mmu_interval_read_begin(range.notifier);
		ret = hmm_range_fault(&range);
		if (ret != -EBUSY)
			break;
		cond_resched();
	}
	if (ret)
		return ret;
	for (i = 0; i < npages; i++) {
		if (!(job->src[i] & HMM_PFN_VALID))
			continue;
		if (dmirror_page_shared(hmm_pfn_to_page(job->src[i])))
			__set_bit(i, job->shared);
	}
	return 0;
}

/*
 * Page i of the batch must not receive a probe's sentinel: other
 * processes would read it too (their data is theirs), and a KSM page's
 * stable tree would point at the wrong page.
 */
bool dmirror_job_shared(struct dmirror_job *job, unsigned long i,
			struct page *spage)
{
	if (!job->refuse_shared)
		return false;
	return test_bit(i, job->shared) || PageKsm(spage);
}

/* Collect, unmap and lock one batch of a VMA. */
int dmirror_job_setup(struct dmirror_job *job, struct vm_area_struct *vma,
		      unsigned long start, unsigned long end,
		      unsigned long select)
{
	struct migrate_vma *args = &job->args;
	int ret;

	memset(args, 0, sizeof(*args));
	memset(job->dst, 0, HMM_NC_BATCH_PAGES * sizeof(*job->dst));
	args->vma = vma;
	args->src = job->src;
	args->dst = job->dst;
	args->start = start;
	args->end = end;
	args->pgmap_owner = job->mdevice;
	args->flags = select;
	if (job->refuse_shared) {
		ret = dmirror_job_scan_shared(job, start, end);
		if (ret)
			return ret;
	}
	ret = migrate_vma_setup(args);
	if (ret)
		return ret;
	dmirror_job_hold(job, args->npages);
	return 0;
}

void dmirror_job_finalize(struct dmirror_job *job)
{
	migrate_vma_finalize(&job->args);
	dmirror_job_release(job, job->args.npages);
}

/* Every page of [start, end) lies in a VMA the process may read. */
static int dmirror_range_readable(struct mm_struct *mm, unsigned long start,
				  unsigned long end, bool kernel_vma_check)
{
	struct vm_area_struct *vma;
	unsigned long addr;

	for (addr = start; addr < end; addr = vma->vm_end) {
		vma = vma_lookup(mm, addr);
		if (!vma || !(vma->vm_flags & VM_READ))
			return -EINVAL;
		/*
		 * migrate_vma_setup() refuses these: refuse them up front,
		 * unless a test is there to see the kernel refuse them.
		 */
		if (!kernel_vma_check &&
		    ((vma->vm_flags & (VM_IO | VM_PFNMAP | VM_MIXEDMAP)) ||
		     is_vm_hugetlb_page(vma) || vma_is_dax(vma)))
			return -EINVAL;
		/* Outside the direct map: the device must not touch it. */
		if (dmirror_vma_is_secret(vma))
			return -EINVAL;
	}
	return 0;
}

/*
 * Cut [start, end) into batches and run fn on each, with the mmap lock
 * held for reading. The whole range is checked first, so a bad range
 * moves nothing.
 */
int dmirror_job_run(struct dmirror *dmirror, struct dmirror_job *job,
		    unsigned long start, unsigned long end,
		    dmirror_batch_fn fn)
{
	struct mm_struct *mm = dmirror->mirror.notifier.mm;
	unsigned long batch = dmirror_dma_batch_pages(&job->engine);
	struct vm_area_struct *vma;
	unsigned long addr, next;
	int ret;

	if (!mmget_not_zero(mm))
		return -ESRCH;
	job->notifier = &dmirror->mirror.notifier;
	/*
	 * migrate_vma_setup() drains only this CPU's LRU batches, and the
	 * others' only when it meets a page off the LRU. A page another
	 * CPU's batch still holds (activated, say) is on the LRU with one
	 * more reference: it looks pinned and is skipped. A driver would
	 * try again later; the device drains them all first, so that a
	 * page it skips is one that is really held.
	 */
	dmirror_lru_drain_all();
	mmap_read_lock(mm);
	ret = dmirror_range_readable(mm, start, end, job->kernel_vma_check);
	if (!ret && job->range_ok)
		ret = job->range_ok(job, mm, start, end);
	for (addr = start; addr < end && !ret; addr = next) {
		/* A long range must not outlive a process that was killed. */
		if (fatal_signal_pending(current)) {
			ret = -EINTR;
			break;
		}
		vma = vma_lookup(mm, addr);
		next = min3(end, vma->vm_end, addr + (batch << PAGE_SHIFT));
		ret = fn(job, vma, addr, next);
		job->batches++;
	}
	mmap_read_unlock(mm);
	mmput(mm);
	return ret;
}

/*
 * Device memory for every page of the batch that may move there: only
 * anonymous memory can live in device-private pages.
 */
static void dmirror_alloc_device_pages(struct dmirror_job *job)
{
	struct migrate_vma *args = &job->args;
	struct page *spage, *dpage;
	unsigned long i;

	for (i = 0; i < args->npages; i++) {
		if (!(args->src[i] & MIGRATE_PFN_MIGRATE))
			continue;
		spage = migrate_pfn_to_page(args->src[i]);
		if (spage && dmirror_page_mapping(spage))
			continue;
		/* KSM's stable tree must not point at device memory. */
		if (spage && PageKsm(spage))
			continue;
		if (dmirror_job_fault(job, HMM_NC_FAULT_DEVMEM))
			continue;
		dpage = dmirror_devmem_alloc(job->mdevice);
		if (!dpage)
			continue;
		dmirror_job_lock_dst(job, i, dpage);
		dmirror_job_queue(job, spage, dmirror_devmem_backing(dpage));
	}
}

/* System memory for every device page of the batch. */
static void dmirror_alloc_system_pages(struct dmirror_job *job, bool in_vma)
{
	struct migrate_vma *args = &job->args;
	unsigned long i, addr;
	struct page *spage, *dpage;

	for (i = 0; i < args->npages; i++) {
		spage = migrate_pfn_to_page(job->src[i]);
		if (!spage || !(job->src[i] & MIGRATE_PFN_MIGRATE))
			continue;
		addr = args->start + (i << PAGE_SHIFT);
		if (dmirror_job_fault(job, HMM_NC_FAULT_SYSMEM))
			dpage = NULL;
		else if (in_vma)
			dpage = dmirror_alloc_user_page(args->vma, addr);
		else
			dpage = alloc_page(GFP_HIGHUSER_MOVABLE | __GFP_NOWARN);
		if (!dpage)
			continue;
		lock_page(dpage);
		dmirror_job_lock_dst(job, i, dpage);
		dmirror_job_queue(job, dmirror_devmem_backing(spage), dpage);
	}
}

/*
 * The batch's copy failed: give back every destination, so that
 * migrate_vma_pages() moves nothing and finalize puts each source page
 * back. (A destination left in place would have its state moved: the
 * kernel does not look at MIGRATE_PFN_MIGRATE of a page it was given a
 * destination for.)
 */
static void dmirror_job_drop_dst(struct dmirror_job *job)
{
	struct page *dpage;
	unsigned long i;

	for (i = 0; i < job->args.npages; i++) {
		dpage = migrate_pfn_to_page(job->dst[i]);
		if (!dpage)
			continue;
		job->dst[i] = 0;
		unlock_page(dpage);
		put_page(dpage);
		dmirror_count_add(job->mdevice, pages_unlocked, 1);
		dmirror_count_add(job->mdevice, copy_failed, 1);
	}
}

/*
 * One batch of the device path, either way: collect, allocate the
 * destinations, copy the batch while it is locked and unmapped, then let
 * migrate_vma_pages() move the state (MIGRATE_SYNC_NO_COPY inside).
 */
static int dmirror_batch_device_path(struct dmirror_job *job,
				     struct vm_area_struct *vma,
				     unsigned long start, unsigned long end,
				     bool to_device)
{
	int ret;

	ret = dmirror_job_setup(job, vma, start, end, to_device ?
				MIGRATE_VMA_SELECT_SYSTEM :
				MIGRATE_VMA_SELECT_DEVICE_PRIVATE);
	if (ret)
		return ret;
	if (to_device)
		dmirror_alloc_device_pages(job);
	else
		dmirror_alloc_system_pages(job, true);
	ret = dmirror_job_copy(job);
	if (ret)
		dmirror_job_drop_dst(job);
	migrate_vma_pages(&job->args);
	dmirror_job_count(job, job->args.npages, HMM_NC_CB_DEVICE,
			  HMM_NC_MODE_SYNC_NO_COPY);
	dmirror_job_finalize(job);
	return ret;
}

static int dmirror_batch_to_device(struct dmirror_job *job,
				   struct vm_area_struct *vma,
				   unsigned long start, unsigned long end)
{
	return dmirror_batch_device_path(job, vma, start, end, true);
}

static int dmirror_batch_to_system(struct dmirror_job *job,
				   struct vm_area_struct *vma,
				   unsigned long start, unsigned long end)
{
	return dmirror_batch_device_path(job, vma, start, end, false);
}

/* The device path over [start, end); *moved: the pages it moved. */
static int dmirror_migrate_range(struct dmirror *dmirror, unsigned long start,
				 unsigned long end, dmirror_batch_fn fn,
				 u64 *moved)
{
	struct dmirror_job job;
	int ret;

	ret = dmirror_job_init(&job, dmirror->mdevice, &dmirror->faults);
	if (ret)
		return ret;
	ret = dmirror_job_run(dmirror, &job, start, end, fn);
	*moved = job.moved;
	dmirror_job_fini(&job);
	return ret;
}

/*
 * MIGRATE_TO_DEV: move the range to this device, then map what is on the
 * device into the mirror and return it, as the 6.1 device does (-ENOENT
 * when a page of the range is not on this device).
 */
long dmirror_ioctl_migrate_to_dev(struct dmirror *dmirror, void *data)
{
	struct hmm_dmirror_cmd *cmd = data;
	unsigned long end = cmd->addr + (cmd->npages << PAGE_SHIFT);
	u64 moved;
	int ret;

	ret = dmirror_migrate_range(dmirror, cmd->addr, end,
				    dmirror_batch_to_device, &moved);
	if (ret)
		return ret;
	ret = dmirror_mirror_map_device(dmirror, cmd->addr, end);
	if (ret)
		return ret;
	return dmirror_mirror_read(dmirror, cmd, false);
}

/* MIGRATE_TO_SYS: bring this device's pages of the range back. */
long dmirror_ioctl_migrate_to_sys(struct dmirror *dmirror, void *data)
{
	struct hmm_dmirror_cmd *cmd = data;
	unsigned long end = cmd->addr + (cmd->npages << PAGE_SHIFT);

	return dmirror_migrate_range(dmirror, cmd->addr, end,
				     dmirror_batch_to_system, &cmd->cpages);
}

/*
 * dev_pagemap_ops.migrate_to_ram: the CPU touched a page of ours. Bring
 * that one page back; a batch of one. If another migration holds the
 * page, nothing is collected and the CPU simply faults again.
 */
vm_fault_t dmirror_migrate_to_ram(struct vm_fault *vmf)
{
	struct dmirror_device *mdevice = dmirror_devmem_owner(vmf->page);
	unsigned long src = 0, dst = 0;
	struct page *from, *to;
	struct dmirror_job job = {
		.mdevice = mdevice,
		.src = &src,
		.dst = &dst,
		.from = &from,
		.to = &to,
	};
	struct migrate_vma *args = &job.args;

	dmirror_count_add(mdevice, cpu_faults, 1);
	args->vma = vmf->vma;
	args->start = vmf->address & PAGE_MASK;
	args->end = args->start + PAGE_SIZE;
	args->src = &src;
	args->dst = &dst;
	args->pgmap_owner = mdevice;
	args->flags = MIGRATE_VMA_SELECT_DEVICE_PRIVATE;
	dmirror_migrate_vma_fault_page(args, vmf->page);
	if (migrate_vma_setup(args))
		return VM_FAULT_SIGBUS;
	dmirror_job_hold(&job, args->npages);

	/*
	 * No destination, and nothing moves: the entry was emptied meanwhile
	 * (MADV_DONTNEED; it comes back as a hole that needs none), or there
	 * was no memory. Either way the fault returns 0 and the CPU faults
	 * again, as with the 6.1 test device and nouveau: it finds the hole,
	 * or tries the page again (an order-0 user allocation fails only for
	 * a task that is dying). Neither is an OOM or a bus error.
	 */
	dmirror_alloc_system_pages(&job, true);
	dmirror_dma_copy(mdevice, job.to, job.from, job.ncopy, NULL);
	migrate_vma_pages(args);
	dmirror_job_count(&job, args->npages, HMM_NC_CB_DEVICE,
			  HMM_NC_MODE_SYNC_NO_COPY);
	dmirror_job_finalize(&job);
	return 0;
}

/*
 * Bring device pages [start_pfn, start_pfn + npages) back to system
 * memory whatever maps them (RELEASE, module unload). At most one batch.
 */
void dmirror_migrate_evict(struct dmirror_device *mdevice,
			   unsigned long start_pfn, unsigned long npages)
{
	struct dmirror_job job;

	npages = min_t(unsigned long, npages, HMM_NC_BATCH_PAGES);
	if (dmirror_job_init(&job, mdevice, NULL))
		return;
	if (dmirror_migrate_device_range(job.src, start_pfn, npages)) {
		dmirror_job_fini(&job);
		return;
	}
	job.args.npages = npages;
	dmirror_job_hold(&job, npages);
	dmirror_alloc_system_pages(&job, false);
	dmirror_dma_copy(mdevice, job.to, job.from, job.ncopy, NULL);
	dmirror_migrate_device_pages(job.src, job.dst, npages);
	dmirror_job_count(&job, npages, HMM_NC_CB_DEVICE,
			  HMM_NC_MODE_SYNC_NO_COPY);
	dmirror_migrate_device_finalize(job.src, job.dst, npages);
	dmirror_job_release(&job, npages);
	dmirror_job_fini(&job);
}

/* HMM_NC_MIGRATE_ANON */

static u8 *dmirror_job_status(struct dmirror_job *job, unsigned long start)
{
	return job->status + ((start - job->start) >> PAGE_SHIFT);
}

/*
 * Destinations for the batch's anonymous pages; everything else gets
 * its reason in the status array and stays where it is.
 */
static void dmirror_alloc_anon_pages(struct dmirror_job *job, u8 *status)
{
	struct migrate_vma *args = &job->args;
	struct page *spage, *dpage;
	unsigned long i, addr;

	for (i = 0; i < args->npages; i++) {
		spage = migrate_pfn_to_page(job->src[i]);
		if (!(job->src[i] & MIGRATE_PFN_MIGRATE)) {
			status[i] = HMM_NC_PS_SKIPPED;
			continue;
		}
		if (!spage) {
			status[i] = HMM_NC_PS_NO_PAGE;
			continue;
		}
		if (!PageAnon(spage) || dmirror_page_mapping(spage)) {
			status[i] = HMM_NC_PS_NOT_ANON;
			continue;
		}
		if (dmirror_job_shared(job, i, spage)) {
			status[i] = HMM_NC_PS_SHARED;
			continue;
		}
		addr = args->start + (i << PAGE_SHIFT);
		dpage = NULL;
		if (!dmirror_job_fault(job, HMM_NC_FAULT_SYSMEM))
			dpage = dmirror_alloc_user_page(args->vma, addr);
		if (!dpage) {
			status[i] = HMM_NC_PS_NOMEM;
			continue;
		}
		lock_page(dpage);
		dmirror_job_lock_dst(job, i, dpage);
		dmirror_job_queue(job, spage, dpage);
	}
}

/*
 * The engine's part: a copy when the mode leaves it to us, the sentinel
 * in a probe, nothing when the kernel copies (MIGRATE_SYNC). A per-page
 * engine in a workflow that copies each page leaves the batch to
 * dmirror_job_engine_page(). -EIO: the copy failed, nothing of the
 * batch may move.
 */
int dmirror_job_engine(struct dmirror_job *job)
{
	if (job->copy_each && (job->engine.flags & HMM_NC_ENGINE_PER_PAGE))
		return 0;
	if (job->flags & HMM_NC_MIGRATE_PROBE) {
		dmirror_dma_prime(job->mdevice, job->to, job->ncopy);
		return 0;
	}
	if (!job->kernel_moves && dmirror_kernel_copies(job->kmode))
		return 0;
	return dmirror_job_copy(job);
}

/*
 * A per-page engine's part for one page of a copy_each workflow, right
 * before the page's state moves: the sentinel in a probe, else the copy
 * if the mode leaves it to us. Copying first means that a failed copy
 * (-EIO) can still leave the page where it is. Without a per-page engine
 * it does nothing: dmirror_job_engine() did the batch.
 */
int dmirror_job_engine_page(struct dmirror_job *job, struct page *dpage,
			    struct page *spage)
{
	if (!job->copy_each || !(job->engine.flags & HMM_NC_ENGINE_PER_PAGE))
		return 0;
	if (job->flags & HMM_NC_MIGRATE_PROBE) {
		dmirror_dma_prime(job->mdevice, &dpage, 1);
		return 0;
	}
	if (dmirror_kernel_copies(job->kmode))
		return 0;
	return dmirror_dma_copy(job->mdevice, &dpage, &spage, 1, job->faults);
}

/* The batch's copy failed: none of its pages moves. */
static void dmirror_anon_copy_failed(struct dmirror_job *job, u8 *status)
{
	unsigned long i;

	for (i = 0; i < job->args.npages; i++) {
		if (!migrate_pfn_to_page(job->dst[i]))
			continue;
		dmirror_job_copy_failed(job, i);
		status[i] = HMM_NC_PS_COPY_FAILED;
	}
}

/*
 * Move each page's state with migrate_folio() in the job's mode. -EIO:
 * a page's own copy failed (a per-page engine); it stayed, the others
 * moved.
 */
static int dmirror_anon_move_state(struct dmirror_job *job, u8 *status)
{
	struct page *spage, *dpage;
	unsigned long i;
	int ret, err = 0;

	for (i = 0; i < job->args.npages; i++) {
		dpage = migrate_pfn_to_page(job->dst[i]);
		if (!dpage)
			continue;
		spage = migrate_pfn_to_page(job->src[i]);
		if (dmirror_job_engine_page(job, dpage, spage)) {
			dmirror_job_copy_failed(job, i);
			status[i] = HMM_NC_PS_COPY_FAILED;
			err = -EIO;
			continue;
		}
		ret = dmirror_migrate_state(dpage, spage, job->kmode);
		if (ret == MIGRATEPAGE_SUCCESS) {
			status[i] = HMM_NC_PS_MOVED;
			continue;
		}
		/* Finalize puts the source page back in place. */
		job->src[i] &= ~MIGRATE_PFN_MIGRATE;
		status[i] = ret == -EAGAIN ? HMM_NC_PS_BUSY : HMM_NC_PS_REFUSED;
		if (ret == -EINVAL)
			dmirror_count_add(job->mdevice, refusals, 1);
	}
	return err;
}

static int dmirror_batch_anon(struct dmirror_job *job,
			      struct vm_area_struct *vma, unsigned long start,
			      unsigned long end)
{
	u8 *status = dmirror_job_status(job, start);
	int ret;

	ret = dmirror_job_setup(job, vma, start, end,
				MIGRATE_VMA_SELECT_SYSTEM);
	if (ret)
		return ret;
	dmirror_alloc_anon_pages(job, status);
	ret = dmirror_job_engine(job);
	if (ret)
		dmirror_anon_copy_failed(job, status);
	else
		ret = dmirror_anon_move_state(job, status);
	dmirror_job_count(job, job->args.npages, HMM_NC_CB_FOLIO, job->mode);
	dmirror_job_finalize(job);
	return ret;
}

static int dmirror_anon_check(struct hmm_nc_migrate_cmd *cmd,
			      enum migrate_mode *kmode)
{
	if (cmd->flags & ~HMM_NC_MIGRATE_FLAGS)
		return -EINVAL;
	if (dmirror_migrate_args_valid(cmd->addr, cmd->npages, cmd->mode,
				       cmd->reserved,
				       ARRAY_SIZE(cmd->reserved)))
		return -EINVAL;
	return dmirror_kernel_mode(cmd->mode, kmode);
}

static int dmirror_anon_run(struct dmirror *dmirror, void *data, void *status)
{
	struct hmm_nc_migrate_cmd *cmd = data;
	unsigned long end = cmd->addr + (cmd->npages << PAGE_SHIFT);
	struct dmirror_job job;
	enum migrate_mode kmode;
	int ret;

	ret = dmirror_anon_check(cmd, &kmode);
	if (ret)
		return ret;
	ret = dmirror_job_init(&job, dmirror->mdevice, &dmirror->faults);
	if (ret)
		return ret;
	job.start = cmd->addr;
	job.mode = cmd->mode;
	job.kmode = kmode;
	job.flags = cmd->flags;
	job.status = status;
	job.refuse_shared = cmd->flags & HMM_NC_MIGRATE_PROBE;
	job.copy_each = true;
	ret = dmirror_job_run(dmirror, &job, cmd->addr, end,
			      dmirror_batch_anon);
	cmd->moved = job.moved;
	cmd->batches = job.batches;
	dmirror_job_fini(&job);
	return ret;
}

/* One byte of enum hmm_nc_page_status a page. */
static const struct dmirror_user_array dmirror_anon_status = {
	.entry_size = sizeof(u8),
	.max_entries = HMM_NC_MIGRATE_MAX_PAGES,
	.run = dmirror_anon_run,
};

/**
 * dmirror_ioctl_migrate_anon() - HMM_NC_MIGRATE_ANON
 * @dmirror: the open file the command came through
 * @data: struct hmm_nc_migrate_cmd, in kernel memory
 *
 * The range's anonymous pages through the device's batch workflow, with
 * the status array under the rule of dmirror_user_array().
 *
 * Return: 0 or -errno, as lib/test_hmm_uapi.h documents.
 */
long dmirror_ioctl_migrate_anon(struct dmirror *dmirror, void *data)
{
	struct hmm_nc_migrate_cmd *cmd = data;

	return dmirror_user_array(dmirror, cmd, cmd->status, cmd->npages,
				  &dmirror_anon_status);
}

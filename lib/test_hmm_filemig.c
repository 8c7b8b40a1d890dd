// SPDX-License-Identifier: GPL-2.0
/*
 * HMM_NC_MIGRATE_FILE: page-cache pages through the NO_COPY workflow.
 *
 * In 6.1 the only kernel caller of MIGRATE_SYNC_NO_COPY is
 * migrate_vma_pages(), which never hands a page-cache page to its file
 * system's callback; this engine does, so the NO_COPY branches of
 * migrate_folio_extra(), __buffer_migrate_folio() and
 * filemap_migrate_folio() get a caller. Per batch:
 *
 *   migrate_vma_setup(MIGRATE_VMA_SELECT_SYSTEM) collects, isolates,
 *       unmaps and locks the mapped pages of the file
 *   allocate a locked destination for each
 *   the DMA engine copies the batch (still locked and unmapped, so no
 *       reader, not even a lockless read(), can see a page before its
 *       data is there)
 *   each page's state moves through its own mapping's migrate_folio
 *       (a per-page engine copies each page right before, instead of
 *       the batch copy above)
 *   the old page forgets its mapping, as move_to_new_folio() does
 *   migrate_vma_finalize() remaps, puts the new pages on the LRU,
 *       unlocks and drops the old pages
 *
 * The job, its batches and the DMA step are test_hmm_migrate.c's.
 */
#include <linux/mm.h>
#include <linux/pagemap.h>
#include <linux/sched/mm.h>
#include <linux/slab.h>

#include "test_hmm.h"
#include "test_hmm_compat.h"
#include "test_hmm_job.h"

/* What the page-cache workflow keeps beside the shared job. */
struct dmirror_filemig {
	struct hmm_nc_file_page *pages;	/* per page of the whole range */
	bool kernel_pages;		/* HMM_NC_FILE_KERNEL_PAGES */
};

static struct hmm_nc_file_page *dmirror_file_recs(struct dmirror_job *job,
						  unsigned long start)
{
	struct dmirror_filemig *fm = job->priv;

	return fm->pages + ((start - job->start) >> PAGE_SHIFT);
}

/*
 * A page the batch did not collect: tell a hole (nothing cached there,
 * or a zero page) from a cached page that stayed out of reach.
 */
static void dmirror_file_absent(struct dmirror_job *job, unsigned long i,
				struct hmm_nc_file_page *r)
{
	struct vm_area_struct *vma = job->args.vma;
	unsigned long addr = job->args.start + (i << PAGE_SHIFT);
	struct page *page;

	r->status = HMM_NC_PS_NO_PAGE;
	if (job->src[i] & MIGRATE_PFN_MIGRATE)
		return;
	r->index = linear_page_index(vma, addr);
	page = dmirror_cache_page(vma->vm_file->f_mapping, r->index);
	if (!page)
		return;
	r->status = HMM_NC_PS_SKIPPED;
	r->old_pfn = page_to_pfn(page);
	put_page(page);
}

/* Record what the page was before anything moved. */
static void dmirror_file_describe(struct page *spage,
				  struct hmm_nc_file_page *r)
{
	r->old_pfn = page_to_pfn(spage);
	r->cb = dmirror_cache_cb(dmirror_page_mapping(spage));
	if (PageAnon(spage))
		r->flags |= HMM_NC_FP_ANON;
	else
		r->index = dmirror_page_index(spage);
	if (PageDirty(spage))
		r->flags |= HMM_NC_FP_DIRTY;
	if (r->cb == HMM_NC_CB_BUFFER && page_has_buffers(spage))
		r->flags |= HMM_NC_FP_BUFFERS;
	if (r->cb == HMM_NC_CB_FILEMAP && page_private(spage))
		r->flags |= HMM_NC_FP_PRIVATE;
}

/* A destination where the migration core would put one. */
static struct page *dmirror_file_alloc_page(struct page *spage)
{
	gfp_t gfp = GFP_USER | __GFP_MOVABLE | __GFP_NOWARN;

	if (PageHighMem(spage))
		gfp |= __GFP_HIGHMEM;
	return alloc_pages_node(page_to_nid(spage), gfp, 0);
}

/*
 * What 5.10's setup may have lost of the writes through the mapping
 * (dmirror_file_taken_dirty() in test_hmm_compat_5.10.h): first on the
 * pages the batch holds, before they are described and moved...
 */
static void dmirror_file_taken(struct dmirror_job *job)
{
	struct page *spage;
	unsigned long i;

	for (i = 0; i < job->args.npages; i++) {
		spage = migrate_pfn_to_page(job->src[i]);
		if (spage && (job->src[i] & MIGRATE_PFN_MIGRATE))
			dmirror_file_taken_dirty(job->args.vma, spage,
						 job->src[i]);
	}
}

/* ...then, after the batch, on the pages of the range it does not hold. */
static void dmirror_file_put_back(struct dmirror_job *job)
{
	unsigned long i;

	for (i = 0; i < job->args.npages; i++)
		if (!migrate_pfn_to_page(job->src[i]))
			dmirror_file_put_back_dirty(job->args.vma,
						    job->args.start +
						    (i << PAGE_SHIFT));
}

/*
 * Destinations for the batch; a page under writeback stays where it is
 * (the engine does not wait with the whole batch locked).
 */
static void dmirror_file_alloc(struct dmirror_job *job,
			       struct hmm_nc_file_page *rec)
{
	struct page *spage, *dpage;
	unsigned long i;

	for (i = 0; i < job->args.npages; i++) {
		spage = migrate_pfn_to_page(job->src[i]);
		if (!spage || !(job->src[i] & MIGRATE_PFN_MIGRATE)) {
			dmirror_file_absent(job, i, &rec[i]);
			continue;
		}
		dmirror_file_describe(spage, &rec[i]);
		/*
		 * Truncated or punched out after it was collected: it left
		 * the cache, and moving it as if it were anonymous would give
		 * the new page no mapping. The page is locked from here on.
		 */
		if (!PageAnon(spage) && !dmirror_page_mapping(spage)) {
			rec[i].status = HMM_NC_PS_NO_PAGE;
			job->src[i] &= ~MIGRATE_PFN_MIGRATE;
			continue;
		}
		/* A private copy shared after fork: not the caller's alone. */
		if (PageAnon(spage) && dmirror_job_shared(job, i, spage)) {
			rec[i].status = HMM_NC_PS_SHARED;
			job->src[i] &= ~MIGRATE_PFN_MIGRATE;
			continue;
		}
		if (PageWriteback(spage)) {
			rec[i].status = HMM_NC_PS_WRITEBACK;
			job->src[i] &= ~MIGRATE_PFN_MIGRATE;
			continue;
		}
		dpage = NULL;
		if (!dmirror_job_fault(job, HMM_NC_FAULT_SYSMEM))
			dpage = dmirror_file_alloc_page(spage);
		if (!dpage) {
			rec[i].status = HMM_NC_PS_NOMEM;
			continue;
		}
		lock_page(dpage);
		dmirror_job_lock_dst(job, i, dpage);
		dmirror_job_queue(job, spage, dpage);
	}
}

/*
 * One page's state, through its own callback in the job's mode; a
 * per-page engine copies the page first. -EIO: that copy failed and the
 * page stayed.
 */
static int dmirror_file_move_one(struct dmirror_job *job, unsigned long i,
				 struct hmm_nc_file_page *r)
{
	struct page *spage = migrate_pfn_to_page(job->src[i]);
	struct page *dpage = migrate_pfn_to_page(job->dst[i]);
	int ret;

	if (dmirror_job_engine_page(job, dpage, spage)) {
		dmirror_job_copy_failed(job, i);
		r->status = HMM_NC_PS_COPY_FAILED;
		return -EIO;
	}
	ret = dmirror_cache_migrate(dmirror_page_mapping(spage), dpage, spage,
				    job->kmode);
	r->result = ret;
	if (ret == MIGRATEPAGE_SUCCESS) {
		dmirror_cache_forget(spage);
		flush_dcache_page(dpage);
		r->status = HMM_NC_PS_MOVED;
		return 0;
	}
	/* Finalize puts the old page back in place. */
	job->src[i] &= ~MIGRATE_PFN_MIGRATE;
	r->status = ret == -EAGAIN ? HMM_NC_PS_BUSY : HMM_NC_PS_REFUSED;
	if (ret == -EINVAL)
		dmirror_count_add(job->mdevice, refusals, 1);
	return 0;
}

static int dmirror_file_move_state(struct dmirror_job *job,
				   struct hmm_nc_file_page *rec)
{
	unsigned long i;
	int ret = 0;

	for (i = 0; i < job->args.npages; i++)
		if (migrate_pfn_to_page(job->dst[i]))
			ret = dmirror_file_move_one(job, i, &rec[i]) ?: ret;
	return ret;
}

/* The batch's copy failed: none of its pages moves. */
static void dmirror_file_copy_failed(struct dmirror_job *job,
				     struct hmm_nc_file_page *rec)
{
	unsigned long i;

	for (i = 0; i < job->args.npages; i++) {
		if (!migrate_pfn_to_page(job->dst[i]))
			continue;
		dmirror_job_copy_failed(job, i);
		rec[i].status = HMM_NC_PS_COPY_FAILED;
	}
}

/*
 * The kernel's own device path on the same batch, with nothing added:
 * what 6.1 does to page-cache pages with system-memory destinations.
 */
static void dmirror_file_kernel_pages(struct dmirror_job *job,
				      struct hmm_nc_file_page *rec)
{
	unsigned long i;

	migrate_vma_pages(&job->args);
	for (i = 0; i < job->args.npages; i++) {
		if (!migrate_pfn_to_page(job->dst[i]))
			continue;
		if (job->src[i] & MIGRATE_PFN_MIGRATE) {
			rec[i].status = HMM_NC_PS_MOVED;
		} else {
			rec[i].status = HMM_NC_PS_REFUSED;
			rec[i].result = -EBUSY;
		}
	}
}

/* The page-cache slot of a moved page holds the new page. */
static bool dmirror_file_slot_holds(struct page *dst)
{
	struct address_space *mapping = dmirror_page_mapping(dst);
	struct page *cached;
	bool held;

	if (!mapping)
		return false;
	cached = dmirror_cache_page(mapping, dmirror_page_index(dst));
	if (!cached)
		return false;
	held = cached == dst;
	put_page(cached);
	return held;
}

/*
 * Check, while both pages are still locked, that the state came along:
 * dirtiness, buffer heads or iomap's private data, the cache slot, the
 * old page's mapping.
 */
static void dmirror_file_inspect(struct dmirror_job *job,
				 struct hmm_nc_file_page *r, unsigned long i)
{
	struct page *src = migrate_pfn_to_page(job->src[i]);
	struct page *dst = migrate_pfn_to_page(job->dst[i]);

	r->new_pfn = page_to_pfn(dst);
	if (PageDirty(dst))
		r->flags |= HMM_NC_FP_DIRTY_KEPT;
	if ((r->flags & HMM_NC_FP_BUFFERS) && dmirror_bh_moved(dst, src))
		r->flags |= HMM_NC_FP_BH_MOVED;
	/* Both pages are locked: nobody else attached or detached it. */
	if ((r->flags & HMM_NC_FP_PRIVATE) && page_private(dst) &&
	    !page_private(src))
		r->flags |= HMM_NC_FP_PRIVATE_MOVED;
	if (r->flags & HMM_NC_FP_ANON)
		return;
	if (dmirror_cache_forgotten(src))
		r->flags |= HMM_NC_FP_OLD_CLEAR;
	if (dmirror_file_slot_holds(dst))
		r->flags |= HMM_NC_FP_CACHED;
}

/* Inspect the moved pages and count every attempt by callback kind. */
static void dmirror_file_account(struct dmirror_job *job,
				 struct hmm_nc_file_page *rec)
{
	struct dmirror_filemig *fm = job->priv;
	unsigned long i;
	int cb;

	for (i = 0; i < job->args.npages; i++) {
		if (!migrate_pfn_to_page(job->dst[i]))
			continue;
		cb = fm->kernel_pages ? HMM_NC_CB_DEVICE : rec[i].cb;
		if (rec[i].status != HMM_NC_PS_MOVED) {
			dmirror_count_add(job->mdevice, failed[cb][job->mode], 1);
			continue;
		}
		dmirror_file_inspect(job, &rec[i], i);
		dmirror_count_add(job->mdevice, migrated[cb][job->mode], 1);
		job->moved++;
	}
}

static int dmirror_batch_file(struct dmirror_job *job,
			      struct vm_area_struct *vma, unsigned long start,
			      unsigned long end)
{
	struct hmm_nc_file_page *rec = dmirror_file_recs(job, start);
	struct dmirror_filemig *fm = job->priv;
	int ret;

	/* The range was checked, but the mmap lock was dropped since. */
	if (!vma->vm_file)
		return -EINVAL;
	ret = dmirror_job_setup(job, vma, start, end,
				MIGRATE_VMA_SELECT_SYSTEM);
	if (ret)
		return ret;
	/* The kernel's own path gets the batch as it is. */
	if (!fm->kernel_pages)
		dmirror_file_taken(job);
	dmirror_file_alloc(job, rec);
	ret = dmirror_job_engine(job);
	if (ret)
		dmirror_file_copy_failed(job, rec);
	else if (fm->kernel_pages)
		dmirror_file_kernel_pages(job, rec);
	else
		ret = dmirror_file_move_state(job, rec);
	dmirror_file_account(job, rec);
	dmirror_job_finalize(job);
	if (!fm->kernel_pages)
		dmirror_file_put_back(job);
	return ret;
}

/*
 * Every page of [start, end) is mapped from one and the same file. A
 * command that changes what the file's pages hold (the probe's sentinel,
 * the kernel path that leaves bad pages) also needs the file open for
 * writing and not sealed against writes: reading a file must not be
 * enough to change it for everyone. The kernel path moves buffer heads
 * of no file system correctly (they stay on the old page, the new one is
 * dirty without buffers and writeback drops it): shmem only. Runs under
 * the job's mmap lock, so the range cannot change before the batches.
 */
static int dmirror_file_range_ok(struct dmirror_job *job, struct mm_struct *mm,
				 unsigned long start, unsigned long end)
{
	bool writes = job->flags & (HMM_NC_MIGRATE_PROBE |
				    HMM_NC_FILE_KERNEL_PAGES);
	struct address_space *mapping = NULL;
	struct vm_area_struct *vma;
	struct file *file;
	unsigned long addr;

	for (addr = start; addr < end; addr = vma->vm_end) {
		vma = vma_lookup(mm, addr);
		if (!vma || !vma->vm_file)
			return -EINVAL;
		file = vma->vm_file;
		if (mapping && file->f_mapping != mapping)
			return -EINVAL;
		mapping = file->f_mapping;
		if ((job->flags & HMM_NC_FILE_KERNEL_PAGES) &&
		    !dmirror_mapping_is_shmem(mapping))
			return -EINVAL;
		if (writes && (!(file->f_mode & FMODE_WRITE) ||
			       dmirror_mapping_write_sealed(mapping)))
			return -EACCES;
	}
	return 0;
}

static int dmirror_file_check(struct hmm_nc_file_cmd *cmd,
			      enum migrate_mode *kmode)
{
	if (cmd->flags & ~HMM_NC_FILE_FLAGS)
		return -EINVAL;
	if (dmirror_migrate_args_valid(cmd->addr, cmd->npages, cmd->mode,
				       cmd->reserved,
				       ARRAY_SIZE(cmd->reserved)))
		return -EINVAL;
	if (!(cmd->flags & HMM_NC_FILE_KERNEL_PAGES))
		return dmirror_kernel_mode(cmd->mode, kmode);
	/*
	 * migrate_vma_pages() moves the state and never copies: 6.1 passes
	 * MIGRATE_SYNC_NO_COPY inside, 6.11 and later no mode at all. The
	 * NO_COPY the caller names is that, which every kernel has; no
	 * callback of ours runs in kmode.
	 */
	if (cmd->mode != HMM_NC_MODE_SYNC_NO_COPY)
		return -EINVAL;
	*kmode = MIGRATE_SYNC;
	return 0;
}

static int dmirror_file_run(struct dmirror *dmirror, void *data, void *pages)
{
	struct hmm_nc_file_cmd *cmd = data;
	unsigned long end = cmd->addr + (cmd->npages << PAGE_SHIFT);
	struct dmirror_filemig fm = { .pages = pages };
	struct dmirror_job job;
	enum migrate_mode kmode;
	int ret;

	ret = dmirror_file_check(cmd, &kmode);
	if (ret)
		return ret;
	ret = dmirror_job_init(&job, dmirror->mdevice, &dmirror->faults);
	if (ret)
		return ret;
	fm.kernel_pages = cmd->flags & HMM_NC_FILE_KERNEL_PAGES;
	/* The kernel's own path moves the batch's state in one call. */
	job.copy_each = !fm.kernel_pages;
	job.kernel_moves = fm.kernel_pages;
	job.start = cmd->addr;
	job.mode = cmd->mode;
	job.kmode = kmode;
	job.flags = cmd->flags;
	job.priv = &fm;
	job.range_ok = dmirror_file_range_ok;
	job.refuse_shared = cmd->flags & HMM_NC_MIGRATE_PROBE;
	job.kernel_vma_check = cmd->flags & HMM_NC_FILE_KERNEL_VMA_CHECK;
	ret = dmirror_job_run(dmirror, &job, cmd->addr, end,
			      dmirror_batch_file);
	cmd->moved = job.moved;
	cmd->batches = job.batches;
	dmirror_job_fini(&job);
	return ret;
}

/* One struct hmm_nc_file_page a page. */
static const struct dmirror_user_array dmirror_file_pages = {
	.entry_size = sizeof(struct hmm_nc_file_page),
	.max_entries = HMM_NC_MIGRATE_MAX_PAGES,
	.npfns = 2,
	.pfn_offset = DMIRROR_PFN_PAIR(struct hmm_nc_file_page),
	.run = dmirror_file_run,
};

/**
 * dmirror_ioctl_migrate_file() - HMM_NC_MIGRATE_FILE
 * @dmirror: the open file the command came through
 * @data: struct hmm_nc_file_cmd, in kernel memory
 *
 * The range's file pages through the device's batch workflow, with the
 * page records under the rule of dmirror_user_array().
 *
 * Return: 0 or -errno, as lib/test_hmm_uapi.h documents.
 */
long dmirror_ioctl_migrate_file(struct dmirror *dmirror, void *data)
{
	struct hmm_nc_file_cmd *cmd = data;

	return dmirror_user_array(dmirror, cmd, cmd->pages, cmd->npages,
				  &dmirror_file_pages);
}

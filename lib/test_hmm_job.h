/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The migration job shared by the device's workflows: one batch of
 * migrate_vma_*() at a time, the DMA list of the batch and what the
 * job achieved. test_hmm_migrate.c owns it; the page-cache engine
 * (test_hmm_filemig.c) runs its batches through the same steps.
 */
#ifndef _TEST_HMM_JOB_H
#define _TEST_HMM_JOB_H

#include <linux/bitmap.h>
#include <linux/migrate.h>
#include <linux/mmu_notifier.h>
#include <linux/mm_types.h>

#include "test_hmm_device.h"

struct dmirror;
struct dmirror_device;

/* One migration: its device, its batch arrays and what it achieved. */
struct dmirror_job {
	struct dmirror_device *mdevice;
	struct migrate_vma args;
	unsigned long *src;		/* migrate pfns, one batch */
	unsigned long *dst;
	struct page **from;		/* the DMA list: from[i] -> to[i] */
	struct page **to;
	struct dmirror_engine engine;	/* the engine's parameters */
	struct dmirror_faults *faults;	/* the caller's switch, or NULL */
	/*
	 * The workflow copies each page right before its state moves
	 * (dmirror_job_engine_page()) when the engine works page by page;
	 * dmirror_job_engine() then leaves the batch alone.
	 */
	bool copy_each;
	/*
	 * The kernel's migrate_vma_pages() moves the batch's state: it
	 * never copies, whatever kmode says, so the engine does.
	 */
	bool kernel_moves;
	unsigned long ncopy;		/* entries in the DMA list */
	unsigned long held;		/* source pages locked for the batch */
	unsigned long start;		/* first address of the whole range */
	u32 mode;			/* enum hmm_nc_mode */
	enum migrate_mode kmode;
	u32 flags;			/* HMM_NC_MIGRATE_* */
	u8 *status;			/* per page of the range, or NULL */
	void *priv;			/* the workflow's own per-job state */
	/*
	 * The workflow's own check of the whole range, or NULL: run under
	 * the same mmap lock as every batch, so that nothing can be mapped
	 * over the range between the check and the batches.
	 */
	int (*range_ok)(struct dmirror_job *job, struct mm_struct *mm,
			unsigned long start, unsigned long end);
	struct mmu_interval_notifier *notifier;	/* the opener's mirror */
	/*
	 * A probe's batch: before collecting it, mark the pages another
	 * process maps too, which the sentinel would reach (see
	 * dmirror_job_shared()).
	 */
	bool refuse_shared;
	/*
	 * Leave hugetlb, DAX and VM_SPECIAL ranges to migrate_vma_setup()'s
	 * own refusal (HMM_NC_FILE_KERNEL_VMA_CHECK).
	 */
	bool kernel_vma_check;
	DECLARE_BITMAP(shared, HMM_NC_BATCH_PAGES);
	u64 moved;
	u64 batches;
};

typedef int (*dmirror_batch_fn)(struct dmirror_job *job,
				struct vm_area_struct *vma,
				unsigned long start, unsigned long end);

int dmirror_job_init(struct dmirror_job *job, struct dmirror_device *mdevice,
		     struct dmirror_faults *faults);
void dmirror_job_fini(struct dmirror_job *job);
void dmirror_job_queue(struct dmirror_job *job, struct page *from,
		       struct page *to);
void dmirror_job_lock_dst(struct dmirror_job *job, unsigned long i,
			  struct page *dpage);
int dmirror_job_setup(struct dmirror_job *job, struct vm_area_struct *vma,
		      unsigned long start, unsigned long end,
		      unsigned long select);
void dmirror_job_finalize(struct dmirror_job *job);
int dmirror_job_run(struct dmirror *dmirror, struct dmirror_job *job,
		    unsigned long start, unsigned long end,
		    dmirror_batch_fn fn);
bool dmirror_job_shared(struct dmirror_job *job, unsigned long i,
			struct page *spage);
bool dmirror_job_fault(struct dmirror_job *job, u32 point);
void dmirror_job_copy_failed(struct dmirror_job *job, unsigned long i);
int dmirror_job_engine(struct dmirror_job *job);
int dmirror_job_engine_page(struct dmirror_job *job, struct page *dpage,
			    struct page *spage);

#endif /* _TEST_HMM_JOB_H */

/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The simulated device behind each /dev/hmm_dmirror*: its private memory
 * (test_hmm_devmem.c), the mirror of the opening process's page tables
 * (test_hmm_mirror.c), the DMA engine (test_hmm_dma.c) and the migration
 * workflows built on them (test_hmm_migrate.c).
 */
#ifndef _TEST_HMM_DEVICE_H
#define _TEST_HMM_DEVICE_H

#include <linux/list.h>
#include <linux/mm_types.h>
#include <linux/mmu_notifier.h>
#include <linux/mutex.h>
#include <linux/overflow.h>
#include <linux/spinlock.h>
#include <linux/workqueue.h>
#include <linux/xarray.h>

struct dmirror;
struct dmirror_device;
struct hmm_dmirror_cmd;

/*
 * Device-private memory of one device: ZONE_DEVICE chunks created on
 * demand and returned once no page of theirs is in use.
 */
struct dmirror_devmem {
	spinlock_t lock;		/* chunk list, free maps, use counts */
	struct list_head chunks;
	struct mutex remove_lock;	/* one chunk removal at a time */
	struct work_struct reclaim;	/* returns chunks nobody uses */
	char name[32];			/* resource name in /proc/iomem */
};

/*
 * The DMA engine's parameters (HMM_NC_ENGINE_SET); all zero is the
 * default engine: batches of HMM_NC_BATCH_PAGES, one copy operation per
 * batch, no set-up cost. Read and written under one lock of the engine.
 */
struct dmirror_engine {
	u32 flags;		/* HMM_NC_ENGINE_* */
	u32 batch_pages;	/* 0: HMM_NC_BATCH_PAGES */
	u32 setup_us;
};

/*
 * Fault injection switches of one open file (HMM_NC_FAULT_SET), one per
 * enum hmm_nc_fault_point, under one lock.
 */
struct dmirror_fault_point {
	u32 skip;		/* events that still succeed */
	u32 times;		/* events that fail after them */
	u64 injected;		/* failures made so far */
};

struct dmirror_faults {
	spinlock_t lock;		/* guards every point */
	struct dmirror_fault_point point[HMM_NC_FAULT_COUNT];
};

/* Per open file: the opener's address space as the device sees it. */
struct dmirror_mirror {
	struct mmu_interval_notifier notifier;
	struct xarray pt;	/* user pfn -> page with the data, tagged */
	unsigned long entries;	/* in pt, at most HMM_NC_MIRROR_MAX_PAGES */
};

/*
 * Buffers a command allocates at the size its caller asks for (status
 * arrays, page records: up to 8 MiB): charged to the caller's memory
 * cgroup, where at the limit they fail with -ENOMEM instead of calling
 * the cgroup's OOM killer, and without a warning in the log, as the
 * caller can make them fail at will.
 */
#define DMIRROR_GFP_USER_BUF \
	(GFP_KERNEL_ACCOUNT | __GFP_RETRY_MAYFAIL | __GFP_NOWARN)

/* test_hmm_devmem.c */
void dmirror_devmem_init(struct dmirror_device *mdevice);
void dmirror_devmem_fini(struct dmirror_device *mdevice);
int dmirror_devmem_release(struct dmirror_device *mdevice, bool killable);
struct page *dmirror_devmem_alloc(struct dmirror_device *mdevice);
struct page *dmirror_devmem_backing(struct page *dpage);
struct dmirror_device *dmirror_devmem_owner(struct page *page);

/* test_hmm_mirror.c */
/*
 * The user range every command takes: page-aligned, 1 to
 * HMM_NC_MIGRATE_MAX_PAGES pages (which keeps a command's kernel buffers
 * and device memory bounded), not past the top of the address space.
 */
static inline int dmirror_range_valid(u64 addr, u64 npages)
{
	unsigned long end;

	if (addr & ~PAGE_MASK)
		return -EINVAL;
	if (!npages || npages > HMM_NC_MIGRATE_MAX_PAGES)
		return -EINVAL;
	if (check_add_overflow((unsigned long)addr,
			       (unsigned long)npages << PAGE_SHIFT, &end))
		return -EINVAL;
	return 0;
}

/* The checks every migration command makes of its arguments. */
static inline int dmirror_migrate_args_valid(u64 addr, u64 npages, u32 mode,
					     const u64 *reserved,
					     unsigned int nreserved)
{
	while (nreserved--)
		if (reserved[nreserved])
			return -EINVAL;
	if (mode >= HMM_NC_MODE_COUNT)
		return -EINVAL;
	return dmirror_range_valid(addr, npages);
}

int dmirror_mirror_init(struct dmirror *dmirror);
void dmirror_mirror_fini(struct dmirror *dmirror);
int dmirror_base_start(struct hmm_dmirror_cmd *cmd);
long dmirror_ioctl_read(struct dmirror *dmirror, void *data);
long dmirror_ioctl_write(struct dmirror *dmirror, void *data);
long dmirror_ioctl_snapshot(struct dmirror *dmirror, void *data);
long dmirror_ioctl_exclusive(struct dmirror *dmirror, void *data);
long dmirror_ioctl_check_exclusive(struct dmirror *dmirror, void *data);
long dmirror_ioctl_release(struct dmirror *dmirror, void *data);
int dmirror_mirror_map_device(struct dmirror *dmirror, unsigned long start,
			      unsigned long end);
int dmirror_mirror_read(struct dmirror *dmirror, struct hmm_dmirror_cmd *cmd,
			bool fault);
int dmirror_fops_mmap(struct file *filp, struct vm_area_struct *vma);

/* test_hmm_dma.c */
int dmirror_dma_copy(struct dmirror_device *mdevice, struct page **dst,
		     struct page **src, unsigned long npages,
		     struct dmirror_faults *faults);
void dmirror_dma_prime(struct dmirror_device *mdevice, struct page **dst,
		       unsigned long npages);
void dmirror_dma_engine(struct dmirror_device *mdevice,
			struct dmirror_engine *engine);
unsigned long dmirror_dma_batch_pages(const struct dmirror_engine *engine);
long dmirror_ioctl_engine_set(struct dmirror *dmirror, void *data);
long dmirror_ioctl_engine_get(struct dmirror *dmirror, void *data);

/* test_hmm_fault.c */
void dmirror_faults_init(struct dmirror_faults *faults);
bool dmirror_fault(struct dmirror_faults *faults,
		   struct dmirror_device *mdevice, u32 point);
long dmirror_ioctl_fault_set(struct dmirror *dmirror, void *data);
long dmirror_ioctl_fault_get(struct dmirror *dmirror, void *data);

/* test_hmm_migrate.c */
long dmirror_ioctl_migrate_to_dev(struct dmirror *dmirror, void *data);
long dmirror_ioctl_migrate_to_sys(struct dmirror *dmirror, void *data);
vm_fault_t dmirror_migrate_to_ram(struct vm_fault *vmf);
void dmirror_migrate_evict(struct dmirror_device *mdevice,
			   unsigned long start_pfn, unsigned long npages);
long dmirror_ioctl_migrate_anon(struct dmirror *dmirror, void *data);

/* test_hmm_filemig.c */
long dmirror_ioctl_migrate_file(struct dmirror *dmirror, void *data);

#endif /* _TEST_HMM_DEVICE_H */

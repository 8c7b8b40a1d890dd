/* SPDX-License-Identifier: GPL-2.0 WITH Linux-syscall-note */
/*
 * User ABI of the test_hmm NO_COPY test device (/dev/hmm_dmirror*).
 *
 * Commands 'H' 0x00-0x07 keep the layout and numbers of the Linux 6.1
 * HMM test device, so clients written for that device work unchanged.
 * Commands from HMM_NC_CMD_BASE up are this project's extensions.
 * Every extension structure has fixed-width fields only, a flags word,
 * and reserved space: unknown flags and non-zero reserved fields are
 * refused with -EINVAL.
 */
#ifndef _TEST_HMM_UAPI_H
#define _TEST_HMM_UAPI_H

#include <linux/types.h>
#include <linux/ioctl.h>

/* Base commands: the 6.1 test device ABI. */
struct hmm_dmirror_cmd {
	__u64 addr;	/* user virtual address of the range */
	__u64 ptr;	/* user buffer the device reads into / writes from */
	__u64 npages;	/* pages in the range */
	__u64 cpages;	/* out: pages handled */
	__u64 faults;	/* out: device faults taken */
};

#define HMM_DMIRROR_READ		_IOWR('H', 0x00, struct hmm_dmirror_cmd)
#define HMM_DMIRROR_WRITE		_IOWR('H', 0x01, struct hmm_dmirror_cmd)
#define HMM_DMIRROR_MIGRATE_TO_DEV	_IOWR('H', 0x02, struct hmm_dmirror_cmd)
#define HMM_DMIRROR_MIGRATE_TO_SYS	_IOWR('H', 0x03, struct hmm_dmirror_cmd)
#define HMM_DMIRROR_SNAPSHOT		_IOWR('H', 0x04, struct hmm_dmirror_cmd)
#define HMM_DMIRROR_EXCLUSIVE		_IOWR('H', 0x05, struct hmm_dmirror_cmd)
#define HMM_DMIRROR_CHECK_EXCLUSIVE	_IOWR('H', 0x06, struct hmm_dmirror_cmd)
#define HMM_DMIRROR_RELEASE		_IOWR('H', 0x07, struct hmm_dmirror_cmd)

/* One byte per page in the SNAPSHOT output buffer. */
enum {
	HMM_DMIRROR_PROT_ERROR			= 0xFF,
	HMM_DMIRROR_PROT_NONE			= 0x00,
	HMM_DMIRROR_PROT_READ			= 0x01,
	HMM_DMIRROR_PROT_WRITE			= 0x02,
	HMM_DMIRROR_PROT_PMD			= 0x04,
	HMM_DMIRROR_PROT_PUD			= 0x08,
	HMM_DMIRROR_PROT_ZERO			= 0x10,
	HMM_DMIRROR_PROT_DEV_PRIVATE_LOCAL	= 0x20,
	HMM_DMIRROR_PROT_DEV_PRIVATE_REMOTE	= 0x30,
	HMM_DMIRROR_PROT_DEV_COHERENT_LOCAL	= 0x40,
	HMM_DMIRROR_PROT_DEV_COHERENT_REMOTE	= 0x50,
};

/* Memory kinds of the 6.1 device; this device offers device-private. */
enum {
	HMM_DMIRROR_MEMORY_DEVICE_PRIVATE = 1,
	HMM_DMIRROR_MEMORY_DEVICE_COHERENT,
};

/* Extensions. */
#define HMM_NC_CMD_BASE		0x40
#define HMM_NC_ABI_VERSION	1

/* Which migrate callback moved (or refused) a page's state. */
enum hmm_nc_cb {
	HMM_NC_CB_DEVICE = 0,	/* migrate_vma_pages(): anonymous, device */
	HMM_NC_CB_FOLIO,	/* migrate_folio / migrate_folio_extra */
	HMM_NC_CB_BUFFER,	/* buffer_migrate_folio and its _norefs form */
	HMM_NC_CB_FILEMAP,	/* filemap_migrate_folio (iomap) */
	HMM_NC_CB_HUGETLBFS,	/* hugetlbfs_migrate_folio */
	HMM_NC_CB_BALLOON,	/* balloon_page_migrate */
	HMM_NC_CB_ZSMALLOC,	/* zs_page_migrate */
	HMM_NC_CB_AIO,		/* aio_migrate_folio */
	HMM_NC_CB_OTHER,
	HMM_NC_CB_COUNT,
};

/* Migration modes a caller may ask for (values are not the kernel's). */
enum hmm_nc_mode {
	HMM_NC_MODE_SYNC = 0,		/* MIGRATE_SYNC: the kernel copies */
	HMM_NC_MODE_SYNC_NO_COPY,	/* MIGRATE_SYNC_NO_COPY: we copy */
	HMM_NC_MODE_COUNT,
};

/*
 * Counters. The global set covers every device since module load; the
 * per-device set covers one device since it was created. When nothing
 * is in flight, pages_locked == pages_unlocked, pages_taken ==
 * pages_returned, and devmem_alloc - devmem_free is the number of
 * device pages still holding data.
 */
struct hmm_nc_counters {
	__u64 batches;		/* DMA copy operations issued */
	__u64 pages_copied;	/* pages copied by the DMA engine */
	__u64 pages_locked;	/* source pages locked by the engine */
	__u64 pages_unlocked;
	__u64 pages_taken;	/* pages isolated or referenced by the engine */
	__u64 pages_returned;	/* ... and given back */
	__u64 devmem_alloc;	/* device-private pages handed out */
	__u64 devmem_free;	/* device-private pages given back */
	__u64 devmem_chunks;	/* device memory chunks created */
	__u64 cpu_faults;	/* migrate_to_ram() calls */
	__u64 mirror_faults;	/* hmm_range_fault() retries and faults */
	__u64 invalidations;	/* mmu interval notifier invalidations */
	__u64 refusals;		/* callbacks that returned -EINVAL */
	__u64 migrated[HMM_NC_CB_COUNT][HMM_NC_MODE_COUNT];
	__u64 failed[HMM_NC_CB_COUNT][HMM_NC_MODE_COUNT];
	__u64 reserved[16];
};

#define HMM_NC_COUNTERS_GLOBAL	(1U << 0)	/* module-wide, not per device */
#define HMM_NC_COUNTERS_FLAGS	HMM_NC_COUNTERS_GLOBAL

struct hmm_nc_counters_cmd {
	__u32 flags;		/* in: HMM_NC_COUNTERS_* */
	__u32 abi_version;	/* out: HMM_NC_ABI_VERSION */
	__u64 reserved[2];	/* in: must be zero */
	struct hmm_nc_counters counters;	/* out */
};

#define HMM_NC_GET_COUNTERS \
	_IOWR('H', HMM_NC_CMD_BASE + 0x00, struct hmm_nc_counters_cmd)

#endif /* _TEST_HMM_UAPI_H */

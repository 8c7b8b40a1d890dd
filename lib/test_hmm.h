/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Internal interfaces of the test_hmm NO_COPY test device.
 */
#ifndef _TEST_HMM_H
#define _TEST_HMM_H

#include <linux/cdev.h>
#include <linux/mutex.h>
#include <linux/percpu_counter.h>

#include "test_hmm_uapi.h"
#include "test_hmm_device.h"

#define DMIRROR_NDEVICES	2

/*
 * Who we are, for HMM_NC_INFO and /sys/module/test_hmm/version: the
 * kernel's own test_hmm.ko serves the same device names but has neither.
 */
#define DMIRROR_MODULE_NAME	"test_hmm_nocopy"
#define DMIRROR_VERSION		"2.0"

/* One counter set: global, or one per device. */
struct dmirror_counters {
	atomic64_t batches;
	atomic64_t pages_copied;
	atomic64_t pages_locked;
	atomic64_t pages_unlocked;
	atomic64_t pages_taken;
	atomic64_t pages_returned;
	atomic64_t devmem_alloc;
	atomic64_t devmem_free;
	atomic64_t devmem_chunks;
	atomic64_t cpu_faults;
	atomic64_t mirror_faults;
	atomic64_t invalidations;
	atomic64_t refusals;
	atomic64_t faults_injected;
	atomic64_t copy_failed;
	atomic64_t migrated[HMM_NC_CB_COUNT][HMM_NC_MODE_COUNT];
	atomic64_t failed[HMM_NC_CB_COUNT][HMM_NC_MODE_COUNT];
};

/* A simulated device: one char device node and its memory. */
struct dmirror_device {
	struct cdev cdevice;
	unsigned int index;
	struct dmirror_counters counters;
	struct dmirror_devmem devmem;
	struct dmirror_engine engine;	/* test_hmm_dma.c */
	struct dmirror_refuse *refuse;	/* test_hmm_refuse_cmd.c */
};

/* Per open file: the device and the process it mirrors. */
struct dmirror {
	struct dmirror_device *mdevice;
	struct mutex mutex;		/* orders mirror updates */
	struct dmirror_mirror mirror;
	struct dmirror_faults faults;	/* test_hmm_fault.c */
};

/*
 * Counter updates go to the device's set and the global set at once, so
 * the two can never disagree about what happened.
 */
extern struct dmirror_counters dmirror_global_counters;

static inline void dmirror_count(struct dmirror_device *mdev, size_t offset,
				 s64 n)
{
	atomic64_add(n, (atomic64_t *)((char *)&mdev->counters + offset));
	atomic64_add(n, (atomic64_t *)((char *)&dmirror_global_counters +
				       offset));
}

/* Adds n to one counter, named as a member of struct dmirror_counters. */
#define dmirror_count_add(mdev, field, n) \
	dmirror_count(mdev, offsetof(struct dmirror_counters, field), n)

void dmirror_counters_read(const struct dmirror_counters *c,
			   struct hmm_nc_counters *out);
long dmirror_ioctl_counters(struct dmirror *dmirror, void *data);

/**
 * struct dmirror_user_array - the page array of one command
 * @entry_size: bytes of one entry, as lib/test_hmm_uapi.h lays it out
 * @max_entries: the most entries one call may name
 * @copy_in: the caller fills the entries in, and the array must be there
 *	(HMM_NC_RF_MIGRATE); otherwise the entries are only the command's
 *	answers, and the caller may pass no array (0)
 * @npfns: PFN fields in an entry (0, or 2: old_pfn and new_pfn), hidden
 *	from a caller without CAP_SYS_ADMIN
 * @pfn_offset: where in an entry they start (DMIRROR_PFN_PAIR())
 * @run: the command itself: gets the command's argument and the kernel's
 *	copy of the entries, fills the entries in, returns 0 or -errno
 *
 * One constant of these per command; dmirror_user_array() does the rest.
 */
struct dmirror_user_array {
	size_t entry_size;
	u64 max_entries;
	bool copy_in;
	unsigned int npfns;
	size_t pfn_offset;
	int (*run)(struct dmirror *dmirror, void *cmd, void *entries);
};

/*
 * The offset of the old_pfn/new_pfn pair of an entry of type @type, which
 * must be two adjacent __u64 fields: .npfns = 2 goes with it.
 */
#define DMIRROR_PFN_PAIR(type)						\
	(offsetof(type, old_pfn) +					\
	 BUILD_BUG_ON_ZERO(offsetof(type, new_pfn) !=			\
			   offsetof(type, old_pfn) + sizeof(__u64)))

long dmirror_user_array(struct dmirror *dmirror, void *cmd, u64 uaddr, u64 nr,
			const struct dmirror_user_array *ua);

/* test_hmm_refuse_cmd.c: balloon, zsmalloc and aio refusal paths. */
struct dmirror_refuse;
int dmirror_refuse_init(struct dmirror_device *mdevice);
void dmirror_refuse_fini(struct dmirror_device *mdevice);
long dmirror_refuse_ioctl_hold(struct dmirror *dmirror, void *data);
long dmirror_refuse_ioctl_release(struct dmirror *dmirror, void *data);
long dmirror_refuse_ioctl_migrate(struct dmirror *dmirror, void *data);
long dmirror_refuse_ioctl_state(struct dmirror *dmirror, void *data);

/* test_hmm_coremig.c: the kernel's migration core, migrate_pages(). */
void dmirror_core_init(void);
int dmirror_core_wq_init(void);
void dmirror_core_fini(void);
long dmirror_ioctl_core_migrate(struct dmirror *dmirror, void *data);
long dmirror_ioctl_core_lock(struct dmirror *dmirror, void *data);

#endif /* _TEST_HMM_H */

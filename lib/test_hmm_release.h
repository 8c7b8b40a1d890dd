/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The version gate and the feature flags: which kernel releases the
 * module builds for, and what the release it is built for offers. The
 * only place, with the compat files (test_hmm_compat.h), that looks at
 * the kernel's version.
 *
 * A release is supported when lib/ holds its compat file,
 * test_hmm_compat_<VERSION>.<PATCHLEVEL>.h: lib/Kbuild names it in
 * DMIRROR_RELEASE_H for the kernel it builds against. The releases are
 * those of tools/vm/releases.sh; tools/tests/test_releases.sh checks that
 * the two lists agree.
 */
#ifndef _TEST_HMM_RELEASE_H
#define _TEST_HMM_RELEASE_H

#include <linux/bits.h>
#include <linux/types.h>
#include <linux/version.h>

#include "test_hmm_uapi.h"

/*
 * The gate: without its compat file the build would stop at a missing
 * include; say what is missing instead.
 */
#ifndef DMIRROR_RELEASE_H
#error "test_hmm: build the module with its lib/Kbuild"
#elif !__has_include(DMIRROR_RELEASE_H)
#error "test_hmm: release not supported: no lib/test_hmm_compat_<release>.h"
#endif

/* Kernels before 5.14 do not define LINUX_VERSION_MAJOR: compare codes. */
#define DMIRROR_BEFORE(major, minor)					\
	(KERNEL_VERSION(major, minor, 0) > LINUX_VERSION_CODE)

/* The release the module is built for, as HMM_NC_INFO reports it. */
#define DMIRROR_KERNEL_VERSION	LINUX_VERSION_CODE

/*
 * Whether the kernel has MIGRATE_SYNC_NO_COPY: include/linux/migrate_mode.h
 * lists it from 4.14 to 6.10. The mm series "mm: remove
 * MIGRATE_SYNC_NO_COPY mode" (Kefeng Wang) went into mm in June 2024,
 * after v6.10-rc1, and was merged for v6.11: 6.11 and later list only
 * ASYNC, SYNC_LIGHT and SYNC. Checked here against the 5.10.262,
 * 6.1.192 and 6.12.117 trees (present, present, absent); see
 * docs/porting-6.12.md.
 */
#define DMIRROR_HAVE_NO_COPY	DMIRROR_BEFORE(6, 11)

/*
 * Whether a page-cache folio still on the LRU may go through its
 * mapping's migrate_folio callback. The migration core isolates it from
 * the LRU first; folio_isolate_lru() is not exported, so on 5.10 and 6.1
 * the aio kind migrates ring pages referenced, not isolated. 6.12's
 * mem_cgroup_migrate() asserts that the old folio is off the LRU
 * (VM_BUG_ON_FOLIO under DEBUG_VM); 6.1's and 5.10's do not. Checked in
 * 6.1.192 and 6.12.117 only: the release between them that added the
 * check is not pinned down, so this says no from 6.12, where the aio
 * kind isolates the page first (dmirror_core_isolate_lru_page()).
 */
#define DMIRROR_LRU_FOLIO_MIGRATES	DMIRROR_BEFORE(6, 12)

/* make_device_exclusive_range() came in 5.14. */
#define DMIRROR_HAVE_EXCLUSIVE	(!DMIRROR_BEFORE(5, 14))

/*
 * The migration core's entry points that mm/ does not export
 * (test_hmm_coremig.c) are found by name at load, from the table of
 * dmirror_core_sym_table(), on every release: each release's compat
 * file names them and spells out their types (5.10: pages; 6.1 and
 * 6.12: folios, with 6.12's folio callbacks of migrate_pages()).
 */

/*
 * test_hmm_coremig.c: the HMM_NC_FEAT_* whose entry points it found at
 * load (none before it ran, nor without CONFIG_KPROBES).
 */
u64 dmirror_core_features(void);

/* The migrate modes of this kernel, as bits 1 << HMM_NC_MODE_*. */
static inline u32 dmirror_kernel_modes(void)
{
	u32 modes = BIT(HMM_NC_MODE_SYNC) | BIT(HMM_NC_MODE_SYNC_LIGHT) |
		    BIT(HMM_NC_MODE_ASYNC);

	if (DMIRROR_HAVE_NO_COPY)
		modes |= BIT(HMM_NC_MODE_SYNC_NO_COPY);
	return modes;
}

/*
 * The optional kernel behaviours this build has (HMM_NC_FEAT_*). The
 * refusals are the NO_COPY refusals of the balloon, zsmalloc and aio
 * callbacks: without the mode there are none.
 */
static inline u64 dmirror_kernel_features(void)
{
	u64 features = 0;

	if (DMIRROR_HAVE_EXCLUSIVE)
		features |= HMM_NC_FEAT_EXCLUSIVE;
	if (DMIRROR_HAVE_NO_COPY)
		features |= HMM_NC_FEAT_REFUSALS;
	if (DMIRROR_LRU_FOLIO_MIGRATES)
		features |= HMM_NC_FEAT_AIO_RING;
	return features | dmirror_core_features();
}

#endif /* _TEST_HMM_RELEASE_H */

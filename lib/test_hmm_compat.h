/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Every difference between the kernel versions the test device builds
 * against lives here, so the logic reads the same on all of them.
 *
 * Supported: Linux 6.1 (the Debian 6.1.y tree, which carries
 * migrate_device_range() from 6.2) and Linux 6.12 (Debian's 6.12.y).
 * Each release has a block of its own in the version gate below; the
 * helpers test features (DMIRROR_HAVE_*), not releases, where they can.
 *
 * What 6.12 changed for us:
 * - MIGRATE_SYNC_NO_COPY is gone (see DMIRROR_HAVE_NO_COPY): NO_COPY
 *   requests answer -EOPNOTSUPP, the info command reports SYNC only and
 *   no refusals (the balloon, zsmalloc and aio callbacks no longer look
 *   at the mode, so there is nothing left to refuse).
 *   migrate_vma_pages() still moves state without copying (6.11 calls
 *   folio_migrate_mapping() and folio_migrate_flags() where it passed
 *   the mode), so the device path behaves as on 6.1.
 * - filemap_get_folio() returns an ERR_PTR for a hole (6.3).
 * - page_mapping() is gone (6.9): folio_mapping(), in 6.1 as well.
 * - struct pagevec is gone (6.5): a folio_batch drains the LRU.
 * - class_create() lost its owner argument (6.4).
 * - PageMovable() is no longer exported: __PageMovable() plus
 *   page_movable_ops(), both inline in 6.1 and 6.12.
 * - mem_cgroup_migrate() asserts the old folio is off the LRU, which the
 *   aio kind cannot ensure (DMIRROR_LRU_FOLIO_MIGRATES): aio ring pages
 *   answer -EOPNOTSUPP, and the info command does not list them.
 */
#ifndef _TEST_HMM_COMPAT_H
#define _TEST_HMM_COMPAT_H

#include <linux/version.h>
#include <linux/buffer_head.h>
#include <linux/device.h>
#include <linux/err.h>
#include <linux/gfp.h>
#include <linux/magic.h>
#include <linux/memremap.h>
#include <linux/migrate.h>
#include <linux/mm.h>
#include <linux/rmap.h>
#include <linux/pagemap.h>
#include <linux/pagevec.h>
#include <linux/smp.h>
#include <linux/zsmalloc.h>

#include "test_hmm_uapi.h"

/*
 * The version gate: one block per supported release, each defining
 * DMIRROR_RELEASE_OK. LINUX_VERSION_MAJOR and _PATCHLEVEL exist from
 * 5.14. The helpers test DMIRROR_BEFORE() the release that changed what
 * they use.
 */
#define DMIRROR_BEFORE(major, minor)					\
	((LINUX_VERSION_MAJOR << 8) + LINUX_VERSION_PATCHLEVEL <	\
	 ((major) << 8) + (minor))

/* Linux 6.1 */
#if LINUX_VERSION_MAJOR == 6 && LINUX_VERSION_PATCHLEVEL == 1
#define DMIRROR_RELEASE_OK
#endif

/* Linux 6.12 */
#if LINUX_VERSION_MAJOR == 6 && LINUX_VERSION_PATCHLEVEL == 12
#define DMIRROR_RELEASE_OK
#endif

#ifndef DMIRROR_RELEASE_OK
#error "test_hmm: only Linux 6.1 and 6.12 are supported so far (see the version gate)"
#endif

/*
 * Whether the kernel has MIGRATE_SYNC_NO_COPY: include/linux/migrate_mode.h
 * lists it from 4.14 to 6.10. The mm series "mm: remove
 * MIGRATE_SYNC_NO_COPY mode" (Kefeng Wang) went into mm in June 2024,
 * after v6.10-rc1, and was merged for v6.11: 6.11 and later list only
 * ASYNC, SYNC_LIGHT and SYNC. Checked here against the 6.1.192 and
 * 6.12.117 trees (present, absent); see docs/porting-6.12.md.
 */
#define DMIRROR_HAVE_NO_COPY	DMIRROR_BEFORE(6, 11)

/*
 * Whether a page-cache folio still on the LRU may go through its
 * mapping's migrate_folio callback. The migration core isolates it from
 * the LRU first; a module cannot (folio_isolate_lru() is not exported),
 * so the aio kind migrates ring pages referenced, not isolated. 6.12's
 * mem_cgroup_migrate() asserts that the old folio is off the LRU
 * (VM_BUG_ON_FOLIO under DEBUG_VM); 6.1's does not. Checked in 6.1.192
 * and 6.12.117 only: the release between them that added the check is
 * not pinned down, so this says no from 6.12.
 */
#define DMIRROR_LRU_FOLIO_MIGRATES	DMIRROR_BEFORE(6, 12)

/* The release the module is built for, as HMM_NC_INFO reports it. */
#define DMIRROR_KERNEL_VERSION	LINUX_VERSION_CODE

/* The migrate modes of this kernel, as bits 1 << HMM_NC_MODE_*. */
static inline u32 dmirror_kernel_modes(void)
{
#if DMIRROR_HAVE_NO_COPY
	return BIT(HMM_NC_MODE_SYNC) | BIT(HMM_NC_MODE_SYNC_NO_COPY);
#else
	return BIT(HMM_NC_MODE_SYNC);
#endif
}

/*
 * The optional kernel behaviours this build has (HMM_NC_FEAT_*). The
 * refusals are the NO_COPY refusals of the balloon, zsmalloc and aio
 * callbacks: without the mode there are none.
 */
static inline u64 dmirror_kernel_features(void)
{
	u64 features = HMM_NC_FEAT_EXCLUSIVE;

	if (DMIRROR_HAVE_NO_COPY)
		features |= HMM_NC_FEAT_REFUSALS;
	if (DMIRROR_LRU_FOLIO_MIGRATES)
		features |= HMM_NC_FEAT_AIO_RING;
	return features;
}

/*
 * Whether this kernel can serve an ioctl command of the device; the
 * dispatcher answers -EOPNOTSUPP for one it cannot.
 */
static inline bool dmirror_kernel_serves(unsigned int cmd)
{
	return true;
}

/* The kernel's migrate_mode for one of ours, or -EOPNOTSUPP. */
static inline int dmirror_kernel_mode(u32 mode, enum migrate_mode *kmode)
{
	switch (mode) {
	case HMM_NC_MODE_SYNC:
		*kmode = MIGRATE_SYNC;
		return 0;
	case HMM_NC_MODE_SYNC_NO_COPY:
#if DMIRROR_HAVE_NO_COPY
		*kmode = MIGRATE_SYNC_NO_COPY;
		return 0;
#else
		return -EOPNOTSUPP;
#endif
	default:
		return -EINVAL;
	}
}

/* page_mapping(), gone in 6.9; folio_mapping() is in 6.1 too. */
static inline struct address_space *dmirror_page_mapping(struct page *page)
{
	return folio_mapping(page_folio(page));
}

/* The device class; class_create() lost its owner argument in 6.4. */
static inline struct class *dmirror_class_create(const char *name)
{
#if DMIRROR_BEFORE(6, 4)
	return class_create(THIS_MODULE, name);
#else
	return class_create(name);
#endif
}

/*
 * Move an anonymous page's state (and its data unless the mode says
 * otherwise) to a new page; both pages are locked.
 */
static inline int dmirror_migrate_state(struct page *dst, struct page *src,
					enum migrate_mode kmode)
{
	return migrate_folio(dmirror_page_mapping(src), page_folio(dst),
			     page_folio(src), kmode);
}

/* A fresh system page for user data at addr of vma, or NULL. */
static inline struct page *dmirror_alloc_user_page(struct vm_area_struct *vma,
						   unsigned long addr)
{
	return alloc_page_vma(GFP_HIGHUSER_MOVABLE, vma, addr);
}

/* Hand out a free device-private page: one reference, locked. */
static inline void dmirror_device_page_init(struct page *page)
{
	zone_device_page_init(page);
}

/*
 * Make [start, end) exclusive to the device; returns the number of
 * entries filled in pages[] (locked and referenced, NULL where it
 * failed) or -errno.
 */
static inline int dmirror_make_exclusive(struct mm_struct *mm,
					 unsigned long start, unsigned long end,
					 struct page **pages, void *owner)
{
	return make_device_exclusive_range(mm, start, end, pages, owner);
}

/* Refusal paths (test_hmm_refuse.c and the files of its page kinds). */

/* Whether the kernel copies a page's data in this mode. */
static inline bool dmirror_kernel_copies(enum migrate_mode kmode)
{
#if DMIRROR_HAVE_NO_COPY
	return kmode != MIGRATE_SYNC_NO_COPY;
#else
	return true;
#endif
}

/*
 * The page-cache folio at index, referenced, or NULL. From 6.3 a hole
 * is ERR_PTR(-ENOENT); every caller tests for NULL.
 */
static inline struct folio *dmirror_filemap_folio(struct address_space *mapping,
						  pgoff_t index)
{
	struct folio *folio = filemap_get_folio(mapping, index);

	return IS_ERR(folio) ? NULL : folio;
}

/*
 * lru_add_drain() is not exported; releasing an empty batch drains this
 * CPU's LRU batches all the same. struct pagevec is gone from 6.5, where
 * __folio_batch_release() does it (folio_batch_release() skips an empty
 * batch, so it would drain nothing).
 */
static inline int dmirror_lru_drain_cpu(void *unused)
{
#if DMIRROR_BEFORE(6, 5)
	struct pagevec pvec;

	pagevec_init(&pvec);
	__pagevec_release(&pvec);
#else
	struct folio_batch fbatch;

	folio_batch_init(&fbatch);
	__folio_batch_release(&fbatch);
#endif
	return 0;
}

/* lru_add_drain_all(), which is not exported either. */
static inline void dmirror_lru_drain_all(void)
{
	unsigned int cpu;

	for_each_online_cpu(cpu)
		smp_call_on_cpu(cpu, dmirror_lru_drain_cpu, NULL, false);
}

/* A zsmalloc handle, or 0 (6.1 returns an error value, 5.10 zero). */
static inline unsigned long dmirror_zs_malloc(struct zs_pool *pool,
					      size_t size, gfp_t gfp)
{
	unsigned long handle = zs_malloc(pool, size, gfp);

	return IS_ERR_VALUE(handle) ? 0 : handle;
}

/*
 * Non-LRU movable pages: the owner's operations go in page->mapping
 * (5.10 names an address_space there, 6.0 on movable_operations). The
 * page is locked.
 */
static inline void dmirror_page_set_movable(struct page *page,
					    const struct movable_operations *mops)
{
	__SetPageMovable(page, mops);
}

static inline void dmirror_page_clear_movable(struct page *page)
{
	__ClearPageMovable(page);
}

/*
 * PageMovable(), which 6.12 no longer exports: page->mapping names
 * movable operations. The page is locked.
 */
static inline bool dmirror_page_movable_locked(struct page *page)
{
	return __PageMovable(page) && page_movable_ops(page);
}

/* fs/aio.c's AIO_RING_MAGIC: its ring header's and its file system's. */
#define DMIRROR_AIO_RING_MAGIC	0xa10a10a1

/* Page-cache migration (test_hmm_filemig.c). */

/* Whether a callback the kernel does not export is the one named. */
static inline bool dmirror_cb_named(const void *cb, const char *name)
{
	char buf[64];

	snprintf(buf, sizeof(buf), "%ps", cb);
	return !strcmp(buf, name);
}

/*
 * The kind of migrate callback of a mapping (NULL: an anonymous page).
 * buffer_migrate_folio_norefs() and hugetlbfs_migrate_folio() are not
 * exported, so they are told by name and by file system.
 */
static inline int dmirror_cache_cb(struct address_space *mapping)
{
	const void *cb;

	if (!mapping)
		return HMM_NC_CB_FOLIO;
	cb = mapping->a_ops->migrate_folio;
	if (cb == migrate_folio)
		return HMM_NC_CB_FOLIO;
	if (cb == buffer_migrate_folio)
		return HMM_NC_CB_BUFFER;
	if (cb == filemap_migrate_folio)
		return HMM_NC_CB_FILEMAP;
	if (mapping->host && mapping->host->i_sb->s_magic == HUGETLBFS_MAGIC)
		return HMM_NC_CB_HUGETLBFS;
	if (cb && dmirror_cb_named(cb, "buffer_migrate_folio_norefs"))
		return HMM_NC_CB_BUFFER;
	return HMM_NC_CB_OTHER;
}

/*
 * Move a page's state through its mapping's own callback, as the
 * migration core does; both folios are locked. A mapping without one
 * would need fallback_migrate_folio(), which is not exported.
 */
static inline int dmirror_cache_migrate(struct address_space *mapping,
					struct folio *dst, struct folio *src,
					enum migrate_mode kmode)
{
	if (!mapping)
		return migrate_folio(NULL, dst, src, kmode);
	if (!mapping->a_ops->migrate_folio)
		return -EOPNOTSUPP;
	return mapping->a_ops->migrate_folio(mapping, dst, src, kmode);
}

/*
 * After a successful move the old page-cache folio must not keep its
 * mapping, or freeing it reports a bad page; anonymous folios keep it
 * for their statistics. move_to_new_folio() does this for the kernel's
 * own migrations; migrate_vma_finalize() does not.
 */
static inline void dmirror_cache_forget(struct folio *src)
{
	if (!folio_mapping_flags(src))
		src->mapping = NULL;
}

/* The old folio's mapping is gone (anonymous folios keep theirs). */
static inline bool dmirror_cache_forgotten(struct folio *src)
{
	return folio_mapping_flags(src) || !src->mapping;
}

/* Every buffer head of dst points at it and src has none left. */
static inline bool dmirror_bh_moved(struct folio *dst, struct folio *src)
{
	struct buffer_head *head = folio_buffers(dst), *bh;

	if (!head || folio_buffers(src))
		return false;
	bh = head;
	do {
		if (bh->b_page != &dst->page)
			return false;
		bh = bh->b_this_page;
	} while (bh != head);
	return true;
}

#endif /* _TEST_HMM_COMPAT_H */

/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Every difference between the kernel versions the test device builds
 * against lives here, so the logic reads the same on all of them.
 *
 * Supported so far: Linux 6.1 (the Debian 6.1.y tree, which carries
 * migrate_device_range() from 6.2). Next: 5.10, where the mode exists
 * but callbacks take struct page, and 6.12, where MIGRATE_SYNC_NO_COPY
 * is gone and dmirror_kernel_mode() must refuse it.
 */
#ifndef _TEST_HMM_COMPAT_H
#define _TEST_HMM_COMPAT_H

#include <linux/version.h>
#include <linux/buffer_head.h>
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
 * Versions are told apart by major and patch level; kernels before 5.14
 * (5.10) do not define LINUX_VERSION_MAJOR at all.
 */
#if !defined(LINUX_VERSION_MAJOR) || LINUX_VERSION_MAJOR != 6 || \
	LINUX_VERSION_PATCHLEVEL != 1
#error "test_hmm: only Linux 6.1 is supported so far (see test_hmm_compat.h)"
#endif

/* The release the module is built for, as HMM_NC_INFO reports it. */
#define DMIRROR_KERNEL_VERSION	LINUX_VERSION_CODE

/* The migrate modes of this kernel, as bits 1 << HMM_NC_MODE_*. */
static inline u32 dmirror_kernel_modes(void)
{
	return BIT(HMM_NC_MODE_SYNC) | BIT(HMM_NC_MODE_SYNC_NO_COPY);
}

/* The optional kernel entry points this build found (HMM_NC_FEAT_*). */
static inline u64 dmirror_kernel_features(void)
{
	return HMM_NC_FEAT_REFUSALS | HMM_NC_FEAT_EXCLUSIVE;
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
		*kmode = MIGRATE_SYNC_NO_COPY;
		return 0;
	default:
		return -EINVAL;
	}
}

/*
 * Move an anonymous page's state (and its data unless the mode says
 * otherwise) to a new page; both pages are locked.
 */
static inline int dmirror_migrate_state(struct page *dst, struct page *src,
					enum migrate_mode kmode)
{
	return migrate_folio(page_mapping(src), page_folio(dst),
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
	return kmode != MIGRATE_SYNC_NO_COPY;
}

/* The page-cache folio at index, referenced, or NULL (ERR_PTR in 6.3+). */
static inline struct folio *dmirror_filemap_folio(struct address_space *mapping,
						  pgoff_t index)
{
	return filemap_get_folio(mapping, index);
}

/*
 * lru_add_drain() is not exported; releasing an empty pagevec drains
 * this CPU's LRU batches all the same (folio_batch from 6.5).
 */
static inline int dmirror_lru_drain_cpu(void *unused)
{
	struct pagevec pvec;

	pagevec_init(&pvec);
	__pagevec_release(&pvec);
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

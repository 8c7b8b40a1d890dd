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
#include <linux/hugetlb.h>
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
	return BIT(HMM_NC_MODE_SYNC) | BIT(HMM_NC_MODE_SYNC_NO_COPY) |
	       BIT(HMM_NC_MODE_SYNC_LIGHT) | BIT(HMM_NC_MODE_ASYNC);
}

/* test_hmm_coremig.c: the HMM_NC_FEAT_CORE_* whose entry points it found. */
u64 dmirror_core_features(void);

/* The optional kernel entry points this build found (HMM_NC_FEAT_*). */
static inline u64 dmirror_kernel_features(void)
{
	return HMM_NC_FEAT_REFUSALS | HMM_NC_FEAT_EXCLUSIVE |
	       dmirror_core_features();
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

/*
 * The migration core (test_hmm_coremig.c). DMIRROR_CORE_MIGRATE says
 * this block describes the kernel's entry points; a release without it
 * builds the commands as stubs that answer EOPNOTSUPP.
 */
#define DMIRROR_CORE_MIGRATE	1

/*
 * The kernel's migrate_mode for any of ours, for migrate_pages(): the
 * lighter modes are controls for the core's switches.
 */
static inline int dmirror_kernel_core_mode(u32 mode, enum migrate_mode *kmode)
{
	switch (mode) {
	case HMM_NC_MODE_SYNC_LIGHT:
		*kmode = MIGRATE_SYNC_LIGHT;
		return 0;
	case HMM_NC_MODE_ASYNC:
		*kmode = MIGRATE_ASYNC;
		return 0;
	default:
		return dmirror_kernel_mode(mode, kmode);
	}
}

/*
 * Entry points of mm/ that the module calls but 6.1 does not export.
 * They are found by name once at load (test_hmm_coremig.c) and kept in
 * pointers of the type 6.1 declares: where a header declares one, the
 * pointer is typeof() that declaration, so a tree that changed it fails
 * to build here instead of calling it wrongly; the others are spelled
 * out as 6.1 has them (mm/internal.h, and the hugetlb isolation, which
 * 6.1.y stable trees name isolate_hugetlb or folio_isolate_hugetlb with
 * the same arguments). A port to another release adapts this block.
 */
struct dmirror_core_syms {
	typeof(migrate_pages) *migrate_pages;
	typeof(putback_movable_pages) *putback_movable_pages;
	int (*isolate_lru)(struct folio *folio);	/* 0 or -EBUSY */
	int (*isolate_hugetlb)(struct page *page, struct list_head *list);
	typeof(alloc_huge_page_nodemask) *alloc_huge_page;
};

struct dmirror_core_sym {
	const char *name;
	size_t offset;		/* in struct dmirror_core_syms */
	u64 feature;		/* HMM_NC_FEAT_CORE_* it is part of */
};

#define DMIRROR_CORE_SYM(_name, _field, _feat) \
	{ .name = (_name), \
	  .offset = offsetof(struct dmirror_core_syms, _field), \
	  .feature = (_feat) }

/*
 * The names to look up, in order (the first found fills a field), and
 * how many there are.
 */
static inline const struct dmirror_core_sym *dmirror_core_sym_table(size_t *n)
{
	static const struct dmirror_core_sym table[] = {
		DMIRROR_CORE_SYM("migrate_pages", migrate_pages,
				 HMM_NC_FEAT_CORE_MIGRATE),
		DMIRROR_CORE_SYM("putback_movable_pages", putback_movable_pages,
				 HMM_NC_FEAT_CORE_MIGRATE),
		DMIRROR_CORE_SYM("folio_isolate_lru", isolate_lru,
				 HMM_NC_FEAT_CORE_MIGRATE),
		DMIRROR_CORE_SYM("folio_isolate_hugetlb", isolate_hugetlb,
				 HMM_NC_FEAT_CORE_HUGETLB),
		DMIRROR_CORE_SYM("isolate_hugetlb", isolate_hugetlb,
				 HMM_NC_FEAT_CORE_HUGETLB),
		DMIRROR_CORE_SYM("alloc_huge_page_nodemask", alloc_huge_page,
				 HMM_NC_FEAT_CORE_HUGETLB),
	};

	*n = ARRAY_SIZE(table);
	return table;
}

/*
 * migrate_pages() tries a folio that keeps failing with -EAGAIN this
 * many times (NR_MAX_MIGRATE_PAGES_RETRY, private to mm/migrate.c) and
 * gives up at once on any other error.
 */
#define DMIRROR_CORE_PASSES	10

/* Isolate an LRU folio (the caller holds a reference): 0 or -EBUSY. */
static inline int dmirror_core_isolate_lru(const struct dmirror_core_syms *s,
					   struct folio *folio)
{
	return s->isolate_lru(folio);
}

/* Isolate a hugetlb folio onto list, with a reference: 0 or -EBUSY. */
static inline int dmirror_core_isolate_hugetlb(const struct dmirror_core_syms *s,
					       struct folio *folio,
					       struct list_head *list)
{
	return s->isolate_hugetlb(&folio->page, list);
}

/* A free hugetlb folio of h's size from its pool, or NULL. */
static inline struct folio *dmirror_core_alloc_hugetlb(const struct dmirror_core_syms *s,
						       struct hstate *h, int nid)
{
	gfp_t gfp = htlb_modify_alloc_mask(h, GFP_USER | __GFP_MOVABLE |
					   __GFP_RETRY_MAYFAIL);
	struct page *page = s->alloc_huge_page(h, nid, NULL, gfp);

	return page ? page_folio(page) : NULL;
}

/* One user page of the current process, referenced: 0 or -errno. */
static inline int dmirror_core_user_page(unsigned long addr, struct page **page)
{
	long n = get_user_pages(addr, 1, 0, page, NULL);

	return n == 1 ? 0 : (n < 0 ? n : -EFAULT);
}

#endif /* _TEST_HMM_COMPAT_H */

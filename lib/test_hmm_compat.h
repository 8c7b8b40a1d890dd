/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Every difference between the kernel versions the test device builds
 * against lives here, so the logic reads the same on all of them.
 *
 * Supported: Linux 5.10, 6.1 (the Debian 6.1.y tree, which carries
 * migrate_device_range() from 6.2) and 6.12. The version gate below
 * names each release; 6.1 and 6.12 share the folio block, where the
 * helpers test DMIRROR_BEFORE() the release that changed what they use,
 * and 5.10 has a block of its own.
 *
 * What 5.10 lacks: folios (callbacks take struct page; a non-LRU
 * movable page names an address_space), make_device_exclusive_range()
 * (5.14) and migrate_device_range() (6.2): EXCLUSIVE, CHECK_EXCLUSIVE
 * and RELEASE are not served there.
 *
 * What 6.12 changed:
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
 * - mem_cgroup_migrate() asserts the old folio is off the LRU
 *   (DMIRROR_LRU_FOLIO_MIGRATES): the aio kind isolates a ring page with
 *   folio_isolate_lru(), found by name at load; where it is not found,
 *   aio ring pages answer -EOPNOTSUPP and the info command does not list
 *   them.
 *
 * The migration core's unexported entry points (test_hmm_coremig.c) are
 * described in the last blocks: all of them for 6.1, the LRU isolation
 * alone for 6.12. On 5.10 and 6.12 the core commands build as stubs and
 * the tests that need them skip.
 */
#ifndef _TEST_HMM_COMPAT_H
#define _TEST_HMM_COMPAT_H

#include <linux/version.h>
#include <linux/balloon_compaction.h>
#include <linux/buffer_head.h>
#include <linux/device.h>
#include <linux/err.h>
#include <linux/gfp.h>
#include <linux/hugetlb.h>
#include <linux/magic.h>
#include <linux/memremap.h>
#include <linux/migrate.h>
#include <linux/mm.h>
#include <linux/mmu_notifier.h>
#include <linux/rmap.h>
#include <linux/shmem_fs.h>
#include <linux/pagemap.h>
#include <linux/pagevec.h>
#include <linux/smp.h>
#include <linux/zsmalloc.h>

#include "test_hmm_uapi.h"

/*
 * The version gate. Versions are told apart by LINUX_VERSION_CODE:
 * kernels before 5.14 (5.10) do not define LINUX_VERSION_MAJOR. Each
 * supported release gets a DMIRROR_KERNEL_* name; the ones with folios
 * (6.1, 6.12) share DMIRROR_KERNEL_FOLIOS.
 */
#define DMIRROR_BEFORE(major, minor)					\
	(KERNEL_VERSION(major, minor, 0) > LINUX_VERSION_CODE)

#if !DMIRROR_BEFORE(6, 12) && DMIRROR_BEFORE(6, 13)
#define DMIRROR_KERNEL_6_12
#define DMIRROR_KERNEL_FOLIOS
#elif !DMIRROR_BEFORE(6, 1) && DMIRROR_BEFORE(6, 2)
#define DMIRROR_KERNEL_6_1
#define DMIRROR_KERNEL_FOLIOS
#elif !DMIRROR_BEFORE(5, 10) && DMIRROR_BEFORE(5, 11)
#define DMIRROR_KERNEL_5_10
#else
#error "test_hmm: only Linux 5.10, 6.1 and 6.12 are supported (see test_hmm_compat.h)"
#endif

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

/* The release the module is built for, as HMM_NC_INFO reports it. */
#define DMIRROR_KERNEL_VERSION	LINUX_VERSION_CODE

/* What every supported kernel does alike. */

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
 * test_hmm_coremig.c: the HMM_NC_FEAT_* whose entry points it found, and
 * the LRU isolation of a page's folio (0, -EBUSY, -EOPNOTSUPP).
 */
u64 dmirror_core_features(void);
int dmirror_core_isolate_lru_page(struct page *page);

/* One entry point to find by name (test_hmm_coremig.c). */
struct dmirror_core_sym {
	const char *name;
	size_t offset;		/* in struct dmirror_core_syms */
	u64 feature;		/* HMM_NC_FEAT_* it is part of */
};

#define DMIRROR_CORE_SYM(_name, _field, _feat) \
	{ .name = (_name), \
	  .offset = offsetof(struct dmirror_core_syms, _field), \
	  .feature = (_feat) }

/*
 * The optional kernel behaviours this build has (HMM_NC_FEAT_*). The
 * refusals are the NO_COPY refusals of the balloon, zsmalloc and aio
 * callbacks: without the mode there are none. EXCLUSIVE needs
 * make_device_exclusive_range() (5.14).
 */
static inline u64 dmirror_kernel_features(void)
{
	u64 features = 0;

	if (!DMIRROR_BEFORE(5, 14))
		features |= HMM_NC_FEAT_EXCLUSIVE;
	if (DMIRROR_HAVE_NO_COPY)
		features |= HMM_NC_FEAT_REFUSALS;
	if (DMIRROR_LRU_FOLIO_MIGRATES)
		features |= HMM_NC_FEAT_AIO_RING;
	return features | dmirror_core_features();
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

/* A fresh system page for user data at addr of vma, or NULL. */
static inline struct page *dmirror_alloc_user_page(struct vm_area_struct *vma,
						   unsigned long addr)
{
	return alloc_page_vma(GFP_HIGHUSER_MOVABLE, vma, addr);
}

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
 * memfd_secret() memory (5.14 on) is not in the kernel's direct map: the
 * device must never touch it. vma_is_secretmem() is not exported; the
 * magic of its file system names it.
 */
static inline bool dmirror_vma_is_secret(struct vm_area_struct *vma)
{
#ifdef SECRETMEM_MAGIC
	return vma->vm_file &&
		file_inode(vma->vm_file)->i_sb->s_magic == SECRETMEM_MAGIC;
#else
	return false;
#endif
}

/*
 * Another process maps the page too (shared after fork), or KSM merged
 * it. page_mapcount() is gone from 6.12, whose estimate is of the folio.
 */
static inline bool dmirror_page_shared(struct page *page)
{
	if (PageKsm(page))
		return true;
#if DMIRROR_BEFORE(6, 12)
	return page_mapcount(page) > 1;
#else
	return folio_likely_mapped_shared(page_folio(page));
#endif
}

/* tmpfs and memfd files (shmem_mapping() is exported from 6.x only). */
static inline bool dmirror_mapping_is_shmem(struct address_space *mapping)
{
	return mapping->host && mapping->host->i_sb->s_magic == TMPFS_MAGIC;
}

/* A memfd sealed against writes: its pages must keep what they hold. */
static inline bool dmirror_mapping_write_sealed(struct address_space *mapping)
{
	return dmirror_mapping_is_shmem(mapping) &&
		(SHMEM_I(mapping->host)->seals &
		 (F_SEAL_WRITE | F_SEAL_FUTURE_WRITE));
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

/* fs/aio.c's AIO_RING_MAGIC: its ring header's and its file system's. */
#define DMIRROR_AIO_RING_MAGIC	0xa10a10a1

/* Whether a callback the kernel does not export is the one named. */
static inline bool dmirror_cb_named(const void *cb, const char *name)
{
	char buf[64];

	snprintf(buf, sizeof(buf), "%ps", cb);
	return !strcmp(buf, name);
}

/*
 * After a successful move the old page-cache page must not keep its
 * mapping, or freeing it reports a bad page; anonymous (and movable)
 * pages keep theirs for their statistics. The kernel's own migrations
 * do this when they move a page; migrate_vma_finalize() does not.
 */
static inline void dmirror_cache_forget(struct page *src)
{
	if (!((unsigned long)src->mapping & PAGE_MAPPING_FLAGS))
		src->mapping = NULL;
}

/* The old page's mapping is gone (anonymous pages keep theirs). */
static inline bool dmirror_cache_forgotten(struct page *src)
{
	return ((unsigned long)src->mapping & PAGE_MAPPING_FLAGS) ||
		!src->mapping;
}

/* Every buffer head of dst points at it and src has none left. */
static inline bool dmirror_bh_moved(struct page *dst, struct page *src)
{
	struct buffer_head *head, *bh;

	if (!page_has_buffers(dst) || page_has_buffers(src))
		return false;
	head = page_buffers(dst);
	bh = head;
	do {
		if (bh->b_page != dst)
			return false;
		bh = bh->b_this_page;
	} while (bh != head);
	return true;
}

#ifdef DMIRROR_KERNEL_FOLIOS

/* page_mapping(), gone in 6.9; folio_mapping() is in 6.1 too. */
static inline struct address_space *dmirror_page_mapping(struct page *page)
{
	return folio_mapping(page_folio(page));
}

/* On the active or the unevictable LRU list (PageActive() gone in 6.12). */
static inline bool dmirror_page_lru_kept(struct page *page)
{
	struct folio *folio = page_folio(page);

	return folio_test_active(folio) || folio_test_unevictable(folio);
}

/* page_index(), gone in 6.12: the page's offset in its mapping. */
static inline pgoff_t dmirror_page_index(struct page *page)
{
	struct folio *folio = page_folio(page);

	return folio_index(folio) + folio_page_idx(folio, page);
}

/*
 * Whether this kernel can serve an ioctl command of the device; the
 * dispatcher answers -EOPNOTSUPP for one it cannot.
 */
static inline bool dmirror_kernel_serves(unsigned int cmd)
{
	return true;
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

/* Hand out a free device-private page: one reference, locked. */
static inline void dmirror_device_page_init(struct page *page)
{
	zone_device_page_init(page);
}

/*
 * Device memory lasts as long as the module only where its pages can
 * be brought back whatever maps them (dmirror_migrate_device_range()).
 */
static inline void dmirror_devmem_pin_module(void)
{
}

static inline void dmirror_devmem_unpin_module(void)
{
}

/* A destination entry of a migrate_vma batch for a locked page. */
static inline unsigned long dmirror_migrate_dst_pfn(struct page *page)
{
	return migrate_pfn(page_to_pfn(page));
}

/* The page a CPU fault comes for, which the fault handler has locked. */
static inline void dmirror_migrate_vma_fault_page(struct migrate_vma *args,
						  struct page *page)
{
	args->fault_page = page;
}

/*
 * Collect device pages [start_pfn, start_pfn + npages) for migration
 * whatever maps them; then dmirror_migrate_device_pages() and
 * dmirror_migrate_device_finalize(), as with migrate_vma.
 */
static inline int dmirror_migrate_device_range(unsigned long *src,
					       unsigned long start_pfn,
					       unsigned long npages)
{
	return migrate_device_range(src, start_pfn, npages);
}

static inline void dmirror_migrate_device_pages(unsigned long *src,
						unsigned long *dst,
						unsigned long npages)
{
	migrate_device_pages(src, dst, npages);
}

static inline void dmirror_migrate_device_finalize(unsigned long *src,
						   unsigned long *dst,
						   unsigned long npages)
{
	migrate_device_finalize(src, dst, npages);
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

/* The invalidation make_device_exclusive_range() makes for owner. */
static inline bool
dmirror_range_own_exclusive(const struct mmu_notifier_range *range,
			    void *owner)
{
	return range->event == MMU_NOTIFY_EXCLUSIVE && range->owner == owner;
}

/* The page caching index of mapping, referenced, or NULL. */
static inline struct page *dmirror_cache_page(struct address_space *mapping,
					      pgoff_t index)
{
	struct folio *folio = filemap_get_folio(mapping, index);

	/* From 6.3 a hole is ERR_PTR(-ENOENT). */
	if (IS_ERR_OR_NULL(folio))
		return NULL;
	return folio_file_page(folio, index);
}

/* A page-cache page leaves a migration: onto the LRU. */
static inline void dmirror_lru_add(struct page *page)
{
	folio_add_lru(page_folio(page));
}

/* Refusal paths (test_hmm_refuse.c and the files of its page kinds). */

/*
 * The device's own non-LRU movable pages: page->mapping names their
 * operations (a movable_operations from 6.0, an address_space before).
 */
struct dmirror_movable_reg {
	const struct movable_operations *mops;
};

static inline int dmirror_movable_register(struct dmirror_movable_reg *reg,
					   const struct movable_operations *mops)
{
	reg->mops = mops;
	return 0;
}

static inline void dmirror_movable_unregister(struct dmirror_movable_reg *reg)
{
}

/* The page is locked. */
static inline void dmirror_page_set_movable(struct page *page,
					    struct dmirror_movable_reg *reg)
{
	__SetPageMovable(page, reg->mops);
}

static inline void dmirror_page_clear_movable(struct page *page)
{
	__ClearPageMovable(page);
}

/* Whether a movable page is one of the owner's. */
static inline bool dmirror_page_movable_by(struct page *page,
					   struct dmirror_movable_reg *reg)
{
	return page_movable_ops(page) == reg->mops;
}

/*
 * PageMovable(), which 6.12 no longer exports: page->mapping names
 * movable operations. The page is locked.
 */
static inline bool dmirror_page_movable_locked(struct page *page)
{
	return __PageMovable(page) && page_movable_ops(page);
}

/*
 * A balloon's pages are movable through the kernel's balloon
 * operations; from 6.0 they need nothing of the driver.
 */
struct dmirror_balloon_reg {
};

static inline int dmirror_balloon_register(struct dmirror_balloon_reg *reg,
					   struct balloon_dev_info *info)
{
	return 0;
}

static inline void dmirror_balloon_unregister(struct dmirror_balloon_reg *reg,
					      struct balloon_dev_info *info)
{
}

/*
 * The owner's callbacks of any non-LRU movable page, as the migration
 * core calls them: isolate and put back with the page locked, migrate
 * with both pages locked and the old one isolated.
 */
static inline bool dmirror_owner_isolate(struct page *page)
{
	return page_movable_ops(page)->isolate_page(page, 0);
}

static inline void dmirror_owner_putback(struct page *page)
{
	page_movable_ops(page)->putback_page(page);
}

static inline int dmirror_owner_migrate(struct page *dst, struct page *src,
					enum migrate_mode mode)
{
	return page_movable_ops(src)->migrate_page(dst, src, mode);
}

static inline void dmirror_page_set_isolated(struct page *page)
{
	SetPageIsolated(page);
}

static inline void dmirror_page_clear_isolated(struct page *page)
{
	ClearPageIsolated(page);
}

/* Page-cache migration (test_hmm_filemig.c). */

/* Whether a mapping's pages have a migrate callback of their own. */
static inline bool dmirror_mapping_migrates(struct address_space *mapping)
{
	return mapping->a_ops->migrate_folio;
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
 * migration core does; both pages are locked. A mapping without one
 * would need fallback_migrate_folio(), which is not exported.
 */
static inline int dmirror_cache_migrate(struct address_space *mapping,
					struct page *dst, struct page *src,
					enum migrate_mode kmode)
{
	if (!mapping)
		return migrate_folio(NULL, page_folio(dst), page_folio(src),
				     kmode);
	if (!mapping->a_ops->migrate_folio)
		return -EOPNOTSUPP;
	return mapping->a_ops->migrate_folio(mapping, page_folio(dst),
					     page_folio(src), kmode);
}

/*
 * migrate_vma_setup() carries a dirty PTE's bit to the folio it unmaps
 * (6.0's "mm/migrate_device.c: copy pte dirty bit to page"): nothing to
 * make up for.
 */
static inline void dmirror_file_taken_dirty(struct vm_area_struct *vma,
					    struct page *page,
					    unsigned long mpfn)
{
}

static inline void dmirror_file_put_back_dirty(struct vm_area_struct *vma,
					       unsigned long addr)
{
}

#endif /* DMIRROR_KERNEL_FOLIOS */

#ifdef DMIRROR_KERNEL_5_10

#include <linux/backing-dev.h>
#include <linux/fs_context.h>
#include <linux/highmem.h>
#include <linux/iomap.h>
#include <linux/module.h>
#include <linux/mount.h>
#include <linux/pseudo_fs.h>
#include <linux/swap.h>

/*
 * Helpers of later kernels that 5.10 lacks, with the same meaning:
 * vma_lookup() (5.14) and kmap_local_page() (5.11; a 64-bit kernel has
 * no highmem, so a page's kernel address is its direct mapping).
 */
static inline struct vm_area_struct *vma_lookup(struct mm_struct *mm,
						unsigned long addr)
{
	struct vm_area_struct *vma = find_vma(mm, addr);

	if (vma && addr < vma->vm_start)
		vma = NULL;
	return vma;
}

static inline void *kmap_local_page(struct page *page)
{
	BUILD_BUG_ON(IS_ENABLED(CONFIG_HIGHMEM));
	return page_address(page);
}

static inline void kunmap_local(const void *addr)
{
}

/*
 * No make_device_exclusive_range() (5.14): EXCLUSIVE and
 * CHECK_EXCLUSIVE are not served. Nor is RELEASE, which needs
 * migrate_device_range() (6.2, in Debian's 6.1).
 */
static inline bool dmirror_kernel_serves(unsigned int cmd)
{
	switch (cmd) {
	case HMM_DMIRROR_EXCLUSIVE:
	case HMM_DMIRROR_CHECK_EXCLUSIVE:
	case HMM_DMIRROR_RELEASE:
		return false;
	default:
		return true;
	}
}

static inline struct address_space *dmirror_page_mapping(struct page *page)
{
	return page_mapping(page);
}

static inline pgoff_t dmirror_page_index(struct page *page)
{
	return page_index(page);
}

static inline bool dmirror_page_lru_kept(struct page *page)
{
	return PageActive(page) || PageUnevictable(page);
}

static inline int dmirror_migrate_state(struct page *dst, struct page *src,
					enum migrate_mode kmode)
{
	return migrate_page(dmirror_page_mapping(src), dst, src, kmode);
}

/*
 * A free device-private page keeps one reference in 5.10: the page
 * handed out has two, the second one the caller's.
 */
static inline void dmirror_device_page_init(struct page *page)
{
	get_page(page);
	lock_page(page);
}

/*
 * Nothing brings a device page back to system memory whatever maps it,
 * so the module stays as long as device memory exists: a chunk pins
 * it, and comes back once no process uses any of its pages.
 */
static inline void dmirror_devmem_pin_module(void)
{
	__module_get(THIS_MODULE);
}

static inline void dmirror_devmem_unpin_module(void)
{
	module_put(THIS_MODULE);
}

/* 5.10 wants destination pages marked locked. */
static inline unsigned long dmirror_migrate_dst_pfn(struct page *page)
{
	return migrate_pfn(page_to_pfn(page)) | MIGRATE_PFN_LOCKED;
}

/* 5.10's fault handler does not lock the page: nothing to say. */
static inline void dmirror_migrate_vma_fault_page(struct migrate_vma *args,
						  struct page *page)
{
}

static inline int dmirror_migrate_device_range(unsigned long *src,
					       unsigned long start_pfn,
					       unsigned long npages)
{
	return -EOPNOTSUPP;
}

static inline void dmirror_migrate_device_pages(unsigned long *src,
						unsigned long *dst,
						unsigned long npages)
{
}

static inline void dmirror_migrate_device_finalize(unsigned long *src,
						   unsigned long *dst,
						   unsigned long npages)
{
}

static inline int dmirror_make_exclusive(struct mm_struct *mm,
					 unsigned long start, unsigned long end,
					 struct page **pages, void *owner)
{
	return -EOPNOTSUPP;
}

static inline bool
dmirror_range_own_exclusive(const struct mmu_notifier_range *range,
			    void *owner)
{
	return false;
}

/* find_get_page() returns the very page caching index. */
static inline struct page *dmirror_cache_page(struct address_space *mapping,
					      pgoff_t index)
{
	return find_get_page(mapping, index);
}

static inline void dmirror_lru_add(struct page *page)
{
	lru_cache_add(page);
}

/* Refusal paths (test_hmm_refuse.c and the files of its page kinds). */

/*
 * 5.10 names the owner of a non-LRU movable page with an address_space
 * in page->mapping, whose operations isolate, migrate and put it back;
 * balloons and zsmalloc bring an inode for it. The owners here take one
 * of a pseudo file system mounted for them.
 */
#define DMIRROR_PSEUDO_MAGIC	0x484d4e43	/* "HMNC" */

static inline int dmirror_pseudo_init_fs_context(struct fs_context *fc)
{
	return init_pseudo(fc, DMIRROR_PSEUDO_MAGIC) ? 0 : -ENOMEM;
}

struct dmirror_pseudo {
	struct vfsmount *mnt;
	struct inode *inode;
};

static inline int dmirror_pseudo_get(struct dmirror_pseudo *ps,
				     const struct address_space_operations *aops,
				     void *private)
{
	static struct file_system_type fs_type = {
		.name			= "test_hmm",
		.init_fs_context	= dmirror_pseudo_init_fs_context,
		.kill_sb		= kill_anon_super,
	};

	ps->mnt = kern_mount(&fs_type);
	if (IS_ERR(ps->mnt))
		return PTR_ERR(ps->mnt);
	ps->inode = alloc_anon_inode(ps->mnt->mnt_sb);
	if (IS_ERR(ps->inode)) {
		kern_unmount(ps->mnt);
		return PTR_ERR(ps->inode);
	}
	ps->inode->i_mapping->a_ops = aops;
	ps->inode->i_mapping->private_data = private;
	return 0;
}

static inline void dmirror_pseudo_put(struct dmirror_pseudo *ps)
{
	iput(ps->inode);
	kern_unmount(ps->mnt);
}

/* 6.0's callbacks of a non-LRU movable page, which the owners here use. */
struct movable_operations {
	bool (*isolate_page)(struct page *page, isolate_mode_t mode);
	int (*migrate_page)(struct page *dst, struct page *src,
			    enum migrate_mode mode);
	void (*putback_page)(struct page *page);
};

static inline const struct movable_operations *
dmirror_mapping_mops(struct address_space *mapping)
{
	return mapping->private_data;
}

static inline bool dmirror_mops_isolate(struct page *page,
					isolate_mode_t mode)
{
	return dmirror_mapping_mops(page_mapping(page))->isolate_page(page,
								      mode);
}

static inline int dmirror_mops_migrate(struct address_space *mapping,
				       struct page *dst, struct page *src,
				       enum migrate_mode mode)
{
	return dmirror_mapping_mops(mapping)->migrate_page(dst, src, mode);
}

static inline void dmirror_mops_putback(struct page *page)
{
	dmirror_mapping_mops(page_mapping(page))->putback_page(page);
}

struct dmirror_movable_reg {
	struct dmirror_pseudo ps;
};

static inline int dmirror_movable_register(struct dmirror_movable_reg *reg,
					   const struct movable_operations *mops)
{
	static const struct address_space_operations aops = {
		.isolate_page	= dmirror_mops_isolate,
		.migratepage	= dmirror_mops_migrate,
		.putback_page	= dmirror_mops_putback,
	};

	return dmirror_pseudo_get(&reg->ps, &aops, (void *)mops);
}

static inline void dmirror_movable_unregister(struct dmirror_movable_reg *reg)
{
	dmirror_pseudo_put(&reg->ps);
}

static inline void dmirror_page_set_movable(struct page *page,
					    struct dmirror_movable_reg *reg)
{
	__SetPageMovable(page, reg->ps.inode->i_mapping);
}

static inline void dmirror_page_clear_movable(struct page *page)
{
	__ClearPageMovable(page);
}

static inline bool dmirror_page_movable_by(struct page *page,
					   struct dmirror_movable_reg *reg)
{
	return page_mapping(page) == reg->ps.inode->i_mapping;
}

/* PageMovable(), exported in 5.10. The page is locked. */
static inline bool dmirror_page_movable_locked(struct page *page)
{
	return PageMovable(page);
}

/* A balloon's pages need an inode with the kernel's balloon_aops. */
struct dmirror_balloon_reg {
	struct dmirror_pseudo ps;
};

static inline int dmirror_balloon_register(struct dmirror_balloon_reg *reg,
					   struct balloon_dev_info *info)
{
	int ret;

	ret = dmirror_pseudo_get(&reg->ps, &balloon_aops, NULL);
	if (!ret)
		info->inode = reg->ps.inode;
	return ret;
}

static inline void dmirror_balloon_unregister(struct dmirror_balloon_reg *reg,
					      struct balloon_dev_info *info)
{
	info->inode = NULL;
	dmirror_pseudo_put(&reg->ps);
}

static inline bool dmirror_owner_isolate(struct page *page)
{
	return page_mapping(page)->a_ops->isolate_page(page, 0);
}

static inline void dmirror_owner_putback(struct page *page)
{
	page_mapping(page)->a_ops->putback_page(page);
}

static inline int dmirror_owner_migrate(struct page *dst, struct page *src,
					enum migrate_mode mode)
{
	struct address_space *mapping = page_mapping(src);

	return mapping->a_ops->migratepage(mapping, dst, src, mode);
}

/*
 * 5.10 has only the non-atomic flag operations for PG_isolated (an
 * alias of PG_reclaim), used under the page lock.
 */
static inline void dmirror_page_set_isolated(struct page *page)
{
	__set_bit(PG_isolated, &page->flags);
}

static inline void dmirror_page_clear_isolated(struct page *page)
{
	__clear_bit(PG_isolated, &page->flags);
}

/* Page-cache migration (test_hmm_filemig.c). */

static inline bool dmirror_mapping_migrates(struct address_space *mapping)
{
	return mapping->a_ops->migratepage;
}

/*
 * buffer_migrate_page_norefs() and hugetlbfs_migrate_page() are not
 * exported: told by name and by file system.
 */
static inline int dmirror_cache_cb(struct address_space *mapping)
{
	const void *cb;

	if (!mapping)
		return HMM_NC_CB_FOLIO;
	cb = mapping->a_ops->migratepage;
	if (cb == migrate_page)
		return HMM_NC_CB_FOLIO;
	if (cb == buffer_migrate_page)
		return HMM_NC_CB_BUFFER;
	if (cb == iomap_migrate_page)
		return HMM_NC_CB_FILEMAP;
	if (mapping->host && mapping->host->i_sb->s_magic == HUGETLBFS_MAGIC)
		return HMM_NC_CB_HUGETLBFS;
	if (cb && dmirror_cb_named(cb, "buffer_migrate_page_norefs"))
		return HMM_NC_CB_BUFFER;
	return HMM_NC_CB_OTHER;
}

static inline int dmirror_cache_migrate(struct address_space *mapping,
					struct page *dst, struct page *src,
					enum migrate_mode kmode)
{
	if (!mapping)
		return migrate_page(NULL, dst, src, kmode);
	if (!mapping->a_ops->migratepage)
		return -EOPNOTSUPP;
	return mapping->a_ops->migratepage(mapping, dst, src, kmode);
}

/*
 * 5.10's migrate_vma_collect_pmd() replaces the PTE of a page it can
 * lock at once with a migration entry and drops the PTE's dirty bit
 * (fixed in 6.0 by "mm/migrate_device.c: copy pte dirty bit to page",
 * not in 5.10.y): docs/known-issues/migrate_vma_setup_pte_dirty.md. In a
 * shared mapping whose file has no writeback (shmem), a write through
 * the mapping dirties only the PTE, so the page moves, or is mapped
 * again, clean, and the next drop_caches or reclaim frees it with the
 * data. The bit is gone: a page whose PTE was writable is taken as
 * written, as clear_page_dirty_for_io() takes what page_mkclean() found.
 * A page mapped writable but never written is dirtied too.
 */
static inline bool dmirror_file_pte_dirty_only(struct vm_area_struct *vma)
{
	return (vma->vm_flags & VM_SHARED) &&
		!mapping_can_writeback(vma->vm_file->f_mapping);
}

/* A page the batch holds, locked and unmapped; mpfn: what setup said. */
static inline void dmirror_file_taken_dirty(struct vm_area_struct *vma,
					    struct page *page,
					    unsigned long mpfn)
{
	if ((mpfn & MIGRATE_PFN_WRITE) && page_mapping(page) &&
	    dmirror_file_pte_dirty_only(vma))
		set_page_dirty(page);
}

/*
 * The page at addr, if the batch does not hold it: setup may have
 * unmapped it and mapped it again clean (a reference it did not expect,
 * a failed isolation), without a word in the batch. After the batch, so
 * that no page lock is held: clean and write-protect it, dirty it if a
 * PTE was dirty or writable; a later write faults and dirties it.
 */
static inline void dmirror_file_put_back_dirty(struct vm_area_struct *vma,
					       unsigned long addr)
{
	struct page *page;

	if (!dmirror_file_pte_dirty_only(vma))
		return;
	page = find_lock_page(vma->vm_file->f_mapping,
			      linear_page_index(vma, addr));
	if (!page)
		return;
	if (!PageTransCompound(page) && page_mkclean(page))
		set_page_dirty(page);
	unlock_page(page);
	put_page(page);
}

#endif /* DMIRROR_KERNEL_5_10 */

#ifdef DMIRROR_KERNEL_6_1

/*
 * The migration core (test_hmm_coremig.c). DMIRROR_CORE_MIGRATE says
 * this block describes the kernel's entry points; a release without it
 * builds the commands as stubs that answer EOPNOTSUPP. DMIRROR_CORE_SYMS:
 * it has a table of entry points to find at load.
 */
#define DMIRROR_CORE_MIGRATE	1
#define DMIRROR_CORE_SYMS	1

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

#endif /* DMIRROR_KERNEL_6_1 */

#ifdef DMIRROR_KERNEL_6_12

/*
 * The one entry point 6.12 does not export that the module reaches, found
 * by name at load as 6.1's are (test_hmm_coremig.c): the LRU isolation,
 * for aio ring pages, which 6.12's mem_cgroup_migrate() wants off the
 * LRU. Spelled out as mm/internal.h declares it (a bool since 6.4). The
 * core commands are not ported (no DMIRROR_CORE_MIGRATE).
 */
#define DMIRROR_CORE_SYMS	1

struct dmirror_core_syms {
	bool (*isolate_lru)(struct folio *folio);
};

static inline const struct dmirror_core_sym *dmirror_core_sym_table(size_t *n)
{
	static const struct dmirror_core_sym table[] = {
		DMIRROR_CORE_SYM("folio_isolate_lru", isolate_lru,
				 HMM_NC_FEAT_AIO_RING),
	};

	*n = ARRAY_SIZE(table);
	return table;
}

/* Isolate an LRU folio (the caller holds a reference): 0 or -EBUSY. */
static inline int dmirror_core_isolate_lru(const struct dmirror_core_syms *s,
					   struct folio *folio)
{
	return s->isolate_lru(folio) ? 0 : -EBUSY;
}

#endif /* DMIRROR_KERNEL_6_12 */

#endif /* _TEST_HMM_COMPAT_H */

/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The default implementation of the compat interface (test_hmm_compat.h,
 * which says how a release overrides it): the current kernel's code,
 * 6.1's, which 6.12 shares. Each entry is defined here unless the
 * release's compat file defined it first. Where a later release changed
 * an entry point a little, the entry follows it here, keyed on the
 * release that made the change:
 *
 * - filemap_get_folio() returns an ERR_PTR for a hole (6.3).
 * - class_create() lost its owner argument (6.4).
 * - struct pagevec is gone (6.5): a folio_batch drains the LRU.
 * - page_mapping() is gone (6.9): folio_mapping(), in 6.1 as well.
 * - page_mapcount(), page_index() and PageActive() are gone (6.12):
 *   their folio counterparts, in 6.1 as well.
 * - PageMovable() is no longer exported (6.12): __PageMovable() plus
 *   page_movable_ops(), both inline in 6.1 and 6.12.
 * - MIGRATE_SYNC_NO_COPY is gone (6.11, DMIRROR_HAVE_NO_COPY): NO_COPY
 *   requests answer -EOPNOTSUPP. migrate_vma_pages() still moves state
 *   without copying (6.11 calls folio_migrate_mapping() and
 *   folio_migrate_flags() where it passed the mode), so the device path
 *   behaves as on 6.1.
 *
 * Included by test_hmm_compat.h only.
 */
#ifndef _TEST_HMM_COMPAT_DEFAULT_H
#define _TEST_HMM_COMPAT_DEFAULT_H

#ifndef dmirror_kernel_serves
static inline bool dmirror_kernel_serves(unsigned int cmd)
{
	return true;
}
#endif

#ifndef dmirror_class_create
static inline struct class *dmirror_class_create(const char *name)
{
#if DMIRROR_BEFORE(6, 4)
	return class_create(THIS_MODULE, name);
#else
	return class_create(name);
#endif
}
#endif

#ifndef dmirror_kernel_mode
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
#endif

#ifndef dmirror_kernel_copies
static inline bool dmirror_kernel_copies(enum migrate_mode kmode)
{
#if DMIRROR_HAVE_NO_COPY
	return kmode != MIGRATE_SYNC_NO_COPY;
#else
	return true;
#endif
}
#endif

#ifndef dmirror_alloc_user_page
static inline struct page *dmirror_alloc_user_page(struct vm_area_struct *vma,
						   unsigned long addr)
{
	return alloc_page_vma(GFP_HIGHUSER_MOVABLE, vma, addr);
}
#endif

/*
 * vma_is_secretmem() is not exported; the magic of memfd_secret()'s file
 * system names it.
 */
#ifndef dmirror_vma_is_secret
static inline bool dmirror_vma_is_secret(struct vm_area_struct *vma)
{
#ifdef SECRETMEM_MAGIC
	return vma->vm_file &&
		file_inode(vma->vm_file)->i_sb->s_magic == SECRETMEM_MAGIC;
#else
	return false;
#endif
}
#endif

#ifndef dmirror_page_shared
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
#endif

#ifndef dmirror_page_mapping
static inline struct address_space *dmirror_page_mapping(struct page *page)
{
	return folio_mapping(page_folio(page));
}
#endif

#ifndef dmirror_page_index
static inline pgoff_t dmirror_page_index(struct page *page)
{
	struct folio *folio = page_folio(page);

	return folio_index(folio) + folio_page_idx(folio, page);
}
#endif

#ifndef dmirror_page_lru_kept
static inline bool dmirror_page_lru_kept(struct page *page)
{
	struct folio *folio = page_folio(page);

	return folio_test_active(folio) || folio_test_unevictable(folio);
}
#endif

#ifndef dmirror_migrate_state
static inline int dmirror_migrate_state(struct page *dst, struct page *src,
					enum migrate_mode kmode)
{
	return migrate_folio(dmirror_page_mapping(src), page_folio(dst),
			     page_folio(src), kmode);
}
#endif

#ifndef dmirror_migrate_dst_pfn
static inline unsigned long dmirror_migrate_dst_pfn(struct page *page)
{
	return migrate_pfn(page_to_pfn(page));
}
#endif

#ifndef dmirror_migrate_vma_fault_page
static inline void dmirror_migrate_vma_fault_page(struct migrate_vma *args,
						  struct page *page)
{
	args->fault_page = page;
}
#endif

#ifndef dmirror_device_page_init
static inline void dmirror_device_page_init(struct page *page)
{
	zone_device_page_init(page);
}
#endif

/*
 * Device memory lasts as long as the module only where its pages can
 * be brought back whatever maps them (dmirror_migrate_device_range()).
 */
#ifndef dmirror_devmem_pin_module
static inline void dmirror_devmem_pin_module(void)
{
}
#endif

#ifndef dmirror_devmem_unpin_module
static inline void dmirror_devmem_unpin_module(void)
{
}
#endif

/*
 * migrate_device_range() and its two steps came together (6.2, in
 * Debian's 6.1): a release overrides the three or none.
 */
#ifndef dmirror_migrate_device_range
static inline int dmirror_migrate_device_range(unsigned long *src,
					       unsigned long start_pfn,
					       unsigned long npages)
{
	return migrate_device_range(src, start_pfn, npages);
}

static inline void dmirror_migrate_device_pages(unsigned long *src,
						unsigned long *dst, unsigned long npages)
{
	migrate_device_pages(src, dst, npages);
}

static inline void dmirror_migrate_device_finalize(unsigned long *src,
						   unsigned long *dst, unsigned long npages)
{
	migrate_device_finalize(src, dst, npages);
}
#endif

#ifndef dmirror_make_exclusive
static inline int dmirror_make_exclusive(struct mm_struct *mm,
					 unsigned long start, unsigned long end,
					 struct page **pages, void *owner)
{
	return make_device_exclusive_range(mm, start, end, pages, owner);
}
#endif

#ifndef dmirror_range_own_exclusive
static inline bool
dmirror_range_own_exclusive(const struct mmu_notifier_range *range,
			    void *owner)
{
	return range->event == MMU_NOTIFY_EXCLUSIVE && range->owner == owner;
}
#endif

#ifndef dmirror_cache_page
static inline struct page *dmirror_cache_page(struct address_space *mapping,
					      pgoff_t index)
{
	struct folio *folio = filemap_get_folio(mapping, index);

	/* From 6.3 a hole is ERR_PTR(-ENOENT). */
	if (IS_ERR_OR_NULL(folio))
		return NULL;
	return folio_file_page(folio, index);
}
#endif

#ifndef dmirror_lru_add
static inline void dmirror_lru_add(struct page *page)
{
	folio_add_lru(page_folio(page));
}
#endif

/*
 * lru_add_drain() is not exported; releasing an empty batch drains this
 * CPU's LRU batches all the same. struct pagevec is gone from 6.5, where
 * __folio_batch_release() does it (folio_batch_release() skips an empty
 * batch, so it would drain nothing).
 */
#ifndef dmirror_lru_drain_all
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

static inline void dmirror_lru_drain_all(void)
{
	unsigned int cpu;

	for_each_online_cpu(cpu)
		smp_call_on_cpu(cpu, dmirror_lru_drain_cpu, NULL, false);
}
#endif

/* shmem_mapping() is exported from 6.x only: tell tmpfs by its magic. */
#ifndef dmirror_mapping_is_shmem
static inline bool dmirror_mapping_is_shmem(struct address_space *mapping)
{
	return mapping->host && mapping->host->i_sb->s_magic == TMPFS_MAGIC;
}
#endif

#ifndef dmirror_mapping_write_sealed
static inline bool dmirror_mapping_write_sealed(struct address_space *mapping)
{
	return dmirror_mapping_is_shmem(mapping) &&
		(SHMEM_I(mapping->host)->seals &
		 (F_SEAL_WRITE | F_SEAL_FUTURE_WRITE));
}
#endif

/*
 * A mapping's migrate callback (a_ops->migrate_folio from 6.0), and the
 * exported callbacks dmirror_cache_cb() compares it with: a release
 * that names them otherwise defines all five.
 */
#ifndef dmirror_mapping_migrate_cb
static inline const void *
dmirror_mapping_migrate_cb(struct address_space *mapping)
{
	return mapping->a_ops->migrate_folio;
}

#define DMIRROR_CB_MIGRATE	migrate_folio
#define DMIRROR_CB_BUFFER	buffer_migrate_folio
#define DMIRROR_CB_FILEMAP	filemap_migrate_folio
#define DMIRROR_CB_NOREFS	"buffer_migrate_folio_norefs"
#endif

#ifndef dmirror_mapping_migrates
static inline bool dmirror_mapping_migrates(struct address_space *mapping)
{
	return dmirror_mapping_migrate_cb(mapping);
}
#endif

/* Whether a callback the kernel does not export is the one named. */
static inline bool dmirror_cb_named(const void *cb, const char *name)
{
	char buf[64];

	snprintf(buf, sizeof(buf), "%ps", cb);
	return !strcmp(buf, name);
}

/*
 * The buffer-head callback without references and hugetlbfs's are not
 * exported: told by name and by file system.
 */
#ifndef dmirror_cache_cb
static inline int dmirror_cache_cb(struct address_space *mapping)
{
	const void *cb;

	if (!mapping)
		return HMM_NC_CB_FOLIO;
	cb = dmirror_mapping_migrate_cb(mapping);
	if (cb == DMIRROR_CB_MIGRATE)
		return HMM_NC_CB_FOLIO;
	if (cb == DMIRROR_CB_BUFFER)
		return HMM_NC_CB_BUFFER;
	if (cb == DMIRROR_CB_FILEMAP)
		return HMM_NC_CB_FILEMAP;
	if (mapping->host && mapping->host->i_sb->s_magic == HUGETLBFS_MAGIC)
		return HMM_NC_CB_HUGETLBFS;
	if (cb && dmirror_cb_named(cb, DMIRROR_CB_NOREFS))
		return HMM_NC_CB_BUFFER;
	return HMM_NC_CB_OTHER;
}
#endif

#ifndef dmirror_cache_migrate
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
#endif

#ifndef dmirror_cache_forget
static inline void dmirror_cache_forget(struct page *src)
{
	if (!((unsigned long)src->mapping & PAGE_MAPPING_FLAGS))
		src->mapping = NULL;
}
#endif

#ifndef dmirror_cache_forgotten
static inline bool dmirror_cache_forgotten(struct page *src)
{
	return ((unsigned long)src->mapping & PAGE_MAPPING_FLAGS) ||
		!src->mapping;
}
#endif

#ifndef dmirror_bh_moved
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
#endif

/*
 * migrate_vma_setup() carries a dirty PTE's bit to the folio it unmaps
 * (6.0's "mm/migrate_device.c: copy pte dirty bit to page"): nothing to
 * make up for.
 */
#ifndef dmirror_file_taken_dirty
static inline void dmirror_file_taken_dirty(struct vm_area_struct *vma,
					    struct page *page,
					    unsigned long mpfn)
{
}
#endif

#ifndef dmirror_file_put_back_dirty
static inline void dmirror_file_put_back_dirty(struct vm_area_struct *vma,
					       unsigned long addr)
{
}
#endif

#ifndef dmirror_zs_malloc
static inline unsigned long dmirror_zs_malloc(struct zs_pool *pool,
					      size_t size, gfp_t gfp)
{
	unsigned long handle = zs_malloc(pool, size, gfp);

	return IS_ERR_VALUE(handle) ? 0 : handle;
}
#endif

/*
 * The device's own non-LRU movable pages: from 6.0 page->mapping names
 * their movable_operations.
 */
#ifndef dmirror_movable_reg
struct dmirror_movable_reg {
	const struct movable_operations *mops;
};
#endif

#ifndef dmirror_movable_register
static inline int dmirror_movable_register(struct dmirror_movable_reg *reg,
					   const struct movable_operations *mops)
{
	reg->mops = mops;
	return 0;
}
#endif

#ifndef dmirror_movable_unregister
static inline void dmirror_movable_unregister(struct dmirror_movable_reg *reg)
{
}
#endif

#ifndef dmirror_page_set_movable
static inline void dmirror_page_set_movable(struct page *page,
					    struct dmirror_movable_reg *reg)
{
	__SetPageMovable(page, reg->mops);
}
#endif

#ifndef dmirror_page_clear_movable
static inline void dmirror_page_clear_movable(struct page *page)
{
	__ClearPageMovable(page);
}
#endif

#ifndef dmirror_page_movable_by
static inline bool dmirror_page_movable_by(struct page *page,
					   struct dmirror_movable_reg *reg)
{
	return page_movable_ops(page) == reg->mops;
}
#endif

/* page->mapping names movable operations. */
#ifndef dmirror_page_movable_locked
static inline bool dmirror_page_movable_locked(struct page *page)
{
	return __PageMovable(page) && page_movable_ops(page);
}
#endif

/* From 6.0 a balloon's pages need nothing of the driver. */
#ifndef dmirror_balloon_reg
struct dmirror_balloon_reg {
};
#endif

#ifndef dmirror_balloon_register
static inline int dmirror_balloon_register(struct dmirror_balloon_reg *reg,
					   struct balloon_dev_info *info)
{
	return 0;
}
#endif

#ifndef dmirror_balloon_unregister
static inline void dmirror_balloon_unregister(struct dmirror_balloon_reg *reg,
					      struct balloon_dev_info *info)
{
}
#endif

#ifndef dmirror_owner_isolate
static inline bool dmirror_owner_isolate(struct page *page)
{
	return page_movable_ops(page)->isolate_page(page, 0);
}
#endif

#ifndef dmirror_owner_putback
static inline void dmirror_owner_putback(struct page *page)
{
	page_movable_ops(page)->putback_page(page);
}
#endif

#ifndef dmirror_owner_migrate
static inline int dmirror_owner_migrate(struct page *dst, struct page *src,
					enum migrate_mode mode)
{
	return page_movable_ops(src)->migrate_page(dst, src, mode);
}
#endif

#ifndef dmirror_page_set_isolated
static inline void dmirror_page_set_isolated(struct page *page)
{
	SetPageIsolated(page);
}
#endif

#ifndef dmirror_page_clear_isolated
static inline void dmirror_page_clear_isolated(struct page *page)
{
	ClearPageIsolated(page);
}
#endif

/*
 * Entry points of mm/ that the module calls but 6.1 does not export.
 * They are found by name once at load (test_hmm_coremig.c) and kept in
 * pointers of the type 6.1 declares: where a header declares one, the
 * pointer is typeof() that declaration, so a tree that changed it fails
 * to build here instead of calling it wrongly; the others are spelled
 * out as 6.1 has them (mm/internal.h, and the hugetlb isolation, which
 * 6.1.y stable trees name isolate_hugetlb or folio_isolate_hugetlb with
 * the same arguments). A release that differs overrides the struct, the
 * table and the entries that use them.
 */
#ifndef dmirror_core_syms
struct dmirror_core_syms {
	typeof(migrate_pages) *migrate_pages;
	typeof(putback_movable_pages) *putback_movable_pages;
	int (*isolate_lru)(struct folio *folio);	/* 0 or -EBUSY */
	int (*isolate_hugetlb)(struct page *page, struct list_head *list);
	typeof(alloc_huge_page_nodemask) *alloc_huge_page;
};
#endif

#ifndef dmirror_core_sym_table
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
#endif

#ifndef dmirror_core_isolate_lru
static inline int dmirror_core_isolate_lru(const struct dmirror_core_syms *s,
					   struct folio *folio)
{
	return s->isolate_lru(folio);
}
#endif

/*
 * migrate_pages() tries a folio that keeps failing with -EAGAIN this
 * many times (10 passes in 5.10's loop, NR_MAX_MIGRATE_PAGES_RETRY from
 * 6.1, private to mm/migrate.c) and gives up at once on any other error.
 */
#ifndef DMIRROR_CORE_PASSES
#define DMIRROR_CORE_PASSES	10
#endif

#ifndef dmirror_kernel_core_mode
static inline int dmirror_kernel_core_mode(u32 mode, enum migrate_mode *kmode)
{
	if (mode != HMM_NC_MODE_SYNC_LIGHT && mode != HMM_NC_MODE_ASYNC)
		return dmirror_kernel_mode(mode, kmode);
	*kmode = mode == HMM_NC_MODE_ASYNC ? MIGRATE_ASYNC : MIGRATE_SYNC_LIGHT;
	return 0;
}
#endif

#ifndef dmirror_core_isolate_hugetlb
static inline int dmirror_core_isolate_hugetlb(const struct dmirror_core_syms *s,
					       struct folio *folio,
					       struct list_head *list)
{
	return s->isolate_hugetlb(&folio->page, list);
}
#endif

#ifndef dmirror_core_alloc_hugetlb
static inline struct folio *dmirror_core_alloc_hugetlb(const struct dmirror_core_syms *s,
						       struct hstate *h, int nid)
{
	gfp_t gfp = htlb_modify_alloc_mask(h, GFP_USER | __GFP_MOVABLE |
					   __GFP_RETRY_MAYFAIL);
	struct page *page = s->alloc_huge_page(h, nid, NULL, gfp);

	return page ? page_folio(page) : NULL;
}
#endif

#ifndef dmirror_core_alloc_folio
static inline struct folio *dmirror_core_alloc_folio(const struct dmirror_core_syms *s,
						     gfp_t gfp,
						     unsigned int order,
						     int nid)
{
	if (nid != NUMA_NO_NODE)
		return __folio_alloc_node(gfp | __GFP_THISNODE, order, nid);
	return folio_alloc(gfp, order);
}
#endif

#ifndef dmirror_core_user_page
static inline int dmirror_core_user_page(unsigned long addr, struct page **page)
{
	long n = get_user_pages(addr, 1, 0, page, NULL);

	return n == 1 ? 0 : (n < 0 ? n : -EFAULT);
}
#endif

#ifndef dmirror_core_migrate_pages
/* migrate_pages() takes new_page_t and free_page_t up to 6.1. */
static inline struct page *dmirror_core_new_page(struct page *page,
						 unsigned long private)
{
	struct dmirror_core_cbs *cbs = (struct dmirror_core_cbs *)private;
	struct folio *dst = cbs->new_folio(page_folio(page), cbs->data);

	return dst ? &dst->page : NULL;
}

static inline void dmirror_core_free_page(struct page *page,
					  unsigned long private)
{
	struct dmirror_core_cbs *cbs = (struct dmirror_core_cbs *)private;

	cbs->free_folio(page_folio(page), cbs->data);
}

/*
 * 6.1's migrate_pages() also counts the folios that moved, which the
 * device works out itself (5.10's does not count them).
 */
#ifndef dmirror_core_call_migrate
static inline int dmirror_core_call_migrate(const struct dmirror_core_syms *s,
					    struct list_head *list,
					    new_page_t *new, free_page_t *free,
					    unsigned long private,
					    enum migrate_mode kmode)
{
	unsigned int succeeded = 0;

	return s->migrate_pages(list, new, free, private, kmode, MR_SYSCALL,
				&succeeded);
}
#endif

static inline int dmirror_core_migrate_pages(const struct dmirror_core_syms *s,
					     struct list_head *list,
					     struct dmirror_core_cbs *cbs,
					     enum migrate_mode kmode)
{
	return dmirror_core_call_migrate(s, list, dmirror_core_new_page,
					 dmirror_core_free_page,
					 (unsigned long)cbs, kmode);
}
#endif

#endif /* _TEST_HMM_COMPAT_DEFAULT_H */

/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Linux 5.10: its overrides of the compat defaults (test_hmm_compat.h
 * says how they work). What 5.10 lacks: folios (callbacks take struct
 * page; a non-LRU movable page names an address_space),
 * make_device_exclusive_range() (5.14) and migrate_device_range() (6.2):
 * EXCLUSIVE, CHECK_EXCLUSIVE and RELEASE are not served here. The
 * migration core (test_hmm_coremig.c) speaks of folios: here a folio is
 * a compound page's head, and its entry points are 5.10's page ones
 * (migrate_pages() without a count of the moved pages, isolate_lru_page(),
 * isolate_hugetlb(), alloc_huge_page_nodemask(), and prep_transhuge_page()
 * for a THP destination, which 6.1's folio_alloc() does itself).
 *
 * Included by test_hmm_compat.h only.
 */
#ifndef _TEST_HMM_COMPAT_5_10_H
#define _TEST_HMM_COMPAT_5_10_H

#include <linux/backing-dev.h>
#include <linux/fs_context.h>
#include <linux/highmem.h>
#include <linux/iomap.h>
#include <linux/mm_inline.h>
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
 * Folios, as far as the migration core's code (test_hmm_coremig.c) uses
 * them: a folio is the head page of a compound page, or a page, and each
 * helper is the page helper of 5.10 with the meaning of the folio helper
 * of the same name in 6.1. Only the flags and the LRU link are named
 * fields, at the places struct page has them.
 */
struct folio {
	union {
		struct {
			unsigned long flags;
			struct list_head lru;
		};
		struct page page;
	};
};

static_assert(offsetof(struct folio, flags) == offsetof(struct page, flags));
static_assert(offsetof(struct folio, lru) == offsetof(struct page, lru));

static inline struct folio *page_folio(struct page *page)
{
	return (struct folio *)compound_head(page);
}

static inline struct page *folio_page(struct folio *folio, unsigned long n)
{
	return nth_page(&folio->page, n);
}

static inline unsigned long folio_nr_pages(struct folio *folio)
{
	return compound_nr(&folio->page);
}

static inline unsigned int folio_order(struct folio *folio)
{
	return compound_order(&folio->page);
}

static inline unsigned long folio_pfn(struct folio *folio)
{
	return page_to_pfn(&folio->page);
}

static inline int folio_nid(struct folio *folio)
{
	return page_to_nid(&folio->page);
}

static inline void folio_put(struct folio *folio)
{
	put_page(&folio->page);
}

static inline struct address_space *folio_mapping(struct folio *folio)
{
	return page_mapping(&folio->page);
}

static inline bool folio_test_hugetlb(struct folio *folio)
{
	return PageHuge(&folio->page);
}

static inline bool folio_test_dirty(struct folio *folio)
{
	return PageDirty(&folio->page);
}

static inline bool folio_test_writeback(struct folio *folio)
{
	return PageWriteback(&folio->page);
}

static inline bool folio_test_locked(struct folio *folio)
{
	return PageLocked(&folio->page);
}

static inline bool folio_test_anon(struct folio *folio)
{
	return PageAnon(&folio->page);
}

static inline int folio_is_file_lru(struct folio *folio)
{
	return page_is_file_lru(&folio->page);
}

static inline void node_stat_mod_folio(struct folio *folio,
				       enum node_stat_item item, long nr)
{
	mod_node_page_state(page_pgdat(&folio->page), item, nr);
}

static inline int folio_lock_killable(struct folio *folio)
{
	return lock_page_killable(&folio->page);
}

static inline void folio_unlock(struct folio *folio)
{
	unlock_page(&folio->page);
}

/* is_zero_page() came in 6.3; the zero page's pfn says the same. */
static inline bool is_zero_page(const struct page *page)
{
	return is_zero_pfn(page_to_pfn(page));
}

#define dmirror_kernel_serves dmirror_kernel_serves
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

#define dmirror_page_mapping dmirror_page_mapping
static inline struct address_space *dmirror_page_mapping(struct page *page)
{
	return page_mapping(page);
}

#define dmirror_page_index dmirror_page_index
static inline pgoff_t dmirror_page_index(struct page *page)
{
	return page_index(page);
}

#define dmirror_page_lru_kept dmirror_page_lru_kept
static inline bool dmirror_page_lru_kept(struct page *page)
{
	return PageActive(page) || PageUnevictable(page);
}

#define dmirror_migrate_state dmirror_migrate_state
static inline int dmirror_migrate_state(struct page *dst, struct page *src,
					enum migrate_mode kmode)
{
	return migrate_page(dmirror_page_mapping(src), dst, src, kmode);
}

/*
 * A free device-private page keeps one reference in 5.10: the page
 * handed out has two, the second one the caller's.
 */
#define dmirror_device_page_init dmirror_device_page_init
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
#define dmirror_devmem_pin_module dmirror_devmem_pin_module
static inline void dmirror_devmem_pin_module(void)
{
	__module_get(THIS_MODULE);
}

#define dmirror_devmem_unpin_module dmirror_devmem_unpin_module
static inline void dmirror_devmem_unpin_module(void)
{
	module_put(THIS_MODULE);
}

/* 5.10 wants destination pages marked locked. */
#define dmirror_migrate_dst_pfn dmirror_migrate_dst_pfn
static inline unsigned long dmirror_migrate_dst_pfn(struct page *page)
{
	return migrate_pfn(page_to_pfn(page)) | MIGRATE_PFN_LOCKED;
}

/* 5.10's fault handler does not lock the page: nothing to say. */
#define dmirror_migrate_vma_fault_page dmirror_migrate_vma_fault_page
static inline void dmirror_migrate_vma_fault_page(struct migrate_vma *args,
						  struct page *page)
{
}

/* No migrate_device_range() (6.2): nothing to collect, move or finish. */
#define dmirror_migrate_device_range dmirror_migrate_device_range
static inline int dmirror_migrate_device_range(unsigned long *src,
					       unsigned long start_pfn,
					       unsigned long npages)
{
	return -EOPNOTSUPP;
}

static inline void dmirror_migrate_device_pages(unsigned long *src,
						unsigned long *dst, unsigned long npages)
{
}

static inline void dmirror_migrate_device_finalize(unsigned long *src,
						   unsigned long *dst, unsigned long npages)
{
}

#define dmirror_make_exclusive dmirror_make_exclusive
static inline int dmirror_make_exclusive(struct mm_struct *mm,
					 unsigned long start, unsigned long end,
					 struct page **pages, void *owner)
{
	return -EOPNOTSUPP;
}

#define dmirror_range_own_exclusive dmirror_range_own_exclusive
static inline bool
dmirror_range_own_exclusive(const struct mmu_notifier_range *range,
			    void *owner)
{
	return false;
}

/* find_get_page() returns the very page caching index. */
#define dmirror_cache_page dmirror_cache_page
static inline struct page *dmirror_cache_page(struct address_space *mapping,
					      pgoff_t index)
{
	return find_get_page(mapping, index);
}

#define dmirror_lru_add dmirror_lru_add
static inline void dmirror_lru_add(struct page *page)
{
	lru_cache_add(page);
}

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

#define dmirror_movable_reg dmirror_movable_reg
struct dmirror_movable_reg {
	struct dmirror_pseudo ps;
};

#define dmirror_movable_register dmirror_movable_register
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

#define dmirror_movable_unregister dmirror_movable_unregister
static inline void dmirror_movable_unregister(struct dmirror_movable_reg *reg)
{
	dmirror_pseudo_put(&reg->ps);
}

#define dmirror_page_set_movable dmirror_page_set_movable
static inline void dmirror_page_set_movable(struct page *page,
					    struct dmirror_movable_reg *reg)
{
	__SetPageMovable(page, reg->ps.inode->i_mapping);
}

#define dmirror_page_movable_by dmirror_page_movable_by
static inline bool dmirror_page_movable_by(struct page *page,
					   struct dmirror_movable_reg *reg)
{
	return page_mapping(page) == reg->ps.inode->i_mapping;
}

/* PageMovable(), exported in 5.10. */
#define dmirror_page_movable_locked dmirror_page_movable_locked
static inline bool dmirror_page_movable_locked(struct page *page)
{
	return PageMovable(page);
}

/* A balloon's pages need an inode with the kernel's balloon_aops. */
#define dmirror_balloon_reg dmirror_balloon_reg
struct dmirror_balloon_reg {
	struct dmirror_pseudo ps;
};

#define dmirror_balloon_register dmirror_balloon_register
static inline int dmirror_balloon_register(struct dmirror_balloon_reg *reg,
					   struct balloon_dev_info *info)
{
	int ret;

	ret = dmirror_pseudo_get(&reg->ps, &balloon_aops, NULL);
	if (!ret)
		info->inode = reg->ps.inode;
	return ret;
}

#define dmirror_balloon_unregister dmirror_balloon_unregister
static inline void dmirror_balloon_unregister(struct dmirror_balloon_reg *reg,
					      struct balloon_dev_info *info)
{
	info->inode = NULL;
	dmirror_pseudo_put(&reg->ps);
}

#define dmirror_owner_isolate dmirror_owner_isolate
static inline bool dmirror_owner_isolate(struct page *page)
{
	return page_mapping(page)->a_ops->isolate_page(page, 0);
}

#define dmirror_owner_putback dmirror_owner_putback
static inline void dmirror_owner_putback(struct page *page)
{
	page_mapping(page)->a_ops->putback_page(page);
}

#define dmirror_owner_migrate dmirror_owner_migrate
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
#define dmirror_page_set_isolated dmirror_page_set_isolated
static inline void dmirror_page_set_isolated(struct page *page)
{
	__set_bit(PG_isolated, &page->flags);
}

#define dmirror_page_clear_isolated dmirror_page_clear_isolated
static inline void dmirror_page_clear_isolated(struct page *page)
{
	__clear_bit(PG_isolated, &page->flags);
}

/*
 * The migrate callback is a_ops->migratepage, and the exported ones
 * dmirror_cache_cb() tells apart have their 5.10 names.
 */
#define dmirror_mapping_migrate_cb dmirror_mapping_migrate_cb
static inline const void *
dmirror_mapping_migrate_cb(struct address_space *mapping)
{
	return mapping->a_ops->migratepage;
}

#define DMIRROR_CB_MIGRATE	migrate_page
#define DMIRROR_CB_BUFFER	buffer_migrate_page
#define DMIRROR_CB_FILEMAP	iomap_migrate_page
#define DMIRROR_CB_NOREFS	"buffer_migrate_page_norefs"

#define dmirror_cache_migrate dmirror_cache_migrate
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

#define dmirror_file_taken_dirty dmirror_file_taken_dirty
static inline void dmirror_file_taken_dirty(struct vm_area_struct *vma,
					    struct page *page,
					    unsigned long mpfn)
{
	if ((mpfn & MIGRATE_PFN_WRITE) && page_mapping(page) &&
	    dmirror_file_pte_dirty_only(vma))
		set_page_dirty(page);
}

/*
 * Setup may have unmapped the page and mapped it again clean (a
 * reference it did not expect, a failed isolation), without a word in
 * the batch: clean and write-protect it, dirty it if a PTE was dirty or
 * writable; a later write faults and dirties it.
 */
#define dmirror_file_put_back_dirty dmirror_file_put_back_dirty
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

/*
 * The migration core's entry points, as 5.10.262 names and declares
 * them: the LRU isolation takes a page (and a reference of its own, as
 * 6.1's folio_isolate_lru() does); the hugetlb isolation has 6.1's
 * arguments (5.10.y before the stable backport that renamed it called
 * it isolate_huge_page(), returning a bool: not looked up); a THP
 * destination needs prep_transhuge_page(), which the allocator does not
 * call in 5.10. None of them is exported.
 */
#define dmirror_core_syms dmirror_core_syms
struct dmirror_core_syms {
	typeof(migrate_pages) *migrate_pages;
	typeof(putback_movable_pages) *putback_movable_pages;
	int (*isolate_lru)(struct page *page);	/* 0 or -EBUSY */
	typeof(isolate_hugetlb) *isolate_hugetlb;
	typeof(alloc_huge_page_nodemask) *alloc_huge_page;
	typeof(prep_transhuge_page) *prep_transhuge_page;
};

#define dmirror_core_sym_table dmirror_core_sym_table
static inline const struct dmirror_core_sym *dmirror_core_sym_table(size_t *n)
{
	static const struct dmirror_core_sym table[] = {
		DMIRROR_CORE_SYM("migrate_pages", migrate_pages,
				 HMM_NC_FEAT_CORE_MIGRATE),
		DMIRROR_CORE_SYM("putback_movable_pages", putback_movable_pages,
				 HMM_NC_FEAT_CORE_MIGRATE),
		DMIRROR_CORE_SYM("isolate_lru_page", isolate_lru,
				 HMM_NC_FEAT_CORE_MIGRATE),
		DMIRROR_CORE_SYM("prep_transhuge_page", prep_transhuge_page,
				 HMM_NC_FEAT_CORE_MIGRATE),
		DMIRROR_CORE_SYM("isolate_hugetlb", isolate_hugetlb,
				 HMM_NC_FEAT_CORE_HUGETLB),
		DMIRROR_CORE_SYM("alloc_huge_page_nodemask", alloc_huge_page,
				 HMM_NC_FEAT_CORE_HUGETLB),
	};

	*n = ARRAY_SIZE(table);
	return table;
}

#define dmirror_core_isolate_lru dmirror_core_isolate_lru
static inline int dmirror_core_isolate_lru(const struct dmirror_core_syms *s,
					   struct folio *folio)
{
	return s->isolate_lru(&folio->page);
}

/* The page allocator hands out a compound page, not yet a THP. */
#define dmirror_core_alloc_folio dmirror_core_alloc_folio
static inline struct folio *dmirror_core_alloc_folio(const struct dmirror_core_syms *s,
						     gfp_t gfp,
						     unsigned int order,
						     int nid)
{
	struct page *page;

	if (nid != NUMA_NO_NODE)
		page = __alloc_pages_node(nid, gfp | __GFP_THISNODE, order);
	else
		page = alloc_pages(gfp, order);
	if (!page)
		return NULL;
	if (order)
		s->prep_transhuge_page(page);
	return page_folio(page);
}

/* 5.10's migrate_pages() does not count the pages that moved. */
#define dmirror_core_call_migrate dmirror_core_call_migrate
static inline int dmirror_core_call_migrate(const struct dmirror_core_syms *s,
					    struct list_head *list,
					    new_page_t *new, free_page_t *free,
					    unsigned long private,
					    enum migrate_mode kmode)
{
	return s->migrate_pages(list, new, free, private, kmode, MR_SYSCALL);
}

#endif /* _TEST_HMM_COMPAT_5_10_H */

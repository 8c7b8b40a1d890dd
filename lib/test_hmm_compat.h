/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The compat interface: every kernel entry point whose use differs
 * between the releases the module supports is reached through one of
 * the dmirror_*() declared here, so that the engines read the same on
 * all of them and never test a kernel version themselves.
 *
 * How a release overrides the defaults (the kernel's asm-generic idiom):
 *
 * 1. test_hmm_release.h is the version gate and the feature flags: the
 *    build stops with #error for a release lib/ has no compat file for.
 * 2. This header declares every entry, with its kernel-doc.
 * 3. lib/Kbuild names the release's compat file in DMIRROR_RELEASE_H,
 *    test_hmm_compat_<VERSION>.<PATCHLEVEL>.h, included below. It defines
 *    only the entries that release does differently, each followed by a
 *    #define of its own name to itself, as asm-generic's overrides are
 *    (a type: the same for its struct tag).
 * 4. test_hmm_compat_default.h then defines every entry that is still
 *    not defined, each under "#ifndef name": the current kernel's code
 *    (6.1's). Where a later release only renamed a helper or changed an
 *    argument, the default follows it in place, keyed on the release
 *    that made the change (DMIRROR_BEFORE()), so that any release after
 *    it gets it too.
 *
 * An entry a release neither overrides nor gets from the defaults is
 * "declared static but never defined": the build says so.
 *
 * Adding a release: the README's checklist ("Kernel releases"). Here it
 * takes the release's compat file alone, with the overrides it needs (a
 * comment saying so when it needs none).
 */
#ifndef _TEST_HMM_COMPAT_H
#define _TEST_HMM_COMPAT_H

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
#include "test_hmm_release.h"

struct folio;
struct movable_operations;
struct dmirror_movable_reg;
struct dmirror_balloon_reg;
struct dmirror_core_syms;

/* fs/aio.c's AIO_RING_MAGIC: its ring header's and its file system's. */
#define DMIRROR_AIO_RING_MAGIC	0xa10a10a1

/* The device and its commands. */

/**
 * dmirror_kernel_serves() - Whether this kernel can serve a command.
 * @cmd: an ioctl command of the device
 *
 * 5.10 serves neither EXCLUSIVE nor CHECK_EXCLUSIVE (no
 * make_device_exclusive_range()) nor RELEASE (no migrate_device_range()).
 *
 * Return: false when the dispatcher must answer -EOPNOTSUPP.
 */
static inline bool dmirror_kernel_serves(unsigned int cmd);

/**
 * dmirror_class_create() - Create the device class.
 * @name: its name
 *
 * Return: the class or an ERR_PTR.
 */
static inline struct class *dmirror_class_create(const char *name);

/* Migrate modes. */

/**
 * dmirror_kernel_mode() - The kernel's migrate_mode for one of ours.
 * @mode: HMM_NC_MODE_SYNC or HMM_NC_MODE_SYNC_NO_COPY
 * @kmode: filled with the kernel's mode
 *
 * Return: 0; -EOPNOTSUPP for NO_COPY where the kernel lacks it (from
 * 6.11); -EINVAL for any other mode.
 */
static inline int dmirror_kernel_mode(u32 mode, enum migrate_mode *kmode);

/**
 * dmirror_kernel_copies() - Whether the kernel copies the data in a mode.
 * @kmode: the kernel's migrate_mode
 *
 * Return: false for MIGRATE_SYNC_NO_COPY, true otherwise.
 */
static inline bool dmirror_kernel_copies(enum migrate_mode kmode);

/* Pages of a user range, and the device's migrations of them. */

/**
 * dmirror_alloc_user_page() - A fresh system page for user data.
 * @vma: the mapping it is for
 * @addr: the address in @vma
 *
 * Return: the page, or NULL.
 */
static inline struct page *dmirror_alloc_user_page(struct vm_area_struct *vma,
						   unsigned long addr);

/**
 * dmirror_vma_is_secret() - Whether a mapping is memfd_secret() memory.
 * @vma: the mapping
 *
 * That memory is not in the kernel's direct map: the device must never
 * touch it. Always false before 5.14, which has no memfd_secret().
 *
 * Return: true for memfd_secret() memory.
 */
static inline bool dmirror_vma_is_secret(struct vm_area_struct *vma);

/**
 * dmirror_page_shared() - Whether another process maps the page too.
 * @page: a mapped page
 *
 * Shared after fork, or merged by KSM. From 6.12 the estimate is of the
 * page's folio.
 *
 * Return: true when the page is not the caller's alone.
 */
static inline bool dmirror_page_shared(struct page *page);

/**
 * dmirror_page_mapping() - The address_space a page belongs to.
 * @page: the page
 *
 * Return: its mapping, or NULL for an anonymous page.
 */
static inline struct address_space *dmirror_page_mapping(struct page *page);

/**
 * dmirror_page_index() - A page's offset in its mapping, in pages.
 * @page: a page-cache page
 *
 * Return: the index.
 */
static inline pgoff_t dmirror_page_index(struct page *page);

/**
 * dmirror_page_lru_kept() - Whether a page is on the active or the
 *                           unevictable LRU list.
 * @page: the page
 *
 * Return: true on either list.
 */
static inline bool dmirror_page_lru_kept(struct page *page);

/**
 * dmirror_migrate_state() - Move an anonymous page's state to a new page.
 * @dst: the new page, locked
 * @src: the old page, locked
 * @kmode: the kernel's migrate_mode; the data moves too unless it is
 *         MIGRATE_SYNC_NO_COPY
 *
 * Return: 0 or -errno.
 */
static inline int dmirror_migrate_state(struct page *dst, struct page *src,
					enum migrate_mode kmode);

/**
 * dmirror_migrate_dst_pfn() - The destination entry of a migrate_vma
 *                             batch for a page.
 * @page: the destination page, locked
 *
 * Return: the entry (5.10 also marks it locked).
 */
static inline unsigned long dmirror_migrate_dst_pfn(struct page *page);

/**
 * dmirror_migrate_vma_fault_page() - Name the page a CPU fault comes for.
 * @args: the migrate_vma batch of the fault
 * @page: the faulting device page, which the fault handler locked
 *
 * Does nothing on 5.10, whose fault handler does not lock it.
 */
static inline void dmirror_migrate_vma_fault_page(struct migrate_vma *args,
						  struct page *page);

/* Device memory. */

/**
 * dmirror_device_page_init() - Hand out a free device-private page.
 * @page: the free page
 *
 * The page leaves with one reference, the caller's, and locked.
 */
static inline void dmirror_device_page_init(struct page *page);

/**
 * dmirror_devmem_pin_module() - Device memory was added.
 *
 * On 5.10, where nothing can bring device pages back whatever maps them,
 * this pins the module until dmirror_devmem_unpin_module(); elsewhere it
 * does nothing.
 */
static inline void dmirror_devmem_pin_module(void);

/**
 * dmirror_devmem_unpin_module() - Device memory is gone.
 */
static inline void dmirror_devmem_unpin_module(void);

/**
 * dmirror_migrate_device_range() - Collect device pages for migration,
 *                                  whatever maps them.
 * @src: filled with a migrate_pfn entry per page
 * @start_pfn: the first page
 * @npages: how many
 *
 * Then dmirror_migrate_device_pages() and
 * dmirror_migrate_device_finalize(), as with migrate_vma.
 *
 * Return: 0 or -errno; -EOPNOTSUPP on 5.10.
 */
static inline int dmirror_migrate_device_range(unsigned long *src,
					       unsigned long start_pfn,
					       unsigned long npages);

/**
 * dmirror_migrate_device_pages() - Move the collected pages' state.
 * @src: the entries dmirror_migrate_device_range() filled
 * @dst: the destination entries
 * @npages: how many
 */
static inline void dmirror_migrate_device_pages(unsigned long *src,
						unsigned long *dst,
						unsigned long npages);

/**
 * dmirror_migrate_device_finalize() - Finish a device range migration.
 * @src: the source entries
 * @dst: the destination entries
 * @npages: how many
 */
static inline void dmirror_migrate_device_finalize(unsigned long *src,
						   unsigned long *dst,
						   unsigned long npages);

/**
 * dmirror_make_exclusive() - Make a range exclusive to the device.
 * @mm: the process's mm, read-locked
 * @start: the range's first byte
 * @end: the byte after its last
 * @pages: filled with a page per entry, locked and referenced, or NULL
 *         where it failed
 * @owner: the device's owner cookie
 *
 * Return: the number of entries filled in @pages, or -errno
 * (-EOPNOTSUPP before 5.14).
 */
static inline int dmirror_make_exclusive(struct mm_struct *mm,
					 unsigned long start, unsigned long end,
					 struct page **pages, void *owner);

/**
 * dmirror_range_own_exclusive() - Whether an invalidation is the one
 *                                 dmirror_make_exclusive() made.
 * @range: the invalidated range
 * @owner: the device's owner cookie
 *
 * Return: true for the device's own; it needs no action.
 */
static inline bool
dmirror_range_own_exclusive(const struct mmu_notifier_range *range,
			    void *owner);

/* The page cache and the LRU. */

/**
 * dmirror_cache_page() - The page caching an index of a mapping.
 * @mapping: the mapping
 * @index: the page's offset in it
 *
 * Return: the page, referenced, or NULL for a hole.
 */
static inline struct page *dmirror_cache_page(struct address_space *mapping,
					      pgoff_t index);

/**
 * dmirror_lru_add() - Put a page-cache page leaving a migration on the LRU.
 * @page: the page
 */
static inline void dmirror_lru_add(struct page *page);

/**
 * dmirror_lru_drain_all() - Drain every CPU's LRU batches.
 *
 * lru_add_drain_all(), which is not exported. Sleeps.
 */
static inline void dmirror_lru_drain_all(void);

/**
 * dmirror_mapping_is_shmem() - Whether a mapping is a tmpfs or memfd file's.
 * @mapping: the mapping
 *
 * Return: true for tmpfs and memfd files.
 */
static inline bool dmirror_mapping_is_shmem(struct address_space *mapping);

/**
 * dmirror_mapping_write_sealed() - Whether a memfd is sealed against writes.
 * @mapping: the mapping
 *
 * Its pages must keep what they hold.
 *
 * Return: true when F_SEAL_WRITE or F_SEAL_FUTURE_WRITE is set.
 */
static inline bool dmirror_mapping_write_sealed(struct address_space *mapping);

/**
 * dmirror_mapping_migrates() - Whether a mapping's pages have a migrate
 *                              callback of their own.
 * @mapping: the mapping
 *
 * Return: true when a_ops has one.
 */
static inline bool dmirror_mapping_migrates(struct address_space *mapping);

/**
 * dmirror_cache_cb() - The kind of a mapping's migrate callback.
 * @mapping: the mapping, or NULL for an anonymous page
 *
 * Return: HMM_NC_CB_FOLIO, _BUFFER, _FILEMAP, _HUGETLBFS or _OTHER. The
 * same kinds on every release, whatever the callbacks are called there.
 */
static inline int dmirror_cache_cb(struct address_space *mapping);

/**
 * dmirror_cache_migrate() - Move a page's state through its mapping's
 *                           own callback, as the migration core does.
 * @mapping: the page's mapping, or NULL for an anonymous page
 * @dst: the new page, locked
 * @src: the old page, locked
 * @kmode: the kernel's migrate_mode
 *
 * Return: 0 or -errno; -EOPNOTSUPP for a mapping without a callback (it
 * would need fallback_migrate_folio(), which is not exported).
 */
static inline int dmirror_cache_migrate(struct address_space *mapping,
					struct page *dst, struct page *src,
					enum migrate_mode kmode);

/**
 * dmirror_cache_forget() - Drop the old page-cache page's mapping after
 *                          a successful move.
 * @src: the old page
 *
 * Freeing it with its mapping reports a bad page; anonymous and movable
 * pages keep theirs for their statistics. The kernel's own migrations
 * do this; migrate_vma_finalize() does not.
 */
static inline void dmirror_cache_forget(struct page *src);

/**
 * dmirror_cache_forgotten() - Whether the old page's mapping is gone.
 * @src: the old page (anonymous pages keep theirs)
 *
 * Return: true when it has no page-cache mapping left.
 */
static inline bool dmirror_cache_forgotten(struct page *src);

/**
 * dmirror_bh_moved() - Whether every buffer head of a page moved to
 *                      the new one.
 * @dst: the new page, whose buffer heads must all point at it
 * @src: the old page, which must have none left
 *
 * Return: true when every buffer head moved.
 */
static inline bool dmirror_bh_moved(struct page *dst, struct page *src);

/**
 * dmirror_file_taken_dirty() - Make up for a dirty bit setup dropped.
 * @vma: the mapping of the batch
 * @page: a page the batch holds, locked and unmapped
 * @mpfn: what migrate_vma_setup() said of it
 *
 * 5.10's migrate_vma_setup() drops a PTE's dirty bit (fixed in 6.0):
 * there a page mapped writable in a shared mapping without writeback is
 * taken as written. Does nothing elsewhere.
 */
static inline void dmirror_file_taken_dirty(struct vm_area_struct *vma,
					    struct page *page,
					    unsigned long mpfn);

/**
 * dmirror_file_put_back_dirty() - The same for a page the batch does
 *                                 not hold.
 * @vma: the mapping of the batch
 * @addr: the page's address
 *
 * Called after the batch, with no page lock held. Does nothing but on
 * 5.10.
 */
static inline void dmirror_file_put_back_dirty(struct vm_area_struct *vma,
					       unsigned long addr);

/* Non-LRU movable pages: the refusal engine and its page kinds. */

/**
 * dmirror_zs_malloc() - Allocate from a zsmalloc pool.
 * @pool: the pool
 * @size: bytes
 * @gfp: allocation flags
 *
 * Return: a handle, or 0 (6.1 returns an error value, 5.10 zero).
 */
static inline unsigned long dmirror_zs_malloc(struct zs_pool *pool,
					      size_t size, gfp_t gfp);

/**
 * dmirror_movable_register() - Register the owner of non-LRU movable pages.
 * @reg: the registration, the owner's
 * @mops: the owner's callbacks (5.10 has no movable_operations: its
 *        compat file defines 6.0's and routes an address_space to them)
 *
 * Return: 0 or -errno.
 */
static inline int dmirror_movable_register(struct dmirror_movable_reg *reg,
					   const struct movable_operations *mops);

/**
 * dmirror_movable_unregister() - Undo dmirror_movable_register().
 * @reg: the registration
 */
static inline void dmirror_movable_unregister(struct dmirror_movable_reg *reg);

/**
 * dmirror_page_set_movable() - Make a page one of the owner's movable pages.
 * @page: the page, locked
 * @reg: the owner's registration
 */
static inline void dmirror_page_set_movable(struct page *page,
					    struct dmirror_movable_reg *reg);

/**
 * dmirror_page_clear_movable() - Make a page non-movable again.
 * @page: the page, locked
 */
static inline void dmirror_page_clear_movable(struct page *page);

/**
 * dmirror_page_movable_by() - Whether a movable page is the owner's.
 * @page: the page
 * @reg: the owner's registration
 *
 * Return: true for the owner's pages.
 */
static inline bool dmirror_page_movable_by(struct page *page,
					   struct dmirror_movable_reg *reg);

/**
 * dmirror_page_movable_locked() - PageMovable(), which 6.12 no longer
 *                                 exports.
 * @page: the page, locked
 *
 * Return: true for a non-LRU movable page.
 */
static inline bool dmirror_page_movable_locked(struct page *page);

/**
 * dmirror_balloon_register() - Make a balloon's pages movable.
 * @reg: the registration
 * @info: the balloon
 *
 * From 6.0 there is nothing to do; 5.10 needs an inode with the kernel's
 * balloon operations.
 *
 * Return: 0 or -errno.
 */
static inline int dmirror_balloon_register(struct dmirror_balloon_reg *reg,
					   struct balloon_dev_info *info);

/**
 * dmirror_balloon_unregister() - Undo dmirror_balloon_register().
 * @reg: the registration
 * @info: the balloon
 */
static inline void dmirror_balloon_unregister(struct dmirror_balloon_reg *reg,
					      struct balloon_dev_info *info);

/**
 * dmirror_owner_isolate() - Call the isolate callback of a non-LRU
 *                           movable page's owner.
 * @page: the page, locked
 *
 * This and the next two call the owner as the migration core does.
 *
 * Return: whether the owner let the page go.
 */
static inline bool dmirror_owner_isolate(struct page *page);

/**
 * dmirror_owner_putback() - Call the owner's putback callback.
 * @page: the isolated page, locked
 */
static inline void dmirror_owner_putback(struct page *page);

/**
 * dmirror_owner_migrate() - Call the owner's migrate callback.
 * @dst: the new page, locked
 * @src: the old page, locked and isolated
 * @mode: the kernel's migrate_mode
 *
 * Return: 0 or -errno (-EINVAL: a NO_COPY refusal).
 */
static inline int dmirror_owner_migrate(struct page *dst, struct page *src,
					enum migrate_mode mode);

/**
 * dmirror_page_set_isolated() - Mark a movable page isolated.
 * @page: the page, locked
 */
static inline void dmirror_page_set_isolated(struct page *page);

/**
 * dmirror_page_clear_isolated() - Mark it isolated no more.
 * @page: the page, locked
 */
static inline void dmirror_page_clear_isolated(struct page *page);

/*
 * The migration core's entry points that mm/ does not export
 * (test_hmm_coremig.c), found by name at load from the release's table.
 */

/**
 * dmirror_core_isolate_lru_page() - Take a page's folio off its LRU list.
 * @page: the page; the caller holds a reference
 *
 * Return: 0, -EBUSY when it is on no list, -EOPNOTSUPP when the
 * isolation was not found at load.
 */
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
 * The allocation callbacks of a migrate_pages() call, of one type on
 * every release: dmirror_core_migrate_pages() adapts them to the
 * release's (pages up to 6.1, folios in 6.12).
 */
struct dmirror_core_cbs {
	struct folio *(*new_folio)(struct folio *src, void *data);
	void (*free_folio)(struct folio *dst, void *data);
	void *data;
};

/**
 * dmirror_core_sym_table() - The names to look up at load.
 * @n: filled with the number of entries
 *
 * Their pointers live in struct dmirror_core_syms, of the release's
 * types. In order: the first name found fills a field.
 *
 * Return: the table.
 */
static inline const struct dmirror_core_sym *dmirror_core_sym_table(size_t *n);

/**
 * dmirror_core_isolate_lru() - Isolate an LRU folio.
 * @s: the entry points found
 * @folio: the folio; the caller holds a reference
 *
 * The isolation takes a reference of its own, on every release.
 *
 * Return: 0 or -EBUSY.
 */
static inline int dmirror_core_isolate_lru(const struct dmirror_core_syms *s,
					   struct folio *folio);

/**
 * dmirror_kernel_core_mode() - The kernel's migrate_mode for any of ours,
 *                              for migrate_pages().
 * @mode: HMM_NC_MODE_*; the lighter modes are controls for the core's
 *        switches
 * @kmode: filled with the kernel's mode
 *
 * Return: 0 or -errno, as dmirror_kernel_mode().
 */
static inline int dmirror_kernel_core_mode(u32 mode, enum migrate_mode *kmode);

/**
 * dmirror_core_isolate_hugetlb() - Isolate a hugetlb folio onto a list.
 * @s: the entry points found
 * @folio: the folio
 * @list: where it goes, with a reference
 *
 * Return: 0 or -EBUSY.
 */
static inline int dmirror_core_isolate_hugetlb(const struct dmirror_core_syms *s,
					       struct folio *folio,
					       struct list_head *list);

/**
 * dmirror_core_alloc_hugetlb() - A free hugetlb folio from a pool.
 * @s: the entry points found
 * @h: the pool, of the folio's size
 * @nid: the node to prefer
 *
 * Return: the folio, or NULL.
 */
static inline struct folio *dmirror_core_alloc_hugetlb(const struct dmirror_core_syms *s,
						       struct hstate *h, int nid);

/**
 * dmirror_core_alloc_folio() - A destination folio for the core.
 * @s: the entry points found
 * @gfp: allocation flags (GFP_TRANSHUGE for a THP)
 * @order: its order
 * @nid: the only node it may come from, or NUMA_NO_NODE for the
 *       caller's memory policy
 *
 * A large folio is ready to be mapped as a THP.
 *
 * Return: the folio, or NULL.
 */
static inline struct folio *dmirror_core_alloc_folio(const struct dmirror_core_syms *s,
						     gfp_t gfp,
						     unsigned int order,
						     int nid);

/**
 * dmirror_core_user_page() - One user page of the current process.
 * @addr: its address
 * @page: filled with the page, referenced
 *
 * Return: 0 or -errno.
 */
static inline int dmirror_core_user_page(unsigned long addr, struct page **page);

/**
 * dmirror_core_migrate_pages() - The kernel's migrate_pages().
 * @s: the entry points found
 * @list: the isolated folios; those left on it did not move
 * @cbs: the destination callbacks, called as the release's type wants
 * @kmode: the kernel's migrate_mode
 *
 * Return: what migrate_pages() returned.
 */
static inline int dmirror_core_migrate_pages(const struct dmirror_core_syms *s,
					     struct list_head *list,
					     struct dmirror_core_cbs *cbs,
					     enum migrate_mode kmode);

/*
 * The release's overrides, then the defaults for the rest. 5.10's file
 * also supplies helpers of later kernels the engines call by their
 * kernel names (vma_lookup(), kmap_local_page(), kunmap_local(), and the
 * folio helpers of the migration core's code).
 */
#include DMIRROR_RELEASE_H
#include "test_hmm_compat_default.h"

#endif /* _TEST_HMM_COMPAT_H */

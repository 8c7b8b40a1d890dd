/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Linux 6.12: its overrides of the compat defaults (test_hmm_compat.h
 * says how they work). The defaults follow 6.12's renamed helpers in
 * place; what differs here is the table of unexported entry points.
 *
 * The migration core's entry points (test_hmm_coremig.c) are found by
 * name at load, as 6.1's are, with 6.12's folio types: migrate_pages()
 * takes new_folio_t and free_folio_t callbacks, folio_isolate_lru() and
 * isolate_hugetlb() take a folio and return a bool, the hugetlb pool
 * hands out folios (alloc_hugetlb_folio_nodemask(), with the fallback to
 * a fresh surplus folio that migrate_pages() allows MR_SYSCALL), and
 * get_user_pages() lost its vmas argument. The LRU isolation is also
 * the aio kind's, which 6.12's mem_cgroup_migrate() wants off the LRU
 * (DMIRROR_LRU_FOLIO_MIGRATES): where it is not found, aio ring pages
 * answer -EOPNOTSUPP and the info command does not list them. The core
 * runs in SYNC, SYNC_LIGHT and ASYNC; NO_COPY answers -EOPNOTSUPP.
 *
 * MIGRATE_SYNC_NO_COPY is gone (DMIRROR_HAVE_NO_COPY): the info command
 * reports SYNC only and no refusals (the balloon, zsmalloc and aio
 * callbacks no longer look at the mode, so there is nothing to refuse).
 *
 * Included by test_hmm_compat.h only.
 */
#ifndef _TEST_HMM_COMPAT_6_12_H
#define _TEST_HMM_COMPAT_6_12_H

/*
 * Spelled out as mm/internal.h declares folio_isolate_lru() (a bool
 * since 6.4); the others have their header's type. The hugetlb
 * isolation is isolate_hugetlb() in 6.12 (folio_isolate_hugetlb() with
 * the same arguments from 6.14).
 */
#define dmirror_core_syms dmirror_core_syms
struct dmirror_core_syms {
	typeof(migrate_pages) *migrate_pages;
	typeof(putback_movable_pages) *putback_movable_pages;
	bool (*isolate_lru)(struct folio *folio);
	typeof(isolate_hugetlb) *isolate_hugetlb;
	typeof(alloc_hugetlb_folio_nodemask) *alloc_hugetlb;
};

#define dmirror_core_sym_table dmirror_core_sym_table
static inline const struct dmirror_core_sym *dmirror_core_sym_table(size_t *n)
{
	static const struct dmirror_core_sym table[] = {
		DMIRROR_CORE_SYM("migrate_pages", migrate_pages,
				 HMM_NC_FEAT_CORE_MIGRATE),
		DMIRROR_CORE_SYM("putback_movable_pages", putback_movable_pages,
				 HMM_NC_FEAT_CORE_MIGRATE),
		DMIRROR_CORE_SYM("folio_isolate_lru", isolate_lru,
				 HMM_NC_FEAT_CORE_MIGRATE |
				 HMM_NC_FEAT_AIO_RING),
		DMIRROR_CORE_SYM("isolate_hugetlb", isolate_hugetlb,
				 HMM_NC_FEAT_CORE_HUGETLB),
		DMIRROR_CORE_SYM("folio_isolate_hugetlb", isolate_hugetlb,
				 HMM_NC_FEAT_CORE_HUGETLB),
		DMIRROR_CORE_SYM("alloc_hugetlb_folio_nodemask", alloc_hugetlb,
				 HMM_NC_FEAT_CORE_HUGETLB),
	};

	*n = ARRAY_SIZE(table);
	return table;
}

#define dmirror_core_isolate_lru dmirror_core_isolate_lru
static inline int dmirror_core_isolate_lru(const struct dmirror_core_syms *s,
					   struct folio *folio)
{
	return s->isolate_lru(folio) ? 0 : -EBUSY;
}

#define dmirror_core_isolate_hugetlb dmirror_core_isolate_hugetlb
static inline int dmirror_core_isolate_hugetlb(const struct dmirror_core_syms *s,
					       struct folio *folio,
					       struct list_head *list)
{
	return s->isolate_hugetlb(folio, list) ? 0 : -EBUSY;
}

#define dmirror_core_alloc_hugetlb dmirror_core_alloc_hugetlb
static inline struct folio *dmirror_core_alloc_hugetlb(const struct dmirror_core_syms *s,
						       struct hstate *h, int nid)
{
	gfp_t gfp = htlb_modify_alloc_mask(h, GFP_USER | __GFP_MOVABLE |
					   __GFP_RETRY_MAYFAIL);

	return s->alloc_hugetlb(h, nid, NULL, gfp, true);
}

#define dmirror_core_user_page dmirror_core_user_page
static inline int dmirror_core_user_page(unsigned long addr, struct page **page)
{
	long n = get_user_pages(addr, 1, 0, page);

	return n == 1 ? 0 : (n < 0 ? n : -EFAULT);
}

/* migrate_pages() takes new_folio_t and free_folio_t. */
static inline struct folio *dmirror_core_new_folio(struct folio *src,
						   unsigned long private)
{
	struct dmirror_core_cbs *cbs = (struct dmirror_core_cbs *)private;

	return cbs->new_folio(src, cbs->data);
}

static inline void dmirror_core_free_folio(struct folio *dst,
					   unsigned long private)
{
	struct dmirror_core_cbs *cbs = (struct dmirror_core_cbs *)private;

	cbs->free_folio(dst, cbs->data);
}

#define dmirror_core_migrate_pages dmirror_core_migrate_pages
static inline int dmirror_core_migrate_pages(const struct dmirror_core_syms *s,
					     struct list_head *list,
					     struct dmirror_core_cbs *cbs,
					     enum migrate_mode kmode)
{
	unsigned int succeeded = 0;

	return s->migrate_pages(list, dmirror_core_new_folio,
				dmirror_core_free_folio, (unsigned long)cbs,
				kmode, MR_SYSCALL, &succeeded);
}

#endif /* _TEST_HMM_COMPAT_6_12_H */

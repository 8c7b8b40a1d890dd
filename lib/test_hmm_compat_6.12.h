/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Linux 6.12: its overrides of the compat defaults (test_hmm_compat.h
 * says how they work). The defaults follow 6.12's renamed helpers in
 * place; what differs here is the table of unexported entry points.
 *
 * The module reaches one entry point 6.12 does not export, found by name
 * at load as 6.1's are (test_hmm_coremig.c): the LRU isolation, for aio
 * ring pages, which 6.12's mem_cgroup_migrate() wants off the LRU
 * (DMIRROR_LRU_FOLIO_MIGRATES); where it is not found, aio ring pages
 * answer -EOPNOTSUPP and the info command does not list them. Spelled
 * out as mm/internal.h declares it (a bool since 6.4). The core commands
 * are not ported (DMIRROR_CORE_MIGRATE).
 *
 * MIGRATE_SYNC_NO_COPY is gone (DMIRROR_HAVE_NO_COPY): the info command
 * reports SYNC only and no refusals (the balloon, zsmalloc and aio
 * callbacks no longer look at the mode, so there is nothing to refuse).
 *
 * Included by test_hmm_compat.h only.
 */
#ifndef _TEST_HMM_COMPAT_6_12_H
#define _TEST_HMM_COMPAT_6_12_H

#define dmirror_core_syms dmirror_core_syms
struct dmirror_core_syms {
	bool (*isolate_lru)(struct folio *folio);
};

#define dmirror_core_sym_table dmirror_core_sym_table
static inline const struct dmirror_core_sym *dmirror_core_sym_table(size_t *n)
{
	static const struct dmirror_core_sym table[] = {
		DMIRROR_CORE_SYM("folio_isolate_lru", isolate_lru,
				 HMM_NC_FEAT_AIO_RING),
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

#endif /* _TEST_HMM_COMPAT_6_12_H */

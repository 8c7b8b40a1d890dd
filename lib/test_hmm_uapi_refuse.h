/* SPDX-License-Identifier: GPL-2.0 WITH Linux-syscall-note */
/*
 * User ABI of the test_hmm NO_COPY test device, continued: the page
 * kinds (which migrate callback moved or refused a page) and the
 * commands of the refusal paths. Part of test_hmm_uapi.h, which includes
 * it where the kinds are first needed: include that one, whose rules
 * ("Who may do what", "Page arrays", errors) hold here too.
 */
#ifndef _TEST_HMM_UAPI_REFUSE_H
#define _TEST_HMM_UAPI_REFUSE_H

#ifndef _TEST_HMM_UAPI_H
#error "include test_hmm_uapi.h, not test_hmm_uapi_refuse.h"
#endif

/*
 * Which migrate callback moved (or refused) a page's state: the one list
 * of page kinds, in ABI order (new ones last), expanded through
 * HMM_NC_CB_KIND(id, name) as trace/events/migrate.h does: the enum, the
 * module's kind table (lib/test_hmm_kind.c) and libhmm's names.
 */
#define HMM_NC_CBS							\
	HMM_NC_CB_KIND(DEVICE, "device")	/* migrate_vma_pages() */ \
	HMM_NC_CB_KIND(FOLIO, "folio")		/* migrate_folio(_extra) */ \
	HMM_NC_CB_KIND(BUFFER, "buffer")	/* buffer_migrate_folio* */ \
	HMM_NC_CB_KIND(FILEMAP, "filemap")	/* filemap_migrate_folio */ \
	HMM_NC_CB_KIND(HUGETLBFS, "hugetlbfs")	/* hugetlbfs_migrate_folio */ \
	HMM_NC_CB_KIND(BALLOON, "balloon")	/* balloon_page_migrate */ \
	HMM_NC_CB_KIND(ZSMALLOC, "zsmalloc")	/* zs_page_migrate */	\
	HMM_NC_CB_KIND(AIO, "aio")		/* aio_migrate_folio */	\
	HMM_NC_CB_KIND(OTHER, "other")		/* e.g. our movable pages */ \
	HMM_NC_CB_KIND(FALLBACK, "fallback")	/* fallback_migrate_folio */

#define HMM_NC_CB_KIND(id, name)	HMM_NC_CB_##id,
enum hmm_nc_cb {
	HMM_NC_CBS
	HMM_NC_CB_COUNT,
};

#undef HMM_NC_CB_KIND

/*
 * Refusal paths (commands 0x50-0x5f). balloon_page_migrate(),
 * zs_page_migrate() and aio_migrate_folio() refuse MIGRATE_SYNC_NO_COPY
 * with -EINVAL: their data must be copied under a lock of their own. The
 * device holds pages of these kinds and migrates chosen ones through the
 * kernel's own protocol for them, in the mode the caller picks:
 *  HMM_NC_CB_BALLOON   a page of the device's balloon (balloon_dev_info),
 *                      isolated, migrated and put back through balloon_mops;
 *  HMM_NC_CB_ZSMALLOC  the zspage page holding an object of the device's
 *                      zsmalloc pool, through the pool's movable operations;
 *  HMM_NC_CB_AIO       a ring page of an aio context of the calling process,
 *                      through its mapping's migrate_folio callback (only
 *                      with HMM_NC_FEAT_AIO_RING);
 *  HMM_NC_CB_OTHER     a page of the device's own non-LRU movable pages,
 *                      whose callback moves state and, under NO_COPY, leaves
 *                      the data to the DMA engine: a batch can so mix pages
 *                      that migrate with a page that refuses.
 * Balloon pages, objects and movable pages carry a self-checking payload.
 * The held items belong to the device (not to an open file) and live
 * until released or until the module is unloaded, which returns them.
 */
#define HMM_NC_RF_MAX_HELD	4096	/* items of one kind per device */
#define HMM_NC_RF_MAX_BATCH	64	/* pages per HMM_NC_RF_MIGRATE */
#define HMM_NC_RF_OBJ_SIZE	248	/* payload bytes of a zsmalloc object */
#define HMM_NC_RF_ALL		(~0ULL)	/* HMM_NC_RF_RELEASE: every item */

/*
 * HMM_NC_RF_HOLD adds count items of a kind (HMM_NC_CB_BALLOON,
 * _ZSMALLOC or _OTHER) to the device; HMM_NC_RF_RELEASE gives back the
 * last count held (at most all of them).
 * Errors: EINVAL unknown flags, non-zero reserved, another kind, count 0.
 * ENOSPC HOLD past HMM_NC_RF_MAX_HELD (nothing added). ENOMEM kernel
 * memory ran out (items added before stay held: see HMM_NC_RF_STATE).
 * EBUSY RELEASE: an item stayed isolated by someone else (compaction)
 * for about a second; the ones before it were given back. EFAULT bad
 * pointer.
 */
struct hmm_nc_rf_hold {
	__u32 flags;		/* in: must be zero */
	__u32 kind;		/* in: enum hmm_nc_cb */
	__u64 count;		/* in: items to add / give back */
	__u64 done;		/* out: items added / given back */
	__u64 held;		/* out: items of the kind held now */
	__u64 reserved[4];	/* in: must be zero */
};

/* One page of an HMM_NC_RF_MIGRATE batch. */
struct hmm_nc_rf_page {
	__u32 kind;		/* in: enum hmm_nc_cb */
	__u32 flags;		/* in: must be zero */
	__u64 index;		/* in: item (balloon page, object, movable
				 * page) or, for aio, ring page
				 */
	__u64 ctx;		/* in: aio: the aio_context_t of io_setup();
				 * must be zero for the other kinds
				 */
	__s32 result;		/* out: what the callback returned, or why
				 * it was not called (HMM_NC_RF_RAN clear)
				 */
	__u32 status;		/* out: HMM_NC_RF_* */
	__u64 old_pfn;		/* out: page holding the item before */
	__u64 new_pfn;		/* out: page holding it afterwards */
	__u64 reserved[2];	/* in: must be zero */
};

#define HMM_NC_RF_RAN		0x1U	/* the callback was called */
#define HMM_NC_RF_MOVED		0x2U	/* new_pfn != old_pfn */
/*
 * Back home: the page holding the item is where its owner keeps it and
 * no longer isolated. Balloon: on the balloon's list, the balloon holds
 * as many pages as before and none isolated. zsmalloc: the object's
 * handle maps into it. aio: the ring's page-cache slot holds it.
 * Movable: the device's table holds it, not isolated.
 */
#define HMM_NC_RF_HOME		0x4U
/* Payload checks out (aio: byte-identical to the page before). */
#define HMM_NC_RF_INTACT	0x8U
#define HMM_NC_RF_COPIED	0x10U	/* the DMA engine copied it */

/*
 * HMM_NC_RF_MIGRATE migrates a batch the way the NO_COPY protocol does:
 * take every page (isolate it through its owner, or reference it), lock
 * them all in PFN order, whatever the order of the entries (unmapping
 * aio ring pages), call each page's migrate callback in the chosen mode,
 * DMA-copy the pages that migrated under NO_COPY in one operation, put
 * back the pages whose callback failed, check every item where its owner
 * keeps it, unlock. Results keep the order of the entries.
 * Errors (nothing was attempted): EINVAL unknown flags or non-zero
 * reserved (command or page), mode out of range, npages 0 or above
 * HMM_NC_RF_MAX_BATCH, unknown kind, index not held, ctx non-zero for a
 * kind other than aio, ctx not an aio ring mapped in the caller or index
 * past its end, the same page named twice, by the same entry or under
 * two names (two objects of one zspage page; (ctx, 1) and (ctx + one
 * page, 0) of a ring). EFAULT bad pointer.
 * EOPNOTSUPP the kernel has no such mode, or an HMM_NC_CB_AIO entry
 * without HMM_NC_FEAT_AIO_RING. ENOMEM kernel memory ran out.
 * EBUSY a page could not be taken: held locked or isolated by someone
 * else for about a second. ENOENT an aio ring page is not in its page
 * cache.
 * A callback's failure is not an error of the command: see each page's
 * result and the counts below. A page whose callback was not called
 * (HMM_NC_RF_RAN clear) says why in result: -EBUSY for an aio ring page
 * on the active or unevictable LRU list (the module cannot isolate LRU
 * pages, so their list flags must not move), -ENOMEM.
 */
struct hmm_nc_rf_migrate {
	__u32 flags;		/* in: must be zero */
	__u32 mode;		/* in: enum hmm_nc_mode */
	__u64 npages;		/* in: entries at pages */
	__u64 pages;		/* in: address of struct hmm_nc_rf_page[] */
	__u64 migrated;		/* out: callbacks that returned 0 */
	__u64 refused;		/* out: callbacks that returned -EINVAL */
	__u64 failed;		/* out: pages that failed otherwise */
	__u64 reserved[4];	/* in: must be zero */
};

/*
 * HMM_NC_RF_STATE reports what the device holds and checks every held
 * payload. Errors: EINVAL unknown flags or non-zero reserved; EFAULT.
 */
struct hmm_nc_rf_state {
	__u32 flags;		/* in: must be zero */
	__u32 reserved0;	/* in: must be zero */
	__u64 balloon_pages;	/* out: pages in the balloon */
	__u64 balloon_listed;	/* out: ... of them on its page list */
	__u64 balloon_isolated;	/* out: its isolated_pages count */
	__u64 zs_objects;	/* out: objects in the pool */
	__u64 zs_pool_pages;	/* out: pages the pool uses */
	__u64 movable_pages;	/* out: the device's own movable pages */
	__u64 movable_isolated;	/* out: ... of them isolated */
	__u64 bad;		/* out: held items whose payload fails */
	__u64 reserved[8];	/* in: must be zero */
};

#define HMM_NC_RF_BASE		(HMM_NC_CMD_BASE + 0x10)
#define HMM_NC_RF_HOLD \
	_IOWR('H', HMM_NC_RF_BASE + 0x00, struct hmm_nc_rf_hold)
#define HMM_NC_RF_RELEASE \
	_IOWR('H', HMM_NC_RF_BASE + 0x01, struct hmm_nc_rf_hold)
#define HMM_NC_RF_MIGRATE \
	_IOWR('H', HMM_NC_RF_BASE + 0x02, struct hmm_nc_rf_migrate)
#define HMM_NC_RF_STATE \
	_IOWR('H', HMM_NC_RF_BASE + 0x03, struct hmm_nc_rf_state)

#endif /* _TEST_HMM_UAPI_REFUSE_H */

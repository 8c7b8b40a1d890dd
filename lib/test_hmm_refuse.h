/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The refusal paths of the test device: pages whose migrate callback
 * refuses MIGRATE_SYNC_NO_COPY (balloon, zsmalloc, aio ring pages) and
 * the device's own movable pages, which accept it. One engine
 * (test_hmm_refuse.c) migrates a batch of them; each kind of page brings
 * its own way to find, take, migrate and check a page.
 */
#ifndef _TEST_HMM_REFUSE_H
#define _TEST_HMM_REFUSE_H

#include <linux/fs.h>
#include <linux/migrate.h>
#include <linux/mm.h>
#include <linux/mm_types.h>
#include <linux/page-flags.h>
#include <linux/mutex.h>

#include "test_hmm.h"

struct dmirror_balloon;
struct dmirror_zpool;
struct dmirror_movable;

/* What one device holds for these commands. */
struct dmirror_refuse {
	struct mutex lock;		/* one command at a time */
	struct dmirror_device *mdevice;
	struct dmirror_balloon *balloon;
	struct dmirror_zpool *zpool;
	struct dmirror_movable *movable;
};

struct dmirror_rf_kind;

/* One page of a batch, from lookup to the final check. */
struct dmirror_rf_item {
	const struct dmirror_rf_kind *kind;
	u64 index;
	unsigned long addr;		/* aio: user address of the page */
	struct page *src;		/* taken: one reference is ours */
	struct page *dst;		/* ours until the callback adopts it */
	struct file *file;		/* aio: the ring file, referenced */
	pgoff_t pgoff;			/* aio: the page's slot */
	void *snapshot;			/* aio: the page's bytes before */
	bool isolated;			/* aio: off the LRU, ours to put back */
	int result;
	u32 status;			/* HMM_NC_RF_* */
	u64 old_pfn;
	u64 new_pfn;
};

/*
 * How a kind of page goes through the batch. lookup returns the page
 * holding the item now (no reference: compare it, do not use it), or an
 * ERR_PTR for an item that does not exist. take isolates or references
 * it for the batch. prepare (optional) runs with the page locked, before
 * any callback. put_back returns a page whose callback failed to where
 * it came from; finish ends a migration that succeeded; both run with
 * the pages locked. release (optional) drops what take kept besides the
 * page reference. home and intact check the page that holds the item.
 */
struct dmirror_rf_kind {
	enum hmm_nc_cb cb;
	struct page *(*lookup)(struct dmirror_refuse *rf,
			       struct dmirror_rf_item *it);
	int (*take)(struct dmirror_refuse *rf, struct dmirror_rf_item *it);
	int (*prepare)(struct dmirror_rf_item *it);
	int (*migrate)(struct dmirror_rf_item *it, enum migrate_mode mode);
	void (*put_back)(struct dmirror_rf_item *it);
	void (*finish)(struct dmirror_rf_item *it);
	void (*release)(struct dmirror_rf_item *it);
	bool (*home)(struct dmirror_refuse *rf, struct dmirror_rf_item *it,
		     struct page *page);
	bool (*intact)(struct dmirror_refuse *rf, struct dmirror_rf_item *it,
		       struct page *page);
};

/*
 * Whether page->mapping names movable operations (__PageMovable()); no
 * lock needed, so the answer may be stale by the time it is used.
 */
static inline bool dmirror_page_is_movable(struct page *page)
{
	return __PageMovable(page);
}

/* test_hmm_refuse.c: the engine and what the non-LRU kinds share. */
void dmirror_rf_fill(void *buf, size_t len, u64 tag);
bool dmirror_rf_check(const void *buf, size_t len);
void dmirror_rf_fill_page(struct page *page, u64 tag);
bool dmirror_rf_check_page(struct page *page);
u64 dmirror_rf_next_tag(void);
bool dmirror_rf_backoff(unsigned int attempt);
int dmirror_nonlru_take(struct dmirror_refuse *rf, struct dmirror_rf_item *it);
int dmirror_nonlru_migrate(struct dmirror_rf_item *it,
			   enum migrate_mode mode);
void dmirror_nonlru_put_back(struct dmirror_rf_item *it);
void dmirror_nonlru_finish(struct dmirror_rf_item *it);
int dmirror_rf_migrate(struct dmirror_refuse *rf, struct hmm_nc_rf_migrate *cmd,
		       struct hmm_nc_rf_page *pages);

/* test_hmm_balloon.c */
extern const struct dmirror_rf_kind dmirror_rf_balloon;
int dmirror_balloon_init(struct dmirror_refuse *rf);
void dmirror_balloon_fini(struct dmirror_refuse *rf);
int dmirror_balloon_hold(struct dmirror_refuse *rf, u64 count, u64 *done);
int dmirror_balloon_release(struct dmirror_refuse *rf, u64 count, u64 *done);
u64 dmirror_balloon_held(struct dmirror_refuse *rf);
void dmirror_balloon_state(struct dmirror_refuse *rf,
			   struct hmm_nc_rf_state *st);

/* test_hmm_zsmalloc.c */
extern const struct dmirror_rf_kind dmirror_rf_zsmalloc;
int dmirror_zpool_init(struct dmirror_refuse *rf);
void dmirror_zpool_fini(struct dmirror_refuse *rf);
int dmirror_zpool_hold(struct dmirror_refuse *rf, u64 count, u64 *done);
int dmirror_zpool_release(struct dmirror_refuse *rf, u64 count, u64 *done);
u64 dmirror_zpool_held(struct dmirror_refuse *rf);
void dmirror_zpool_state(struct dmirror_refuse *rf,
			 struct hmm_nc_rf_state *st);

/* test_hmm_movable.c */
extern const struct dmirror_rf_kind dmirror_rf_movable;
int dmirror_movable_init(struct dmirror_refuse *rf);
void dmirror_movable_fini(struct dmirror_refuse *rf);
int dmirror_movable_hold(struct dmirror_refuse *rf, u64 count, u64 *done);
int dmirror_movable_release(struct dmirror_refuse *rf, u64 count, u64 *done);
u64 dmirror_movable_held(struct dmirror_refuse *rf);
void dmirror_movable_state(struct dmirror_refuse *rf,
			   struct hmm_nc_rf_state *st);

/* test_hmm_aio.c */
extern const struct dmirror_rf_kind dmirror_rf_aio;

#endif /* _TEST_HMM_REFUSE_H */

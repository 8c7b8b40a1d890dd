/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The refusal paths of the test device: pages whose migrate callback
 * refuses MIGRATE_SYNC_NO_COPY (balloon, zsmalloc, aio ring pages) and
 * the device's own movable pages, which accept it. One engine
 * (test_hmm_refuse.c) migrates a batch of them, one command file
 * (test_hmm_refuse_cmd.c) holds and gives back the items; both learn what
 * a kind of page does from its row of the kind table (test_hmm_kind.c).
 * What the non-LRU kinds share is test_hmm_nonlru.c; each kind's file
 * keeps only what is its own.
 */
#ifndef _TEST_HMM_REFUSE_H
#define _TEST_HMM_REFUSE_H

#include <linux/fs.h>
#include <linux/migrate.h>
#include <linux/mm.h>
#include <linux/mm_types.h>
#include <linux/page-flags.h>
#include <linux/mutex.h>
#include <linux/spinlock.h>

#include "test_hmm.h"

struct dmirror_refuse;
struct dmirror_kind;

/*
 * The items a device holds of one kind (DMIRROR_KIND_HELD), in the order
 * they came, so that a test can name one by its index. Compaction may
 * move a page at any time; the kind's callbacks then update its slot
 * under the lock.
 */
struct dmirror_held {
	spinlock_t lock;		/* pages[] and nr */
	union {
		struct page **pages;	/* a page an item */
		unsigned long *handles;	/* zsmalloc: an object's handle */
	};
	unsigned long nr;
	const struct dmirror_kind *kind;
	struct dmirror_refuse *rf;
	void *priv;			/* the kind's own, from its init */
};

/* What one device holds for these commands. */
struct dmirror_refuse {
	struct mutex lock;		/* one command at a time */
	struct dmirror_device *mdevice;
	struct dmirror_held held[HMM_NC_CB_COUNT];
};

/* One page of a batch, from lookup to the final check. */
struct dmirror_rf_item {
	const struct dmirror_kind *kind;
	struct dmirror_held *held;	/* the device's items of that kind */
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

/**
 * struct dmirror_held_ops - how the device holds items of a kind
 * @priv_size: the size of the kind's own state (h->priv, zeroed).
 * @init: sets up h->priv once the store is there.
 * @fini: undoes @init, every item given back; false when items are left
 *	that it cannot let go of, and so leaks the store.
 * @add: makes one more item and puts it in the store (dmirror_held_push()
 *	for a page), before anyone else can see it.
 * @drop: gives back one item; -EBUSY when someone else holds it (the
 *	caller waits and tries again).
 * @state: fills the kind's own fields of HMM_NC_RF_STATE and counts its
 *	items whose payload is bad.
 *
 * HMM_NC_RF_HOLD, _RELEASE and _STATE use them, under the commands' lock.
 */
struct dmirror_held_ops {
	size_t priv_size;
	int (*init)(struct dmirror_held *h);
	bool (*fini)(struct dmirror_held *h);
	int (*add)(struct dmirror_held *h);
	int (*drop)(struct dmirror_held *h);
	void (*state)(struct dmirror_held *h, struct hmm_nc_rf_state *st);
};

/**
 * struct dmirror_kind_ops - how the engine migrates a page of a kind
 * @lookup: the page holding the item now (no reference: compare it, do
 *	not use it), or an ERR_PTR for an item that does not exist.
 * @take: isolates or references the page for the batch.
 * @prepare: runs with the page locked, before any callback.
 * @migrate: calls the page's migrate callback.
 * @put_back: returns a page whose callback failed to where it came from.
 * @finish: ends a migration that succeeded.
 * @release: drops what @take kept besides the page reference.
 * @home: whether @page sits where the owner keeps the item.
 * @intact: whether @page still carries the item's data.
 *
 * HMM_NC_RF_MIGRATE uses them; @prepare and @release are optional.
 * @put_back and @finish run with the pages locked. A non-LRU movable
 * page goes through the engine as the migration core takes it:
 * DMIRROR_DEFINE_NONLRU_OPS().
 */
struct dmirror_kind_ops {
	struct page *(*lookup)(struct dmirror_rf_item *it);
	int (*take)(struct dmirror_rf_item *it);
	int (*prepare)(struct dmirror_rf_item *it);
	int (*migrate)(struct dmirror_rf_item *it, enum migrate_mode mode);
	void (*put_back)(struct dmirror_rf_item *it);
	void (*finish)(struct dmirror_rf_item *it);
	void (*release)(struct dmirror_rf_item *it);
	bool (*home)(struct dmirror_rf_item *it, struct page *page);
	bool (*intact)(struct dmirror_rf_item *it, struct page *page);
};

/* Features of a kind: what the commands may do with it. */
#define DMIRROR_KIND_HELD	0x1U	/* HMM_NC_RF_HOLD makes items */
#define DMIRROR_KIND_MIGRATES	0x2U	/* HMM_NC_RF_MIGRATE takes its pages */
#define DMIRROR_KIND_USER_ADDR	0x4U	/* an entry names ctx + index pages */

/**
 * struct dmirror_kind - a row of the kind table
 * @name: the kind's name in the uapi list (HMM_NC_CBS).
 * @features: DMIRROR_KIND_*: HELD goes with @held, MIGRATES with @ops.
 * @held: how the device holds its items.
 * @ops: how the engine migrates its pages.
 * @key: the kind's key in the unload report.
 * @items: what its held items are called, for the kernel log.
 *
 * A kind the module only counts has a name and nothing else.
 */
struct dmirror_kind {
	const char *name;
	unsigned int features;
	const struct dmirror_held_ops *held;
	const struct dmirror_kind_ops *ops;
	const char *key;
	const char *items;
};

extern const struct dmirror_kind dmirror_kinds[HMM_NC_CB_COUNT];

/* The kind table's ops, from the kind files. */
extern const struct dmirror_held_ops dmirror_balloon_held;
extern const struct dmirror_kind_ops dmirror_balloon_ops;
extern const struct dmirror_held_ops dmirror_zpool_held;
extern const struct dmirror_kind_ops dmirror_zpool_ops;
extern const struct dmirror_kind_ops dmirror_aio_ops;
extern const struct dmirror_held_ops dmirror_movable_held;
extern const struct dmirror_kind_ops dmirror_movable_ops;

const struct dmirror_kind *dmirror_kind_of(u32 cb, unsigned int features);

static inline enum hmm_nc_cb dmirror_kind_cb(const struct dmirror_kind *kind)
{
	return kind - dmirror_kinds;
}

/*
 * Whether page->mapping names movable operations (__PageMovable()); no
 * lock needed, so the answer may be stale by the time it is used.
 */
static inline bool dmirror_page_is_movable(struct page *page)
{
	return __PageMovable(page);
}

/* test_hmm_nonlru.c: what the kinds share. */
void dmirror_rf_fill(void *buf, size_t len, u64 tag);
bool dmirror_rf_check(const void *buf, size_t len);
void dmirror_rf_fill_page(struct page *page, u64 tag);
bool dmirror_rf_check_page(struct page *page);
u64 dmirror_rf_next_tag(void);
bool dmirror_rf_backoff(unsigned int attempt);
void dmirror_held_push(struct dmirror_held *h, struct page *page);
void dmirror_held_replace(struct dmirror_held *h, struct page *old,
			  struct page *new, unsigned long *isolated);
unsigned long dmirror_held_bad(struct dmirror_held *h);
struct page *dmirror_held_lookup(struct dmirror_rf_item *it);
bool dmirror_held_intact(struct dmirror_rf_item *it, struct page *page);
bool dmirror_rf_found_home(struct dmirror_rf_item *it, struct page *page);
int dmirror_nonlru_take(struct dmirror_rf_item *it);
int dmirror_nonlru_migrate(struct dmirror_rf_item *it, enum migrate_mode mode);
void dmirror_nonlru_put_back(struct dmirror_rf_item *it);
void dmirror_nonlru_finish(struct dmirror_rf_item *it);

/*
 * Defines dmirror_<name>_held from the kind's functions dmirror_<name>_init,
 * _fini, _add, _drop and _state, as DEFINE_SHOW_ATTRIBUTE() makes a
 * seq_file's operations from its _show; size is that of h->priv.
 */
#define DMIRROR_DEFINE_HELD_OPS(name, size)				\
const struct dmirror_held_ops dmirror_##name##_held = {			\
	.priv_size	= (size),					\
	.init		= dmirror_##name##_init,			\
	.fini		= dmirror_##name##_fini,			\
	.add		= dmirror_##name##_add,				\
	.drop		= dmirror_##name##_drop,			\
	.state		= dmirror_##name##_state,			\
}

/*
 * Defines dmirror_<name>_ops for a non-LRU movable page: the engine
 * takes, migrates and puts it back as the migration core does
 * (test_hmm_nonlru.c); the kind finds its item's page, and tells whether
 * the page is home and intact.
 */
#define DMIRROR_DEFINE_NONLRU_OPS(name, find, is_home, is_intact)	\
const struct dmirror_kind_ops dmirror_##name##_ops = {			\
	.lookup		= (find),					\
	.take		= dmirror_nonlru_take,				\
	.migrate	= dmirror_nonlru_migrate,			\
	.put_back	= dmirror_nonlru_put_back,			\
	.finish		= dmirror_nonlru_finish,			\
	.home		= (is_home),					\
	.intact		= (is_intact),					\
}

/* test_hmm_refuse.c */
int dmirror_rf_migrate(struct dmirror_refuse *rf, struct hmm_nc_rf_migrate *cmd,
		       struct hmm_nc_rf_page *pages);

#endif /* _TEST_HMM_REFUSE_H */

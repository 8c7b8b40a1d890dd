// SPDX-License-Identifier: GPL-2.0
/*
 * The device's own non-LRU movable pages. Their migrate callback does
 * what a NO_COPY-aware callback does: it moves the page's state to the
 * new page and copies the data only when the mode asks the kernel to.
 * Put in a batch next to a page that refuses NO_COPY, they show that
 * the rest of the batch still migrates.
 */
#include <linux/highmem.h>
#include <linux/migrate.h>
#include <linux/mm.h>
#include <linux/slab.h>
#include <linux/spinlock.h>

#include "test_hmm_compat.h"
#include "test_hmm_refuse.h"

struct dmirror_movable {
	/*
	 * slots[] lists the pages in the order they came; compaction may
	 * migrate any of them, and the callbacks update slots[] and the
	 * isolated count under this lock.
	 */
	spinlock_t lock;
	struct page **slots;
	unsigned long nr;
	unsigned long isolated;
	struct dmirror_movable_reg reg;	/* names mops in page->mapping */
};

static const struct movable_operations dmirror_movable_mops;

static struct dmirror_movable *dmirror_movable_owner(struct page *page)
{
	return (struct dmirror_movable *)page_private(page);
}

static bool dmirror_movable_isolate(struct page *page, isolate_mode_t mode)
{
	struct dmirror_movable *mv = dmirror_movable_owner(page);

	spin_lock(&mv->lock);
	mv->isolated++;
	spin_unlock(&mv->lock);
	return true;
}

static void dmirror_movable_putback(struct page *page)
{
	struct dmirror_movable *mv = dmirror_movable_owner(page);

	spin_lock(&mv->lock);
	mv->isolated--;
	spin_unlock(&mv->lock);
}

static void dmirror_movable_adopt(struct dmirror_movable *mv,
				  struct page *page)
{
	set_page_private(page, (unsigned long)mv);
	dmirror_page_set_movable(page, &mv->reg);
}

/* Called with both pages locked and the old one isolated. */
static int dmirror_movable_migrate(struct page *dst, struct page *src,
				   enum migrate_mode mode)
{
	struct dmirror_movable *mv = dmirror_movable_owner(src);
	unsigned long i;

	if (dmirror_kernel_copies(mode))
		copy_highpage(dst, src);
	get_page(dst);
	dmirror_movable_adopt(mv, dst);

	spin_lock(&mv->lock);
	for (i = 0; i < mv->nr; i++) {
		if (mv->slots[i] == src) {
			mv->slots[i] = dst;
			break;
		}
	}
	mv->isolated--;
	spin_unlock(&mv->lock);

	dmirror_page_clear_movable(src);
	set_page_private(src, 0);
	put_page(src);
	return MIGRATEPAGE_SUCCESS;
}

static const struct movable_operations dmirror_movable_mops = {
	.isolate_page	= dmirror_movable_isolate,
	.migrate_page	= dmirror_movable_migrate,
	.putback_page	= dmirror_movable_putback,
};

int dmirror_movable_init(struct dmirror_refuse *rf)
{
	struct dmirror_movable *mv;
	int ret = -ENOMEM;

	mv = kzalloc(sizeof(*mv), GFP_KERNEL);
	if (!mv)
		return -ENOMEM;
	mv->slots = kvcalloc(HMM_NC_RF_MAX_HELD, sizeof(*mv->slots),
			     GFP_KERNEL);
	if (mv->slots)
		ret = dmirror_movable_register(&mv->reg, &dmirror_movable_mops);
	if (ret) {
		kvfree(mv->slots);
		kfree(mv);
		return ret;
	}
	spin_lock_init(&mv->lock);
	rf->movable = mv;
	return 0;
}

/*
 * Every page is gone by now: the caller gave them all back, however
 * long compaction kept one isolated (see dmirror_rf_release_all()). A
 * page left movable would point at our operations after the module is
 * gone.
 */
void dmirror_movable_fini(struct dmirror_refuse *rf)
{
	struct dmirror_movable *mv = rf->movable;

	if (!mv)
		return;
	WARN_ON(mv->nr);
	dmirror_movable_unregister(&mv->reg);
	kvfree(mv->slots);
	kfree(mv);
	rf->movable = NULL;
}

/* The slot is filled first: once movable, compaction may move the page. */
static int dmirror_movable_add_one(struct dmirror_movable *mv)
{
	struct page *page = alloc_page(GFP_HIGHUSER_MOVABLE);

	if (!page)
		return -ENOMEM;
	dmirror_rf_fill_page(page, dmirror_rf_next_tag());
	spin_lock(&mv->lock);
	mv->slots[mv->nr++] = page;
	spin_unlock(&mv->lock);
	lock_page(page);
	dmirror_movable_adopt(mv, page);
	unlock_page(page);
	return 0;
}

int dmirror_movable_hold(struct dmirror_refuse *rf, u64 count, u64 *done)
{
	struct dmirror_movable *mv = rf->movable;
	int ret;

	if (count > HMM_NC_RF_MAX_HELD - mv->nr)
		return -ENOSPC;
	for (*done = 0; *done < count; (*done)++) {
		ret = dmirror_movable_add_one(mv);
		if (ret)
			return ret;
	}
	return 0;
}

/*
 * The last page with a reference of ours: while a page is in slots[],
 * the device's reference keeps it alive, so taking one under the lock
 * is safe even if compaction is about to move it.
 */
static struct page *dmirror_movable_get_last(struct dmirror_movable *mv)
{
	struct page *page;

	spin_lock(&mv->lock);
	page = mv->slots[mv->nr - 1];
	get_page(page);
	spin_unlock(&mv->lock);
	return page;
}

/*
 * Frees the last page unless compaction has it isolated or moved it
 * meanwhile; under the page lock neither can start.
 */
static bool dmirror_movable_drop_last(struct dmirror_movable *mv)
{
	struct page *page = dmirror_movable_get_last(mv);
	bool dropped = false;

	lock_page(page);
	spin_lock(&mv->lock);
	if (mv->slots[mv->nr - 1] == page && !PageIsolated(page)) {
		mv->slots[--mv->nr] = NULL;
		dropped = true;
	}
	spin_unlock(&mv->lock);
	if (dropped) {
		dmirror_page_clear_movable(page);
		set_page_private(page, 0);
	}
	unlock_page(page);
	put_page(page);
	if (dropped)
		put_page(page);
	return dropped;
}

int dmirror_movable_release(struct dmirror_refuse *rf, u64 count, u64 *done)
{
	struct dmirror_movable *mv = rf->movable;
	unsigned int attempt = 0;

	for (*done = 0; *done < count && mv->nr; ) {
		if (!dmirror_movable_drop_last(mv)) {
			if (!dmirror_rf_backoff(attempt++))
				return -EBUSY;
			continue;
		}
		(*done)++;
		attempt = 0;
	}
	return 0;
}

u64 dmirror_movable_held(struct dmirror_refuse *rf)
{
	return rf->movable->nr;
}

static bool dmirror_movable_slot_ok(struct dmirror_movable *mv,
				    unsigned long i)
{
	struct page *page;
	bool ok;

	spin_lock(&mv->lock);
	page = mv->slots[i];
	get_page(page);
	spin_unlock(&mv->lock);
	ok = dmirror_rf_check_page(page);
	put_page(page);
	return ok;
}

void dmirror_movable_state(struct dmirror_refuse *rf,
			   struct hmm_nc_rf_state *st)
{
	struct dmirror_movable *mv = rf->movable;
	unsigned long i;

	st->movable_pages = mv->nr;
	spin_lock(&mv->lock);
	st->movable_isolated = mv->isolated;
	spin_unlock(&mv->lock);
	for (i = 0; i < mv->nr; i++)
		if (!dmirror_movable_slot_ok(mv, i))
			st->bad++;
}

static struct page *dmirror_movable_lookup(struct dmirror_refuse *rf,
					   struct dmirror_rf_item *it)
{
	struct dmirror_movable *mv = rf->movable;
	struct page *page = ERR_PTR(-EINVAL);

	spin_lock(&mv->lock);
	if (it->index < mv->nr)
		page = mv->slots[it->index];
	spin_unlock(&mv->lock);
	return page;
}

/* In its slot, ours, and nothing of ours left isolated. */
static bool dmirror_movable_home(struct dmirror_refuse *rf,
				 struct dmirror_rf_item *it, struct page *page)
{
	struct dmirror_movable *mv = rf->movable;
	bool home;

	spin_lock(&mv->lock);
	home = it->index < mv->nr && mv->slots[it->index] == page &&
		!mv->isolated;
	spin_unlock(&mv->lock);
	if (!home || PageIsolated(page) || !dmirror_page_is_movable(page))
		return false;
	return dmirror_page_movable_by(page, &mv->reg);
}

static bool dmirror_movable_intact(struct dmirror_refuse *rf,
				   struct dmirror_rf_item *it,
				   struct page *page)
{
	return dmirror_rf_check_page(page);
}

const struct dmirror_rf_kind dmirror_rf_movable = {
	.cb		= HMM_NC_CB_OTHER,
	.lookup		= dmirror_movable_lookup,
	.take		= dmirror_nonlru_take,
	.migrate	= dmirror_nonlru_migrate,
	.put_back	= dmirror_nonlru_put_back,
	.finish		= dmirror_nonlru_finish,
	.home		= dmirror_movable_home,
	.intact		= dmirror_movable_intact,
};

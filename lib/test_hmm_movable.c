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
#include <linux/nospec.h>
#include <linux/slab.h>
#include <linux/spinlock.h>

#include "test_hmm_compat.h"
#include "test_hmm_refuse.h"

/*
 * The held store (h->pages) lists the pages; compaction may migrate any
 * of them, and the callbacks update the store and the isolated count
 * under its lock.
 */
struct dmirror_movable {
	struct dmirror_held *held;
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

	spin_lock(&mv->held->lock);
	mv->isolated++;
	spin_unlock(&mv->held->lock);
	return true;
}

static void dmirror_movable_putback(struct page *page)
{
	struct dmirror_movable *mv = dmirror_movable_owner(page);

	spin_lock(&mv->held->lock);
	mv->isolated--;
	spin_unlock(&mv->held->lock);
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

	if (dmirror_kernel_copies(mode))
		copy_highpage(dst, src);
	get_page(dst);
	dmirror_movable_adopt(mv, dst);
	dmirror_held_replace(mv->held, src, dst, &mv->isolated);

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

static int dmirror_movable_init(struct dmirror_held *h)
{
	struct dmirror_movable *mv = h->priv;

	mv->held = h;
	return dmirror_movable_register(&mv->reg, &dmirror_movable_mops);
}

/*
 * Every page is gone by now: the caller gave them all back, however
 * long compaction kept one isolated (see dmirror_rf_release_all()). A
 * page left movable would point at our operations after the module is
 * gone.
 */
static bool dmirror_movable_fini(struct dmirror_held *h)
{
	struct dmirror_movable *mv = h->priv;

	WARN_ON(h->nr);
	dmirror_movable_unregister(&mv->reg);
	return true;
}

static int dmirror_movable_add(struct dmirror_held *h)
{
	struct page *page = alloc_page(GFP_HIGHUSER_MOVABLE);

	if (!page)
		return -ENOMEM;
	dmirror_rf_fill_page(page, dmirror_rf_next_tag());
	dmirror_held_push(h, page);
	lock_page(page);
	dmirror_movable_adopt(h->priv, page);
	unlock_page(page);
	return 0;
}

/*
 * The last page with a reference of ours: while a page is in the store,
 * the device's reference keeps it alive, so taking one under the lock
 * is safe even if compaction is about to move it.
 */
static struct page *dmirror_movable_get_last(struct dmirror_held *h)
{
	struct page *page;

	spin_lock(&h->lock);
	page = h->pages[h->nr - 1];
	get_page(page);
	spin_unlock(&h->lock);
	return page;
}

/*
 * Frees the last page unless compaction has it isolated or moved it
 * meanwhile (-EBUSY); under the page lock neither can start.
 */
static int dmirror_movable_drop(struct dmirror_held *h)
{
	struct page *page = dmirror_movable_get_last(h);
	bool dropped = false;

	lock_page(page);
	spin_lock(&h->lock);
	if (h->pages[h->nr - 1] == page && !PageIsolated(page)) {
		h->pages[--h->nr] = NULL;
		dropped = true;
	}
	spin_unlock(&h->lock);
	if (dropped) {
		dmirror_page_clear_movable(page);
		set_page_private(page, 0);
	}
	unlock_page(page);
	put_page(page);
	if (!dropped)
		return -EBUSY;
	put_page(page);
	return 0;
}

static void dmirror_movable_state(struct dmirror_held *h,
				  struct hmm_nc_rf_state *st)
{
	struct dmirror_movable *mv = h->priv;

	st->movable_pages = h->nr;
	spin_lock(&h->lock);
	st->movable_isolated = mv->isolated;
	spin_unlock(&h->lock);
	st->bad += dmirror_held_bad(h);
}

DMIRROR_DEFINE_HELD_OPS(movable, sizeof(struct dmirror_movable));

/* In its slot, ours, and nothing of ours left isolated. */
static bool dmirror_movable_home(struct dmirror_rf_item *it, struct page *page)
{
	struct dmirror_held *h = it->held;
	struct dmirror_movable *mv = h->priv;
	bool home;

	spin_lock(&h->lock);
	home = it->index < h->nr &&
		h->pages[array_index_nospec(it->index, h->nr)] == page &&
		!mv->isolated;
	spin_unlock(&h->lock);
	if (!home || PageIsolated(page) || !dmirror_page_is_movable(page))
		return false;
	return dmirror_page_movable_by(page, &mv->reg);
}

DMIRROR_DEFINE_NONLRU_OPS(movable, dmirror_held_lookup, dmirror_movable_home,
			  dmirror_held_intact);

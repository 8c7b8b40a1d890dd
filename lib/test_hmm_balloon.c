// SPDX-License-Identifier: GPL-2.0
/*
 * The device's balloon: pages inflated through the kernel's balloon API
 * (balloon_page_alloc/enqueue/dequeue), movable through balloon_mops
 * like a virtio balloon's. balloon_page_migrate() refuses NO_COPY before
 * it reaches the driver; under other modes it calls our migratepage.
 *
 * Unlike a real balloon, ours keeps a payload in each page, so a move
 * can be checked for the data it carried.
 */
#include <linux/balloon_compaction.h>
#include <linux/highmem.h>
#include <linux/mm.h>
#include <linux/slab.h>
#include <linux/spinlock.h>

#include "test_hmm_compat.h"
#include "test_hmm_refuse.h"

/* The held store (h->pages) lists the balloon's pages. */
struct dmirror_balloon {
	struct balloon_dev_info info;
	struct dmirror_balloon_reg reg;	/* what the kernel needs of us */
	struct dmirror_held *held;
};

static struct dmirror_balloon *dmirror_balloon_of(struct balloon_dev_info *info)
{
	return container_of(info, struct dmirror_balloon, info);
}

/*
 * The driver's half of a balloon migration, called with both pages
 * locked and the old one isolated: the new page joins the balloon with
 * a reference of its own, the old one leaves it and loses the balloon's
 * reference. The payload moves unless the caller does the copy itself.
 */
static int dmirror_balloon_migratepage(struct balloon_dev_info *info,
				       struct page *newpage, struct page *page,
				       enum migrate_mode mode)
{
	struct dmirror_balloon *b = dmirror_balloon_of(info);
	unsigned long flags;

	if (dmirror_kernel_copies(mode))
		copy_highpage(newpage, page);
	get_page(newpage);
	spin_lock_irqsave(&info->pages_lock, flags);
	balloon_page_insert(info, newpage);
	info->isolated_pages--;
	spin_unlock_irqrestore(&info->pages_lock, flags);
	dmirror_held_replace(b->held, page, newpage, NULL);

	balloon_page_finalize(page);
	put_page(page);
	return MIGRATEPAGE_SUCCESS;
}

static int dmirror_balloon_init(struct dmirror_held *h)
{
	struct dmirror_balloon *b = h->priv;

	b->held = h;
	balloon_devinfo_init(&b->info);
	b->info.migratepage = dmirror_balloon_migratepage;
	return dmirror_balloon_register(&b->reg, &b->info);
}

/*
 * Every page is out of the balloon by now: the caller gave them all
 * back, however long compaction kept one isolated (see
 * dmirror_rf_release_all()). A page left in it would point at the
 * balloon and at our migratepage after the module is gone.
 */
static bool dmirror_balloon_fini(struct dmirror_held *h)
{
	struct dmirror_balloon *b = h->priv;

	WARN_ON(h->nr);
	dmirror_balloon_unregister(&b->reg, &b->info);
	return true;
}

/* Inflates the balloon by one page. */
static int dmirror_balloon_add(struct dmirror_held *h)
{
	struct dmirror_balloon *b = h->priv;
	struct page *page = balloon_page_alloc();

	if (!page)
		return -ENOMEM;
	dmirror_rf_fill_page(page, dmirror_rf_next_tag());
	dmirror_held_push(h, page);
	balloon_page_enqueue(&b->info, page);
	return 0;
}

/* The last slot fills the hole, so the store stays dense. */
static void dmirror_balloon_forget(struct dmirror_held *h, struct page *page)
{
	unsigned long i;

	spin_lock(&h->lock);
	for (i = 0; i < h->nr; i++) {
		if (h->pages[i] == page) {
			h->pages[i] = h->pages[--h->nr];
			h->pages[h->nr] = NULL;
			break;
		}
	}
	spin_unlock(&h->lock);
}

/*
 * balloon_page_dequeue() skips pages that compaction has isolated, and
 * returns NULL when it found none it could take: the caller waits for
 * them. The balloon holds pages as long as h->nr says so, which keeps
 * dequeue from its "pages lost" BUG().
 */
static int dmirror_balloon_drop(struct dmirror_held *h)
{
	struct dmirror_balloon *b = h->priv;
	struct page *page = balloon_page_dequeue(&b->info);

	if (!page)
		return -EBUSY;
	dmirror_balloon_forget(h, page);
	put_page(page);
	return 0;
}

static unsigned long dmirror_balloon_listed(struct dmirror_balloon *b,
					    struct page *page, bool *found,
					    unsigned long *isolated)
{
	unsigned long flags, listed = 0;
	struct page *p;

	spin_lock_irqsave(&b->info.pages_lock, flags);
	list_for_each_entry(p, &b->info.pages, lru) {
		listed++;
		if (p == page)
			*found = true;
	}
	*isolated = b->info.isolated_pages;
	spin_unlock_irqrestore(&b->info.pages_lock, flags);
	return listed;
}

static void dmirror_balloon_state(struct dmirror_held *h,
				  struct hmm_nc_rf_state *st)
{
	unsigned long isolated;
	bool found = false;

	st->balloon_pages = h->nr;
	st->balloon_listed = dmirror_balloon_listed(h->priv, NULL, &found,
						    &isolated);
	st->balloon_isolated = isolated;
	st->bad += dmirror_held_bad(h);
}

DMIRROR_DEFINE_HELD_OPS(balloon, sizeof(struct dmirror_balloon));

/* On the list, nothing isolated, and every page of the balloon back. */
static bool dmirror_balloon_home(struct dmirror_rf_item *it, struct page *page)
{
	unsigned long isolated, listed;
	bool found = false;

	listed = dmirror_balloon_listed(it->held->priv, page, &found,
					&isolated);
	return found && !isolated && listed == it->held->nr;
}

DMIRROR_DEFINE_NONLRU_OPS(balloon, dmirror_held_lookup, dmirror_balloon_home,
			  dmirror_held_intact);

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

struct dmirror_balloon {
	struct balloon_dev_info info;
	struct dmirror_balloon_reg reg;	/* what the kernel needs of us */
	/*
	 * slots[] lists the balloon's pages in the order they came, so a
	 * test can name one; compaction may move a page at any time and
	 * our migratepage updates its slot under this lock.
	 */
	spinlock_t slots_lock;
	struct page **slots;
	unsigned long nr;
};

static struct dmirror_balloon *dmirror_balloon_of(struct balloon_dev_info *info)
{
	return container_of(info, struct dmirror_balloon, info);
}

static void dmirror_balloon_replace(struct dmirror_balloon *b,
				    struct page *old, struct page *new)
{
	unsigned long i;

	spin_lock(&b->slots_lock);
	for (i = 0; i < b->nr; i++) {
		if (b->slots[i] == old) {
			b->slots[i] = new;
			break;
		}
	}
	spin_unlock(&b->slots_lock);
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
	dmirror_balloon_replace(b, page, newpage);

	balloon_page_finalize(page);
	put_page(page);
	return MIGRATEPAGE_SUCCESS;
}

int dmirror_balloon_init(struct dmirror_refuse *rf)
{
	struct dmirror_balloon *b;
	int ret = -ENOMEM;

	b = kzalloc(sizeof(*b), GFP_KERNEL);
	if (!b)
		return -ENOMEM;
	b->slots = kvcalloc(HMM_NC_RF_MAX_HELD, sizeof(*b->slots),
			    GFP_KERNEL);
	balloon_devinfo_init(&b->info);
	if (b->slots)
		ret = dmirror_balloon_register(&b->reg, &b->info);
	if (ret) {
		kvfree(b->slots);
		kfree(b);
		return ret;
	}
	b->info.migratepage = dmirror_balloon_migratepage;
	spin_lock_init(&b->slots_lock);
	rf->balloon = b;
	return 0;
}

/*
 * Every page is out of the balloon by now: the caller gave them all
 * back, however long compaction kept one isolated (see
 * dmirror_rf_release_all()). A page left in it would point at the
 * balloon and at our migratepage after the module is gone.
 */
void dmirror_balloon_fini(struct dmirror_refuse *rf)
{
	struct dmirror_balloon *b = rf->balloon;

	if (!b)
		return;
	WARN_ON(b->nr);
	dmirror_balloon_unregister(&b->reg, &b->info);
	kvfree(b->slots);
	kfree(b);
	rf->balloon = NULL;
}

/*
 * The slot is filled before the page is enqueued: from then on
 * compaction may migrate it, and migratepage looks for it in slots[].
 */
static int dmirror_balloon_inflate_one(struct dmirror_balloon *b)
{
	struct page *page = balloon_page_alloc();

	if (!page)
		return -ENOMEM;
	dmirror_rf_fill_page(page, dmirror_rf_next_tag());
	spin_lock(&b->slots_lock);
	b->slots[b->nr++] = page;
	spin_unlock(&b->slots_lock);
	balloon_page_enqueue(&b->info, page);
	return 0;
}

int dmirror_balloon_hold(struct dmirror_refuse *rf, u64 count, u64 *done)
{
	struct dmirror_balloon *b = rf->balloon;
	int ret;

	if (count > HMM_NC_RF_MAX_HELD - b->nr)
		return -ENOSPC;
	for (*done = 0; *done < count; (*done)++) {
		ret = dmirror_balloon_inflate_one(b);
		if (ret)
			return ret;
	}
	return 0;
}

/* The last slot fills the hole, so slots[] stays dense. */
static void dmirror_balloon_forget(struct dmirror_balloon *b,
				   struct page *page)
{
	unsigned long i;

	spin_lock(&b->slots_lock);
	for (i = 0; i < b->nr; i++) {
		if (b->slots[i] == page) {
			b->slots[i] = b->slots[--b->nr];
			b->slots[b->nr] = NULL;
			break;
		}
	}
	spin_unlock(&b->slots_lock);
}

/*
 * balloon_page_dequeue() skips pages that compaction has isolated, and
 * returns NULL when it found none it could take: wait for them. The
 * balloon holds pages as long as b->nr says so, which keeps dequeue
 * from its "pages lost" BUG().
 */
int dmirror_balloon_release(struct dmirror_refuse *rf, u64 count, u64 *done)
{
	struct dmirror_balloon *b = rf->balloon;
	unsigned int attempt = 0;
	struct page *page;

	for (*done = 0; *done < count && b->nr; ) {
		page = balloon_page_dequeue(&b->info);
		if (!page) {
			if (!dmirror_rf_backoff(attempt++))
				return -EBUSY;
			continue;
		}
		dmirror_balloon_forget(b, page);
		put_page(page);
		(*done)++;
		attempt = 0;
	}
	return 0;
}

u64 dmirror_balloon_held(struct dmirror_refuse *rf)
{
	return rf->balloon->nr;
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

/*
 * A reference keeps the page from being freed if compaction moves it
 * meanwhile; its bytes stay as they were, so the check still holds.
 */
static bool dmirror_balloon_slot_ok(struct dmirror_balloon *b,
				    unsigned long i)
{
	struct page *page;
	bool ok;

	spin_lock(&b->slots_lock);
	page = b->slots[i];
	get_page(page);
	spin_unlock(&b->slots_lock);
	ok = dmirror_rf_check_page(page);
	put_page(page);
	return ok;
}

void dmirror_balloon_state(struct dmirror_refuse *rf,
			   struct hmm_nc_rf_state *st)
{
	struct dmirror_balloon *b = rf->balloon;
	unsigned long i, isolated;
	bool found = false;

	st->balloon_pages = b->nr;
	st->balloon_listed = dmirror_balloon_listed(b, NULL, &found,
						    &isolated);
	st->balloon_isolated = isolated;
	for (i = 0; i < b->nr; i++)
		if (!dmirror_balloon_slot_ok(b, i))
			st->bad++;
}

static struct page *dmirror_balloon_lookup(struct dmirror_refuse *rf,
					   struct dmirror_rf_item *it)
{
	struct dmirror_balloon *b = rf->balloon;
	struct page *page = ERR_PTR(-EINVAL);

	spin_lock(&b->slots_lock);
	if (it->index < b->nr)
		page = b->slots[it->index];
	spin_unlock(&b->slots_lock);
	return page;
}

/* On the list, nothing isolated, and every page of the balloon back. */
static bool dmirror_balloon_home(struct dmirror_refuse *rf,
				 struct dmirror_rf_item *it, struct page *page)
{
	struct dmirror_balloon *b = rf->balloon;
	unsigned long isolated, listed;
	bool found = false;

	listed = dmirror_balloon_listed(b, page, &found, &isolated);
	return found && !isolated && listed == b->nr;
}

static bool dmirror_balloon_intact(struct dmirror_refuse *rf,
				   struct dmirror_rf_item *it,
				   struct page *page)
{
	return dmirror_rf_check_page(page);
}

const struct dmirror_rf_kind dmirror_rf_balloon = {
	.cb		= HMM_NC_CB_BALLOON,
	.lookup		= dmirror_balloon_lookup,
	.take		= dmirror_nonlru_take,
	.migrate	= dmirror_nonlru_migrate,
	.put_back	= dmirror_nonlru_put_back,
	.finish		= dmirror_nonlru_finish,
	.home		= dmirror_balloon_home,
	.intact		= dmirror_balloon_intact,
};

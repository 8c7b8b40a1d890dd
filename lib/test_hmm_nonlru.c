// SPDX-License-Identifier: GPL-2.0
/*
 * What the kinds of test_hmm_refuse.h share: the self-checking payload
 * of the items, the wait for a page someone else holds, the store of
 * held pages, and the engine's steps for a non-LRU movable page
 * (DMIRROR_NONLRU_OPS).
 *
 * The migration core keeps isolate_movable_page() and
 * putback_movable_pages() to itself, so the steps they take are done
 * here with the page's own movable operations, in the same order and
 * under the same locks.
 */
#include <linux/delay.h>
#include <linux/highmem.h>
#include <linux/mm.h>
#include <linux/nospec.h>

#include "test_hmm_compat.h"
#include "test_hmm_refuse.h"

/* Payloads start with a tag whose top bits say "ours". */
#define DMIRROR_RF_TAG_MAGIC	0x5246ULL	/* "RF" */
#define DMIRROR_RF_TAG_SHIFT	48

/* How long a page held by someone else is waited for: about a second. */
#define DMIRROR_RF_ATTEMPTS	1000

static atomic64_t dmirror_rf_serial = ATOMIC64_INIT(0);

u64 dmirror_rf_next_tag(void)
{
	u64 serial = atomic64_inc_return(&dmirror_rf_serial);

	return (DMIRROR_RF_TAG_MAGIC << DMIRROR_RF_TAG_SHIFT) |
		(serial & ((1ULL << DMIRROR_RF_TAG_SHIFT) - 1));
}

/* Words depend on the tag and their offset: a shifted copy is caught. */
static u64 dmirror_rf_word(u64 tag, size_t i)
{
	u64 x = tag ^ (i * 0x9e3779b97f4a7c15ULL);

	x ^= x >> 31;
	x *= 0xbf58476d1ce4e5b9ULL;
	return x ^ (x >> 29);
}

void dmirror_rf_fill(void *buf, size_t len, u64 tag)
{
	u64 *w = buf;
	size_t i;

	w[0] = tag;
	for (i = 1; i < len / sizeof(*w); i++)
		w[i] = dmirror_rf_word(tag, i);
}

bool dmirror_rf_check(const void *buf, size_t len)
{
	const u64 *w = buf;
	size_t i;

	if (w[0] >> DMIRROR_RF_TAG_SHIFT != DMIRROR_RF_TAG_MAGIC)
		return false;
	for (i = 1; i < len / sizeof(*w); i++)
		if (w[i] != dmirror_rf_word(w[0], i))
			return false;
	return true;
}

void dmirror_rf_fill_page(struct page *page, u64 tag)
{
	void *p = kmap_local_page(page);

	dmirror_rf_fill(p, PAGE_SIZE, tag);
	kunmap_local(p);
}

bool dmirror_rf_check_page(struct page *page)
{
	void *p = kmap_local_page(page);
	bool ok = dmirror_rf_check(p, PAGE_SIZE);

	kunmap_local(p);
	return ok;
}

/*
 * Waits a little before the next attempt at a page someone else holds
 * (compaction isolating it, a fault locking it); false once the budget
 * is spent.
 */
bool dmirror_rf_backoff(unsigned int attempt)
{
	if (attempt >= DMIRROR_RF_ATTEMPTS)
		return false;
	usleep_range(500, 1000);
	return true;
}

/*
 * A new page's slot is filled before the page is published (enqueued,
 * made movable): from then on compaction may migrate it, and the kind's
 * callback looks for it in the store. The caller checked the room.
 */
void dmirror_held_push(struct dmirror_held *h, struct page *page)
{
	spin_lock(&h->lock);
	h->pages[h->nr++] = page;
	spin_unlock(&h->lock);
}

/*
 * A migration moved the item of page old to page new. A kind that counts
 * its isolated pages under the store's lock passes the count: the page
 * leaves isolation in the same step, so that nobody sees it in its slot
 * and isolated still.
 */
void dmirror_held_replace(struct dmirror_held *h, struct page *old,
			  struct page *new, unsigned long *isolated)
{
	unsigned long i;

	spin_lock(&h->lock);
	for (i = 0; i < h->nr; i++) {
		if (h->pages[i] == old) {
			h->pages[i] = new;
			break;
		}
	}
	if (isolated)
		(*isolated)--;
	spin_unlock(&h->lock);
}

/*
 * A reference keeps the page from being freed if compaction moves it
 * meanwhile; its bytes stay as they were, so the check still holds.
 */
static bool dmirror_held_page_ok(struct dmirror_held *h, unsigned long i)
{
	struct page *page;
	bool ok;

	spin_lock(&h->lock);
	page = h->pages[i];
	get_page(page);
	spin_unlock(&h->lock);
	ok = dmirror_rf_check_page(page);
	put_page(page);
	return ok;
}

/* How many pages of the store lost their payload. */
unsigned long dmirror_held_bad(struct dmirror_held *h)
{
	unsigned long i, bad = 0;

	for (i = 0; i < h->nr; i++)
		if (!dmirror_held_page_ok(h, i))
			bad++;
	return bad;
}

/* The page in the item's slot of the store. */
struct page *dmirror_held_lookup(struct dmirror_rf_item *it)
{
	struct dmirror_held *h = it->held;
	struct page *page = ERR_PTR(-EINVAL);

	spin_lock(&h->lock);
	if (it->index < h->nr)
		page = h->pages[array_index_nospec(it->index, h->nr)];
	spin_unlock(&h->lock);
	return page;
}

/*
 * isolate_movable_page()'s steps: a reference first (the page may be on
 * its way back to the allocator), then the page lock, then the owner's
 * isolate_page under it; PG_isolated keeps everyone else away.
 */
static int dmirror_nonlru_isolate(struct page *page)
{
	if (!get_page_unless_zero(page))
		return -EBUSY;
	if (!dmirror_page_is_movable(page) || !trylock_page(page))
		goto out_put;
	if (!dmirror_page_movable_locked(page) || PageIsolated(page))
		goto out_unlock;
	if (!dmirror_owner_isolate(page))
		goto out_unlock;
	dmirror_page_set_isolated(page);
	unlock_page(page);
	return 0;

out_unlock:
	unlock_page(page);
out_put:
	put_page(page);
	return -EBUSY;
}

/* putback_movable_pages() for one page; the page is locked. */
static void dmirror_nonlru_putback_locked(struct page *page)
{
	if (dmirror_page_movable_locked(page))
		dmirror_owner_putback(page);
	dmirror_page_clear_isolated(page);
}

static void dmirror_nonlru_unisolate(struct page *page)
{
	lock_page(page);
	dmirror_nonlru_putback_locked(page);
	unlock_page(page);
	put_page(page);
}

/*
 * Isolates the page holding the item. The item may move between the
 * lookup and the isolation (compaction migrates these pages too), so the
 * lookup is repeated once the page is ours: an isolated page stays put.
 */
int dmirror_nonlru_take(struct dmirror_rf_item *it)
{
	struct page *(*lookup)(struct dmirror_rf_item *it) = it->kind->ops->lookup;
	unsigned int attempt = 0;
	struct page *page;

	do {
		page = lookup(it);
		if (IS_ERR(page))
			return PTR_ERR(page);
		if (dmirror_nonlru_isolate(page))
			continue;
		if (lookup(it) == page) {
			it->src = page;
			return 0;
		}
		dmirror_nonlru_unisolate(page);
	} while (dmirror_rf_backoff(attempt++));
	return -EBUSY;
}

int dmirror_nonlru_migrate(struct dmirror_rf_item *it, enum migrate_mode mode)
{
	/* The core's check: an owner may let go of a page while isolated. */
	if (!dmirror_page_movable_locked(it->src))
		return -ENOENT;
	return dmirror_owner_migrate(it->dst, it->src, mode);
}

void dmirror_nonlru_put_back(struct dmirror_rf_item *it)
{
	dmirror_nonlru_putback_locked(it->src);
}

/* The old page leaves isolation; our reference then frees it. */
void dmirror_nonlru_finish(struct dmirror_rf_item *it)
{
	if (dmirror_page_is_movable(it->src))
		dmirror_page_clear_isolated(it->src);
}

/* Home: where the item's own lookup finds it. */
bool dmirror_rf_found_home(struct dmirror_rf_item *it, struct page *page)
{
	return it->kind->ops->lookup(it) == page;
}

/* Intact: the page still carries its payload. */
bool dmirror_held_intact(struct dmirror_rf_item *it, struct page *page)
{
	return dmirror_rf_check_page(page);
}

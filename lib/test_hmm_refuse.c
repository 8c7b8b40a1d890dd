// SPDX-License-Identifier: GPL-2.0
/*
 * The refusal-path engine: migrates a batch of balloon, zsmalloc, aio
 * ring and movable pages with the NO_COPY protocol (take every page, lock
 * them all, call each callback, DMA-copy what moved, unlock), and checks
 * afterwards that each item sits where its owner keeps it, unharmed.
 * What a kind does at each step comes from its row of the kind table.
 */
#include <linux/mm.h>
#include <linux/pagemap.h>
#include <linux/slab.h>
#include <linux/sort.h>

#include "test_hmm_compat.h"
#include "test_hmm_device.h"
#include "test_hmm_refuse.h"

/* One batch on its way through the engine. */
struct dmirror_rf_batch {
	struct dmirror_refuse *rf;
	struct dmirror_rf_item *items;	/* in the user's order */
	struct dmirror_rf_item **order;	/* the same, by PFN: lock order */
	unsigned long n;
	u32 hmode;			/* enum hmm_nc_mode */
	enum migrate_mode mode;
	u64 migrated;
	u64 refused;
	u64 failed;
};

#define dmirror_rf_count(b, field, n) \
	dmirror_count_add((b)->rf->mdevice, field, n)

static void dmirror_rf_free_dsts(struct dmirror_rf_batch *b)
{
	unsigned long i;

	for (i = 0; i < b->n; i++)
		if (b->items[i].dst)
			put_page(b->items[i].dst);
}

/* Destinations first: running out of memory then costs nothing. */
static int dmirror_rf_alloc_dsts(struct dmirror_rf_batch *b)
{
	unsigned long i;

	for (i = 0; i < b->n; i++) {
		b->items[i].dst = alloc_page(GFP_HIGHUSER_MOVABLE);
		if (!b->items[i].dst) {
			dmirror_rf_free_dsts(b);
			return -ENOMEM;
		}
	}
	return 0;
}

static void dmirror_rf_release(struct dmirror_rf_batch *b,
			       struct dmirror_rf_item *it)
{
	put_page(it->src);
	it->src = NULL;
	dmirror_rf_count(b, pages_returned, 1);
	if (it->kind->ops->release)
		it->kind->ops->release(it);
}

static void dmirror_rf_untake_one(struct dmirror_rf_batch *b,
				  struct dmirror_rf_item *it)
{
	lock_page(it->src);
	it->kind->ops->put_back(it);
	unlock_page(it->src);
	dmirror_rf_release(b, it);
}

/* Gives back the pages taken before a take failed. */
static void dmirror_rf_untake(struct dmirror_rf_batch *b, unsigned long n)
{
	unsigned long i;

	for (i = 0; i < n; i++)
		dmirror_rf_untake_one(b, &b->items[i]);
}

/* Whether one of the first n items of the batch holds page. */
static bool dmirror_rf_holds(struct dmirror_rf_batch *b, unsigned long n,
			     struct page *page)
{
	unsigned long i;

	if (IS_ERR_OR_NULL(page))
		return false;
	for (i = 0; i < n; i++)
		if (b->items[i].src == page)
			return true;
	return false;
}

/*
 * Takes item i. Two entries may name one page in different ways (two
 * objects of one zspage page, two addresses of one ring page); the
 * batch would lock it twice and wait for itself, so such a batch is
 * refused. A page the batch isolated stays put, so the lookup finds it
 * before the take, which would wait in vain for the page to come back
 * from isolation; a ring page is only referenced, and known once taken.
 */
static int dmirror_rf_take_one(struct dmirror_rf_batch *b, unsigned long i)
{
	struct dmirror_rf_item *it = &b->items[i];
	int ret;

	if (dmirror_rf_holds(b, i, it->kind->ops->lookup(it)))
		return -EINVAL;
	ret = it->kind->ops->take(it);
	if (ret)
		return ret;
	it->old_pfn = page_to_pfn(it->src);
	dmirror_rf_count(b, pages_taken, 1);
	if (dmirror_rf_holds(b, i, it->src)) {
		dmirror_rf_untake_one(b, it);
		return -EINVAL;
	}
	return 0;
}

static int dmirror_rf_take_all(struct dmirror_rf_batch *b)
{
	unsigned long i;
	int ret;

	for (i = 0; i < b->n; i++) {
		ret = dmirror_rf_take_one(b, i);
		if (ret) {
			dmirror_rf_untake(b, i);
			return ret;
		}
	}
	return 0;
}

static int dmirror_rf_cmp_pfn(const void *a, const void *b)
{
	struct dmirror_rf_item * const *ia = a, * const *ib = b;
	unsigned long pa = page_to_pfn((*ia)->src);
	unsigned long pb = page_to_pfn((*ib)->src);

	return pa < pb ? -1 : pa > pb;
}

/*
 * Locks every page of the batch before the first callback runs, as a
 * NO_COPY caller must; a page its kind cannot prepare is not migrated.
 * A ring page is only referenced, so another batch (of another device,
 * or another process) may hold it too: every batch locks its pages in
 * PFN order, and none can then wait for a page while holding one that
 * the holder of that page waits for. The destination pages are ours
 * alone, and never waited for.
 */
static void dmirror_rf_lock_all(struct dmirror_rf_batch *b)
{
	struct dmirror_rf_item *it;
	unsigned long i;

	for (i = 0; i < b->n; i++)
		b->order[i] = &b->items[i];
	sort(b->order, b->n, sizeof(*b->order), dmirror_rf_cmp_pfn, NULL);
	for (i = 0; i < b->n; i++) {
		it = b->order[i];
		lock_page(it->src);
		dmirror_rf_count(b, pages_locked, 1);
		lock_page(it->dst);
		if (it->kind->ops->prepare)
			it->result = it->kind->ops->prepare(it);
	}
}

static void dmirror_rf_account(struct dmirror_rf_batch *b,
			       struct dmirror_rf_item *it)
{
	enum hmm_nc_cb cb = dmirror_kind_cb(it->kind);

	if (!it->result) {
		b->migrated++;
		dmirror_rf_count(b, migrated[cb][b->hmode], 1);
		return;
	}
	if (!(it->status & HMM_NC_RF_RAN)) {
		b->failed++;
		return;
	}
	dmirror_rf_count(b, failed[cb][b->hmode], 1);
	if (it->result == -EINVAL) {
		b->refused++;
		dmirror_rf_count(b, refusals, 1);
	} else {
		b->failed++;
	}
}

static void dmirror_rf_migrate_all(struct dmirror_rf_batch *b)
{
	struct dmirror_rf_item *it;
	unsigned long i;

	for (i = 0; i < b->n; i++) {
		it = &b->items[i];
		if (!it->result) {
			it->result = it->kind->ops->migrate(it, b->mode);
			it->status |= HMM_NC_RF_RAN;
		}
		dmirror_rf_account(b, it);
	}
}

static bool dmirror_rf_moved(struct dmirror_rf_item *it)
{
	return (it->status & HMM_NC_RF_RAN) && !it->result;
}

/*
 * The engine's copy: after NO_COPY the pages that migrated hold their
 * state in the new page but not the data; one DMA operation brings it,
 * while every page is still locked.
 */
static int dmirror_rf_copy(struct dmirror_rf_batch *b)
{
	struct page **pages;
	unsigned long i, n = 0;

	if (dmirror_kernel_copies(b->mode))
		return 0;
	pages = kcalloc(2 * b->n, sizeof(*pages), GFP_KERNEL);
	if (!pages)
		return -ENOMEM;
	for (i = 0; i < b->n; i++) {
		if (!dmirror_rf_moved(&b->items[i]))
			continue;
		pages[n] = b->items[i].dst;
		pages[b->n + n] = b->items[i].src;
		b->items[i].status |= HMM_NC_RF_COPIED;
		n++;
	}
	dmirror_dma_copy(b->rf->mdevice, pages, pages + b->n, n, NULL);
	kfree(pages);
	return 0;
}

/* Copies page by page when the engine's bookkeeping finds no memory. */
static void dmirror_rf_copy_each(struct dmirror_rf_batch *b)
{
	struct dmirror_rf_item *it;
	unsigned long i;

	for (i = 0; i < b->n; i++) {
		it = &b->items[i];
		if (!dmirror_rf_moved(it))
			continue;
		dmirror_dma_copy(b->rf->mdevice, &it->dst, &it->src, 1, NULL);
		it->status |= HMM_NC_RF_COPIED;
	}
}

static void dmirror_rf_settle_all(struct dmirror_rf_batch *b)
{
	struct dmirror_rf_item *it;
	unsigned long i;

	for (i = 0; i < b->n; i++) {
		it = &b->items[i];
		if (dmirror_rf_moved(it))
			it->kind->ops->finish(it);
		else
			it->kind->ops->put_back(it);
	}
}

/*
 * Runs while the batch is still locked, so nobody (compaction included)
 * can move an item between its migration and its check.
 */
static void dmirror_rf_check_all(struct dmirror_rf_batch *b)
{
	struct dmirror_rf_item *it;
	struct page *page;
	unsigned long i;

	for (i = 0; i < b->n; i++) {
		it = &b->items[i];
		page = it->kind->ops->lookup(it);
		if (IS_ERR_OR_NULL(page))
			continue;
		it->new_pfn = page_to_pfn(page);
		if (it->new_pfn != it->old_pfn)
			it->status |= HMM_NC_RF_MOVED;
		if (it->kind->ops->home(it, page))
			it->status |= HMM_NC_RF_HOME;
		if (it->kind->ops->intact(it, page))
			it->status |= HMM_NC_RF_INTACT;
	}
}

/* The owner adopted dst if the migration succeeded; our reference goes. */
static void dmirror_rf_unlock_all(struct dmirror_rf_batch *b)
{
	struct dmirror_rf_item *it;
	unsigned long i;

	for (i = 0; i < b->n; i++) {
		it = &b->items[i];
		unlock_page(it->dst);
		put_page(it->dst);
		it->dst = NULL;
		unlock_page(it->src);
		dmirror_rf_count(b, pages_unlocked, 1);
		dmirror_rf_release(b, it);
	}
}

/*
 * Migrates a validated batch; the caller holds rf->lock. Returns an
 * error only when nothing was attempted.
 */
static int dmirror_rf_run(struct dmirror_rf_batch *b)
{
	int ret;

	ret = dmirror_rf_alloc_dsts(b);
	if (ret)
		return ret;
	ret = dmirror_rf_take_all(b);
	if (ret) {
		dmirror_rf_free_dsts(b);
		return ret;
	}
	dmirror_rf_lock_all(b);
	dmirror_rf_migrate_all(b);
	if (dmirror_rf_copy(b))
		dmirror_rf_copy_each(b);
	dmirror_rf_settle_all(b);
	dmirror_rf_check_all(b);
	dmirror_rf_unlock_all(b);
	return 0;
}

/*
 * An entry of an aio-like kind names a user address: the ring's start
 * plus index pages.
 */
static int dmirror_rf_user_addr(const struct hmm_nc_rf_page *p,
				unsigned long *addr)
{
	if (!p->ctx || !PAGE_ALIGNED(p->ctx) || p->ctx > TASK_SIZE ||
	    p->index >= (TASK_SIZE - p->ctx) >> PAGE_SHIFT)
		return -EINVAL;
	*addr = p->ctx + (p->index << PAGE_SHIFT);
	return 0;
}

static int dmirror_rf_item_init(struct dmirror_refuse *rf,
				struct dmirror_rf_item *it,
				const struct hmm_nc_rf_page *p)
{
	it->kind = dmirror_kind_of(p->kind, DMIRROR_KIND_MIGRATES);
	if (!it->kind || p->flags || p->reserved[0] || p->reserved[1])
		return -EINVAL;
	it->held = &rf->held[dmirror_kind_cb(it->kind)];
	it->index = p->index;
	if (it->kind->features & DMIRROR_KIND_USER_ADDR)
		return dmirror_rf_user_addr(p, &it->addr);
	return p->ctx ? -EINVAL : 0;
}

static bool dmirror_rf_same(const struct dmirror_rf_item *a,
			    const struct dmirror_rf_item *b)
{
	return a->kind == b->kind && a->index == b->index &&
		a->addr == b->addr;
}

/*
 * A page named twice would be locked twice: refuse the batch. This
 * catches the same entry twice before anything is touched; the same page
 * under two names is caught as the pages are taken.
 */
static int dmirror_rf_items_init(struct dmirror_rf_batch *b,
				 const struct hmm_nc_rf_page *pages)
{
	unsigned long i, j;
	int ret;

	for (i = 0; i < b->n; i++) {
		ret = dmirror_rf_item_init(b->rf, &b->items[i], &pages[i]);
		if (ret)
			return ret;
		for (j = 0; j < i; j++)
			if (dmirror_rf_same(&b->items[i], &b->items[j]))
				return -EINVAL;
	}
	return 0;
}

static void dmirror_rf_items_out(const struct dmirror_rf_batch *b,
				 struct hmm_nc_rf_page *pages)
{
	unsigned long i;

	for (i = 0; i < b->n; i++) {
		pages[i].result = b->items[i].result;
		pages[i].status = b->items[i].status;
		pages[i].old_pfn = b->items[i].old_pfn;
		pages[i].new_pfn = b->items[i].new_pfn;
	}
}

static int dmirror_rf_migrate_pages(struct dmirror_refuse *rf,
				    struct dmirror_rf_batch *b,
				    struct hmm_nc_rf_page *pages)
{
	int ret;

	b->rf = rf;
	b->items = kcalloc(b->n, sizeof(*b->items), GFP_KERNEL);
	b->order = kcalloc(b->n, sizeof(*b->order), GFP_KERNEL);
	ret = b->items && b->order ? 0 : -ENOMEM;
	if (!ret)
		ret = dmirror_rf_items_init(b, pages);
	if (!ret) {
		mutex_lock(&rf->lock);
		ret = dmirror_rf_run(b);
		mutex_unlock(&rf->lock);
	}
	if (!ret)
		dmirror_rf_items_out(b, pages);
	kfree(b->order);
	kfree(b->items);
	return ret;
}

static int dmirror_rf_migrate_check(const struct hmm_nc_rf_migrate *cmd,
				    struct dmirror_rf_batch *b)
{
	if (cmd->flags || memchr_inv(cmd->reserved, 0, sizeof(cmd->reserved)))
		return -EINVAL;
	b->n = cmd->npages;
	b->hmode = cmd->mode;
	return dmirror_kernel_mode(cmd->mode, &b->mode);
}

/*
 * HMM_NC_RF_MIGRATE on the kernel's copy of the caller's entries (their
 * number checked by dmirror_user_array()): the results go into them.
 */
int dmirror_rf_migrate(struct dmirror_refuse *rf, struct hmm_nc_rf_migrate *cmd,
		       struct hmm_nc_rf_page *pages)
{
	struct dmirror_rf_batch b = { };
	int ret;

	ret = dmirror_rf_migrate_check(cmd, &b);
	if (ret)
		return ret;
	ret = dmirror_rf_migrate_pages(rf, &b, pages);
	if (ret)
		return ret;
	cmd->migrated = b.migrated;
	cmd->refused = b.refused;
	cmd->failed = b.failed;
	return 0;
}

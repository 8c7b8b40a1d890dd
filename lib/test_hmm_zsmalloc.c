// SPDX-License-Identifier: GPL-2.0
/*
 * The device's zsmalloc pool: objects with a self-checking payload. A
 * migration moves the zspage page holding a chosen object through the
 * pool's movable operations; zs_page_migrate() refuses NO_COPY, because
 * it copies the page and rewrites its objects' handles under the pool's
 * lock.
 */
#include <linux/mm.h>
#include <linux/nospec.h>
#include <linux/zsmalloc.h>

#include "test_hmm_compat.h"
#include "test_hmm_refuse.h"

/*
 * zsmalloc keeps a handle-sized header in each object: ours then take
 * 256 bytes, a divisor of the page size, and never straddle two pages.
 */
static_assert(PAGE_SIZE % (HMM_NC_RF_OBJ_SIZE + sizeof(unsigned long)) == 0);

/*
 * The pool; the held store keeps the objects' handles (h->handles),
 * changed only under the commands' lock: a zspage page moves, a handle
 * does not.
 */
static int dmirror_zpool_init(struct dmirror_held *h)
{
	struct zs_pool *pool;
	char name[32];

	snprintf(name, sizeof(name), "test_hmm%u", h->rf->mdevice->index);
	pool = zs_create_pool(name);
	if (!pool)
		return -ENOMEM;
	h->priv = pool;
	return 0;
}

/* Every object must be freed first: see dmirror_zpool_drop(). */
static bool dmirror_zpool_fini(struct dmirror_held *h)
{
	if (h->nr) {
		pr_err("test_hmm: zsmalloc pool still holds %lu objects, leaking it\n",
		       h->nr);
		return false;
	}
	zs_destroy_pool(h->priv);
	return true;
}

static int dmirror_zpool_add(struct dmirror_held *h)
{
	struct zs_pool *pool = h->priv;
	unsigned long handle;
	void *obj;

	handle = dmirror_zs_malloc(pool, HMM_NC_RF_OBJ_SIZE,
				   GFP_KERNEL | __GFP_HIGHMEM | __GFP_MOVABLE);
	if (!handle)
		return -ENOMEM;
	obj = zs_map_object(pool, handle, ZS_MM_WO);
	dmirror_rf_fill(obj, HMM_NC_RF_OBJ_SIZE, dmirror_rf_next_tag());
	zs_unmap_object(pool, handle);
	h->handles[h->nr++] = handle;
	return 0;
}

static int dmirror_zpool_drop(struct dmirror_held *h)
{
	zs_free(h->priv, h->handles[--h->nr]);
	return 0;
}

static bool dmirror_zpool_item_ok(struct dmirror_held *h, unsigned long i)
{
	unsigned long handle = h->handles[array_index_nospec(i, h->nr)];
	void *obj = zs_map_object(h->priv, handle, ZS_MM_RO);
	bool ok = dmirror_rf_check(obj, HMM_NC_RF_OBJ_SIZE);

	zs_unmap_object(h->priv, handle);
	return ok;
}

static void dmirror_zpool_state(struct dmirror_held *h,
				struct hmm_nc_rf_state *st)
{
	unsigned long i;

	st->zs_objects = h->nr;
	st->zs_pool_pages = zs_get_total_pages(h->priv);
	for (i = 0; i < h->nr; i++)
		if (!dmirror_zpool_item_ok(h, i))
			st->bad++;
}

/* h->priv is the pool itself. */
DMIRROR_DEFINE_HELD_OPS(zpool, 0);

/*
 * The page an object lives in. A mapped object that fits in its page is
 * that page's kernel address; one that straddles two pages would come
 * back as a copy in a per-CPU buffer, which is not movable (and which
 * the object size above rules out). Highmem pages have no fixed kernel
 * address and are not supported.
 */
static struct page *dmirror_zpool_obj_page(const void *obj)
{
	struct page *page;

	if (!virt_addr_valid(obj) ||
	    offset_in_page(obj) + HMM_NC_RF_OBJ_SIZE > PAGE_SIZE)
		return ERR_PTR(-EOPNOTSUPP);
	page = virt_to_page(obj);
	return dmirror_page_is_movable(page) ? page : ERR_PTR(-EOPNOTSUPP);
}

static struct page *dmirror_zpool_lookup(struct dmirror_rf_item *it)
{
	struct dmirror_held *h = it->held;
	unsigned long handle;
	struct page *page;
	void *obj;

	if (it->index >= h->nr)
		return ERR_PTR(-EINVAL);
	handle = h->handles[array_index_nospec(it->index, h->nr)];
	obj = zs_map_object(h->priv, handle, ZS_MM_RO);
	page = dmirror_zpool_obj_page(obj);
	zs_unmap_object(h->priv, handle);
	return page;
}

/* The object's payload, wherever its page is now. */
static bool dmirror_zpool_intact(struct dmirror_rf_item *it, struct page *page)
{
	return dmirror_zpool_item_ok(it->held, it->index);
}

/* Home when the object's handle maps into the page. */
DMIRROR_DEFINE_NONLRU_OPS(zpool, dmirror_zpool_lookup, dmirror_rf_found_home,
			  dmirror_zpool_intact);

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
#include <linux/slab.h>
#include <linux/zsmalloc.h>

#include "test_hmm_compat.h"
#include "test_hmm_refuse.h"

/*
 * zsmalloc keeps a handle-sized header in each object: ours then take
 * 256 bytes, a divisor of the page size, and never straddle two pages.
 */
static_assert(PAGE_SIZE % (HMM_NC_RF_OBJ_SIZE + sizeof(unsigned long)) == 0);

struct dmirror_zpool {
	struct zs_pool *pool;
	unsigned long *handles;
	unsigned long nr;
};

int dmirror_zpool_init(struct dmirror_refuse *rf)
{
	struct dmirror_zpool *zp;
	char name[32];

	zp = kzalloc(sizeof(*zp), GFP_KERNEL);
	if (!zp)
		return -ENOMEM;
	zp->handles = kvcalloc(HMM_NC_RF_MAX_HELD, sizeof(*zp->handles),
			       GFP_KERNEL);
	snprintf(name, sizeof(name), "test_hmm%u", rf->mdevice->index);
	zp->pool = zs_create_pool(name);
	if (!zp->handles || !zp->pool) {
		if (zp->pool)
			zs_destroy_pool(zp->pool);
		kvfree(zp->handles);
		kfree(zp);
		return -ENOMEM;
	}
	rf->zpool = zp;
	return 0;
}

/* Every object must be freed first: see dmirror_zpool_release(). */
void dmirror_zpool_fini(struct dmirror_refuse *rf)
{
	struct dmirror_zpool *zp = rf->zpool;

	if (!zp)
		return;
	if (zp->nr) {
		pr_err("test_hmm: zsmalloc pool still holds %lu objects, leaking it\n",
		       zp->nr);
		return;
	}
	zs_destroy_pool(zp->pool);
	kvfree(zp->handles);
	kfree(zp);
	rf->zpool = NULL;
}

static int dmirror_zpool_add_one(struct dmirror_zpool *zp)
{
	unsigned long handle;
	void *obj;

	handle = dmirror_zs_malloc(zp->pool, HMM_NC_RF_OBJ_SIZE,
				   GFP_KERNEL | __GFP_HIGHMEM | __GFP_MOVABLE);
	if (!handle)
		return -ENOMEM;
	obj = zs_map_object(zp->pool, handle, ZS_MM_WO);
	dmirror_rf_fill(obj, HMM_NC_RF_OBJ_SIZE, dmirror_rf_next_tag());
	zs_unmap_object(zp->pool, handle);
	zp->handles[zp->nr++] = handle;
	return 0;
}

int dmirror_zpool_hold(struct dmirror_refuse *rf, u64 count, u64 *done)
{
	struct dmirror_zpool *zp = rf->zpool;
	int ret;

	if (count > HMM_NC_RF_MAX_HELD - zp->nr)
		return -ENOSPC;
	for (*done = 0; *done < count; (*done)++) {
		ret = dmirror_zpool_add_one(zp);
		if (ret)
			return ret;
	}
	return 0;
}

int dmirror_zpool_release(struct dmirror_refuse *rf, u64 count, u64 *done)
{
	struct dmirror_zpool *zp = rf->zpool;

	for (*done = 0; *done < count && zp->nr; (*done)++)
		zs_free(zp->pool, zp->handles[--zp->nr]);
	return 0;
}

u64 dmirror_zpool_held(struct dmirror_refuse *rf)
{
	return rf->zpool->nr;
}

static bool dmirror_zpool_object_ok(struct dmirror_zpool *zp,
				    unsigned long handle)
{
	void *obj = zs_map_object(zp->pool, handle, ZS_MM_RO);
	bool ok = dmirror_rf_check(obj, HMM_NC_RF_OBJ_SIZE);

	zs_unmap_object(zp->pool, handle);
	return ok;
}

void dmirror_zpool_state(struct dmirror_refuse *rf,
			 struct hmm_nc_rf_state *st)
{
	struct dmirror_zpool *zp = rf->zpool;
	unsigned long i;

	st->zs_objects = zp->nr;
	st->zs_pool_pages = zs_get_total_pages(zp->pool);
	for (i = 0; i < zp->nr; i++)
		if (!dmirror_zpool_object_ok(zp, zp->handles[i]))
			st->bad++;
}

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

static struct page *dmirror_zpool_lookup(struct dmirror_refuse *rf,
					 struct dmirror_rf_item *it)
{
	struct dmirror_zpool *zp = rf->zpool;
	unsigned long handle;
	struct page *page;
	void *obj;

	if (it->index >= zp->nr)
		return ERR_PTR(-EINVAL);
	handle = zp->handles[array_index_nospec(it->index, zp->nr)];
	obj = zs_map_object(zp->pool, handle, ZS_MM_RO);
	page = dmirror_zpool_obj_page(obj);
	zs_unmap_object(zp->pool, handle);
	return page;
}

/* The object's handle maps into the page. */
static bool dmirror_zpool_home(struct dmirror_refuse *rf,
			       struct dmirror_rf_item *it, struct page *page)
{
	return dmirror_zpool_lookup(rf, it) == page;
}

static bool dmirror_zpool_intact(struct dmirror_refuse *rf,
				 struct dmirror_rf_item *it, struct page *page)
{
	struct dmirror_zpool *zp = rf->zpool;
	unsigned long i = array_index_nospec(it->index, zp->nr);

	return dmirror_zpool_object_ok(zp, zp->handles[i]);
}

const struct dmirror_rf_kind dmirror_rf_zsmalloc = {
	.cb		= HMM_NC_CB_ZSMALLOC,
	.lookup		= dmirror_zpool_lookup,
	.take		= dmirror_nonlru_take,
	.migrate	= dmirror_nonlru_migrate,
	.put_back	= dmirror_nonlru_put_back,
	.finish		= dmirror_nonlru_finish,
	.home		= dmirror_zpool_home,
	.intact		= dmirror_zpool_intact,
};

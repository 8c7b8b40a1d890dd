// SPDX-License-Identifier: GPL-2.0
/*
 * aio ring pages. io_setup() puts the ring of a context in the page
 * cache of a pseudo file, maps it into the process (the context id is
 * the ring's user address) and keeps its pages in the context's
 * ring_pages[]. The ring's mapping migrates a page with
 * aio_migrate_folio(), which refuses NO_COPY: it copies the page under
 * the context's completion lock, so that no event is lost meanwhile.
 *
 * A ring page is an LRU page. The core isolates such a page from the LRU
 * and unmaps it before it calls the mapping's callback; neither step is
 * exported, so the page is referenced instead of isolated, and unmapped
 * with unmap_mapping_range(): a fault then waits on the page lock and
 * maps whichever page the ring's slot holds afterwards. The callback
 * moves PG_active from the old page to the new one, which must not
 * happen to a page still on the active list: the page is first moved to
 * the inactive list (see dmirror_aio_deactivate()). Where the kernel
 * wants the page off the LRU (6.12's memcg, DMIRROR_LRU_FOLIO_MIGRATES),
 * it is isolated as well, with folio_isolate_lru() found at load.
 */
#include <linux/file.h>
#include <linux/fs.h>
#include <linux/highmem.h>
#include <linux/mm.h>
#include <linux/pagemap.h>
#include <linux/sched/mm.h>
#include <linux/slab.h>
#include <linux/swap.h>

#include "test_hmm_compat.h"
#include "test_hmm_refuse.h"

static bool dmirror_aio_is_ring(struct file *file)
{
	return file_inode(file)->i_sb->s_magic == DMIRROR_AIO_RING_MAGIC &&
		dmirror_mapping_migrates(file->f_mapping);
}

static bool dmirror_aio_in_ring(struct file *file, pgoff_t pgoff)
{
	return pgoff < DIV_ROUND_UP(i_size_read(file_inode(file)), PAGE_SIZE);
}

/* The ring file behind the caller's address, and the page's slot in it. */
static int dmirror_aio_find(struct dmirror_rf_item *it)
{
	struct mm_struct *mm = current->mm;
	struct vm_area_struct *vma;
	int ret = -EINVAL;

	if (!mm)
		return -EINVAL;
	mmap_read_lock(mm);
	vma = vma_lookup(mm, it->addr);
	if (vma && vma->vm_file && dmirror_aio_is_ring(vma->vm_file)) {
		it->pgoff = vma->vm_pgoff +
			((it->addr - vma->vm_start) >> PAGE_SHIFT);
		if (dmirror_aio_in_ring(vma->vm_file, it->pgoff)) {
			it->file = get_file(vma->vm_file);
			ret = 0;
		}
	}
	mmap_read_unlock(mm);
	return ret;
}

/*
 * Moves the (referenced) page to the inactive list. Unmapping a page the
 * process has touched marks it accessed, which can activate it; the one
 * exported way back is invalidate_mapping_pages(), which deactivates an
 * unmapped page it cannot drop, and a ring page it never drops: the
 * context and we hold references on top of the page cache's. Both steps
 * go through per-CPU LRU batches, which hold a reference of their own
 * that the callback would count as a user (-EAGAIN): drain them after
 * each.
 */
static void dmirror_aio_deactivate(struct dmirror_rf_item *it)
{
	struct address_space *mapping = it->file->f_mapping;

	unmap_mapping_range(mapping, (loff_t)it->pgoff << PAGE_SHIFT, PAGE_SIZE,
			    false);
	dmirror_lru_drain_all();
	invalidate_mapping_pages(mapping, it->pgoff, it->pgoff);
	dmirror_lru_drain_all();
}

static int dmirror_aio_take(struct dmirror_rf_item *it)
{
	struct page *page;
	int ret;

	ret = dmirror_aio_find(it);
	if (ret)
		return ret;
	/* A ring it is; off the LRU first, which this build cannot do. */
	if (!(dmirror_kernel_features() & HMM_NC_FEAT_AIO_RING)) {
		fput(it->file);
		it->file = NULL;
		return -EOPNOTSUPP;
	}
	page = dmirror_cache_page(it->file->f_mapping, it->pgoff);
	if (!page) {
		fput(it->file);
		it->file = NULL;
		return -ENOENT;
	}
	it->src = page;
	dmirror_aio_deactivate(it);
	return 0;
}

/*
 * Runs with the page locked; a fault since dmirror_aio_deactivate() may
 * have mapped it again. Without LRU isolation the callback must not move
 * LRU list flags off a page still on a list: only a page on the
 * inactive, evictable list goes on. Unmapping a young PTE marks the page
 * accessed, which queues its activation in a per-CPU LRU batch: that
 * batch would set PG_active in place after the check below, under the
 * callback. Drain the batches first; the locked, unmapped page meets no
 * new access until the callback has run. The snapshot is what the page
 * must still read afterwards, wherever it then lives.
 */
static int dmirror_aio_prepare(struct dmirror_rf_item *it)
{
	unmap_mapping_range(it->file->f_mapping,
			    (loff_t)it->pgoff << PAGE_SHIFT, PAGE_SIZE, false);
	dmirror_lru_drain_all();
	if (dmirror_page_lru_kept(it->src))
		return -EBUSY;
	if (!DMIRROR_LRU_FOLIO_MIGRATES) {
		int ret = dmirror_core_isolate_lru_page(it->src);

		if (ret)
			return ret;
		it->isolated = true;
	}
	it->snapshot = kmalloc(PAGE_SIZE, GFP_KERNEL);
	if (!it->snapshot)
		return -ENOMEM;
	memcpy_from_page(it->snapshot, it->src, 0, PAGE_SIZE);
	return 0;
}

static int dmirror_aio_migrate(struct dmirror_rf_item *it,
			       enum migrate_mode mode)
{
	return dmirror_cache_migrate(it->file->f_mapping, it->dst, it->src,
				     mode);
}

/*
 * The page never left its slot; the next fault maps it again. Isolated,
 * it goes back on the LRU; our reference stands for the isolation's.
 */
static void dmirror_aio_put_back(struct dmirror_rf_item *it)
{
	if (it->isolated)
		dmirror_lru_add(it->src);
	it->isolated = false;
}

/*
 * What the core does after a page-cache page moved: the new page joins
 * the LRU, the old one forgets its mapping before it is freed.
 */
static void dmirror_aio_finish(struct dmirror_rf_item *it)
{
	dmirror_lru_add(it->dst);
	flush_dcache_page(it->dst);
	it->src->mapping = NULL;
	/* Isolated, the old page stays off the LRU until it is freed. */
	it->isolated = false;
}

static void dmirror_aio_release(struct dmirror_rf_item *it)
{
	fput(it->file);
	it->file = NULL;
	kfree(it->snapshot);
	it->snapshot = NULL;
}

/* Before the take, the ring is not known yet: nothing to look at. */
static struct page *dmirror_aio_lookup(struct dmirror_rf_item *it)
{
	struct page *page;

	if (!it->file)
		return ERR_PTR(-ENOENT);
	page = dmirror_cache_page(it->file->f_mapping, it->pgoff);
	if (!page)
		return ERR_PTR(-ENOENT);
	put_page(page);
	return page;
}

static bool dmirror_aio_intact(struct dmirror_rf_item *it, struct page *page)
{
	void *p;
	bool same;

	if (!it->snapshot)
		return false;
	p = kmap_local_page(page);
	same = !memcmp(p, it->snapshot, PAGE_SIZE);
	kunmap_local(p);
	return same;
}

/*
 * An LRU page, referenced rather than isolated: every step is its own;
 * home when the ring's page-cache slot holds the page.
 */
const struct dmirror_kind_ops dmirror_aio_ops = {
	.lookup		= dmirror_aio_lookup,
	.take		= dmirror_aio_take,
	.prepare	= dmirror_aio_prepare,
	.migrate	= dmirror_aio_migrate,
	.put_back	= dmirror_aio_put_back,
	.finish		= dmirror_aio_finish,
	.release	= dmirror_aio_release,
	.home		= dmirror_rf_found_home,
	.intact		= dmirror_aio_intact,
};

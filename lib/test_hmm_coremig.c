// SPDX-License-Identifier: GPL-2.0
/*
 * The kernel's migration core, reached from the test device: pages of a
 * user range through migrate_pages() (HMM_NC_CORE_MIGRATE), with the
 * device doing the copy MIGRATE_SYNC_NO_COPY leaves to its caller, and
 * page locks held on request (HMM_NC_CORE_LOCK) for the core's
 * lock-wait paths; and the LRU isolation the aio kind needs on 6.12
 * (dmirror_core_isolate_lru_page()). The same code on every release:
 * the compat files name the entry points and adapt their types (5.10's
 * pages, 6.12's folio callbacks of migrate_pages()).
 *
 * How the module reaches entry points the kernel does not export: it resolves
 * them by name once at load. kallsyms_lookup_name() is not exported
 * either (since 5.7); a kprobe on it reports its address, which is the
 * one documented way for a module to find it without patching the
 * kernel under test. The other ways were worse for a test suite: a
 * kernel patch or a module built inside the tree would not test the
 * user's kernel as it is, and copying migrate_pages() into the module
 * would test our copy, not the kernel's switches. The names and the
 * types the pointers must have live in the compat files; without
 * CONFIG_KPROBES, or where a name is missing, the commands that need it
 * answer EOPNOTSUPP and HMM_NC_INFO does not report the feature, so the
 * tests that need it skip with the reason and the rest runs.
 */
#include <linux/delay.h>
#include <linux/hugetlb.h>
#include <linux/kprobes.h>
#include <linux/mm.h>
#include <linux/mm_inline.h>
#include <linux/sched/mm.h>
#include <linux/slab.h>
#include <linux/vmstat.h>
#include <linux/workqueue.h>

#include "test_hmm.h"
#include "test_hmm_compat.h"

static struct dmirror_core_syms dmirror_core;
static u64 dmirror_core_found;	/* HMM_NC_FEAT_CORE_* complete */

u64 dmirror_core_features(void)
{
	return dmirror_core_found;
}

typedef unsigned long (*dmirror_lookup_fn)(const char *name);

/* kallsyms_lookup_name(), through a kprobe's address, or NULL. */
static dmirror_lookup_fn dmirror_core_lookup(void)
{
#ifdef CONFIG_KPROBES
	struct kprobe kp = { .symbol_name = "kallsyms_lookup_name" };
	void *addr;

	if (register_kprobe(&kp))
		return NULL;
	addr = kp.addr;
	unregister_kprobe(&kp);
	return (dmirror_lookup_fn)addr;
#else
	return NULL;
#endif
}

/*
 * Resolve every entry point of the table; a feature is offered when
 * every field it needs was found. Failing to find them is not an error
 * of the module: the log says what is missing.
 */
void dmirror_core_init(void)
{
	dmirror_lookup_fn lookup = dmirror_core_lookup();
	const struct dmirror_core_sym *table;
	u64 missing = 0, wanted = 0;
	size_t i, n;

	table = dmirror_core_sym_table(&n);
	if (!lookup) {
		pr_info("test_hmm: no kallsyms_lookup_name (CONFIG_KPROBES?): migration core commands off\n");
		return;
	}
	for (i = 0; i < n; i++) {
		void **field = (void **)((char *)&dmirror_core +
					 table[i].offset);

		wanted |= table[i].feature;
		if (!*field)
			*field = (void *)lookup(table[i].name);
	}
	/* A field still empty after all its names: its feature is off. */
	for (i = 0; i < n; i++) {
		void **field = (void **)((char *)&dmirror_core +
					 table[i].offset);

		if (!*field) {
			missing |= table[i].feature;
			pr_info("test_hmm: %s not found\n", table[i].name);
		}
	}
	if (missing & HMM_NC_FEAT_CORE_MIGRATE)
		missing |= HMM_NC_FEAT_CORE_HUGETLB;
	dmirror_core_found = wanted & ~missing;
	pr_info("test_hmm: migration core: %s%s%s\n",
		dmirror_core_found & HMM_NC_FEAT_CORE_MIGRATE ? "lru" : "-",
		dmirror_core_found & HMM_NC_FEAT_CORE_HUGETLB ? " hugetlb" : "",
		dmirror_core_found & HMM_NC_FEAT_AIO_RING ? " aio" : "");
}

/*
 * Take the page's folio off its LRU list, as the migration core does
 * before a callback that wants it there no more: 0, -EBUSY when it is on
 * no list, -EOPNOTSUPP when the isolation was not found. The isolation's
 * own reference goes at once: the caller's stands for it until the folio
 * is back on the LRU (folio_add_lru()) or freed, so that a callback
 * counting references finds the ones it expects of an isolated folio.
 */
int dmirror_core_isolate_lru_page(struct page *page)
{
	struct folio *folio = page_folio(page);
	int ret;

	if (!dmirror_core.isolate_lru)
		return -EOPNOTSUPP;
	ret = dmirror_core_isolate_lru(&dmirror_core, folio);
	if (!ret)
		folio_put(folio);
	return ret;
}

/* One folio handed to the core, as the device saw it. */
struct dmirror_core_folio {
	struct folio *src;
	struct hstate *h;	/* hugetlb: the pool of its size */
	unsigned long pfn;	/* head page of the source */
	unsigned int nr;	/* its pages */
	unsigned int attempts;	/* destinations the core asked for */
	struct folio *dst;	/* the last one handed out; NULL once freed */
	u16 flags;		/* HMM_NC_CP_* */
	u8 cb;			/* enum hmm_nc_cb */
	bool nomem;		/* no destination for the last attempt */
};

struct dmirror_core_run {
	struct dmirror_device *mdevice;
	u32 mode, flags;
	int nid;		/* the destination node, or NUMA_NO_NODE */
	enum migrate_mode kmode;
	struct dmirror_core_folio *folios;
	unsigned long nfolios;
	struct page **dpages, **spages;	/* HPAGE_PMD_NR each */
};

static struct dmirror_core_folio *
dmirror_core_find(struct dmirror_core_run *run, struct folio *src,
		  struct folio *dst)
{
	unsigned long i;

	for (i = 0; i < run->nfolios; i++) {
		struct dmirror_core_folio *f = &run->folios[i];

		if ((src && f->src == src) || (dst && f->dst == dst))
			return f;
	}
	return NULL;
}

/*
 * The copy NO_COPY leaves to the caller, or the probe's sentinel, into a
 * fresh destination while the source is isolated but not yet unmapped.
 */
static void dmirror_core_fill(struct dmirror_core_run *run,
			      struct dmirror_core_folio *f, struct folio *dst)
{
	unsigned int i;

	for (i = 0; i < f->nr; i++) {
		run->dpages[i] = folio_page(dst, i);
		run->spages[i] = folio_page(f->src, i);
	}
	f->flags &= ~(HMM_NC_CP_COPIED | HMM_NC_CP_PRIMED);
	if (run->flags & HMM_NC_MIGRATE_PROBE) {
		dmirror_dma_prime(run->mdevice, run->dpages, f->nr);
		f->flags |= HMM_NC_CP_PRIMED;
	} else if (!dmirror_kernel_copies(run->kmode)) {
		dmirror_dma_copy(run->mdevice, run->dpages, run->spages,
				 f->nr, NULL);
		f->flags |= HMM_NC_CP_COPIED;
	}
}

/*
 * A destination of the source's size and kind: on the node asked for
 * only, else where the caller's memory policy puts it (a hugetlb folio:
 * on the source's node first).
 */
static struct folio *dmirror_core_dst(struct dmirror_core_run *run,
				      struct dmirror_core_folio *f)
{
	gfp_t gfp = f->nr > 1 ? GFP_TRANSHUGE : GFP_HIGHUSER_MOVABLE;
	unsigned int order = folio_order(f->src);
	struct folio *dst;

	if (f->h)
		dst = dmirror_core_alloc_hugetlb(&dmirror_core, f->h,
						 run->nid != NUMA_NO_NODE ?
						 run->nid : folio_nid(f->src));
	else
		dst = dmirror_core_alloc_folio(&dmirror_core, gfp, order,
					       run->nid);
	/* The hugetlb pool prefers the node but may give another one's. */
	if (dst && run->nid != NUMA_NO_NODE && folio_nid(dst) != run->nid) {
		folio_put(dst);
		dst = NULL;
	}
	return dst;
}

/*
 * The core's allocation callback: a destination of the source's size
 * and kind, filled.
 */
static struct folio *dmirror_core_alloc(struct folio *src, void *data)
{
	struct dmirror_core_run *run = data;
	struct dmirror_core_folio *f = dmirror_core_find(run, src, NULL);
	struct folio *dst;

	/* Not ours, or a piece of a folio the core split: no copy for it. */
	if (!f || folio_nr_pages(src) != f->nr)
		return NULL;
	f->attempts++;
	dst = dmirror_core_dst(run, f);
	f->nomem = !dst;
	if (!dst)
		return NULL;
	dmirror_core_fill(run, f, dst);
	f->dst = dst;
	return dst;
}

/* The core gave a destination back: the attempt failed. */
static void dmirror_core_free(struct folio *dst, void *data)
{
	struct dmirror_core_run *run = data;
	struct dmirror_core_folio *f = dmirror_core_find(run, NULL, dst);

	if (f)
		f->dst = NULL;
	folio_put(dst);
}

/* Whether a VMA's pages may go to the core; probes need a writer. */
static int dmirror_core_vma_ok(struct vm_area_struct *vma, u32 flags)
{
	if (!(vma->vm_flags & VM_READ) ||
	    (vma->vm_flags & (VM_IO | VM_PFNMAP)) || vma_is_dax(vma))
		return -EINVAL;
	if ((flags & HMM_NC_MIGRATE_PROBE) && vma->vm_file &&
	    (vma->vm_flags & VM_SHARED) &&
	    !(vma->vm_file->f_mode & FMODE_WRITE))
		return -EACCES;
	return 0;
}

static int dmirror_core_range_ok(struct mm_struct *mm, unsigned long start,
				 unsigned long end, u32 flags)
{
	struct vm_area_struct *vma;
	unsigned long addr = start;
	int ret = 0;

	while (addr < end && !ret) {
		vma = vma_lookup(mm, addr);
		if (!vma)
			return -EINVAL;
		ret = dmirror_core_vma_ok(vma, flags);
		addr = vma->vm_end;
	}
	return ret;
}

static u8 dmirror_core_cb(struct folio *folio)
{
	struct address_space *mapping = folio_mapping(folio);

	if (mapping && !folio_test_hugetlb(folio) &&
	    !dmirror_mapping_migrates(mapping))
		return HMM_NC_CB_FALLBACK;
	return dmirror_cache_cb(mapping);
}

/*
 * Isolate the folio of one page onto list; -EBUSY when it cannot go
 * (the page's record says skipped), other errors stop the command.
 */
static int dmirror_core_take(struct dmirror_core_run *run,
			     struct vm_area_struct *vma, struct folio *folio,
			     struct list_head *list)
{
	struct dmirror_core_folio *f = &run->folios[run->nfolios];
	bool huge = folio_test_hugetlb(folio);
	int ret;

	if (folio_nr_pages(folio) > HPAGE_PMD_NR)
		return -EBUSY;
	if (huge && !(dmirror_core_found & HMM_NC_FEAT_CORE_HUGETLB))
		return -EOPNOTSUPP;
	memset(f, 0, sizeof(*f));
	f->src = folio;
	f->nr = folio_nr_pages(folio);
	f->pfn = folio_pfn(folio);
	f->cb = dmirror_core_cb(folio);
	f->flags = (huge ? HMM_NC_CP_HUGETLB : 0) |
		   (f->nr > 1 ? HMM_NC_CP_LARGE : 0) |
		   (folio_test_dirty(folio) ? HMM_NC_CP_DIRTY : 0) |
		   (folio_test_writeback(folio) ? HMM_NC_CP_WRITEBACK : 0) |
		   (folio_test_locked(folio) ? HMM_NC_CP_LOCKED : 0) |
		   (folio_test_anon(folio) ? HMM_NC_CP_ANON : 0);
	if (huge) {
		f->h = hstate_vma(vma);
		ret = dmirror_core_isolate_hugetlb(&dmirror_core, folio, list);
	} else {
		ret = dmirror_core_isolate_lru(&dmirror_core, folio);
		if (!ret) {
			/* The core's accounting of isolated pages. */
			node_stat_mod_folio(folio, NR_ISOLATED_ANON +
					    folio_is_file_lru(folio), f->nr);
			list_add_tail(&folio->lru, list);
		}
	}
	if (ret)
		return -EBUSY;
	run->nfolios++;
	dmirror_count_add(run->mdevice, pages_taken, f->nr);
	return 0;
}

/*
 * Collect the range: each page's folio isolated once. idx[i] is the
 * folio of page i in run->folios, or -1 with status[i] saying why not.
 */
static int dmirror_core_collect(struct dmirror_core_run *run,
				unsigned long start, unsigned long npages,
				long *idx, struct hmm_nc_core_page *recs,
				struct list_head *list)
{
	unsigned long i;
	int ret = 0;

	for (i = 0; i < npages && !ret; i++) {
		unsigned long addr = start + (i << PAGE_SHIFT);
		struct vm_area_struct *vma = vma_lookup(current->mm, addr);
		struct dmirror_core_folio *f;
		struct page *page;
		struct folio *folio;

		idx[i] = -1;
		if (!vma)
			return -EINVAL;
		if (dmirror_core_user_page(addr, &page)) {
			recs[i].status = HMM_NC_PS_NO_PAGE;
			continue;
		}
		folio = page_folio(page);
		recs[i].old_pfn = page_to_pfn(page);
		f = dmirror_core_find(run, folio, NULL);
		if (f) {
			idx[i] = f - run->folios;
		} else if (is_zero_page(page) ||
			   is_zero_pfn(page_to_pfn(page))) {
			recs[i].status = HMM_NC_PS_NO_PAGE;
		} else {
			ret = dmirror_core_take(run, vma, folio, list);
			if (!ret)
				idx[i] = run->nfolios - 1;
			else if (ret == -EBUSY)
				recs[i].status = HMM_NC_PS_SKIPPED;
			if (ret == -EBUSY)
				ret = 0;
		}
		put_page(page);
		cond_resched();
	}
	return ret;
}

/* What became of each page, from what the device saw of its folio. */
static void dmirror_core_report(struct dmirror_core_run *run,
				struct hmm_nc_core_cmd *cmd, const long *idx,
				struct hmm_nc_core_page *recs)
{
	unsigned long i;

	for (i = 0; i < run->nfolios; i++) {
		struct dmirror_core_folio *f = &run->folios[i];

		if (f->dst) {
			dmirror_count_add(run->mdevice,
					  migrated[f->cb][run->mode], f->nr);
			cmd->moved += f->nr;
		} else {
			dmirror_count_add(run->mdevice,
					  failed[f->cb][run->mode], f->nr);
			cmd->failed++;
		}
		dmirror_count_add(run->mdevice, pages_returned, f->nr);
	}
	cmd->folios = run->nfolios;
	for (i = 0; i < cmd->npages; i++) {
		struct hmm_nc_core_page *r = &recs[i];
		struct dmirror_core_folio *f;
		unsigned long sub;

		if (idx[i] < 0)
			continue;
		f = &run->folios[idx[i]];
		/* The page's place in its folio (old_pfn: from collect). */
		sub = r->old_pfn - f->pfn;
		r->cb = f->cb;
		r->order = ilog2(f->nr);
		r->flags = f->flags;
		r->attempts = min_t(unsigned int, f->attempts, U16_MAX);
		if (f->dst) {
			r->status = HMM_NC_PS_MOVED;
			r->new_pfn = folio_pfn(f->dst) + sub;
		} else if (f->nomem) {
			r->status = HMM_NC_PS_NOMEM;
			r->result = -ENOMEM;
		} else if (!f->attempts) {
			r->status = HMM_NC_PS_UNTOUCHED;
		} else {
			r->status = HMM_NC_PS_BUSY;
			/* Retried to the end, or given up on earlier. */
			r->result = f->attempts >= DMIRROR_CORE_PASSES ?
				    -EAGAIN : -EBUSY;
		}
		if (!f->dst)
			r->flags &= ~(HMM_NC_CP_COPIED | HMM_NC_CP_PRIMED);
	}
}

/* The destination node: one with memory, or none asked for (0). */
static bool dmirror_core_node_ok(const struct hmm_nc_core_cmd *cmd)
{
	if (!(cmd->flags & HMM_NC_CORE_TO_NODE))
		return !cmd->node;
	return cmd->node < MAX_NUMNODES && node_state(cmd->node, N_MEMORY);
}

static int dmirror_core_check(struct hmm_nc_core_cmd *cmd,
			      enum migrate_mode *kmode)
{
	if (cmd->flags & ~HMM_NC_CORE_FLAGS || !dmirror_core_node_ok(cmd) ||
	    memchr_inv(cmd->reserved, 0, sizeof(cmd->reserved)))
		return -EINVAL;
	if (cmd->mode >= HMM_NC_MODE_COUNT)
		return -EINVAL;
	if (dmirror_range_valid(cmd->addr, cmd->npages) ||
	    cmd->npages > HMM_NC_CORE_MAX_PAGES)
		return -EINVAL;
	if (!(dmirror_core_found & HMM_NC_FEAT_CORE_MIGRATE))
		return -EOPNOTSUPP;
	return dmirror_kernel_core_mode(cmd->mode, kmode);
}

static int dmirror_core_run(struct dmirror *dmirror, void *data, void *pages)
{
	struct hmm_nc_core_cmd *cmd = data;
	struct hmm_nc_core_page *recs = pages;
	struct dmirror_core_run run = {
		.mdevice = dmirror->mdevice,
		.mode = cmd->mode,
		.flags = cmd->flags,
		.nid = cmd->flags & HMM_NC_CORE_TO_NODE ? cmd->node :
						       NUMA_NO_NODE,
	};
	unsigned long end = cmd->addr + (cmd->npages << PAGE_SHIFT);
	struct dmirror_core_cbs cbs = {
		.new_folio = dmirror_core_alloc,
		.free_folio = dmirror_core_free,
		.data = &run,
	};
	struct mm_struct *mm = current->mm;
	long *idx;
	LIST_HEAD(list);
	int ret;

	cmd->moved = 0;
	cmd->folios = 0;
	cmd->failed = 0;
	cmd->result = 0;
	ret = dmirror_core_check(cmd, &run.kmode);
	if (ret)
		return ret;
	idx = kvcalloc(cmd->npages, sizeof(*idx), DMIRROR_GFP_USER_BUF);
	run.folios = kvcalloc(cmd->npages, sizeof(*run.folios),
			      DMIRROR_GFP_USER_BUF);
	run.dpages = kcalloc(HPAGE_PMD_NR, sizeof(*run.dpages), GFP_KERNEL);
	run.spages = kcalloc(HPAGE_PMD_NR, sizeof(*run.spages), GFP_KERNEL);
	if (!idx || !run.folios || !run.dpages || !run.spages) {
		ret = -ENOMEM;
		goto out;
	}
	/* Pages still in a CPU's LRU batch are not on the LRU yet. */
	dmirror_lru_drain_all();

	mmap_read_lock(mm);
	ret = dmirror_core_range_ok(mm, cmd->addr, end, cmd->flags);
	if (!ret)
		ret = dmirror_core_collect(&run, cmd->addr, cmd->npages, idx,
					   recs, &list);
	mmap_read_unlock(mm);
	/*
	 * get_user_pages() marks pages accessed, which can park a
	 * reference in a CPU's activate batch: the core would find the
	 * folio referenced and retry in vain. Draining drops it (the
	 * batch skips a folio no longer on the LRU).
	 */
	dmirror_lru_drain_all();

	/* On an error nothing may move: every folio goes back. */
	if (!ret && !list_empty(&list))
		cmd->result = dmirror_core_migrate_pages(&dmirror_core, &list,
							 &cbs, run.kmode);
	if (!list_empty(&list))
		dmirror_core.putback_movable_pages(&list);
	if (!ret) {
		dmirror_core_report(&run, cmd, idx, recs);
	} else {
		unsigned long i;

		for (i = 0; i < run.nfolios; i++)
			dmirror_count_add(run.mdevice, pages_returned,
					  run.folios[i].nr);
	}
out:
	kfree(run.spages);
	kfree(run.dpages);
	kvfree(run.folios);
	kvfree(idx);
	return ret;
}

/* One struct hmm_nc_core_page a page. */
static const struct dmirror_user_array dmirror_core_pages = {
	.entry_size = sizeof(struct hmm_nc_core_page),
	.max_entries = HMM_NC_CORE_MAX_PAGES,
	.npfns = 2,
	.pfn_offset = DMIRROR_PFN_PAIR(struct hmm_nc_core_page),
	.run = dmirror_core_run,
};

/**
 * dmirror_ioctl_core_migrate() - HMM_NC_CORE_MIGRATE
 * @dmirror: the open file the command came through
 * @data: struct hmm_nc_core_cmd, in kernel memory
 *
 * The range's folios through the kernel's migrate_pages(), with the page
 * records under the rule of dmirror_user_array().
 *
 * Return: 0 or -errno, as lib/test_hmm_uapi.h documents.
 */
long dmirror_ioctl_core_migrate(struct dmirror *dmirror, void *data)
{
	struct hmm_nc_core_cmd *cmd = data;

	return dmirror_user_array(dmirror, cmd, cmd->pages, cmd->npages,
				  &dmirror_core_pages);
}

/* Page locks held for a while (HMM_NC_CORE_LOCK). */

struct dmirror_core_hold {
	struct delayed_work work;
	struct folio *folio;
	struct list_head node;
};

static struct workqueue_struct *dmirror_core_wq;
static LIST_HEAD(dmirror_core_holds);
static DEFINE_SPINLOCK(dmirror_core_holds_lock);

static void dmirror_core_release(struct work_struct *work)
{
	struct dmirror_core_hold *hold =
		container_of(to_delayed_work(work), struct dmirror_core_hold,
			     work);

	folio_unlock(hold->folio);
	folio_put(hold->folio);
	spin_lock(&dmirror_core_holds_lock);
	list_del(&hold->node);
	spin_unlock(&dmirror_core_holds_lock);
	kfree(hold);
}

long dmirror_ioctl_core_lock(struct dmirror *dmirror, void *data)
{
	struct hmm_nc_core_lock *cmd = data;
	struct mm_struct *mm = current->mm;
	struct dmirror_core_hold *hold;
	struct page *page;
	int ret;

	if (cmd->flags ||
	    memchr_inv(cmd->reserved, 0, sizeof(cmd->reserved)) ||
	    (cmd->addr & ~PAGE_MASK) || !cmd->hold_ms ||
	    cmd->hold_ms > HMM_NC_CORE_MAX_HOLD_MS)
		return -EINVAL;
	hold = kzalloc(sizeof(*hold), GFP_KERNEL);
	if (!hold)
		return -ENOMEM;
	mmap_read_lock(mm);
	ret = dmirror_core_user_page(cmd->addr, &page);
	mmap_read_unlock(mm);
	if (ret) {
		kfree(hold);
		return ret;
	}
	hold->folio = page_folio(page);
	if (folio_lock_killable(hold->folio)) {
		put_page(page);
		kfree(hold);
		return -EINTR;
	}
	cmd->pfn = folio_pfn(hold->folio);
	INIT_DELAYED_WORK(&hold->work, dmirror_core_release);
	spin_lock(&dmirror_core_holds_lock);
	list_add_tail(&hold->node, &dmirror_core_holds);
	queue_delayed_work(dmirror_core_wq, &hold->work,
			   msecs_to_jiffies(cmd->hold_ms));
	spin_unlock(&dmirror_core_holds_lock);
	return 0;
}

int dmirror_core_wq_init(void)
{
	dmirror_core_wq = alloc_workqueue("test_hmm_core", WQ_UNBOUND, 0);
	return dmirror_core_wq ? 0 : -ENOMEM;
}

/* Every hold is released now, and waited for. */
void dmirror_core_fini(void)
{
	struct dmirror_core_hold *hold;

	spin_lock(&dmirror_core_holds_lock);
	list_for_each_entry(hold, &dmirror_core_holds, node)
		mod_delayed_work(dmirror_core_wq, &hold->work, 0);
	spin_unlock(&dmirror_core_holds_lock);
	flush_workqueue(dmirror_core_wq);
	destroy_workqueue(dmirror_core_wq);
}

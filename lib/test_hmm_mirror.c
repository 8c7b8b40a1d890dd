// SPDX-License-Identifier: GPL-2.0
/*
 * The device's mirror of the opening process's page tables, and the base
 * commands of the 6.1 test device that use it: READ, WRITE, SNAPSHOT,
 * EXCLUSIVE, CHECK_EXCLUSIVE, RELEASE (the two MIGRATE commands are in
 * test_hmm_migrate.c).
 *
 * The mirror maps a user page number to the page that holds its data: a
 * system page, or the backing page of one of this device's pages. It
 * holds no page references; an interval notifier over the whole address
 * space drops entries before the CPU page tables change, and entries are
 * only added under the same mutex, after hmm_range_fault() has been seen
 * to run without an invalidation in between.
 */
#include <linux/hmm.h>
#include <linux/highmem.h>
#include <linux/mm.h>
#include <linux/mmu_notifier.h>
#include <linux/pagemap.h>
#include <linux/sched/mm.h>
#include <linux/slab.h>
#include <linux/uaccess.h>

#include "test_hmm.h"
#include "test_hmm_compat.h"

/* Tags of mirror entries. */
#define DMIRROR_TAG_WRITE	1UL	/* the device may write the page */
/*
 * xa_tag_pointer() takes tags 0, 1 and 3 only: an entry tagged 2 is an
 * XArray internal node, which xa_for_each() would walk into.
 */
#define DMIRROR_TAG_ATOMIC	3UL	/* the page is exclusive to the device */

/* Pages per hmm_range_fault() call: bounds the pfn array on the stack. */
#define DMIRROR_FAULT_PAGES	64UL

/* Largest mapping of the device file, in pages. */
#define DMIRROR_MMAP_MAX_PAGES	1024UL

static struct mm_struct *dmirror_mm(struct dmirror *dmirror)
{
	return dmirror->mirror.notifier.mm;
}

/*
 * Called with dmirror->mutex held; can_sleep: a blockable invalidation
 * or a command, which may give the CPU away between entries (a mirror
 * can hold HMM_NC_MIRROR_MAX_PAGES of them).
 */
static void dmirror_mirror_clear(struct dmirror *dmirror, unsigned long start,
				 unsigned long end, bool can_sleep)
{
	unsigned long index;
	void *entry;

	xa_for_each_range(&dmirror->mirror.pt, index, entry,
			  start >> PAGE_SHIFT, (end - 1) >> PAGE_SHIFT) {
		if (xa_erase(&dmirror->mirror.pt, index))
			dmirror->mirror.entries--;
		if (can_sleep)
			cond_resched();
	}
}

/*
 * Store entry at index, within the per-file cap (-ENOSPC past it). The
 * tree's nodes are charged to the memory cgroup of the caller that
 * makes the entries (XA_FLAGS_ACCOUNT) and allocated without sleeping
 * under the mutex: at the cgroup's limit they fail at once, with
 * -ENOMEM, and no OOM kill. Called with dmirror->mutex held.
 */
static int dmirror_mirror_set(struct dmirror *dmirror, unsigned long index,
			      void *entry)
{
	struct dmirror_mirror *m = &dmirror->mirror;
	void *old;

	if (!xa_load(&m->pt, index) && m->entries >= HMM_NC_MIRROR_MAX_PAGES)
		return -ENOSPC;
	/*
	 * No sleeping allocation: reclaim could invalidate this mm and wait
	 * for the mutex we hold.
	 */
	old = xa_store(&m->pt, index, entry, GFP_NOWAIT | __GFP_NOWARN);
	if (xa_is_err(old))
		return xa_err(old);
	if (!old)
		m->entries++;
	return 0;
}

/*
 * Every change to the process's page tables drops the device's view of
 * the range, migrations included (ours too): the device maps what it
 * needs again, so the mirror never holds a page the CPU has let go of.
 */
static bool dmirror_mirror_invalidate(struct mmu_interval_notifier *mni,
				      const struct mmu_notifier_range *range,
				      unsigned long cur_seq)
{
	struct dmirror *dmirror =
		container_of(mni, struct dmirror, mirror.notifier);

	/*
	 * Our own EXCLUSIVE: the pages stay where they are, and
	 * dmirror_map_atomic() must not take it for someone else's change.
	 */
	if (dmirror_range_own_exclusive(range, dmirror->mdevice))
		return true;
	if (mmu_notifier_range_blockable(range))
		mutex_lock(&dmirror->mutex);
	else if (!mutex_trylock(&dmirror->mutex))
		return false;

	mmu_interval_set_seq(mni, cur_seq);
	dmirror_mirror_clear(dmirror, range->start, range->end,
			     mmu_notifier_range_blockable(range));
	mutex_unlock(&dmirror->mutex);
	dmirror_count_add(dmirror->mdevice, invalidations, 1);
	return true;
}

static const struct mmu_interval_notifier_ops dmirror_mirror_ops = {
	.invalidate = dmirror_mirror_invalidate,
};

int dmirror_mirror_init(struct dmirror *dmirror)
{
	struct dmirror_mirror *m = &dmirror->mirror;

	if (!current->mm)
		return -EINVAL;
	xa_init_flags(&m->pt, XA_FLAGS_ACCOUNT);
	m->entries = 0;
	/* One interval for the whole user address space of the opener. */
	return mmu_interval_notifier_insert(&m->notifier, current->mm, 0,
					    TASK_SIZE_MAX, &dmirror_mirror_ops);
}

void dmirror_mirror_fini(struct dmirror *dmirror)
{
	mmu_interval_notifier_remove(&dmirror->mirror.notifier);
	xa_destroy(&dmirror->mirror.pt);
}

/*
 * Whether part of [start, end) is memfd_secret() memory, which is not in
 * the direct map: copying it would oops. The mmap lock is held.
 */
static bool dmirror_range_secret(struct mm_struct *mm, unsigned long start,
				 unsigned long end)
{
	struct vm_area_struct *vma;

	for (vma = find_vma(mm, start); vma && vma->vm_start < end;
	     vma = find_vma(mm, vma->vm_end))
		if (dmirror_vma_is_secret(vma))
			return true;
	return false;
}

/*
 * Run hmm_range_fault() until no invalidation raced with it. Returns 0
 * with dmirror->mutex held, so the result stays valid while the caller
 * uses it. The caller holds a reference on the mm.
 */
static int dmirror_range_stable(struct dmirror *dmirror,
				struct hmm_range *range)
{
	struct mm_struct *mm = dmirror_mm(dmirror);
	unsigned long timeout =
		jiffies + msecs_to_jiffies(HMM_RANGE_DEFAULT_TIMEOUT);
	int ret;

	for (;;) {
		if (time_after(jiffies, timeout))
			return -EBUSY;
		if (fatal_signal_pending(current))
			return -EINTR;
		range->notifier_seq = mmu_interval_read_begin(range->notifier);
		mmap_read_lock(mm);
		if (dmirror_range_secret(mm, range->start, range->end))
			ret = -EINVAL;
		else
			ret = hmm_range_fault(range);
		mmap_read_unlock(mm);
		if (ret == -EBUSY) {
			dmirror_count_add(dmirror->mdevice, mirror_faults, 1);
			continue;
		}
		if (ret)
			return ret;

		mutex_lock(&dmirror->mutex);
		if (!mmu_interval_read_retry(range->notifier,
					     range->notifier_seq))
			return 0;
		mutex_unlock(&dmirror->mutex);
	}
}

/*
 * The page the device reads and writes for a CPU page: the page itself,
 * or for one of this device's pages its backing page. Another device's
 * private page is out of reach.
 */
static struct page *dmirror_data_page(struct dmirror *dmirror,
				      struct page *page)
{
	if (!is_device_private_page(page))
		return page;
	if (page->pgmap->owner != dmirror->mdevice)
		return NULL;
	return dmirror_devmem_backing(page);
}

/*
 * Record a stable hmm_range_fault() result; dmirror->mutex is held. With
 * device_only, only pages that live on this device are recorded.
 */
static int dmirror_mirror_store(struct dmirror *dmirror,
				struct hmm_range *range, bool device_only)
{
	unsigned long npages = (range->end - range->start) >> PAGE_SHIFT;
	unsigned long i, index = range->start >> PAGE_SHIFT;
	struct page *page, *data;
	void *entry;
	int ret;

	for (i = 0; i < npages; i++) {
		unsigned long hpfn = range->hmm_pfns[i];

		if (!(hpfn & HMM_PFN_VALID))
			continue;
		/*
		 * hmm_range_fault() reports this device's own pages as they
		 * are, without faulting: one the CPU maps read-only (shared
		 * after fork) cannot be written by the device.
		 */
		if ((range->default_flags & HMM_PFN_REQ_WRITE) &&
		    !(hpfn & HMM_PFN_WRITE))
			return -EPERM;
		page = hmm_pfn_to_page(hpfn);
		if (device_only && !is_device_private_page(page))
			continue;
		data = dmirror_data_page(dmirror, page);
		if (!data)
			continue;
		entry = xa_tag_pointer(data, (hpfn & HMM_PFN_WRITE) ?
					     DMIRROR_TAG_WRITE : 0);
		ret = dmirror_mirror_set(dmirror, index + i, entry);
		if (ret)
			return ret;
	}
	return 0;
}

/* Walk [start, end) with hmm_range_fault() and record what it finds. */
static int dmirror_mirror_populate(struct dmirror *dmirror,
				   unsigned long start, unsigned long end,
				   unsigned long flags, bool device_only)
{
	unsigned long pfns[DMIRROR_FAULT_PAGES];
	struct hmm_range range = {
		.notifier = &dmirror->mirror.notifier,
		.hmm_pfns = pfns,
		.default_flags = flags,
		.dev_private_owner = dmirror->mdevice,
	};
	struct mm_struct *mm = dmirror_mm(dmirror);
	unsigned long addr;
	int ret = 0;

	if (!mmget_not_zero(mm))
		return -ESRCH;
	for (addr = start; addr < end && !ret; addr = range.end) {
		range.start = addr;
		range.end = min(end, addr + (DMIRROR_FAULT_PAGES << PAGE_SHIFT));
		ret = dmirror_range_stable(dmirror, &range);
		if (ret)
			break;
		ret = dmirror_mirror_store(dmirror, &range, device_only);
		mutex_unlock(&dmirror->mutex);
	}
	mmput(mm);
	return ret;
}

/* Fault [start, end) into the CPU page tables and into the mirror. */
static int dmirror_mirror_fault(struct dmirror *dmirror, unsigned long start,
				unsigned long end, bool write)
{
	unsigned long flags = HMM_PFN_REQ_FAULT;

	if (write)
		flags |= HMM_PFN_REQ_WRITE;
	dmirror_count_add(dmirror->mdevice, mirror_faults, 1);
	return dmirror_mirror_populate(dmirror, start, end, flags, false);
}

/*
 * Map into the mirror the pages of [start, end) that now live on this
 * device, without faulting anything. No memory for an entry (the
 * caller's memory cgroup is at its limit, which is how a migration to
 * the device usually ends there) leaves the rest unmapped: to the
 * caller that is a page the device could not take, -ENOENT, as for the
 * device pages the same limit refused.
 */
int dmirror_mirror_map_device(struct dmirror *dmirror, unsigned long start,
			      unsigned long end)
{
	int ret = dmirror_mirror_populate(dmirror, start, end, 0, true);

	return ret == -ENOMEM ? 0 : ret;
}

/*
 * Copy mirrored pages from addr on into buf, up to end or the first page
 * the mirror lacks (or may not write, for a write). Returns pages done.
 */
static unsigned long dmirror_mirror_copy(struct dmirror *dmirror,
					 unsigned long addr, unsigned long end,
					 void *buf, bool write)
{
	unsigned long done = 0;
	struct page *page;
	void *entry;

	mutex_lock(&dmirror->mutex);
	for (; addr < end; addr += PAGE_SIZE, buf += PAGE_SIZE, done++) {
		entry = xa_load(&dmirror->mirror.pt, addr >> PAGE_SHIFT);
		page = xa_untag_pointer(entry);
		if (!page)
			break;
		if (!write) {
			memcpy_from_page(buf, page, 0, PAGE_SIZE);
			continue;
		}
		if (xa_pointer_tag(entry) != DMIRROR_TAG_WRITE)
			break;
		memcpy_to_page(page, 0, buf, PAGE_SIZE);
	}
	mutex_unlock(&dmirror->mutex);
	return done;
}

/*
 * Move one piece [addr, end) between the pages and buf, faulting pages
 * in (each fault covers everything up to range_end, so a whole command
 * normally takes one) unless fault is false.
 */
static int dmirror_mirror_piece(struct dmirror *dmirror,
				struct hmm_dmirror_cmd *cmd, unsigned long addr,
				unsigned long end, void *buf, bool write,
				bool fault)
{
	unsigned long range_end = cmd->addr + (cmd->npages << PAGE_SHIFT);
	unsigned long done;
	int ret;

	for (;;) {
		/* Invalidations can keep undoing the faults: stay killable. */
		if (fatal_signal_pending(current))
			return -EINTR;
		done = dmirror_mirror_copy(dmirror, addr, end, buf, write);
		addr += done << PAGE_SHIFT;
		buf += done << PAGE_SHIFT;
		cmd->cpages += done;
		if (addr >= end)
			return 0;
		if (!fault)
			return -ENOENT;
		ret = dmirror_mirror_fault(dmirror, addr, range_end, write);
		if (ret)
			return ret;
		cmd->faults++;
	}
}

/*
 * READ and WRITE: copy the range through the mirror to or from cmd->ptr,
 * a piece at a time. The bounce buffer of a piece is not charged to the
 * caller's memory cgroup: at most 2 MiB, freed before the command
 * returns; and MIGRATE_TO_DEV reads once the device pages have filled
 * the cgroup to its limit, where a charge would turn the documented
 * -ENOENT (the device took what the limit allows) into -ENOMEM.
 */
static int dmirror_mirror_rw(struct dmirror *dmirror,
			     struct hmm_dmirror_cmd *cmd, bool write, bool fault)
{
	unsigned long end = cmd->addr + (cmd->npages << PAGE_SHIFT);
	unsigned long piece = min_t(unsigned long, cmd->npages,
				    HMM_NC_BATCH_PAGES) << PAGE_SHIFT;
	char __user *uptr = u64_to_user_ptr(cmd->ptr);
	unsigned long addr, next;
	void *buf;
	int ret = 0;

	buf = kvmalloc(piece, GFP_KERNEL | __GFP_NOWARN);
	if (!buf)
		return -ENOMEM;
	for (addr = cmd->addr; addr < end; addr = next, uptr += piece) {
		next = min(end, addr + piece);
		if (write && copy_from_user(buf, uptr, next - addr)) {
			ret = -EFAULT;
			break;
		}
		ret = dmirror_mirror_piece(dmirror, cmd, addr, next, buf,
					   write, fault);
		if (ret)
			break;
		if (!write && copy_to_user(uptr, buf, next - addr)) {
			ret = -EFAULT;
			break;
		}
	}
	kvfree(buf);
	return ret;
}

/* READ, and the data MIGRATE_TO_DEV and EXCLUSIVE return. */
int dmirror_mirror_read(struct dmirror *dmirror, struct hmm_dmirror_cmd *cmd,
			bool fault)
{
	return dmirror_mirror_rw(dmirror, cmd, false, fault);
}

/* WRITE: copy cmd->ptr into the range through the mirror. */
long dmirror_ioctl_write(struct dmirror *dmirror, void *data)
{
	return dmirror_mirror_rw(dmirror, data, true, true);
}

/* SNAPSHOT: one HMM_DMIRROR_PROT_* byte per page, from a stable walk. */
static u8 dmirror_snapshot_byte(struct dmirror *dmirror, unsigned long hpfn)
{
	unsigned int shift;
	struct page *page;
	u8 prot;

	if (hpfn & HMM_PFN_ERROR)
		return HMM_DMIRROR_PROT_ERROR;
	if (!(hpfn & HMM_PFN_VALID))
		return HMM_DMIRROR_PROT_NONE;

	page = hmm_pfn_to_page(hpfn);
	prot = (hpfn & HMM_PFN_WRITE) ? HMM_DMIRROR_PROT_WRITE :
					HMM_DMIRROR_PROT_READ;
	if (is_device_private_page(page))
		prot |= page->pgmap->owner == dmirror->mdevice ?
			HMM_DMIRROR_PROT_DEV_PRIVATE_LOCAL :
			HMM_DMIRROR_PROT_DEV_PRIVATE_REMOTE;
	else if (is_zero_pfn(page_to_pfn(page)))
		prot |= HMM_DMIRROR_PROT_ZERO;

	shift = hmm_pfn_to_map_order(hpfn) + PAGE_SHIFT;
	if (shift == PMD_SHIFT)
		prot |= HMM_DMIRROR_PROT_PMD;
	else if (shift == PUD_SHIFT)
		prot |= HMM_DMIRROR_PROT_PUD;
	return prot;
}

static int dmirror_snapshot_piece(struct dmirror *dmirror,
				  struct hmm_range *range, u8 *perm)
{
	unsigned long i, npages = (range->end - range->start) >> PAGE_SHIFT;
	int ret;

	ret = dmirror_range_stable(dmirror, range);
	if (ret)
		return ret;
	for (i = 0; i < npages; i++)
		perm[i] = dmirror_snapshot_byte(dmirror, range->hmm_pfns[i]);
	mutex_unlock(&dmirror->mutex);
	return 0;
}

long dmirror_ioctl_snapshot(struct dmirror *dmirror, void *data)
{
	struct hmm_dmirror_cmd *cmd = data;
	unsigned long end = cmd->addr + (cmd->npages << PAGE_SHIFT);
	unsigned long pfns[DMIRROR_FAULT_PAGES];
	u8 perm[DMIRROR_FAULT_PAGES];
	struct hmm_range range = {
		.notifier = &dmirror->mirror.notifier,
		.hmm_pfns = pfns,
		.dev_private_owner = dmirror->mdevice,
	};
	char __user *uptr = u64_to_user_ptr(cmd->ptr);
	struct mm_struct *mm = dmirror_mm(dmirror);
	unsigned long addr, n;
	int ret = 0;

	if (!mmget_not_zero(mm))
		return -ESRCH;
	for (addr = cmd->addr; addr < end; addr = range.end) {
		range.start = addr;
		range.end = min(end, addr + (DMIRROR_FAULT_PAGES << PAGE_SHIFT));
		ret = dmirror_snapshot_piece(dmirror, &range, perm);
		if (ret)
			break;
		n = (range.end - range.start) >> PAGE_SHIFT;
		if (copy_to_user(uptr, perm, n)) {
			ret = -EFAULT;
			break;
		}
		uptr += n;
		cmd->cpages += n;
	}
	mmput(mm);
	return ret;
}

/*
 * Record pages made exclusive to the device; returns how many, or -EAGAIN
 * when the page tables changed since seq (MADV_DONTNEED, munmap): the
 * pages may be on their way to being freed, and nothing is recorded.
 */
static long dmirror_map_atomic(struct dmirror *dmirror, unsigned long addr,
			       struct page **pages, unsigned long npages,
			       unsigned long seq)
{
	unsigned long i, mapped = 0;
	void *entry;
	int ret = 0;

	mutex_lock(&dmirror->mutex);
	if (mmu_interval_read_retry(&dmirror->mirror.notifier, seq)) {
		mutex_unlock(&dmirror->mutex);
		return -EAGAIN;
	}
	for (i = 0; i < npages; i++) {
		if (!pages[i])
			continue;
		entry = xa_tag_pointer(pages[i], DMIRROR_TAG_ATOMIC);
		ret = dmirror_mirror_set(dmirror, (addr >> PAGE_SHIFT) + i,
					 entry);
		if (ret)
			break;
		mapped++;
	}
	mutex_unlock(&dmirror->mutex);
	return ret == -ENOSPC ? ret : mapped;
}

/* Give back the pages make_device_exclusive_range() locked for us. */
static void dmirror_put_exclusive(struct dmirror *dmirror, struct page **pages,
				  long npages)
{
	unsigned long held = 0;
	long i;

	for (i = 0; i < npages; i++) {
		if (!pages[i])
			continue;
		unlock_page(pages[i]);
		put_page(pages[i]);
		held++;
	}
	dmirror_count_add(dmirror->mdevice, pages_locked, held);
	dmirror_count_add(dmirror->mdevice, pages_taken, held);
	dmirror_count_add(dmirror->mdevice, pages_unlocked, held);
	dmirror_count_add(dmirror->mdevice, pages_returned, held);
}

static int dmirror_exclusive_piece(struct dmirror *dmirror,
				   struct mm_struct *mm, unsigned long addr,
				   unsigned long end)
{
	unsigned long timeout =
		jiffies + msecs_to_jiffies(HMM_RANGE_DEFAULT_TIMEOUT);
	struct page *pages[DMIRROR_FAULT_PAGES];
	unsigned long want = (end - addr) >> PAGE_SHIFT, seq;
	long mapped;
	int n;

	do {
		if (time_after(jiffies, timeout))
			return -EBUSY;
		if (fatal_signal_pending(current))
			return -EINTR;
		mapped = 0;
		seq = mmu_interval_read_begin(&dmirror->mirror.notifier);
		mmap_read_lock(mm);
		n = dmirror_make_exclusive(mm, addr, end, pages,
					   dmirror->mdevice);
		/* Record them only if every page made it, as 6.1's device. */
		if (n == want)
			mapped = dmirror_map_atomic(dmirror, addr, pages, n,
						    seq);
		if (n > 0)
			dmirror_put_exclusive(dmirror, pages, n);
		mmap_read_unlock(mm);
		if (n < 0)
			return n;
	} while (mapped == -EAGAIN);
	if (mapped < 0)
		return mapped;
	return mapped == want ? 0 : -EBUSY;
}

/* EXCLUSIVE: take the range for device atomics, then read it back. */
long dmirror_ioctl_exclusive(struct dmirror *dmirror, void *data)
{
	struct hmm_dmirror_cmd *cmd = data;
	unsigned long end = cmd->addr + (cmd->npages << PAGE_SHIFT);
	struct mm_struct *mm = dmirror_mm(dmirror);
	unsigned long addr, next;
	int ret = 0;

	if (!mmget_not_zero(mm))
		return -ESRCH;
	for (addr = cmd->addr; addr < end && !ret; addr = next) {
		next = min(end, addr + (DMIRROR_FAULT_PAGES << PAGE_SHIFT));
		ret = dmirror_exclusive_piece(dmirror, mm, addr, next);
	}
	mmput(mm);
	if (ret)
		return ret;
	return dmirror_mirror_read(dmirror, cmd, false);
}

/* CHECK_EXCLUSIVE: -EPERM while the device still holds a page for atomics. */
long dmirror_ioctl_check_exclusive(struct dmirror *dmirror, void *data)
{
	struct hmm_dmirror_cmd *cmd = data;
	unsigned long first = cmd->addr >> PAGE_SHIFT;
	unsigned long index;
	void *entry;
	int ret = 0;

	mutex_lock(&dmirror->mutex);
	xa_for_each_range(&dmirror->mirror.pt, index, entry, first,
			  first + cmd->npages - 1) {
		if (xa_pointer_tag(entry) == DMIRROR_TAG_ATOMIC) {
			ret = -EPERM;
			break;
		}
	}
	mutex_unlock(&dmirror->mutex);
	return ret;
}

/*
 * What every base command does first, called by the dispatcher before
 * the handler: the 6.1 device's argument checks, made overflow-proof,
 * and its outputs cleared.
 */
int dmirror_base_start(struct hmm_dmirror_cmd *cmd)
{
	int ret = dmirror_range_valid(cmd->addr, cmd->npages);

	if (ret)
		return ret;
	cmd->cpages = 0;
	cmd->faults = 0;
	return 0;
}

/*
 * READ and RELEASE call work that others share: dmirror_mirror_read(),
 * here faulting pages in (MIGRATE_TO_DEV and EXCLUSIVE read back
 * without), and the device's release, also run at unload. The other
 * base commands' handlers are their work itself. Every one gets a
 * struct hmm_dmirror_cmd already checked by dmirror_base_start().
 */
long dmirror_ioctl_read(struct dmirror *dmirror, void *data)
{
	return dmirror_mirror_read(dmirror, data, true);
}

long dmirror_ioctl_release(struct dmirror *dmirror, void *data)
{
	return dmirror_devmem_release(dmirror->mdevice, true);
}

/*
 * mmap() of the device file gives zeroed kernel pages inserted as a
 * mixed map, so SNAPSHOT can be tried on memory that is neither
 * anonymous nor page cache.
 */
int dmirror_fops_mmap(struct file *filp, struct vm_area_struct *vma)
{
	unsigned long want = vma_pages(vma), left = want, got = 0, i;
	struct page **pages;
	int ret = -ENOMEM;

	if (want > DMIRROR_MMAP_MAX_PAGES)
		return -EINVAL;
	pages = kvcalloc(want, sizeof(*pages), GFP_KERNEL | __GFP_NOWARN);
	if (!pages)
		return -ENOMEM;
	for (; got < want; got++) {
		pages[got] = alloc_page(GFP_KERNEL | __GFP_ZERO);
		if (!pages[got])
			goto out;
	}
	/* All at once; each inserted page gains the mapping's reference. */
	ret = vm_insert_pages(vma, vma->vm_start, pages, &left);
out:
	for (i = 0; i < got; i++)
		put_page(pages[i]);
	kvfree(pages);
	return ret;
}

// SPDX-License-Identifier: GPL-2.0
/*
 * madvise.*, madvise_fork.*, vma.*: what the memory calls a process
 * makes over its own range do when part of the range is on the device
 * (issue 26, 2e). Every test starts from MV_NPAGES anonymous pages, each
 * with its pattern, the first MV_ONDEV of them moved to device memory
 * (HMM_DMIRROR_MIGRATE_TO_DEV); then:
 *  madvise.*       MADV_FREE, MADV_COLD, MADV_PAGEOUT over the range
 *                  (a variant each);
 *  madvise_fork.*  MADV_DONTFORK or MADV_WIPEONFORK, then fork();
 *  vma.*           mremap() moving the range, mprotect() read-only.
 * Seen from outside the module where the kernel offers it: pagemap (where
 * each page is, and that no other mapping shares it: its mapcount, device
 * pages too), /proc/kpagecount (a page in system memory holds the
 * mapping's reference alone), the data through the mapping, the child's
 * exit status; the device's counters say every device page it allocated
 * was freed once the range is gone, and the runner's kernel-log gate
 * catches what the kernel says of leaked pages or RSS.
 */
#define _GNU_SOURCE
#include <signal.h>
#include <stdint.h>
#include <sys/mman.h>

#include "file_fixture.h"

#define MV_NPAGES	8
#define MV_ONDEV	4	/* pages [0, MV_ONDEV) on the device */
#define MV_SEED		70

#ifndef MADV_COLD
#define MADV_COLD	20
#endif
#ifndef MADV_PAGEOUT
#define MADV_PAGEOUT	21
#endif

/*
 * The range every fixture here works on: map, MV_NPAGES pages between
 * two inaccessible pages (guard, so that no later mapping merges with
 * it and a move has a place of its own to go).
 */
struct mv_range {
	struct hmm_env e;
	size_t ps;
	char *guard;
	char *map;
	bool dev_excl;	/* pagemap tells a device page's mapcount */
};

/* The range mapped and filled, its first MV_ONDEV pages on device 0. */
static void mv_setup(struct __test_metadata *_metadata, struct mv_range *r)
{
	size_t size = MV_NPAGES * hmm_page_size();
	struct hmm_dmirror_cmd cmd;
	__u64 pm[MV_NPAGES];
	char *mirror;
	size_t i;

	env_setup(_metadata, &r->e);
	r->ps = r->e.ps;
	r->guard = mmap(NULL, size + 2 * r->ps, PROT_NONE,
			MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	ASSERT_NE(MAP_FAILED, r->guard);
	r->map = mmap(r->guard + r->ps, size, PROT_READ | PROT_WRITE,
		      MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0);
	ASSERT_EQ(r->guard + r->ps, r->map);
	/* Small pages: the device path collects no huge page. */
	ASSERT_EQ(0, madvise(r->map, size, MADV_NOHUGEPAGE));
	fill_pages(r->map, MV_NPAGES, r->ps, MV_SEED);

	mirror = zalloc(_metadata, MV_ONDEV * r->ps);
	ASSERT_EQ(0, hmm_cmd(r->e.dev, HMM_DMIRROR_MIGRATE_TO_DEV, r->map,
			     mirror, MV_ONDEV, &cmd));
	ASSERT_EQ(MV_ONDEV, cmd.cpages);
	free(mirror);
	ASSERT_EQ(0, hmm_pagemap(r->map, MV_NPAGES, pm));
	for (i = 0; i < MV_NPAGES; i++) {
		if (i < MV_ONDEV) {
			ASSERT_TRUE(hmm_pm_swapped(pm[i])) TH_LOG("page %zu", i);
		} else {
			ASSERT_NE(0, hmm_pm_pfn(pm[i])) TH_LOG("page %zu", i);
		}
	}
	/*
	 * 5.10 and 6.1 give a device page's entry the exclusive bit when
	 * the page is mapped once, as it is now; 6.12 gives it to present
	 * pages only.
	 */
	r->dev_excl = pm[0] & HMM_PM_EXCLUSIVE;
}

static void mv_teardown(struct mv_range *r)
{
	if (r->guard)
		munmap(r->guard, (MV_NPAGES + 2) * r->ps);
	close_if(&r->e.dev);
}

/*
 * The first MV_ONDEV pages at p are on the device, each with the very
 * entry pagemap showed in before (NULL: any device entry): the same
 * device page, and as writable as it was (the swap type tells a
 * writable device entry from a read-only one: a fork that shared the
 * page would have made the parent's read-only).
 */
static void mv_assert_ondev(struct __test_metadata *_metadata, const char *p,
			    const __u64 *before, const char *when)
{
	__u64 pm[MV_NPAGES];
	size_t i;

	ASSERT_EQ(0, hmm_pagemap(p, MV_NPAGES, pm));
	for (i = 0; i < MV_ONDEV; i++) {
		ASSERT_TRUE(hmm_pm_swapped(pm[i]))
			TH_LOG("%s: page %zu left the device: pagemap 0x%016llx",
			       when, i, (unsigned long long)pm[i]);
		if (before)
			EXPECT_EQ(before[i] & HMM_PM_PFN_MASK,
				  pm[i] & HMM_PM_PFN_MASK)
				TH_LOG("%s: page %zu", when, i);
	}
}

/*
 * By the kernel's own figures, the range at p shares no page: pagemap
 * says each page is mapped here alone (its mapcount is 1; a device page
 * where the kernel tells), and /proc/kpagecount gives each page in
 * system memory one reference, the mapping's.
 */
static void mv_assert_unshared(struct __test_metadata *_metadata,
			       const struct mv_range *r, const char *p,
			       const char *when)
{
	__u64 pm[MV_NPAGES];
	size_t i;

	ASSERT_EQ(0, hmm_pagemap(p, MV_NPAGES, pm));
	for (i = 0; i < MV_NPAGES; i++) {
		/* Swapped out (MADV_PAGEOUT with swap): pagemap cannot tell. */
		if (i >= MV_ONDEV && !hmm_pm_pfn(pm[i]))
			continue;
		if (i < MV_ONDEV && !r->dev_excl)
			continue;
		EXPECT_TRUE(pm[i] & HMM_PM_EXCLUSIVE)
			TH_LOG("%s: page %zu is mapped elsewhere too: pagemap 0x%016llx",
			       when, i, (unsigned long long)pm[i]);
		if (hmm_pm_pfn(pm[i]))
			assert_map_count(_metadata, hmm_pm_pfn(pm[i]), 1, i);
	}
}

/*
 * Once the range is unmapped: the device freed every device page it
 * allocated since the test began, faulted back faults pages, and gave
 * back every page lock and reference it took.
 */
static void mv_assert_released(struct __test_metadata *_metadata,
			       struct mv_range *r, __u64 faults)
{
	struct hmm_nc_counters d;

	ASSERT_EQ(0, munmap(r->guard, (MV_NPAGES + 2) * r->ps));
	r->guard = NULL;
	env_delta(_metadata, &r->e, &d);
	EXPECT_EQ(MV_ONDEV, d.devmem_alloc);
	EXPECT_EQ(MV_ONDEV, d.devmem_free);
	EXPECT_EQ(faults, d.cpu_faults);
	EXPECT_EQ(d.pages_locked, d.pages_unlocked);
	EXPECT_EQ(d.pages_taken, d.pages_returned);
}

/* Whether the page at p holds only zeros. */
static bool mv_zero(const char *p, size_t ps)
{
	return hmm_verify_word(p, ps, 0) == -1;
}

FIXTURE(madvise) {
	struct mv_range r;
};

/* lazy: the advice lets the kernel drop the data (MADV_FREE). */
FIXTURE_VARIANT(madvise) {
	int advice;
	bool lazy;
};

FIXTURE_VARIANT_ADD(madvise, free) {
	.advice = MADV_FREE, .lazy = true,
};

FIXTURE_VARIANT_ADD(madvise, cold) {
	.advice = MADV_COLD,
};

FIXTURE_VARIANT_ADD(madvise, pageout) {
	.advice = MADV_PAGEOUT,
};

FIXTURE_SETUP(madvise)
{
	mv_setup(_metadata, &self->r);
}

FIXTURE_TEARDOWN(madvise)
{
	mv_teardown(&self->r);
}

/*
 * The advice over the whole range leaves the device pages on the device
 * (the kernel's lazy-free and reclaim walks pass over entries that are
 * not present), and every page then reads its data, the device pages by
 * a fault each. Under MADV_FREE a page in system memory may also read as
 * zeros, which is all it promises; a device page never may: the advice
 * passed over it, so zeros there would be data lost on the way back.
 * The device frees its pages with the range.
 */
TEST_F(madvise, device_pages_stay_and_data_reads_back)
{
	struct mv_range *r = &self->r;
	__u64 before[MV_NPAGES];
	size_t i;
	int ret;

	ASSERT_EQ(0, hmm_pagemap(r->map, MV_NPAGES, before));
	ret = madvise(r->map, MV_NPAGES * r->ps, variant->advice);
	if (ret && errno == EINVAL)
		SKIP(return, "the kernel has no such advice (MADV_COLD and MADV_PAGEOUT: 5.4 on)");
	ASSERT_EQ(0, ret) TH_LOG("madvise: %s", strerror(errno));
	mv_assert_ondev(_metadata, r->map, before, "after the advice");
	mv_assert_unshared(_metadata, r, r->map, "after the advice");

	for (i = 0; i < MV_NPAGES; i++) {
		char *p = r->map + i * r->ps;

		if (hmm_verify(p, r->ps, MV_SEED + i) == -1)
			continue;
		ASSERT_LE(MV_ONDEV, i)
			TH_LOG("device page %zu lost its data on the way back", i);
		ASSERT_TRUE(variant->lazy && mv_zero(p, r->ps))
			TH_LOG("page %zu holds neither its data nor zeros", i);
		TH_LOG("page %zu was freed lazily", i);
	}
	mv_assert_released(_metadata, r, MV_ONDEV);
}

/*
 * A write after the advice is kept (for MADV_FREE: the write takes the
 * page back from the lazy free): every page, on the device or not, then
 * holds what was written.
 */
TEST_F(madvise, write_after_advice_is_kept)
{
	struct mv_range *r = &self->r;
	int ret;

	ret = madvise(r->map, MV_NPAGES * r->ps, variant->advice);
	if (ret && errno == EINVAL)
		SKIP(return, "the kernel has no such advice (MADV_COLD and MADV_PAGEOUT: 5.4 on)");
	ASSERT_EQ(0, ret) TH_LOG("madvise: %s", strerror(errno));
	fill_pages(r->map, MV_NPAGES, r->ps, MV_SEED + 100);
	assert_mapped(_metadata, r->map, MV_NPAGES, r->ps, MV_SEED + 100);
	mv_assert_released(_metadata, r, MV_ONDEV);
}

FIXTURE(madvise_fork) {
	struct mv_range r;
};

/* wipe: MADV_WIPEONFORK (the child gets zeros), else MADV_DONTFORK. */
FIXTURE_VARIANT(madvise_fork) {
	int advice;
	bool wipe;
};

FIXTURE_VARIANT_ADD(madvise_fork, dontfork) {
	.advice = MADV_DONTFORK,
};

FIXTURE_VARIANT_ADD(madvise_fork, wipeonfork) {
	.advice = MADV_WIPEONFORK, .wipe = true,
};

FIXTURE_SETUP(madvise_fork)
{
	mv_setup(_metadata, &self->r);
}

FIXTURE_TEARDOWN(madvise_fork)
{
	mv_teardown(&self->r);
}

/*
 * What the child finds at the range: 0 as the advice promises (no
 * mapping at all after MADV_DONTFORK: mincore() answers ENOMEM; zeros
 * in every page after MADV_WIPEONFORK), 1 a page mapped that should not
 * be, 2 a page not zero.
 */
static int mv_child_view(const char *p, size_t ps, bool wipe)
{
	unsigned char vec[MV_NPAGES];
	size_t i;

	if (!wipe)
		return mincore((void *)p, MV_NPAGES * ps, vec) == -1 &&
		       errno == ENOMEM ? 0 : 1;
	for (i = 0; i < MV_NPAGES; i++)
		if (!mv_zero(p + i * ps, ps))
			return 2;
	return 0;
}

/*
 * fork() after the advice: the child sees what the advice promises,
 * and the parent keeps its device pages where they were (the fork
 * copied no entry of the range, so none was made shared), with every
 * byte of its data.
 */
TEST_F(madvise_fork, child_sees_what_advice_promises)
{
	struct mv_range *r = &self->r;
	__u64 before[MV_NPAGES];
	pid_t pid;
	int ret;

	ASSERT_EQ(0, hmm_pagemap(r->map, MV_NPAGES, before));
	ret = madvise(r->map, MV_NPAGES * r->ps, variant->advice);
	if (ret && errno == EINVAL)
		SKIP(return, "the kernel has no such advice (MADV_WIPEONFORK: 4.14 on)");
	ASSERT_EQ(0, ret) TH_LOG("madvise: %s", strerror(errno));

	pid = child_start(_metadata);
	if (pid == 0)
		_exit(mv_child_view(r->map, r->ps, variant->wipe));
	ret = child_status(_metadata, pid, "child");
	EXPECT_EQ(0, ret) TH_LOG("child: %s", ret == 1 ?
				  "the range is mapped" : "a page is not zero");

	mv_assert_ondev(_metadata, r->map, before, "parent after fork");
	mv_assert_unshared(_metadata, r, r->map, "parent after fork");
	assert_mapped(_metadata, r->map, MV_NPAGES, r->ps, MV_SEED);
	mv_assert_released(_metadata, r, MV_ONDEV);
}

FIXTURE(vma) {
	struct mv_range r;
};

FIXTURE_SETUP(vma)
{
	mv_setup(_metadata, &self->r);
}

FIXTURE_TEARDOWN(vma)
{
	mv_teardown(&self->r);
}

/*
 * mremap() moves the range, device pages and all, to a new address:
 * the device pages are still the device's there (move_ptes() moves
 * their entries as they are), the data reads right at the new address,
 * and nothing is left at the old one.
 */
TEST_F(vma, mremap_moves_device_pages)
{
	struct mv_range *r = &self->r;
	size_t size = MV_NPAGES * r->ps;
	unsigned char vec[MV_NPAGES];
	__u64 before[MV_NPAGES];
	char *to, *got;

	ASSERT_EQ(0, hmm_pagemap(r->map, MV_NPAGES, before));
	to = mmap(NULL, size + 2 * r->ps, PROT_NONE,
		  MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	ASSERT_NE(MAP_FAILED, to);
	got = mremap(r->map, size, size, MREMAP_MAYMOVE | MREMAP_FIXED,
		     to + r->ps);
	ASSERT_EQ(to + r->ps, got) TH_LOG("mremap: %s", strerror(errno));

	ASSERT_EQ(-1, mincore(r->map, size, vec));
	EXPECT_EQ(ENOMEM, errno) TH_LOG("the old range is still mapped");
	mv_assert_ondev(_metadata, got, before, "moved");
	mv_assert_unshared(_metadata, r, got, "moved");
	assert_mapped(_metadata, got, MV_NPAGES, r->ps, MV_SEED);

	/* Unmap the moved range, guards and all: its device pages go. */
	ASSERT_EQ(0, munmap(to, size + 2 * r->ps));
	mv_assert_released(_metadata, r, MV_ONDEV);
}

/*
 * mprotect(PROT_READ) over the range while pages are on the device:
 * the device's write through its mirror is refused with EPERM (the
 * process may not write there), nothing of the data changes, and the
 * device pages stay on the device. Made writable again, the same write
 * lands.
 */
TEST_F(vma, mprotect_read_only_refuses_device_write)
{
	struct mv_range *r = &self->r;
	size_t size = MV_NPAGES * r->ps;
	char *buf = zalloc(_metadata, size);
	struct hmm_dmirror_cmd cmd;
	__u64 before[MV_NPAGES];

	ASSERT_EQ(0, mprotect(r->map, size, PROT_READ));
	ASSERT_EQ(0, hmm_pagemap(r->map, MV_NPAGES, before));
	fill_pages(buf, MV_NPAGES, r->ps, MV_SEED + 200);
	EXPECT_EQ(-EPERM, hmm_cmd(r->e.dev, HMM_DMIRROR_WRITE, r->map, buf,
				  MV_NPAGES, &cmd));
	mv_assert_ondev(_metadata, r->map, before, "after the refused write");
	assert_mapped(_metadata, r->map, MV_NPAGES, r->ps, MV_SEED);

	ASSERT_EQ(0, mprotect(r->map, size, PROT_READ | PROT_WRITE));
	ASSERT_EQ(0, hmm_cmd(r->e.dev, HMM_DMIRROR_WRITE, r->map, buf,
			     MV_NPAGES, &cmd));
	EXPECT_EQ(MV_NPAGES, cmd.cpages);
	assert_mapped(_metadata, r->map, MV_NPAGES, r->ps, MV_SEED + 200);
	free(buf);
	mv_assert_released(_metadata, r, MV_ONDEV);
}

HMM_TEST_MAIN

// SPDX-License-Identifier: GPL-2.0
/*
 * huge.<kind>.*: 2 MiB folios, a variant a kind: hugetlbfs pages,
 * anonymous THP and shmem THP (tmpfs huge=always). Each kind goes
 * through the device's own migrate_vma_*() workflows, which take small
 * pages only, and through the kernel's migration core, which moves the
 * folio whole: in NO_COPY mode, with the no-copy probe, and with the
 * MIGRATE_SYNC control. The folio is mapped by a PMD, so the range and
 * the file are 2 MiB aligned.
 */
#define _GNU_SOURCE
#include "file_fixture.h"

#define TWO_MB		(2UL * 1024 * 1024)
#define HUGE_DIR	"/tmp/hmm_huge"
#define HUGETLB_DIR	"/tmp/hmm_hugetlb"	/* a hugetlbfs of 2 MiB pages */

/* The kinds of 2 MiB folio, a variant each. */
enum core_kind { CORE_HUGETLB, CORE_ANON_THP, CORE_SHMEM_THP };

FIXTURE(huge) {
	struct hmm_env e;
	long pool_was;	/* the 2 MiB pool before the test grew it, or -1 */
};

FIXTURE_VARIANT(huge) {
	enum core_kind kind;
};

FIXTURE_VARIANT_ADD(huge, hugetlbfs) {
	.kind = CORE_HUGETLB,
};

FIXTURE_VARIANT_ADD(huge, anon_thp) {
	.kind = CORE_ANON_THP,
};

FIXTURE_VARIANT_ADD(huge, shmem_thp) {
	.kind = CORE_SHMEM_THP,
};

FIXTURE_SETUP(huge)
{
	/* Mounts of its own, gone with the test (see libhmm.h). */
	ASSERT_EQ(0, hmm_private_mounts());
	self->pool_was = -1;
	env_setup(_metadata, &self->e);
}

/* A pool the test raised goes back to its size: the machine's setting. */
FIXTURE_TEARDOWN(huge)
{
	close(self->e.dev);
	umount2(HUGE_DIR, MNT_DETACH);
	umount2(HUGETLB_DIR, MNT_DETACH);
	if (self->pool_was >= 0)
		hmm_hugetlb_pool_set(self->pool_was);
}

/* A 2 MiB aligned shared mapping of fd. */
static char *map_aligned(struct __test_metadata *_metadata, int fd, int flags)
{
	char *area, *p;

	area = mmap(NULL, 2 * TWO_MB, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS,
		    -1, 0);
	ASSERT_NE(MAP_FAILED, area);
	p = (char *)(((uintptr_t)area + TWO_MB - 1) & ~(TWO_MB - 1));
	ASSERT_EQ(p, mmap(p, TWO_MB, PROT_READ | PROT_WRITE,
			  flags | MAP_FIXED, fd, 0));
	return p;
}

/* kB of a smaps field for the mapping that starts at p, or -1. */
static long smaps_kb(const void *p, const char *field)
{
	char line[256], start[32];
	bool in = false;
	long kb = -1;
	FILE *f;

	snprintf(start, sizeof(start), "%lx-", (unsigned long)p);
	f = fopen("/proc/self/smaps", "r");
	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f)) {
		if (strchr(line, '-') && strchr(line, ' ') > strchr(line, '-'))
			in = !strncmp(line, start, strlen(start));
		else if (in && !strncmp(line, field, strlen(field)))
			sscanf(line + strlen(field), " %ld", &kb);
	}
	fclose(f);
	return kb;
}

/* Whether the page mapped at p belongs to a THP, by the kernel's flags. */
static bool in_thp(struct __test_metadata *_metadata, const void *p)
{
	__u64 pfn = pfn_of(_metadata, p);

	ASSERT_NE(0, pfn);
	return page_flag(_metadata, pfn, HMM_KPF_THP);
}

/* How many records of a range have each status, in the log. */
static void log_statuses(struct __test_metadata *_metadata,
			 const struct hmm_nc_file_page *recs, size_t npages)
{
	size_t n[HMM_NC_PS_WRITEBACK + 1] = { 0 }, i;

	for (i = 0; i < npages; i++)
		if (recs[i].status <= HMM_NC_PS_WRITEBACK)
			n[recs[i].status]++;
	for (i = 0; i <= HMM_NC_PS_WRITEBACK; i++)
		if (n[i])
			TH_LOG("%zu pages %s", n[i], hmm_status_str(i));
}

#define SPLIT_TRIES	10

static void shmem_thp_split_vma(struct __test_metadata *_metadata,
				struct hmm_env *e)
{
	size_t ps = e->ps, npages = TWO_MB / ps;
	struct hmm_nc_file_page *recs;
	int fd, tries;
	size_t i;
	char *p;
	long kb;

	HMM_REQUIRE(e->dev, HMM_NEED_NOCOPY);

	if (mount_tmpfs(HUGE_DIR, "huge=always,size=16m"))
		SKIP(return, "cannot mount tmpfs huge=always on %s", HUGE_DIR);
	fd = make_file(_metadata, HUGE_DIR "/thp", npages, ps, 160);
	p = map_aligned(_metadata, fd, MAP_SHARED);
	touch(_metadata, p, ps);
	kb = smaps_kb(p, "ShmemPmdMapped:");
	if (kb != 2048) {
		TH_LOG("ShmemPmdMapped: %ld kB", kb);
		/*
		 * shmem_is_huge() is false when MAX_PAGECACHE_ORDER <
		 * HPAGE_PMD_ORDER, as with CONFIG_BASE_SMALL=y (xarray
		 * order 7).
		 */
		SKIP(return, "no shmem THP (CONFIG_BASE_FULL=y needed)");
	}

	/*
	 * Once split, the 512 small pages are what khugepaged collapses
	 * into a THP again, and it takes the page table that mapped them
	 * with it: the next migration would find a hole and move nothing.
	 * The mapping opts out of khugepaged; faults still map a THP that
	 * is in the cache by a PMD.
	 */
	ASSERT_EQ(0, madvise(p, TWO_MB, MADV_NOHUGEPAGE));

	/*
	 * The split: nothing collected, every page still cached. A folio
	 * that is busy for a moment (locked, or referenced by someone
	 * else) is skipped whole and not split: then again, a few times.
	 * Whether it was split shows in the page flags once the range is
	 * faulted in again.
	 */
	for (tries = 1; ; tries++) {
		recs = migrate(_metadata, e, p, npages, NO_COPY, 0,
			       ANY_MOVED);
		log_statuses(_metadata, recs, npages);
		for (i = 0; i < npages; i++) {
			ASSERT_EQ(HMM_NC_PS_SKIPPED, recs[i].status)
				TH_LOG("page %zu", i);
			EXPECT_EQ(i, recs[i].index);
		}
		touch(_metadata, p, TWO_MB);
		if (!in_thp(_metadata, p))
			break;
		ASSERT_LT(tries, SPLIT_TRIES)
			TH_LOG("the THP stayed whole %d times", tries);
		TH_LOG("try %d: the THP stayed whole (busy)", tries);
		free(recs);
		usleep(100 * 1000);
	}

	free(recs);

	/* Small pages now, mapped by PTEs: each moves on its own. */
	EXPECT_EQ(0, smaps_kb(p, "ShmemPmdMapped:"));
	recs = migrate(_metadata, e, p, npages, NO_COPY, 0, npages);
	log_statuses(_metadata, recs, npages);
	for (i = 0; i < npages; i++) {
		ASSERT_EQ(HMM_NC_PS_MOVED, recs[i].status) TH_LOG("page %zu", i);
		EXPECT_EQ(HMM_NC_CB_FOLIO, recs[i].cb);
		EXPECT_TRUE(recs[i].flags & HMM_NC_FP_CACHED);
		EXPECT_TRUE(recs[i].flags & HMM_NC_FP_OLD_CLEAR);
	}
	free(recs);
	assert_mapped(_metadata, p, npages, ps, 160);
	assert_read(_metadata, fd, npages, ps, 160);
	assert_counted(_metadata, e, HMM_NC_CB_FOLIO, NO_COPY, npages);
	munmap(p, TWO_MB);
	close(fd);
}

/*
 * An anonymous THP through the NO_COPY engine (HMM_NC_MIGRATE_ANON): 6.1's
 * migrate_vma_setup() splits it, and each of its pages moves through
 * migrate_folio() on its own.
 */
static void anon_thp_split_vma(struct __test_metadata *_metadata,
			       struct hmm_env *e)
{
	size_t ps = e->ps, npages = TWO_MB / ps, i;
	char *raw = hmm_map_anon(2 * TWO_MB, PROT_READ | PROT_WRITE);
	__u8 *status = zalloc(_metadata, npages), prot;
	struct hmm_nc_migrate_cmd cmd;
	char *p;

	HMM_REQUIRE(e->dev, HMM_NEED_NOCOPY);

	ASSERT_NE(NULL, raw);
	p = (char *)(((uintptr_t)raw + TWO_MB - 1) & ~(TWO_MB - 1));
	ASSERT_EQ(0, madvise(p, TWO_MB, MADV_HUGEPAGE));
	fill_pages(p, npages, ps, 180);
	ASSERT_EQ(0, hmm_snapshot(e->dev, p, 1, &prot));
	if (!(prot & HMM_DMIRROR_PROT_PMD))
		SKIP(return, "no transparent huge page backs the buffer");

	ASSERT_EQ(0, hmm_migrate_anon(e->dev, p, npages, NO_COPY, 0,
				      status, &cmd));
	EXPECT_EQ(npages, cmd.moved);
	for (i = 0; i < npages; i++) {
		ASSERT_EQ(HMM_NC_PS_MOVED, status[i]) TH_LOG("page %zu", i);
	}
	ASSERT_EQ(0, hmm_snapshot(e->dev, p, 1, &prot));
	EXPECT_EQ(0, prot & HMM_DMIRROR_PROT_PMD);
	assert_mapped(_metadata, p, npages, ps, 180);
	assert_counted(_metadata, e, HMM_NC_CB_FOLIO, NO_COPY, npages);
	munmap(raw, 2 * TWO_MB);
}

/*
 * A hugetlbfs file of 2 MiB pages, with n pages of the pool free (one
 * for the file, one more for each migration destination), or a reason
 * to skip. The pool grows by what is missing (*was: its size before,
 * for the teardown).
 */
static int hugetlb_file(long *was, long n)
{
	long free = hmm_hugetlb_pool_raise(n, was);
	int fd;

	if (free < n)
		return free < 0 ? free : -ENOMEM;
	if (mount_fs(HUGETLB_DIR, "hugetlbfs", "pagesize=2M"))
		return -errno;
	fd = open(HUGETLB_DIR "/hmm", O_RDWR | O_CREAT | O_TRUNC, 0644);
	unlink(HUGETLB_DIR "/hmm");
	return fd < 0 ? -errno : fd;
}

/*
 * hugetlbfs pages: the device mirrors them (hmm_range_fault() walks
 * hugetlb entries), but migrate_vma_setup() itself refuses a hugetlb
 * VMA with -EINVAL: the module leaves the refusal to the kernel here
 * (HMM_NC_FILE_KERNEL_VMA_CHECK; a shmem page with the same flag moves,
 * so the flag is served), nothing is collected or moved, and the data
 * stays intact. Without the flag the module refuses first, the same way.
 */
static void hugetlbfs_refused_vma(struct __test_metadata *_metadata,
				  struct hmm_env *e, long *pool_was)
{
	size_t ps = e->ps, npages = TWO_MB / ps;
	char *buf = zalloc(_metadata, TWO_MB);
	struct hmm_nc_file_page *recs;
	struct hmm_nc_file_cmd fcmd;
	struct hmm_dmirror_cmd cmd;
	struct hmm_nc_counters d;
	int fd, shm;
	ssize_t bad;
	__u8 prot;
	char *p;

	/* The control: the flag is served, a shmem page moves with it. */
	shm = memfd_create("hmm_vma_check", 0);
	ASSERT_LE(0, shm);
	ASSERT_EQ(0, ftruncate(shm, ps));
	p = map_file(_metadata, shm, ps, MAP_SHARED);
	fill_pages(p, 1, ps, 169);
	ASSERT_EQ(0, hmm_migrate_file(e->dev, p, 1, SYNC,
				      HMM_NC_FILE_KERNEL_VMA_CHECK, NULL,
				      &fcmd));
	EXPECT_EQ(1, fcmd.moved);
	assert_mapped(_metadata, p, 1, ps, 169);
	assert_engine_idle(_metadata, e);
	munmap(p, ps);
	close(shm);
	ASSERT_EQ(0, hmm_counters(e->dev, false, &e->start));

	fd = hugetlb_file(pool_was, 1);
	if (fd < 0)
		SKIP(return, "no huge page in the pool: %s", strerror(-fd));
	p = map_aligned(_metadata, fd, MAP_SHARED);
	fill_pages(p, npages, ps, 170);

	ASSERT_EQ(0, hmm_cmd(e->dev, HMM_DMIRROR_READ, p, buf, npages,
			     &cmd));
	EXPECT_EQ(npages, cmd.cpages);
	bad = bad_page(buf, npages, ps, 170);
	ASSERT_EQ(-1, bad) TH_LOG("device read page %zd wrong", bad);
	/* The device maps it as one huge entry. */
	ASSERT_EQ(0, hmm_snapshot(e->dev, p, 1, &prot));
	EXPECT_EQ(HMM_DMIRROR_PROT_WRITE | HMM_DMIRROR_PROT_PMD, prot);

	recs = zalloc(_metadata, npages * sizeof(*recs));
	memset(&fcmd, 0, sizeof(fcmd));
	EXPECT_EQ(-EINVAL, hmm_migrate_file(e->dev, p, npages, SYNC,
					    HMM_NC_FILE_KERNEL_VMA_CHECK,
					    recs, &fcmd));
	EXPECT_EQ(0, fcmd.moved);
	EXPECT_EQ(HMM_NC_PS_UNTOUCHED, recs[0].status)
		TH_LOG("%s", hmm_status_str(recs[0].status));
	free(recs);
	env_delta(_metadata, e, &d);
	/* migrate_vma_setup() collected, locked and took nothing. */
	EXPECT_EQ(0, d.pages_taken);
	EXPECT_EQ(0, d.pages_locked);
	EXPECT_EQ(0, d.batches);

	EXPECT_EQ(-EINVAL, hmm_migrate_file(e->dev, p, npages, SYNC,
					    0, NULL, NULL));
	EXPECT_EQ(-EINVAL, hmm_cmd(e->dev, HMM_DMIRROR_MIGRATE_TO_DEV,
				   p, buf, npages, &cmd));
	assert_mapped(_metadata, p, npages, ps, 170);
	assert_counted(_metadata, e, HMM_NC_CB_HUGETLBFS, SYNC, 0);
	munmap(p, TWO_MB);
	close(fd);
}

/*
 * What the device's migrate_vma_*() workflows make of the kind's 2 MiB
 * folio (see each above): a THP is split and its small pages move, a
 * hugetlbfs page is refused whole.
 */
TEST_F(huge, migrate_vma_splits_or_refuses)
{
	switch (variant->kind) {
	case CORE_HUGETLB:
		hugetlbfs_refused_vma(_metadata, &self->e, &self->pool_was);
		break;
	case CORE_ANON_THP:
		anon_thp_split_vma(_metadata, &self->e);
		break;
	case CORE_SHMEM_THP:
		shmem_thp_split_vma(_metadata, &self->e);
		break;
	}
}

/*
 * 2 MiB folios whole through the kernel's migration core
 * (HMM_NC_CORE_MIGRATE): migrate_pages() keeps a THP or a hugetlb folio
 * in one piece when it has a destination of the same size, and calls
 * the mapping's callback once for the whole folio (hugetlbfs_migrate_folio,
 * or migrate_folio() and so folio_migrate_flags() on 512 pages).
 */

/* The pool of 2 MiB pages, as the kernel counts it. */
struct pool {
	long nr, free, resv, surplus;
};

#define POOL_DIR	"/sys/kernel/mm/hugepages/hugepages-2048kB/"

static void pool_read(struct pool *pl)
{
	pl->nr = hmm_read_long(POOL_DIR "nr_hugepages");
	pl->free = hmm_read_long(POOL_DIR "free_hugepages");
	pl->resv = hmm_read_long(POOL_DIR "resv_hugepages");
	pl->surplus = hmm_read_long(POOL_DIR "surplus_hugepages");
}

/* The 2 MiB range of kind at *p, filled with seed's patterns; its fd. */
static int core_huge_setup(struct __test_metadata *_metadata,
			   struct hmm_env *e, long *pool_was,
			   enum core_kind kind, __u64 seed, char **p)
{
	size_t ps = e->ps, npages = TWO_MB / ps;
	char *raw;
	int fd = -1;

	switch (kind) {
	case CORE_HUGETLB:
		/* One page for the file, one for the destination. */
		fd = hugetlb_file(pool_was, 2);
		if (fd < 0)
			SKIP(return -1, "no 2 huge pages in the pool: %s",
			     strerror(-fd));
		*p = map_aligned(_metadata, fd, MAP_SHARED);
		fill_pages(*p, npages, ps, seed);
		break;
	case CORE_ANON_THP:
		raw = hmm_map_anon(2 * TWO_MB, PROT_READ | PROT_WRITE);
		ASSERT_NE(NULL, raw);
		*p = (char *)(((uintptr_t)raw + TWO_MB - 1) & ~(TWO_MB - 1));
		ASSERT_EQ(0, madvise(*p, TWO_MB, MADV_HUGEPAGE));
		fill_pages(*p, npages, ps, seed);
		break;
	case CORE_SHMEM_THP:
		if (mount_tmpfs(HUGE_DIR, "huge=always,size=16m"))
			SKIP(return -1, "cannot mount tmpfs huge=always");
		fd = make_file(_metadata, HUGE_DIR "/thp", npages, ps, seed);
		*p = map_aligned(_metadata, fd, MAP_SHARED);
		touch(_metadata, *p, ps);
		break;
	}
	return fd;
}

/*
 * Move the 2 MiB folio of kind through the core in mode (flags: 0 or
 * HMM_NC_MIGRATE_PROBE) and check from userspace that it moved whole:
 * 512 new PFNs in one run from a 2 MiB aligned head that /proc/kpageflags
 * calls huge (hugetlb) or THP; the range then reads as the data
 * (want_data) or as the probe's sentinel, through the mapping and, for a
 * file, through read() and a fresh mapping of the page-cache slot.
 */
static void core_huge(struct __test_metadata *_metadata, struct hmm_env *e,
		      long *pool_was, enum core_kind kind, __u32 mode,
		      __u32 flags, bool want_data)
{
	size_t ps = e->ps, npages = TWO_MB / ps, i;
	int kpf = kind == CORE_HUGETLB ? HMM_KPF_HUGE : HMM_KPF_THP;
	int cb = kind == CORE_HUGETLB ? HMM_NC_CB_HUGETLBFS : HMM_NC_CB_FOLIO;
	__u64 *before = zalloc(_metadata, npages * sizeof(__u64));
	__u64 *after = zalloc(_metadata, npages * sizeof(__u64));
	struct hmm_nc_core_page *recs;
	struct hmm_nc_counters d;
	struct hmm_nc_core_cmd cmd;
	struct pool pl0, pl1;
	__u64 kf, old0, new0, seed = 190 + kind;
	bool dirty;
	char *buf = zalloc(_metadata, TWO_MB), *p, *q;
	ssize_t bad;
	int fd;

	HMM_REQUIRE(e->dev, HMM_NEED_CORE_MIGRATE |
		    (mode == NO_COPY ? HMM_NEED_NOCOPY : 0) |
		    (kind == CORE_HUGETLB ? HMM_NEED_HUGETLB : 0));
	recs = zalloc(_metadata, npages * sizeof(*recs));
	fd = core_huge_setup(_metadata, e, pool_was, kind, seed, &p);
	if (kind != CORE_ANON_THP && fd < 0)
		return;

	ASSERT_EQ(0, hmm_pagemap(p, npages, before));
	old0 = hmm_pm_pfn(before[0]);
	ASSERT_NE(0, old0);
	ASSERT_EQ(0, hmm_kpageflags(old0, &kf));
	if (kind != CORE_HUGETLB && !(kf & (1ULL << HMM_KPF_THP)))
		SKIP(return, "no THP backs the range (kpageflags %#llx)",
		     (unsigned long long)kf);
	ASSERT_TRUE(kf & (1ULL << kpf));
	ASSERT_TRUE(kf & (1ULL << HMM_KPF_COMPOUND_HEAD));
	dirty = kf & (1ULL << HMM_KPF_DIRTY);
	pool_read(&pl0);

	ASSERT_EQ(0, hmm_core_migrate(e->dev, p, npages, mode, flags, recs,
				      &cmd));
	EXPECT_EQ(1, cmd.folios);
	EXPECT_EQ(0, cmd.failed);
	EXPECT_EQ(0, cmd.result);
	ASSERT_EQ(npages, cmd.moved);

	/* One new folio of 2 MiB, in place of the old one. */
	ASSERT_EQ(0, hmm_pagemap(p, npages, after));
	new0 = hmm_pm_pfn(after[0]);
	ASSERT_NE(0, new0);
	EXPECT_EQ(0, new0 % npages) TH_LOG("new head %#llx",
					   (unsigned long long)new0);
	for (i = 0; i < npages; i++) {
		ASSERT_EQ(HMM_NC_PS_MOVED, recs[i].status) TH_LOG("page %zu", i);
		ASSERT_EQ(new0 + i, hmm_pm_pfn(after[i])) TH_LOG("page %zu", i);
		ASSERT_NE(hmm_pm_pfn(before[i]), hmm_pm_pfn(after[i]));
		EXPECT_EQ(new0 + i, recs[i].new_pfn);
		EXPECT_EQ(9, recs[i].order);
		EXPECT_EQ(cb, recs[i].cb);
	}
	ASSERT_EQ(0, hmm_kpageflags(new0, &kf));
	EXPECT_TRUE(kf & (1ULL << kpf)) TH_LOG("kpageflags %#llx",
					       (unsigned long long)kf);
	EXPECT_TRUE(kf & (1ULL << HMM_KPF_COMPOUND_HEAD));
	/*
	 * The folio's state came along whole: written data stays dirty
	 * (page cache: the old folio's flag; anon: the PMD's dirty bit,
	 * which the unmap moves to the folio), or reclaim could drop it.
	 */
	EXPECT_TRUE(kf & (1ULL << HMM_KPF_DIRTY));
	TH_LOG("old head %#llx (%s), new head %#llx", (unsigned long long)old0,
	       dirty ? "dirty" : "clean", (unsigned long long)new0);

	/* The data, or the sentinel nobody copied over. */
	bad = want_data ? bad_page(p, npages, ps, seed) :
			  hmm_verify_word(p, TWO_MB, HMM_NC_SENTINEL);
	ASSERT_EQ(-1, bad) TH_LOG("mapping: wrong at %zd", bad);
	if (fd >= 0) {
		ASSERT_EQ((ssize_t)TWO_MB, pread(fd, buf, TWO_MB, 0));
		bad = want_data ? bad_page(buf, npages, ps, seed) :
				  hmm_verify_word(buf, TWO_MB, HMM_NC_SENTINEL);
		ASSERT_EQ(-1, bad) TH_LOG("read(): wrong at %zd", bad);
		/* The page-cache slot holds the new folio. */
		munmap(p, TWO_MB);
		q = map_aligned(_metadata, fd, MAP_SHARED);
		touch(_metadata, q, ps);
		ASSERT_EQ(0, hmm_pagemap(q, 1, after));
		EXPECT_EQ(new0, hmm_pm_pfn(after[0]));
		munmap(q, TWO_MB);
	}
	/* The old page went back to the pool, the new one came out of it. */
	if (kind == CORE_HUGETLB) {
		pool_read(&pl1);
		EXPECT_EQ(pl0.nr, pl1.nr);
		EXPECT_EQ(pl0.free, pl1.free);
		EXPECT_EQ(pl0.resv, pl1.resv);
		EXPECT_EQ(pl0.surplus, pl1.surplus);
	}
	/* The device copied under NO_COPY, and only there. */
	env_delta(_metadata, e, &d);
	EXPECT_EQ(mode == NO_COPY && !flags ? npages : 0, d.pages_copied);
	if (mode == SYNC)
		assert_engine_idle(_metadata, e);
	assert_counted(_metadata, e, cb, mode, npages);
	if (fd >= 0)
		close(fd);
	free(recs);
	free(buf);
	free(before);
	free(after);
}

/*
 * The callback (hugetlbfs_migrate_folio(), or migrate_folio() for a THP)
 * moves the folio's state whole, the device copies its data.
 */
TEST_F(huge, nocopy_moves_whole)
{
	core_huge(_metadata, &self->e, &self->pool_was, variant->kind, NO_COPY,
		  0, true);
}

TEST_F(huge, nocopy_probe_leaves_sentinel)
{
	core_huge(_metadata, &self->e, &self->pool_was, variant->kind, NO_COPY,
		  HMM_NC_MIGRATE_PROBE, false);
}

TEST_F(huge, sync_probe_control_shows_data)
{
	core_huge(_metadata, &self->e, &self->pool_was, variant->kind, SYNC,
		  HMM_NC_MIGRATE_PROBE, true);
}

HMM_TEST_MAIN

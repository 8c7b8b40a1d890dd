// SPDX-License-Identifier: GPL-2.0
/*
 * private_file.*: the copy-on-write pages of a MAP_PRIVATE file mapping
 * on the device. A write through a private mapping gives the process an
 * anonymous page of its own in a VMA that still maps a file; such pages
 * may go to device memory (the file's pages may not), and unmapping them
 * while they are there takes the zap path of device-private entries in
 * a file VMA (upstream be3f38d05cc5 fixed a spurious WARNING on exactly
 * this unmap: zap_pte_range() asked whether the VMA was anonymous, not
 * the page). The releases we run do not carry that bug: 5.10.262 has no
 * such check, 6.1.192 and 6.12.118 ask the page (PageAnon(),
 * folio_test_anon()). The kernel log gate and the test's own look at the
 * log would show it if a kernel did.
 *
 * shmem.private_cow_pages_stay_with_owner and
 * bufferhead.*.nocopy_private_cow_pages_stay_with_owner move such pages
 * from system page to system page; here they also go to the device and
 * back, and are unmapped there. What is checked, from outside the
 * module: the file's page cache is untouched (a shared mapping of the
 * file finds the same page frames with the file's data, read() the
 * same), the process's data is right, the device pages are freed, and
 * the kernel log is clean.
 */
#define _GNU_SOURCE
#include "file_fixture.h"

#define NPAGES		8
#define FILE_SEED	0x800
#define COW_SEED	0x900

FIXTURE(private_file) {
	struct hmm_env e;
	struct xfs_disk x;
	int kmsg;
	int fd;			/* the file */
	char *cache;		/* a shared mapping of it: the page cache */
	char *p;		/* the private mapping */
	bool p_mapped;
	__u64 cache_pfn[NPAGES];	/* the page cache's frames at first */
};

/* The file system, and the mode the COW'd pages first move in. */
FIXTURE_VARIANT(private_file) {
	bool xfs;
	__u32 mode;
};

FIXTURE_VARIANT_ADD(private_file, shmem_sync) {
	.mode = SYNC,
};

FIXTURE_VARIANT_ADD(private_file, shmem_nocopy) {
	.mode = NO_COPY,
};

FIXTURE_VARIANT_ADD(private_file, xfs_sync) {
	.xfs = true,
	.mode = SYNC,
};

FIXTURE_VARIANT_ADD(private_file, xfs_nocopy) {
	.xfs = true,
	.mode = NO_COPY,
};

FIXTURE_SETUP(private_file)
{
	self->kmsg = -1;
	self->fd = -1;
	fs_setup(_metadata, &self->e, &self->x, variant->xfs);
	if (variant->mode == NO_COPY)
		HMM_SETUP_REQUIRE(self->e.dev, HMM_NEED_NOCOPY);
	if (variant->xfs)
		xfs_mount(_metadata, &self->x, XFS_BSIZE);
	self->kmsg = hmm_kmsg_open();
	ASSERT_LE(0, self->kmsg);
}

FIXTURE_TEARDOWN(private_file)
{
	size_t size = NPAGES * self->e.ps;

	if (self->p_mapped)
		munmap(self->p, size);
	if (self->cache)
		munmap(self->cache, size);
	close_if(&self->fd);
	close_if(&self->kmsg);
	fs_teardown(&self->e, &self->x);
}

/*
 * The file (a page at a time: XFS keeps small folios then), a shared
 * mapping of it whose frames are the page cache's, and a private
 * mapping read in first (it maps the file's pages), then written whole
 * (each write copies a page: the process's own anonymous page). The
 * COW'd pages then move from system page to system page in the
 * variant's mode, as the process's anonymous pages.
 */
static void cow_mapping(struct __test_metadata *_metadata,
			FIXTURE_DATA(private_file) * self,
			const FIXTURE_VARIANT(private_file) * variant,
			size_t ncow)
{
	const char *dir = variant->xfs ? XFS_DIR : FILE_DIR;
	size_t ps = self->e.ps, size = NPAGES * ps, i;
	struct hmm_nc_file_page *recs;
	__u64 pm[NPAGES];
	char path[64];

	snprintf(path, sizeof(path), "%s/private", dir);
	self->fd = write_file(_metadata, path, NPAGES, ps, FILE_SEED, true);
	self->cache = map_file(_metadata, self->fd, size, MAP_SHARED);
	ASSERT_EQ(0, hmm_pagemap(self->cache, NPAGES, pm));
	for (i = 0; i < NPAGES; i++) {
		self->cache_pfn[i] = hmm_pm_pfn(pm[i]);
		ASSERT_NE(0, self->cache_pfn[i]) TH_LOG("page %zu", i);
	}
	self->p = map_file(_metadata, self->fd, size, MAP_PRIVATE);
	self->p_mapped = true;
	fill_pages(self->p, ncow, ps, COW_SEED);
	ASSERT_EQ(0, hmm_pagemap(self->p, NPAGES, pm));
	for (i = 0; i < NPAGES; i++) {
		if (i < ncow) {
			ASSERT_NE(self->cache_pfn[i], hmm_pm_pfn(pm[i]))
				TH_LOG("page %zu was not copied on write", i);
		} else {
			ASSERT_EQ(self->cache_pfn[i], hmm_pm_pfn(pm[i]))
				TH_LOG("page %zu is not the file's", i);
		}
	}
	recs = migrate(_metadata, &self->e, self->p, ncow, variant->mode, 0,
		       ncow);
	for (i = 0; i < ncow; i++)
		EXPECT_EQ(HMM_NC_FP_ANON, recs[i].flags & HMM_NC_FP_ANON)
			TH_LOG("page %zu: flags 0x%x", i, recs[i].flags);
	free(recs);
	assert_counted(_metadata, &self->e, HMM_NC_CB_FOLIO, variant->mode,
		       ncow);
}

/* How many of npages pages at p pagemap shows on a device. */
static size_t count_on_device(struct __test_metadata *_metadata, char *p,
			      size_t npages)
{
	__u64 pm[NPAGES];
	size_t i, n = 0;

	ASSERT_EQ(0, hmm_pagemap(p, npages, pm));
	for (i = 0; i < npages; i++)
		n += hmm_pm_swapped(pm[i]);
	return n;
}

/* MIGRATE_TO_DEV of the first npages pages of the private mapping. */
static int to_device(FIXTURE_DATA(private_file) * self, size_t npages)
{
	static char mirror[NPAGES * 65536];

	return hmm_cmd(self->e.dev, HMM_DMIRROR_MIGRATE_TO_DEV, self->p,
		       mirror, npages, NULL);
}

/*
 * The page cache is as the test found it: the same frames (a shared
 * mapping made now finds the same pages as the one made first), the
 * file's data through both and through read().
 */
static void assert_cache_untouched(struct __test_metadata *_metadata,
				   FIXTURE_DATA(private_file) * self)
{
	size_t ps = self->e.ps, size = NPAGES * ps, i;
	char *q = map_file(_metadata, self->fd, size, MAP_SHARED);
	__u64 a[NPAGES], b[NPAGES];

	ASSERT_EQ(0, hmm_pagemap(self->cache, NPAGES, a));
	ASSERT_EQ(0, hmm_pagemap(q, NPAGES, b));
	for (i = 0; i < NPAGES; i++) {
		EXPECT_EQ(self->cache_pfn[i], hmm_pm_pfn(a[i]))
			TH_LOG("page %zu left the page cache", i);
		EXPECT_EQ(self->cache_pfn[i], hmm_pm_pfn(b[i]))
			TH_LOG("page %zu: a new mapping finds another page", i);
	}
	assert_mapped(_metadata, self->cache, NPAGES, ps, FILE_SEED);
	assert_mapped(_metadata, q, NPAGES, ps, FILE_SEED);
	assert_read(_metadata, self->fd, NPAGES, ps, FILE_SEED);
	munmap(q, size);
}

/*
 * The process's anonymous pages by the kernel's own count (RssAnon of
 * /proc/self/status, in kB), device pages included. Read into the stack
 * with no allocation, no fault: on 5.10 and 6.1 a fault counts in a
 * per-task cache that the next unmap by the process folds in first, so
 * a fault between two reads would show in their difference.
 */
static long rss_anon_kb(struct __test_metadata *_metadata)
{
	char buf[4096], *at;
	ssize_t got;
	int fd;

	fd = open("/proc/self/status", O_RDONLY);
	ASSERT_LE(0, fd);
	got = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	ASSERT_LT(0, got);
	buf[got] = '\0';
	at = strstr(buf, "\nRssAnon:");
	ASSERT_NE(NULL, at);
	return strtol(at + strlen("\nRssAnon:"), NULL, 10);
}

/*
 * Since the test began the device freed every page it handed out (and
 * handed out ondev), its fault path served faults pages, and the kernel
 * logged no report.
 */
static void assert_freed_and_quiet(struct __test_metadata *_metadata,
				   FIXTURE_DATA(private_file) * self,
				   __u64 ondev, __u64 faults)
{
	struct hmm_nc_counters d;
	char first[256];

	env_delta(_metadata, &self->e, &d);
	EXPECT_EQ(ondev, d.devmem_alloc);
	EXPECT_EQ(ondev, d.devmem_free);
	EXPECT_EQ(faults, d.cpu_faults);
	EXPECT_EQ(d.pages_locked, d.pages_unlocked);
	EXPECT_EQ(d.pages_taken, d.pages_returned);
	EXPECT_EQ(0, hmm_kmsg_count(self->kmsg, klog_reports(), first,
				    sizeof(first)))
		TH_LOG("kernel: %s", first);
}

/*
 * Every COW'd page to the device (pagemap: device entries) and back
 * (MIGRATE_TO_SYS): the process's data is right, the page cache never
 * moved.
 */
TEST_F(private_file, cow_pages_go_to_device_and_back)
{
	cow_mapping(_metadata, self, variant, NPAGES);
	ASSERT_EQ(0, to_device(self, NPAGES));
	EXPECT_EQ(NPAGES, count_on_device(_metadata, self->p, NPAGES));
	assert_cache_untouched(_metadata, self);
	ASSERT_EQ(0, hmm_cmd(self->e.dev, HMM_DMIRROR_MIGRATE_TO_SYS, self->p,
			     NULL, NPAGES, NULL));
	EXPECT_EQ(0, count_on_device(_metadata, self->p, NPAGES));
	assert_mapped(_metadata, self->p, NPAGES, self->e.ps, COW_SEED);
	assert_cache_untouched(_metadata, self);
	assert_freed_and_quiet(_metadata, self, NPAGES, 0);
}

/*
 * The COW'd pages on the device, the range unmapped: the device pages
 * are freed without coming back (no CPU fault) and leave the process's
 * RSS (its mm's count must balance when it goes), the page cache is
 * untouched, the kernel log clean.
 */
TEST_F(private_file, cow_pages_unmapped_on_device_leave_page_cache_alone)
{
	char *spare;
	long rss;

	cow_mapping(_metadata, self, variant, NPAGES);
	ASSERT_EQ(0, to_device(self, NPAGES));
	ASSERT_EQ(NPAGES, count_on_device(_metadata, self->p, NPAGES));
	/*
	 * A read faults in what reading takes; a page of its own unmapped
	 * then empties the per-task cache (see rss_anon_kb()).
	 */
	rss = rss_anon_kb(_metadata);
	spare = hmm_map_anon(self->e.ps, PROT_READ | PROT_WRITE);
	ASSERT_NE(NULL, spare);
	spare[0] = 1;
	ASSERT_EQ(0, munmap(spare, self->e.ps));
	rss = rss_anon_kb(_metadata);
	ASSERT_EQ(0, munmap(self->p, NPAGES * self->e.ps));
	self->p_mapped = false;
	rss -= rss_anon_kb(_metadata);
	EXPECT_EQ(NPAGES * self->e.ps / 1024, rss)
		TH_LOG("RssAnon fell by %ld kB: the device pages left the process's count wrongly",
		       rss);
	assert_cache_untouched(_metadata, self);
	assert_freed_and_quiet(_metadata, self, NPAGES, 0);
}

/*
 * Half the range COW'd, half still the file's pages: only the COW'd
 * pages go to the device (the kernel moves no page-cache page to device
 * memory, and the device says so: ENOENT); a CPU read brings them back
 * through the device's fault path; the file's pages never moved.
 */
TEST_F(private_file, only_cow_pages_go_to_device)
{
	size_t half = NPAGES / 2, ps = self->e.ps;

	cow_mapping(_metadata, self, variant, half);
	EXPECT_EQ(-ENOENT, to_device(self, NPAGES));
	EXPECT_EQ(half, count_on_device(_metadata, self->p, NPAGES));
	assert_mapped(_metadata, self->p, half, ps, COW_SEED);
	EXPECT_EQ(0, count_on_device(_metadata, self->p, NPAGES));
	assert_mapped(_metadata, self->p + half * ps, NPAGES - half, ps,
		      FILE_SEED + half);
	assert_cache_untouched(_metadata, self);
	assert_freed_and_quiet(_metadata, self, half, half);
}

HMM_TEST_MAIN

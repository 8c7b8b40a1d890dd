// SPDX-License-Identifier: GPL-2.0
/*
 * probe.<path>.*: the no-copy probe on the NO_COPY paths that the
 * probes of the other areas (anon, file, bufferhead, huge) do not reach,
 * a variant a path. The engine primes every destination with
 * HMM_NC_SENTINEL and skips its copy (HMM_NC_MIGRATE_PROBE), so what the
 * new pages hold says who copied: after MIGRATE_SYNC_NO_COPY the mapping
 * and read() see the sentinel (the kernel moved the state only), after
 * MIGRATE_SYNC, the control, the data (the kernel copied). An intact-data
 * test of the same path cannot tell a kernel that also copies from one
 * that does not; this one can.
 *
 * The paths, the kernel functions that must not copy under NO_COPY:
 *  - fallback_minix: fallback_migrate_folio(), for a mapping without a
 *    migrate_folio callback (minix), a dirty page that the core writes
 *    out first, through migrate_pages() (HMM_NC_CORE_MIGRATE);
 *  - blockdev, blockdev_core: buffer_migrate_folio_norefs(), the block
 *    device's own pages (an unmounted loop device, written with
 *    write()), through the device's batch workflow (HMM_NC_MIGRATE_FILE)
 *    and through migrate_pages();
 *  - ext2_nobuffers, ext4_nobuffers: buffer_migrate_folio() of a page
 *    that has no buffer heads, its branch to migrate_folio(): pages read
 *    back through the mapping after drop_caches, which mpage reads
 *    with a bio of their own, attaching no buffers;
 *  - shmem_kernel: the kernel's own migrate_vma_pages() on page-cache
 *    pages (HMM_NC_FILE_KERNEL_PAGES), which has no mode to ask for: its
 *    control is the same tmpfs pages through the device's workflow in
 *    MIGRATE_SYNC, that is shmem's migrate_folio() copying.
 *
 * What the path was is seen from outside the module too: the page flags
 * of the old and the new PFN in /proc/kpageflags (dirty before the
 * fallback, buffer heads (PG_private) on block-device pages before and
 * after, none on the no-buffer pages), the new PFN in /proc/self/pagemap
 * and a second mapping of the file finding it in the page cache.
 */
#define _GNU_SOURCE
#include <sys/ioctl.h>

#include "file_fixture.h"

/* Later kernels gave minix a migrate_folio callback (6.12 has one). */
#define NO_FALLBACK \
	"minix has a migrate_folio callback in this kernel: no fallback_migrate_folio()"

#define PROBE_IMG	"/tmp/hmm_probe_img"	/* ramfs under the loop */
#define PROBE_DIR	"/tmp/hmm_probe"	/* the file system on it */
#define PROBE_PAGES	4

/* How the pages are made and put in the page cache. */
enum probe_pages {
	PAGES_MINIX_DIRTY,	/* minix file, dirtied through the mapping */
	PAGES_BLOCKDEV,		/* the loop device's own page cache */
	PAGES_EXT_REREAD,	/* ext file, written back, dropped, read in */
	PAGES_SHMEM,		/* tmpfs file */
};

/* Who moves the pages' state. */
enum probe_engine {
	ENGINE_FILE,		/* the device's workflow, each page's callback */
	ENGINE_CORE,		/* migrate_pages() */
	ENGINE_KERNEL,		/* NO_COPY: migrate_vma_pages(); SYNC: FILE */
};

FIXTURE(probe) {
	struct hmm_env e;
	bool img;		/* the ramfs on PROBE_IMG */
	bool mounted;		/* the file system on PROBE_DIR */
	int loop;		/* its loop device, or -1 */
	char loop_path[HMM_LOOP_PATH_LEN];
};

/*
 * pages, engine: above. fstype, mkfs: the file system on the loop
 * device (NULL: none, or a tmpfs for PAGES_SHMEM). cb, sync_cb: the
 * callback kind the module counts the pages under in NO_COPY and in
 * SYNC. fp: the record flags each page shows (HMM_NC_MIGRATE_FILE).
 * kpf_set, kpf_clear: flags every old page shows, and shows not, before
 * the move; kpf_kept: what its new page shows again after it.
 * needs: what the kernel must offer besides the mode.
 */
FIXTURE_VARIANT(probe) {
	int pages;
	int engine;
	const char *fstype;
	const char *mkfs;
	int cb;
	int sync_cb;
	__u16 fp;
	__u64 kpf_set;
	__u64 kpf_clear;
	__u64 kpf_kept;
	unsigned int needs;
};

FIXTURE_VARIANT_ADD(probe, fallback_minix) {
	.pages = PAGES_MINIX_DIRTY,
	.engine = ENGINE_CORE,
	.fstype = "minix",
	.mkfs = "/sbin/mkfs.minix",
	.cb = HMM_NC_CB_FALLBACK,
	.sync_cb = HMM_NC_CB_FALLBACK,
	.kpf_set = KPF_BIT(DIRTY),
	.needs = HMM_NEED_CORE_MIGRATE,
};

FIXTURE_VARIANT_ADD(probe, blockdev) {
	.pages = PAGES_BLOCKDEV,
	.engine = ENGINE_FILE,
	.cb = HMM_NC_CB_BUFFER,
	.sync_cb = HMM_NC_CB_BUFFER,
	.fp = HMM_NC_FP_BUFFERS | HMM_NC_FP_BH_MOVED | HMM_NC_FP_CACHED,
	.kpf_set = KPF_BIT(PRIVATE),
	.kpf_kept = KPF_BIT(PRIVATE),
};

FIXTURE_VARIANT_ADD(probe, blockdev_core) {
	.pages = PAGES_BLOCKDEV,
	.engine = ENGINE_CORE,
	.cb = HMM_NC_CB_BUFFER,
	.sync_cb = HMM_NC_CB_BUFFER,
	.kpf_set = KPF_BIT(PRIVATE),
	.kpf_kept = KPF_BIT(PRIVATE),
	.needs = HMM_NEED_CORE_MIGRATE,
};

/* A block a page: mpage reads every mapped page without buffers. */
FIXTURE_VARIANT_ADD(probe, ext2_nobuffers) {
	.pages = PAGES_EXT_REREAD,
	.engine = ENGINE_FILE,
	.fstype = "ext2",
	.mkfs = "/sbin/mkfs.ext2 -q -F -b 4096",
	.cb = HMM_NC_CB_BUFFER,
	.sync_cb = HMM_NC_CB_BUFFER,
	.fp = HMM_NC_FP_CACHED,
	.kpf_clear = KPF_BIT(PRIVATE) | KPF_BIT(DIRTY),
};

FIXTURE_VARIANT_ADD(probe, ext4_nobuffers) {
	.pages = PAGES_EXT_REREAD,
	.engine = ENGINE_FILE,
	.fstype = "ext4",
	.mkfs = "/sbin/mkfs.ext4 -q -F -b 4096 -E lazy_itable_init=0",
	.cb = HMM_NC_CB_BUFFER,
	.sync_cb = HMM_NC_CB_BUFFER,
	.fp = HMM_NC_FP_CACHED,
	.kpf_clear = KPF_BIT(PRIVATE) | KPF_BIT(DIRTY),
};

FIXTURE_VARIANT_ADD(probe, shmem_kernel) {
	.pages = PAGES_SHMEM,
	.engine = ENGINE_KERNEL,
	.cb = HMM_NC_CB_DEVICE,
	.sync_cb = HMM_NC_CB_FOLIO,
	.fp = HMM_NC_FP_CACHED,
};

/* A loop device over a ramfs image, with v's file system on PROBE_DIR. */
static int probe_disk(FIXTURE_DATA(probe) * self,
		      const FIXTURE_VARIANT(probe) * v)
{
	int ret = mount_image_dir(PROBE_IMG);

	if (ret)
		return ret;
	self->img = true;
	if (v->mkfs)
		self->loop = mkfs_loop(PROBE_IMG, 48LL << 20, v->mkfs,
				       self->loop_path, sizeof(self->loop_path));
	else
		self->loop = hmm_loop_attach(PROBE_IMG, 8LL << 20,
					     self->loop_path,
					     sizeof(self->loop_path));
	if (self->loop < 0 || !v->fstype)
		return self->loop < 0 ? self->loop : 0;
	ret = mount_dev(self->loop_path, PROBE_DIR, v->fstype, NULL);
	self->mounted = !ret;
	return ret;
}

static void probe_release(FIXTURE_DATA(probe) * self)
{
	umount_if(PROBE_DIR, &self->mounted);
	close_if(&self->loop);
	umount_if(PROBE_IMG, &self->img);
	close(self->e.dev);
}

FIXTURE_SETUP(probe)
{
	int ret;

	/* Mounts of its own, gone with the test (see libhmm.h). */
	ASSERT_EQ(0, hmm_private_mounts());
	self->loop = -1;
	env_setup(_metadata, &self->e);
	HMM_SETUP_REQUIRE(self->e.dev, variant->needs);
	if (variant->pages == PAGES_SHMEM) {
		ret = mount_tmpfs(PROBE_DIR, "size=16m");
		self->mounted = !ret;
	} else {
		ret = probe_disk(self, variant);
	}
	if (ret) {
		probe_release(self);
		HMM_SETUP_SKIP("no %s on %s: %s",
			       variant->fstype ? variant->fstype : "tmpfs",
			       variant->pages == PAGES_SHMEM ? PROBE_DIR : "a loop device",
			       strerror(-ret));
	}
}

FIXTURE_TEARDOWN(probe)
{
	probe_release(self);
}

/* No page of pm shows any flag of clear (/proc/kpageflags). */
static void assert_kpf_clear(struct __test_metadata *_metadata, const __u64 *pm,
			     size_t npages, __u64 clear, const char *when)
{
	__u64 flags;
	size_t i;

	for (i = 0; i < npages; i++) {
		ASSERT_EQ(0, hmm_kpageflags(hmm_pm_pfn(pm[i]), &flags));
		EXPECT_EQ(0, flags & clear)
			TH_LOG("%s: page %zu, pfn 0x%llx: kpageflags 0x%llx",
			       when, i, (unsigned long long)hmm_pm_pfn(pm[i]),
			       (unsigned long long)flags);
	}
}

/*
 * A minix file of npages pages, written back while it held zeroes, then
 * dirtied through the mapping with seed's patterns: dirty pages of a
 * mapping without a migrate_folio callback.
 */
static int minix_dirty(struct __test_metadata *_metadata, size_t npages,
		       size_t ps, __u64 seed, char **pp)
{
	size_t size = npages * ps;
	int fd = open(PROBE_DIR "/f", O_RDWR | O_CREAT | O_TRUNC, 0644);

	ASSERT_LE(0, fd);
	ASSERT_EQ(0, ftruncate(fd, size));
	ASSERT_EQ(0, fsync(fd));
	*pp = map_file(_metadata, fd, size, MAP_SHARED);
	fill_pages(*pp, npages, ps, seed);
	return fd;
}

/*
 * The unmounted loop device's first npages pages, written with write()
 * (buffer heads attached) and written back: clean block-device pages
 * whose buffer heads nobody holds, so norefs moves them all.
 */
static int blockdev_pages(struct __test_metadata *_metadata, const char *dev,
			  size_t npages, size_t ps, __u64 seed, char **pp)
{
	size_t size = npages * ps;
	char *buf = zalloc(_metadata, size);
	int fd = open(dev, O_RDWR);

	ASSERT_LE(0, fd) TH_LOG("open %s: %s", dev, strerror(errno));
	fill_pages(buf, npages, ps, seed);
	ASSERT_EQ((ssize_t)size, pwrite(fd, buf, size, 0));
	ASSERT_EQ(0, fsync(fd));
	free(buf);
	*pp = map_file(_metadata, fd, size, MAP_SHARED);
	return fd;
}

/*
 * An ext file written back, dropped from the page cache and read in
 * again through the mapping: readahead reads its pages with mpage,
 * block to page, and attaches no buffer heads.
 */
static int ext_reread(struct __test_metadata *_metadata, size_t npages,
		      size_t ps, __u64 seed, char **pp)
{
	int fd = write_file(_metadata, PROBE_DIR "/f", npages, ps, seed, false);

	ASSERT_EQ(0, fsync(fd));
	ASSERT_EQ(0, hmm_write_str("/proc/sys/vm/drop_caches", "3"));
	assert_uncached(_metadata, fd, npages, ps);
	*pp = map_file(_metadata, fd, npages * ps, MAP_SHARED);
	return fd;
}

/* The variant's pages, mapped shared at *pp, holding seed's patterns. */
static int probe_pages(struct __test_metadata *_metadata,
		       FIXTURE_DATA(probe) * self,
		       const FIXTURE_VARIANT(probe) * v, size_t npages,
		       __u64 seed, char **pp)
{
	size_t ps = self->e.ps;
	int fd;

	switch (v->pages) {
	case PAGES_MINIX_DIRTY:
		return minix_dirty(_metadata, npages, ps, seed, pp);
	case PAGES_BLOCKDEV:
		return blockdev_pages(_metadata, self->loop_path, npages, ps,
				      seed, pp);
	case PAGES_EXT_REREAD:
		return ext_reread(_metadata, npages, ps, seed, pp);
	default:
		fd = make_file(_metadata, PROBE_DIR "/f", npages, ps, seed);
		*pp = map_file(_metadata, fd, npages * ps, MAP_SHARED);
		return fd;
	}
}

/*
 * Probe through the device's workflow: every page moved, from the PFN
 * pagemap showed before to the one it shows now, with the variant's
 * record flags. NO_COPY on shmem_kernel hands the batch to the kernel's
 * migrate_vma_pages().
 */
static void probe_file(struct __test_metadata *_metadata, struct hmm_env *e,
		       const FIXTURE_VARIANT(probe) * v, char *p,
		       size_t npages, __u32 mode, const __u64 *before,
		       __u64 *after)
{
	__u32 flags = HMM_NC_MIGRATE_PROBE;
	struct hmm_nc_file_page *recs;
	size_t i;

	if (v->engine == ENGINE_KERNEL && mode == NO_COPY)
		flags |= HMM_NC_FILE_KERNEL_PAGES;
	recs = migrate(_metadata, e, p, npages, mode, flags, npages);
	ASSERT_EQ(0, hmm_pagemap(p, npages, after));
	for (i = 0; i < npages; i++) {
		ASSERT_EQ(HMM_NC_PS_MOVED, recs[i].status)
			TH_LOG("page %zu: %s (%d)", i,
			       hmm_status_str(recs[i].status), recs[i].result);
		EXPECT_EQ(v->fp, recs[i].flags & v->fp)
			TH_LOG("page %zu: flags 0x%x, want 0x%x", i,
			       recs[i].flags, v->fp);
		EXPECT_EQ(hmm_pm_pfn(before[i]), recs[i].old_pfn)
			TH_LOG("page %zu", i);
		EXPECT_EQ(hmm_pm_pfn(after[i]), recs[i].new_pfn)
			TH_LOG("page %zu", i);
	}
	free(recs);
}

/*
 * Probe through migrate_pages(): every folio moved through a callback of
 * kind cb, its destination primed by the device's allocator. False when
 * the kernel has no such path for the pages (the test skipped).
 */
static bool probe_core(struct __test_metadata *_metadata, struct hmm_env *e,
		       int cb, char *p, size_t npages, __u32 mode,
		       const __u64 *before, __u64 *after)
{
	struct hmm_nc_core_page *recs = zalloc(_metadata,
					       npages * sizeof(*recs));
	struct hmm_nc_core_cmd cmd;
	size_t i;

	ASSERT_EQ(0, hmm_core_migrate(e->dev, p, npages, mode,
				      HMM_NC_MIGRATE_PROBE, recs, &cmd));
	/* The record names the callback the core met. */
	if (cb == HMM_NC_CB_FALLBACK && recs[0].cb != cb) {
		free(recs);
		SKIP(return false, NO_FALLBACK);
	}
	EXPECT_EQ(npages, cmd.moved);
	ASSERT_EQ(0, hmm_pagemap(p, npages, after));
	for (i = 0; i < npages; i++) {
		ASSERT_EQ(HMM_NC_PS_MOVED, recs[i].status)
			TH_LOG("page %zu: %s (%d)", i,
			       hmm_status_str(recs[i].status), recs[i].result);
		EXPECT_EQ(cb, recs[i].cb) TH_LOG("page %zu", i);
		EXPECT_TRUE(recs[i].flags & HMM_NC_CP_PRIMED)
			TH_LOG("page %zu: flags 0x%x", i, recs[i].flags);
		EXPECT_EQ(hmm_pm_pfn(before[i]), recs[i].old_pfn)
			TH_LOG("page %zu", i);
		EXPECT_EQ(hmm_pm_pfn(after[i]), recs[i].new_pfn)
			TH_LOG("page %zu", i);
	}
	free(recs);
	return true;
}

/*
 * The probe of the variant's path in mode. kernel_copies: the new pages
 * must hold the data (the control), else the sentinel.
 */
static void probe_run(struct __test_metadata *_metadata,
		      FIXTURE_DATA(probe) * self,
		      const FIXTURE_VARIANT(probe) * v, __u32 mode, __u64 seed)
{
	size_t npages = PROBE_PAGES, ps = self->e.ps, size = npages * ps, i;
	bool kernel_copies = mode == SYNC;
	int cb = kernel_copies ? v->sync_cb : v->cb;
	__u64 before[PROBE_PAGES], after[PROBE_PAGES];
	char *p, *buf = zalloc(_metadata, size);
	ssize_t bad;
	int fd;

	fd = probe_pages(_metadata, self, v, npages, seed, &p);
	ASSERT_EQ(0, hmm_pagemap(p, npages, before));
	assert_kpf(_metadata, before, npages, v->kpf_set, "before the move");
	assert_kpf_clear(_metadata, before, npages, v->kpf_clear,
			 "before the move");

	if (v->engine == ENGINE_CORE) {
		if (!probe_core(_metadata, &self->e, cb, p, npages, mode,
				before, after)) {
			munmap(p, size);
			close(fd);
			free(buf);
			return;
		}
	} else {
		probe_file(_metadata, &self->e, v, p, npages, mode, before,
			   after);
	}
	for (i = 0; i < npages; i++) {
		EXPECT_NE(hmm_pm_pfn(before[i]), hmm_pm_pfn(after[i]))
			TH_LOG("page %zu stayed", i);
	}
	assert_kpf(_metadata, after, npages, v->kpf_kept, "after the move");
	assert_cache_holds(_metadata, fd, p, npages);

	ASSERT_EQ((ssize_t)size, pread(fd, buf, size, 0));
	if (kernel_copies) {
		assert_mapped(_metadata, p, npages, ps, seed);
		bad = bad_page(buf, npages, ps, seed);
		ASSERT_EQ(-1, bad) TH_LOG("read(): page %zd is wrong", bad);
	} else {
		bad = hmm_verify_word(p, size, HMM_NC_SENTINEL);
		ASSERT_EQ(-1, bad)
			TH_LOG("mapping: data, not the sentinel, at %zd: the kernel copied",
			       bad);
		bad = hmm_verify_word(buf, size, HMM_NC_SENTINEL);
		ASSERT_EQ(-1, bad)
			TH_LOG("read(): data, not the sentinel, at %zd: the kernel copied",
			       bad);
	}
	assert_counted(_metadata, &self->e, cb, mode, npages);
	/* A probe primes the destinations: the engine copies nothing. */
	assert_engine_idle(_metadata, &self->e);
	munmap(p, size);
	close(fd);
	free(buf);
}

/*
 * Under NO_COPY the path moves the state and copies nothing: the new
 * pages hold the sentinel the engine primed them with.
 */
TEST_F(probe, nocopy_probe_leaves_sentinel)
{
	/* migrate_vma_pages() is served without the mode (see the uapi). */
	if (variant->engine != ENGINE_KERNEL)
		HMM_REQUIRE(self->e.dev, HMM_NEED_NOCOPY);
	probe_run(_metadata, self, variant, NO_COPY, 400);
}

/*
 * The control: under MIGRATE_SYNC the same path copies the data over
 * the sentinel, and the device's engine does not run.
 */
TEST_F(probe, sync_probe_control_shows_data)
{
	probe_run(_metadata, self, variant, SYNC, 420);
}

HMM_TEST_MAIN

// SPDX-License-Identifier: GPL-2.0
/*
 * file.*, bufferhead.*, huge.*: page-cache pages through the device's
 * NO_COPY workflow (HMM_NC_MIGRATE_FILE), which hands each page to its
 * own file system's migrate callback: shmem (migrate_folio), ext2/ext4
 * (buffer_migrate_folio) and XFS (filemap_migrate_folio), each on a
 * free loop device of its own, shmem THP and hugetlbfs.
 *
 * Every migration is checked for the data (through the mapping, through
 * read(), and for disk file systems again after fsync + drop_caches
 * from the disk), the identity (new PFN in /proc/self/pagemap, the
 * page-cache slot and buffer heads on the new page, as the module saw
 * them), and the counters by callback kind and mode. The no-copy probe
 * and its MIGRATE_SYNC control show who copied the data.
 */
/* sync_file_range() */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "hmm_fixture.h"

#define TWO_MB		(2UL * 1024 * 1024)
#define NO_COPY		HMM_NC_MODE_SYNC_NO_COPY
#define SYNC		HMM_NC_MODE_SYNC
#define ANY_MOVED	((__u64)-1)	/* migrate(): do not check the count */

#define FILE_DIR	"/tmp/hmm_file"
#define HUGE_DIR	"/tmp/hmm_huge"
#define BH_DIR		"/tmp/hmm_bh"
#define HUGETLB_DIR	"/tmp/hmm_hugetlb"	/* a hugetlbfs of 2 MiB pages */
#define BACK_DIR	"/tmp/hmm_back"
#define XFS_DIR		"/tmp/hmm_xfs"
#define XFS_BACK	"/tmp/hmm_xfs_back"
#define XFS_BSIZE	4096	/* mkfs.xfs's default: a block a page */
#define XFS_SUB_BSIZE	1024	/* four blocks a page: per-block state */
#define IMG_DIR		"/tmp/hmm_bh_img"
#define E2FSCK		"/sbin/e2fsck -fn"
#define XFS_CHECK	"/sbin/xfs_repair -n"

/* <linux/fs.h> would clash with <sys/mount.h>. */
#ifndef FIFREEZE
#define FIFREEZE	_IOWR('X', 119, int)
#define FITHAW		_IOWR('X', 120, int)
#endif

/* Each page gets a pattern of its own: a page in the wrong slot shows. */
static void fill_pages(void *buf, size_t npages, size_t psize, __u64 seed)
{
	size_t i;

	for (i = 0; i < npages; i++)
		hmm_fill((char *)buf + i * psize, psize, seed + i);
}

/* The first page whose pattern is wrong, or -1. */
static ssize_t bad_page(const void *buf, size_t npages, size_t psize,
			__u64 seed)
{
	size_t i;

	for (i = 0; i < npages; i++)
		if (hmm_verify((const char *)buf + i * psize, psize, seed + i) >= 0)
			return i;
	return -1;
}

/*
 * A file of npages pages written with write(), each page its pattern;
 * by_page: one page a call, so that a file system that builds large
 * folios for large writes (XFS from 6.6) keeps small ones, which
 * migrate_vma_setup() collects (it skips large folios).
 */
static int write_file(struct __test_metadata *_metadata, const char *path,
		      size_t npages, size_t psize, __u64 seed, bool by_page)
{
	size_t size = npages * psize, step = by_page ? psize : size, off;
	char *buf = zalloc(_metadata, size);
	int fd;

	fd = open(path, O_RDWR | O_CREAT | O_TRUNC, 0644);
	ASSERT_LE(0, fd) TH_LOG("open %s: %s", path, strerror(errno));
	fill_pages(buf, npages, psize, seed);
	for (off = 0; off < size; off += step)
		ASSERT_EQ((ssize_t)step, pwrite(fd, buf + off, step, off));
	free(buf);
	return fd;
}

static int make_file(struct __test_metadata *_metadata, const char *path,
		     size_t npages, size_t psize, __u64 seed)
{
	return write_file(_metadata, path, npages, psize, seed, false);
}

/*
 * Read-fault every page of [p, p + size) in: the kernel copies a byte of
 * each through a pipe, which neither the compiler can drop nor a private
 * mapping turns into a copy-on-write.
 */
static void touch(struct __test_metadata *_metadata, const char *p,
		  size_t size)
{
	size_t off;
	int fds[2];
	char c;

	ASSERT_EQ(0, pipe(fds));
	for (off = 0; off < size; off += hmm_page_size()) {
		ASSERT_EQ(1, write(fds[1], p + off, 1));
		ASSERT_EQ(1, read(fds[0], &c, 1));
	}
	close(fds[0]);
	close(fds[1]);
}

/* Map a file and touch every page, so the device can reach it. */
static char *map_file(struct __test_metadata *_metadata, int fd, size_t size,
		      int flags)
{
	char *p;

	p = mmap(NULL, size, PROT_READ | PROT_WRITE, flags, fd, 0);
	ASSERT_NE(MAP_FAILED, p);
	touch(_metadata, p, size);
	return p;
}

/* read() sees every page's pattern. */
static void assert_read(struct __test_metadata *_metadata, int fd,
			size_t npages, size_t psize, __u64 seed)
{
	size_t size = npages * psize;
	char *buf = zalloc(_metadata, size);
	ssize_t bad;

	ASSERT_EQ((ssize_t)size, pread(fd, buf, size, 0));
	bad = bad_page(buf, npages, psize, seed);
	ASSERT_EQ(-1, bad) TH_LOG("read(): page %zd is wrong", bad);
	free(buf);
}

static void assert_mapped(struct __test_metadata *_metadata, const char *p,
			  size_t npages, size_t psize, __u64 seed)
{
	ssize_t bad = bad_page(p, npages, psize, seed);

	ASSERT_EQ(-1, bad) TH_LOG("mapping: page %zd is wrong", bad);
}

/* The mapping shows want, page by page. */
static void assert_mapped_as(struct __test_metadata *_metadata, const char *p,
			     const char *want, size_t size)
{
	size_t off;

	for (off = 0; off < size; off += hmm_page_size()) {
		ASSERT_EQ(0, memcmp(p + off, want + off, hmm_page_size()))
			TH_LOG("mapping: page %zu is wrong",
			       off / hmm_page_size());
	}
}

static struct hmm_nc_file_page *
migrate(struct __test_metadata *_metadata, struct hmm_env *e, void *p,
	size_t npages, __u32 mode, __u32 flags, __u64 want_moved)
{
	struct hmm_nc_file_page *recs = zalloc(_metadata,
					       npages * sizeof(*recs));
	struct hmm_nc_file_cmd cmd;

	ASSERT_EQ(0, hmm_migrate_file(e->dev, p, npages, mode, flags, recs,
				      &cmd));
	if (want_moved != ANY_MOVED)
		EXPECT_EQ(want_moved, cmd.moved);
	return recs;
}

/*
 * Page i moved through a callback of kind cb, its record shows the
 * flags in want, and the mapping now has its new page.
 */
static void assert_rec(struct __test_metadata *_metadata,
		       const struct hmm_nc_file_page *r, size_t i, int cb,
		       __u16 want, __u64 before, __u64 after)
{
	ASSERT_EQ(HMM_NC_PS_MOVED, r->status)
		TH_LOG("page %zu: %s (%d)", i, hmm_status_str(r->status),
		       r->result);
	EXPECT_EQ(cb, r->cb) TH_LOG("page %zu", i);
	EXPECT_EQ(want, r->flags & want)
		TH_LOG("page %zu: flags 0x%x, want 0x%x", i, r->flags, want);
	EXPECT_EQ(before, r->old_pfn) TH_LOG("page %zu", i);
	EXPECT_NE(r->old_pfn, r->new_pfn) TH_LOG("page %zu", i);
	EXPECT_EQ(r->new_pfn, after) TH_LOG("page %zu", i);
}

/*
 * Migrate a mapped range and check each page's record against pagemap:
 * every page moved through cb with the flags in want.
 */
static void migrate_all(struct __test_metadata *_metadata, struct hmm_env *e,
			char *p, size_t npages, __u32 mode, __u32 flags,
			int cb, __u16 want)
{
	__u64 *before = zalloc(_metadata, npages * sizeof(__u64));
	__u64 *after = zalloc(_metadata, npages * sizeof(__u64));
	struct hmm_nc_file_page *recs;
	size_t i;

	ASSERT_EQ(0, hmm_pagemap(p, npages, before));
	recs = migrate(_metadata, e, p, npages, mode, flags, npages);
	ASSERT_EQ(0, hmm_pagemap(p, npages, after));
	for (i = 0; i < npages; i++)
		assert_rec(_metadata, &recs[i], i, cb, want,
			   hmm_pm_pfn(before[i]), hmm_pm_pfn(after[i]));
	free(recs);
	free(before);
	free(after);
}

/* Nothing of the file is left in the page cache (mincore). */
static void assert_uncached(struct __test_metadata *_metadata, int fd,
			    size_t npages, size_t psize)
{
	unsigned char *vec = zalloc(_metadata, npages);
	void *p;
	size_t i;

	p = mmap(NULL, npages * psize, PROT_READ, MAP_SHARED, fd, 0);
	ASSERT_NE(MAP_FAILED, p);
	ASSERT_EQ(0, mincore(p, npages * psize, vec));
	for (i = 0; i < npages; i++) {
		ASSERT_EQ(0, vec[i] & 1) TH_LOG("page %zu still cached", i);
	}
	munmap(p, npages * psize);
	free(vec);
}

/*
 * fsync, drop the page cache (the caller has unmapped the file), and
 * read the data back from the disk.
 */
static void assert_on_disk(struct __test_metadata *_metadata, int fd,
			   size_t npages, size_t psize, __u64 seed)
{
	ASSERT_EQ(0, fsync(fd));
	sync();
	ASSERT_EQ(0, hmm_write_str("/proc/sys/vm/drop_caches", "3"));
	assert_uncached(_metadata, fd, npages, psize);
	assert_read(_metadata, fd, npages, psize, seed);
}

/*
 * Outside evidence of where the private state of a page (buffer heads,
 * iomap's per-block state: PG_private) and its dirtiness are: the PFNs
 * from /proc/self/pagemap, their flags from /proc/kpageflags, never the
 * module's own records. want: the flags every page must show.
 */
static void assert_kpf(struct __test_metadata *_metadata, const __u64 *pm,
		       size_t npages, __u64 want, const char *when)
{
	__u64 flags;
	size_t i;

	for (i = 0; i < npages; i++) {
		ASSERT_NE(0, hmm_pm_pfn(pm[i])) TH_LOG("%s: page %zu", when, i);
		ASSERT_EQ(0, hmm_kpageflags(hmm_pm_pfn(pm[i]), &flags));
		EXPECT_EQ(want, flags & want)
			TH_LOG("%s: page %zu, pfn 0x%llx: kpageflags 0x%llx",
			       when, i, (unsigned long long)hmm_pm_pfn(pm[i]),
			       (unsigned long long)flags);
	}
}

#define KPF_BIT(n)	(1ULL << HMM_KPF_##n)

/*
 * Writes back [0, size) of fd, data only (no inode, no journal commit,
 * no cache flush), and returns the sectors the disk wrote meanwhile, by
 * its own counter.
 */
static long long written_back(struct __test_metadata *_metadata, int fd,
			      size_t size, const char *disk)
{
	long long before = hmm_disk_sectors(disk, true), after;

	ASSERT_LE(0, before) TH_LOG("%s: no stat: %s", disk,
				    strerror((int)-before));
	ASSERT_EQ(0, sync_file_range(fd, 0, size,
				     SYNC_FILE_RANGE_WAIT_BEFORE |
				     SYNC_FILE_RANGE_WRITE |
				     SYNC_FILE_RANGE_WAIT_AFTER));
	after = hmm_disk_sectors(disk, true);
	ASSERT_LE(before, after);
	return after - before;
}

/* fsync, drop the cache, and the whole file reads back as want. */
static void assert_disk_holds(struct __test_metadata *_metadata, int fd,
			      const char *want, size_t size)
{
	char *got = zalloc(_metadata, size);
	size_t off;

	ASSERT_EQ(0, fsync(fd));
	ASSERT_EQ(0, hmm_write_str("/proc/sys/vm/drop_caches", "3"));
	ASSERT_EQ((ssize_t)size, pread(fd, got, size, 0));
	for (off = 0; off < size; off += hmm_page_size()) {
		ASSERT_EQ(0, memcmp(got + off, want + off, hmm_page_size()))
			TH_LOG("page %zu is wrong on the disk",
			       off / hmm_page_size());
	}
	free(got);
}

/* file: tmpfs (shmem), whose callback is migrate_folio(). */

/* An XFS of the test's own: a loop device over a file on a ramfs. */
struct xfs_disk {
	bool backed;		/* the ramfs is mounted on XFS_BACK */
	bool mounted;		/* the XFS is mounted on XFS_DIR */
	int loop;		/* the loop device, or -1 */
	char path[HMM_LOOP_PATH_LEN];
};

FIXTURE(file) {
	struct hmm_env e;
	struct xfs_disk xfs;
};

FIXTURE_SETUP(file)
{
	/* Mounts of its own, gone with the test (see libhmm.h). */
	ASSERT_EQ(0, hmm_private_mounts());
	self->xfs.loop = -1;
	env_setup(_metadata, &self->e);
	if (mount_tmpfs(FILE_DIR, "size=64m")) {
		close(self->e.dev);
		HMM_SETUP_SKIP("cannot mount tmpfs on %s", FILE_DIR);
	}
}

static void xfs_done(struct xfs_disk *x);

FIXTURE_TEARDOWN(file)
{
	close(self->e.dev);
	umount2(FILE_DIR, MNT_DETACH);
	xfs_done(&self->xfs);
}

/*
 * A second, fresh mapping of the file finds the same pages as the
 * first: the page cache holds the new pages, not only our page table.
 */
static void assert_cache_holds(struct __test_metadata *_metadata, int fd,
			       const char *p, size_t npages)
{
	size_t size = npages * hmm_page_size(), i;
	__u64 *a = zalloc(_metadata, npages * sizeof(__u64));
	__u64 *b = zalloc(_metadata, npages * sizeof(__u64));
	char *q = map_file(_metadata, fd, size, MAP_SHARED);

	ASSERT_EQ(0, hmm_pagemap(p, npages, a));
	ASSERT_EQ(0, hmm_pagemap(q, npages, b));
	for (i = 0; i < npages; i++) {
		ASSERT_EQ(hmm_pm_pfn(a[i]), hmm_pm_pfn(b[i])) TH_LOG("page %zu", i);
	}
	munmap(q, size);
	free(a);
	free(b);
}

/* Dirty shmem pages written with write(), mapped shared. */
static void shmem_dirty(struct __test_metadata *_metadata, struct hmm_env *e,
			size_t npages)
{
	size_t ps = e->ps, size = npages * ps;
	int fd = make_file(_metadata, FILE_DIR "/dirty", npages, ps, 10);
	char *p = map_file(_metadata, fd, size, MAP_SHARED);
	struct hmm_nc_counters d;

	migrate_all(_metadata, e, p, npages, NO_COPY, 0, HMM_NC_CB_FOLIO,
		    HMM_NC_FP_DIRTY | HMM_NC_FP_DIRTY_KEPT |
		    HMM_NC_FP_CACHED | HMM_NC_FP_OLD_CLEAR);
	assert_cache_holds(_metadata, fd, p, npages);
	assert_mapped(_metadata, p, npages, ps, 10);
	assert_read(_metadata, fd, npages, ps, 10);
	assert_counted(_metadata, e, HMM_NC_CB_FOLIO, NO_COPY, npages);
	env_delta(_metadata, e, &d);
	EXPECT_EQ(npages, d.pages_copied);

	/* The new pages take writes like the old ones did. */
	fill_pages(p, npages, ps, 20);
	assert_read(_metadata, fd, npages, ps, 20);
	munmap(p, size);
	close(fd);
}

TEST_F(file, shmem_dirty_nocopy_keeps_data_and_moves_slot)
{
	HMM_REQUIRE(self->e.dev, HMM_NEED_NOCOPY);
	shmem_dirty(_metadata, &self->e, 16);
}

/* More pages than one DMA batch: two batches, each copied once. */
TEST_F(file, shmem_dirty_nocopy_two_batches)
{
	struct hmm_nc_counters d;

	HMM_REQUIRE(self->e.dev, HMM_NEED_NOCOPY);

	shmem_dirty(_metadata, &self->e, HMM_NC_BATCH_PAGES + 3);
	env_delta(_metadata, &self->e, &d);
	EXPECT_EQ(2, d.batches);
	EXPECT_EQ(HMM_NC_BATCH_PAGES + 3, d.pages_copied);
}

/*
 * Pages faulted in by reading a hole: clean, and they stay clean. The
 * mapping is read-only: on 5.10 the device takes a page mapped writable
 * as written, since that kernel's migrate_vma_setup() would lose the
 * PTE's dirty bit (see dmirror_file_taken_dirty()).
 */
TEST_F(file, shmem_clean_nocopy_stays_clean)
{
	size_t npages = 8, ps = self->e.ps, size = npages * ps, i;
	struct hmm_nc_file_page *recs;
	ssize_t bad;
	char *p;
	int fd;

	HMM_REQUIRE(self->e.dev, HMM_NEED_NOCOPY);

	fd = open(FILE_DIR "/clean", O_RDWR | O_CREAT | O_TRUNC, 0644);
	ASSERT_LE(0, fd);
	ASSERT_EQ(0, ftruncate(fd, size));
	p = mmap(NULL, size, PROT_READ, MAP_SHARED, fd, 0);
	ASSERT_NE(MAP_FAILED, p);
	touch(_metadata, p, size);
	recs = migrate(_metadata, &self->e, p, npages, NO_COPY, 0, npages);
	for (i = 0; i < npages; i++) {
		ASSERT_EQ(HMM_NC_PS_MOVED, recs[i].status);
		EXPECT_EQ(0, recs[i].flags & (HMM_NC_FP_DIRTY |
					      HMM_NC_FP_DIRTY_KEPT));
		EXPECT_TRUE(recs[i].flags & HMM_NC_FP_CACHED);
	}
	bad = hmm_verify_word(p, size, 0);
	ASSERT_EQ(-1, bad) TH_LOG("not zero at %zd", bad);
	assert_counted(_metadata, &self->e, HMM_NC_CB_FOLIO, NO_COPY, npages);
	munmap(p, size);
	close(fd);
}

/*
 * Pages faulted in by reading a hole, then written through the shared
 * mapping: shmem has no write notification, so the write dirtied only
 * the PTEs. The migration must still take the pages as written: once
 * unmapped they survive drop_caches, which frees clean shmem pages and
 * what they held.
 */
TEST_F(file, shmem_written_through_mapping_nocopy_survives_drop_caches)
{
	size_t npages = 4, ps = self->e.ps, size = npages * ps, i;
	struct hmm_nc_file_page *recs;
	char *p;
	int fd;

	HMM_REQUIRE(self->e.dev, HMM_NEED_NOCOPY);

	fd = open(FILE_DIR "/written", O_RDWR | O_CREAT | O_TRUNC, 0644);
	ASSERT_LE(0, fd);
	ASSERT_EQ(0, ftruncate(fd, size));
	p = map_file(_metadata, fd, size, MAP_SHARED);
	fill_pages(p, npages, ps, 310);
	recs = migrate(_metadata, &self->e, p, npages, NO_COPY, 0, npages);
	for (i = 0; i < npages; i++) {
		ASSERT_EQ(HMM_NC_PS_MOVED, recs[i].status);
		EXPECT_TRUE(recs[i].flags & HMM_NC_FP_DIRTY_KEPT)
			TH_LOG("page %zu moved clean", i);
	}
	assert_mapped(_metadata, p, npages, ps, 310);
	ASSERT_EQ(0, munmap(p, size));
	ASSERT_EQ(0, hmm_write_str("/proc/sys/vm/drop_caches", "3"));
	assert_read(_metadata, fd, npages, ps, 310);
	free(recs);
	close(fd);
}

/*
 * A private mapping: the pages written through it are the process's own
 * copies (anonymous) and move as such; the others are the file's pages
 * and move for the file. Neither leaks into the other.
 */
TEST_F(file, shmem_private_cow_pages_stay_with_owner)
{
	size_t npages = 8, half = 4, ps = self->e.ps, size = npages * ps;
	int fd = make_file(_metadata, FILE_DIR "/private", npages, ps, 30);
	char *p = map_file(_metadata, fd, size, MAP_PRIVATE);
	struct hmm_nc_file_page *recs;
	size_t i;

	HMM_REQUIRE(self->e.dev, HMM_NEED_NOCOPY);

	fill_pages(p, half, ps, 40);
	recs = migrate(_metadata, &self->e, p, npages, NO_COPY, 0, npages);
	for (i = 0; i < npages; i++) {
		ASSERT_EQ(HMM_NC_PS_MOVED, recs[i].status) TH_LOG("page %zu", i);
		EXPECT_EQ(i < half ? HMM_NC_FP_ANON : HMM_NC_FP_CACHED,
			  recs[i].flags & (HMM_NC_FP_ANON | HMM_NC_FP_CACHED))
			TH_LOG("page %zu: flags 0x%x", i, recs[i].flags);
	}
	assert_mapped(_metadata, p, half, ps, 40);
	assert_mapped(_metadata, p + half * ps, npages - half, ps, 30 + half);
	assert_read(_metadata, fd, npages, ps, 30);
	assert_counted(_metadata, &self->e, HMM_NC_CB_FOLIO, NO_COPY, npages);
	munmap(p, size);
	close(fd);
}

/*
 * Under NO_COPY the kernel copies nothing: with the engine's copy
 * replaced by the sentinel, the file reads as the sentinel.
 */
TEST_F(file, shmem_nocopy_probe_leaves_sentinel)
{
	size_t npages = 8, ps = self->e.ps, size = npages * ps;
	int fd = make_file(_metadata, FILE_DIR "/probe", npages, ps, 50);
	char *p = map_file(_metadata, fd, size, MAP_SHARED);
	char *buf = zalloc(_metadata, size);
	struct hmm_nc_counters d;
	ssize_t bad;

	HMM_REQUIRE(self->e.dev, HMM_NEED_NOCOPY);

	migrate_all(_metadata, &self->e, p, npages, NO_COPY,
		    HMM_NC_MIGRATE_PROBE, HMM_NC_CB_FOLIO, HMM_NC_FP_CACHED);
	bad = hmm_verify_word(p, size, HMM_NC_SENTINEL);
	ASSERT_EQ(-1, bad) TH_LOG("mapping: data, not the sentinel, at %zd",
				  bad);
	ASSERT_EQ((ssize_t)size, pread(fd, buf, size, 0));
	bad = hmm_verify_word(buf, size, HMM_NC_SENTINEL);
	ASSERT_EQ(-1, bad) TH_LOG("read(): data, not the sentinel, at %zd",
				  bad);
	assert_counted(_metadata, &self->e, HMM_NC_CB_FOLIO, NO_COPY, npages);
	env_delta(_metadata, &self->e, &d);
	EXPECT_EQ(0, d.pages_copied);
	munmap(p, size);
	close(fd);
}

/* The control: under MIGRATE_SYNC the kernel copies over the sentinel. */
TEST_F(file, shmem_sync_probe_control_shows_data)
{
	size_t npages = 8, ps = self->e.ps, size = npages * ps;
	int fd = make_file(_metadata, FILE_DIR "/control", npages, ps, 60);
	char *p = map_file(_metadata, fd, size, MAP_SHARED);

	struct hmm_nc_counters d;

	migrate_all(_metadata, &self->e, p, npages, SYNC, HMM_NC_MIGRATE_PROBE,
		    HMM_NC_CB_FOLIO, HMM_NC_FP_CACHED);
	assert_mapped(_metadata, p, npages, ps, 60);
	assert_read(_metadata, fd, npages, ps, 60);
	assert_counted(_metadata, &self->e, HMM_NC_CB_FOLIO, SYNC, npages);
	env_delta(_metadata, &self->e, &d);
	EXPECT_EQ(0, d.pages_copied);
	munmap(p, size);
	close(fd);
}

/*
 * Pages the process does not map stay: a cached page no longer mapped
 * here is skipped, a hole is no page at all.
 */
TEST_F(file, unmapped_pages_are_reported_not_moved)
{
	size_t npages = 4, ps = self->e.ps, size = npages * ps, i;
	int fd = make_file(_metadata, FILE_DIR "/holes", npages, ps, 70);
	struct hmm_nc_file_page *recs;
	char *p;

	ASSERT_EQ(0, ftruncate(fd, 2 * size));
	p = mmap(NULL, 2 * size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	ASSERT_NE(MAP_FAILED, p);
	touch(_metadata, p, size);
	/* Unmapped from us, still in the page cache. */
	ASSERT_EQ(0, madvise(p + ps, ps, MADV_DONTNEED));
	recs = migrate(_metadata, &self->e, p, 2 * npages, SYNC, 0,
		       npages - 1);
	EXPECT_EQ(HMM_NC_PS_MOVED, recs[0].status);
	EXPECT_EQ(HMM_NC_PS_SKIPPED, recs[1].status);
	EXPECT_EQ(1, recs[1].index);
	EXPECT_NE(0, recs[1].old_pfn);
	EXPECT_EQ(HMM_NC_PS_MOVED, recs[2].status);
	for (i = npages; i < 2 * npages; i++) {
		EXPECT_EQ(HMM_NC_PS_NO_PAGE, recs[i].status) TH_LOG("page %zu", i);
	}
	assert_mapped(_metadata, p, npages, ps, 70);
	assert_counted(_metadata, &self->e, HMM_NC_CB_FOLIO, SYNC,
		       npages - 1);
	munmap(p, 2 * size);
	close(fd);
}

TEST_F(file, bad_arguments_are_refused_before_anything_moves)
{
	size_t npages = 4, ps = self->e.ps, size = npages * ps;
	int fd = make_file(_metadata, FILE_DIR "/bad", npages, ps, 80);
	int fd2 = make_file(_metadata, FILE_DIR "/bad2", npages, ps, 90);
	char *p = map_file(_metadata, fd, size, MAP_SHARED);
	char *anon = hmm_map_anon(size, PROT_READ | PROT_WRITE);
	struct hmm_nc_file_cmd cmd;
	char *two;
	int dev = self->e.dev;

	ASSERT_NE(NULL, anon);
	EXPECT_EQ(-EINVAL, hmm_migrate_file(dev, anon, npages, SYNC, 0,
					    NULL, NULL));
	EXPECT_EQ(-EINVAL, hmm_migrate_file(dev, p, npages, SYNC, 0x80,
					    NULL, NULL));
	EXPECT_EQ(-EINVAL, hmm_migrate_file(dev, p, npages, 7, 0, NULL,
					    NULL));
	EXPECT_EQ(-EINVAL, hmm_migrate_file(dev, p + 1, npages, SYNC, 0,
					    NULL, NULL));
	EXPECT_EQ(-EINVAL, hmm_migrate_file(dev, p, 0, SYNC, 0, NULL,
					    NULL));
	EXPECT_EQ(-EINVAL, hmm_migrate_file(dev, p, npages, SYNC,
					    HMM_NC_FILE_KERNEL_PAGES, NULL,
					    NULL));
	EXPECT_EQ(-EFAULT, hmm_migrate_file(dev, p, npages, SYNC, 0,
					    (void *)8, NULL));
	memset(&cmd, 0, sizeof(cmd));
	cmd.addr = (uintptr_t)p;
	cmd.npages = npages;
	cmd.reserved[3] = 1;
	EXPECT_EQ(-1, ioctl(dev, HMM_NC_MIGRATE_FILE, &cmd));
	EXPECT_EQ(EINVAL, errno);

	/* Two files side by side are two files: refused whole. */
	munmap(p, size);
	p = mmap(NULL, 2 * size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	ASSERT_NE(MAP_FAILED, p);
	two = mmap(p + size, size, PROT_READ | PROT_WRITE,
		   MAP_SHARED | MAP_FIXED, fd2, 0);
	ASSERT_EQ(p + size, two);
	EXPECT_EQ(-EINVAL, hmm_migrate_file(dev, p, 2 * npages, SYNC, 0,
					    NULL, NULL));
	assert_counted(_metadata, &self->e, HMM_NC_CB_FOLIO, SYNC, 0);
	munmap(p, 2 * size);
	munmap(anon, size);
	close(fd);
	close(fd2);
}

/* A reader that keeps read()ing a file and checking every page. */
struct reader {
	int fd;
	size_t npages;
	size_t psize;
	__u64 seed;
	atomic_bool stop;
	atomic_size_t reads;
	atomic_size_t bad;
};

static void *reader_run(void *arg)
{
	struct reader *r = arg;
	size_t size = r->npages * r->psize;
	char *buf = malloc(size);

	while (buf && !atomic_load(&r->stop)) {
		if (pread(r->fd, buf, size, 0) != (ssize_t)size ||
		    bad_page(buf, r->npages, r->psize, r->seed) >= 0)
			atomic_fetch_add(&r->bad, 1);
		atomic_fetch_add(&r->reads, 1);
	}
	free(buf);
	return NULL;
}

/*
 * Tally one round of a racing migration: a page moved, or was busy (the
 * reader held a reference: the callback said -EAGAIN), or was not even
 * collected (the same, seen earlier).
 */
static void tally(struct __test_metadata *_metadata,
		  const struct hmm_nc_file_page *recs, size_t npages,
		  __u64 *moved, __u64 *busy)
{
	size_t i;

	for (i = 0; i < npages; i++) {
		if (recs[i].status == HMM_NC_PS_MOVED)
			(*moved)++;
		else if (recs[i].status == HMM_NC_PS_BUSY)
			(*busy)++;
		else
			ASSERT_EQ(HMM_NC_PS_SKIPPED, recs[i].status)
				TH_LOG("page %zu: %s", i,
				       hmm_status_str(recs[i].status));
	}
}

/*
 * The data is copied while every page of the batch is locked and
 * unmapped, before the cache slot points at the new page: a read()
 * racing with the migrations, which looks pages up without their lock,
 * never sees a page without its data.
 */
TEST_F(file, nocopy_concurrent_read_never_sees_uncopied_data)
{
	size_t npages = 64, ps = self->e.ps, size = npages * ps, round;
	int fd = make_file(_metadata, FILE_DIR "/race", npages, ps, 75);
	char *p = map_file(_metadata, fd, size, MAP_SHARED);
	struct hmm_nc_file_page *recs = zalloc(_metadata,
					       npages * sizeof(*recs));
	struct reader r = { .fd = fd, .npages = npages, .psize = ps,
			    .seed = 75 };
	struct hmm_nc_counters d;
	__u64 moved = 0, busy = 0;
	pthread_t t;

	HMM_REQUIRE(self->e.dev, HMM_NEED_NOCOPY);

	ASSERT_EQ(0, pthread_create(&t, NULL, reader_run, &r));
	/* At least 50 rounds, and until the reader has read 20 times. */
	for (round = 0; round < 50 || (atomic_load(&r.reads) < 20 &&
				       round < 2000); round++) {
		ASSERT_EQ(0, hmm_migrate_file(self->e.dev, p, npages, NO_COPY,
					      0, recs, NULL));
		tally(_metadata, recs, npages, &moved, &busy);
		touch(_metadata, p, size);
	}
	atomic_store(&r.stop, true);
	ASSERT_EQ(0, pthread_join(t, NULL));
	TH_LOG("%zu rounds, %zu reads; %llu pages moved, %llu busy", round,
	       atomic_load(&r.reads),
	       (unsigned long long)moved, (unsigned long long)busy);
	EXPECT_EQ(0, atomic_load(&r.bad));
	EXPECT_LE(20, atomic_load(&r.reads));
	EXPECT_LT(0, moved);
	assert_mapped(_metadata, p, npages, ps, 75);
	env_delta(_metadata, &self->e, &d);
	EXPECT_EQ(moved, d.migrated[HMM_NC_CB_FOLIO][NO_COPY]);
	EXPECT_EQ(busy, d.failed[HMM_NC_CB_FOLIO][NO_COPY]);
	munmap(p, size);
	close(fd);
}

#define KPF_MLOCKED	33

/* An mlocked page's new page is mlocked too. */
TEST_F(file, shmem_mlocked_pages_stay_mlocked)
{
	size_t npages = 8, ps = self->e.ps, size = npages * ps, i;
	int fd = make_file(_metadata, FILE_DIR "/mlock", npages, ps, 77);
	char *p = map_file(_metadata, fd, size, MAP_SHARED);
	struct hmm_nc_file_page *recs;

	HMM_REQUIRE(self->e.dev, HMM_NEED_NOCOPY);

	ASSERT_EQ(0, mlock(p, size));
	recs = migrate(_metadata, &self->e, p, npages, NO_COPY, 0, npages);
	for (i = 0; i < npages; i++) {
		ASSERT_EQ(HMM_NC_PS_MOVED, recs[i].status) TH_LOG("page %zu", i);
		EXPECT_TRUE(page_flag(_metadata, recs[i].new_pfn, KPF_MLOCKED))
			TH_LOG("page %zu", i);
	}
	assert_mapped(_metadata, p, npages, ps, 77);
	assert_counted(_metadata, &self->e, HMM_NC_CB_FOLIO, NO_COPY, npages);
	munlock(p, size);
	munmap(p, size);
	close(fd);
}

/*
 * XFS: an iomap file system, whose pages migrate through
 * filemap_migrate_folio(). It needs 300 MiB at least: a sparse image on
 * a ramfs of its own, behind a loop device.
 */

/* Whether the kernel knows fstype (/proc/filesystems). */
static bool fs_known(const char *fstype)
{
	char line[128], *name;
	bool known = false;
	FILE *f = fopen("/proc/filesystems", "r");

	if (!f)
		return false;
	while (!known && fgets(line, sizeof(line), f)) {
		line[strcspn(line, "\n")] = 0;
		name = strrchr(line, '\t');
		known = !strcmp(name ? name + 1 : line, fstype);
	}
	fclose(f);
	return known;
}

/* Why XFS cannot be had here, or NULL. */
static const char *xfs_missing(void)
{
	if (!fs_known("xfs"))
		return "the kernel has no XFS (CONFIG_XFS_FS)";
	if (access("/sbin/mkfs.xfs", X_OK) || access("/sbin/xfs_repair", X_OK))
		return "no /sbin/mkfs.xfs or /sbin/xfs_repair in the guest";
	return NULL;
}

/* A fresh XFS with blocks of bsize bytes on XFS_DIR. */
static void xfs_mount(struct __test_metadata *_metadata, struct xfs_disk *x,
		      unsigned int bsize)
{
	char mkfs[64];
	int ret;

	ASSERT_EQ(0, mount_image_dir(XFS_BACK));
	x->backed = true;
	snprintf(mkfs, sizeof(mkfs), "/sbin/mkfs.xfs -q -f -b size=%u", bsize);
	x->loop = mkfs_loop(XFS_BACK, 384LL << 20, mkfs, x->path,
			    sizeof(x->path));
	ASSERT_LE(0, x->loop) TH_LOG("no XFS on a loop device: %s",
				     strerror(-x->loop));
	ret = mount_dev(x->path, XFS_DIR, "xfs", NULL);
	ASSERT_EQ(0, ret) TH_LOG("mount %s: %s", x->path, strerror(-ret));
	x->mounted = true;
}

/*
 * After a failed assertion the test may still hold a file open: the
 * file system goes when the test's process does, and the loop device
 * (set to clear itself) with it.
 */
static void xfs_done(struct xfs_disk *x)
{
	if (x->mounted)
		umount2(XFS_DIR, MNT_DETACH);
	x->mounted = false;
	if (x->loop >= 0)
		close(x->loop);
	x->loop = -1;
	if (x->backed)
		umount2(XFS_BACK, MNT_DETACH);
	x->backed = false;
}

/* Why XFS cannot be had here, or NULL with a fresh XFS mounted. */
static const char *xfs_begin(struct __test_metadata *_metadata,
			     struct xfs_disk *x, unsigned int bsize)
{
	const char *why = xfs_missing();

	if (!why)
		xfs_mount(_metadata, x, bsize);
	return why;
}

/*
 * Dirty XFS pages written with write() (delayed allocation, no buffer
 * heads): filemap_migrate_folio() moves their state in NO_COPY mode,
 * the engine the data; the dirty data reaches the disk.
 */
TEST_F(file, xfs_dirty_nocopy_through_filemap_migrate_folio)
{
	size_t npages = 16, ps = self->e.ps, size = npages * ps;
	struct hmm_nc_counters d;
	char *p;
	const char *why;
	int fd;

	HMM_REQUIRE(self->e.dev, HMM_NEED_NOCOPY);

	why = xfs_begin(_metadata, &self->xfs, XFS_BSIZE);
	if (why)
		SKIP(return, "%s", why);
	fd = write_file(_metadata, XFS_DIR "/dirty", npages, ps, 190, true);
	p = map_file(_metadata, fd, size, MAP_SHARED);
	migrate_all(_metadata, &self->e, p, npages, NO_COPY, 0,
		    HMM_NC_CB_FILEMAP,
		    HMM_NC_FP_DIRTY | HMM_NC_FP_DIRTY_KEPT |
		    HMM_NC_FP_CACHED | HMM_NC_FP_OLD_CLEAR);
	assert_cache_holds(_metadata, fd, p, npages);
	assert_mapped(_metadata, p, npages, ps, 190);
	assert_read(_metadata, fd, npages, ps, 190);
	assert_counted(_metadata, &self->e, HMM_NC_CB_FILEMAP, NO_COPY,
		       npages);
	env_delta(_metadata, &self->e, &d);
	EXPECT_EQ(npages, d.pages_copied);
	TH_LOG("filemap_migrate_folio: %llu pages in NO_COPY, %llu in SYNC",
	       (unsigned long long)d.migrated[HMM_NC_CB_FILEMAP][NO_COPY],
	       (unsigned long long)d.migrated[HMM_NC_CB_FILEMAP][SYNC]);
	munmap(p, size);
	assert_on_disk(_metadata, fd, npages, ps, 190);
	close(fd);
	assert_fsck_clean(_metadata, XFS_DIR, &self->xfs.mounted, XFS_CHECK,
			  self->xfs.path);
}

/*
 * Clean XFS pages (written back before the move) stay clean; writes
 * through the mapping afterwards dirty the new pages and reach the disk.
 */
TEST_F(file, xfs_clean_nocopy_stays_clean_and_takes_writes)
{
	size_t npages = 16, ps = self->e.ps, size = npages * ps, i;
	struct hmm_nc_file_page *recs;
	char *p;
	const char *why;
	int fd;

	HMM_REQUIRE(self->e.dev, HMM_NEED_NOCOPY);

	why = xfs_begin(_metadata, &self->xfs, XFS_BSIZE);
	if (why)
		SKIP(return, "%s", why);
	fd = write_file(_metadata, XFS_DIR "/clean", npages, ps, 200, true);
	ASSERT_EQ(0, fsync(fd));
	p = map_file(_metadata, fd, size, MAP_SHARED);
	recs = migrate(_metadata, &self->e, p, npages, NO_COPY, 0, npages);
	for (i = 0; i < npages; i++) {
		ASSERT_EQ(HMM_NC_PS_MOVED, recs[i].status) TH_LOG("page %zu", i);
		EXPECT_EQ(HMM_NC_CB_FILEMAP, recs[i].cb) TH_LOG("page %zu", i);
		EXPECT_EQ(HMM_NC_FP_CACHED | HMM_NC_FP_OLD_CLEAR,
			  recs[i].flags) TH_LOG("page %zu", i);
		EXPECT_NE(recs[i].old_pfn, recs[i].new_pfn);
	}
	assert_cache_holds(_metadata, fd, p, npages);
	assert_mapped(_metadata, p, npages, ps, 200);
	assert_read(_metadata, fd, npages, ps, 200);
	assert_counted(_metadata, &self->e, HMM_NC_CB_FILEMAP, NO_COPY,
		       npages);

	fill_pages(p, npages, ps, 210);
	ASSERT_EQ(0, msync(p, size, MS_SYNC));
	munmap(p, size);
	assert_on_disk(_metadata, fd, npages, ps, 210);
	close(fd);
	assert_fsck_clean(_metadata, XFS_DIR, &self->xfs.mounted, XFS_CHECK,
			  self->xfs.path);
}

/*
 * Under NO_COPY filemap_migrate_folio() copies nothing: the sentinel
 * the probe left is what the mapping, read() and, after writeback, the
 * disk show.
 */
TEST_F(file, xfs_nocopy_probe_leaves_sentinel)
{
	size_t npages = 8, ps = self->e.ps, size = npages * ps;
	struct hmm_nc_counters d;
	ssize_t bad;
	char *p, *buf;
	const char *why;
	int fd;

	HMM_REQUIRE(self->e.dev, HMM_NEED_NOCOPY);

	why = xfs_begin(_metadata, &self->xfs, XFS_BSIZE);
	if (why)
		SKIP(return, "%s", why);
	fd = write_file(_metadata, XFS_DIR "/probe", npages, ps, 220, true);
	p = map_file(_metadata, fd, size, MAP_SHARED);
	buf = zalloc(_metadata, size);
	migrate_all(_metadata, &self->e, p, npages, NO_COPY,
		    HMM_NC_MIGRATE_PROBE, HMM_NC_CB_FILEMAP,
		    HMM_NC_FP_DIRTY_KEPT | HMM_NC_FP_CACHED);
	bad = hmm_verify_word(p, size, HMM_NC_SENTINEL);
	ASSERT_EQ(-1, bad) TH_LOG("mapping: data, not the sentinel, at %zd",
				  bad);
	ASSERT_EQ((ssize_t)size, pread(fd, buf, size, 0));
	bad = hmm_verify_word(buf, size, HMM_NC_SENTINEL);
	ASSERT_EQ(-1, bad) TH_LOG("read(): data, not the sentinel, at %zd",
				  bad);
	munmap(p, size);
	ASSERT_EQ(0, fsync(fd));
	ASSERT_EQ(0, hmm_write_str("/proc/sys/vm/drop_caches", "3"));
	memset(buf, 0, size);
	ASSERT_EQ((ssize_t)size, pread(fd, buf, size, 0));
	bad = hmm_verify_word(buf, size, HMM_NC_SENTINEL);
	ASSERT_EQ(-1, bad) TH_LOG("disk: data, not the sentinel, at %zd", bad);
	assert_counted(_metadata, &self->e, HMM_NC_CB_FILEMAP, NO_COPY,
		       npages);
	env_delta(_metadata, &self->e, &d);
	EXPECT_EQ(0, d.pages_copied);
	free(buf);
	close(fd);
	assert_fsck_clean(_metadata, XFS_DIR, &self->xfs.mounted, XFS_CHECK,
			  self->xfs.path);
}

/*
 * Page i of the sub-block test: seed 240 + i, as write_file() wrote it,
 * but for its second block, rewritten from a page of seed 250 + i.
 * tmp: a page of scratch.
 */
static void sub_block_page(char *page, char *tmp, size_t ps, size_t i)
{
	hmm_fill(page, ps, 240 + i);
	hmm_fill(tmp, ps, 250 + i);
	memcpy(page + XFS_SUB_BSIZE, tmp + XFS_SUB_BSIZE, XFS_SUB_BSIZE);
}

/* Page i of the file reads back as want. */
static void assert_page_read(struct __test_metadata *_metadata, int fd,
			     size_t i, size_t ps, const char *want)
{
	char *got = zalloc(_metadata, ps);

	ASSERT_EQ((ssize_t)ps, pread(fd, got, ps, i * ps));
	EXPECT_EQ(0, memcmp(got, want, ps)) TH_LOG("page %zu", i);
	free(got);
}

/*
 * XFS with 1 KiB blocks keeps per-block state in each page's private
 * data. In 6.1 that is which blocks are uptodate (which are dirty it
 * tracks from 6.6), and a page the migration can collect is mapped, so
 * uptodate whole (the fault read every block in): writeback writes
 * every block of a dirty page, whatever block was written. What is seen
 * from outside the module: the private data are on the new page right
 * after the move (PG_private in kpageflags, at the PFN pagemap gives;
 * state lost on the way would be made again only by the next write or
 * writeback), the disk writes the pages' four blocks each, the
 * rewritten block reaches the disk and the others stay right.
 */
TEST_F(file, xfs_sub_page_blocks_nocopy_moves_per_block_state)
{
	size_t npages = 16, ps = self->e.ps, size = npages * ps, i;
	__u64 *pm = zalloc(_metadata, npages * sizeof(__u64));
	long long sectors;
	char *p, *page, *tmp;
	const char *why;
	int fd;

	HMM_REQUIRE(self->e.dev, HMM_NEED_NOCOPY);

	why = xfs_begin(_metadata, &self->xfs, XFS_SUB_BSIZE);
	if (why)
		SKIP(return, "%s", why);
	fd = write_file(_metadata, XFS_DIR "/blocks", npages, ps, 240, true);
	/* Nothing older left to write back, the log included. */
	ASSERT_EQ(0, syncfs(fd));
	page = zalloc(_metadata, ps);
	tmp = zalloc(_metadata, ps);
	p = map_file(_metadata, fd, size, MAP_SHARED);
	for (i = 0; i < npages; i++) {
		sub_block_page(page, tmp, ps, i);
		ASSERT_EQ(XFS_SUB_BSIZE,
			  pwrite(fd, page + XFS_SUB_BSIZE, XFS_SUB_BSIZE,
				 i * ps + XFS_SUB_BSIZE));
	}
	ASSERT_EQ(0, hmm_pagemap(p, npages, pm));
	assert_kpf(_metadata, pm, npages, KPF_BIT(PRIVATE) | KPF_BIT(DIRTY),
		   "before the move");
	migrate_all(_metadata, &self->e, p, npages, NO_COPY, 0,
		    HMM_NC_CB_FILEMAP,
		    HMM_NC_FP_DIRTY | HMM_NC_FP_DIRTY_KEPT |
		    HMM_NC_FP_PRIVATE | HMM_NC_FP_PRIVATE_MOVED |
		    HMM_NC_FP_CACHED | HMM_NC_FP_OLD_CLEAR);
	ASSERT_EQ(0, hmm_pagemap(p, npages, pm));
	assert_kpf(_metadata, pm, npages, KPF_BIT(PRIVATE) | KPF_BIT(DIRTY),
		   "after the move");
	assert_cache_holds(_metadata, fd, p, npages);
	sectors = written_back(_metadata, fd, size, self->xfs.path);
	TH_LOG("writeback of %zu pages with one block rewritten each: %lld sectors",
	       npages, sectors);
	EXPECT_EQ((long long)(size / 512), sectors);
	munmap(p, size);
	ASSERT_EQ(0, fsync(fd));
	ASSERT_EQ(0, hmm_write_str("/proc/sys/vm/drop_caches", "3"));
	for (i = 0; i < npages; i++) {
		sub_block_page(page, tmp, ps, i);
		assert_page_read(_metadata, fd, i, ps, page);
	}
	assert_counted(_metadata, &self->e, HMM_NC_CB_FILEMAP, NO_COPY,
		       npages);
	free(page);
	free(tmp);
	free(pm);
	close(fd);
	assert_fsck_clean(_metadata, XFS_DIR, &self->xfs.mounted, XFS_CHECK,
			  self->xfs.path);
}

/* The control: under MIGRATE_SYNC filemap_migrate_folio() copies. */
TEST_F(file, xfs_sync_probe_control_shows_data)
{
	size_t npages = 8, ps = self->e.ps, size = npages * ps;
	char *p;
	const char *why;
	int fd;

	why = xfs_begin(_metadata, &self->xfs, XFS_BSIZE);
	if (why)
		SKIP(return, "%s", why);
	fd = write_file(_metadata, XFS_DIR "/control", npages, ps, 230, true);
	p = map_file(_metadata, fd, size, MAP_SHARED);
	migrate_all(_metadata, &self->e, p, npages, SYNC, HMM_NC_MIGRATE_PROBE,
		    HMM_NC_CB_FILEMAP, HMM_NC_FP_DIRTY_KEPT | HMM_NC_FP_CACHED);
	assert_mapped(_metadata, p, npages, ps, 230);
	assert_read(_metadata, fd, npages, ps, 230);
	munmap(p, size);
	assert_on_disk(_metadata, fd, npages, ps, 230);
	assert_counted(_metadata, &self->e, HMM_NC_CB_FILEMAP, SYNC, npages);
	close(fd);
	assert_fsck_clean(_metadata, XFS_DIR, &self->xfs.mounted, XFS_CHECK,
			  self->xfs.path);
}

/*
 * The kernel's own migrate_vma_pages() with system-memory destinations
 * on shmem pages: a correct kernel leaves the old page without its
 * mapping, as every migration of a page-cache page must. 6.1 does not
 * ("Bad page state ... non-NULL mapping" when the old page is freed):
 * known-issues, beside this file, lists this test, to run last.
 */
TEST_F(file, kernel_migrate_vma_pages_clears_old_shmem_mapping)
{
	size_t ps = self->e.ps;
	int fd = make_file(_metadata, FILE_DIR "/kernel", 1, ps, 100);
	char *p = map_file(_metadata, fd, ps, MAP_SHARED);
	struct hmm_nc_file_page *recs;
	struct hmm_nc_counters d;

	recs = migrate(_metadata, &self->e, p, 1, NO_COPY,
		       HMM_NC_FILE_KERNEL_PAGES, 1);
	ASSERT_EQ(HMM_NC_PS_MOVED, recs[0].status);
	assert_mapped(_metadata, p, 1, ps, 100);
	assert_read(_metadata, fd, 1, ps, 100);
	env_delta(_metadata, &self->e, &d);
	EXPECT_EQ(1, d.migrated[HMM_NC_CB_DEVICE][NO_COPY]);
	EXPECT_TRUE(recs[0].flags & HMM_NC_FP_CACHED);
	EXPECT_TRUE(recs[0].flags & HMM_NC_FP_OLD_CLEAR)
		TH_LOG("the old page keeps its mapping: freeing it is a bad page");
	munmap(p, ps);
	close(fd);
}

/*
 * The kernel's own device path (MIGRATE_TO_DEV) over a shared tmpfs
 * mapping collects the page, unmaps it, leaves it in system memory (only
 * anonymous memory moves to the device) and maps it back. A write made
 * through the mapping before, which dirtied only the PTE, must survive
 * as above. 5.10's migrate_vma_setup() drops the dirty bit of the PTE
 * it replaces, and drop_caches frees the page with the data:
 * known-issues, beside this file, lists this test.
 */
TEST_F(file, kernel_migrate_vma_setup_keeps_pte_dirty_of_shmem_page)
{
	size_t ps = self->e.ps;
	char *mirror = zalloc(_metadata, ps);
	struct hmm_dmirror_cmd cmd;
	struct hmm_nc_counters d;
	char *p;
	int fd;

	fd = open(FILE_DIR "/pte_dirty", O_RDWR | O_CREAT | O_TRUNC, 0644);
	ASSERT_LE(0, fd);
	ASSERT_EQ(0, ftruncate(fd, ps));
	p = map_file(_metadata, fd, ps, MAP_SHARED);
	fill_pages(p, 1, ps, 320);
	/* Nothing moved: the device has no page of the range to show. */
	EXPECT_EQ(-ENOENT, hmm_cmd(self->e.dev, HMM_DMIRROR_MIGRATE_TO_DEV, p,
				   mirror, 1, &cmd));
	env_delta(_metadata, &self->e, &d);
	EXPECT_EQ(1, d.pages_taken) TH_LOG("the kernel did not collect the page");
	EXPECT_EQ(0, d.migrated[HMM_NC_CB_DEVICE][NO_COPY]);
	assert_mapped(_metadata, p, 1, ps, 320);
	ASSERT_EQ(0, munmap(p, ps));
	ASSERT_EQ(0, hmm_write_str("/proc/sys/vm/drop_caches", "3"));
	assert_read(_metadata, fd, 1, ps, 320);
	free(mirror);
	close(fd);
}

/*
 * bufferhead: ext2 and ext4 with 1 KiB blocks, so each page carries four
 * buffer heads, and ext4 with 4 KiB blocks (ext4_4k, one a page); their
 * callback is buffer_migrate_folio(). Where the buffer heads went is
 * also seen from outside the module: PG_private in /proc/kpageflags on
 * the PFN pagemap gives, and what writeback writes by the disk's own
 * counter (/sys/block/loopN/stat).
 *
 * Each file system is on a free loop device of the test's own, over an
 * unnamed file on a ramfs (IMG_DIR); the ext2_loop variant's file is on
 * an ext2 of its own instead (BACK_DIR, itself on such a loop device),
 * which a test can freeze to keep the loop device's writes, and so the
 * pages' writeback, in flight.
 */
struct bh_disks {
	bool img_mounted;	/* the ramfs on IMG_DIR */
	bool back_mounted;	/* the backing ext2 on BACK_DIR */
	int back;		/* the backing ext2's loop device, or -1 */
	int loop;		/* the test's loop device, or -1 */
	char back_path[HMM_LOOP_PATH_LEN];
	char path[HMM_LOOP_PATH_LEN];
};

FIXTURE(bufferhead) {
	struct hmm_env e;
	bool mounted;
	bool frozen;	/* the loop device's backing file system */
	long flusher;	/* vm.dirty_writeback_centisecs before, or -1 */
	struct bh_disks d;
};

struct bh_fs {
	const char *fstype;
	const char *mkfs;	/* the command, less the device */
	bool backed;		/* on a backing ext2 that can be frozen */
	const char *opts;	/* mount options, or NULL */
};

FIXTURE_VARIANT(bufferhead) {
	struct bh_fs fs;
};

FIXTURE_VARIANT_ADD(bufferhead, ext2) {
	.fs = { "ext2", "/sbin/mkfs.ext2 -q -F -b 1024", false },
};

/*
 * Nothing writes to an ext4 behind a test's back, which counts what its
 * disk writes: no lazy-init thread (inode tables written by mkfs), and
 * the journal commits when asked to (fsync, sync, unmount), not every
 * 5 seconds.
 */
FIXTURE_VARIANT_ADD(bufferhead, ext4) {
	.fs = { "ext4", "/sbin/mkfs.ext4 -q -F -b 1024 -E lazy_itable_init=0",
		false, "commit=600" },
};

FIXTURE_VARIANT_ADD(bufferhead, ext2_loop) {
	.fs = { "ext2", "/sbin/mkfs.ext2 -q -F -b 1024", true },
};

/* A block a page: one buffer head each. */
FIXTURE_VARIANT_ADD(bufferhead, ext4_4k) {
	.fs = { "ext4", "/sbin/mkfs.ext4 -q -F -b 4096 -E lazy_itable_init=0",
		false, "commit=600" },
};

/* The ext2 that holds the test's disk image, on BACK_DIR. */
static int bh_backing(struct bh_disks *d)
{
	int ret;

	d->back = mkfs_loop(IMG_DIR, 64LL << 20, "/sbin/mkfs.ext2 -q -F",
			    d->back_path, sizeof(d->back_path));
	if (d->back < 0)
		return d->back;
	ret = mount_dev(d->back_path, BACK_DIR, "ext2", NULL);
	d->back_mounted = !ret;
	return ret;
}

/* A fresh file system of kind v on BH_DIR. */
static int bh_mount(struct bh_disks *d, const struct bh_fs *v)
{
	int ret = mount_image_dir(IMG_DIR);

	if (ret)
		return ret;
	d->img_mounted = true;
	if (v->backed) {
		ret = bh_backing(d);
		if (ret)
			return ret;
	}
	d->loop = mkfs_loop(v->backed ? BACK_DIR : IMG_DIR, 48LL << 20, v->mkfs,
			    d->path, sizeof(d->path));
	if (d->loop < 0)
		return d->loop;
	return mount_dev(d->path, BH_DIR, v->fstype, v->opts);
}

/* The loop devices clear themselves once closed and unmounted. */
static void bh_done(struct bh_disks *d)
{
	if (d->loop >= 0)
		close(d->loop);
	d->loop = -1;
	if (d->back_mounted)
		umount2(BACK_DIR, MNT_DETACH);
	d->back_mounted = false;
	if (d->back >= 0)
		close(d->back);
	d->back = -1;
	if (d->img_mounted)
		umount2(IMG_DIR, MNT_DETACH);
	d->img_mounted = false;
}

static int freeze(const char *dir, bool on)
{
	int fd = open(dir, O_RDONLY);
	int ret;

	if (fd < 0)
		return -errno;
	ret = ioctl(fd, on ? FIFREEZE : FITHAW, 0);
	close(fd);
	return ret ? -errno : 0;
}

#define FLUSHER_SYSCTL	"/proc/sys/vm/dirty_writeback_centisecs"

/* The periodic flusher's interval (0: it never runs); 0 or -errno. */
static int flusher_set(long centisecs)
{
	char val[24];

	snprintf(val, sizeof(val), "%ld", centisecs);
	return hmm_write_str(FLUSHER_SYSCTL, val);
}

FIXTURE_SETUP(bufferhead)
{
	int ret;

	/* Mounts of its own, gone with the test (see libhmm.h). */
	ASSERT_EQ(0, hmm_private_mounts());
	env_setup(_metadata, &self->e);
	self->d.back = -1;
	self->d.loop = -1;
	self->flusher = -1;
	ret = bh_mount(&self->d, &variant->fs);
	if (ret) {
		close(self->e.dev);
		bh_done(&self->d);
		HMM_SETUP_SKIP("no %s on a loop device: %s", variant->fs.fstype, strerror(-ret));
	}
	self->mounted = true;
}

FIXTURE_TEARDOWN(bufferhead)
{
	close(self->e.dev);
	if (self->frozen)
		freeze(BACK_DIR, false);
	if (self->mounted)
		umount2(BH_DIR, MNT_DETACH);
	bh_done(&self->d);
	if (self->flusher >= 0)
		flusher_set(self->flusher);
}

/*
 * Dirty pages written with write(): state and buffer heads move to the
 * new pages, writes through the mapping afterwards reach the disk.
 */
TEST_F(bufferhead, nocopy_moves_buffer_heads_and_dirty_data)
{
	size_t npages = 16, ps = self->e.ps, size = npages * ps;
	int fd = make_file(_metadata, BH_DIR "/dirty", npages, ps, 110);
	char *p = map_file(_metadata, fd, size, MAP_SHARED);

	HMM_REQUIRE(self->e.dev, HMM_NEED_NOCOPY);

	migrate_all(_metadata, &self->e, p, npages, NO_COPY, 0,
		    HMM_NC_CB_BUFFER,
		    HMM_NC_FP_DIRTY | HMM_NC_FP_DIRTY_KEPT |
		    HMM_NC_FP_BUFFERS | HMM_NC_FP_BH_MOVED |
		    HMM_NC_FP_CACHED | HMM_NC_FP_OLD_CLEAR);
	assert_mapped(_metadata, p, npages, ps, 110);
	assert_read(_metadata, fd, npages, ps, 110);
	assert_counted(_metadata, &self->e, HMM_NC_CB_BUFFER, NO_COPY, npages);
	munmap(p, size);
	assert_on_disk(_metadata, fd, npages, ps, 110);
	close(fd);
	assert_fsck_clean(_metadata, BH_DIR, &self->mounted, E2FSCK, self->d.path);
}

/* The new pages take writes through the mapping, and write them back. */
TEST_F(bufferhead, nocopy_new_pages_take_writes_to_disk)
{
	size_t npages = 8, ps = self->e.ps, size = npages * ps;
	int fd = make_file(_metadata, BH_DIR "/rewrite", npages, ps, 115);
	char *p;

	HMM_REQUIRE(self->e.dev, HMM_NEED_NOCOPY);

	ASSERT_EQ(0, fsync(fd));
	p = map_file(_metadata, fd, size, MAP_SHARED);
	migrate_all(_metadata, &self->e, p, npages, NO_COPY, 0,
		    HMM_NC_CB_BUFFER, HMM_NC_FP_BH_MOVED | HMM_NC_FP_CACHED);
	fill_pages(p, npages, ps, 120);
	ASSERT_EQ(0, msync(p, size, MS_SYNC));
	munmap(p, size);
	assert_on_disk(_metadata, fd, npages, ps, 120);
	assert_counted(_metadata, &self->e, HMM_NC_CB_BUFFER, NO_COPY, npages);
	close(fd);
	assert_fsck_clean(_metadata, BH_DIR, &self->mounted, E2FSCK, self->d.path);
}

/*
 * The writeback test's disk when the variant's is on the ramfs, which
 * cannot be frozen: a fresh file system of the variant's kind on a loop
 * device over a file on a backing ext2 (the ext2_loop variant's kind of
 * disk), on BH_DIR in place of the fixture's. Freezing the backing ext2
 * holds the loop device's writes, so the pages' writeback, in flight for
 * exactly as long as the test needs, whatever the host's speed.
 */
static int bh_mount_backed(FIXTURE_DATA(bufferhead) * self,
			   const struct bh_fs *v)
{
	struct bh_fs backed = *v;
	int ret;

	if (umount(BH_DIR))
		return -errno;
	self->mounted = false;
	bh_done(&self->d);
	backed.backed = true;
	ret = bh_mount(&self->d, &backed);
	if (!ret)
		self->mounted = true;
	return ret;
}

/*
 * Of a file of WB_PAGES pages: pages [0, WB_FIRST) clean, written back
 * before; [WB_FIRST, WB_LAST) rewritten and put under writeback
 * (sync_file_range() WRITE without WAIT), which stays in flight: the
 * loop device's backing file system is frozen; [WB_LAST, WB_PAGES)
 * rewritten and left dirty. /proc/kpageflags shows which pages are
 * under writeback. A NO_COPY migration of the whole file leaves exactly
 * the pages under writeback where they are (HMM_NC_PS_WRITEBACK, same
 * PFN, still under writeback afterwards: the write really was in flight
 * all along) and moves every other page (the dirty ones still dirty).
 * Once the writeback completes, the disk holds every page's latest data.
 */
#define WB_PAGES	16
#define WB_FIRST	4
#define WB_LAST		12

TEST_F_TIMEOUT(bufferhead, nocopy_writeback_pages_stay_or_move, 120)
{
	size_t npages = WB_PAGES, ps = self->e.ps, size = npages * ps, i;
	size_t rewrite = (WB_PAGES - WB_FIRST) * ps;
	__u64 before[WB_PAGES], after[WB_PAGES];
	struct hmm_nc_file_page *recs;
	struct hmm_nc_counters d;
	char *p, *want;
	bool wb, dirty;
	int fd, ret;

	HMM_REQUIRE(self->e.dev, HMM_NEED_NOCOPY);

	if (!variant->fs.backed) {
		ret = bh_mount_backed(self, &variant->fs);
		ASSERT_EQ(0, ret) TH_LOG("%s on a loop device over an ext2: %s",
					 variant->fs.fstype, strerror(-ret));
	}
	/*
	 * The periodic flusher would write the dirty pages back too once
	 * the inode is 30 s dirty (it is since make_file(): fsync does not
	 * mark it clean), which a slow device and a loaded host reach.
	 */
	self->flusher = hmm_read_long(FLUSHER_SYSCTL);
	ASSERT_LE(0, self->flusher);
	ASSERT_EQ(0, flusher_set(0));
	want = zalloc(_metadata, size);
	fill_pages(want, WB_FIRST, ps, 125);
	fill_pages(want + WB_FIRST * ps, WB_PAGES - WB_FIRST, ps, 140);
	fd = make_file(_metadata, BH_DIR "/wb", npages, ps, 125);
	ASSERT_EQ(0, fsync(fd));
	p = map_file(_metadata, fd, size, MAP_SHARED);
	ASSERT_EQ((ssize_t)rewrite, pwrite(fd, want + WB_FIRST * ps, rewrite,
					   WB_FIRST * ps));
	ASSERT_EQ(0, freeze(BACK_DIR, true));
	self->frozen = true;
	ASSERT_EQ(0, sync_file_range(fd, WB_FIRST * ps, (WB_LAST - WB_FIRST) * ps,
				     SYNC_FILE_RANGE_WRITE));
	ASSERT_EQ(0, hmm_pagemap(p, npages, before));
	for (i = 0; i < npages; i++) {
		wb = i >= WB_FIRST && i < WB_LAST;
		ASSERT_EQ(wb, page_flag(_metadata, hmm_pm_pfn(before[i]), HMM_KPF_WRITEBACK))
			TH_LOG("page %zu: writeback flag", i);
	}

	recs = zalloc(_metadata, npages * sizeof(*recs));
	ASSERT_EQ(0, hmm_migrate_file(self->e.dev, p, npages, NO_COPY, 0,
				      recs, NULL));
	ASSERT_EQ(0, hmm_pagemap(p, npages, after));
	for (i = 0; i < npages; i++) {
		wb = i >= WB_FIRST && i < WB_LAST;
		dirty = i >= WB_LAST;
		EXPECT_EQ(hmm_pm_pfn(before[i]), recs[i].old_pfn)
			TH_LOG("page %zu", i);
		if (wb) {
			EXPECT_EQ(HMM_NC_PS_WRITEBACK, recs[i].status)
				TH_LOG("page %zu: %s", i,
				       hmm_status_str(recs[i].status));
			EXPECT_EQ(0, recs[i].new_pfn) TH_LOG("page %zu", i);
			EXPECT_EQ(hmm_pm_pfn(before[i]), hmm_pm_pfn(after[i]))
				TH_LOG("page %zu moved", i);
			EXPECT_TRUE(page_flag(_metadata, hmm_pm_pfn(after[i]), HMM_KPF_WRITEBACK))
				TH_LOG("page %zu: writeback over too soon", i);
			continue;
		}
		EXPECT_EQ(HMM_NC_PS_MOVED, recs[i].status)
			TH_LOG("page %zu: %s (%d)", i,
			       hmm_status_str(recs[i].status), recs[i].result);
		EXPECT_EQ(HMM_NC_CB_BUFFER, recs[i].cb) TH_LOG("page %zu", i);
		EXPECT_NE(hmm_pm_pfn(before[i]), hmm_pm_pfn(after[i]))
			TH_LOG("page %zu stayed", i);
		EXPECT_EQ(recs[i].new_pfn, hmm_pm_pfn(after[i]))
			TH_LOG("page %zu", i);
		EXPECT_EQ(HMM_NC_FP_BH_MOVED | HMM_NC_FP_CACHED,
			  recs[i].flags & (HMM_NC_FP_BH_MOVED |
					   HMM_NC_FP_CACHED))
			TH_LOG("page %zu: flags 0x%x", i, recs[i].flags);
		EXPECT_EQ(dirty ? HMM_NC_FP_DIRTY | HMM_NC_FP_DIRTY_KEPT : 0,
			  recs[i].flags & (HMM_NC_FP_DIRTY |
					   HMM_NC_FP_DIRTY_KEPT))
			TH_LOG("page %zu: flags 0x%x", i, recs[i].flags);
		EXPECT_FALSE(page_flag(_metadata, hmm_pm_pfn(after[i]), HMM_KPF_WRITEBACK))
			TH_LOG("page %zu", i);
	}
	free(recs);
	ASSERT_EQ(0, freeze(BACK_DIR, false));
	self->frozen = false;
	ASSERT_EQ(0, memcmp(p, want, size)) TH_LOG("the mapping is wrong");
	env_delta(_metadata, &self->e, &d);
	EXPECT_EQ(npages - (WB_LAST - WB_FIRST),
		  d.migrated[HMM_NC_CB_BUFFER][NO_COPY]);
	EXPECT_EQ(0, d.failed[HMM_NC_CB_BUFFER][NO_COPY]);
	munmap(p, size);
	assert_disk_holds(_metadata, fd, want, size);
	free(want);
	close(fd);
	assert_fsck_clean(_metadata, BH_DIR, &self->mounted, E2FSCK, self->d.path);
}

/*
 * A private mapping of an ext file: written pages are the process's own
 * anonymous copies, the others are the file's pages with buffer heads;
 * each moves through its own callback and stays with its owner.
 */
TEST_F(bufferhead, nocopy_private_cow_pages_stay_with_owner)
{
	size_t npages = 8, half = 4, ps = self->e.ps, size = npages * ps;
	int fd = make_file(_metadata, BH_DIR "/private", npages, ps, 117);
	char *p = map_file(_metadata, fd, size, MAP_PRIVATE);
	struct hmm_nc_file_page *recs;
	struct hmm_nc_counters d;
	size_t i;

	HMM_REQUIRE(self->e.dev, HMM_NEED_NOCOPY);

	fill_pages(p, half, ps, 118);
	recs = migrate(_metadata, &self->e, p, npages, NO_COPY, 0, npages);
	for (i = 0; i < npages; i++) {
		ASSERT_EQ(HMM_NC_PS_MOVED, recs[i].status) TH_LOG("page %zu", i);
		EXPECT_EQ(i < half ? HMM_NC_CB_FOLIO : HMM_NC_CB_BUFFER,
			  recs[i].cb) TH_LOG("page %zu", i);
		EXPECT_EQ(i < half ? HMM_NC_FP_ANON : HMM_NC_FP_BH_MOVED,
			  recs[i].flags & (HMM_NC_FP_ANON | HMM_NC_FP_BH_MOVED))
			TH_LOG("page %zu: flags 0x%x", i, recs[i].flags);
	}
	assert_mapped(_metadata, p, half, ps, 118);
	assert_mapped(_metadata, p + half * ps, npages - half, ps, 117 + half);
	env_delta(_metadata, &self->e, &d);
	EXPECT_EQ(half, d.migrated[HMM_NC_CB_FOLIO][NO_COPY]);
	EXPECT_EQ(npages - half, d.migrated[HMM_NC_CB_BUFFER][NO_COPY]);
	munmap(p, size);
	assert_on_disk(_metadata, fd, npages, ps, 117);
	close(fd);
	assert_fsck_clean(_metadata, BH_DIR, &self->mounted, E2FSCK, self->d.path);
}

/* Written back before the move: clean pages with buffers stay clean. */
TEST_F(bufferhead, nocopy_clean_pages_after_fsync)
{
	size_t npages = 8, ps = self->e.ps, size = npages * ps, i;
	int fd = make_file(_metadata, BH_DIR "/clean", npages, ps, 130);
	struct hmm_nc_file_page *recs;
	char *p;

	HMM_REQUIRE(self->e.dev, HMM_NEED_NOCOPY);

	ASSERT_EQ(0, fsync(fd));
	p = map_file(_metadata, fd, size, MAP_SHARED);
	recs = migrate(_metadata, &self->e, p, npages, NO_COPY, 0, npages);
	for (i = 0; i < npages; i++) {
		ASSERT_EQ(HMM_NC_PS_MOVED, recs[i].status) TH_LOG("page %zu", i);
		EXPECT_EQ(HMM_NC_FP_BUFFERS | HMM_NC_FP_BH_MOVED |
			  HMM_NC_FP_CACHED | HMM_NC_FP_OLD_CLEAR,
			  recs[i].flags) TH_LOG("page %zu", i);
	}
	assert_mapped(_metadata, p, npages, ps, 130);
	munmap(p, size);
	assert_counted(_metadata, &self->e, HMM_NC_CB_BUFFER, NO_COPY, npages);
	assert_on_disk(_metadata, fd, npages, ps, 130);
	close(fd);
	assert_fsck_clean(_metadata, BH_DIR, &self->mounted, E2FSCK, self->d.path);
}

/*
 * A page written only in part: a file of 1.5 KiB, whose page has one
 * block of data, one partly written and two past the end of the file.
 */
TEST_F(bufferhead, nocopy_partially_written_page)
{
	size_t ps = self->e.ps, len = 1536, i;
	char *buf = zalloc(_metadata, ps), *want = zalloc(_metadata, ps);
	struct hmm_nc_file_page *recs;
	char *p;
	int fd;

	HMM_REQUIRE(self->e.dev, HMM_NEED_NOCOPY);

	for (i = 0; i < len; i++)
		want[i] = (char)(i * 7 + 1);
	fd = open(BH_DIR "/partial", O_RDWR | O_CREAT | O_TRUNC, 0644);
	ASSERT_LE(0, fd);
	ASSERT_EQ((ssize_t)len, pwrite(fd, want, len, 0));
	p = map_file(_metadata, fd, ps, MAP_SHARED);
	recs = migrate(_metadata, &self->e, p, 1, NO_COPY, 0, 1);
	ASSERT_EQ(HMM_NC_PS_MOVED, recs[0].status);
	EXPECT_EQ(HMM_NC_CB_BUFFER, recs[0].cb);
	EXPECT_TRUE(recs[0].flags & HMM_NC_FP_BH_MOVED);
	ASSERT_EQ(0, memcmp(p, want, ps));
	munmap(p, ps);
	ASSERT_EQ(0, fsync(fd));
	ASSERT_EQ(0, hmm_write_str("/proc/sys/vm/drop_caches", "3"));
	ASSERT_EQ((ssize_t)len, pread(fd, buf, ps, 0));
	ASSERT_EQ(0, memcmp(buf, want, len));
	assert_counted(_metadata, &self->e, HMM_NC_CB_BUFFER, NO_COPY, 1);
	close(fd);
	assert_fsck_clean(_metadata, BH_DIR, &self->mounted, E2FSCK, self->d.path);
}

/*
 * The block device's own pages under the mounted file system: their
 * callback is buffer_migrate_folio_norefs(), which refuses (-EAGAIN) a
 * page whose buffer heads someone holds, like the superblock's, and
 * moves the others (inode tables, bitmaps, data read through the
 * mapping) with their buffer heads.
 */
TEST_F(bufferhead, blockdev_pages_norefs_move_or_busy)
{
	size_t npages = 64, ps = self->e.ps, size = npages * ps, i;
	char *want = zalloc(_metadata, size), *got = zalloc(_metadata, size);
	struct hmm_nc_file_page *recs;
	__u64 moved = 0, busy = 0;
	struct hmm_nc_counters d;
	int fd;
	char *p;

	HMM_REQUIRE(self->e.dev, HMM_NEED_NOCOPY);

	fd = open(self->d.path, O_RDONLY);
	ASSERT_LE(0, fd);
	ASSERT_EQ((ssize_t)size, pread(fd, want, size, 0));
	p = mmap(NULL, size, PROT_READ, MAP_SHARED, fd, 0);
	ASSERT_NE(MAP_FAILED, p);
	touch(_metadata, p, size);
	recs = migrate(_metadata, &self->e, p, npages, NO_COPY, 0, ANY_MOVED);
	for (i = 0; i < npages; i++) {
		if (recs[i].status == HMM_NC_PS_BUSY) {
			EXPECT_EQ(-EAGAIN, recs[i].result);
			busy++;
			continue;
		}
		ASSERT_EQ(HMM_NC_PS_MOVED, recs[i].status)
			TH_LOG("page %zu: %s", i,
			       hmm_status_str(recs[i].status));
		EXPECT_EQ(HMM_NC_CB_BUFFER, recs[i].cb);
		if (recs[i].flags & HMM_NC_FP_BUFFERS)
			EXPECT_TRUE(recs[i].flags & HMM_NC_FP_BH_MOVED);
		moved++;
	}
	TH_LOG("%llu pages moved, %llu busy", (unsigned long long)moved,
	       (unsigned long long)busy);
	/* The superblock's buffer head is held while mounted. */
	EXPECT_EQ(HMM_NC_PS_BUSY, recs[0].status);
	EXPECT_LT(0, moved);
	ASSERT_EQ(0, memcmp(p, want, size));
	ASSERT_EQ((ssize_t)size, pread(fd, got, size, 0));
	ASSERT_EQ(0, memcmp(got, want, size));
	env_delta(_metadata, &self->e, &d);
	EXPECT_EQ(moved, d.migrated[HMM_NC_CB_BUFFER][NO_COPY]);
	EXPECT_EQ(busy, d.failed[HMM_NC_CB_BUFFER][NO_COPY]);
	munmap(p, size);
	close(fd);
	assert_fsck_clean(_metadata, BH_DIR, &self->mounted, E2FSCK, self->d.path);
}

/* Under NO_COPY __buffer_migrate_folio() copies nothing: the sentinel. */
TEST_F(bufferhead, nocopy_probe_leaves_sentinel)
{
	size_t npages = 8, ps = self->e.ps, size = npages * ps;
	int fd = make_file(_metadata, BH_DIR "/probe", npages, ps, 140);
	char *p = map_file(_metadata, fd, size, MAP_SHARED);
	char *buf = zalloc(_metadata, size);
	ssize_t bad;

	HMM_REQUIRE(self->e.dev, HMM_NEED_NOCOPY);

	migrate_all(_metadata, &self->e, p, npages, NO_COPY,
		    HMM_NC_MIGRATE_PROBE, HMM_NC_CB_BUFFER,
		    HMM_NC_FP_BH_MOVED | HMM_NC_FP_CACHED);
	bad = hmm_verify_word(p, size, HMM_NC_SENTINEL);
	ASSERT_EQ(-1, bad) TH_LOG("data, not the sentinel, at %zd", bad);
	munmap(p, size);
	ASSERT_EQ(0, fsync(fd));
	ASSERT_EQ(0, hmm_write_str("/proc/sys/vm/drop_caches", "3"));
	ASSERT_EQ((ssize_t)size, pread(fd, buf, size, 0));
	bad = hmm_verify_word(buf, size, HMM_NC_SENTINEL);
	ASSERT_EQ(-1, bad) TH_LOG("disk: data, not the sentinel, at %zd", bad);
	assert_counted(_metadata, &self->e, HMM_NC_CB_BUFFER, NO_COPY, npages);
	close(fd);
	assert_fsck_clean(_metadata, BH_DIR, &self->mounted, E2FSCK, self->d.path);
}

/* The control: under MIGRATE_SYNC the callback copies the data. */
TEST_F(bufferhead, sync_probe_control_shows_data)
{
	size_t npages = 8, ps = self->e.ps, size = npages * ps;
	int fd = make_file(_metadata, BH_DIR "/control", npages, ps, 150);
	char *p = map_file(_metadata, fd, size, MAP_SHARED);

	migrate_all(_metadata, &self->e, p, npages, SYNC, HMM_NC_MIGRATE_PROBE,
		    HMM_NC_CB_BUFFER, HMM_NC_FP_BH_MOVED | HMM_NC_FP_CACHED);
	assert_mapped(_metadata, p, npages, ps, 150);
	munmap(p, size);
	assert_on_disk(_metadata, fd, npages, ps, 150);
	assert_counted(_metadata, &self->e, HMM_NC_CB_BUFFER, SYNC, npages);
	close(fd);
	assert_fsck_clean(_metadata, BH_DIR, &self->mounted, E2FSCK, self->d.path);
}

/*
 * Pages of a written-back file, each with one block rewritten by
 * write() (block i % blocks a page of page i, from seed + 100 + i),
 * which dirties that block's buffer head alone. want: the file as it
 * must read now. Returns the block size.
 */
static size_t dirty_one_block_a_page(struct __test_metadata *_metadata,
				     int fd, char *want, size_t npages,
				     __u64 seed)
{
	size_t ps = hmm_page_size(), bs, per, i, off;
	char *tmp = zalloc(_metadata, ps);
	struct stat st;

	ASSERT_EQ(0, fstat(fd, &st));
	bs = st.st_blksize;
	ASSERT_TRUE(bs >= 512 && bs <= ps && ps % bs == 0) TH_LOG("%zu", bs);
	per = ps / bs;
	fill_pages(want, npages, ps, seed);
	for (i = 0; i < npages; i++) {
		off = i * ps + (i % per) * bs;
		hmm_fill(tmp, ps, seed + 100 + i);
		memcpy(want + off, tmp + off % ps, bs);
		ASSERT_EQ((ssize_t)bs, pwrite(fd, want + off, bs, off));
	}
	free(tmp);
	return bs;
}

/*
 * The buffer heads that moved with each page keep their own dirty
 * state: writeback after the move writes exactly the dirty blocks, by
 * the disk's own counter, and the data reach the disk. Buffer heads
 * dropped on the way and made again at writeback (dirty and uptodate,
 * as __block_write_full_page() makes them) would write whole pages;
 * the new pages carry PG_private (kpageflags) right after the move.
 * With a block a page (ext4_4k) the dirty block is the whole page.
 */
static void bh_writeback_dirty_blocks(struct __test_metadata *_metadata,
				      struct hmm_env *e, const char *disk,
				      __u32 mode)
{
	size_t npages = 16, ps = e->ps, size = npages * ps, bs;
	__u64 *pm = zalloc(_metadata, npages * sizeof(__u64));
	char *want = zalloc(_metadata, size);
	long long sectors;
	char *p;
	int fd;

	fd = make_file(_metadata, BH_DIR "/blocks", npages, ps, 160);
	/*
	 * Nothing older left to write back: bitmaps, inodes, the journal.
	 * syncfs(), not sync(): sync() also sets every disk's flusher off
	 * to write all it finds dirty, and when that flusher runs late
	 * (a loaded host) it writes the blocks the test dirties next.
	 */
	ASSERT_EQ(0, syncfs(fd));
	p = map_file(_metadata, fd, size, MAP_SHARED);
	bs = dirty_one_block_a_page(_metadata, fd, want, npages, 160);
	ASSERT_EQ(0, hmm_pagemap(p, npages, pm));
	assert_kpf(_metadata, pm, npages, KPF_BIT(PRIVATE) | KPF_BIT(DIRTY),
		   "before the move");
	migrate_all(_metadata, e, p, npages, mode, 0, HMM_NC_CB_BUFFER,
		    HMM_NC_FP_DIRTY | HMM_NC_FP_DIRTY_KEPT |
		    HMM_NC_FP_BUFFERS | HMM_NC_FP_BH_MOVED |
		    HMM_NC_FP_CACHED | HMM_NC_FP_OLD_CLEAR);
	ASSERT_EQ(0, hmm_pagemap(p, npages, pm));
	assert_kpf(_metadata, pm, npages, KPF_BIT(PRIVATE) | KPF_BIT(DIRTY),
		   "after the move");
	sectors = written_back(_metadata, fd, size, disk);
	TH_LOG("writeback of %zu pages with one dirty %zu-byte block each: %lld sectors",
	       npages, bs, sectors);
	EXPECT_EQ((long long)(npages * bs / 512), sectors)
		TH_LOG("%lld sectors are whole pages", (long long)(npages * ps / 512));
	assert_mapped_as(_metadata, p, want, size);
	munmap(p, size);
	assert_disk_holds(_metadata, fd, want, size);
	assert_counted(_metadata, e, HMM_NC_CB_BUFFER, mode, npages);
	close(fd);
	free(want);
	free(pm);
}

TEST_F(bufferhead, nocopy_writeback_writes_only_dirty_blocks)
{
	HMM_REQUIRE(self->e.dev, HMM_NEED_NOCOPY);

	bh_writeback_dirty_blocks(_metadata, &self->e, self->d.path, NO_COPY);
	assert_fsck_clean(_metadata, BH_DIR, &self->mounted, E2FSCK, self->d.path);
}

/* The control: the kernel's own copy in MIGRATE_SYNC does the same. */
TEST_F(bufferhead, sync_writeback_writes_only_dirty_blocks)
{
	bh_writeback_dirty_blocks(_metadata, &self->e, self->d.path, SYNC);
	assert_fsck_clean(_metadata, BH_DIR, &self->mounted, E2FSCK, self->d.path);
}

/*
 * The meter's control: a store through the mapping dirties every
 * buffer head of its page (page_mkwrite), and writeback after the move
 * writes whole pages, which the disk's counter shows.
 */
TEST_F(bufferhead, nocopy_mapped_store_writes_whole_pages)
{
	size_t npages = 16, ps = self->e.ps, size = npages * ps, i;
	int fd = make_file(_metadata, BH_DIR "/stores", npages, ps, 170);
	char *want = zalloc(_metadata, size);
	long long sectors;
	char *p;

	HMM_REQUIRE(self->e.dev, HMM_NEED_NOCOPY);

	ASSERT_EQ(0, syncfs(fd));	/* see bh_writeback_dirty_blocks() */
	p = map_file(_metadata, fd, size, MAP_SHARED);
	fill_pages(want, npages, ps, 170);
	for (i = 0; i < npages; i++) {
		want[i * ps + 7] = (char)~want[i * ps + 7];
		p[i * ps + 7] = want[i * ps + 7];
	}
	migrate_all(_metadata, &self->e, p, npages, NO_COPY, 0,
		    HMM_NC_CB_BUFFER,
		    HMM_NC_FP_DIRTY | HMM_NC_FP_DIRTY_KEPT |
		    HMM_NC_FP_BUFFERS | HMM_NC_FP_BH_MOVED);
	sectors = written_back(_metadata, fd, size, self->d.path);
	EXPECT_EQ((long long)(size / 512), sectors);
	munmap(p, size);
	assert_disk_holds(_metadata, fd, want, size);
	assert_counted(_metadata, &self->e, HMM_NC_CB_BUFFER, NO_COPY, npages);
	free(want);
	close(fd);
	assert_fsck_clean(_metadata, BH_DIR, &self->mounted, E2FSCK, self->d.path);
}

/*
 * huge: shmem THP on tmpfs huge=always, and hugetlbfs. The THP is
 * mapped by a PMD, so the range and the file are 2 MiB aligned.
 */

FIXTURE(huge) {
	struct hmm_env e;
	long pool_was;	/* the 2 MiB pool before the test grew it, or -1 */
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

/*
 * What 6.1 does with a PMD-mapped shmem THP: migrate_vma_setup() does
 * not collect a large folio. It splits it (split_huge_page()), which
 * leaves the file's PMD empty, and migrate_vma_collect_hole() collects
 * no page of a file VMA: the first migration moves nothing, and the 512
 * small pages stay in the page cache. Faulted in again, now by PTEs,
 * each of them moves through migrate_folio() in NO_COPY mode.
 */
#define SPLIT_TRIES	10

TEST_F(huge, shmem_thp_is_split_and_skipped_then_each_page_moves)
{
	size_t ps = self->e.ps, npages = TWO_MB / ps;
	struct hmm_nc_file_page *recs;
	int fd, tries;
	size_t i;
	char *p;
	long kb;

	HMM_REQUIRE(self->e.dev, HMM_NEED_NOCOPY);

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
		recs = migrate(_metadata, &self->e, p, npages, NO_COPY, 0,
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
	recs = migrate(_metadata, &self->e, p, npages, NO_COPY, 0, npages);
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
	assert_counted(_metadata, &self->e, HMM_NC_CB_FOLIO, NO_COPY, npages);
	munmap(p, TWO_MB);
	close(fd);
}

/*
 * An anonymous THP through the NO_COPY engine (HMM_NC_MIGRATE_ANON): 6.1's
 * migrate_vma_setup() splits it, and each of its pages moves through
 * migrate_folio() on its own.
 */
TEST_F(huge, anon_thp_is_split_then_each_page_moves_nocopy)
{
	size_t ps = self->e.ps, npages = TWO_MB / ps, i;
	char *raw = hmm_map_anon(2 * TWO_MB, PROT_READ | PROT_WRITE);
	__u8 *status = zalloc(_metadata, npages), prot;
	struct hmm_nc_migrate_cmd cmd;
	char *p;

	HMM_REQUIRE(self->e.dev, HMM_NEED_NOCOPY);

	ASSERT_NE(NULL, raw);
	p = (char *)(((uintptr_t)raw + TWO_MB - 1) & ~(TWO_MB - 1));
	ASSERT_EQ(0, madvise(p, TWO_MB, MADV_HUGEPAGE));
	fill_pages(p, npages, ps, 180);
	ASSERT_EQ(0, hmm_snapshot(self->e.dev, p, 1, &prot));
	if (!(prot & HMM_DMIRROR_PROT_PMD))
		SKIP(return, "no transparent huge page backs the buffer");

	ASSERT_EQ(0, hmm_migrate_anon(self->e.dev, p, npages, NO_COPY, 0,
				      status, &cmd));
	EXPECT_EQ(npages, cmd.moved);
	for (i = 0; i < npages; i++) {
		ASSERT_EQ(HMM_NC_PS_MOVED, status[i]) TH_LOG("page %zu", i);
	}
	ASSERT_EQ(0, hmm_snapshot(self->e.dev, p, 1, &prot));
	EXPECT_EQ(0, prot & HMM_DMIRROR_PROT_PMD);
	assert_mapped(_metadata, p, npages, ps, 180);
	assert_counted(_metadata, &self->e, HMM_NC_CB_FOLIO, NO_COPY, npages);
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
TEST_F(huge, hugetlbfs_mirrored_but_refused_by_migrate_vma_setup)
{
	size_t ps = self->e.ps, npages = TWO_MB / ps;
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
	ASSERT_EQ(0, hmm_migrate_file(self->e.dev, p, 1, SYNC,
				      HMM_NC_FILE_KERNEL_VMA_CHECK, NULL,
				      &fcmd));
	EXPECT_EQ(1, fcmd.moved);
	assert_mapped(_metadata, p, 1, ps, 169);
	munmap(p, ps);
	close(shm);
	ASSERT_EQ(0, hmm_counters(self->e.dev, false, &self->e.start));

	fd = hugetlb_file(&self->pool_was, 1);
	if (fd < 0)
		SKIP(return, "no huge page in the pool: %s", strerror(-fd));
	p = map_aligned(_metadata, fd, MAP_SHARED);
	fill_pages(p, npages, ps, 170);

	ASSERT_EQ(0, hmm_cmd(self->e.dev, HMM_DMIRROR_READ, p, buf, npages,
			     &cmd));
	EXPECT_EQ(npages, cmd.cpages);
	bad = bad_page(buf, npages, ps, 170);
	ASSERT_EQ(-1, bad) TH_LOG("device read page %zd wrong", bad);
	/* The device maps it as one huge entry. */
	ASSERT_EQ(0, hmm_snapshot(self->e.dev, p, 1, &prot));
	EXPECT_EQ(HMM_DMIRROR_PROT_WRITE | HMM_DMIRROR_PROT_PMD, prot);

	recs = zalloc(_metadata, npages * sizeof(*recs));
	memset(&fcmd, 0, sizeof(fcmd));
	EXPECT_EQ(-EINVAL, hmm_migrate_file(self->e.dev, p, npages, SYNC,
					    HMM_NC_FILE_KERNEL_VMA_CHECK,
					    recs, &fcmd));
	EXPECT_EQ(0, fcmd.moved);
	EXPECT_EQ(HMM_NC_PS_UNTOUCHED, recs[0].status)
		TH_LOG("%s", hmm_status_str(recs[0].status));
	free(recs);
	env_delta(_metadata, &self->e, &d);
	/* migrate_vma_setup() collected, locked and took nothing. */
	EXPECT_EQ(0, d.pages_taken);
	EXPECT_EQ(0, d.pages_locked);
	EXPECT_EQ(0, d.batches);

	EXPECT_EQ(-EINVAL, hmm_migrate_file(self->e.dev, p, npages, SYNC,
					    0, NULL, NULL));
	EXPECT_EQ(-EINVAL, hmm_cmd(self->e.dev, HMM_DMIRROR_MIGRATE_TO_DEV,
				   p, buf, npages, &cmd));
	assert_mapped(_metadata, p, npages, ps, 170);
	assert_counted(_metadata, &self->e, HMM_NC_CB_HUGETLBFS, SYNC, 0);
	munmap(p, TWO_MB);
	close(fd);
}

/*
 * 2 MiB folios whole through the kernel's migration core
 * (HMM_NC_CORE_MIGRATE): migrate_pages() keeps a THP or a hugetlb folio
 * in one piece when it has a destination of the same size, and calls
 * the mapping's callback once for the whole folio (hugetlbfs_migrate_folio,
 * or migrate_folio() and so folio_migrate_flags() on 512 pages).
 */
enum core_kind { CORE_HUGETLB, CORE_ANON_THP, CORE_SHMEM_THP };

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
	assert_counted(_metadata, e, cb, mode, npages);
	if (fd >= 0)
		close(fd);
	free(recs);
	free(buf);
	free(before);
	free(after);
}

/* hugetlbfs_migrate_folio() moves a whole 2 MiB page; the device copies. */
TEST_F(huge, hugetlbfs_nocopy_through_hugetlbfs_migrate_folio)
{
	core_huge(_metadata, &self->e, &self->pool_was, CORE_HUGETLB, NO_COPY,
		  0, true);
}

TEST_F(huge, hugetlbfs_nocopy_probe_leaves_sentinel)
{
	core_huge(_metadata, &self->e, &self->pool_was, CORE_HUGETLB, NO_COPY,
		  HMM_NC_MIGRATE_PROBE, false);
}

TEST_F(huge, hugetlbfs_sync_probe_control_shows_data)
{
	core_huge(_metadata, &self->e, &self->pool_was, CORE_HUGETLB, SYNC,
		  HMM_NC_MIGRATE_PROBE, true);
}

TEST_F(huge, anon_thp_moves_whole_nocopy)
{
	core_huge(_metadata, &self->e, &self->pool_was, CORE_ANON_THP, NO_COPY,
		  0, true);
}

TEST_F(huge, anon_thp_nocopy_probe_leaves_sentinel)
{
	core_huge(_metadata, &self->e, &self->pool_was, CORE_ANON_THP, NO_COPY,
		  HMM_NC_MIGRATE_PROBE, false);
}

TEST_F(huge, anon_thp_sync_probe_control_shows_data)
{
	core_huge(_metadata, &self->e, &self->pool_was, CORE_ANON_THP, SYNC,
		  HMM_NC_MIGRATE_PROBE, true);
}

TEST_F(huge, shmem_thp_moves_whole_nocopy)
{
	core_huge(_metadata, &self->e, &self->pool_was, CORE_SHMEM_THP,
		  NO_COPY, 0, true);
}

TEST_F(huge, shmem_thp_nocopy_probe_leaves_sentinel)
{
	core_huge(_metadata, &self->e, &self->pool_was, CORE_SHMEM_THP,
		  NO_COPY, HMM_NC_MIGRATE_PROBE, false);
}

TEST_F(huge, shmem_thp_sync_probe_control_shows_data)
{
	core_huge(_metadata, &self->e, &self->pool_was, CORE_SHMEM_THP, SYNC,
		  HMM_NC_MIGRATE_PROBE, true);
}

HMM_TEST_MAIN

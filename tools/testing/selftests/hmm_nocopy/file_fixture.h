/* SPDX-License-Identifier: GPL-2.0 */
/*
 * What the page-cache tests (file_test.c, bufferhead_test.c,
 * huge_test.c) share: files whose every page holds a pattern of its
 * own, mappings of them, the NO_COPY file engine (HMM_NC_MIGRATE_FILE)
 * with its records checked against /proc/self/pagemap, and the checks
 * on the data (the mapping, read(), the disk) and on the pages' flags.
 */
#ifndef _HMM_FILE_FIXTURE_H
#define _HMM_FILE_FIXTURE_H

#include <fcntl.h>
#include <sys/mman.h>

#include "hmm_fixture.h"

#define ANY_MOVED	((__u64)-1)	/* migrate(): do not check the count */
#define ALL_CLAIMS	((__u16)~0U)	/* assert_moved_outside(): every record's */

#define KPF_BIT(n)	(1ULL << HMM_KPF_##n)

/* Each page gets a pattern of its own: a page in the wrong slot shows. */
static inline void fill_pages(void *buf, size_t npages, size_t psize, __u64 seed)
{
	size_t i;

	for (i = 0; i < npages; i++)
		hmm_fill((char *)buf + i * psize, psize, seed + i);
}

/* The first page whose pattern is wrong, or -1. */
static inline ssize_t bad_page(const void *buf, size_t npages, size_t psize,
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
static inline int write_file(struct __test_metadata *_metadata, const char *path,
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

static inline int make_file(struct __test_metadata *_metadata, const char *path,
			    size_t npages, size_t psize, __u64 seed)
{
	return write_file(_metadata, path, npages, psize, seed, false);
}

/*
 * Read-fault every page of [p, p + size) in: the kernel copies a byte of
 * each through a pipe, which neither the compiler can drop nor a private
 * mapping turns into a copy-on-write.
 */
static inline void touch(struct __test_metadata *_metadata, const char *p,
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
static inline char *map_file(struct __test_metadata *_metadata, int fd, size_t size,
			     int flags)
{
	char *p;

	p = mmap(NULL, size, PROT_READ | PROT_WRITE, flags, fd, 0);
	ASSERT_NE(MAP_FAILED, p);
	touch(_metadata, p, size);
	return p;
}

/* read() sees every page's pattern. */
static inline void assert_read(struct __test_metadata *_metadata, int fd,
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

static inline void assert_mapped(struct __test_metadata *_metadata, const char *p,
				 size_t npages, size_t psize, __u64 seed)
{
	ssize_t bad = bad_page(p, npages, psize, seed);

	ASSERT_EQ(-1, bad) TH_LOG("mapping: page %zd is wrong", bad);
}

/*
 * The page cache's own answer for [p, p + npages): a fresh shared,
 * read-only mapping of the file p maps (opened again through
 * /proc/self/map_files, so the caller needs no descriptor and a
 * private mapping works too) faults each page in through the cache,
 * whatever p's page table says; pfn[i] is the page the cache holds at
 * page i's offset. only: the pages to look up (NULL: all), so that
 * nothing else is faulted in (a read fault fills a shmem hole).
 */
static inline void cache_pfns(struct __test_metadata *_metadata, const char *p,
			      size_t npages, __u64 *pfn, const bool *only)
{
	unsigned long start = 0, end = 0, addr = (unsigned long)p;
	unsigned long long off = 0;
	size_t size = npages * hmm_page_size(), i;
	char line[512], path[64];
	bool found = false;
	char *q;
	FILE *maps;
	int fd;

	maps = fopen("/proc/self/maps", "re");
	ASSERT_NE(NULL, maps);
	while (!found && fgets(line, sizeof(line), maps))
		found = sscanf(line, "%lx-%lx %*s %llx", &start, &end, &off) == 3 &&
			start <= addr && addr < end;
	fclose(maps);
	ASSERT_TRUE(found) TH_LOG("no mapping at %p", p);
	snprintf(path, sizeof(path), "/proc/self/map_files/%lx-%lx", start, end);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	ASSERT_LE(0, fd) TH_LOG("%s: %s", path, strerror(errno));
	q = mmap(NULL, size, PROT_READ, MAP_SHARED, fd, off + addr - start);
	close(fd);
	ASSERT_NE(MAP_FAILED, q);
	/*
	 * Looking must not age the pages: unmapping a young PTE marks its
	 * page accessed (referenced, then active), unless the mapping is
	 * read sequentially, which the LRU does not count as use.
	 */
	ASSERT_EQ(0, madvise(q, size, MADV_SEQUENTIAL));
	for (i = 0; i < npages; i++)
		if (!only || only[i])
			touch(_metadata, q + i * hmm_page_size(),
			      hmm_page_size());
	ASSERT_EQ(0, hmm_pagemap(q, npages, pfn));
	for (i = 0; i < npages; i++)
		pfn[i] = hmm_pm_pfn(pfn[i]);
	munmap(q, size);
}

/*
 * What a record claims of page i, seen from outside the module (its
 * records are its own reads, no evidence of the kernel's state): old and
 * now are the page's PFNs by /proc/self/pagemap before and after the
 * move, cached the page the page cache holds at its offset
 * (cache_pfns(); ignored without HMM_NC_FP_CACHED). By claim:
 *  - moved at all: a new page; the old one, unless reused (below), is
 *    mapped nowhere (/proc/kpagecount 0) and has no PG_private left (a
 *    freed page cannot have it: buffer heads left on it show). A freed
 *    old page is soon another page: reused says it now is one of the
 *    range's new pages (a later batch's destination), and an anonymous
 *    page (/proc/kpageflags) counts as reused too. Its PG_dirty is not
 *    checked: a page freed and taken by any dirty write would have it;
 *    the new page's is what counts;
 *  - HMM_NC_FP_CACHED: the cache holds the new page;
 *  - HMM_NC_FP_DIRTY_KEPT: PG_dirty on the new page (/proc/kpageflags);
 *  - HMM_NC_FP_BH_MOVED, HMM_NC_FP_PRIVATE_MOVED: PG_private (buffer
 *    heads, iomap's state) on the new page.
 */
static inline void assert_page_outside(struct __test_metadata *_metadata,
				       size_t i, __u64 old, __u64 now,
				       __u64 cached, __u16 claims, bool reused)
{
	__u64 want = 0, kf = 0, okf = 0, count = 0;

	ASSERT_NE(0, now) TH_LOG("page %zu: not mapped after the move", i);
	ASSERT_NE(old, now) TH_LOG("page %zu: still on pfn 0x%llx", i,
				   (unsigned long long)old);
	if (claims & HMM_NC_FP_CACHED)
		EXPECT_EQ(now, cached)
			TH_LOG("page %zu: the page cache holds pfn 0x%llx, the mapping 0x%llx",
			       i, (unsigned long long)cached,
			       (unsigned long long)now);
	if (claims & HMM_NC_FP_DIRTY_KEPT)
		want |= KPF_BIT(DIRTY);
	if (claims & (HMM_NC_FP_BH_MOVED | HMM_NC_FP_PRIVATE_MOVED))
		want |= KPF_BIT(PRIVATE);
	ASSERT_EQ(0, hmm_kpageflags(now, &kf));
	EXPECT_EQ(want, kf & want)
		TH_LOG("page %zu: new pfn 0x%llx: kpageflags 0x%llx, want 0x%llx",
		       i, (unsigned long long)now, (unsigned long long)kf,
		       (unsigned long long)want);
	ASSERT_EQ(0, hmm_kpagecount(old, &count));
	ASSERT_EQ(0, hmm_kpageflags(old, &okf));
	if (reused || (okf & KPF_BIT(ANON)))
		return;
	EXPECT_EQ(0, count)
		TH_LOG("page %zu: old pfn 0x%llx still mapped %llu times (kpageflags 0x%llx)",
		       i, (unsigned long long)old, (unsigned long long)count,
		       (unsigned long long)okf);
	EXPECT_EQ(0, okf & KPF_BIT(PRIVATE))
		TH_LOG("page %zu: old pfn 0x%llx kept its private data (kpageflags 0x%llx)",
		       i, (unsigned long long)old, (unsigned long long)okf);
}

/* Whether pfn is one of the n PFNs of pfns. */
static inline bool pfn_among(__u64 pfn, const __u64 *pfns, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (pfns[i] == pfn)
			return true;
	return false;
}

/*
 * assert_page_outside() for the pages of [p, p + npages) whose record
 * says they moved: before[i] is page i's pagemap entry from before the
 * move. Checked of each: what its record claims, of the claims given
 * (ALL_CLAIMS: all it claims); a private copy (HMM_NC_FP_ANON) is no
 * cache page. Returns how many pages it checked.
 */
static inline size_t assert_moved_outside(struct __test_metadata *_metadata,
					  const char *p, size_t npages,
					  const __u64 *before,
					  const struct hmm_nc_file_page *recs,
					  __u16 claims)
{
	__u64 *now = zalloc(_metadata, npages * sizeof(__u64));
	__u64 *cached = zalloc(_metadata, npages * sizeof(__u64));
	bool *look = zalloc(_metadata, npages * sizeof(bool)), any = false;
	size_t i, checked = 0;
	__u16 c;

	ASSERT_EQ(0, hmm_pagemap(p, npages, now));
	for (i = 0; i < npages; i++) {
		now[i] = hmm_pm_pfn(now[i]);
		look[i] = recs[i].status == HMM_NC_PS_MOVED &&
			  (claims & recs[i].flags & HMM_NC_FP_CACHED) &&
			  !(recs[i].flags & HMM_NC_FP_ANON);
		any |= look[i];
	}
	if (any)
		cache_pfns(_metadata, p, npages, cached, look);
	for (i = 0; i < npages; i++) {
		if (recs[i].status != HMM_NC_PS_MOVED)
			continue;
		c = claims & recs[i].flags;
		if (!look[i])
			c &= ~HMM_NC_FP_CACHED;
		assert_page_outside(_metadata, i, hmm_pm_pfn(before[i]),
				    now[i], cached[i], c,
				    pfn_among(hmm_pm_pfn(before[i]), now,
					      npages));
		checked++;
	}
	free(now);
	free(cached);
	free(look);
	return checked;
}

/*
 * The page cache holds the pages p maps: what a fresh mapping of the
 * file finds (cache_pfns()) is what p's page table has.
 */
static inline void assert_cache_holds(struct __test_metadata *_metadata, int fd,
				      const char *p, size_t npages)
{
	__u64 *a = zalloc(_metadata, npages * sizeof(__u64));
	__u64 *b = zalloc(_metadata, npages * sizeof(__u64));
	size_t i;

	(void)fd;
	ASSERT_EQ(0, hmm_pagemap(p, npages, a));
	cache_pfns(_metadata, p, npages, b, NULL);
	for (i = 0; i < npages; i++) {
		ASSERT_EQ(hmm_pm_pfn(a[i]), b[i]) TH_LOG("page %zu", i);
	}
	free(a);
	free(b);
}

static inline struct hmm_nc_file_page *
migrate(struct __test_metadata *_metadata, struct hmm_env *e, void *p,
	size_t npages, __u32 mode, __u32 flags, __u64 want_moved)
{
	struct hmm_nc_file_page *recs = zalloc(_metadata,
					       npages * sizeof(*recs));
	__u64 *before = zalloc(_metadata, npages * sizeof(__u64));
	struct hmm_nc_file_cmd cmd;

	ASSERT_EQ(0, hmm_pagemap(p, npages, before));
	ASSERT_EQ(0, hmm_migrate_file(e->dev, p, npages, mode, flags, recs,
				      &cmd));
	if (want_moved != ANY_MOVED)
		EXPECT_EQ(want_moved, cmd.moved);
	/* Whatever the module recorded, the kernel's state must agree. */
	assert_moved_outside(_metadata, p, npages, before, recs, ALL_CLAIMS);
	free(before);
	return recs;
}

/*
 * Page i moved through a callback of kind cb, its record shows the
 * flags in want, and the mapping now has its new page.
 */
static inline void assert_rec(struct __test_metadata *_metadata,
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
 * The records of a private file mapping moved whole: the first half
 * pages were written through it (the process's anonymous copies), the
 * others are the file's, which moved with file_flag set. Each page
 * moved, and as its owner's.
 */
static inline void assert_cow_split(struct __test_metadata *_metadata,
				    const struct hmm_nc_file_page *recs,
				    size_t npages, size_t half, __u16 file_flag)
{
	size_t i;

	for (i = 0; i < npages; i++) {
		ASSERT_EQ(HMM_NC_PS_MOVED, recs[i].status) TH_LOG("page %zu", i);
		EXPECT_EQ(i < half ? HMM_NC_FP_ANON : file_flag,
			  recs[i].flags & (HMM_NC_FP_ANON | file_flag))
			TH_LOG("page %zu: flags 0x%x", i, recs[i].flags);
	}
}

/*
 * Migrate a mapped range and check each page's record against pagemap:
 * every page moved through cb with the flags in want.
 */
static inline void migrate_all(struct __test_metadata *_metadata, struct hmm_env *e,
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
static inline void assert_uncached(struct __test_metadata *_metadata, int fd,
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
static inline void assert_on_disk(struct __test_metadata *_metadata, int fd,
				  size_t npages, size_t psize, __u64 seed)
{
	ASSERT_EQ(0, fsync(fd));
	sync();
	ASSERT_EQ(0, hmm_write_str("/proc/sys/vm/drop_caches", "3"));
	assert_uncached(_metadata, fd, npages, psize);
	assert_read(_metadata, fd, npages, psize, seed);
}

/*
 * After a no-copy probe: fsync, drop the page cache (the caller has
 * unmapped the file), and the disk holds the sentinel nobody copied over.
 */
static inline void assert_disk_sentinel(struct __test_metadata *_metadata,
					int fd, size_t size)
{
	char *buf = zalloc(_metadata, size);
	ssize_t bad;

	ASSERT_EQ(0, fsync(fd));
	ASSERT_EQ(0, hmm_write_str("/proc/sys/vm/drop_caches", "3"));
	ASSERT_EQ((ssize_t)size, pread(fd, buf, size, 0));
	bad = hmm_verify_word(buf, size, HMM_NC_SENTINEL);
	ASSERT_EQ(-1, bad) TH_LOG("disk: data, not the sentinel, at %zd", bad);
	free(buf);
}

/*
 * Outside evidence of where the private state of a page (buffer heads,
 * iomap's per-block state: PG_private) and its dirtiness are: the PFNs
 * from /proc/self/pagemap, their flags from /proc/kpageflags, never the
 * module's own records. want: the flags every page must show.
 */
static inline void assert_kpf(struct __test_metadata *_metadata, const __u64 *pm,
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

/*
 * migrate_all() of dirty pages with private state (buffer heads, iomap's
 * per-block state): /proc/kpageflags shows PG_private and PG_dirty on
 * every page before the move, and on its new page right after it.
 */
static inline void migrate_all_private(struct __test_metadata *_metadata,
				       struct hmm_env *e, char *p,
				       size_t npages, __u32 mode, int cb,
				       __u16 want)
{
	__u64 *pm = zalloc(_metadata, npages * sizeof(__u64));

	ASSERT_EQ(0, hmm_pagemap(p, npages, pm));
	assert_kpf(_metadata, pm, npages, KPF_BIT(PRIVATE) | KPF_BIT(DIRTY),
		   "before the move");
	migrate_all(_metadata, e, p, npages, mode, 0, cb, want);
	ASSERT_EQ(0, hmm_pagemap(p, npages, pm));
	assert_kpf(_metadata, pm, npages, KPF_BIT(PRIVATE) | KPF_BIT(DIRTY),
		   "after the move");
	free(pm);
}

/*
 * Writes back [0, size) of fd, data only (no inode, no journal commit,
 * no cache flush), and returns the sectors the disk wrote meanwhile, by
 * its own counter.
 */
static inline long long written_back(struct __test_metadata *_metadata, int fd,
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

#define FILE_DIR	"/tmp/hmm_file"	/* a tmpfs */
#define XFS_DIR		"/tmp/hmm_xfs"
#define XFS_BACK	"/tmp/hmm_xfs_back"
#define XFS_BSIZE	4096	/* mkfs.xfs's default: a block a page */
#define XFS_CHECK	"/sbin/xfs_repair -n"

/*
 * XFS: an iomap file system, whose pages migrate through
 * filemap_migrate_folio(). It needs 300 MiB at least: a sparse image on
 * a ramfs of its own, behind a loop device.
 */

/* Whether the kernel knows fstype (/proc/filesystems). */
static inline bool fs_known(const char *fstype)
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

/* An XFS of the test's own: a loop device over a file on a ramfs. */
struct xfs_disk {
	bool backed;		/* the ramfs is mounted on XFS_BACK */
	bool mounted;		/* the XFS is mounted on XFS_DIR */
	int loop;		/* the loop device, or -1 */
	char path[HMM_LOOP_PATH_LEN];
};

/* Why XFS cannot be had here, or NULL. */
static inline const char *xfs_missing(void)
{
	if (!fs_known("xfs"))
		return "the kernel has no XFS (CONFIG_XFS_FS)";
	if (access("/sbin/mkfs.xfs", X_OK) || access("/sbin/xfs_repair", X_OK))
		return "no /sbin/mkfs.xfs or /sbin/xfs_repair in the guest";
	return NULL;
}

/* A fresh XFS with blocks of bsize bytes on XFS_DIR. */
static inline void xfs_mount(struct __test_metadata *_metadata, struct xfs_disk *x,
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
static inline void xfs_done(struct xfs_disk *x)
{
	umount_if(XFS_DIR, &x->mounted);
	close_if(&x->loop);
	umount_if(XFS_BACK, &x->backed);
}

/* Unmount the XFS and check it: xfs_repair -n finds nothing. */
static inline void assert_xfs_clean(struct __test_metadata *_metadata,
				    struct xfs_disk *x)
{
	assert_fsck_clean(_metadata, XFS_DIR, &x->mounted, XFS_CHECK, x->path);
}

/*
 * What the fixtures of file_test.c and xfs_test.c set up: the device,
 * and where their tests write: a tmpfs on FILE_DIR, or (xfs) nothing
 * yet, once it is known that XFS can be had (xfs_mount() makes one);
 * else the test skips there.
 */
static inline void fs_setup(struct __test_metadata *_metadata, struct hmm_env *e,
			    struct xfs_disk *x, bool xfs)
{
	const char *why = xfs ? xfs_missing() : NULL;

	/* Mounts of its own, gone with the test (see libhmm.h). */
	ASSERT_EQ(0, hmm_private_mounts());
	x->loop = -1;
	env_setup(_metadata, e);
	if (why) {
		close(e->dev);
		HMM_SETUP_SKIP("%s", why);
	}
	if (!xfs && mount_tmpfs(FILE_DIR, "size=64m")) {
		close(e->dev);
		HMM_SETUP_SKIP("cannot mount tmpfs on %s", FILE_DIR);
	}
}

static inline void fs_teardown(struct hmm_env *e, struct xfs_disk *x)
{
	close(e->dev);
	umount2(FILE_DIR, MNT_DETACH);
	xfs_done(x);
}

#endif /* _HMM_FILE_FIXTURE_H */

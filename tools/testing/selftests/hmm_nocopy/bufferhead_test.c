// SPDX-License-Identifier: GPL-2.0
/*
 * bufferhead.<fs>.*: page-cache pages with buffer heads through the
 * device's NO_COPY workflow (HMM_NC_MIGRATE_FILE), a variant a file
 * system, each on a free loop device of its own; their callback is
 * buffer_migrate_folio(), and the block device's own pages under them
 * go through buffer_migrate_folio_norefs().
 *
 * Every migration is checked for the data (through the mapping, through
 * read(), and again after fsync + drop_caches from the disk), the
 * identity (new PFN in /proc/self/pagemap, the buffer heads on the new
 * page, as the module and /proc/kpageflags saw them), the disk's writes
 * by its own counter, and the counters by callback kind and mode; e2fsck
 * checks the file system at the end.
 */
/* sync_file_range() */
#define _GNU_SOURCE
#include <sys/ioctl.h>

#include "file_fixture.h"

#define BH_DIR		"/tmp/hmm_bh"
#define BACK_DIR	"/tmp/hmm_back"
#define IMG_DIR		"/tmp/hmm_bh_img"
#define E2FSCK		"/sbin/e2fsck -fn"

/* <linux/fs.h> would clash with <sys/mount.h>. */
#ifndef FIFREEZE
#define FIFREEZE	_IOWR('X', 119, int)
#define FITHAW		_IOWR('X', 120, int)
#endif

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
	close_if(&d->loop);
	umount_if(BACK_DIR, &d->back_mounted);
	close_if(&d->back);
	umount_if(IMG_DIR, &d->img_mounted);
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
	/* What the records of the moved pages claim, from outside. */
	EXPECT_EQ(npages - (WB_LAST - WB_FIRST),
		  assert_moved_outside(_metadata, p, npages, before, recs,
				       ALL_CLAIMS));
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
	assert_cow_split(_metadata, recs, npages, half, HMM_NC_FP_BH_MOVED);
	/* Here each owner has a callback of its own, too. */
	for (i = 0; i < npages; i++)
		EXPECT_EQ(i < half ? HMM_NC_CB_FOLIO : HMM_NC_CB_BUFFER,
			  recs[i].cb) TH_LOG("page %zu", i);
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
			/*
			 * A busy page stays, mapped by p alone. (Free memory
			 * cannot tell whether its destination, one of one to
			 * three, was freed: the mounted file system's own
			 * work moves it by more than that.)
			 */
			assert_map_count(_metadata, recs[i].old_pfn, 1, i);
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
	ssize_t bad;

	HMM_REQUIRE(self->e.dev, HMM_NEED_NOCOPY);

	migrate_all(_metadata, &self->e, p, npages, NO_COPY,
		    HMM_NC_MIGRATE_PROBE, HMM_NC_CB_BUFFER,
		    HMM_NC_FP_BH_MOVED | HMM_NC_FP_CACHED);
	bad = hmm_verify_word(p, size, HMM_NC_SENTINEL);
	ASSERT_EQ(-1, bad) TH_LOG("data, not the sentinel, at %zd", bad);
	munmap(p, size);
	assert_disk_sentinel(_metadata, fd, size);
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
	assert_engine_idle(_metadata, &self->e);
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
	migrate_all_private(_metadata, e, p, npages, mode, HMM_NC_CB_BUFFER,
			    HMM_NC_FP_DIRTY | HMM_NC_FP_DIRTY_KEPT |
			    HMM_NC_FP_BUFFERS | HMM_NC_FP_BH_MOVED |
			    HMM_NC_FP_CACHED | HMM_NC_FP_OLD_CLEAR);
	sectors = written_back(_metadata, fd, size, disk);
	TH_LOG("writeback of %zu pages with one dirty %zu-byte block each: %lld sectors",
	       npages, bs, sectors);
	EXPECT_EQ((long long)(npages * bs / 512), sectors)
		TH_LOG("%lld sectors are whole pages", (long long)(npages * ps / 512));
	assert_mapped_as(_metadata, p, want, size);
	munmap(p, size);
	assert_disk_holds(_metadata, fd, want, size);
	assert_counted(_metadata, e, HMM_NC_CB_BUFFER, mode, npages);
	if (mode == SYNC)
		assert_engine_idle(_metadata, e);
	close(fd);
	free(want);
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

HMM_TEST_MAIN

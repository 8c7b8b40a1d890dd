// SPDX-License-Identifier: GPL-2.0
/*
 * stress.<fs>.file_nocopy_races_truncate_punch_write_fsync: NO_COPY
 * page-cache migrations racing truncate, hole punching, writes and
 * fsync on the same file, one row of the table below per file system:
 * tmpfs (shmem pages, migrate_folio()) and ext4 with 1 KiB blocks on a
 * loop device (four buffer heads a page, __buffer_migrate_folio()).
 * Bounded in time: FILE_SECONDS of racing.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <linux/loop.h>
#include <pthread.h>
#include <stdarg.h>
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
#include "stress_race.h"

/* Where the races mount the file system they run on, and its image. */
#define STRESS_DIR	"/tmp/hmm_stress"
#define IMAGE_DIR	"/tmp/hmm_stress_img"

/*
 * The page-cache races: a file of FILE_PAGES in three regions, each
 * changed by one thread alone, which so knows what the region must hold
 * after each of its own steps, while another thread migrates the whole
 * mapped file with NO_COPY all along. C is the file's end, which
 * truncation cuts off.
 */
#define FILE_SECONDS	4
#define REGION_PAGES	16
#define FILE_REGIONS	3	/* A: write, B: punch, C: truncate */
#define FILE_PAGES	(FILE_REGIONS * REGION_PAGES)
#define EXT4_IMAGE_SIZE	(32 << 20)

struct region {
	struct race *r;
	size_t off, size;	/* in the file, in bytes */
	__u64 tag;		/* in every seed: no two regions look alike */
	__u64 seed;		/* the pattern of its first head bytes, */
	size_t head;		/* then zeros */
	char *buf;		/* what read() saw */
};

static bool region_holds(const struct region *rg, const char *p)
{
	return hmm_verify(p, rg->head, rg->seed) < 0 &&
	       hmm_verify_word(p + rg->head, rg->size - rg->head, 0) < 0;
}

static bool region_read_ok(struct region *rg)
{
	ssize_t n = pread(rg->r->file, rg->buf, rg->size, rg->off);

	return n == (ssize_t)rg->size && region_holds(rg, rg->buf);
}

/* What read() sees, then what the mapping sees (faulting it in). */
static void region_check(struct region *rg)
{
	race_check(rg->r, region_read_ok(rg));
	race_check(rg->r, region_holds(rg, rg->r->region + rg->off));
}

static void region_holds_now(struct region *rg, __u64 seed, size_t head)
{
	rg->seed = seed;
	rg->head = head;
}

static void region_pwrite(struct region *rg, __u64 seed)
{
	hmm_fill(rg->buf, rg->size, seed);
	race_check(rg->r, pwrite(rg->r->file, rg->buf, rg->size, rg->off) ==
			  (ssize_t)rg->size);
	region_holds_now(rg, seed, rg->size);
}

/* Region A: written with pwrite() and made durable with fsync(). */
static void *region_write_fsync(void *arg)
{
	struct region *rg = arg;
	__u64 n = 1;

	while (!race_over(rg->r)) {
		region_pwrite(rg, rg->tag + n++);
		race_check(rg->r, !fsync(rg->r->file));
		region_check(rg);
	}
	return NULL;
}

/* Region B: its blocks punched out, then refilled through the mapping. */
static void *region_punch(void *arg)
{
	int punch = FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE;
	struct region *rg = arg;
	__u64 n = 1;

	while (!race_over(rg->r)) {
		race_check(rg->r, !fallocate(rg->r->file, punch, rg->off,
					     rg->size));
		region_holds_now(rg, 0, 0);
		region_check(rg);
		hmm_fill(rg->r->region + rg->off, rg->size, rg->tag + n);
		region_holds_now(rg, rg->tag + n++, rg->size);
		region_check(rg);
	}
	return NULL;
}

/*
 * Region C: the file cut in the middle of C's first page and of a 1 KiB
 * block, so the page stays with its tail zeroed, then grown back: C
 * reads as its old head and zeros. Then rewritten with pwrite(). C is
 * touched through the mapping only while the file covers it again:
 * beyond the end, that would be SIGBUS.
 */
static void *region_truncate(void *arg)
{
	struct region *rg = arg;
	size_t cut = rg->r->ps / 2 + 512;
	__u64 n = 1;

	while (!race_over(rg->r)) {
		race_check(rg->r, !ftruncate(rg->r->file, rg->off + cut));
		race_check(rg->r, !ftruncate(rg->r->file, rg->off + rg->size));
		region_holds_now(rg, rg->seed, cut);
		region_check(rg);
		region_pwrite(rg, rg->tag + n++);
		region_check(rg);
	}
	return NULL;
}

/*
 * A moved page went through the file's own callback and took its state
 * along: the cache slot holds the new page, the old one is let go, a
 * dirty page stays dirty, buffer heads point at the new page.
 */
static bool page_moved_whole(const struct hmm_nc_file_page *p, __u8 cb)
{
	__u16 need = HMM_NC_FP_CACHED | HMM_NC_FP_OLD_CLEAR;

	if (p->flags & HMM_NC_FP_DIRTY)
		need |= HMM_NC_FP_DIRTY_KEPT;
	if (p->flags & HMM_NC_FP_BUFFERS)
		need |= HMM_NC_FP_BH_MOVED;
	return p->cb == cb && (p->flags & need) == need;
}

/* Every moved page whole, as many as the command counted. */
static void file_check_moved(struct race *r,
			     const struct hmm_nc_file_page *pages, __u64 moved)
{
	long n = 0, buffered = 0;
	bool whole = true;
	size_t i;

	for (i = 0; i < FILE_PAGES; i++) {
		if (pages[i].status != HMM_NC_PS_MOVED)
			continue;
		n++;
		whole &= page_moved_whole(&pages[i], r->cb);
		buffered += !!(pages[i].flags & HMM_NC_FP_BUFFERS);
	}
	race_check(r, whole && n == (long)moved);
	atomic_fetch_add(&r->buffered, buffered);
}

/*
 * NO_COPY migrations of the whole mapping, over and over: whatever the
 * other threads have faulted in moves.
 */
static void *file_migrate(void *arg)
{
	struct hmm_nc_file_page pages[FILE_PAGES];
	struct race *r = arg;
	struct hmm_nc_file_cmd cmd = { 0 };
	int ret;

	while (!race_over(r)) {
		ret = hmm_migrate_file(r->fd, r->region, FILE_PAGES,
				       HMM_NC_MODE_SYNC_NO_COPY, 0, pages, &cmd);
		race_nocopy_done(r, ret, cmd.moved);
		if (!ret)
			file_check_moved(r, pages, cmd.moved);
	}
	return NULL;
}

/*
 * The device, and a file with no name in STRESS_DIR, mapped shared as
 * a whole: migrations reach only the pages a process maps.
 */
static void file_setup(struct __test_metadata *_metadata, struct race *r)
{
	size_t size = FILE_PAGES * r->ps;

	r->fd = hmm_open(0);
	ASSERT_GE(r->fd, 0);
	r->file = open(STRESS_DIR, O_TMPFILE | O_RDWR | O_CLOEXEC, 0600);
	ASSERT_GE(r->file, 0) TH_LOG("O_TMPFILE: %s", strerror(errno));
	ASSERT_EQ(0, ftruncate(r->file, size));
	r->region = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED,
			 r->file, 0);
	ASSERT_NE(MAP_FAILED, r->region);
}

/* Region i with its first pattern, written and mapped. */
static void region_setup(struct __test_metadata *_metadata,
			 struct region *rg, struct race *r, unsigned int i)
{
	rg->r = r;
	rg->size = REGION_PAGES * r->ps;
	rg->off = i * rg->size;
	rg->tag = (__u64)(i + 1) << 32;
	rg->buf = malloc(rg->size);
	ASSERT_NE(NULL, rg->buf);
	region_pwrite(rg, rg->tag);
	region_check(rg);
}

/*
 * After the race, once written back and read again from the file
 * system (dropping the cache, which keeps mapped pages: unmap first),
 * every region holds what its thread wrote last, the file is whole.
 */
static void file_read_back(struct __test_metadata *_metadata,
			   struct race *r, struct region *rg)
{
	size_t size = FILE_PAGES * r->ps;
	struct stat st;
	unsigned int i;

	ASSERT_EQ(0, fsync(r->file));
	ASSERT_EQ(0, munmap(r->region, size));
	sync();
	ASSERT_EQ(0, hmm_write_str("/proc/sys/vm/drop_caches", "3"));
	ASSERT_EQ(0, fstat(r->file, &st));
	EXPECT_EQ(size, st.st_size);
	for (i = 0; i < FILE_REGIONS; i++) {
		EXPECT_TRUE(region_read_ok(&rg[i]))
			TH_LOG("region %c: not what was written last", 'A' + i);
	}
}

/*
 * NO_COPY migrations of the file's pages race with each region's thread
 * for FILE_SECONDS: pages moved whole through the file system's callback
 * cb, with buffer heads where it has them; every check of every thread
 * saw exactly what it had written, and so does a read from the file
 * system after.
 */
static void file_race(struct __test_metadata *_metadata, size_t ps, __u8 cb)
{
	struct region rg[FILE_REGIONS];
	struct race r = { .ps = ps, .cb = cb };
	const struct racer racers[] = {
		{ file_migrate, &r }, { region_write_fsync, &rg[0] },
		{ region_punch, &rg[1] }, { region_truncate, &rg[2] },
	};
	unsigned int i;

	file_setup(_metadata, &r);
	for (i = 0; i < FILE_REGIONS; i++)
		region_setup(_metadata, &rg[i], &r, i);
	race_run(_metadata, &r, racers, ARRAY_SIZE(racers), FILE_SECONDS);
	TH_LOG("%ld NO_COPY migrations moving %ld pages (%ld with buffer heads)",
	       atomic_load(&r.nocopy), atomic_load(&r.moved),
	       atomic_load(&r.buffered));
	TH_LOG("%ld failed, %ld checks", atomic_load(&r.failures),
	       atomic_load(&r.checks));
	EXPECT_EQ(0, atomic_load(&r.bad));
	EXPECT_EQ(0, atomic_load(&r.failures));
	EXPECT_GT(atomic_load(&r.moved), 0);
	EXPECT_EQ(cb == HMM_NC_CB_BUFFER, atomic_load(&r.buffered) > 0);
	file_read_back(_metadata, &r, rg);
	for (i = 0; i < FILE_REGIONS; i++)
		free(rg[i].buf);
	close(r.file);
	close(r.fd);
}

FIXTURE(stress) {
	size_t ps;
	bool mounted;		/* a file system on STRESS_DIR */
	int loop;		/* the loop device under it, or -1 */
	char disk[HMM_LOOP_PATH_LEN];	/* its path */
};

FIXTURE_VARIANT(stress) {
	__u8 cb;		/* the callback the file's pages move through */
	bool ext4;		/* ext4 on a loop device, else tmpfs */
};

/* Shmem pages: their callback is migrate_folio(). */
FIXTURE_VARIANT_ADD(stress, tmpfs) {
	.cb = HMM_NC_CB_FOLIO,
};

/*
 * ext4 with 1 KiB blocks: each page has four buffer heads and moves
 * through __buffer_migrate_folio(). Afterwards e2fsck finds nothing to
 * fix. Its loop device's image is on ramfs (see mount_image_dir()).
 */
FIXTURE_VARIANT_ADD(stress, ext4) {
	.cb = HMM_NC_CB_BUFFER,
	.ext4 = true,
};

/* The ext4 file system on its loop device, or a skip where none can be. */
static void ext4_setup(struct __test_metadata *_metadata,
		       FIXTURE_DATA(stress) * self)
{
	if (access("/sbin/mkfs.ext4", X_OK) || access("/sbin/e2fsck", X_OK))
		HMM_SETUP_SKIP("no /sbin/mkfs.ext4 or /sbin/e2fsck");
	ASSERT_EQ(0, mount_image_dir(IMAGE_DIR));
	self->loop = mkfs_loop(IMAGE_DIR, EXT4_IMAGE_SIZE,
			       "/sbin/mkfs.ext4 -q -F -b 1024", self->disk,
			       sizeof(self->disk));
	ASSERT_NE(-EIO, self->loop) TH_LOG("mkfs.ext4 %s failed", self->disk);
	/* The skip ends the process: its mounts go with it. */
	if (self->loop < 0)
		HMM_SETUP_SKIP("no loop device: %s", strerror(-self->loop));
	ASSERT_EQ(0, mount_dev(self->disk, STRESS_DIR, "ext4", NULL));
}

/* The kernel has NO_COPY; the row's file system is mounted on STRESS_DIR. */
FIXTURE_SETUP(stress)
{
	const char *why;
	int fd;

	self->ps = hmm_page_size();
	self->loop = -1;
	fd = hmm_open(0);
	why = hmm_unmet(fd, HMM_NEED_NOCOPY);
	if (fd >= 0)
		close(fd);
	if (why)
		HMM_SETUP_SKIP("%s", why);
	/* Mounts of its own, gone with the test (see libhmm.h). */
	ASSERT_EQ(0, hmm_private_mounts());
	/* Braces: ASSERT_EQ() is two statements, and would end the else. */
	if (variant->ext4) {
		ext4_setup(_metadata, self);
	} else {
		ASSERT_EQ(0, mount_tmpfs(STRESS_DIR, "size=16m"));
	}
	self->mounted = true;
}

/*
 * A test that stopped half-way leaves nothing mounted. A file system
 * still busy (an assertion left its file open) is detached now and goes
 * when the test's process ends; the loop device, told to go while in
 * use, goes with it.
 */
FIXTURE_TEARDOWN(stress)
{
	if (self->mounted)
		umount2(STRESS_DIR, MNT_DETACH);
	if (self->loop >= 0) {
		ioctl(self->loop, LOOP_CLR_FD, 0);
		close(self->loop);
	}
}

TEST_F_TIMEOUT(stress, file_nocopy_races_truncate_punch_write_fsync, 90)
{
	file_race(_metadata, self->ps, variant->cb);
	/* Afterwards e2fsck finds nothing to fix. */
	if (variant->ext4)
		assert_fsck_clean(_metadata, STRESS_DIR, &self->mounted,
				  "/sbin/e2fsck -fn", self->disk);
}

HMM_TEST_MAIN

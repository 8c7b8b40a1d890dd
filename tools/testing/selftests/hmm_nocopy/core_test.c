// SPDX-License-Identifier: GPL-2.0
/*
 * core: the migration core's own MIGRATE_SYNC_NO_COPY switches, reached
 * through migrate_pages() from the test device (HMM_NC_CORE_MIGRATE).
 * In 6.1 mm/migrate.c treats the mode as a full synchronous migration in
 * three places, and each has a test here that fails if the kernel
 * treated NO_COPY like MIGRATE_SYNC_LIGHT there, with lighter modes as
 * the controls:
 *  - fallback_migrate_folio() writes a dirty page of a mapping without
 *    a migrate_folio callback (minix) out, then migrates it; lighter
 *    modes give up at once (-EBUSY) and write nothing;
 *  - __migrate_folio_unmap() waits for a page under writeback (null_blk
 *    with slow completions keeps it in flight); lighter modes: -EBUSY;
 *  - unmap_and_move_huge_page() waits for a hugetlb page's lock (held
 *    by the device's HMM_NC_CORE_LOCK); lighter modes never take it.
 * An LRU page's lock is waited for in every mode but ASYNC: that test
 * and its control round the picture off.
 * Everything is observed from userspace too: PFNs from pagemap, page
 * flags from /proc/kpageflags, block-layer counters, the time taken and
 * the data after fsync + drop_caches.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/mman.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include "hmm_fixture.h"

#define SYNC_LIGHT	HMM_NC_MODE_SYNC_LIGHT
#define ASYNC		HMM_NC_MODE_ASYNC
#define TWO_MB		(2UL * 1024 * 1024)

/* Later kernels gave minix a migrate_folio callback (6.12 has one). */
#define NO_FALLBACK \
	"minix has a migrate_folio callback in this kernel: no fallback_migrate_folio()"

#define IMG_DIR		"/tmp/hmm_core_img"	/* ramfs under the loop */
#define MINIX_DIR	"/tmp/hmm_core_minix"
#define HUGETLB_DIR	"/tmp/hmm_core_hugetlb"
#define NULLB_NAME	"hmm_core"

#define HOLD_MS		1500	/* how long the device holds a page lock */
#define NULLB_MS	1000	/* how long each null_blk request takes */

FIXTURE(core) {
	struct hmm_env e;
	int loop;		/* minix: its loop device, or -1 */
	char loop_path[HMM_LOOP_PATH_LEN];
	bool nullb;		/* a null_blk device of ours is configured */
	long pool_was;		/* the 2 MiB pool before, or -1 */
};

FIXTURE_SETUP(core)
{
	ASSERT_EQ(0, hmm_private_mounts());
	self->loop = -1;
	self->pool_was = -1;
	env_setup(_metadata, &self->e);
	HMM_SETUP_REQUIRE(self->e.dev, HMM_NEED_CORE_MIGRATE);
}

FIXTURE_TEARDOWN(core)
{
	umount2(MINIX_DIR, MNT_DETACH);
	umount2(HUGETLB_DIR, MNT_DETACH);
	if (self->loop >= 0)
		close(self->loop);
	umount2(IMG_DIR, MNT_DETACH);
	if (self->nullb)
		hmm_nullb_remove(NULLB_NAME);
	if (self->pool_was >= 0)
		hmm_hugetlb_pool_set(self->pool_was);
	close(self->e.dev);
}

/* Field n (from 1) of /sys/block/<dev>/<file>, or -1. */
static long long block_field(const char *dev, const char *file, int n)
{
	char path[96];
	long long v = -1;
	FILE *f;
	int i;

	snprintf(path, sizeof(path), "/sys/block/%s/%s", dev, file);
	f = fopen(path, "r");
	if (!f)
		return -1;
	for (i = 0; i < n; i++)
		if (fscanf(f, "%lld", &v) != 1) {
			v = -1;
			break;
		}
	fclose(f);
	return v;
}

/* Sectors written to a block device so far (its stat's 7th field). */
static long long sectors_written(const char *dev)
{
	return block_field(dev, "stat", 7);
}

/* Moves the one page at p through the core; its record in *rec. */
static int core_one(struct __test_metadata *_metadata,
		    FIXTURE_DATA(core) * self, void *p, __u32 mode,
		    struct hmm_nc_core_page *rec, struct hmm_nc_core_cmd *cmd)
{
	memset(rec, 0, sizeof(*rec));
	return hmm_core_migrate(self->e.dev, p, 1, mode, 0, rec, cmd);
}

/*
 * The destinations a lighter mode asks for before it gives up on a busy
 * folio (-EBUSY): one on 5.10 and 6.1. From 6.3 migrate_pages() first
 * tries the folios of a SYNC_LIGHT or SYNC call in one MIGRATE_ASYNC
 * batch, then each that failed in the mode asked for
 * (migrate_pages_sync()): one attempt more. The kernel's version comes
 * from the device (HMM_NC_INFO).
 */
static unsigned int give_up_attempts(int dev, __u32 mode)
{
	struct hmm_nc_info info;

	if (mode == ASYNC || hmm_info(dev, &info) ||
	    info.kernel_version < ((6U << 16) | (3U << 8)))
		return 1;
	return 2;
}

/*
 * fallback_migrate_folio(): a minix file (no migrate_folio callback) on
 * a loop device of its own, one page written, synced, then dirtied
 * through a shared mapping with pattern seed. Returns the mapping.
 */
static char *minix_dirty_page(struct __test_metadata *_metadata,
			      FIXTURE_DATA(core) * self, __u64 seed, int *fdp)
{
	char *p;
	int fd;

	ASSERT_EQ(0, mount_image_dir(IMG_DIR));
	self->loop = mkfs_loop(IMG_DIR, 8LL << 20, "/sbin/mkfs.minix",
			       self->loop_path, sizeof(self->loop_path));
	if (self->loop == -EIO)
		SKIP(return NULL, "mkfs.minix failed (util-linux installed?)");
	ASSERT_LE(0, self->loop) TH_LOG("no loop device: %s",
					strerror(-self->loop));
	fd = mount_dev(self->loop_path, MINIX_DIR, "minix", NULL);
	if (fd)
		SKIP(return NULL, "cannot mount minix: %s", strerror(-fd));
	fd = open(MINIX_DIR "/f", O_RDWR | O_CREAT | O_TRUNC, 0644);
	ASSERT_LE(0, fd);
	ASSERT_EQ(0, ftruncate(fd, self->e.ps));
	ASSERT_EQ(0, fsync(fd));
	p = mmap(NULL, self->e.ps, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	ASSERT_NE(MAP_FAILED, p);
	hmm_fill(p, self->e.ps, seed);
	ASSERT_TRUE(page_flag(_metadata, pfn_of(_metadata, p), HMM_KPF_DIRTY));
	*fdp = fd;
	return p;
}

/* The loop device's name under /sys/block. */
static const char *loop_name(FIXTURE_DATA(core) * self)
{
	return strrchr(self->loop_path, '/') + 1;
}

/* Unmap, sync, drop the cache: the file reads seed back from the disk. */
static void assert_on_disk(struct __test_metadata *_metadata, int fd,
			   void *p, size_t ps, __u64 seed)
{
	char *buf = malloc(ps);

	ASSERT_NE(NULL, buf);
	munmap(p, ps);
	ASSERT_EQ(0, fsync(fd));
	ASSERT_EQ(0, hmm_write_str("/proc/sys/vm/drop_caches", "3"));
	ASSERT_EQ((ssize_t)ps, pread(fd, buf, ps, 0));
	ASSERT_EQ(-1, hmm_verify(buf, ps, seed)) TH_LOG("disk data wrong");
	free(buf);
}

/*
 * The core meets a dirty minix page (see minix_dirty_page()) in mode.
 * writes: the mode writes the page out itself (writeout()), retries, and
 * moves the now clean page: the block device saw the write before
 * anyone synced, and the data is the device's copy. Else the mode gives
 * up at once and writes nothing.
 */
static void fallback_met(struct __test_metadata *_metadata,
			 FIXTURE_DATA(core) * self, __u32 mode, bool writes)
{
	struct hmm_nc_core_page rec;
	struct hmm_nc_core_cmd cmd;
	long long w0, w1;
	__u64 old;
	char *p;
	int fd;

	p = minix_dirty_page(_metadata, self, 200, &fd);
	if (!p)
		return;
	old = pfn_of(_metadata, p);
	w0 = sectors_written(loop_name(self));
	if (writes)
		ASSERT_LE(0, w0);

	ASSERT_EQ(0, core_one(_metadata, self, p, mode, &rec, &cmd));
	w1 = sectors_written(loop_name(self));
	/* The record names the callback the core met. */
	if (rec.cb != HMM_NC_CB_FALLBACK) {
		close(fd);
		SKIP(return, NO_FALLBACK);
	}
	if (writes) {
		TH_LOG("attempts %u, sectors written %lld", rec.attempts,
		       w1 - w0);
		ASSERT_EQ(HMM_NC_PS_MOVED, rec.status)
			TH_LOG("result %d", rec.result);
		EXPECT_EQ(HMM_NC_CB_FALLBACK, rec.cb);
		EXPECT_TRUE(rec.flags & HMM_NC_CP_DIRTY);
		EXPECT_TRUE(rec.flags & HMM_NC_CP_COPIED);
		/* The first attempt wrote it out and asked for another. */
		EXPECT_LE(2, rec.attempts);
		EXPECT_LT(w0, w1) TH_LOG("nothing written to %s",
					 self->loop_path);
		EXPECT_EQ(rec.new_pfn, pfn_of(_metadata, p));
		EXPECT_NE(old, rec.new_pfn);
		EXPECT_FALSE(page_flag(_metadata, rec.new_pfn, HMM_KPF_DIRTY));
	} else {
		EXPECT_EQ(HMM_NC_PS_BUSY, rec.status);
		EXPECT_EQ(-EBUSY, rec.result);
		EXPECT_EQ(give_up_attempts(self->e.dev, mode), rec.attempts);
		EXPECT_EQ(1, cmd.failed);
		EXPECT_EQ(w0, w1) TH_LOG("the core wrote the page");
		EXPECT_EQ(old, pfn_of(_metadata, p));
		EXPECT_TRUE(page_flag(_metadata, old, HMM_KPF_DIRTY));
	}
	ASSERT_EQ(-1, hmm_verify(p, self->e.ps, 200));
	assert_on_disk(_metadata, fd, p, self->e.ps, 200);
	expect_counts(_metadata, &self->e, HMM_NC_CB_FALLBACK, mode,
		      writes ? 1 : 0, writes ? 0 : 1);
	/* The lighter modes are controls: the device copies under NO_COPY only. */
	if (mode != NO_COPY)
		assert_engine_idle(_metadata, &self->e);
	close(fd);
}

TEST_F(core, fallback_dirty_page_written_out_nocopy)
{
	HMM_REQUIRE(self->e.dev, HMM_NEED_NOCOPY);
	fallback_met(_metadata, self, NO_COPY, true);
}

/* The controls: a lighter mode gives up at once and writes nothing. */
TEST_F(core, fallback_dirty_page_sync_light_busy_unwritten)
{
	fallback_met(_metadata, self, SYNC_LIGHT, false);
}

TEST_F(core, fallback_dirty_page_async_busy_unwritten)
{
	fallback_met(_metadata, self, ASYNC, false);
}

/*
 * A null_blk device whose every request takes NULLB_MS, memory backed;
 * its name (nullbN) in name. Returns the open device.
 */
static int nullb_slow(struct __test_metadata *_metadata,
		      FIXTURE_DATA(core) * self, char *name, size_t len)
{
	char path[48];
	int fd, ret;

	ret = hmm_nullb_slow(NULLB_NAME, 16, 4096, NULLB_MS, name, len);
	if (ret == -ENODEV)
		SKIP(return -1, "no null_blk in configfs (CONFIG_BLK_DEV_NULL_BLK)");
	self->nullb = true;
	ASSERT_EQ(0, ret) TH_LOG("null_blk: %s", strerror(-ret));
	snprintf(path, sizeof(path), "/dev/%s", name);
	fd = open(path, O_RDWR);
	ASSERT_LE(0, fd) TH_LOG("open %s: %s", path, strerror(errno));
	return fd;
}

/*
 * Page 0 of the slow device's page cache, written with seed, mapped and
 * put under writeback that stays in flight for about NULLB_MS: the page
 * flag and the device's in-flight writes both say so.
 */
static char *under_writeback(struct __test_metadata *_metadata,
			     FIXTURE_DATA(core) * self, int fd,
			     const char *name, __u64 seed)
{
	char *buf = malloc(self->e.ps), *p;

	ASSERT_NE(NULL, buf);
	hmm_fill(buf, self->e.ps, seed);
	ASSERT_EQ((ssize_t)self->e.ps, pwrite(fd, buf, self->e.ps, 0));
	free(buf);
	p = mmap(NULL, self->e.ps, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	ASSERT_NE(MAP_FAILED, p);
	ASSERT_EQ(-1, hmm_verify(p, self->e.ps, seed));
	ASSERT_EQ(0, sync_file_range(fd, 0, self->e.ps, SYNC_FILE_RANGE_WRITE));
	ASSERT_TRUE(page_flag(_metadata, pfn_of(_metadata, p),
			      HMM_KPF_WRITEBACK));
	ASSERT_LT(0, block_field(name, "inflight", 2))
		TH_LOG("no write in flight on %s", name);
	return p;
}

/*
 * The core meets a page under writeback that stays in flight for about
 * NULLB_MS, in mode. waits: the mode waits for the writeback to end
 * (after its first passes find the page busy), then moves the page: it
 * returns only once the device completed the write. Else the mode gives
 * up at once (-EBUSY), without waiting.
 */
static void writeback_met(struct __test_metadata *_metadata,
			  FIXTURE_DATA(core) * self, __u32 mode, bool waits)
{
	size_t ps = self->e.ps;
	struct hmm_nc_core_page rec;
	struct hmm_nc_core_cmd cmd;
	char name[32], *buf;
	long t0, t1;
	__u64 old;
	char *p;
	int fd;

	fd = nullb_slow(_metadata, self, name, sizeof(name));
	if (fd < 0)
		return;
	p = under_writeback(_metadata, self, fd, name, 220);
	old = pfn_of(_metadata, p);
	t0 = hmm_now_ms();
	ASSERT_EQ(0, core_one(_metadata, self, p, mode, &rec, &cmd));
	t1 = hmm_now_ms();
	if (waits) {
		TH_LOG("attempts %u, %ld ms", rec.attempts, t1 - t0);
		ASSERT_EQ(HMM_NC_PS_MOVED, rec.status)
			TH_LOG("result %d", rec.result);
		EXPECT_TRUE(rec.flags & HMM_NC_CP_WRITEBACK);
		EXPECT_EQ(HMM_NC_CB_BUFFER, rec.cb);
		EXPECT_LE(2, rec.attempts);
		/* It waited for the device: nothing is in flight any more. */
		EXPECT_EQ(0, block_field(name, "inflight", 2));
		EXPECT_LE(100, t1 - t0);
		EXPECT_NE(old, rec.new_pfn);
		EXPECT_EQ(rec.new_pfn, pfn_of(_metadata, p));
		EXPECT_FALSE(page_flag(_metadata, rec.new_pfn,
				       HMM_KPF_WRITEBACK));
	} else {
		EXPECT_EQ(HMM_NC_PS_BUSY, rec.status);
		EXPECT_EQ(-EBUSY, rec.result);
		EXPECT_EQ(give_up_attempts(self->e.dev, mode), rec.attempts);
		/*
		 * It did not wait: the page is still under writeback now
		 * that the call is back (a clock would measure the host).
		 */
		EXPECT_EQ(old, pfn_of(_metadata, p));
		EXPECT_TRUE(page_flag(_metadata, old, HMM_KPF_WRITEBACK));
	}
	ASSERT_EQ(-1, hmm_verify(p, ps, 220));
	munmap(p, ps);
	if (waits) {
		/* And the device holds the data. */
		buf = malloc(ps);
		ASSERT_NE(NULL, buf);
		ASSERT_EQ(0, fsync(fd));
		ASSERT_EQ(0, hmm_write_str("/proc/sys/vm/drop_caches", "3"));
		ASSERT_EQ((ssize_t)ps, pread(fd, buf, ps, 0));
		ASSERT_EQ(-1, hmm_verify(buf, ps, 220));
		free(buf);
	} else {
		ASSERT_EQ(0, fsync(fd));
	}
	expect_counts(_metadata, &self->e, HMM_NC_CB_BUFFER, mode,
		      waits ? 1 : 0, waits ? 0 : 1);
	/* The lighter modes are controls: the device copies under NO_COPY only. */
	if (mode != NO_COPY)
		assert_engine_idle(_metadata, &self->e);
	close(fd);
}

TEST_F(core, writeback_nocopy_waits_then_moves)
{
	HMM_REQUIRE(self->e.dev, HMM_NEED_NOCOPY);
	writeback_met(_metadata, self, NO_COPY, true);
}

/* The controls: lighter modes give up at once. */
TEST_F(core, writeback_sync_light_busy)
{
	writeback_met(_metadata, self, SYNC_LIGHT, false);
}

TEST_F(core, writeback_async_busy)
{
	writeback_met(_metadata, self, ASYNC, false);
}

/*
 * A page whose lock the device holds for HOLD_MS, taken now: an
 * anonymous page (hugetlb false) or a hugetlbfs page, filled with seed.
 * *locked_at: when the hold began.
 */
static char *locked_page(struct __test_metadata *_metadata,
			 FIXTURE_DATA(core) * self, bool hugetlb, __u64 seed,
			 long *locked_at)
{
	size_t size = hugetlb ? TWO_MB : self->e.ps;
	__u64 pfn;
	char *p;
	int fd;

	if (hugetlb) {
		if (hmm_hugetlb_pool_raise(2, &self->pool_was) < 2)
			SKIP(return NULL, "no 2 huge pages in the pool");
		ASSERT_EQ(0, mount_fs(HUGETLB_DIR, "hugetlbfs",
				      "pagesize=2M"));
		fd = open(HUGETLB_DIR "/f", O_RDWR | O_CREAT | O_TRUNC, 0644);
		ASSERT_LE(0, fd);
		unlink(HUGETLB_DIR "/f");
		p = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
		close(fd);
	} else {
		p = hmm_map_anon(size, PROT_READ | PROT_WRITE);
	}
	ASSERT_NE(MAP_FAILED, p);
	ASSERT_NE(NULL, p);
	hmm_fill(p, size, seed);
	*locked_at = hmm_now_ms();
	ASSERT_EQ(0, hmm_core_lock(self->e.dev, p, HOLD_MS, &pfn));
	EXPECT_EQ(pfn_of(_metadata, p), pfn);
	ASSERT_TRUE(page_flag(_metadata, pfn, HMM_KPF_LOCKED));
	return p;
}

/*
 * The core meets a page whose lock the device holds, in mode. waits:
 * the mode waits for the lock, and the page moves once the holder lets
 * go; else the mode does not wait, and the page stays, locked, after
 * every retry.
 */
static void lock_met(struct __test_metadata *_metadata,
		     FIXTURE_DATA(core) * self, bool hugetlb, __u32 mode,
		     bool waits)
{
	size_t size = hugetlb ? TWO_MB : self->e.ps;
	int cb = hugetlb ? HMM_NC_CB_HUGETLBFS : HMM_NC_CB_FOLIO;
	__u64 old, npages = hugetlb ? 512 : 1;
	struct hmm_nc_core_page rec, again;
	struct hmm_nc_core_cmd cmd;
	bool raced = false;
	long t0, t1;
	char *p;

	p = locked_page(_metadata, self, hugetlb, 240, &t0);
	if (!p)
		return;
	old = pfn_of(_metadata, p);
	ASSERT_EQ(0, core_one(_metadata, self, p, mode, &rec, &cmd));
	t1 = hmm_now_ms();
	if (waits) {
		TH_LOG("attempts %u, %ld ms after the lock", rec.attempts,
		       t1 - t0);
		EXPECT_TRUE(rec.flags & HMM_NC_CP_LOCKED);
		EXPECT_LE(HOLD_MS - 50, t1 - t0);
		/*
		 * The holder unlocks, then drops its reference: a core that
		 * got the lock in between finds one reference too many
		 * (-EAGAIN), and on a loaded host can spend every pass
		 * there. That is the holder's timing, not the mode's: the
		 * wait already happened, so one more call, the lock gone,
		 * must move the page.
		 */
		if (rec.status == HMM_NC_PS_BUSY && rec.result == -EAGAIN &&
		    t1 - t0 >= HOLD_MS - 50) {
			TH_LOG("the core met the holder's last reference; once more");
			ASSERT_EQ(0, core_one(_metadata, self, p, mode, &again,
					      &cmd));
			rec = again;
			raced = true;
		}
		ASSERT_EQ(HMM_NC_PS_MOVED, rec.status)
			TH_LOG("result %d", rec.result);
		EXPECT_NE(old, rec.new_pfn);
		EXPECT_EQ(rec.new_pfn, pfn_of(_metadata, p));
		EXPECT_FALSE(page_flag(_metadata, rec.new_pfn, HMM_KPF_LOCKED));
	} else {
		EXPECT_EQ(HMM_NC_PS_BUSY, rec.status);
		EXPECT_EQ(-EAGAIN, rec.result);
		EXPECT_LT(2, rec.attempts);
		/* It did not wait: the device still holds the lock. */
		EXPECT_EQ(old, pfn_of(_metadata, p));
		EXPECT_TRUE(page_flag(_metadata, old, HMM_KPF_LOCKED));
		/* Let the hold end before the page goes. */
		usleep((HOLD_MS + 200) * 1000);
	}
	ASSERT_EQ(-1, hmm_verify(p, size, 240));
	expect_counts(_metadata, &self->e, cb, mode, waits ? npages : 0,
		      waits ? (raced ? npages : 0) : npages);
	/* The lighter modes are controls: the device copies under NO_COPY only. */
	if (mode != NO_COPY)
		assert_engine_idle(_metadata, &self->e);
	munmap(p, size);
}

/* unmap_and_move_huge_page(): NO_COPY takes the lock like SYNC... */
TEST_F(core, hugetlb_locked_nocopy_waits_for_lock)
{
	HMM_REQUIRE(self->e.dev, HMM_NEED_NOCOPY | HMM_NEED_HUGETLB);
	lock_met(_metadata, self, true, NO_COPY, true);
}

/* ... where SYNC_LIGHT never does. */
TEST_F(core, hugetlb_locked_sync_light_gives_up)
{
	HMM_REQUIRE(self->e.dev, HMM_NEED_HUGETLB);
	lock_met(_metadata, self, true, SYNC_LIGHT, false);
}

/* An LRU page's lock: every mode but ASYNC waits for it. */
TEST_F(core, locked_page_nocopy_waits_for_lock)
{
	HMM_REQUIRE(self->e.dev, HMM_NEED_NOCOPY);
	lock_met(_metadata, self, false, NO_COPY, true);
}

TEST_F(core, locked_page_async_gives_up)
{
	lock_met(_metadata, self, false, ASYNC, false);
}

/*
 * Page frame numbers are for CAP_SYS_ADMIN only (lib/test_hmm_uapi.h,
 * "Who may do what"): a caller that dropped it after open() still has
 * its page moved and its record filled, with old_pfn and new_pfn zero.
 */
TEST_F(core, pfns_need_cap_sys_admin)
{
	pid_t pid = child_start(_metadata);
	int status;

	if (pid == 0) {
		struct hmm_nc_core_page rec = { 0 };
		int bad = 0, dev = hmm_open(0);
		char *p = hmm_map_anon(self->e.ps, PROT_READ | PROT_WRITE);

		if (dev < 0 || !p || hmm_drop_sys_admin())
			_exit(100);
		hmm_fill(p, self->e.ps, 260);
		if (hmm_core_migrate(dev, p, 1, SYNC, 0, &rec, NULL) ||
		    rec.status != HMM_NC_PS_MOVED)
			bad |= 1;
		if (rec.old_pfn || rec.new_pfn)
			bad |= 2;
		if (hmm_verify(p, self->e.ps, 260) != -1)
			bad |= 4;
		_exit(bad);
	}
	status = child_status(_metadata, pid, "child set-up failed");
	EXPECT_EQ(0, status & 1) TH_LOG("the page did not move");
	EXPECT_EQ(0, status & 2)
		TH_LOG("page frame numbers shown without CAP_SYS_ADMIN");
	EXPECT_EQ(0, status & 4) TH_LOG("data lost");
	expect_counts(_metadata, &self->e, HMM_NC_CB_FOLIO, SYNC, 1, 0);
}

/* The command's arguments, each refused with EINVAL. */
TEST_F(core, bad_arguments_einval)
{
	struct hmm_nc_core_cmd cmd;
	struct hmm_nc_core_lock lk;
	char *p = hmm_map_anon(self->e.ps, PROT_READ | PROT_WRITE);

	ASSERT_NE(NULL, p);
	p[0] = 1;
	EXPECT_EQ(-EINVAL, hmm_core_migrate(self->e.dev, p, 1, HMM_NC_MODE_COUNT,
					    0, NULL, NULL));
	EXPECT_EQ(-EINVAL, hmm_core_migrate(self->e.dev, p, 1, SYNC, 0x100,
					    NULL, NULL));
	EXPECT_EQ(-EINVAL, hmm_core_migrate(self->e.dev, p + 1, 1, SYNC, 0,
					    NULL, NULL));
	EXPECT_EQ(-EINVAL, hmm_core_migrate(self->e.dev, p, 0, SYNC, 0, NULL,
					    NULL));
	EXPECT_EQ(-EINVAL, hmm_core_migrate(self->e.dev, p,
					    HMM_NC_CORE_MAX_PAGES + 1, SYNC, 0,
					    NULL, NULL));
	memset(&cmd, 0, sizeof(cmd));
	cmd.addr = (uintptr_t)p;
	cmd.npages = 1;
	cmd.reserved[3] = 1;
	EXPECT_EQ(-1, ioctl(self->e.dev, HMM_NC_CORE_MIGRATE, &cmd));
	EXPECT_EQ(EINVAL, errno);
	EXPECT_EQ(-EINVAL, hmm_core_lock(self->e.dev, p, 0, NULL));
	EXPECT_EQ(-EINVAL, hmm_core_lock(self->e.dev, p,
					 HMM_NC_CORE_MAX_HOLD_MS + 1, NULL));
	memset(&lk, 0, sizeof(lk));
	lk.addr = (uintptr_t)p;
	lk.hold_ms = 1;
	lk.flags = 1;
	EXPECT_EQ(-1, ioctl(self->e.dev, HMM_NC_CORE_LOCK, &lk));
	EXPECT_EQ(EINVAL, errno);
	/* The device's own workflows take only SYNC and NO_COPY. */
	EXPECT_EQ(-EINVAL, hmm_migrate_anon(self->e.dev, p, 1, ASYNC, 0, NULL,
					    NULL));
	munmap(p, self->e.ps);
}

HMM_TEST_MAIN

// SPDX-License-Identifier: GPL-2.0
/*
 * stress.*: the module under repetition and under races. Bounded in
 * time; each test states its bound.
 *
 * load_use_unload_{25,100}_cycles: the module's lifecycle, repeated; the
 *   100 cycles are the long soak (a --long run), the 25 the default run's
 *   shorter version with the same bound a cycle.
 * migrate_races_munmap_mremap_mprotect_fork_write: migrations to the
 *   device and back, and NO_COPY migrations of anonymous pages (SYNC
 *   where the kernel has no NO_COPY), racing munmap, mremap, mprotect,
 *   fork and writes on the same range.
 * close_while_threads_migrate: the device file closed under migrations.
 * file_nocopy_races_truncate_punch_write_fsync_{tmpfs,ext4}: NO_COPY
 *   page-cache migrations racing truncate, hole punching, writes and
 *   fsync on the same file, with shmem pages (migrate_folio) and with
 *   ext4 pages of four buffer heads each (__buffer_migrate_folio).
 * exclusive_races_madv_dontneed: EXCLUSIVE and READ racing MADV_DONTNEED
 *   on the same range never return a page the CPU has let go of.
 * cpu_faults_race_madv_dontneed: CPU faults on device pages racing
 *   MADV_DONTNEED of them neither kill the process nor leak VM_FAULT_OOM.
 * release_killed_mid_eviction_is_reaped_promptly: a RELEASE killed while
 *   it evicts returns, and the device stays usable and unloadable.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <glob.h>
#include <linux/loop.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "hmm_harness.h"
#include "libhmm.h"

#define CYCLES		100	/* the long soak; MEMFREE_SLACK_KB's */
#define SHORT_CYCLES	25
#define WARMUP_CYCLES	10
#define CYCLE_PAGES	64

/*
 * Allowed drift of free memory over all cycles. After drop_caches, free
 * memory still moves with slab caches; pages on the per-CPU free lists
 * (up to a few thousand a CPU) are counted as free, not left to chance:
 * 4 MiB covers that on 2 CPUs. A leak of 10 pages per cycle (4 MiB over 100
 * cycles), of a cycle's device chunk memmap (2 MiB each) or of its
 * backing pages (256 KiB each) exceeds it. Fewer cycles get the same
 * bound a cycle (1 MiB over 25): still 5 times the drift measured.
 */
#define MEMFREE_SLACK_KB	(4 * 1024)
/*
 * The same bound holds under KASAN once its quarantine is drained before
 * each measurement (free_kb()). Measured under TCG: 216 kB lost over
 * the 100 cycles on the debug kernel (configs/debug.config: KASAN,
 * kmemleak, lockdep), 16 kB gained on the default one. kmemleak does not
 * see leaked pages (only slab and vmalloc objects): this bound does.
 */

/* Where the page-cache races mount the file system they run on. */
#define STRESS_DIR	"/tmp/hmm_stress"

FIXTURE(stress) {
	size_t ps;
	int mounts;		/* file systems stacked on STRESS_DIR */
	int loop;		/* the loop device under it, or -1 */
	char disk[HMM_LOOP_PATH_LEN];	/* its path */
	bool was_loaded;	/* the module, when the test began */
};

static bool module_loaded(void)
{
	return !access("/sys/module/" HMM_MODULE, F_OK);
}

FIXTURE_SETUP(stress)
{
	self->ps = hmm_page_size();
	self->loop = -1;
	/* Mounts of its own, gone with the test (see libhmm.h). */
	ASSERT_EQ(0, hmm_private_mounts());
	self->was_loaded = module_loaded();
}

/*
 * A test that stopped half-way leaves the module as it found it, loaded
 * or not, and nothing mounted. A file system still busy (an assertion
 * left its file open) is detached now and goes when the test's process
 * ends; the loop device, told to go while in use, goes with it.
 */
FIXTURE_TEARDOWN(stress)
{
	while (self->mounts-- > 0)
		umount2(STRESS_DIR, MNT_DETACH);
	if (self->loop >= 0) {
		ioctl(self->loop, LOOP_CLR_FD, 0);
		close(self->loop);
	}
	if (self->was_loaded && !module_loaded())
		hmm_module_load(hmm_module_ko());
	else if (!self->was_loaded && module_loaded())
		hmm_module_unload();
}

/*
 * KASAN keeps freed slab objects in a quarantine of up to 1/32 of RAM
 * before reuse, so free memory says little there until it is drained:
 * shrinking a slab cache (/sys/kernel/slab/<cache>/shrink, which calls
 * kmem_cache_shrink()) takes that cache's objects out of the quarantine
 * (kasan_cache_shrink()) and frees its empty slabs. Done for every cache
 * before each measurement on a KASAN kernel.
 */
static bool kernel_has_kasan(void)
{
	char line[256];
	bool found = false;
	FILE *f = fopen("/proc/kallsyms", "re");

	if (!f)
		return false;
	while (!found && fgets(line, sizeof(line), f))
		found = !!strstr(line, " kasan_quarantine_put");
	fclose(f);
	return found;
}

/* Every slab cache shrunk: 0, or -errno of the first that failed. */
static int shrink_slab_caches(void)
{
	glob_t g;
	size_t i;
	int ret = 0, r;

	if (glob("/sys/kernel/slab/*/shrink", 0, NULL, &g))
		return -ENOENT;
	for (i = 0; i < g.gl_pathc; i++) {
		r = hmm_write_str(g.gl_pathv[i], "1");
		if (r && !ret)
			ret = r;
	}
	globfree(&g);
	return ret;
}

/* Free memory in kB, the KASAN quarantine drained first if there is one. */
static long free_kb(bool kasan)
{
	if (kasan && shrink_slab_caches())
		return -EIO;
	return hmm_free_kb();
}

/* One use of a freshly loaded module: pages to the device and back. */
static int use_device(size_t ps, unsigned int cycle)
{
	size_t size = CYCLE_PAGES * ps;
	char *buf = hmm_map_anon(size, PROT_READ | PROT_WRITE);
	char *mirror = malloc(size);
	int fd, ret = -ENOMEM;

	if (!buf || !mirror)
		goto out;
	hmm_fill(buf, size, cycle);
	fd = hmm_open_wait(0);
	ret = fd;
	if (fd < 0)
		goto out;
	ret = hmm_cmd(fd, HMM_DMIRROR_MIGRATE_TO_DEV, buf, mirror,
		      CYCLE_PAGES, NULL);
	if (!ret)
		ret = hmm_cmd(fd, HMM_DMIRROR_MIGRATE_TO_SYS, buf, mirror,
			      CYCLE_PAGES, NULL);
	close(fd);
	if (!ret && hmm_verify(buf, size, cycle) >= 0)
		ret = -EIO;
out:
	free(mirror);
	if (buf)
		hmm_unmap(buf, size);
	return ret;
}

/*
 * Unload, load, use, for the given number of cycles: every cycle's
 * module comes up, moves data both ways intact, and goes away; afterwards
 * free memory is back within MEMFREE_SLACK_KB (scaled to the cycles), and
 * the module is loaded again if it was before: whatever runs next finds
 * what it would have found without this test. A module file that cannot
 * be loaded here (HMM_MODULE_KO, e.g. built for another kernel) skips
 * the test. The first WARMUP_CYCLES are not measured: the first loads
 * grow caches that stay (slab and per-CPU chunks, vmalloc areas), which
 * is not a leak; a leak grows with every cycle. Under KASAN the
 * quarantine is drained before each measurement. About 0.15 s a cycle
 * under TCG, 1.5 s on the debug kernel.
 */
static void load_use_unload(struct __test_metadata *_metadata,
			    FIXTURE_DATA(stress) * self, unsigned int cycles)
{
	long slack = MEMFREE_SLACK_KB * (long)cycles / CYCLES;
	const char *ko = hmm_module_ko();
	bool kasan = kernel_has_kasan();
	long before = 0, after;
	unsigned int i;
	int ret;

	if (access(ko, R_OK))
		SKIP(return, "no module file (HMM_MODULE_KO)");
	if (!self->was_loaded) {
		ret = hmm_module_load(ko);
		if (ret)
			SKIP(return, "cannot load the module: %s", strerror(-ret));
	}
	ASSERT_EQ(0, hmm_module_unload());
	for (i = 0; i < WARMUP_CYCLES + cycles; i++) {
		if (i == WARMUP_CYCLES) {
			before = free_kb(kasan);
			ASSERT_GT(before, 0);
		}
		ret = hmm_module_load(ko);
		ASSERT_EQ(0, ret) TH_LOG("cycle %u: load: %s", i, strerror(-ret));
		ret = use_device(self->ps, i);
		EXPECT_EQ(0, ret) TH_LOG("cycle %u: use: %s", i, strerror(-ret));
		ret = hmm_module_unload();
		ASSERT_EQ(0, ret) TH_LOG("cycle %u: unload: %s", i, strerror(-ret));
		if (ret)
			break;
	}
	after = free_kb(kasan);
	if (self->was_loaded)
		ASSERT_EQ(0, hmm_module_load(ko));
	TH_LOG("free before %ld kB, after %ld kB%s", before, after,
	       kasan ? " (KASAN quarantine drained)" : "");
	ASSERT_LT(0, after);
	EXPECT_GE(after, before - slack)
		TH_LOG("lost %ld kB over %u cycles", before - after, cycles);
}

/* The default run's version: about 5 s under TCG. */
TEST_F_TIMEOUT(stress, load_use_unload_25_cycles, 120)
{
	load_use_unload(_metadata, self, SHORT_CYCLES);
}

/* The long soak (a --long run): about 16 s under TCG, 3 min on debug. */
TEST_F_TIMEOUT(stress, load_use_unload_100_cycles, 300)
{
	load_use_unload(_metadata, self, CYCLES);
}

#define RACE_SECONDS	5
#define RACE_PAGES	64	/* churned: remapped, moved, reprotected */
#define STABLE_PAGES	64	/* only written and checked */

/*
 * The commands of the device-path races, on the whole region (churned
 * half included) or on the stable half alone, and the errnos they may
 * meet; race_errno_ok() says which command accepts which, and why.
 */
enum race_cmd {
	RC_WHOLE_TO_DEV, RC_WHOLE_TO_SYS, RC_STABLE_TO_DEV, RC_STABLE_TO_SYS,
	RC_NOCOPY, RC_COUNT
};

static const char * const race_cmd_names[RC_COUNT] = {
	"whole to device", "whole back", "stable to device", "stable back",
	"NO_COPY stable",
};

enum race_errno { RE_EINVAL, RE_ENOENT, RE_EBUSY, RE_OTHER, RE_COUNT };

static enum race_errno race_errno_of(int ret)
{
	switch (ret) {
	case -EINVAL:
		return RE_EINVAL;
	case -ENOENT:
		return RE_ENOENT;
	case -EBUSY:
		return RE_EBUSY;
	}
	return RE_OTHER;
}

static bool race_errno_ok(enum race_cmd c, int ret)
{
	switch (ret) {
	case -EINVAL:
		/*
		 * Part of the range has no VMA: the churn's munmap() and
		 * mremap() leave holes for a moment. Never in the stable
		 * half, which keeps its mapping.
		 */
		return c == RC_WHOLE_TO_DEV || c == RC_WHOLE_TO_SYS;
	case -ENOENT:
		/*
		 * A page did not end up on the device: shared with a forked
		 * child (copy-on-write), or locked or referenced by another
		 * racer's migration or fault as it was collected.
		 */
		return c == RC_WHOLE_TO_DEV || c == RC_STABLE_TO_DEV;
	case -EBUSY:
		/*
		 * hmm_range_fault() saw the page tables change past its
		 * timeout while mapping the range for the device.
		 */
		return c == RC_WHOLE_TO_DEV || c == RC_STABLE_TO_DEV;
	}
	/* NO_COPY reports each page's fate in its status, never an errno. */
	return false;
}

/*
 * Shared by the racing threads. The first half of the region is churned
 * under the migrations; the second half keeps its mapping, so its data
 * can be checked all along while it moves to the device and back. The
 * page-cache races use the region for the file's mapping.
 */
struct race {
	int fd;			/* the device */
	int file;		/* the file of the page-cache races, */
	__u8 cb;		/* its migrate callback (enum hmm_nc_cb) */
	size_t ps;
	char *region;
	char *spare;		/* reserved, for mremap() to move the churn to */
	char *mirror;
	atomic_bool stop;
	atomic_long migrations, failures, churns, checks, bad;
	atomic_long nocopy, moved;	/* NO_COPY commands, pages moved */
	__u32 anon_mode;	/* of race_migrate_nocopy()'s commands */
	atomic_long buffered;		/* moved with their buffer heads */
	/* The device-path races: outcomes by command and errno. */
	atomic_long ok[RC_COUNT];
	atomic_long err[RC_COUNT][RE_COUNT];
	atomic_int unexpected;		/* the last errno not accepted, or 0 */
	atomic_long short_reads;	/* MIGRATE_TO_DEV: fewer pages back */
	atomic_long status_bad;		/* NO_COPY: a status not accepted */
	atomic_ullong last_seed;	/* race_write()'s last pattern */
};

/* The device file and a region of npages with its mirror buffer. */
static void race_setup(struct __test_metadata *_metadata, struct race *r,
		       size_t npages)
{
	size_t size = npages * r->ps;

	r->fd = hmm_open(0);
	ASSERT_GE(r->fd, 0);
	r->region = hmm_map_anon(size, PROT_READ | PROT_WRITE);
	r->mirror = malloc(size);
	ASSERT_NE(NULL, r->region);
	ASSERT_NE(NULL, r->mirror);
}

static bool race_over(struct race *r)
{
	return atomic_load(&r->stop);
}

static void race_check(struct race *r, bool ok)
{
	atomic_fetch_add(&r->checks, 1);
	if (!ok)
		atomic_fetch_add(&r->bad, 1);
}

/* A NO_COPY command's outcome: refusals are expected while racing. */
static void race_nocopy_done(struct race *r, int ret, __u64 moved)
{
	if (ret) {
		atomic_fetch_add(&r->failures, 1);
		return;
	}
	atomic_fetch_add(&r->nocopy, 1);
	atomic_fetch_add(&r->moved, moved);
}

/*
 * A page's fate in a NO_COPY command while racing: moved; skipped (on
 * the device, or locked or pinned by another racer as it was collected);
 * the callback found extra references (a forked child's, a fault's).
 */
static bool race_status_ok(__u8 status)
{
	return status == HMM_NC_PS_MOVED || status == HMM_NC_PS_SKIPPED ||
	       status == HMM_NC_PS_BUSY;
}

/*
 * A NO_COPY command's outcome: it succeeds, the pages it says it moved
 * are those whose status says so, and every status is one of those.
 */
static void race_anon_done(struct race *r, int ret, __u64 moved,
			   const __u8 *status, size_t npages)
{
	size_t i, n = 0;

	if (ret) {
		atomic_fetch_add(&r->failures, 1);
		atomic_fetch_add(&r->err[RC_NOCOPY][race_errno_of(ret)], 1);
		atomic_store(&r->unexpected, ret);
		return;
	}
	for (i = 0; i < npages; i++) {
		if (!race_status_ok(status[i]))
			atomic_fetch_add(&r->status_bad, 1);
		n += status[i] == HMM_NC_PS_MOVED;
	}
	if (n != moved)
		atomic_fetch_add(&r->status_bad, 1);
	atomic_fetch_add(&r->ok[RC_NOCOPY], 1);
	atomic_fetch_add(&r->nocopy, 1);
	atomic_fetch_add(&r->moved, moved);
}

/* One command's outcome: counted by errno; one not accepted is kept. */
static int race_done(struct race *r, enum race_cmd c, int ret)
{
	if (!ret) {
		atomic_fetch_add(&r->ok[c], 1);
		return 0;
	}
	atomic_fetch_add(&r->err[c][race_errno_of(ret)], 1);
	if (!race_errno_ok(c, ret))
		atomic_store(&r->unexpected, ret);
	return ret;
}

/*
 * Migrations may fail while the range changes under them: count by
 * errno, go on. A MIGRATE_TO_DEV that succeeds had every page of the
 * range on the device when it mapped them: the device read them all.
 */
static void race_migrate_range(struct race *r, char *start, __u64 npages,
			       enum race_cmd to_dev)
{
	struct hmm_dmirror_cmd cmd;
	int ret;

	while (!race_over(r)) {
		memset(&cmd, 0, sizeof(cmd));
		ret = race_done(r, to_dev,
				hmm_cmd(r->fd, HMM_DMIRROR_MIGRATE_TO_DEV,
					start, r->mirror, npages, &cmd));
		if (!ret && cmd.cpages != npages)
			atomic_fetch_add(&r->short_reads, 1);
		if (!ret)
			ret = race_done(r, to_dev + 1,
					hmm_cmd(r->fd,
						HMM_DMIRROR_MIGRATE_TO_SYS,
						start, r->mirror, npages,
						NULL));
		atomic_fetch_add(ret ? &r->failures : &r->migrations, 1);
	}
}

/* The whole region, churned half included: most attempts are refused. */
static void *race_migrate(void *arg)
{
	struct race *r = arg;

	race_migrate_range(r, r->region, RACE_PAGES + STABLE_PAGES,
			   RC_WHOLE_TO_DEV);
	return NULL;
}

/* The stable half only: moves while it is written and forked. */
static void *race_migrate_stable(void *arg)
{
	struct race *r = arg;

	race_migrate_range(r, r->region + RACE_PAGES * r->ps, STABLE_PAGES,
			   RC_STABLE_TO_DEV);
	return NULL;
}

/*
 * The stable half through the NO_COPY engine as well, so the engine's
 * own copy and state moves race with the device path, writes and fork
 * (in anon_mode: SYNC where the kernel has no NO_COPY, which still races
 * the engine's state moves).
 */
static void *race_migrate_nocopy(void *arg)
{
	struct race *r = arg;
	char *stable = r->region + RACE_PAGES * r->ps;
	struct hmm_nc_migrate_cmd cmd = { 0 };
	__u8 status[STABLE_PAGES];
	int ret;

	while (!race_over(r)) {
		memset(status, 0xff, sizeof(status));
		ret = hmm_migrate_anon(r->fd, stable, STABLE_PAGES,
				       r->anon_mode, 0, status, &cmd);
		race_anon_done(r, ret, cmd.moved, status, STABLE_PAGES);
	}
	return NULL;
}

/* The churn's first quarter unmapped and mapped anew: it reads zeros. */
static bool churn_remap(struct race *r, size_t len)
{
	char *p;

	munmap(r->region, len);
	p = mmap(r->region, len, PROT_READ | PROT_WRITE,
		 MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0);
	if (p == MAP_FAILED)
		return false;
	race_check(r, hmm_verify_word(p, len, 0) < 0);
	return true;
}

/* The second quarter read while it is read-only. */
static void churn_protect(struct race *r, size_t size, __u64 seed)
{
	char *quarter = r->region + size / 2;

	mprotect(quarter, size / 2, PROT_READ);
	race_check(r, hmm_verify(r->region, size, seed) < 0);
	mprotect(quarter, size / 2, PROT_READ | PROT_WRITE);
}

/*
 * mremap() moves a range of one VMA only. The churned half may be two
 * (its first quarter is mapped anew, its second reprotected) but each
 * quarter lies within one: each moves on its own, to its offset in to.
 */
static bool churn_move_to(char *from, char *to, size_t size)
{
	size_t off, len = size / 2;

	for (off = 0; off < size; off += len)
		if (mremap(from + off, len, len, MREMAP_MAYMOVE | MREMAP_FIXED,
			   to + off) != to + off)
			return false;
	return true;
}

/*
 * The churn moved to the spare reservation, whose pages it replaces,
 * and back; then the spare is reserved again. The data comes along.
 * Between the moves the region or the spare is a hole that MAP_FIXED
 * and MREMAP_FIXED take back whatever is there: no racing thread may
 * map memory meanwhile (none allocates after the set-up).
 */
static bool churn_move(struct race *r, size_t size, __u64 seed)
{
	if (!churn_move_to(r->region, r->spare, size))
		return false;
	race_check(r, hmm_verify(r->spare, size, seed) < 0);
	if (!churn_move_to(r->spare, r->region, size))
		return false;
	race_check(r, hmm_verify(r->region, size, seed) < 0);
	return mmap(r->spare, size, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS |
		    MAP_NORESERVE | MAP_FIXED, -1, 0) != MAP_FAILED;
}

/*
 * The churned half, under the migrations: its first quarter mapped
 * anew, the whole refilled, read while half read-only, moved away and
 * back. A call that fails leaves holes the next round would fault on:
 * the churn stops there, counted bad. At least one round, however slow
 * the kernel (a debug kernel under emulation takes seconds a round).
 */
static void *race_churn(void *arg)
{
	struct race *r = arg;
	size_t size = RACE_PAGES * r->ps;
	__u64 seed = 1;

	do {
		if (!churn_remap(r, size / 2)) {
			atomic_fetch_add(&r->bad, 1);
			break;
		}
		hmm_fill(r->region, size, seed);
		churn_protect(r, size, seed);
		if (!churn_move(r, size, seed)) {
			atomic_fetch_add(&r->bad, 1);
			break;
		}
		seed++;
		atomic_fetch_add(&r->churns, 1);
	} while (!race_over(r));
	return NULL;
}

/*
 * Writes a new pattern over the stable half and reads it back, at least
 * once, as the churn does.
 */
static void *race_write(void *arg)
{
	struct race *r = arg;
	char *stable = r->region + RACE_PAGES * r->ps;
	size_t size = STABLE_PAGES * r->ps;
	__u64 seed = 1;

	do {
		hmm_fill(stable, size, seed);
		atomic_store(&r->last_seed, seed);
		race_check(r, hmm_verify(stable, size, seed) < 0);
		seed++;
	} while (!race_over(r));
	return NULL;
}

/* Children share the pages copy-on-write, touch them and exit. */
static void *race_fork(void *arg)
{
	struct race *r = arg;
	char *stable = r->region + RACE_PAGES * r->ps;
	pid_t pid;

	while (!race_over(r)) {
		pid = fork();
		if (pid == 0) {
			stable[0] ^= 1;
			_exit(0);
		}
		if (pid > 0)
			waitpid(pid, NULL, 0);
	}
	return NULL;
}

#define RACERS_MAX	8

/* A racing thread: what it runs, on what. */
struct racer {
	void *(*fn)(void *arg);
	void *arg;
};

/*
 * Runs the racers for seconds, then stops and joins them. A thread that
 * cannot start stops those already running.
 */
static void race_run(struct __test_metadata *_metadata, struct race *r,
		     const struct racer *racers, unsigned int n,
		     unsigned int seconds)
{
	pthread_t threads[RACERS_MAX];
	unsigned int i, started;

	ASSERT_GE(RACERS_MAX, n);
	for (started = 0; started < n; started++)
		if (pthread_create(&threads[started], NULL, racers[started].fn,
				   racers[started].arg))
			break;
	if (started == n)
		sleep(seconds);
	atomic_store(&r->stop, true);
	for (i = 0; i < started; i++)
		pthread_join(threads[i], NULL);
	ASSERT_EQ(n, started) TH_LOG("cannot start thread %u", started);
}

/* Each command's outcomes, by errno, in the test's log. */
static void race_log(struct __test_metadata *_metadata, struct race *r)
{
	unsigned int c;

	for (c = 0; c < RC_COUNT; c++) {
		TH_LOG("%s: %ld ok, EINVAL %ld, ENOENT %ld, EBUSY %ld, other %ld",
		       race_cmd_names[c], atomic_load(&r->ok[c]),
		       atomic_load(&r->err[c][RE_EINVAL]),
		       atomic_load(&r->err[c][RE_ENOENT]),
		       atomic_load(&r->err[c][RE_EBUSY]),
		       atomic_load(&r->err[c][RE_OTHER]));
	}
}

/*
 * Migrations to the device and back and NO_COPY migrations race with
 * munmap/mmap, mremap, mprotect, fork and writes on the same range for
 * RACE_SECONDS. Each command fails only with an errno that the racing
 * explains (race_errno_ok(): EINVAL for a hole the churn left, in the
 * whole region only; ENOENT for a page kept off the device by a fork or
 * another racer; EBUSY for page tables that kept changing) and NO_COPY
 * never fails, its pages' statuses adding up to what it says it moved.
 * A migration to the device succeeds at least once (the device then
 * read every page of its range), one back too, and NO_COPY moves pages.
 * The data is always right, the churned half's included wherever
 * mremap() has put it; once the racing stops, the stable half goes to
 * the device whole with the last pattern written (the device reads it)
 * and comes back whole with it. The kernel logs nothing (the runner's
 * gate) and nothing is left locked or taken (the runner's counter check).
 */
TEST_F_TIMEOUT(stress, migrate_races_munmap_mremap_mprotect_fork_write, 60)
{
	struct race r = { .ps = self->ps };
	const struct racer racers[] = {
		{ race_migrate, &r }, { race_migrate_stable, &r },
		{ race_migrate_nocopy, &r }, { race_churn, &r },
		{ race_write, &r }, { race_fork, &r },
	};
	size_t size = (RACE_PAGES + STABLE_PAGES) * self->ps;
	size_t churn = RACE_PAGES * self->ps;
	struct hmm_dmirror_cmd cmd;
	__u8 prot[STABLE_PAGES];
	unsigned int i;
	char *stable;

	race_setup(_metadata, &r, RACE_PAGES + STABLE_PAGES);
	stable = r.region + churn;
	r.anon_mode = hmm_unmet(r.fd, HMM_NEED_NOCOPY) ?
		      HMM_NC_MODE_SYNC : HMM_NC_MODE_SYNC_NO_COPY;
	r.spare = mmap(NULL, churn, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS |
		       MAP_NORESERVE, -1, 0);
	ASSERT_NE(MAP_FAILED, r.spare);
	memset(r.region, 0x5a, size);
	race_run(_metadata, &r, racers, ARRAY_SIZE(racers), RACE_SECONDS);
	TH_LOG("%ld device migrations, %ld %s moving %ld pages, %ld refused or failed",
	       atomic_load(&r.migrations), atomic_load(&r.nocopy),
	       r.anon_mode == HMM_NC_MODE_SYNC ? "SYNC" : "NO_COPY",
	       atomic_load(&r.moved), atomic_load(&r.failures));
	TH_LOG("%ld churns, %ld checks", atomic_load(&r.churns),
	       atomic_load(&r.checks));
	race_log(_metadata, &r);
	EXPECT_EQ(0, atomic_load(&r.bad));
	EXPECT_EQ(0, atomic_load(&r.unexpected))
		TH_LOG("an errno no race explains: %s",
		       strerror(-atomic_load(&r.unexpected)));
	EXPECT_EQ(0, atomic_load(&r.short_reads));
	EXPECT_EQ(0, atomic_load(&r.status_bad));
	EXPECT_LT(0, atomic_load(&r.ok[RC_WHOLE_TO_DEV]) +
		     atomic_load(&r.ok[RC_STABLE_TO_DEV]));
	EXPECT_LT(0, atomic_load(&r.ok[RC_WHOLE_TO_SYS]) +
		     atomic_load(&r.ok[RC_STABLE_TO_SYS]));
	EXPECT_LT(0, atomic_load(&r.ok[RC_NOCOPY]));
	EXPECT_GT(atomic_load(&r.moved), 0);
	EXPECT_GT(atomic_load(&r.churns), 0);
	EXPECT_GT(atomic_load(&r.checks), 0);
	/*
	 * Racing over: the stable half goes to the device whole, with the
	 * last pattern written, and comes back whole with it.
	 */
	memset(r.mirror, 0, STABLE_PAGES * self->ps);
	memset(&cmd, 0, sizeof(cmd));
	ASSERT_EQ(0, hmm_cmd(r.fd, HMM_DMIRROR_MIGRATE_TO_DEV, stable,
			     r.mirror, STABLE_PAGES, &cmd));
	EXPECT_EQ(STABLE_PAGES, cmd.cpages);
	ASSERT_EQ(0, hmm_snapshot(r.fd, stable, STABLE_PAGES, prot));
	for (i = 0; i < STABLE_PAGES; i++) {
		EXPECT_EQ(HMM_DMIRROR_PROT_DEV_PRIVATE_LOCAL, prot[i] & 0xf0)
			TH_LOG("page %u: 0x%x", i, prot[i]);
	}
	EXPECT_EQ(-1, hmm_verify(r.mirror, STABLE_PAGES * self->ps,
				 atomic_load(&r.last_seed)));
	ASSERT_EQ(0, hmm_cmd(r.fd, HMM_DMIRROR_MIGRATE_TO_SYS, stable,
			     r.mirror, STABLE_PAGES, &cmd));
	ASSERT_EQ(0, hmm_snapshot(r.fd, stable, STABLE_PAGES, prot));
	for (i = 0; i < STABLE_PAGES; i++) {
		EXPECT_EQ(0, prot[i] & 0xf0) TH_LOG("page %u: 0x%x", i,
						    prot[i]);
	}
	EXPECT_EQ(-1, hmm_verify(stable, STABLE_PAGES * self->ps,
				 atomic_load(&r.last_seed)));
	hmm_unmap(r.spare, churn);
	hmm_unmap(r.region, size);
	free(r.mirror);
	close(r.fd);
}

/* Migrating threads whose file is closed under them: clean EBADF. */
static void *race_close_migrate(void *arg)
{
	struct race *r = arg;
	int ret;

	do {
		ret = hmm_cmd(r->fd, HMM_DMIRROR_MIGRATE_TO_DEV, r->region,
			      r->mirror, STABLE_PAGES, NULL);
		if (!ret)
			ret = hmm_cmd(r->fd, HMM_DMIRROR_MIGRATE_TO_SYS,
				      r->region, r->mirror, STABLE_PAGES, NULL);
		atomic_fetch_add(&r->migrations, 1);
	} while (ret != -EBADF && !race_over(r));
	if (ret != -EBADF)
		atomic_fetch_add(&r->bad, 1);
	return NULL;
}

/*
 * The file is closed while the threads migrate: once they have made two
 * round trips a thread between them, or after CLOSE_AFTER_MS. Each
 * thread then has CLOSE_EBADF_SECONDS to see EBADF and stop; one still
 * running after that is stopped, which counts as bad.
 */
#define CLOSE_AFTER_MS		500
#define CLOSE_EBADF_SECONDS	2

TEST_F_TIMEOUT(stress, close_while_threads_migrate, 60)
{
	size_t size = STABLE_PAGES * self->ps;
	struct race r = { .ps = self->ps };
	pthread_t threads[2];
	bool joined[2] = { false, false };
	struct timespec deadline;
	unsigned int i;

	race_setup(_metadata, &r, STABLE_PAGES);
	hmm_fill(r.region, size, 7);
	for (i = 0; i < ARRAY_SIZE(threads); i++)
		ASSERT_EQ(0, pthread_create(&threads[i], NULL,
					    race_close_migrate, &r));
	for (i = 0; i < CLOSE_AFTER_MS; i++) {
		if (atomic_load(&r.migrations) >= 2 * ARRAY_SIZE(threads))
			break;
		usleep(1000);
	}
	ASSERT_EQ(0, close(r.fd));
	/* pthread_timedjoin_np() takes a CLOCK_REALTIME deadline. */
	clock_gettime(CLOCK_REALTIME, &deadline);
	deadline.tv_sec += CLOSE_EBADF_SECONDS;
	for (i = 0; i < ARRAY_SIZE(threads); i++)
		joined[i] = !pthread_timedjoin_np(threads[i], NULL, &deadline);
	atomic_store(&r.stop, true);
	for (i = 0; i < ARRAY_SIZE(threads); i++) {
		if (!joined[i])
			pthread_join(threads[i], NULL);
	}
	EXPECT_EQ(0, atomic_load(&r.bad)) TH_LOG("a thread never saw EBADF");
	/* Pages left on the device come back on access, intact. */
	EXPECT_EQ(-1, hmm_verify(r.region, size, 7));
	hmm_unmap(r.region, size);
	free(r.mirror);
}

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

/* Runs a command line through the shell: its exit status, or -1. */
static int shell(const char *fmt, ...)
{
	char cmd[256];
	va_list ap;
	int status;

	va_start(ap, fmt);
	vsnprintf(cmd, sizeof(cmd), fmt, ap);
	va_end(ap);
	status = system(cmd);
	return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

static void mount_stress_dir(struct __test_metadata *_metadata,
			     int *mounts, const char *source,
			     const char *fstype, const char *opts)
{
	mkdir(STRESS_DIR, 0755);
	ASSERT_EQ(0, mount(source, STRESS_DIR, fstype, 0, opts))
		TH_LOG("mount %s on %s: %s", fstype, STRESS_DIR, strerror(errno));
	(*mounts)++;
}

/* Shmem pages: their callback is migrate_folio(). */
TEST_F_TIMEOUT(stress, file_nocopy_races_truncate_punch_write_fsync_tmpfs, 60)
{
	int fd = hmm_open(0);

	HMM_REQUIRE(fd, HMM_NEED_NOCOPY);
	close(fd);
	mount_stress_dir(_metadata, &self->mounts, "tmpfs", "tmpfs", "size=16m");
	file_race(_metadata, self->ps, HMM_NC_CB_FOLIO);
}

/*
 * ext4 with 1 KiB blocks: each page has four buffer heads and moves
 * through __buffer_migrate_folio(). Afterwards e2fsck finds nothing to
 * fix. Its loop device's image is on ramfs, mounted beneath it: with no
 * fallocate() there, the loop device offers no write-zeroes, which it
 * would fail over tmpfs (no FALLOC_FL_ZERO_RANGE), logging I/O errors
 * while mkfs zeroes.
 */
TEST_F_TIMEOUT(stress, file_nocopy_races_truncate_punch_write_fsync_ext4, 90)
{
	int fd = hmm_open(0);

	HMM_REQUIRE(fd, HMM_NEED_NOCOPY);
	close(fd);
	if (access("/sbin/mkfs.ext4", X_OK) || access("/sbin/e2fsck", X_OK))
		SKIP(return, "no /sbin/mkfs.ext4 or /sbin/e2fsck");
	mount_stress_dir(_metadata, &self->mounts, "ramfs", "ramfs", NULL);
	self->loop = hmm_loop_attach(STRESS_DIR, EXT4_IMAGE_SIZE, self->disk,
				     sizeof(self->disk));
	if (self->loop < 0)
		SKIP(return, "no loop device: %s", strerror(-self->loop));
	hmm_random_ready();	/* seconds a mkfs otherwise: see libhmm.h */
	ASSERT_EQ(0, shell("/sbin/mkfs.ext4 -q -F -b 1024 %s >/dev/null 2>&1",
			   self->disk));
	mount_stress_dir(_metadata, &self->mounts, self->disk, "ext4", NULL);
	file_race(_metadata, self->ps, HMM_NC_CB_BUFFER);
	ASSERT_EQ(0, umount(STRESS_DIR)) TH_LOG("umount: %s", strerror(errno));
	self->mounts--;
	ASSERT_EQ(0, shell("/sbin/e2fsck -fn %s >/dev/null 2>&1", self->disk))
		TH_LOG("e2fsck -fn %s found errors", self->disk);
}

#define EXCL_PAGES	16

struct excl_race {
	__u64 *buf;		/* EXCL_PAGES pages */
	size_t ps;
	atomic_ulong dropped;	/* generations whose pages MADV_DONTNEED freed */
	atomic_bool stop;
};

/* Each page of generation g holds g in every word, then is dropped. */
static void *excl_dropper(void *arg)
{
	struct excl_race *r = arg;
	size_t words = EXCL_PAGES * r->ps / sizeof(__u64), i;
	unsigned long g;

	for (g = 1; !atomic_load(&r->stop); g++) {
		for (i = 0; i < words; i++)
			r->buf[i] = g;
		madvise(r->buf, EXCL_PAGES * r->ps, MADV_DONTNEED);
		atomic_store(&r->dropped, g);
	}
	return NULL;
}

/* Pages of out holding a generation already dropped before the read. */
static int excl_stale(const struct excl_race *r, const __u64 *out,
		      unsigned long dropped)
{
	size_t words = r->ps / sizeof(__u64), p;
	int stale = 0;

	for (p = 0; p < EXCL_PAGES; p++) {
		__u64 w = out[p * words];

		if (w && w <= dropped)
			stale++;
	}
	return stale;
}

/*
 * EXCLUSIVE (make_device_exclusive_range(), then the mirror) racing
 * MADV_DONTNEED of the same pages, then READ through the mirror: a page
 * freed before the command started must never come back. After a
 * DONTNEED the CPU reads zero until the next fill, so a page holding a
 * generation that was dropped before the command is the freed page
 * itself: the mirror kept a stale entry. Bounded to 5 s.
 */
TEST_F_TIMEOUT(stress, exclusive_races_madv_dontneed, 60)
{
	struct excl_race r = { .ps = self->ps };
	struct hmm_dmirror_cmd cmd;
	unsigned long d, rounds = 0;
	struct timespec t0, t;
	int fd, stale = 0;
	pthread_t thread;
	__u64 *out;

	fd = hmm_open(0);
	ASSERT_GE(fd, 0);
	HMM_REQUIRE(fd, HMM_NEED_EXCLUSIVE);
	r.buf = hmm_map_anon(EXCL_PAGES * self->ps, PROT_READ | PROT_WRITE);
	out = malloc(EXCL_PAGES * self->ps);
	ASSERT_NE(NULL, r.buf);
	ASSERT_NE(NULL, out);
	ASSERT_EQ(0, pthread_create(&thread, NULL, excl_dropper, &r));
	clock_gettime(CLOCK_MONOTONIC, &t0);
	do {
		memset(&cmd, 0, sizeof(cmd));
		cmd.addr = (uintptr_t)r.buf;
		cmd.ptr = (uintptr_t)out;
		cmd.npages = EXCL_PAGES;
		memset(out, 0, EXCL_PAGES * self->ps);
		d = atomic_load(&r.dropped);
		if (!ioctl(fd, HMM_DMIRROR_EXCLUSIVE, &cmd))
			stale += excl_stale(&r, out, d);
		memset(out, 0, EXCL_PAGES * self->ps);
		d = atomic_load(&r.dropped);
		cmd.cpages = 0;
		cmd.faults = 0;
		if (!ioctl(fd, HMM_DMIRROR_READ, &cmd))
			stale += excl_stale(&r, out, d);
		rounds++;
		clock_gettime(CLOCK_MONOTONIC, &t);
	} while (t.tv_sec - t0.tv_sec < 5 && !stale);
	atomic_store(&r.stop, true);
	pthread_join(thread, NULL);
	EXPECT_EQ(0, stale)
		TH_LOG("%d freed pages came back through the mirror (%lu rounds)",
		       stale, rounds);
	free(out);
	hmm_unmap(r.buf, EXCL_PAGES * self->ps);
	close(fd);
}

#define FAULT_RACE_PAGES	32
#define FAULT_RACE_SECS		6
#define FAULT_HOLD_PAGES	512	/* READ under the mirror's lock */
#define FAULT_RACE_PAUSE_US	500	/* after each migration */

struct fault_race {
	char *buf;		/* FAULT_RACE_PAGES pages */
	char *hold;		/* FAULT_HOLD_PAGES pages */
	char *hold_out;
	size_t ps;
	int fd;
	atomic_bool stop;
};

/* Touches every page: each read of a device page is a CPU fault. */
static void *fault_race_reader(void *arg)
{
	struct fault_race *r = arg;
	size_t p;

	while (!atomic_load(&r->stop))
		for (p = 0; p < FAULT_RACE_PAGES; p++)
			__atomic_load_n(&r->buf[p * r->ps], __ATOMIC_RELAXED);
	return NULL;
}

/* Empties the entries under the faults. */
static void *fault_race_dropper(void *arg)
{
	struct fault_race *r = arg;

	while (!atomic_load(&r->stop))
		madvise(r->buf, FAULT_RACE_PAGES * r->ps, MADV_DONTNEED);
	return NULL;
}

/*
 * READs of another buffer: each copies 2 MiB with the mirror's lock
 * held. A CPU fault on a device page waits for that lock in the
 * device's invalidation, after the kernel read the page's entry and
 * before migrate_vma_setup() walks it again: MADV_DONTNEED, whose
 * invalidation may get the lock first, then empties the entry in that
 * window, which is otherwise a few instructions wide.
 */
static void *fault_race_holder(void *arg)
{
	struct fault_race *r = arg;

	while (!atomic_load(&r->stop))
		hmm_cmd(r->fd, HMM_DMIRROR_READ, r->hold, r->hold_out,
			FAULT_HOLD_PAGES, NULL);
	return NULL;
}

/*
 * The racing process: moves the range to the device over and over while
 * one thread reads it (CPU faults on device pages), one drops it
 * (MADV_DONTNEED) and one keeps the mirror's lock busy. Exits 0 when
 * the time is up; a fault answered with SIGBUS, or VM_FAULT_OOM turned
 * into an OOM kill, ends it otherwise. (More readers or droppers made
 * fewer faults race on a guest of 2 CPUs.)
 */
static void fault_race_child(size_t ps)
{
	struct fault_race r = { .ps = ps };
	pthread_t reader, dropper, holder;
	struct timespec t0, t;
	char *mirror;

	r.fd = hmm_open(0);
	r.buf = hmm_map_anon(FAULT_RACE_PAGES * ps, PROT_READ | PROT_WRITE);
	r.hold = hmm_map_anon(FAULT_HOLD_PAGES * ps, PROT_READ | PROT_WRITE);
	r.hold_out = malloc(FAULT_HOLD_PAGES * ps);
	mirror = malloc(FAULT_RACE_PAGES * ps);
	if (r.fd < 0 || !r.buf || !r.hold || !r.hold_out || !mirror)
		_exit(2);
	memset(r.hold, 0x3c, FAULT_HOLD_PAGES * ps);
	if (pthread_create(&reader, NULL, fault_race_reader, &r) ||
	    pthread_create(&dropper, NULL, fault_race_dropper, &r) ||
	    pthread_create(&holder, NULL, fault_race_holder, &r))
		_exit(3);
	memset(r.buf, 0x5a, FAULT_RACE_PAGES * ps);
	clock_gettime(CLOCK_MONOTONIC, &t0);
	do {
		/*
		 * Whatever the range holds now (data, zero pages, holes the
		 * drops left) goes to the device; no fill from here, which
		 * would map a fresh page into an entry a drop just emptied
		 * before the fault waiting on it looks again. Any answer
		 * will do.
		 */
		hmm_cmd(r.fd, HMM_DMIRROR_MIGRATE_TO_DEV, r.buf, mirror,
			FAULT_RACE_PAGES, NULL);
		/* Let the faults and the drops have the range a while. */
		usleep(FAULT_RACE_PAUSE_US);
		clock_gettime(CLOCK_MONOTONIC, &t);
	} while (t.tv_sec - t0.tv_sec < FAULT_RACE_SECS);
	atomic_store(&r.stop, true);
	pthread_join(reader, NULL);
	pthread_join(dropper, NULL);
	pthread_join(holder, NULL);
	_exit(0);
}

/*
 * CPU faults on device pages (migrate_to_ram()) racing MADV_DONTNEED of
 * the same pages: a fault that finds its entry emptied meanwhile has
 * nothing to bring back, and must let the CPU fault again (the hole),
 * as the 6.1 test device does. Answered with VM_FAULT_SIGBUS the
 * process dies of SIGBUS; with VM_FAULT_OOM the kernel says
 * "VM_FAULT_OOM leaked out to the #PF handler" (6.1) or OOM-kills (5.10).
 * So: the racing process ends by itself, the log has no such line, and
 * faults did race. Bounded to FAULT_RACE_SECS (6 s). A module that
 * answers the hole with SIGBUS or VM_FAULT_OOM fails here in about five
 * runs of six under TCG.
 */
TEST_F_TIMEOUT(stress, cpu_faults_race_madv_dontneed, 60)
{
	static const char *const leaked[] = {
		"VM_FAULT_OOM leaked", "Out of memory", NULL
	};
	struct hmm_nc_counters c0, c1;
	char line[256];
	int fd, kmsg, status;
	pid_t pid;

	fd = hmm_open(0);
	ASSERT_GE(fd, 0);
	kmsg = hmm_kmsg_open();
	ASSERT_GE(kmsg, 0) TH_LOG("/dev/kmsg: %s", strerror(-kmsg));
	ASSERT_EQ(0, hmm_counters(fd, false, &c0));
	fflush(NULL);
	pid = fork();
	ASSERT_GE(pid, 0);
	if (!pid)
		fault_race_child(self->ps);
	ASSERT_EQ(pid, waitpid(pid, &status, 0));
	ASSERT_EQ(0, hmm_counters(fd, false, &c1));
	EXPECT_FALSE(WIFSIGNALED(status))
		TH_LOG("the racing process died of signal %d (%s)",
		       WTERMSIG(status), strsignal(WTERMSIG(status)));
	EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0)
		TH_LOG("the racing process failed to set up (status 0x%x)",
		       status);
	EXPECT_EQ(0, hmm_kmsg_count(kmsg, leaked, line, sizeof(line)))
		TH_LOG("kernel log: %s", line);
	EXPECT_GT(c1.cpu_faults, c0.cpu_faults)
		TH_LOG("no CPU fault on a device page: nothing raced");
	TH_LOG("%llu CPU faults on device pages",
	       (unsigned long long)(c1.cpu_faults - c0.cpu_faults));
	close(kmsg);
	close(fd);
}

/* 32 MiB on the device: 8 s to evict at 1 ms a page. */
#define KILL_PAGES	8192
#define KILL_SETUP_US	1000	/* the engine's cost of one copy */
#define KILL_REAP_MS	5000	/* a batch (0.5 s) and the exit, with room */
#define KILL_SEED	0x6b696c6cULL	/* "kill" */

static long ms_since(const struct timespec *t0)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (t.tv_sec - t0->tv_sec) * 1000 +
	       (t.tv_nsec - t0->tv_nsec) / 1000000;
}

/* A process of its own (RELEASE serves its opener) that evicts it all. */
static void release_child(size_t ps)
{
	char *page = hmm_map_anon(ps, PROT_READ | PROT_WRITE);
	struct hmm_dmirror_cmd cmd = { .npages = 1 };
	int fd;

	prctl(PR_SET_PDEATHSIG, SIGKILL);
	fd = hmm_open(0);
	if (fd < 0 || !page)
		_exit(2);
	cmd.addr = (uintptr_t)page;
	cmd.ptr = (uintptr_t)page;
	_exit(ioctl(fd, HMM_DMIRROR_RELEASE, &cmd) ? 1 : 0);
}

/*
 * RELEASE evicts every page of the device and waits for those a
 * migration holds; with a slow engine (HMM_NC_ENGINE_SET, 1 ms a page)
 * evicting KILL_PAGES takes 8 s. Killed once the eviction is under way
 * (devmem_free moves), the process is reaped within KILL_REAP_MS; the
 * pages it did not evict stay on the device, a RELEASE of our own
 * brings them back with their data, the counters balance and the module
 * unloads and loads again. About 10 s under TCG.
 */
TEST_F_TIMEOUT(stress, release_killed_mid_eviction_is_reaped_promptly, 120)
{
	size_t size = KILL_PAGES * self->ps;
	struct hmm_nc_counters c0, c1, c2;
	struct timespec t0;
	long reap_ms = -1;
	char *buf, *mirror;
	int fd, status;
	pid_t pid;

	fd = hmm_open(0);
	ASSERT_GE(fd, 0);
	HMM_REQUIRE(fd, HMM_NEED_RELEASE);
	buf = hmm_map_anon(size, PROT_READ | PROT_WRITE);
	mirror = malloc(size);
	ASSERT_NE(NULL, buf);
	ASSERT_NE(NULL, mirror);
	hmm_fill(buf, size, KILL_SEED);
	ASSERT_EQ(0, hmm_counters(fd, false, &c0));
	ASSERT_EQ(0, hmm_cmd(fd, HMM_DMIRROR_MIGRATE_TO_DEV, buf, mirror,
			     KILL_PAGES, NULL));
	ASSERT_EQ(0, hmm_engine_set(fd, HMM_NC_ENGINE_PER_PAGE, 0,
				    KILL_SETUP_US, NULL));
	ASSERT_EQ(0, hmm_counters(fd, false, &c1));

	fflush(NULL);
	pid = fork();
	ASSERT_GE(pid, 0);
	if (!pid)
		release_child(self->ps);
	clock_gettime(CLOCK_MONOTONIC, &t0);
	do {
		usleep(10000);
		ASSERT_EQ(0, hmm_counters(fd, false, &c2));
	} while (c2.devmem_free == c1.devmem_free && ms_since(&t0) < 5000);
	if (c2.devmem_free != c1.devmem_free) {
		clock_gettime(CLOCK_MONOTONIC, &t0);
		kill(pid, SIGKILL);
		ASSERT_EQ(pid, waitpid(pid, &status, 0));
		reap_ms = ms_since(&t0);
	} else {
		kill(pid, SIGKILL);
		waitpid(pid, &status, 0);
	}
	hmm_engine_reset(fd);
	ASSERT_NE(-1, reap_ms) TH_LOG("the eviction did not start in 5 s");
	ASSERT_EQ(0, hmm_counters(fd, false, &c2));
	TH_LOG("reaped %ld ms after SIGKILL, %llu of %d pages evicted",
	       reap_ms, (unsigned long long)(c2.devmem_free - c1.devmem_free),
	       KILL_PAGES);
	EXPECT_TRUE(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL)
		TH_LOG("RELEASE ended before the kill (status 0x%x)", status);
	EXPECT_LT(reap_ms, KILL_REAP_MS);
	EXPECT_LT(c2.devmem_free - c1.devmem_free, KILL_PAGES)
		TH_LOG("the killed RELEASE evicted everything anyway");

	/* The device serves on: what stayed comes back whole. */
	EXPECT_EQ(0, hmm_cmd(fd, HMM_DMIRROR_RELEASE, buf, mirror, 1, NULL));
	EXPECT_EQ(-1, hmm_verify(buf, size, KILL_SEED));
	ASSERT_EQ(0, hmm_counters(fd, false, &c2));
	EXPECT_EQ(c2.pages_locked, c2.pages_unlocked);
	EXPECT_EQ(c2.pages_taken, c2.pages_returned);
	EXPECT_EQ(c0.devmem_alloc - c0.devmem_free,
		  c2.devmem_alloc - c2.devmem_free);
	free(mirror);
	hmm_unmap(buf, size);
	close(fd);
	EXPECT_EQ(0, hmm_module_unload());
	EXPECT_EQ(0, hmm_module_load(hmm_module_ko()));
}

HMM_TEST_MAIN

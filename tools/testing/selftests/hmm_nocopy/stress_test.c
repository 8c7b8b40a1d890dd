// SPDX-License-Identifier: GPL-2.0
/*
 * stress.*: the module under repetition and under races. Bounded in
 * time; each test states its bound.
 *
 * load_use_unload_{25,100}_cycles: the module's lifecycle, repeated; the
 *   100 cycles are the long soak (a --long run), the 25 the default run's
 *   shorter version with the same bound a cycle.
 * exclusive_races_madv_dontneed: EXCLUSIVE and READ racing MADV_DONTNEED
 *   on the same range never return a page the CPU has let go of.
 * cpu_faults_race_madv_dontneed: CPU faults on device pages racing
 *   MADV_DONTNEED of them neither kill the process nor leak VM_FAULT_OOM.
 * release_killed_mid_eviction_is_reaped_promptly: a RELEASE killed while
 *   it evicts returns, and the device stays usable and unloadable.
 *
 * The races of the device path are in stress_race_test.c, those of the
 * page cache in stress_file_test.c.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <glob.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
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

FIXTURE(stress) {
	size_t ps;
	bool was_loaded;	/* the module, when the test began */
};

static bool module_loaded(void)
{
	return !access("/sys/module/" HMM_MODULE, F_OK);
}

FIXTURE_SETUP(stress)
{
	self->ps = hmm_page_size();
	self->was_loaded = module_loaded();
}

/* A test that stopped half-way leaves the module as it found it. */
FIXTURE_TEARDOWN(stress)
{
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
#define KILL_SEED	0x6b696c6cULL	/* "kill" */

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
 * (devmem_free moves), the process stops between two batches: it is
 * reaped with most pages still on the device (a wall-clock bound would
 * measure the host's load: the time is logged, the test's timeout
 * catches a hang). A RELEASE of our own brings the rest back with their
 * data, the counters balance and the module unloads and loads again.
 * About 10 s under TCG.
 */
TEST_F_TIMEOUT(stress, release_killed_mid_eviction_is_reaped_promptly, 120)
{
	size_t size = KILL_PAGES * self->ps;
	struct hmm_nc_counters c0, c1, c2;
	__u64 killed;
	long t0, reap_ms;
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
	/* Until the eviction is under way, or the child is gone. */
	do {
		usleep(10000);
		ASSERT_EQ(0, hmm_counters(fd, false, &c2));
	} while (c2.devmem_free == c1.devmem_free &&
		 !waitpid(pid, &status, WNOHANG));
	killed = c2.devmem_free - c1.devmem_free;
	t0 = hmm_now_ms();
	kill(pid, SIGKILL);
	waitpid(pid, &status, 0);
	reap_ms = hmm_now_ms() - t0;
	hmm_engine_reset(fd);
	ASSERT_NE(0, killed) TH_LOG("the child ended before it evicted (status 0x%x)",
				    status);
	ASSERT_EQ(0, hmm_counters(fd, false, &c2));
	TH_LOG("reaped %ld ms after SIGKILL, %llu of %d pages evicted (%llu before the kill)",
	       reap_ms, (unsigned long long)(c2.devmem_free - c1.devmem_free),
	       KILL_PAGES, (unsigned long long)killed);
	EXPECT_TRUE(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL)
		TH_LOG("RELEASE ended before the kill (status 0x%x)", status);
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

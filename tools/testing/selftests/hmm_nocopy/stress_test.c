// SPDX-License-Identifier: GPL-2.0
/*
 * stress.*: the module's lifecycle under repetition. Bounded in time;
 * each test states its bound.
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "hmm_harness.h"
#include "libhmm.h"

#define CYCLES		100
#define WARMUP_CYCLES	10
#define CYCLE_PAGES	64

/*
 * Allowed drift of MemFree over all cycles. After drop_caches, free
 * memory still moves with the per-CPU page lists and slab caches (each
 * CPU's list holds up to a few hundred pages on a 2 GiB guest): 4 MiB
 * covers that on 2 CPUs. A leak of 10 pages per cycle (4 MiB over 100
 * cycles), of a cycle's device chunk memmap (2 MiB each) or of its
 * backing pages (256 KiB each) exceeds it.
 */
#define MEMFREE_SLACK_KB	(4 * 1024)

FIXTURE(stress) {
	size_t ps;
};

FIXTURE_SETUP(stress)
{
	self->ps = hmm_page_size();
	if (access(hmm_module_ko(), R_OK))
		SKIP(_exit(HMM_SETUP_SKIP_EXIT), "no module file %s (set HMM_MODULE_KO)",
		     hmm_module_ko());
}

/* A test that stopped half-way leaves the module loaded for the rest. */
FIXTURE_TEARDOWN(stress)
{
	int fd = hmm_open(0);

	if (fd == -ENOENT)
		hmm_module_load(hmm_module_ko());
	else if (fd >= 0)
		close(fd);
}

static long memfree_kb(void)
{
	char line[128];
	long kb = -1;
	ssize_t n;
	FILE *f;
	int fd;

	sync();
	fd = open("/proc/sys/vm/drop_caches", O_WRONLY | O_CLOEXEC);
	if (fd < 0)
		return -1;
	n = write(fd, "3", 1);
	close(fd);
	if (n != 1)
		return -1;
	f = fopen("/proc/meminfo", "re");
	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f))
		if (sscanf(line, "MemFree: %ld kB", &kb) == 1)
			break;
	fclose(f);
	return kb;
}

/*
 * KASAN keeps freed memory in a quarantine of up to 1/32 of RAM before
 * reuse, so free memory says nothing about leaks there; on such a kernel
 * the suite's kmemleak step (configs/debug.config) checks for them.
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
 * 100 cycles of unload, load, use: every cycle's module comes up, moves
 * data both ways intact, and goes away; afterwards free memory is back
 * within MEMFREE_SLACK_KB and the module is loaded again for the rest of
 * the suite. The first WARMUP_CYCLES are not measured: the first loads
 * grow caches that stay (slab and per-CPU chunks, vmalloc areas), which
 * is not a leak; a leak grows with every cycle. About 25 s under TCG.
 */
TEST_F_TIMEOUT(stress, load_use_unload_100_cycles, 300)
{
	long before = 0, after;
	unsigned int i;
	int ret;

	ASSERT_EQ(0, hmm_module_unload());
	for (i = 0; i < WARMUP_CYCLES + CYCLES; i++) {
		if (i == WARMUP_CYCLES) {
			before = memfree_kb();
			ASSERT_GT(before, 0);
		}
		ret = hmm_module_load(hmm_module_ko());
		ASSERT_EQ(0, ret) TH_LOG("cycle %u: load: %s", i, strerror(-ret));
		ret = use_device(self->ps, i);
		EXPECT_EQ(0, ret) TH_LOG("cycle %u: use: %s", i, strerror(-ret));
		ret = hmm_module_unload();
		ASSERT_EQ(0, ret) TH_LOG("cycle %u: unload: %s", i, strerror(-ret));
		if (ret)
			break;
	}
	after = memfree_kb();
	ASSERT_EQ(0, hmm_module_load(hmm_module_ko()));
	TH_LOG("MemFree before %ld kB, after %ld kB", before, after);
	if (kernel_has_kasan()) {
		TH_LOG("KASAN quarantine: MemFree not compared, kmemleak checks");
		return;
	}
	EXPECT_GE(after, before - MEMFREE_SLACK_KB)
		TH_LOG("lost %ld kB over %u cycles", before - after, CYCLES);
}

#define RACE_SECONDS	5
#define RACE_PAGES	64	/* churned: unmapped, remapped, reprotected */
#define STABLE_PAGES	64	/* only written and checked */

/*
 * Shared by the racing threads. The first half of the region is churned
 * under the migrations; the second half keeps its mapping, so its data
 * can be checked all along while it moves to the device and back.
 */
struct race {
	int fd;
	size_t ps;
	char *region;
	char *mirror;
	atomic_bool stop;
	atomic_long migrations, failures, churns, checks, bad;
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

/* Migrations may fail while the range changes under them: count, go on. */
static void race_migrate_range(struct race *r, char *start, __u64 npages)
{
	int ret;

	while (!race_over(r)) {
		ret = hmm_cmd(r->fd, HMM_DMIRROR_MIGRATE_TO_DEV, start,
			      r->mirror, npages, NULL);
		if (!ret)
			ret = hmm_cmd(r->fd, HMM_DMIRROR_MIGRATE_TO_SYS,
				      start, r->mirror, npages, NULL);
		atomic_fetch_add(ret ? &r->failures : &r->migrations, 1);
	}
}

/* The whole region, churned half included: most attempts are refused. */
static void *race_migrate(void *arg)
{
	struct race *r = arg;

	race_migrate_range(r, r->region, RACE_PAGES + STABLE_PAGES);
	return NULL;
}

/* The stable half only: moves while it is written and forked. */
static void *race_migrate_stable(void *arg)
{
	struct race *r = arg;

	race_migrate_range(r, r->region + RACE_PAGES * r->ps, STABLE_PAGES);
	return NULL;
}

static void *race_churn(void *arg)
{
	struct race *r = arg;
	size_t half = RACE_PAGES / 2 * r->ps;
	char *p;

	while (!race_over(r)) {
		munmap(r->region, half);
		p = mmap(r->region, half, PROT_READ | PROT_WRITE,
			 MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0);
		if (p != MAP_FAILED)
			memset(p, 0x5a, half);
		mprotect(r->region + half, half, PROT_READ);
		mprotect(r->region + half, half, PROT_READ | PROT_WRITE);
		atomic_fetch_add(&r->churns, 1);
	}
	return NULL;
}

/* Writes a new pattern over the stable half and reads it back. */
static void *race_write(void *arg)
{
	struct race *r = arg;
	char *stable = r->region + RACE_PAGES * r->ps;
	size_t size = STABLE_PAGES * r->ps;
	__u64 seed = 1;

	while (!race_over(r)) {
		hmm_fill(stable, size, seed);
		if (hmm_verify(stable, size, seed) >= 0)
			atomic_fetch_add(&r->bad, 1);
		atomic_fetch_add(&r->checks, 1);
		seed++;
	}
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

/*
 * Migrations to the device and back race with munmap/mmap, mprotect,
 * fork and writes on the same range for RACE_SECONDS. Migrations may
 * fail (the range changes under them) but the data that stays mapped is
 * always right, the kernel logs nothing (the runner's gate) and nothing
 * is left locked or taken (the runner's counter check).
 */
TEST_F_TIMEOUT(stress, migrate_races_munmap_mprotect_fork_write, 60)
{
	void *(*fns[])(void *) = {
		race_migrate, race_migrate_stable, race_churn, race_write,
		race_fork,
	};
	size_t size = (RACE_PAGES + STABLE_PAGES) * self->ps;
	pthread_t threads[ARRAY_SIZE(fns)];
	struct race r = { .ps = self->ps };
	unsigned int i;

	race_setup(_metadata, &r, RACE_PAGES + STABLE_PAGES);
	memset(r.region, 0x5a, size);
	for (i = 0; i < ARRAY_SIZE(fns); i++)
		ASSERT_EQ(0, pthread_create(&threads[i], NULL, fns[i], &r));
	sleep(RACE_SECONDS);
	atomic_store(&r.stop, true);
	for (i = 0; i < ARRAY_SIZE(fns); i++)
		pthread_join(threads[i], NULL);
	TH_LOG("%ld migrations, %ld refused or failed, %ld churns, %ld checks",
	       atomic_load(&r.migrations), atomic_load(&r.failures),
	       atomic_load(&r.churns), atomic_load(&r.checks));
	EXPECT_EQ(0, atomic_load(&r.bad));
	EXPECT_GT(atomic_load(&r.migrations) + atomic_load(&r.failures), 0);
	EXPECT_GT(atomic_load(&r.checks), 0);
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

TEST_F_TIMEOUT(stress, close_while_threads_migrate, 60)
{
	size_t size = STABLE_PAGES * self->ps;
	struct race r = { .ps = self->ps };
	pthread_t threads[2];
	unsigned int i;

	race_setup(_metadata, &r, STABLE_PAGES);
	hmm_fill(r.region, size, 7);
	for (i = 0; i < ARRAY_SIZE(threads); i++)
		ASSERT_EQ(0, pthread_create(&threads[i], NULL,
					    race_close_migrate, &r));
	usleep(500 * 1000);
	ASSERT_EQ(0, close(r.fd));
	sleep(2);
	atomic_store(&r.stop, true);
	for (i = 0; i < ARRAY_SIZE(threads); i++)
		pthread_join(threads[i], NULL);
	EXPECT_EQ(0, atomic_load(&r.bad)) TH_LOG("a thread never saw EBADF");
	/* Pages left on the device come back on access, intact. */
	EXPECT_EQ(-1, hmm_verify(r.region, size, 7));
	hmm_unmap(r.region, size);
	free(r.mirror);
}

HMM_TEST_MAIN

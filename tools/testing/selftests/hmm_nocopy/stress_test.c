// SPDX-License-Identifier: GPL-2.0
/*
 * stress.*: the module's lifecycle under repetition. Bounded in time;
 * each test states its bound.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <sys/mman.h>
#include <unistd.h>

#include "hmm_harness.h"
#include "libhmm.h"

#define CYCLES		100
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
 * the suite. About 20 s under TCG.
 */
TEST_F_TIMEOUT(stress, load_use_unload_100_cycles, 300)
{
	long before, after;
	unsigned int i;
	int ret;

	ASSERT_EQ(0, hmm_module_unload());
	before = memfree_kb();
	ASSERT_GT(before, 0);
	for (i = 0; i < CYCLES; i++) {
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
	EXPECT_GE(after, before - MEMFREE_SLACK_KB)
		TH_LOG("lost %ld kB over %u cycles", before - after, CYCLES);
}

HMM_TEST_MAIN

// SPDX-License-Identifier: GPL-2.0
/*
 * numa*: device-private pages among system pages on two NUMA nodes,
 * seen through the kernel's own NUMA interfaces (move_pages(2),
 * migrate_pages(2), mbind(2), set_mempolicy(2)) and /proc/self/pagemap.
 *
 * numa.*: one anonymous range with pages on the device, on node 0 and
 * on node 1. The NUMA calls cannot move a page that lives in device
 * memory, and say so the way mm/migrate.c and mm/mempolicy.c do in 5.10,
 * 6.1 and 6.12: move_pages() finds no page behind a device-private
 * entry (follow_page() and folio_walk_start() return none for a
 * non-present PTE) and reports -ENOENT ("the page is not present" of
 * the man page) for it, whether asked for the node or to move it;
 * migrate_pages() and mbind() walk present PTEs only, so a device page
 * is neither moved nor counted as a page that could not be moved: it is
 * treated as a swapped-out page is, placed by the policy when it comes
 * back (numa_fault.*). The man page's "EIO if some pages could not be
 * moved" for MPOL_MF_STRICT does not cover such pages.
 *
 * numa_fault.*: a CPU fault brings a device page back to the node the
 * range's (or else the task's) memory policy names, as swap-in does:
 * the device's fault handler allocates with the faulting VMA.
 *
 * numa_core.*: the migration core (HMM_NC_CORE_MIGRATE) moving system
 * pages node to node, as move_pages() does, with the device doing the
 * copy under NO_COPY, the MIGRATE_SYNC control and the no-copy probe.
 *
 * Without two nodes with memory (a kernel without CONFIG_NUMA, or a
 * machine with one node) every test skips, saying so.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/mempolicy.h>
#include <sched.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "hmm_fixture.h"

#define TWO_MB		(2UL * 1024 * 1024)

/*
 * The mixed range of numa.*: pages [0, DEV_PAGES) on the device (they
 * were on node 0), the next NODE_PAGES on node 0, the last NODE_PAGES
 * on node 1.
 */
#define DEV_PAGES	4
#define NODE_PAGES	4
#define MIX_PAGES	(DEV_PAGES + 2 * NODE_PAGES)
#define N0_FIRST	DEV_PAGES
#define N1_FIRST	(DEV_PAGES + NODE_PAGES)
#define MIX_SEED	300

/*
 * Node masks are one unsigned long; the kernel reads maxnode - 1 bits
 * of them (get_nodes()), which covers nodes 0 and 1.
 */
#define MASK_BITS	(8 * sizeof(unsigned long))

static long sys_move_pages(unsigned long count, void **pages,
			   const int *nodes, int *status)
{
	return syscall(SYS_move_pages, 0, count, pages, nodes, status, 0);
}

static long sys_mbind(void *addr, size_t len, int mode, int node,
		      unsigned int flags)
{
	unsigned long mask = 1UL << node;

	return syscall(SYS_mbind, addr, len, mode, &mask, MASK_BITS, flags);
}

static long sys_set_mempolicy(int mode, int node)
{
	unsigned long mask = 1UL << node;

	return syscall(SYS_set_mempolicy, mode,
		       mode == MPOL_DEFAULT ? NULL : &mask, MASK_BITS);
}

static long sys_migrate_pages(int from, int to)
{
	unsigned long old = 1UL << from, new = 1UL << to;

	return syscall(SYS_migrate_pages, 0, MASK_BITS, &old, &new);
}

/* The line of a sysfs list file ("0", "0-1", "0,2-3") in buf, or -errno. */
static int read_list(const char *path, char *buf, size_t len)
{
	FILE *f = fopen(path, "r");

	if (!f)
		return -errno;
	if (!fgets(buf, len, f))
		buf[0] = '\0';
	fclose(f);
	buf[strcspn(buf, "\n")] = '\0';
	return 0;
}

/* The next range of a list from *s into [*a, *b]; false at its end. */
static bool list_range(char **s, long *a, long *b)
{
	char *end;

	if (!**s)
		return false;
	*a = strtol(*s, &end, 10);
	*b = *a;
	if (*end == '-')
		*b = strtol(end + 1, &end, 10);
	*s = *end ? end + 1 : end;
	return true;
}

/*
 * Why the tests cannot run here, or NULL: nodes 0 and 1 must both have
 * memory (the kernel's N_MEMORY, which move_pages() checks).
 */
static const char *numa_unmet(void)
{
	static char why[160];
	char list[64], *s = list;
	unsigned long mask = 0;
	long a, b;

	if (read_list("/sys/devices/system/node/has_memory", list,
		      sizeof(list)))
		return "needs NUMA nodes 0 and 1 with memory: kernel without CONFIG_NUMA";
	while (list_range(&s, &a, &b))
		for (; a <= b && a < (long)MASK_BITS; a++)
			mask |= 1UL << a;
	if ((mask & 3) == 3)
		return NULL;
	snprintf(why, sizeof(why),
		 "needs NUMA nodes 0 and 1 with memory, this kernel has memory on node(s) %s",
		 list);
	return why;
}

/* The calling task runs on node's CPUs only: 0, or -errno (none: ENOENT). */
static int run_on_node(int node)
{
	char path[64], list[256], *s = list;
	cpu_set_t set;
	long a, b;
	int n = 0;

	snprintf(path, sizeof(path), "/sys/devices/system/node/node%d/cpulist",
		 node);
	if (read_list(path, list, sizeof(list)))
		return -ENOENT;
	CPU_ZERO(&set);
	while (list_range(&s, &a, &b))
		for (; a <= b && a < CPU_SETSIZE; a++, n++)
			CPU_SET(a, &set);
	if (!n)
		return -ENOENT;
	return sched_setaffinity(0, sizeof(set), &set) ? -errno : 0;
}

/* The first node id below MASK_BITS without memory, or -1. */
static int node_without_memory(void)
{
	int node;
	char path[64];

	for (node = 0; node < (int)MASK_BITS; node++) {
		snprintf(path, sizeof(path),
			 "/sys/devices/system/node/node%d/meminfo", node);
		if (access(path, F_OK))
			return node;
	}
	return -1;
}

/* The address of page i of p. */
static void *page_at(void *p, size_t ps, size_t i)
{
	return (char *)p + i * ps;
}

/*
 * move_pages() with nodes NULL for n pages from p: what the kernel says
 * of each (its node, or -errno) in status; the call's return value.
 */
static long node_query(void *p, size_t ps, size_t n, int *status)
{
	void **pages = calloc(n, sizeof(void *));
	size_t i;
	long ret;

	if (!pages)
		return -ENOMEM;
	for (i = 0; i < n; i++) {
		pages[i] = page_at(p, ps, i);
		status[i] = INT_MIN;
	}
	ret = sys_move_pages(n, pages, NULL, status);
	free(pages);
	return ret;
}

/* Pages [first, first + n) of p are where want says (a node, or -errno). */
static void assert_nodes(struct __test_metadata *_metadata, void *p,
			 size_t ps, size_t first, size_t n, int want)
{
	int *status = zalloc(_metadata, (first + n) * sizeof(int));
	size_t i;

	ASSERT_EQ(0, node_query(p, ps, first + n, status))
		TH_LOG("move_pages(): %s", strerror(errno));
	for (i = first; i < first + n; i++) {
		ASSERT_EQ(want, status[i]) TH_LOG("page %zu", i);
	}
	free(status);
}

/* n pages from p moved with move_pages() to node: all got there. */
static void place(struct __test_metadata *_metadata, void *p, size_t ps,
		  size_t n, int node)
{
	void **pages = zalloc(_metadata, n * sizeof(void *));
	int *nodes = zalloc(_metadata, n * sizeof(int));
	int *status = zalloc(_metadata, n * sizeof(int));
	size_t i;

	for (i = 0; i < n; i++) {
		pages[i] = page_at(p, ps, i);
		nodes[i] = node;
	}
	ASSERT_EQ(0, sys_move_pages(n, pages, nodes, status))
		TH_LOG("move_pages() to node %d: %s", node, strerror(errno));
	for (i = 0; i < n; i++) {
		ASSERT_EQ(node, status[i]) TH_LOG("page %zu", i);
	}
	free(status);
	free(nodes);
	free(pages);
}

/* n pages from p to the device (the 6.1 base command); all went. */
static void to_device(struct __test_metadata *_metadata, int dev, void *p,
		      size_t ps, size_t n)
{
	char *mirror = zalloc(_metadata, n * ps);
	struct hmm_dmirror_cmd cmd;

	ASSERT_EQ(0, hmm_cmd(dev, HMM_DMIRROR_MIGRATE_TO_DEV, p, mirror, n,
			     &cmd));
	ASSERT_EQ(n, cmd.cpages);
	free(mirror);
}

/* pagemap entries of n pages from p, each a device-private entry. */
static void device_entries(struct __test_metadata *_metadata, void *p,
			   size_t n, __u64 *pm)
{
	size_t i;

	ASSERT_EQ(0, hmm_pagemap(p, n, pm));
	for (i = 0; i < n; i++) {
		ASSERT_TRUE(hmm_pm_swapped(pm[i]))
			TH_LOG("page %zu is not on the device (pagemap %#llx)",
			       i, (unsigned long long)pm[i]);
	}
}

/*
 * The pages whose device entries were was[] are still on the device,
 * each in the same device page: nothing moved them, nor brought them
 * back.
 */
static void assert_still_on_device(struct __test_metadata *_metadata,
				   void *p, size_t n, const __u64 *was)
{
	__u64 *now = zalloc(_metadata, n * sizeof(*now));
	size_t i;

	device_entries(_metadata, p, n, now);
	for (i = 0; i < n; i++) {
		ASSERT_EQ(hmm_pm_swap_pfn(was[i]), hmm_pm_swap_pfn(now[i]))
			TH_LOG("page %zu moved on the device", i);
	}
	free(now);
}

FIXTURE(numa) {
	struct hmm_env e;
	char *p;			/* the mixed range */
	__u64 ondev[DEV_PAGES];		/* its device pages' entries */
};

FIXTURE_SETUP(numa)
{
	const char *why = numa_unmet();
	size_t ps;

	if (why)
		HMM_SETUP_SKIP("%s", why);
	env_setup(_metadata, &self->e);
	ps = self->e.ps;
	self->p = hmm_map_anon(MIX_PAGES * ps, PROT_READ | PROT_WRITE);
	ASSERT_NE(NULL, self->p);
	hmm_fill(self->p, MIX_PAGES * ps, MIX_SEED);
	place(_metadata, self->p, ps, N1_FIRST, 0);
	place(_metadata, page_at(self->p, ps, N1_FIRST), ps, NODE_PAGES, 1);
	to_device(_metadata, self->e.dev, self->p, ps, DEV_PAGES);
	device_entries(_metadata, self->p, DEV_PAGES, self->ondev);
}

FIXTURE_TEARDOWN(numa)
{
	if (self->p)
		munmap(self->p, MIX_PAGES * self->e.ps);
	close(self->e.dev);
}

/*
 * Every byte of the mixed range is still there: the device pages come
 * back through the CPU fault this read makes.
 */
static void assert_mix_data(struct __test_metadata *_metadata,
			    FIXTURE_DATA(numa) * self)
{
	ssize_t bad = hmm_verify(self->p, MIX_PAGES * self->e.ps, MIX_SEED);

	ASSERT_EQ(-1, bad) TH_LOG("first wrong byte at offset %zd", bad);
}

/*
 * After a move of the whole range to node 1: its device pages stayed
 * where they were (move_pages() still finds none: -ENOENT), every
 * system page is on node 1, every byte is intact.
 */
static void assert_all_on_node1_but_device(struct __test_metadata *_metadata,
					   FIXTURE_DATA(numa) * self)
{
	size_t ps = self->e.ps;

	assert_still_on_device(_metadata, self->p, DEV_PAGES, self->ondev);
	assert_nodes(_metadata, self->p, ps, 0, DEV_PAGES, -ENOENT);
	assert_nodes(_metadata, self->p, ps, N0_FIRST, 2 * NODE_PAGES, 1);
	assert_mix_data(_metadata, self);
}

/* Asked for the node of each page, move_pages() has none for a device page. */
TEST_F(numa, move_pages_query_says_enoent_for_device_pages)
{
	int status[MIX_PAGES];
	size_t i;

	ASSERT_EQ(0, node_query(self->p, self->e.ps, MIX_PAGES, status));
	for (i = 0; i < MIX_PAGES; i++) {
		int want = i < N0_FIRST ? -ENOENT : i < N1_FIRST ? 0 : 1;

		EXPECT_EQ(want, status[i]) TH_LOG("page %zu", i);
	}
	/* The query looked; it did not bring the pages back. */
	assert_still_on_device(_metadata, self->p, DEV_PAGES, self->ondev);
	assert_mix_data(_metadata, self);
}

/*
 * Asked to move every page to the other node (the device's to node 1),
 * move_pages() moves the system pages, leaves the device pages where
 * they are with -ENOENT in their status, and returns 0: a page it
 * finds no page for is no page it failed to move.
 */
TEST_F(numa, move_pages_leaves_device_pages_with_enoent)
{
	size_t ps = self->e.ps, i;
	void *pages[MIX_PAGES];
	int nodes[MIX_PAGES], status[MIX_PAGES];
	__u64 before[MIX_PAGES], after[MIX_PAGES];

	ASSERT_EQ(0, hmm_pagemap(self->p, MIX_PAGES, before));
	for (i = 0; i < MIX_PAGES; i++) {
		pages[i] = page_at(self->p, ps, i);
		nodes[i] = i < N1_FIRST ? 1 : 0;
		status[i] = INT_MIN;
	}
	ASSERT_EQ(0, sys_move_pages(MIX_PAGES, pages, nodes, status))
		TH_LOG("move_pages(): %s", strerror(errno));
	for (i = 0; i < MIX_PAGES; i++) {
		EXPECT_EQ(i < N0_FIRST ? -ENOENT : nodes[i], status[i])
			TH_LOG("page %zu", i);
	}

	assert_still_on_device(_metadata, self->p, DEV_PAGES, self->ondev);
	assert_nodes(_metadata, self->p, ps, N0_FIRST, NODE_PAGES, 1);
	assert_nodes(_metadata, self->p, ps, N1_FIRST, NODE_PAGES, 0);
	/* The system pages really moved: new frames. */
	ASSERT_EQ(0, hmm_pagemap(self->p, MIX_PAGES, after));
	for (i = N0_FIRST; i < MIX_PAGES; i++) {
		EXPECT_NE(hmm_pm_pfn(before[i]), hmm_pm_pfn(after[i]))
			TH_LOG("page %zu kept its frame", i);
	}
	assert_mix_data(_metadata, self);
}

/*
 * migrate_pages() of the whole process from node 0 to node 1 moves the
 * range's node 0 pages, leaves node 1's and the device's, and does not
 * count the device pages among the pages it could not move.
 */
TEST_F(numa, migrate_pages_leaves_device_pages)
{
	long ret;

	ret = sys_migrate_pages(0, 1);
	ASSERT_LE(0, ret) TH_LOG("migrate_pages(): %s", strerror(errno));
	EXPECT_EQ(0, ret) TH_LOG("%ld pages could not be moved", ret);
	assert_all_on_node1_but_device(_metadata, self);
}

/*
 * mbind(MPOL_BIND to node 1, MPOL_MF_MOVE | MPOL_MF_STRICT) over the
 * range moves its node 0 pages and succeeds: the device pages, which
 * came from node 0, are not "pages that could not be moved" (no EIO);
 * they stay on the device.
 */
TEST_F(numa, mbind_move_strict_leaves_device_pages)
{
	ASSERT_EQ(0, sys_mbind(self->p, MIX_PAGES * self->e.ps, MPOL_BIND, 1,
			       MPOL_MF_MOVE | MPOL_MF_STRICT))
		TH_LOG("mbind(): %s", strerror(errno));
	assert_all_on_node1_but_device(_metadata, self);
}

/*
 * MPOL_MF_STRICT alone checks that the pages already follow the new
 * policy: EIO for the range's node 0 pages under a policy of node 1
 * (the control), none for the device pages that came from node 0.
 */
TEST_F(numa, mbind_strict_skips_device_pages)
{
	size_t ps = self->e.ps;

	errno = 0;
	EXPECT_EQ(-1, sys_mbind(page_at(self->p, ps, N0_FIRST),
				NODE_PAGES * ps, MPOL_BIND, 1, MPOL_MF_STRICT));
	EXPECT_EQ(EIO, errno) TH_LOG("node 0 pages under a node 1 policy");
	assert_nodes(_metadata, self->p, ps, N0_FIRST, NODE_PAGES, 0);

	ASSERT_EQ(0, sys_mbind(self->p, DEV_PAGES * ps, MPOL_BIND, 1,
			       MPOL_MF_STRICT))
		TH_LOG("mbind() over the device pages: %s", strerror(errno));
	assert_still_on_device(_metadata, self->p, DEV_PAGES, self->ondev);
	assert_mix_data(_metadata, self);
}

/*
 * HMM_NC_CORE_TO_NODE's node must be a node with memory, and a node
 * without the flag must be 0: EINVAL, and nothing moved or taken.
 */
TEST_F(numa, core_to_bad_node_einval)
{
	size_t ps = self->e.ps;
	void *sys = page_at(self->p, ps, N0_FIRST);
	__u32 bad[] = { node_without_memory(), MASK_BITS, 1U << 16, -1U };
	struct hmm_nc_counters c0, d;
	struct hmm_nc_core_cmd cmd;
	__u64 before[NODE_PAGES], after[NODE_PAGES];
	size_t i;

	HMM_REQUIRE(self->e.dev, HMM_NEED_CORE_MIGRATE);
	ASSERT_EQ(0, hmm_pagemap(sys, NODE_PAGES, before));
	/* From here: the set-up sent pages to the device. */
	ASSERT_EQ(0, hmm_counters(self->e.dev, false, &c0));
	for (i = 0; i < ARRAY_SIZE(bad); i++) {
		__u32 node = bad[i];

		EXPECT_EQ(-EINVAL, hmm_core_migrate_node(self->e.dev, sys,
							 NODE_PAGES, SYNC, 0,
							 node, NULL, NULL))
			TH_LOG("node %u", node);
	}
	/* A node without HMM_NC_CORE_TO_NODE. */
	memset(&cmd, 0, sizeof(cmd));
	cmd.addr = (uintptr_t)sys;
	cmd.npages = NODE_PAGES;
	cmd.mode = SYNC;
	cmd.node = 1;
	EXPECT_EQ(-1, ioctl(self->e.dev, HMM_NC_CORE_MIGRATE, &cmd));
	EXPECT_EQ(EINVAL, errno);

	ASSERT_EQ(0, hmm_pagemap(sys, NODE_PAGES, after));
	for (i = 0; i < NODE_PAGES; i++) {
		EXPECT_EQ(hmm_pm_pfn(before[i]), hmm_pm_pfn(after[i]));
	}
	assert_nodes(_metadata, self->p, ps, N0_FIRST, NODE_PAGES, 0);
	delta_of(_metadata, self->e.dev, false, &c0, &d);
	EXPECT_EQ(0, d.pages_taken);
	EXPECT_EQ(0, d.batches);
	assert_mix_data(_metadata, self);
}

/*
 * numa_fault.<kind>_to_node<N>: pages written on the other node go to
 * the device; a policy naming node N is set while they are there; the
 * CPU's next touch brings each back to node N. kind: anonymous memory,
 * or the copy-on-write pages of a private mapping of a shmem file (a
 * shared shmem page cannot be in device-private memory in these
 * kernels: migrate_vma_pages() keeps pages with a mapping out, and so
 * does the device).
 */
#define FAULT_PAGES	8
#define FAULT_SEED	320

FIXTURE(numa_fault) {
	struct hmm_env e;
	char *p;
	int memfd;
};

FIXTURE_VARIANT(numa_fault) {
	bool shmem_private;
	int from, to;
};

FIXTURE_VARIANT_ADD(numa_fault, anon_to_node0) {
	.from = 1, .to = 0,
};

FIXTURE_VARIANT_ADD(numa_fault, anon_to_node1) {
	.from = 0, .to = 1,
};

FIXTURE_VARIANT_ADD(numa_fault, shmem_private_to_node0) {
	.shmem_private = true, .from = 1, .to = 0,
};

FIXTURE_VARIANT_ADD(numa_fault, shmem_private_to_node1) {
	.shmem_private = true, .from = 0, .to = 1,
};

FIXTURE_SETUP(numa_fault)
{
	const char *why = numa_unmet();
	size_t size;
	int ret;

	if (why)
		HMM_SETUP_SKIP("%s", why);
	self->memfd = -1;
	/*
	 * On the pages' first node, the local one, a fault-back that
	 * ignored the policy would land there: the test would see it.
	 * Unpinned, a pass would prove nothing.
	 */
	ret = run_on_node(variant->from);
	if (ret == -ENOENT)
		HMM_SETUP_SKIP("node %d has no CPU: the fault's local node is not ours to pick",
			       variant->from);
	ASSERT_EQ(0, ret) TH_LOG("cannot run on node %d's CPUs: %s",
				 variant->from, strerror(-ret));
	env_setup(_metadata, &self->e);
	size = FAULT_PAGES * self->e.ps;
	if (variant->shmem_private) {
		self->memfd = memfd_create("hmm_numa", 0);
		ASSERT_LE(0, self->memfd);
		ASSERT_EQ(0, ftruncate(self->memfd, size));
		self->p = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_PRIVATE,
			       self->memfd, 0);
		ASSERT_NE(MAP_FAILED, self->p);
	} else {
		self->p = hmm_map_anon(size, PROT_READ | PROT_WRITE);
		ASSERT_NE(NULL, self->p);
	}
}

FIXTURE_TEARDOWN(numa_fault)
{
	if (self->p && self->p != MAP_FAILED)
		munmap(self->p, FAULT_PAGES * self->e.ps);
	close_if(&self->memfd);
	close(self->e.dev);
}

/*
 * The range's pages, written (a private file page: copied on write)
 * under a policy of variant->from, sent to the device.
 */
static void written_to_device(struct __test_metadata *_metadata,
			      FIXTURE_DATA(numa_fault) * self, int from)
{
	size_t ps = self->e.ps;
	__u64 pm[FAULT_PAGES];

	hmm_fill(self->p, FAULT_PAGES * ps, FAULT_SEED);
	assert_nodes(_metadata, self->p, ps, 0, FAULT_PAGES, from);
	to_device(_metadata, self->e.dev, self->p, ps, FAULT_PAGES);
	device_entries(_metadata, self->p, FAULT_PAGES, pm);
}

/* Read back, every page fault-migrates home: node to, data intact. */
static void touched_back_on(struct __test_metadata *_metadata,
			    FIXTURE_DATA(numa_fault) * self, int to)
{
	size_t ps = self->e.ps;
	__u64 pm[FAULT_PAGES];
	ssize_t bad;
	size_t i;

	bad = hmm_verify(self->p, FAULT_PAGES * ps, FAULT_SEED);
	ASSERT_EQ(-1, bad) TH_LOG("first wrong byte at offset %zd", bad);
	ASSERT_EQ(0, hmm_pagemap(self->p, FAULT_PAGES, pm));
	for (i = 0; i < FAULT_PAGES; i++) {
		ASSERT_NE(0, hmm_pm_pfn(pm[i])) TH_LOG("page %zu", i);
	}
	assert_nodes(_metadata, self->p, ps, 0, FAULT_PAGES, to);
}

/* The range's own policy (mbind(), no move) decides where they land. */
TEST_F(numa_fault, cpu_fault_lands_on_range_policy_node)
{
	size_t size = FAULT_PAGES * self->e.ps;

	ASSERT_EQ(0, sys_mbind(self->p, size, MPOL_BIND, variant->from, 0));
	written_to_device(_metadata, self, variant->from);
	ASSERT_EQ(0, sys_mbind(self->p, size, MPOL_BIND, variant->to, 0));
	touched_back_on(_metadata, self, variant->to);
}

/* A range without a policy of its own: the task's decides. */
TEST_F(numa_fault, cpu_fault_lands_on_task_policy_node)
{
	ASSERT_EQ(0, sys_set_mempolicy(MPOL_BIND, variant->from));
	written_to_device(_metadata, self, variant->from);
	ASSERT_EQ(0, sys_set_mempolicy(MPOL_BIND, variant->to));
	touched_back_on(_metadata, self, variant->to);
	ASSERT_EQ(0, sys_set_mempolicy(MPOL_DEFAULT, 0));
}

/*
 * numa_core.<kind>_<mode>: the migration core moves system pages from
 * node 0 to node 1 (HMM_NC_CORE_TO_NODE) through their callback, as
 * move_pages() does: anonymous pages and an anonymous THP
 * (migrate_folio()), shmem pages (migrate_folio() of the page cache)
 * and a hugetlbfs page (hugetlbfs_migrate_folio()), under NO_COPY (the
 * device copies) and the MIGRATE_SYNC control (the kernel copies). The
 * probe shows who copied: the sentinel under NO_COPY, the data under
 * SYNC.
 */
#define CORE_SEED	340
#define CORE_PAGES	8
#define CORE_HUGETLB_DIR	"/tmp/hmm_numa_hugetlb"
#define NODE_POOL	"/sys/devices/system/node/node%d/hugepages/hugepages-2048kB/%s"

enum core_kind { CORE_PAGE, CORE_THP, CORE_SHMEM, CORE_HUGETLB };

FIXTURE(numa_core) {
	struct hmm_env e;
	char *raw;	/* the mapping, THP: twice the size for alignment */
	size_t raw_size;
	long pool_was[2];	/* nodes 0 and 1's 2 MiB pools before, or -1 */
};

FIXTURE_VARIANT(numa_core) {
	enum core_kind kind;
	__u32 mode;
};

FIXTURE_VARIANT_ADD(numa_core, page_nocopy) {
	.kind = CORE_PAGE, .mode = NO_COPY,
};

FIXTURE_VARIANT_ADD(numa_core, page_sync) {
	.kind = CORE_PAGE, .mode = SYNC,
};

FIXTURE_VARIANT_ADD(numa_core, thp_nocopy) {
	.kind = CORE_THP, .mode = NO_COPY,
};

FIXTURE_VARIANT_ADD(numa_core, thp_sync) {
	.kind = CORE_THP, .mode = SYNC,
};

FIXTURE_VARIANT_ADD(numa_core, shmem_nocopy) {
	.kind = CORE_SHMEM, .mode = NO_COPY,
};

FIXTURE_VARIANT_ADD(numa_core, shmem_sync) {
	.kind = CORE_SHMEM, .mode = SYNC,
};

FIXTURE_VARIANT_ADD(numa_core, hugetlbfs_nocopy) {
	.kind = CORE_HUGETLB, .mode = NO_COPY,
};

FIXTURE_VARIANT_ADD(numa_core, hugetlbfs_sync) {
	.kind = CORE_HUGETLB, .mode = SYNC,
};

FIXTURE_SETUP(numa_core)
{
	const char *why = numa_unmet();

	if (why)
		HMM_SETUP_SKIP("%s", why);
	ASSERT_EQ(0, hmm_private_mounts());
	self->pool_was[0] = -1;
	self->pool_was[1] = -1;
	env_setup(_metadata, &self->e);
	HMM_SETUP_REQUIRE(self->e.dev, HMM_NEED_CORE_MIGRATE |
			  (variant->mode == NO_COPY ? HMM_NEED_NOCOPY : 0) |
			  (variant->kind == CORE_HUGETLB ? HMM_NEED_HUGETLB : 0));
}

/* A pool the test grew goes back to its size: the machine's setting. */
FIXTURE_TEARDOWN(numa_core)
{
	char path[96], n[24];
	int node;

	if (self->raw)
		munmap(self->raw, self->raw_size);
	umount2(CORE_HUGETLB_DIR, MNT_DETACH);
	for (node = 0; node < 2; node++) {
		if (self->pool_was[node] < 0)
			continue;
		snprintf(path, sizeof(path), NODE_POOL, node, "nr_hugepages");
		snprintf(n, sizeof(n), "%ld", self->pool_was[node]);
		hmm_write_str(path, n);
	}
	close(self->e.dev);
}

/*
 * node's 2 MiB pool has a free page, grown by one if it had none (its
 * size before in *was, else -1): true, or false if it cannot grow.
 */
static bool node_pool_free_page(int node, long *was)
{
	char path[96], n[24];
	long nr;

	snprintf(path, sizeof(path), NODE_POOL, node, "free_hugepages");
	if (hmm_read_long(path) > 0)
		return true;
	snprintf(path, sizeof(path), NODE_POOL, node, "nr_hugepages");
	nr = hmm_read_long(path);
	if (nr < 0)
		return false;
	*was = nr;
	snprintf(n, sizeof(n), "%ld", nr + 1);
	hmm_write_str(path, n);
	snprintf(path, sizeof(path), NODE_POOL, node, "free_hugepages");
	return hmm_read_long(path) > 0;
}

/*
 * A shared mapping of size bytes of a file of fstype's (a shmem file,
 * or a file of a hugetlbfs of 2 MiB pages on CORE_HUGETLB_DIR), empty:
 * its pages are allocated when written. NULL if there is none.
 */
static char *map_file(struct __test_metadata *_metadata, bool hugetlb,
		      size_t size)
{
	char *p;
	int fd;

	if (hugetlb) {
		ASSERT_EQ(0, mount_fs(CORE_HUGETLB_DIR, "hugetlbfs",
				      "pagesize=2M"));
		fd = open(CORE_HUGETLB_DIR "/f", O_RDWR | O_CREAT | O_TRUNC,
			  0644);
		ASSERT_LE(0, fd);
		unlink(CORE_HUGETLB_DIR "/f");
	} else {
		fd = memfd_create("hmm_numa_core", 0);
		ASSERT_LE(0, fd);
	}
	ASSERT_EQ(0, ftruncate(fd, size));
	p = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	close(fd);
	ASSERT_NE(MAP_FAILED, p);
	return p;
}

/*
 * The variant's pages, written under a policy of node 0 (the core's
 * destination ignores it); their number in *npages. NULL when the
 * test skipped: no THP backs the range, or no free 2 MiB page on each
 * node.
 */
static char *core_range(struct __test_metadata *_metadata,
			FIXTURE_DATA(numa_core) * self, enum core_kind kind,
			size_t *npages)
{
	bool huge = kind == CORE_THP || kind == CORE_HUGETLB;
	size_t ps = self->e.ps;
	char *p;

	*npages = huge ? TWO_MB / ps : CORE_PAGES;
	self->raw_size = kind == CORE_THP ? 2 * TWO_MB : *npages * ps;
	switch (kind) {
	case CORE_PAGE:
	case CORE_THP:
		self->raw = hmm_map_anon(self->raw_size,
					 PROT_READ | PROT_WRITE);
		ASSERT_NE(NULL, self->raw);
		break;
	case CORE_SHMEM:
		self->raw = map_file(_metadata, false, self->raw_size);
		break;
	case CORE_HUGETLB:
		if (!node_pool_free_page(0, &self->pool_was[0]) ||
		    !node_pool_free_page(1, &self->pool_was[1]))
			SKIP(return NULL, "no free 2 MiB page on nodes 0 and 1");
		self->raw = map_file(_metadata, true, self->raw_size);
		break;
	}
	p = kind == CORE_THP ? (char *)(((uintptr_t)self->raw + TWO_MB - 1) &
					~(TWO_MB - 1)) : self->raw;
	if (kind == CORE_THP)
		ASSERT_EQ(0, madvise(p, TWO_MB, MADV_HUGEPAGE));
	ASSERT_EQ(0, sys_mbind(p, *npages * ps, MPOL_BIND, 0, 0));
	hmm_fill(p, *npages * ps, CORE_SEED);
	if (kind == CORE_THP &&
	    !page_flag(_metadata, pfn_of(_metadata, p), HMM_KPF_THP))
		SKIP(return NULL, "no THP backs the range on node 0");
	assert_nodes(_metadata, p, ps, 0, *npages, 0);
	return p;
}

/*
 * The range through the core to node 1 in the variant's mode (flags: 0
 * or HMM_NC_MIGRATE_PROBE): every page moved to a new frame on node 1
 * (a 2 MiB folio whole), and reads as the data (want_data) or as the
 * sentinel nobody copied over.
 */
static void core_to_node1(struct __test_metadata *_metadata,
			  FIXTURE_DATA(numa_core) * self,
			  const FIXTURE_VARIANT(numa_core) * variant,
			  __u32 flags, bool want_data)
{
	bool hugetlb = variant->kind == CORE_HUGETLB;
	bool huge = hugetlb || variant->kind == CORE_THP;
	int cb = hugetlb ? HMM_NC_CB_HUGETLBFS : HMM_NC_CB_FOLIO;
	size_t ps = self->e.ps, npages, i;
	struct hmm_nc_core_page *recs;
	struct hmm_nc_core_cmd cmd;
	struct hmm_nc_counters d;
	__u64 *before, *after;
	ssize_t bad;
	char *p;

	p = core_range(_metadata, self, variant->kind, &npages);
	if (!p)
		return;
	recs = zalloc(_metadata, npages * sizeof(*recs));
	before = zalloc(_metadata, npages * sizeof(*before));
	after = zalloc(_metadata, npages * sizeof(*after));
	ASSERT_EQ(0, hmm_pagemap(p, npages, before));

	ASSERT_EQ(0, hmm_core_migrate_node(self->e.dev, p, npages,
					   variant->mode, flags, 1, recs,
					   &cmd));
	EXPECT_EQ(huge ? 1 : npages, cmd.folios);
	EXPECT_EQ(0, cmd.failed);
	EXPECT_EQ(0, cmd.result);
	ASSERT_EQ(npages, cmd.moved);

	assert_nodes(_metadata, p, ps, 0, npages, 1);
	ASSERT_EQ(0, hmm_pagemap(p, npages, after));
	for (i = 0; i < npages; i++) {
		ASSERT_EQ(HMM_NC_PS_MOVED, recs[i].status) TH_LOG("page %zu", i);
		EXPECT_EQ(hmm_pm_pfn(after[i]), recs[i].new_pfn);
		EXPECT_EQ(cb, recs[i].cb);
		ASSERT_NE(hmm_pm_pfn(before[i]), hmm_pm_pfn(after[i]))
			TH_LOG("page %zu kept its frame", i);
	}
	if (huge)
		EXPECT_TRUE(page_flag(_metadata, hmm_pm_pfn(after[0]),
				      hugetlb ? HMM_KPF_HUGE : HMM_KPF_THP))
			TH_LOG("the folio was split on its way");

	bad = want_data ? hmm_verify(p, npages * ps, CORE_SEED) :
			  hmm_verify_word(p, npages * ps, HMM_NC_SENTINEL);
	ASSERT_EQ(-1, bad) TH_LOG("wrong at offset %zd", bad);

	/* The device copied under NO_COPY (unless probing), and only there. */
	env_delta(_metadata, &self->e, &d);
	EXPECT_EQ(variant->mode == NO_COPY && !flags ? npages : 0,
		  d.pages_copied);
	if (variant->mode == SYNC)
		assert_engine_idle(_metadata, &self->e);
	assert_counted(_metadata, &self->e, cb, variant->mode, npages);
	free(after);
	free(before);
	free(recs);
}

TEST_F(numa_core, moves_node0_to_node1)
{
	core_to_node1(_metadata, self, variant, 0, true);
}

/* NO_COPY: the kernel copied nothing; SYNC (the control): it did. */
TEST_F(numa_core, probe_shows_who_copied)
{
	core_to_node1(_metadata, self, variant, HMM_NC_MIGRATE_PROBE,
		      variant->mode != NO_COPY);
}

HMM_TEST_MAIN

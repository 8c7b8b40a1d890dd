// SPDX-License-Identifier: GPL-2.0
/*
 * anon.*: anonymous pages through the test device's device path:
 * migration to device memory and back (the kernel moves their state
 * with MIGRATE_SYNC_NO_COPY, our DMA engine moves the data), CPU faults
 * on device pages, the page-table mirror (READ, WRITE, SNAPSHOT,
 * EXCLUSIVE, RELEASE) and the odd shapes a range can take. The NO_COPY
 * engine on anonymous pages is in anon_nocopy_test.c, its probe in
 * anon_probe_test.c. See anon_common.h.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

#include "anon_common.h"

FIXTURE_SETUP(anon)
{
	anon_open(_metadata, self);
}

FIXTURE_TEARDOWN(anon)
{
	anon_close(self);
}

/*
 * To device 0 and back with every byte checked: the device returns what
 * it received, the pages leave system memory and come back as new pages,
 * and the engine copied each page once each way, one batch at a time.
 */
static void roundtrip(struct __test_metadata *_metadata, int fd, size_t psize,
		      const struct hmm_nc_counters *c0, size_t npages)
{
	size_t size = npages * psize;
	char *p = map_anon(_metadata, size);
	char *mirror = zalloc(_metadata, size);
	struct hmm_nc_counters d;
	__u64 *before, *ondev, *after;

	hmm_fill(p, size, npages);
	before = pagemap_of(_metadata, p, npages);
	assert_present(_metadata, before, npages);

	to_device(_metadata, fd, p, npages, mirror);
	assert_data(_metadata, mirror, size, npages);
	ondev = pagemap_of(_metadata, p, npages);
	assert_on_device(_metadata, ondev, npages);
	assert_snapshot(_metadata, fd, p, npages, PROT_LOCAL_WRITE);

	to_system(_metadata, fd, p, npages);
	after = pagemap_of(_metadata, p, npages);
	assert_hops(_metadata, before, ondev, after, npages);
	assert_data(_metadata, p, size, npages);

	delta_of(_metadata, fd, false, c0, &d);
	EXPECT_EQ(2 * batches_for(npages), d.batches);
	EXPECT_EQ(2 * npages, d.pages_copied);
	EXPECT_EQ(2 * npages,
		  d.migrated[HMM_NC_CB_DEVICE][HMM_NC_MODE_SYNC_NO_COPY]);
	EXPECT_EQ(0, d.failed[HMM_NC_CB_DEVICE][HMM_NC_MODE_SYNC_NO_COPY]);
	EXPECT_EQ(npages, d.devmem_alloc);
	EXPECT_EQ(npages, d.devmem_free);
	EXPECT_EQ(0, d.cpu_faults);
	assert_balanced(_metadata, &d);
}

TEST_F(anon, to_device_and_back_one_page)
{
	roundtrip(_metadata, self->fd0, self->psize, &self->c0, 1);
}

TEST_F(anon, to_device_and_back_2mib)
{
	roundtrip(_metadata, self->fd0, self->psize, &self->c0, TWO_MB / self->psize);
}

/* 601 pages: an odd count that needs two batches, the second partial. */
TEST_F(anon, to_device_and_back_odd_count_two_batches)
{
	roundtrip(_metadata, self->fd0, self->psize, &self->c0, HMM_NC_BATCH_PAGES + 89);
}

/* A CPU read of a device page faults it back, one page at a time. */
TEST_F(anon, cpu_read_faults_device_pages_back)
{
	size_t npages = 16, size = npages * self->psize;
	char *p = map_anon(_metadata, size);
	struct hmm_nc_counters d;
	__u64 *before, *ondev, *after;

	hmm_fill(p, size, 7);
	before = pagemap_of(_metadata, p, npages);
	to_device(_metadata, self->fd0, p, npages, zalloc(_metadata, size));
	ondev = pagemap_of(_metadata, p, npages);

	assert_data(_metadata, p, size, 7);
	after = pagemap_of(_metadata, p, npages);
	assert_hops(_metadata, before, ondev, after, npages);

	delta_of(_metadata, self->fd0, false, &self->c0, &d);
	EXPECT_EQ(npages, d.cpu_faults);
	EXPECT_EQ(2 * npages,
		  d.migrated[HMM_NC_CB_DEVICE][HMM_NC_MODE_SYNC_NO_COPY]);
	EXPECT_EQ(1 + npages, d.batches);
	EXPECT_EQ(2 * npages, d.pages_copied);
	EXPECT_EQ(d.devmem_alloc, d.devmem_free);
	assert_balanced(_metadata, &d);
}

/* A CPU write of a device page faults it back, then lands. */
TEST_F(anon, cpu_write_faults_device_pages_back)
{
	size_t npages = 16, size = npages * self->psize, i;
	char *p = map_anon(_metadata, size);
	size_t words = self->psize / sizeof(__u64);
	struct hmm_nc_counters d;
	__u64 *before, *ondev, *after, *w = (__u64 *)p;
	char *want = zalloc(_metadata, size);

	hmm_fill(p, size, 8);
	memcpy(want, p, size);
	before = pagemap_of(_metadata, p, npages);
	to_device(_metadata, self->fd0, p, npages, zalloc(_metadata, size));
	ondev = pagemap_of(_metadata, p, npages);

	for (i = 0; i < npages; i++) {
		w[i * words + i % words] = ~w[i * words + i % words];
		((__u64 *)want)[i * words + i % words] ^= ~0ULL;
	}
	after = pagemap_of(_metadata, p, npages);
	assert_hops(_metadata, before, ondev, after, npages);
	ASSERT_EQ(0, memcmp(want, p, size));

	delta_of(_metadata, self->fd0, false, &self->c0, &d);
	EXPECT_EQ(npages, d.cpu_faults);
	EXPECT_EQ(d.devmem_alloc, d.devmem_free);
	assert_balanced(_metadata, &d);
}

/*
 * The device reads p into buf (HMM_DMIRROR_READ) or writes buf to p
 * (HMM_DMIRROR_WRITE) after taking the given number of faults; returns
 * the pages it did, for the caller to check where the count is known.
 */
static __u64 mirror_rw(struct __test_metadata *_metadata, int fd,
		       unsigned long req, char *p, char *buf, size_t npages,
		       __u64 faults)
{
	struct hmm_dmirror_cmd cmd;

	ASSERT_EQ(0, hmm_cmd(fd, req, p, buf, npages, &cmd));
	EXPECT_EQ(faults, cmd.faults);
	return cmd.cpages;
}

/*
 * The device reads and writes through its mirror: system pages before
 * the migration (one fault maps them all), device pages after it (no
 * fault: the migration mapped them), and the CPU sees what it wrote.
 */
TEST_F(anon, device_read_write_before_and_after_migration)
{
	size_t npages = 8, size = npages * self->psize;
	char *p = map_anon(_metadata, size);
	char *buf = zalloc(_metadata, size);

	hmm_fill(p, size, 9);
	EXPECT_EQ(npages, mirror_rw(_metadata, self->fd0, HMM_DMIRROR_READ, p,
				    buf, npages, 1));
	assert_data(_metadata, buf, size, 9);

	hmm_fill(buf, size, 10);
	EXPECT_EQ(npages, mirror_rw(_metadata, self->fd0, HMM_DMIRROR_WRITE, p,
				    buf, npages, 0));
	assert_data(_metadata, p, size, 10);

	to_device(_metadata, self->fd0, p, npages, zalloc(_metadata, size));
	memset(buf, 0, size);
	mirror_rw(_metadata, self->fd0, HMM_DMIRROR_READ, p, buf, npages, 0);
	assert_data(_metadata, buf, size, 10);

	hmm_fill(buf, size, 11);
	EXPECT_EQ(npages, mirror_rw(_metadata, self->fd0, HMM_DMIRROR_WRITE, p,
				    buf, npages, 0));
	assert_snapshot(_metadata, self->fd0, p, npages, PROT_LOCAL_WRITE);
	assert_data(_metadata, p, size, 11);
}

/*
 * A read-only range: the device may read it but not write it, whether
 * its pages are in system memory or on the device.
 */
TEST_F(anon, prot_read_range_refuses_device_write)
{
	size_t npages = 4, size = npages * self->psize;
	char *buf = zalloc(_metadata, size);
	struct hmm_dmirror_cmd cmd;
	char *p;

	p = hmm_map_anon(size, PROT_READ);
	ASSERT_NE(NULL, p);
	ASSERT_EQ(0, hmm_cmd(self->fd0, HMM_DMIRROR_READ, p, buf, 1, &cmd));
	EXPECT_EQ(1, cmd.cpages);
	hmm_fill(buf, size, 12);
	EXPECT_EQ(-EPERM, hmm_cmd(self->fd0, HMM_DMIRROR_WRITE, p, buf, npages,
				  NULL));
	ASSERT_EQ(-1, hmm_verify_word(p, size, 0));

	p = map_anon(_metadata, size);
	hmm_fill(p, size, 13);
	ASSERT_EQ(0, mprotect(p, size, PROT_READ));
	to_device(_metadata, self->fd0, p, npages, zalloc(_metadata, size));
	assert_snapshot(_metadata, self->fd0, p, npages, PROT_LOCAL_READ);
	EXPECT_EQ(-EPERM, hmm_cmd(self->fd0, HMM_DMIRROR_WRITE, p, buf, npages,
				  NULL));
	assert_data(_metadata, p, size, 13);
}

/*
 * Unpopulated pages and the zero page migrate too: the device gets
 * zero-filled pages, and they come back as zeroes.
 */
TEST_F(anon, unpopulated_and_zero_pages_migrate_as_zeroes)
{
	size_t npages = 8, ps = self->psize, size = npages * ps;
	char *p = map_anon(_metadata, size);
	struct hmm_nc_counters d;

	ASSERT_EQ(-1, hmm_verify_word(p + 2 * ps, ps, 0)); /* the zero page */
	hmm_fill(p + 3 * ps, 5 * ps, 14);	/* pages 3-7: data */

	to_device(_metadata, self->fd0, p, npages, zalloc(_metadata, size));
	assert_snapshot(_metadata, self->fd0, p, npages, PROT_LOCAL_WRITE);
	to_system(_metadata, self->fd0, p, npages);

	ASSERT_EQ(-1, hmm_verify_word(p, 3 * ps, 0));
	assert_data(_metadata, p + 3 * ps, 5 * ps, 14);
	assert_present(_metadata, pagemap_of(_metadata, p, npages), npages);
	delta_of(_metadata, self->fd0, false, &self->c0, &d);
	EXPECT_EQ(2 * npages, d.pages_copied);
	EXPECT_EQ(2, d.batches);
	assert_balanced(_metadata, &d);
}

/* A range with a hole in its address space is refused before anything moves. */
TEST_F(anon, range_with_hole_is_refused_whole)
{
	size_t ps = self->psize, npages = 3;
	char *p = map_anon(_metadata, npages * ps);
	struct hmm_nc_counters d;
	__u64 *before, *after;

	hmm_fill(p, npages * ps, 15);
	ASSERT_EQ(0, munmap(p + ps, ps));
	before = pagemap_of(_metadata, p, npages);
	EXPECT_EQ(-EINVAL, hmm_cmd(self->fd0, HMM_DMIRROR_MIGRATE_TO_DEV, p,
				   zalloc(_metadata, npages * ps), npages,
				   NULL));
	EXPECT_EQ(-EINVAL, hmm_cmd(self->fd0, HMM_DMIRROR_MIGRATE_TO_SYS, p,
				   NULL, npages, NULL));
	after = pagemap_of(_metadata, p, npages);
	EXPECT_EQ(hmm_pm_pfn(before[0]), hmm_pm_pfn(after[0]));
	EXPECT_EQ(hmm_pm_pfn(before[2]), hmm_pm_pfn(after[2]));
	delta_of(_metadata, self->fd0, false, &self->c0, &d);
	EXPECT_EQ(0, d.batches);
	EXPECT_EQ(0, d.devmem_alloc);
}

/* A range across two VMAs moves as one, in one batch per VMA. */
TEST_F(anon, range_straddling_two_vmas)
{
	size_t half = 16, npages = 2 * half, ps = self->psize;
	size_t size = npages * ps;
	char *p = map_anon(_metadata, size);
	struct hmm_nc_counters d;
	__u64 *before, *ondev, *after;

	hmm_fill(p, size, 16);
	ASSERT_EQ(0, mprotect(p + half * ps, half * ps, PROT_READ));
	before = pagemap_of(_metadata, p, npages);

	to_device(_metadata, self->fd0, p, npages, zalloc(_metadata, size));
	ondev = pagemap_of(_metadata, p, npages);
	delta_of(_metadata, self->fd0, false, &self->c0, &d);
	EXPECT_EQ(2, d.batches);
	assert_snapshot(_metadata, self->fd0, p, half, PROT_LOCAL_WRITE);
	assert_snapshot(_metadata, self->fd0, p + half * ps, half,
			PROT_LOCAL_READ);

	to_system(_metadata, self->fd0, p, npages);
	after = pagemap_of(_metadata, p, npages);
	assert_hops(_metadata, before, ondev, after, npages);
	assert_data(_metadata, p, size, 16);
}

/* Unmapping part of a migrated range frees those device pages at once. */
TEST_F(anon, munmap_of_part_of_migrated_range)
{
	size_t npages = 16, half = npages / 2, ps = self->psize;
	char *p = map_anon(_metadata, npages * ps);
	struct hmm_nc_counters d;

	hmm_fill(p, npages * ps, 17);
	to_device(_metadata, self->fd0, p, npages,
		  zalloc(_metadata, npages * ps));
	ASSERT_EQ(0, munmap(p + half * ps, half * ps));

	delta_of(_metadata, self->fd0, false, &self->c0, &d);
	EXPECT_EQ(npages, d.devmem_alloc);
	EXPECT_EQ(half, d.devmem_free);
	assert_data(_metadata, p, half * ps, 17);
	assert_present(_metadata, pagemap_of(_metadata, p, half), half);
	delta_of(_metadata, self->fd0, false, &self->c0, &d);
	EXPECT_EQ(npages, d.devmem_free);
	EXPECT_EQ(half, d.cpu_faults);
}

/*
 * Copy-on-write with the parent's pages on the device: the child sees
 * the parent's data, writes its own, and the parent's stays intact.
 */
TEST_F(anon, fork_cow_after_parent_moved_to_device)
{
	size_t npages = 8, size = npages * self->psize;
	char *p = map_anon(_metadata, size);
	struct hmm_nc_counters g;
	int status;
	pid_t pid;

	hmm_fill(p, size, 18);
	to_device(_metadata, self->fd0, p, npages, zalloc(_metadata, size));

	pid = fork();
	ASSERT_GE(pid, 0);
	if (pid == 0) {
		if (hmm_verify(p, size, 18) != -1)
			_exit(1);
		hmm_fill(p, size, 19);
		_exit(hmm_verify(p, size, 19) == -1 ? 0 : 2);
	}
	ASSERT_EQ(pid, waitpid(pid, &status, 0));
	ASSERT_TRUE(WIFEXITED(status));
	ASSERT_EQ(0, WEXITSTATUS(status)) TH_LOG("1: child saw wrong data");

	assert_data(_metadata, p, size, 18);
	assert_present(_metadata, pagemap_of(_metadata, p, npages), npages);
	ASSERT_EQ(0, munmap(p, size));
	delta_of(_metadata, self->fd0, true, &self->g, &g);
	EXPECT_EQ(g.devmem_alloc, g.devmem_free);
	EXPECT_LE(1, g.cpu_faults);
	assert_balanced(_metadata, &g);
}

/*
 * An anonymous THP: 6.1 splits it when collecting, then each 4 KiB page
 * moves on its own; it comes back as small pages with its data.
 */
TEST_F(anon, thp_is_split_then_each_page_moves)
{
	size_t npages = TWO_MB / self->psize;
	char *raw = map_anon(_metadata, 2 * TWO_MB);
	char *p = (char *)(((uintptr_t)raw + TWO_MB - 1) & ~(TWO_MB - 1));
	__u8 prot;
	__u64 *before, *ondev, *after;
	struct hmm_nc_counters d;

	ASSERT_EQ(0, madvise(p, TWO_MB, MADV_HUGEPAGE));
	hmm_fill(p, TWO_MB, 20);
	ASSERT_EQ(0, hmm_snapshot(self->fd0, p, 1, &prot));
	if (!(prot & HMM_DMIRROR_PROT_PMD))
		SKIP(return, "no transparent huge page backs the buffer (THP off?)");
	assert_snapshot(_metadata, self->fd0, p, npages,
			HMM_DMIRROR_PROT_WRITE | HMM_DMIRROR_PROT_PMD);
	before = pagemap_of(_metadata, p, npages);

	to_device(_metadata, self->fd0, p, npages, zalloc(_metadata, TWO_MB));
	ondev = pagemap_of(_metadata, p, npages);
	assert_snapshot(_metadata, self->fd0, p, npages, PROT_LOCAL_WRITE);
	to_system(_metadata, self->fd0, p, npages);
	assert_snapshot(_metadata, self->fd0, p, npages,
			HMM_DMIRROR_PROT_WRITE);

	after = pagemap_of(_metadata, p, npages);
	assert_hops(_metadata, before, ondev, after, npages);
	assert_data(_metadata, p, TWO_MB, 20);
	delta_of(_metadata, self->fd0, false, &self->c0, &d);
	EXPECT_EQ(2 * npages,
		  d.migrated[HMM_NC_CB_DEVICE][HMM_NC_MODE_SYNC_NO_COPY]);
	EXPECT_EQ(2, d.batches);
}

/*
 * Two devices: as in 6.1, a device does not take pages that sit on the
 * other one (-ENOENT); its READ faults them back to system memory, after
 * which they move to it, and only it can bring them back.
 */
TEST_F(anon, two_devices_take_turns)
{
	size_t npages = 8, size = npages * self->psize;
	char *p = map_anon(_metadata, size);
	char *buf = zalloc(_metadata, size);
	struct hmm_nc_counters d0, d1;
	struct hmm_dmirror_cmd cmd;

	hmm_fill(p, size, 21);
	to_device(_metadata, self->fd0, p, npages, buf);
	assert_snapshot(_metadata, self->fd0, p, npages, PROT_LOCAL_WRITE);
	assert_snapshot(_metadata, self->fd1, p, npages,
			HMM_DMIRROR_PROT_NONE);
	EXPECT_EQ(-ENOENT, hmm_cmd(self->fd1, HMM_DMIRROR_MIGRATE_TO_DEV, p,
				   buf, npages, NULL));
	assert_on_device(_metadata, pagemap_of(_metadata, p, npages), npages);

	memset(buf, 0, size);
	ASSERT_EQ(0, hmm_cmd(self->fd1, HMM_DMIRROR_READ, p, buf, npages,
			     &cmd));
	EXPECT_EQ(1, cmd.faults);
	assert_data(_metadata, buf, size, 21);
	assert_present(_metadata, pagemap_of(_metadata, p, npages), npages);

	to_device(_metadata, self->fd1, p, npages, buf);
	assert_snapshot(_metadata, self->fd1, p, npages, PROT_LOCAL_WRITE);
	ASSERT_EQ(0, hmm_cmd(self->fd0, HMM_DMIRROR_MIGRATE_TO_SYS, p, NULL,
			     npages, &cmd));
	EXPECT_EQ(0, cmd.cpages);
	to_system(_metadata, self->fd1, p, npages);
	assert_data(_metadata, p, size, 21);

	delta_of(_metadata, self->fd0, false, &self->c0, &d0);
	delta_of(_metadata, self->fd1, false, &self->c1, &d1);
	EXPECT_EQ(npages, d0.cpu_faults);
	EXPECT_EQ(2 * npages,
		  d0.migrated[HMM_NC_CB_DEVICE][HMM_NC_MODE_SYNC_NO_COPY]);
	EXPECT_EQ(2 * npages,
		  d1.migrated[HMM_NC_CB_DEVICE][HMM_NC_MODE_SYNC_NO_COPY]);
	EXPECT_EQ(npages, d0.devmem_free);
	EXPECT_EQ(npages, d1.devmem_free);
}

/* SNAPSHOT tells each kind of page apart, without faulting any in. */
TEST_F(anon, snapshot_reports_each_page_kind)
{
	size_t npages = 8, ps = self->psize, i;
	__u8 prot[8], want[8] = {
		HMM_DMIRROR_PROT_ERROR,				/* PROT_NONE */
		HMM_DMIRROR_PROT_ERROR,				/* unmapped */
		HMM_DMIRROR_PROT_ZERO | HMM_DMIRROR_PROT_READ,	/* zero page */
		HMM_DMIRROR_PROT_READ,				/* read-only */
		HMM_DMIRROR_PROT_WRITE,				/* written */
		PROT_LOCAL_WRITE,				/* on dev 0 */
		HMM_DMIRROR_PROT_NONE,				/* on dev 1 */
		HMM_DMIRROR_PROT_NONE,				/* untouched */
	};
	struct hmm_nc_counters d0, d1;
	char a[64], b[64], *p;
	__u64 *pm;

	p = hmm_map_anon(npages * ps, PROT_NONE);
	ASSERT_NE(NULL, p);
	ASSERT_EQ(0, munmap(p + ps, ps));
	ASSERT_EQ(0, mprotect(p + 2 * ps, ps, PROT_READ));
	ASSERT_EQ(-1, hmm_verify_word(p + 2 * ps, ps, 0));
	ASSERT_EQ(0, mprotect(p + 3 * ps, 5 * ps, PROT_READ | PROT_WRITE));
	hmm_fill(p + 3 * ps, 4 * ps, 22);
	ASSERT_EQ(0, mprotect(p + 3 * ps, ps, PROT_READ));
	to_device(_metadata, self->fd0, p + 5 * ps, 1, zalloc(_metadata, ps));
	to_device(_metadata, self->fd1, p + 6 * ps, 1, zalloc(_metadata, ps));

	ASSERT_EQ(0, hmm_snapshot(self->fd0, p, npages, prot));
	for (i = 0; i < ARRAY_SIZE(want); i++) {
		__u8 w = want[i], got = prot[i];

		EXPECT_EQ(w, got)
			TH_LOG("page %zu: %s, want %s", i,
			       hmm_prot_str(got, a, sizeof(a)),
			       hmm_prot_str(w, b, sizeof(b)));
	}
	assert_snapshot(_metadata, self->fd1, p + 6 * ps, 1, PROT_LOCAL_WRITE);

	/* Nothing was faulted in: pages stay where the snapshot saw them. */
	pm = pagemap_of(_metadata, p + 3 * ps, 5);
	assert_present(_metadata, pm, 2);
	assert_on_device(_metadata, pm + 2, 2);
	EXPECT_EQ(0, hmm_pm_pfn(pm[4]));
	EXPECT_FALSE(hmm_pm_swapped(pm[4]));
	delta_of(_metadata, self->fd0, false, &self->c0, &d0);
	delta_of(_metadata, self->fd1, false, &self->c1, &d1);
	EXPECT_EQ(1, d0.devmem_alloc);
	EXPECT_EQ(1, d1.devmem_alloc);
	EXPECT_EQ(0, d0.cpu_faults + d1.cpu_faults);
	assert_data(_metadata, p + 3 * ps, 4 * ps, 22);
}

/*
 * EXCLUSIVE hands the device the pages for atomics, as in 6.1:
 * CHECK_EXCLUSIVE says so (-EPERM) until a CPU access takes them back.
 */
TEST_F(anon, exclusive_until_cpu_access_revokes_it)
{
	size_t npages = 16, size = npages * self->psize, i;
	char *p = map_anon(_metadata, size);
	char *buf = zalloc(_metadata, size);
	size_t words = self->psize / sizeof(__u64);
	struct hmm_dmirror_cmd cmd;
	struct hmm_nc_counters d;
	__u64 *w = (__u64 *)p;
	__u64 *before, *during, *after;

	HMM_REQUIRE(self->fd0, HMM_NEED_EXCLUSIVE);
	hmm_fill(p, size, 23);
	before = pagemap_of(_metadata, p, npages);
	ASSERT_EQ(0, hmm_cmd(self->fd0, HMM_DMIRROR_EXCLUSIVE, p, buf, npages,
			     &cmd));
	EXPECT_EQ(npages, cmd.cpages);
	assert_data(_metadata, buf, size, 23);
	/* The CPU maps a device-exclusive entry for the very same page. */
	during = pagemap_of(_metadata, p, npages);
	assert_on_device(_metadata, during, npages);
	for (i = 0; i < npages; i++)
		EXPECT_EQ(hmm_pm_pfn(before[i]), hmm_pm_swap_pfn(during[i]));
	EXPECT_EQ(-EPERM, hmm_cmd(self->fd0, HMM_DMIRROR_CHECK_EXCLUSIVE, p,
				  NULL, npages, NULL));
	delta_of(_metadata, self->fd0, false, &self->c0, &d);
	EXPECT_EQ(npages, d.pages_locked);
	assert_balanced(_metadata, &d);

	for (i = 0; i < npages; i++)
		w[i * words] = ~w[i * words];
	EXPECT_EQ(0, hmm_cmd(self->fd0, HMM_DMIRROR_CHECK_EXCLUSIVE, p, NULL,
			     npages, NULL));
	after = pagemap_of(_metadata, p, npages);
	for (i = 0; i < npages; i++)
		EXPECT_EQ(hmm_pm_pfn(before[i]), hmm_pm_pfn(after[i]));
	for (i = 0; i < npages; i++)
		w[i * words] = ~w[i * words];
	assert_data(_metadata, p, size, 23);
}

/* After mprotect(PROT_READ) the device may no longer write the pages. */
TEST_F(anon, exclusive_then_mprotect_refuses_device_write)
{
	size_t npages = 4, size = npages * self->psize;
	char *p = map_anon(_metadata, size);
	char *buf = zalloc(_metadata, size);

	HMM_REQUIRE(self->fd0, HMM_NEED_EXCLUSIVE);
	hmm_fill(p, size, 24);
	ASSERT_EQ(0, hmm_cmd(self->fd0, HMM_DMIRROR_EXCLUSIVE, p, buf, npages,
			     NULL));
	ASSERT_EQ(0, mprotect(p, size, PROT_READ));
	EXPECT_EQ(-EPERM, hmm_cmd(self->fd0, HMM_DMIRROR_WRITE, p, buf, npages,
				  NULL));
	assert_data(_metadata, p, size, 24);
}

/* RELEASE brings every device page back with no CPU fault. */
TEST_F(anon, release_brings_device_pages_back)
{
	size_t npages = 16, size = npages * self->psize;
	char *p = map_anon(_metadata, size);
	struct hmm_nc_counters d;
	__u64 *before, *ondev, *after;

	HMM_REQUIRE(self->fd0, HMM_NEED_RELEASE);
	hmm_fill(p, size, 25);
	before = pagemap_of(_metadata, p, npages);
	to_device(_metadata, self->fd0, p, npages, zalloc(_metadata, size));
	ondev = pagemap_of(_metadata, p, npages);
	ASSERT_EQ(0, hmm_cmd(self->fd0, HMM_DMIRROR_RELEASE, p, NULL, npages,
			     NULL));
	after = pagemap_of(_metadata, p, npages);
	assert_hops(_metadata, before, ondev, after, npages);
	assert_data(_metadata, p, size, 25);

	delta_of(_metadata, self->fd0, false, &self->c0, &d);
	EXPECT_EQ(0, d.cpu_faults);
	EXPECT_EQ(npages, d.devmem_free);
	assert_balanced(_metadata, &d);
}

/* The base commands refuse ranges they cannot describe. */
TEST_F(anon, base_commands_refuse_bad_ranges)
{
	char *p = map_anon(_metadata, self->psize);
	char buf[64];

	EXPECT_EQ(-EINVAL, hmm_cmd(self->fd0, HMM_DMIRROR_READ, p + 1, buf, 1,
				   NULL));
	EXPECT_EQ(-EINVAL, hmm_cmd(self->fd0, HMM_DMIRROR_READ, p, buf, 0,
				   NULL));
	EXPECT_EQ(-EINVAL, hmm_cmd(self->fd0, HMM_DMIRROR_MIGRATE_TO_DEV, p,
				   buf, ~0ULL, NULL));
	EXPECT_EQ(-EINVAL, hmm_cmd(self->fd0, HMM_DMIRROR_SNAPSHOT, p, buf,
				   (~0ULL >> 12) - 1, NULL));
	EXPECT_EQ(-EFAULT, hmm_cmd(self->fd0, HMM_DMIRROR_READ, p,
				   (void *)(uintptr_t)8, 1, NULL));
}

HMM_TEST_MAIN

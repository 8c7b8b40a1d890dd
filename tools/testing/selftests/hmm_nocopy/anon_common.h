/* SPDX-License-Identifier: GPL-2.0 */
/*
 * What the anon.* binaries share: the fixture (devices 0 and 1, and
 * their counters when the test began), and the checks every test makes:
 * the data (every byte, against a pattern that depends on the offset),
 * the identity of the pages (their PFNs from /proc/self/pagemap: a page
 * that moved has a new one, a page on the device has none) and the
 * device's counters. Include it once per binary.
 */
#ifndef _ANON_COMMON_H
#define _ANON_COMMON_H

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "hmm_fixture.h"

#define TWO_MB			(2UL * 1024 * 1024)

#define PROT_LOCAL_WRITE	(HMM_DMIRROR_PROT_DEV_PRIVATE_LOCAL | \
				 HMM_DMIRROR_PROT_WRITE)
#define PROT_LOCAL_READ		(HMM_DMIRROR_PROT_DEV_PRIVATE_LOCAL | \
				 HMM_DMIRROR_PROT_READ)

FIXTURE(anon) {
	int fd0;			/* device 0 */
	int fd1;			/* device 1 */
	size_t psize;
	struct hmm_nc_counters c0;	/* device 0 when the test began */
	struct hmm_nc_counters c1;	/* device 1 when the test began */
	struct hmm_nc_counters g;	/* global when the test began */
};

/* Both devices and their counters, or a skip that ends the test. */
static inline void anon_open(struct __test_metadata *_metadata,
			     FIXTURE_DATA(anon) * self)
{
	self->fd0 = hmm_open(0);
	self->fd1 = hmm_open(1);
	if (self->fd0 < 0 || self->fd1 < 0)
		HMM_SETUP_SKIP("need /dev/hmm_dmirror0 and 1 (is test_hmm loaded?)");
	self->psize = hmm_page_size();
	ASSERT_EQ(0, hmm_counters(self->fd0, false, &self->c0));
	ASSERT_EQ(0, hmm_counters(self->fd1, false, &self->c1));
	ASSERT_EQ(0, hmm_counters(self->fd0, true, &self->g));
}

static inline void anon_close(FIXTURE_DATA(anon) * self)
{
	/* The engine's parameters outlive the file: put the defaults back. */
	hmm_engine_reset(self->fd0);
	hmm_engine_reset(self->fd1);
	close(self->fd0);
	close(self->fd1);
}

static inline void assert_balanced(struct __test_metadata *_metadata,
				   const struct hmm_nc_counters *d)
{
	ASSERT_EQ(d->pages_locked, d->pages_unlocked);
	ASSERT_EQ(d->pages_taken, d->pages_returned);
}

static inline char *map_anon(struct __test_metadata *_metadata, size_t size)
{
	char *p = hmm_map_anon(size, PROT_READ | PROT_WRITE);

	ASSERT_NE(NULL, p);
	return p;
}

static inline __u64 *pagemap_of(struct __test_metadata *_metadata,
				void *addr, size_t npages)
{
	__u64 *pm = zalloc(_metadata, npages * sizeof(*pm));

	ASSERT_EQ(0, hmm_pagemap(addr, npages, pm));
	return pm;
}

/* The first page whose pagemap entry is (on_device) or is not present. */
static inline size_t first_unlike(const __u64 *pm, size_t npages,
				  bool on_device)
{
	size_t i;

	for (i = 0; i < npages; i++)
		if (on_device ? !hmm_pm_swapped(pm[i]) : !hmm_pm_pfn(pm[i]))
			break;
	return i;
}

/* Every page is present in system memory. */
static inline void assert_present(struct __test_metadata *_metadata,
				  const __u64 *pm, size_t npages)
{
	size_t i = first_unlike(pm, npages, false);

	ASSERT_EQ(npages, i) TH_LOG("page %zu is not in system memory", i);
}

/* Every page is on a device: a swap-type entry, no PFN. */
static inline void assert_on_device(struct __test_metadata *_metadata,
				    const __u64 *pm, size_t npages)
{
	size_t i = first_unlike(pm, npages, true);

	ASSERT_EQ(npages, i) TH_LOG("page %zu is not on a device", i);
}

/*
 * Every page is present and is not the page it was before: for a move
 * from system memory to system memory, while the source was still held.
 */
static inline void assert_moved(struct __test_metadata *_metadata,
				const __u64 *before, const __u64 *after,
				size_t npages)
{
	size_t i;

	assert_present(_metadata, after, npages);
	for (i = 0; i < npages; i++) {
		ASSERT_NE(hmm_pm_pfn(before[i]), hmm_pm_pfn(after[i]))
			TH_LOG("page %zu kept PFN 0x%llx", i,
			       (unsigned long long)hmm_pm_pfn(after[i]));
	}
}

/*
 * Each hop gave the pages new frames: from their system pages (before)
 * to device pages (ondev), and from those to system pages (after). The
 * way back may reuse a frame freed by the way out: after is compared
 * with the device pages, not with before.
 */
static inline void assert_hops(struct __test_metadata *_metadata,
			       const __u64 *before, const __u64 *ondev,
			       const __u64 *after, size_t npages)
{
	size_t i;

	assert_present(_metadata, before, npages);
	assert_on_device(_metadata, ondev, npages);
	assert_present(_metadata, after, npages);
	for (i = 0; i < npages; i++) {
		ASSERT_NE(hmm_pm_pfn(before[i]), hmm_pm_swap_pfn(ondev[i]))
			TH_LOG("page %zu", i);
		ASSERT_NE(hmm_pm_swap_pfn(ondev[i]), hmm_pm_pfn(after[i]))
			TH_LOG("page %zu", i);
	}
}

static inline void assert_snapshot(struct __test_metadata *_metadata, int fd,
				   void *addr, size_t npages, __u8 want)
{
	__u8 *prot = zalloc(_metadata, npages);
	char a[64], b[64];
	size_t i;

	ASSERT_EQ(0, hmm_snapshot(fd, addr, npages, prot));
	for (i = 0; i < npages; i++) {
		ASSERT_EQ(want, prot[i])
			TH_LOG("page %zu: %s, want %s", i,
			       hmm_prot_str(prot[i], a, sizeof(a)),
			       hmm_prot_str(want, b, sizeof(b)));
	}
	free(prot);
}

static inline void assert_data(struct __test_metadata *_metadata,
			       const void *addr, size_t size, __u64 seed)
{
	ssize_t bad = hmm_verify(addr, size, seed);

	ASSERT_EQ(-1, bad) TH_LOG("first wrong byte at offset %zd", bad);
}

static inline void to_device(struct __test_metadata *_metadata, int fd,
			     void *addr, size_t npages, void *mirror)
{
	struct hmm_dmirror_cmd cmd;

	ASSERT_EQ(0, hmm_cmd(fd, HMM_DMIRROR_MIGRATE_TO_DEV, addr, mirror,
			     npages, &cmd));
	ASSERT_EQ(npages, cmd.cpages);
}

static inline void to_system(struct __test_metadata *_metadata, int fd,
			     void *addr, size_t npages)
{
	struct hmm_dmirror_cmd cmd;

	ASSERT_EQ(0, hmm_cmd(fd, HMM_DMIRROR_MIGRATE_TO_SYS, addr, NULL,
			     npages, &cmd));
	ASSERT_EQ(npages, cmd.cpages);
}

static inline __u64 batches_for(size_t npages)
{
	return (npages + HMM_NC_BATCH_PAGES - 1) / HMM_NC_BATCH_PAGES;
}

#endif /* _ANON_COMMON_H */

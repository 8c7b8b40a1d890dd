/* SPDX-License-Identifier: GPL-2.0 */
/*
 * What the badinput.* binaries share: the table of the device's ioctls,
 * and the fixture every case runs in. Each case expects the errno that
 * lib/test_hmm_uapi.h documents; the fixture's teardown checks that the
 * process's memory is unchanged and that the counters balance.
 * Include it once per binary.
 */
#ifndef _BADINPUT_COMMON_H
#define _BADINPUT_COMMON_H

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <unistd.h>

#include "hmm_fixture.h"

#define BUF_PAGES	8
#define SEED		0x6261640a

struct ioctl_desc {
	char name[24];	/* an array: gcc cannot think it NULL */
	unsigned long req;
	size_t size;
	bool mirror;	/* names addresses of the opener's address space */
	bool base;	/* takes struct hmm_dmirror_cmd */
};

#define BASE(n, r)	{ n, r, sizeof(struct hmm_dmirror_cmd), true, true }

/* Commands that change memory or the device: not on a read-only fd. */
static const unsigned long writers[] = {
	HMM_DMIRROR_WRITE, HMM_DMIRROR_MIGRATE_TO_DEV,
	HMM_DMIRROR_MIGRATE_TO_SYS, HMM_DMIRROR_EXCLUSIVE,
	HMM_DMIRROR_RELEASE, HMM_NC_MIGRATE_ANON, HMM_NC_MIGRATE_FILE,
	HMM_NC_ENGINE_SET, HMM_NC_FAULT_SET, HMM_NC_RF_HOLD,
	HMM_NC_RF_RELEASE, HMM_NC_RF_MIGRATE,
};

/* Device-wide commands: CAP_SYS_ADMIN at the time of the call. */
static const unsigned long admins[] = {
	HMM_DMIRROR_RELEASE, HMM_NC_ENGINE_SET, HMM_NC_RF_HOLD,
	HMM_NC_RF_RELEASE, HMM_NC_RF_MIGRATE,
};

static const struct ioctl_desc ioctls[] = {
	BASE("READ", HMM_DMIRROR_READ),
	BASE("WRITE", HMM_DMIRROR_WRITE),
	BASE("MIGRATE_TO_DEV", HMM_DMIRROR_MIGRATE_TO_DEV),
	BASE("MIGRATE_TO_SYS", HMM_DMIRROR_MIGRATE_TO_SYS),
	BASE("SNAPSHOT", HMM_DMIRROR_SNAPSHOT),
	BASE("EXCLUSIVE", HMM_DMIRROR_EXCLUSIVE),
	BASE("CHECK_EXCLUSIVE", HMM_DMIRROR_CHECK_EXCLUSIVE),
	BASE("RELEASE", HMM_DMIRROR_RELEASE),
	{ "GET_COUNTERS", HMM_NC_GET_COUNTERS,
	  sizeof(struct hmm_nc_counters_cmd), false, false },
	{ "INFO", HMM_NC_INFO, sizeof(struct hmm_nc_info), false, false },
	{ "MIGRATE_ANON", HMM_NC_MIGRATE_ANON,
	  sizeof(struct hmm_nc_migrate_cmd), true, false },
	{ "MIGRATE_FILE", HMM_NC_MIGRATE_FILE,
	  sizeof(struct hmm_nc_file_cmd), true, false },
	{ "ENGINE_SET", HMM_NC_ENGINE_SET,
	  sizeof(struct hmm_nc_engine), false, false },
	{ "ENGINE_GET", HMM_NC_ENGINE_GET,
	  sizeof(struct hmm_nc_engine), false, false },
	{ "RF_HOLD", HMM_NC_RF_HOLD, sizeof(struct hmm_nc_rf_hold), false, false },
	{ "RF_RELEASE", HMM_NC_RF_RELEASE,
	  sizeof(struct hmm_nc_rf_hold), false, false },
	{ "RF_MIGRATE", HMM_NC_RF_MIGRATE,
	  sizeof(struct hmm_nc_rf_migrate), false, false },
	{ "RF_STATE", HMM_NC_RF_STATE,
	  sizeof(struct hmm_nc_rf_state), false, false },
	{ "FAULT_SET", HMM_NC_FAULT_SET,
	  sizeof(struct hmm_nc_fault), false, false },
	{ "FAULT_GET", HMM_NC_FAULT_GET,
	  sizeof(struct hmm_nc_fault), false, false },
};

FIXTURE(badinput) {
	int fd;
	size_t ps;
	char *buf;		/* BUF_PAGES of pattern, the memory to keep */
	char *mirror;
	struct hmm_nc_counters before;
};

FIXTURE_SETUP(badinput)
{
	self->fd = hmm_open(0);
	if (self->fd < 0)
		HMM_SETUP_SKIP("no /dev/hmm_dmirror0: %s", strerror(-self->fd));
	self->ps = hmm_page_size();
	self->buf = hmm_map_anon(BUF_PAGES * self->ps, PROT_READ | PROT_WRITE);
	ASSERT_NE(NULL, self->buf);
	self->mirror = malloc(BUF_PAGES * self->ps);
	ASSERT_NE(NULL, self->mirror);
	hmm_fill(self->buf, BUF_PAGES * self->ps, SEED);
	ASSERT_EQ(0, hmm_counters(self->fd, true, &self->before));
}

/* Nothing changed in memory, nothing left locked or taken. */
FIXTURE_TEARDOWN(badinput)
{
	struct hmm_nc_counters now;

	EXPECT_EQ(-1, hmm_verify(self->buf, BUF_PAGES * self->ps, SEED));
	EXPECT_EQ(0, hmm_counters(self->fd, true, &now));
	EXPECT_EQ(now.pages_locked, now.pages_unlocked);
	EXPECT_EQ(now.pages_taken, now.pages_returned);
	free(self->mirror);
	hmm_unmap(self->buf, BUF_PAGES * self->ps);
	close(self->fd);
}

static inline int raw_ioctl(int fd, unsigned long req, void *arg)
{
	return ioctl(fd, req, arg) ? -errno : 0;
}

/*
 * What a command answers to bad input: err, or EOPNOTSUPP, whatever
 * the input, for one this kernel cannot serve (HMM_NC_INFO says which).
 */
static inline int bad_input_errno(int fd, unsigned long req, int err)
{
	return hmm_unmet_cmd(fd, req) ? -EOPNOTSUPP : err;
}

/*
 * The first page of file fd, which holds the pattern, mapped shared
 * with prot: a SYNC probe of it fails with probe_err (unless that is 0,
 * then none is tried), a NO_COPY migration with HMM_NC_FILE_KERNEL_PAGES
 * with err, and the page keeps the pattern. Closes fd.
 */
static inline void expect_file_page_kept(struct __test_metadata *_metadata,
					 int dev, size_t ps, int fd, int prot,
					 int probe_err, int err)
{
	struct hmm_nc_file_page rec;
	char *map;

	map = mmap(NULL, ps, prot, MAP_SHARED, fd, 0);
	ASSERT_NE(MAP_FAILED, map);
	if (probe_err)
		EXPECT_EQ(probe_err, hmm_migrate_file(dev, map, 1,
						      HMM_NC_MODE_SYNC,
						      HMM_NC_MIGRATE_PROBE,
						      &rec, NULL));
	EXPECT_EQ(err, hmm_migrate_file(dev, map, 1, HMM_NC_MODE_SYNC_NO_COPY,
					HMM_NC_FILE_KERNEL_PAGES, &rec, NULL));
	EXPECT_EQ(-1, hmm_verify(map, ps, SEED));
	munmap(map, ps);
	close(fd);
}

#endif /* _BADINPUT_COMMON_H */

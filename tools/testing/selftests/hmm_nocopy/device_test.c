// SPDX-License-Identifier: GPL-2.0
/*
 * device.*: the test device's char devices: open, close, counters and
 * ioctl basics.
 */
#include <errno.h>
#include <fcntl.h>
#include <glob.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

#include "hmm_harness.h"
#include "libhmm.h"

/* The 6.1 device ABI has two device-private devices; ours keeps that. */
#define MIN_DEVICES	2

FIXTURE(device) {
	int fd;
	unsigned int ndevices;
};

static unsigned int count_devices(void)
{
	glob_t g;
	unsigned int n;

	if (glob("/dev/hmm_dmirror*", 0, NULL, &g))
		return 0;
	n = g.gl_pathc;
	globfree(&g);
	return n;
}

FIXTURE_SETUP(device)
{
	self->ndevices = count_devices();
	if (!self->ndevices)
		HMM_SETUP_SKIP("no /dev/hmm_dmirror* (is test_hmm loaded?)");
	self->fd = hmm_open(0);
	ASSERT_GE(self->fd, 0);
}

FIXTURE_TEARDOWN(device)
{
	if (self->fd >= 0)
		close(self->fd);
}

TEST_F(device, every_device_opens_and_closes)
{
	unsigned int unit;
	int fd;

	ASSERT_GE(self->ndevices, MIN_DEVICES);
	for (unit = 0; unit < self->ndevices; unit++) {
		fd = hmm_open(unit);
		ASSERT_GE(fd, 0) TH_LOG("open of unit %u: %s", unit,
					strerror(-fd));
		ASSERT_EQ(0, close(fd));
	}
}

TEST_F(device, missing_unit_is_enoent)
{
	EXPECT_EQ(-ENOENT, hmm_open(self->ndevices));
}

/*
 * HMM_NC_INFO names the module and what the running kernel offers; the
 * mode report is checked against uname (NO_COPY exists up to 6.10), the
 * version against sysfs, the command map against the table's ends.
 */
TEST_F(device, info_names_module_modes_and_commands)
{
	unsigned int release = hmm_kernel_release();
	struct hmm_nc_info info;
	char sysver[64] = "";
	FILE *f;

	ASSERT_EQ(0, hmm_info(self->fd, &info));
	EXPECT_EQ(HMM_NC_ABI_VERSION, info.abi_version);
	EXPECT_STREQ("test_hmm_nocopy", info.module);
	ASSERT_NE(0, release);
	EXPECT_EQ(release, info.kernel_version >> 8)
		TH_LOG("built for %u.%u", info.kernel_version >> 16,
		       (info.kernel_version >> 8) & 0xff);
	EXPECT_TRUE(info.modes & (1U << HMM_NC_MODE_SYNC));
	EXPECT_EQ(release < HMM_RELEASE(6, 11),
		  !!(info.modes & (1U << HMM_NC_MODE_SYNC_NO_COPY)));
	/* The refusals are NO_COPY's: they go with the mode. */
	EXPECT_EQ(release < HMM_RELEASE(6, 11),
		  !!(info.features & HMM_NC_FEAT_REFUSALS));
	EXPECT_TRUE(hmm_info_serves(&info, HMM_DMIRROR_READ));
	EXPECT_TRUE(hmm_info_serves(&info, HMM_NC_INFO));
	EXPECT_TRUE(hmm_info_serves(&info, HMM_NC_GET_COUNTERS));
	EXPECT_FALSE(hmm_info_serves(&info, _IO('H', 0x3f)));
	f = fopen("/sys/module/test_hmm/version", "r");
	ASSERT_NE(NULL, f);
	ASSERT_NE(NULL, fgets(sysver, sizeof(sysver), f));
	fclose(f);
	sysver[strcspn(sysver, "\n")] = 0;
	EXPECT_STREQ(info.version, sysver);
}

/*
 * What a release the suite knows must offer (libhmm's table,
 * hmm_release_needs()), seen in HMM_NC_INFO: on 6.1 the NO_COPY mode,
 * the refusing callbacks and their commands, EXCLUSIVE, the aio ring and
 * the migration core with hugetlb, whose entry points the module finds
 * at load; a lookup that failed there would otherwise only turn a dozen
 * tests into skips. THP is the kernel's, seen in sysfs. A release not
 * in the table has nothing to check.
 */
TEST_F(device, info_offers_what_this_release_must)
{
	unsigned int must = hmm_release_needs(), lost;
	struct hmm_nc_info info;

	ASSERT_EQ(0, hmm_info(self->fd, &info));
	lost = hmm_unmet_lost(self->fd, ~0U);
	EXPECT_EQ(0, lost) TH_LOG("must offer 0x%x, lacks 0x%x: %s", must,
				  lost, hmm_unmet(self->fd, lost));
	if (must & HMM_NEED_REFUSALS) {
		EXPECT_TRUE(hmm_info_serves(&info, HMM_NC_RF_HOLD));
		EXPECT_TRUE(hmm_info_serves(&info, HMM_NC_RF_MIGRATE));
	}
	if (must & HMM_NEED_CORE_MIGRATE) {
		EXPECT_TRUE(hmm_info_serves(&info, HMM_NC_CORE_MIGRATE));
		EXPECT_TRUE(info.features & HMM_NC_FEAT_CORE_MIGRATE);
		EXPECT_TRUE(info.features & HMM_NC_FEAT_CORE_HUGETLB);
		/* Whole-THP migration needs the kernel's THP. */
		EXPECT_EQ(0, access("/sys/kernel/mm/transparent_hugepage/enabled",
				    R_OK));
	}
}

TEST_F(device, info_rejects_flags_and_reserved)
{
	struct hmm_nc_info info;

	memset(&info, 0, sizeof(info));
	info.flags = 1;
	EXPECT_EQ(-1, ioctl(self->fd, HMM_NC_INFO, &info));
	EXPECT_EQ(EINVAL, errno);
	memset(&info, 0, sizeof(info));
	info.reserved[7] = 1;
	EXPECT_EQ(-1, ioctl(self->fd, HMM_NC_INFO, &info));
	EXPECT_EQ(EINVAL, errno);
}

TEST_F(device, counters_readable_per_device_and_global)
{
	struct hmm_nc_counters_cmd cmd;
	struct hmm_nc_counters c;

	memset(&cmd, 0, sizeof(cmd));
	ASSERT_EQ(0, ioctl(self->fd, HMM_NC_GET_COUNTERS, &cmd));
	EXPECT_EQ(HMM_NC_ABI_VERSION, cmd.abi_version);
	ASSERT_EQ(0, hmm_counters(self->fd, false, &c));
	ASSERT_EQ(0, hmm_counters(self->fd, true, &c));
	/* Nothing can be in flight while no command runs. */
	EXPECT_EQ(c.pages_locked, c.pages_unlocked);
	EXPECT_EQ(c.pages_taken, c.pages_returned);
}

TEST_F(device, counters_refuse_unknown_flags_and_reserved)
{
	struct hmm_nc_counters_cmd cmd;

	memset(&cmd, 0, sizeof(cmd));
	cmd.flags = ~HMM_NC_COUNTERS_FLAGS;
	EXPECT_EQ(-1, ioctl(self->fd, HMM_NC_GET_COUNTERS, &cmd));
	EXPECT_EQ(EINVAL, errno);

	memset(&cmd, 0, sizeof(cmd));
	cmd.reserved[1] = 1;
	EXPECT_EQ(-1, ioctl(self->fd, HMM_NC_GET_COUNTERS, &cmd));
	EXPECT_EQ(EINVAL, errno);
}

TEST_F(device, counters_refuse_bad_pointer)
{
	EXPECT_EQ(-1, ioctl(self->fd, HMM_NC_GET_COUNTERS, NULL));
	EXPECT_EQ(EFAULT, errno);
}

TEST_F(device, unknown_ioctl_is_enotty)
{
	unsigned long bad[] = {
		_IOWR('H', 0x3f, struct hmm_dmirror_cmd),
		_IOWR('H', 0xff, struct hmm_dmirror_cmd),
		_IOWR('h', 0x00, struct hmm_dmirror_cmd),
		_IO('H', HMM_NC_CMD_BASE),
	};
	unsigned int i;
	char buf[512] = { 0 };

	for (i = 0; i < ARRAY_SIZE(bad); i++) {
		errno = 0;
		EXPECT_EQ(-1, ioctl(self->fd, bad[i], buf))
			TH_LOG("ioctl 0x%lx", bad[i]);
		EXPECT_EQ(ENOTTY, errno) TH_LOG("ioctl 0x%lx", bad[i]);
	}
}

#define PAIR_PAGES	16

/* Every page of [p, p + PAIR_PAGES) is on this device, seen through fd. */
static void assert_on_device(struct __test_metadata *_metadata, int fd,
			     void *p, const char *who)
{
	__u8 prot[PAIR_PAGES];
	unsigned int i;

	ASSERT_EQ(0, hmm_snapshot(fd, p, PAIR_PAGES, prot)) TH_LOG("%s", who);
	for (i = 0; i < PAIR_PAGES; i++) {
		EXPECT_EQ(HMM_DMIRROR_PROT_DEV_PRIVATE_LOCAL, prot[i] & 0xf0)
			TH_LOG("%s: page %u: prot 0x%x", who, i, prot[i]);
	}
}

/* The device reads [p, p + PAIR_PAGES) through fd as seed's pattern. */
static void assert_device_reads(struct __test_metadata *_metadata, int fd,
				void *p, __u64 seed, const char *who)
{
	size_t size = PAIR_PAGES * hmm_page_size();
	struct hmm_dmirror_cmd cmd;
	char *buf = malloc(size);

	ASSERT_NE(NULL, buf);
	memset(buf, 0, size);
	ASSERT_EQ(0, hmm_cmd(fd, HMM_DMIRROR_READ, p, buf, PAIR_PAGES, &cmd))
		TH_LOG("%s", who);
	EXPECT_EQ(PAIR_PAGES, cmd.cpages) TH_LOG("%s", who);
	EXPECT_EQ(-1, hmm_verify(buf, size, seed)) TH_LOG("%s", who);
	free(buf);
}

/*
 * Two opens of one device are two mirrors with state of their own: each
 * moves its own range to the device and reads its own data back through
 * it; a fault armed on one (every device page it asks for fails) makes
 * its own migration fail and not the other's; closing one leaves the
 * other's pages on the device and its mirror working, and the pages the
 * closed one moved come back intact when the CPU touches them.
 */
TEST_F(device, second_open_works_alongside_first)
{
	size_t size = PAIR_PAGES * hmm_page_size();
	char *a = hmm_map_anon(size, PROT_READ | PROT_WRITE);
	char *b = hmm_map_anon(size, PROT_READ | PROT_WRITE);
	char *buf = malloc(size);
	struct hmm_dmirror_cmd cmd;
	struct hmm_nc_fault f;
	int fd2;

	ASSERT_NE(NULL, a);
	ASSERT_NE(NULL, b);
	ASSERT_NE(NULL, buf);
	hmm_fill(a, size, 0xa1);
	hmm_fill(b, size, 0xb2);
	fd2 = hmm_open(0);
	ASSERT_GE(fd2, 0);

	ASSERT_EQ(0, hmm_fault_set(fd2, HMM_NC_FAULT_DEVMEM, 0, 1000, NULL));
	ASSERT_EQ(0, hmm_cmd(self->fd, HMM_DMIRROR_MIGRATE_TO_DEV, a, buf,
			     PAIR_PAGES, &cmd));
	EXPECT_EQ(PAIR_PAGES, cmd.cpages);
	ASSERT_EQ(0, hmm_fault_get(fd2, HMM_NC_FAULT_DEVMEM, &f));
	EXPECT_EQ(1000, f.times);
	EXPECT_EQ(0, f.injected);
	EXPECT_EQ(-ENOENT, hmm_cmd(fd2, HMM_DMIRROR_MIGRATE_TO_DEV, b, buf,
				   PAIR_PAGES, &cmd));
	ASSERT_EQ(0, hmm_fault_set(fd2, HMM_NC_FAULT_DEVMEM, 0, 0, NULL));
	ASSERT_EQ(0, hmm_cmd(fd2, HMM_DMIRROR_MIGRATE_TO_DEV, b, buf,
			     PAIR_PAGES, &cmd));
	EXPECT_EQ(PAIR_PAGES, cmd.cpages);

	assert_on_device(_metadata, self->fd, a, "first open, its range");
	assert_on_device(_metadata, fd2, b, "second open, its range");
	assert_device_reads(_metadata, self->fd, a, 0xa1, "first open");
	assert_device_reads(_metadata, fd2, b, 0xb2, "second open");

	ASSERT_EQ(0, close(fd2));
	assert_on_device(_metadata, self->fd, a, "first open, after the close");
	assert_device_reads(_metadata, self->fd, a, 0xa1,
			    "first open, after the close");
	EXPECT_EQ(-1, hmm_verify(b, size, 0xb2));
	ASSERT_EQ(0, hmm_cmd(self->fd, HMM_DMIRROR_MIGRATE_TO_SYS, a, buf,
			     PAIR_PAGES, &cmd));
	EXPECT_EQ(PAIR_PAGES, cmd.cpages);
	EXPECT_EQ(-1, hmm_verify(a, size, 0xa1));
	free(buf);
	hmm_unmap(a, size);
	hmm_unmap(b, size);
}

/*
 * A file shared with a child stays usable in the child after the parent
 * closes its copy, and the last close is clean.
 */
TEST_F(device, close_while_child_still_uses_device)
{
	struct hmm_nc_counters c;
	int pipefd[2], status;
	pid_t pid;
	char go;

	ASSERT_EQ(0, pipe(pipefd));
	pid = fork();
	ASSERT_GE(pid, 0);
	if (pid == 0) {
		close(pipefd[1]);
		if (read(pipefd[0], &go, 1) != 1)
			_exit(2);
		_exit(hmm_counters(self->fd, true, &c) ? 1 : 0);
	}
	close(pipefd[0]);
	ASSERT_EQ(0, close(self->fd));
	self->fd = -1;
	ASSERT_EQ(1, write(pipefd[1], "g", 1));
	close(pipefd[1]);
	ASSERT_EQ(pid, waitpid(pid, &status, 0));
	ASSERT_TRUE(WIFEXITED(status));
	EXPECT_EQ(0, WEXITSTATUS(status));
}

/* Device pages of [p, p + npages) stay put until something moves them. */
static bool all_on_device(void *p, size_t npages)
{
	__u64 pm[16];
	size_t i;

	if (npages > ARRAY_SIZE(pm) || hmm_pagemap(p, npages, pm))
		return false;
	for (i = 0; i < npages; i++)
		if (!hmm_pm_swapped(pm[i]))
			return false;
	return true;
}

/*
 * A file closed with its pages still on the device: they stay there, a
 * CPU access still brings them back intact (the fault path needs only
 * the device, not the closed file), and every device page is freed.
 */
TEST_F(device, close_with_pages_on_device_is_clean)
{
	size_t npages = 8, size = npages * hmm_page_size();
	char *p = hmm_map_anon(size, PROT_READ | PROT_WRITE);
	char *mirror = malloc(size);
	struct hmm_nc_counters before, now, d;
	struct hmm_dmirror_cmd cmd;
	int fd;

	ASSERT_NE(NULL, p);
	ASSERT_NE(NULL, mirror);
	ASSERT_EQ(0, hmm_counters(self->fd, true, &before));
	hmm_fill(p, size, 1);
	fd = hmm_open(0);
	ASSERT_GE(fd, 0);
	ASSERT_EQ(0, hmm_cmd(fd, HMM_DMIRROR_MIGRATE_TO_DEV, p, mirror, npages,
			     &cmd));
	ASSERT_EQ(npages, cmd.cpages);
	ASSERT_EQ(0, close(fd));

	ASSERT_TRUE(all_on_device(p, npages));
	ASSERT_EQ(-1, hmm_verify(p, size, 1));
	ASSERT_EQ(0, hmm_unmap(p, size));
	ASSERT_EQ(0, hmm_counters(self->fd, true, &now));
	hmm_counters_delta(&before, &now, &d);
	EXPECT_EQ(npages, d.devmem_alloc);
	EXPECT_EQ(npages, d.devmem_free);
	EXPECT_EQ(npages, d.cpu_faults);
	EXPECT_EQ(d.pages_locked, d.pages_unlocked);
	EXPECT_EQ(d.pages_taken, d.pages_returned);
	free(mirror);
}

/*
 * A process that exits with its device open and pages on the device
 * leaves nothing behind: exit frees the pages, then closes the file.
 */
TEST_F(device, exit_with_pages_on_device_is_clean)
{
	struct hmm_nc_counters before, now, d;
	int status;
	pid_t pid;

	ASSERT_EQ(0, hmm_counters(self->fd, true, &before));
	pid = fork();
	ASSERT_GE(pid, 0);
	if (pid == 0) {
		size_t npages = 8, size = npages * hmm_page_size();
		char *p = hmm_map_anon(size, PROT_READ | PROT_WRITE);
		char *mirror = malloc(size);
		int fd = hmm_open(1);

		if (!p || !mirror || fd < 0)
			_exit(1);
		hmm_fill(p, size, 2);
		if (hmm_cmd(fd, HMM_DMIRROR_MIGRATE_TO_DEV, p, mirror, npages,
			    NULL))
			_exit(2);
		_exit(all_on_device(p, npages) ? 0 : 3);
	}
	ASSERT_EQ(pid, waitpid(pid, &status, 0));
	ASSERT_TRUE(WIFEXITED(status));
	ASSERT_EQ(0, WEXITSTATUS(status));

	ASSERT_EQ(0, hmm_counters(self->fd, true, &now));
	hmm_counters_delta(&before, &now, &d);
	EXPECT_EQ(8, d.devmem_alloc);
	EXPECT_EQ(8, d.devmem_free);
	EXPECT_EQ(0, d.cpu_faults);
}

/* Whether /proc/iomem lists a chunk of device memory of ours. */
static int iomem_has_device_memory(void)
{
	char line[256];
	int found = 0;
	FILE *f;

	f = fopen("/proc/iomem", "r");
	if (!f)
		return -errno;
	while (!found && fgets(line, sizeof(line), f))
		found = !!strstr(line, ": hmm_dmirror");
	fclose(f);
	return found;
}

/*
 * Device memory is created on demand and given back once unused: after
 * a migration there and back, the chunk leaves /proc/iomem (the return
 * runs from a work item, so give it a moment).
 */
TEST_F(device, idle_device_returns_its_memory)
{
	size_t npages = 4, size = npages * hmm_page_size();
	char *p = hmm_map_anon(size, PROT_READ | PROT_WRITE);
	char mirror[4 * 4096];
	int i, found;

	ASSERT_NE(NULL, p);
	ASSERT_LE(size, sizeof(mirror));
	hmm_fill(p, size, 3);
	ASSERT_EQ(0, hmm_cmd(self->fd, HMM_DMIRROR_MIGRATE_TO_DEV, p, mirror,
			     npages, NULL));
	ASSERT_EQ(1, iomem_has_device_memory());
	ASSERT_EQ(0, hmm_cmd(self->fd, HMM_DMIRROR_MIGRATE_TO_SYS, p, NULL,
			     npages, NULL));
	for (i = 0; i < 100; i++) {
		found = iomem_has_device_memory();
		if (found <= 0)
			break;
		usleep(50 * 1000);
	}
	EXPECT_EQ(0, found) TH_LOG("device memory still mapped after 5 s");
	ASSERT_EQ(-1, hmm_verify(p, size, 3));
}

HMM_TEST_MAIN

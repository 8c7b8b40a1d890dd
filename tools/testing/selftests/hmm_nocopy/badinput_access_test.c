// SPDX-License-Identifier: GPL-2.0
/*
 * badinput.*: who may do what with the device (lib/test_hmm_uapi.h,
 * "Who may do what"): a child of the opener, a file opened read-only,
 * a caller without CAP_SYS_ADMIN, and memory the caller does not own
 * alone (memfd_secret(), pages shared after fork or by KSM, read-only
 * or sealed files). See badinput_common.h.
 */
#define _GNU_SOURCE	/* memfd_create(), F_ADD_SEALS */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "badinput_common.h"
#include "ksm_common.h"

/*
 * A child that inherited the file may read counters, but commands on
 * the mirrored address space name its parent's addresses: EACCES.
 */
TEST_F(badinput, child_using_parents_file_gets_eacces)
{
	struct hmm_nc_counters c;
	unsigned int i;
	int status;
	pid_t pid;

	pid = fork();
	ASSERT_GE(pid, 0);
	if (pid == 0) {
		struct hmm_dmirror_cmd cmd = {
			.addr = (uintptr_t)self->buf,
			.ptr = (uintptr_t)self->mirror,
			.npages = 1,
		};
		int bad = 0;

		for (i = 0; i < ARRAY_SIZE(ioctls); i++)
			if (ioctls[i].mirror &&
			    raw_ioctl(self->fd, ioctls[i].req, &cmd) !=
			    bad_input_errno(self->fd, ioctls[i].req, -EACCES))
				bad++;
		if (hmm_counters(self->fd, true, &c))
			bad++;
		_exit(bad);
	}
	ASSERT_EQ(pid, waitpid(pid, &status, 0));
	ASSERT_TRUE(WIFEXITED(status));
	EXPECT_EQ(0, WEXITSTATUS(status))
		TH_LOG("%d commands did not refuse the child", WEXITSTATUS(status));
}

/*
 * The probe puts its sentinel in the file's pages, which every reader of
 * the file sees: a file the caller may only read refuses it (EACCES), and
 * keeps its data.
 */
TEST_F(badinput, file_probe_needs_the_file_open_for_writing)
{
	char path[] = "/tmp/hmm-badinput-XXXXXX";
	struct hmm_nc_file_cmd cmd;
	char *map;
	int fd;

	fd = mkstemp(path);
	ASSERT_GE(fd, 0);
	ASSERT_EQ((ssize_t)self->ps, write(fd, self->buf, self->ps));
	close(fd);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	ASSERT_GE(fd, 0);
	map = mmap(NULL, self->ps, PROT_READ, MAP_SHARED, fd, 0);
	ASSERT_NE(MAP_FAILED, map);
	ASSERT_EQ(-1, hmm_verify(map, self->ps, SEED));

	memset(&cmd, 0, sizeof(cmd));
	cmd.addr = (uintptr_t)map;
	cmd.npages = 1;
	cmd.flags = HMM_NC_MIGRATE_PROBE;
	cmd.mode = HMM_NC_MODE_SYNC;
	EXPECT_EQ(-EACCES, raw_ioctl(self->fd, HMM_NC_MIGRATE_FILE, &cmd));
	EXPECT_EQ(-1, hmm_verify(map, self->ps, SEED));

	munmap(map, self->ps);
	close(fd);
	unlink(path);
}

/* A root process without CAP_SYS_ADMIN cannot open the device. */
TEST_F(badinput, open_without_cap_sys_admin_is_eperm)
{
	pid_t pid = child_start(_metadata);
	int status;

	if (pid == 0) {
		if (hmm_drop_sys_admin())
			_exit(100);
		_exit(hmm_open(0) == -EPERM ? 0 : 1);
	}
	status = child_status(_metadata, pid, "capset failed");
	EXPECT_EQ(0, status)
		TH_LOG("the device opened without CAP_SYS_ADMIN");
}

/*
 * An fd opened before CAP_SYS_ADMIN was dropped: device-wide commands
 * answer EPERM, and a file migration shows no page frame numbers.
 */
TEST_F(badinput, device_wide_commands_and_pfns_need_cap_sys_admin)
{
	char path[] = "/tmp/hmm-badinput-XXXXXX";
	int status, bad = 0;
	pid_t pid;

	pid = child_start(_metadata);
	if (pid == 0) {
		struct hmm_nc_file_page rec = { 0 };
		char arg[512] = { 0 };
		unsigned int i;
		char *map;
		int dev = hmm_open(0), fd;

		if (dev < 0 || hmm_drop_sys_admin())
			_exit(100);
		for (i = 0; i < ARRAY_SIZE(admins); i++)
			if (raw_ioctl(dev, admins[i], arg) !=
			    bad_input_errno(dev, admins[i], -EPERM))
				bad |= 1;
		fd = mkstemp(path);
		if (fd < 0 || write(fd, self->buf, self->ps) != (ssize_t)self->ps)
			_exit(100);
		map = mmap(NULL, self->ps, PROT_READ, MAP_SHARED, fd, 0);
		if (map == MAP_FAILED)
			_exit(100);
		if (hmm_migrate_file(dev, map, 1, HMM_NC_MODE_SYNC, 0, &rec,
				     NULL))
			bad |= 2;
		else if (rec.old_pfn || rec.new_pfn)
			bad |= 4;
		unlink(path);
		_exit(bad);
	}
	status = child_status(_metadata, pid, "child set-up failed");
	EXPECT_EQ(0, status & 1)
		TH_LOG("a device-wide command ran without CAP_SYS_ADMIN");
	EXPECT_EQ(0, status & 2) TH_LOG("the migration failed");
	EXPECT_EQ(0, status & 4)
		TH_LOG("page frame numbers shown without CAP_SYS_ADMIN");
}

/* A read-only fd may look, never change: EBADF before anything runs. */
TEST_F(badinput, read_only_fd_changes_nothing)
{
	struct hmm_dmirror_cmd cmd = {
		.addr = (uintptr_t)self->buf,
		.ptr = (uintptr_t)self->mirror,
		.npages = 1,
	};
	char arg[512];
	unsigned int i;
	int ro;

	ro = open("/dev/hmm_dmirror0", O_RDONLY | O_CLOEXEC);
	ASSERT_GE(ro, 0);
	for (i = 0; i < ARRAY_SIZE(writers); i++) {
		memset(arg, 0, sizeof(arg));
		memcpy(arg, &cmd, sizeof(cmd));
		EXPECT_EQ(bad_input_errno(ro, writers[i], -EBADF),
			  raw_ioctl(ro, writers[i], arg))
			TH_LOG("command 0x%lx on a read-only fd", writers[i]);
	}
	/* Looking still works. */
	EXPECT_EQ(0, raw_ioctl(ro, HMM_DMIRROR_READ, &cmd));
	EXPECT_EQ(-1, hmm_verify(self->mirror, self->ps, SEED));
	close(ro);
}

#ifndef __NR_memfd_secret
#define __NR_memfd_secret 447
#endif

/*
 * memfd_secret() pages are outside the kernel's direct map: every
 * command that names them answers EINVAL, none touches them (an oops).
 */
TEST_F(badinput, secretmem_range_is_einval)
{
	struct hmm_dmirror_cmd cmd = { .npages = 1 };
	static const unsigned long reqs[] = {
		HMM_DMIRROR_READ, HMM_DMIRROR_WRITE,
		HMM_DMIRROR_MIGRATE_TO_DEV,
	};
	struct hmm_nc_file_page rec;
	unsigned int i;
	char *p;
	int fd;

	fd = syscall(__NR_memfd_secret, 0);
	if (fd < 0)
		SKIP(return, "no memfd_secret(): %s", strerror(errno));
	ASSERT_EQ(0, ftruncate(fd, self->ps));
	p = mmap(NULL, self->ps, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	ASSERT_NE(MAP_FAILED, p);
	hmm_fill(p, self->ps, SEED + 1);
	cmd.addr = (uintptr_t)p;
	cmd.ptr = (uintptr_t)self->mirror;
	for (i = 0; i < ARRAY_SIZE(reqs); i++) {
		EXPECT_EQ(-EINVAL, raw_ioctl(self->fd, reqs[i], &cmd))
			TH_LOG("command 0x%lx on secret memory", reqs[i]);
	}
	EXPECT_EQ(-EINVAL, hmm_migrate_anon(self->fd, p, 1,
					    HMM_NC_MODE_SYNC, 0, NULL, NULL));
	EXPECT_EQ(-EINVAL, hmm_migrate_file(self->fd, p, 1, HMM_NC_MODE_SYNC,
					    HMM_NC_MIGRATE_PROBE, &rec, NULL));
	EXPECT_EQ(-EINVAL, hmm_migrate_file(self->fd, p, 1,
					    HMM_NC_MODE_SYNC_NO_COPY,
					    HMM_NC_FILE_KERNEL_PAGES, &rec,
					    NULL));
	EXPECT_EQ(-1, hmm_verify(p, self->ps, SEED + 1));
	munmap(p, self->ps);
	close(fd);
}

/*
 * A child probes the buffer it inherited: the pages are its parent's
 * too, so the probe leaves them (HMM_NC_PS_SHARED) and the parent's data
 * stays (checked by the teardown).
 */
TEST_F(badinput, probe_of_page_shared_after_fork_is_refused)
{
	int status;
	pid_t pid;

	HMM_REQUIRE(self->fd, HMM_NEED_NOCOPY);
	pid = child_start(_metadata);
	if (pid == 0) {
		__u8 st[BUF_PAGES];
		int dev = hmm_open(0), bad = 0;
		unsigned int i;

		if (dev < 0)
			_exit(100);
		memset(st, 0, sizeof(st));
		if (hmm_migrate_anon(dev, self->buf, BUF_PAGES,
				     HMM_NC_MODE_SYNC_NO_COPY,
				     HMM_NC_MIGRATE_PROBE, st, NULL))
			bad |= 1;
		for (i = 0; i < BUF_PAGES; i++)
			if (st[i] != HMM_NC_PS_SHARED)
				bad |= 2;
		_exit(bad);
	}
	status = child_status(_metadata, pid, "the child cannot open");
	EXPECT_EQ(0, status & 1) TH_LOG("the probe failed");
	EXPECT_EQ(0, status & 2)
		TH_LOG("a shared page was not reported shared");
	EXPECT_EQ(-1, hmm_verify(self->buf, BUF_PAGES * self->ps, SEED))
		TH_LOG("the child's probe wrote into the parent's pages");
}

/* A memfd sealed against writes keeps its data, even opened O_RDWR. */
TEST_F(badinput, file_probe_refuses_write_sealed_memfd)
{
	int fd;

	fd = memfd_create("hmm-sealed", MFD_ALLOW_SEALING | MFD_CLOEXEC);
	ASSERT_GE(fd, 0);
	ASSERT_EQ((ssize_t)self->ps, write(fd, self->buf, self->ps));
	ASSERT_EQ(0, fcntl(fd, F_ADD_SEALS, F_SEAL_WRITE));
	expect_file_page_kept(_metadata, self->fd, self->ps, fd, PROT_READ,
			      -EACCES, -EACCES);
}

#define SWAP_VMAS	64

struct swapper {
	char *at;		/* the range the prober names */
	size_t ps;
	int rw, ro;		/* a writable and a read-only file */
	bool stop;		/* __atomic: the swapper polls it */
};

/* Maps the read-only file and the writable one over the first page. */
static void *swap_files(void *arg)
{
	struct swapper *s = arg;

	while (!__atomic_load_n(&s->stop, __ATOMIC_RELAXED)) {
		/* Mapped, so that a probe would collect the page. */
		mmap(s->at, s->ps, PROT_READ,
		     MAP_SHARED | MAP_FIXED | MAP_POPULATE, s->ro, 0);
		mmap(s->at, s->ps, PROT_READ,
		     MAP_SHARED | MAP_FIXED | MAP_POPULATE, s->rw, 0);
	}
	return NULL;
}

/* A file of total bytes that starts with size bytes of buf, or -1. */
static int tmp_file(const char *buf, size_t size, size_t total, int flags)
{
	char path[] = "/tmp/hmm-badinput-XXXXXX";
	int fd = mkstemp(path), ret;

	if (fd < 0)
		return -1;
	if (write(fd, buf, size) != (ssize_t)size || ftruncate(fd, total)) {
		close(fd);
		return -1;
	}
	ret = open(path, flags | O_CLOEXEC);
	unlink(path);
	close(fd);
	return ret;
}

/*
 * Another thread maps a read-only file over the first page of the range
 * while probes run on it (MAP_FIXED): the check of the file and the
 * migration must see the same mapping, so the read-only file never gets
 * the sentinel. The range is SWAP_VMAS mappings of the writable file
 * (alternate protections keep them apart), so that checking it takes a
 * while, and a remap that waits for the check lands right after it.
 */
TEST_F_TIMEOUT(badinput, file_probe_races_map_fixed_of_read_only_file, 30)
{
	struct swapper s = { .ps = self->ps };
	struct timespec t0, t;
	pthread_t thread;
	char *check;
	int n = 0, i;

	HMM_REQUIRE(self->fd, HMM_NEED_NOCOPY);
	s.rw = tmp_file(self->buf, self->ps, SWAP_VMAS * self->ps, O_RDWR);
	s.ro = tmp_file(self->buf, self->ps, self->ps, O_RDONLY);
	ASSERT_GE(s.rw, 0);
	ASSERT_GE(s.ro, 0);
	s.at = mmap(NULL, SWAP_VMAS * self->ps, PROT_READ, MAP_SHARED, s.rw,
		    0);
	ASSERT_NE(MAP_FAILED, s.at);
	for (i = 1; i < SWAP_VMAS; i += 2)
		ASSERT_EQ(0, mprotect(s.at + i * self->ps, self->ps,
				      PROT_READ | PROT_WRITE));
	ASSERT_EQ(0, pthread_create(&thread, NULL, swap_files, &s));
	clock_gettime(CLOCK_MONOTONIC, &t0);
	do {
		hmm_migrate_file(self->fd, s.at, SWAP_VMAS,
				 HMM_NC_MODE_SYNC_NO_COPY,
				 HMM_NC_MIGRATE_PROBE, NULL, NULL);
		n++;
		clock_gettime(CLOCK_MONOTONIC, &t);
	} while (t.tv_sec - t0.tv_sec < 5);
	__atomic_store_n(&s.stop, true, __ATOMIC_RELAXED);
	pthread_join(thread, NULL);
	check = mmap(NULL, self->ps, PROT_READ, MAP_SHARED, s.ro, 0);
	ASSERT_NE(MAP_FAILED, check);
	EXPECT_EQ(-1, hmm_verify(check, self->ps, SEED))
		TH_LOG("the read-only file got the sentinel (%d probes)", n);
	munmap(check, self->ps);
	munmap(s.at, SWAP_VMAS * self->ps);
	close(s.rw);
	close(s.ro);
}

/*
 * Pages KSM merged are shared by every mapping of their content: a
 * probe leaves them (HMM_NC_PS_SHARED, or HMM_NC_PS_SKIPPED where the
 * kernel's migrate_vma_setup() does not collect them), MIGRATE_TO_DEV
 * does not move
 * them to device memory (KSM's stable tree would point at a
 * device-private page), and their data stays.
 */
TEST_F_TIMEOUT(badinput, ksm_merged_pages_stay_out_of_device_and_probes, 90)
{
	size_t n = 4, size = n * self->ps;
	struct hmm_dmirror_cmd cmd;
	__u8 st[4];
	unsigned int i;
	char *p;

	HMM_REQUIRE(self->fd, HMM_NEED_NOCOPY);
	if (!ksm_available())
		SKIP(return, "no KSM");
	p = hmm_map_anon(size, PROT_READ | PROT_WRITE);
	ASSERT_NE(NULL, p);
	memset(p, 0x5a, size);
	ASSERT_EQ(0, madvise(p, size, MADV_MERGEABLE));
	if (ksm_merge("10", n - 1)) {
		ksm_stop();
		SKIP(return, "ksmd merged nothing in 30 s");
	}
	/*
	 * ksmd stops, the pages stay merged: a scan between the two
	 * commands is the race of ksm.*, whose kernel BUG would end the
	 * guest here.
	 */
	ASSERT_EQ(0, hmm_write_str(KSM_SYS "run", "0"));
	memset(&cmd, 0, sizeof(cmd));
	cmd.addr = (uintptr_t)p;
	cmd.ptr = (uintptr_t)self->mirror;
	cmd.npages = n;
	EXPECT_EQ(-ENOENT, raw_ioctl(self->fd, HMM_DMIRROR_MIGRATE_TO_DEV,
				     &cmd))
		TH_LOG("KSM pages went to device memory");
	memset(st, 0, sizeof(st));
	EXPECT_EQ(0, hmm_migrate_anon(self->fd, p, n,
				      HMM_NC_MODE_SYNC_NO_COPY,
				      HMM_NC_MIGRATE_PROBE, st, NULL));
	/* Left alone: by the device, or not even collected by the kernel. */
	for (i = 0; i < ARRAY_SIZE(st); i++) {
		__u8 status = st[i];

		EXPECT_TRUE(status == HMM_NC_PS_SHARED ||
			    status == HMM_NC_PS_SKIPPED)
			TH_LOG("page %u: %s", i, hmm_status_str(status));
	}
	for (i = 0; i < size; i++)
		if (p[i] != 0x5a)
			break;
	EXPECT_EQ(size, i) TH_LOG("merged data changed at byte %u", i);
	ksm_stop();
	hmm_unmap(p, size);
}

HMM_TEST_MAIN

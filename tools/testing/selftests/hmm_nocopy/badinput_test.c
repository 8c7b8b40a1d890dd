// SPDX-License-Identifier: GPL-2.0
/*
 * badinput.*: every ioctl of the device against wrong input. Each case
 * expects the errno that lib/test_hmm_uapi.h documents, and afterwards
 * the process's memory is unchanged and the counters balance.
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
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <linux/mman.h>		/* MAP_HUGE_2MB */

#include "hmm_harness.h"
#include "libhmm.h"

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

static int raw_ioctl(int fd, unsigned long req, void *arg)
{
	return ioctl(fd, req, arg) ? -errno : 0;
}

/*
 * What a command answers to bad input: err, or EOPNOTSUPP, whatever
 * the input, for one this kernel cannot serve (HMM_NC_INFO says which).
 */
static int bad_input_errno(int fd, unsigned long req, int err)
{
	return hmm_unmet_cmd(fd, req) ? -EOPNOTSUPP : err;
}

TEST_F(badinput, null_command_pointer_is_efault)
{
	const struct ioctl_desc *d;

	for (d = ioctls; d < ioctls + ARRAY_SIZE(ioctls); d++) {
		EXPECT_EQ(bad_input_errno(self->fd, d->req, -EFAULT),
			  raw_ioctl(self->fd, d->req, NULL))
			TH_LOG("%s", d->name);
	}
}

TEST_F(badinput, unmapped_command_pointer_is_efault)
{
	void *gone = hmm_map_anon(self->ps, PROT_READ | PROT_WRITE);
	const struct ioctl_desc *d;

	ASSERT_NE(NULL, gone);
	ASSERT_EQ(0, hmm_unmap(gone, self->ps));
	for (d = ioctls; d < ioctls + ARRAY_SIZE(ioctls); d++) {
		EXPECT_EQ(bad_input_errno(self->fd, d->req, -EFAULT),
			  raw_ioctl(self->fd, d->req, gone))
			TH_LOG("%s", d->name);
	}
}

/*
 * A valid command in read-only memory: the device may do the work, but
 * cannot write the result back, and says so.
 */
TEST_F(badinput, read_only_command_is_efault)
{
	struct hmm_dmirror_cmd *cmd;
	static const unsigned long reqs[] = {
		HMM_DMIRROR_READ, HMM_DMIRROR_SNAPSHOT, HMM_NC_GET_COUNTERS,
		HMM_NC_ENGINE_GET, HMM_NC_RF_STATE, HMM_NC_FAULT_GET, HMM_NC_INFO,
	};
	unsigned int i;

	for (i = 0; i < ARRAY_SIZE(reqs); i++) {
		cmd = hmm_map_anon(self->ps, PROT_READ | PROT_WRITE);
		ASSERT_NE(NULL, cmd);
		if (_IOC_NR(reqs[i]) < HMM_NC_CMD_BASE) {	/* base */
			cmd->addr = (uintptr_t)self->buf;
			cmd->ptr = (uintptr_t)self->mirror;
			cmd->npages = BUF_PAGES;
		}
		ASSERT_EQ(0, mprotect(cmd, self->ps, PROT_READ));
		EXPECT_EQ(-EFAULT, raw_ioctl(self->fd, reqs[i], cmd))
			TH_LOG("ioctl 0x%lx", reqs[i]);
		hmm_unmap(cmd, self->ps);
	}
}

/* Ranges no command takes: EINVAL from every command with a range. */
TEST_F(badinput, bad_ranges_are_einval)
{
	/* addr 0 stands for the fixture's buffer, plus addr_off */
	const struct {
		const char *what;
		__u64 addr, addr_off, npages;
	} ranges[] = {
		{ "unaligned address", 0, 1, 1 },
		{ "no pages", 0, 0, 0 },
		{ "range wraps past the top", ~0ULL << 12, 0, 2 },
		{ "above the cap", 0, 0, HMM_NC_MIGRATE_MAX_PAGES + 1ULL },
	};
	struct hmm_nc_migrate_cmd anon;
	struct hmm_nc_file_cmd file;
	struct hmm_dmirror_cmd cmd;
	unsigned int i, r;

	for (r = 0; r < ARRAY_SIZE(ranges); r++) {
		__u64 addr = ranges[r].addr ?: (uintptr_t)self->buf;

		addr += ranges[r].addr_off;

		for (i = 0; i < ARRAY_SIZE(ioctls); i++) {
			if (!ioctls[i].base)
				continue;
			memset(&cmd, 0, sizeof(cmd));
			cmd.addr = addr;
			cmd.ptr = (uintptr_t)self->mirror;
			cmd.npages = ranges[r].npages;
			EXPECT_EQ(bad_input_errno(self->fd, ioctls[i].req,
						  -EINVAL),
				  raw_ioctl(self->fd, ioctls[i].req, &cmd))
				TH_LOG("%s: %s", ioctls[i].name, ranges[r].what);
		}
		memset(&anon, 0, sizeof(anon));
		anon.addr = addr;
		anon.npages = ranges[r].npages;
		anon.mode = HMM_NC_MODE_SYNC;
		EXPECT_EQ(-EINVAL, raw_ioctl(self->fd, HMM_NC_MIGRATE_ANON, &anon))
			TH_LOG("MIGRATE_ANON: %s", ranges[r].what);
		memset(&file, 0, sizeof(file));
		file.addr = addr;
		file.npages = ranges[r].npages;
		file.mode = HMM_NC_MODE_SYNC;
		EXPECT_EQ(-EINVAL, raw_ioctl(self->fd, HMM_NC_MIGRATE_FILE, &file))
			TH_LOG("MIGRATE_FILE: %s", ranges[r].what);
	}
}

TEST_F(badinput, unknown_flags_and_reserved_fields_are_einval)
{
	struct hmm_nc_counters_cmd counters;
	struct hmm_nc_migrate_cmd anon;
	struct hmm_nc_file_cmd file;
	struct hmm_nc_engine engine;
	struct hmm_nc_rf_hold hold;
	struct hmm_nc_fault fault;

	memset(&counters, 0, sizeof(counters));
	counters.flags = ~HMM_NC_COUNTERS_FLAGS;
	EXPECT_EQ(-EINVAL, raw_ioctl(self->fd, HMM_NC_GET_COUNTERS, &counters));

	memset(&anon, 0, sizeof(anon));
	anon.addr = (uintptr_t)self->buf;
	anon.npages = 1;
	anon.flags = ~HMM_NC_MIGRATE_FLAGS;
	EXPECT_EQ(-EINVAL, raw_ioctl(self->fd, HMM_NC_MIGRATE_ANON, &anon));
	anon.flags = 0;
	anon.reserved[3] = 1;
	EXPECT_EQ(-EINVAL, raw_ioctl(self->fd, HMM_NC_MIGRATE_ANON, &anon));
	anon.reserved[3] = 0;
	anon.mode = HMM_NC_MODE_COUNT;
	EXPECT_EQ(-EINVAL, raw_ioctl(self->fd, HMM_NC_MIGRATE_ANON, &anon));

	memset(&file, 0, sizeof(file));
	file.addr = (uintptr_t)self->buf;
	file.npages = 1;
	file.flags = ~HMM_NC_FILE_FLAGS;
	EXPECT_EQ(-EINVAL, raw_ioctl(self->fd, HMM_NC_MIGRATE_FILE, &file));
	file.flags = 0;
	file.reserved[0] = 1;
	EXPECT_EQ(-EINVAL, raw_ioctl(self->fd, HMM_NC_MIGRATE_FILE, &file));

	memset(&engine, 0, sizeof(engine));
	engine.flags = ~HMM_NC_ENGINE_FLAGS;
	EXPECT_EQ(-EINVAL, raw_ioctl(self->fd, HMM_NC_ENGINE_SET, &engine));
	memset(&engine, 0, sizeof(engine));
	engine.reserved0 = 1;
	EXPECT_EQ(-EINVAL, raw_ioctl(self->fd, HMM_NC_ENGINE_SET, &engine));

	memset(&hold, 0, sizeof(hold));
	hold.kind = HMM_NC_CB_BALLOON;
	hold.flags = 1;
	EXPECT_EQ(-EINVAL, raw_ioctl(self->fd, HMM_NC_RF_HOLD, &hold));
	hold.flags = 0;
	hold.reserved[2] = 1;
	EXPECT_EQ(-EINVAL, raw_ioctl(self->fd, HMM_NC_RF_HOLD, &hold));

	memset(&fault, 0, sizeof(fault));
	fault.flags = 1;
	EXPECT_EQ(-EINVAL, raw_ioctl(self->fd, HMM_NC_FAULT_SET, &fault));
	fault.flags = 0;
	fault.reserved[1] = 1;
	EXPECT_EQ(-EINVAL, raw_ioctl(self->fd, HMM_NC_FAULT_SET, &fault));
	fault.reserved[1] = 0;
	fault.point = HMM_NC_FAULT_COUNT;
	EXPECT_EQ(-EINVAL, raw_ioctl(self->fd, HMM_NC_FAULT_SET, &fault));
	fault.point = HMM_NC_FAULT_DMA;
	fault.times = 1;
	EXPECT_EQ(-EINVAL, raw_ioctl(self->fd, HMM_NC_FAULT_GET, &fault));
	/* Nothing was armed by any of these. */
	EXPECT_EQ(0, hmm_fault_get(self->fd, HMM_NC_FAULT_DMA, &fault));
	EXPECT_EQ(0, fault.times);
}

/* Start of the first mapping named name in /proc/self/maps, or NULL. */
static void *find_mapping(const char *name, size_t *len)
{
	unsigned long start, end;
	char line[256];
	void *found = NULL;
	FILE *f = fopen("/proc/self/maps", "re");

	if (!f)
		return NULL;
	while (!found && fgets(line, sizeof(line), f)) {
		if (strstr(line, name) &&
		    sscanf(line, "%lx-%lx", &start, &end) == 2) {
			found = (void *)start;
			*len = end - start;
		}
	}
	fclose(f);
	return found;
}

/* The three migration commands on one range: each must refuse it. */
static void expect_migrations_refused(struct __test_metadata *_metadata,
				      int fd, void *addr, __u64 npages,
				      char *mirror, const char *what)
{
	struct hmm_nc_migrate_cmd anon = {
		.addr = (uintptr_t)addr, .npages = npages,
		.mode = HMM_NC_MODE_SYNC,
	};

	EXPECT_EQ(-EINVAL, hmm_cmd(fd, HMM_DMIRROR_MIGRATE_TO_DEV, addr, mirror,
				   npages, NULL)) TH_LOG("TO_DEV: %s", what);
	EXPECT_EQ(-EINVAL, hmm_cmd(fd, HMM_DMIRROR_MIGRATE_TO_SYS, addr, mirror,
				   npages, NULL)) TH_LOG("TO_SYS: %s", what);
	EXPECT_EQ(-EINVAL, raw_ioctl(fd, HMM_NC_MIGRATE_ANON, &anon))
		TH_LOG("MIGRATE_ANON: %s", what);
}

/*
 * A hole, PROT_NONE and a VM_PFNMAP/VM_IO mapping (the vDSO's data
 * pages) in the range: the whole command is refused before anything
 * moves, so the pattern and the counters are as they were.
 */
TEST_F(badinput, migration_over_hole_prot_none_or_pfnmap_is_einval)
{
	struct hmm_nc_counters now;
	char *hole = self->buf + 2 * self->ps;
	char *three;
	void *vvar;
	size_t len;

	three = hmm_map_anon(3 * self->ps, PROT_READ | PROT_WRITE);
	ASSERT_NE(NULL, three);
	hmm_fill(three, 3 * self->ps, SEED);
	ASSERT_EQ(0, hmm_unmap(three + self->ps, self->ps));
	expect_migrations_refused(_metadata, self->fd, three, 3, self->mirror,
				  "unmapped page inside");
	EXPECT_EQ(-1, hmm_verify(three, self->ps, SEED));
	hmm_unmap(three, 3 * self->ps);

	ASSERT_EQ(0, mprotect(hole, self->ps, PROT_NONE));
	expect_migrations_refused(_metadata, self->fd, self->buf, BUF_PAGES,
				  self->mirror, "PROT_NONE page inside");
	ASSERT_EQ(0, mprotect(hole, self->ps, PROT_READ | PROT_WRITE));

	vvar = find_mapping("[vvar]", &len);
	if (vvar)
		expect_migrations_refused(_metadata, self->fd, vvar,
					  len / self->ps, self->mirror,
					  "[vvar] (VM_PFNMAP|VM_IO)");
	else
		TH_LOG("no [vvar] mapping: that case not tried");

	ASSERT_EQ(0, hmm_counters(self->fd, true, &now));
	EXPECT_EQ(self->before.pages_taken, now.pages_taken);
}

/*
 * A hugetlb mapping: migrate_vma_setup() cannot take one, so every
 * migration command refuses it before anything moves; its data stays.
 * The 2 MiB pool grows for the test if it has no free page, then goes
 * back.
 */
TEST_F(badinput, migration_over_hugetlb_is_einval)
{
	size_t size = 2UL << 20;
	char *p, *mirror;
	long was;

	if (hmm_hugetlb_pool_raise(1, &was) < 1)
		SKIP(return, "no free 2 MiB huge page, and the pool cannot grow");
	mirror = malloc(size);
	p = mmap(NULL, size, PROT_READ | PROT_WRITE,
		 MAP_PRIVATE | MAP_ANONYMOUS | MAP_HUGETLB | MAP_HUGE_2MB, -1,
		 0);
	if (mirror && p != MAP_FAILED) {
		hmm_fill(p, size, SEED);
		expect_migrations_refused(_metadata, self->fd, p,
					  size / self->ps, mirror, "hugetlb");
		EXPECT_EQ(-1, hmm_verify(p, size, SEED));
		munmap(p, size);
	}
	free(mirror);
	if (was >= 0)
		hmm_hugetlb_pool_set(was);
	ASSERT_NE(MAP_FAILED, p) TH_LOG("MAP_HUGETLB: %s", strerror(errno));
}

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
	int status;
	pid_t pid;

	pid = fork();
	ASSERT_GE(pid, 0);
	if (pid == 0) {
		if (hmm_drop_sys_admin())
			_exit(100);
		_exit(hmm_open(0) == -EPERM ? 0 : 1);
	}
	ASSERT_EQ(pid, waitpid(pid, &status, 0));
	ASSERT_TRUE(WIFEXITED(status));
	ASSERT_NE(100, WEXITSTATUS(status)) TH_LOG("capset failed");
	EXPECT_EQ(0, WEXITSTATUS(status))
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

	pid = fork();
	ASSERT_GE(pid, 0);
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
	ASSERT_EQ(pid, waitpid(pid, &status, 0));
	ASSERT_TRUE(WIFEXITED(status));
	ASSERT_NE(100, WEXITSTATUS(status)) TH_LOG("child set-up failed");
	EXPECT_EQ(0, WEXITSTATUS(status) & 1)
		TH_LOG("a device-wide command ran without CAP_SYS_ADMIN");
	EXPECT_EQ(0, WEXITSTATUS(status) & 2) TH_LOG("the migration failed");
	EXPECT_EQ(0, WEXITSTATUS(status) & 4)
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
	pid = fork();
	ASSERT_GE(pid, 0);
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
	ASSERT_EQ(pid, waitpid(pid, &status, 0));
	ASSERT_TRUE(WIFEXITED(status));
	ASSERT_NE(100, WEXITSTATUS(status)) TH_LOG("the child cannot open");
	EXPECT_EQ(0, WEXITSTATUS(status) & 1) TH_LOG("the probe failed");
	EXPECT_EQ(0, WEXITSTATUS(status) & 2)
		TH_LOG("a shared page was not reported shared");
	EXPECT_EQ(-1, hmm_verify(self->buf, BUF_PAGES * self->ps, SEED))
		TH_LOG("the child's probe wrote into the parent's pages");
}

/* A memfd sealed against writes keeps its data, even opened O_RDWR. */
TEST_F(badinput, file_probe_refuses_write_sealed_memfd)
{
	struct hmm_nc_file_page rec;
	char *map;
	int fd;

	fd = memfd_create("hmm-sealed", MFD_ALLOW_SEALING | MFD_CLOEXEC);
	ASSERT_GE(fd, 0);
	ASSERT_EQ((ssize_t)self->ps, write(fd, self->buf, self->ps));
	ASSERT_EQ(0, fcntl(fd, F_ADD_SEALS, F_SEAL_WRITE));
	map = mmap(NULL, self->ps, PROT_READ, MAP_SHARED, fd, 0);
	ASSERT_NE(MAP_FAILED, map);
	EXPECT_EQ(-EACCES, hmm_migrate_file(self->fd, map, 1,
					    HMM_NC_MODE_SYNC,
					    HMM_NC_MIGRATE_PROBE, &rec, NULL));
	EXPECT_EQ(-EACCES, hmm_migrate_file(self->fd, map, 1,
					    HMM_NC_MODE_SYNC_NO_COPY,
					    HMM_NC_FILE_KERNEL_PAGES, &rec,
					    NULL));
	EXPECT_EQ(-1, hmm_verify(map, self->ps, SEED));
	munmap(map, self->ps);
	close(fd);
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

#define KP_DIR		"/tmp/hmm_badinput_img"
#define KP_FS		"/tmp/hmm_badinput_ext4"

/*
 * HMM_NC_FILE_KERNEL_PAGES leaves an ext4 page's buffer heads behind and
 * its data would never reach the disk: refused (EINVAL) on every file
 * system but shmem.
 */
TEST_F(badinput, kernel_pages_on_ext4_is_einval)
{
	char disk[HMM_LOOP_PATH_LEN], cmdline[160];
	struct hmm_nc_file_page rec;
	int loop, fd;
	char *map;

	if (hmm_private_mounts())
		SKIP(return, "no mount namespace of its own");
	mkdir(KP_DIR, 0755);
	if (mount("none", KP_DIR, "ramfs", 0, NULL))
		SKIP(return, "cannot mount ramfs");
	loop = hmm_loop_attach(KP_DIR, 16LL << 20, disk, sizeof(disk));
	if (loop < 0)
		SKIP(return, "no loop device: %s", strerror(-loop));
	hmm_random_ready();	/* seconds a mkfs otherwise: see libhmm.h */
	snprintf(cmdline, sizeof(cmdline),
		 "/sbin/mkfs.ext4 -q -F %s >/dev/null 2>&1", disk);
	if (system(cmdline))
		SKIP(return, "mkfs.ext4 failed");
	mkdir(KP_FS, 0755);
	ASSERT_EQ(0, mount(disk, KP_FS, "ext4", 0, NULL));
	fd = open(KP_FS "/f", O_RDWR | O_CREAT | O_CLOEXEC, 0644);
	ASSERT_GE(fd, 0);
	ASSERT_EQ((ssize_t)self->ps, write(fd, self->buf, self->ps));
	map = mmap(NULL, self->ps, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	ASSERT_NE(MAP_FAILED, map);
	EXPECT_EQ(-EINVAL, hmm_migrate_file(self->fd, map, 1,
					    HMM_NC_MODE_SYNC_NO_COPY,
					    HMM_NC_FILE_KERNEL_PAGES, &rec,
					    NULL));
	EXPECT_EQ(-1, hmm_verify(map, self->ps, SEED));
	munmap(map, self->ps);
	close(fd);
	umount2(KP_FS, MNT_DETACH);
	close(loop);
	umount2(KP_DIR, MNT_DETACH);
}

/*
 * The mirror of one file holds at most HMM_NC_MIRROR_MAX_PAGES entries:
 * READs over fresh zero pages past that answer ENOSPC instead of growing
 * it without limit; a new file starts empty.
 */
TEST_F_TIMEOUT(badinput, mirror_is_capped_per_file, 120)
{
	size_t piece = 512, total = HMM_NC_MIRROR_MAX_PAGES + piece, done;
	struct hmm_dmirror_cmd cmd;
	char *area, *out;
	int ret = 0, fd;

	area = mmap(NULL, total * self->ps, PROT_READ,
		    MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	ASSERT_NE(MAP_FAILED, area);
	out = malloc(piece * self->ps);
	ASSERT_NE(NULL, out);
	fd = hmm_open(0);
	ASSERT_GE(fd, 0);
	for (done = 0; done < total && !ret; done += piece) {
		memset(&cmd, 0, sizeof(cmd));
		cmd.addr = (uintptr_t)(area + done * self->ps);
		cmd.ptr = (uintptr_t)out;
		cmd.npages = piece;
		ret = raw_ioctl(fd, HMM_DMIRROR_READ, &cmd);
	}
	EXPECT_EQ(-ENOSPC, ret);
	EXPECT_EQ(total, done) TH_LOG("refused at page %zu", done);
	close(fd);
	/* Another file: a mirror of its own. */
	fd = hmm_open(0);
	ASSERT_GE(fd, 0);
	cmd.addr = (uintptr_t)area;
	EXPECT_EQ(0, raw_ioctl(fd, HMM_DMIRROR_READ, &cmd));
	close(fd);
	free(out);
	munmap(area, total * self->ps);
}

#define KSM_SYS		"/sys/kernel/mm/ksm/"

static long ksm_read(const char *name)
{
	char path[96];
	long v = -1;
	FILE *f;

	snprintf(path, sizeof(path), KSM_SYS "%s", name);
	f = fopen(path, "r");
	if (!f)
		return -1;
	if (fscanf(f, "%ld", &v) != 1)
		v = -1;
	fclose(f);
	return v;
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
	int t;

	HMM_REQUIRE(self->fd, HMM_NEED_NOCOPY);
	if (access(KSM_SYS "run", W_OK))
		SKIP(return, "no KSM");
	p = hmm_map_anon(size, PROT_READ | PROT_WRITE);
	ASSERT_NE(NULL, p);
	memset(p, 0x5a, size);
	ASSERT_EQ(0, madvise(p, size, MADV_MERGEABLE));
	hmm_write_str(KSM_SYS "sleep_millisecs", "10");
	hmm_write_str(KSM_SYS "pages_to_scan", "1000");
	ASSERT_EQ(0, hmm_write_str(KSM_SYS "run", "1"));
	for (t = 0; t < 300 && ksm_read("pages_sharing") < (long)n - 1; t++)
		usleep(100000);
	if (ksm_read("pages_sharing") < (long)n - 1) {
		hmm_write_str(KSM_SYS "run", "2");
		SKIP(return, "ksmd merged nothing in 30 s");
	}
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
	hmm_write_str(KSM_SYS "run", "2");
	hmm_unmap(p, size);
}

HMM_TEST_MAIN

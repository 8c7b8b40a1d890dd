// SPDX-License-Identifier: GPL-2.0
/*
 * badinput.*: every ioctl of the device against wrong input: pointers,
 * ranges, flags and reserved fields, memory no migration may take, and
 * the mirror's limits. Who may do what (capabilities, read-only files,
 * memory shared with others) is in badinput_access_test.c. See
 * badinput_common.h.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <unistd.h>
#include <linux/mman.h>		/* MAP_HUGE_2MB */

#include "badinput_common.h"
#include "hmm_fixture.h"

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

#define KP_DIR		"/tmp/hmm_badinput_img"
#define KP_FS		"/tmp/hmm_badinput_ext4"

/*
 * HMM_NC_FILE_KERNEL_PAGES leaves an ext4 page's buffer heads behind and
 * its data would never reach the disk: refused (EINVAL) on every file
 * system but shmem.
 */
TEST_F(badinput, kernel_pages_on_ext4_is_einval)
{
	char disk[HMM_LOOP_PATH_LEN];
	int loop, fd;

	if (hmm_private_mounts())
		SKIP(return, "no mount namespace of its own");
	if (mount_image_dir(KP_DIR))
		SKIP(return, "cannot mount ramfs");
	loop = mkfs_loop(KP_DIR, 16LL << 20, "/sbin/mkfs.ext4 -q -F", disk,
			 sizeof(disk));
	if (loop == -EIO)
		SKIP(return, "mkfs.ext4 failed");
	if (loop < 0)
		SKIP(return, "no loop device: %s", strerror(-loop));
	ASSERT_EQ(0, mount_dev(disk, KP_FS, "ext4", NULL));
	fd = open(KP_FS "/f", O_RDWR | O_CREAT | O_CLOEXEC, 0644);
	ASSERT_GE(fd, 0);
	ASSERT_EQ((ssize_t)self->ps, write(fd, self->buf, self->ps));
	expect_file_page_kept(_metadata, self->fd, self->ps, fd,
			      PROT_READ | PROT_WRITE, 0, -EINVAL);
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

HMM_TEST_MAIN

/* SPDX-License-Identifier: GPL-2.0 */
/*
 * What the fixtures of several test files need alike: the device and the
 * counters it had when the test began, counter deltas and the checks
 * made on them, memory that fails the test rather than come back NULL,
 * mounts (tmpfs, ramfs, a file system of the test's own on a loop
 * device) and the kernel's flags of a mapped page.
 *
 * Everything is static inline: each test binary takes what it uses, and
 * the kselftest build (lib.mk) needs no extra object. Include it after
 * hmm_harness.h, in place of a file's own copies.
 */
#ifndef _HMM_FIXTURE_H
#define _HMM_FIXTURE_H

#include <errno.h>
#include <glob.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "hmm_harness.h"
#include "libhmm.h"

/* The two modes most tests move pages in: the one under test, its control. */
#define NO_COPY		HMM_NC_MODE_SYNC_NO_COPY
#define SYNC		HMM_NC_MODE_SYNC

/* calloc(), or the test fails there. */
static inline void *zalloc(struct __test_metadata *_metadata, size_t size)
{
	void *p = calloc(1, size);

	ASSERT_NE(NULL, p);
	return p;
}

/* fork(), or the test fails there: child_status() reaps it. */
static inline pid_t child_start(struct __test_metadata *_metadata)
{
	pid_t pid = fork();

	ASSERT_GE(pid, 0);
	return pid;
}

/*
 * Reaps a child that reports through its exit status: 100 is the
 * child's own set-up failing (setup says which, for the log), which is
 * no verdict on the kernel; anything else is the test's bits for the
 * caller to check.
 */
static inline int child_status(struct __test_metadata *_metadata, pid_t pid,
			       const char *setup)
{
	int status;

	ASSERT_EQ(pid, waitpid(pid, &status, 0));
	ASSERT_TRUE(WIFEXITED(status));
	ASSERT_NE(100, WEXITSTATUS(status)) TH_LOG("%s", setup);
	return WEXITSTATUS(status);
}

/* Runs a command line through the shell: its exit status, or -1. */
static inline int shell(const char *fmt, ...)
{
	char cmd[256];
	va_list ap;
	int status;

	va_start(ap, fmt);
	vsnprintf(cmd, sizeof(cmd), fmt, ap);
	va_end(ap);
	status = system(cmd);
	return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

/* What a device's counters (global: the module's) did since before. */
static inline void delta_of(struct __test_metadata *_metadata, int fd,
			    bool global, const struct hmm_nc_counters *before,
			    struct hmm_nc_counters *d)
{
	struct hmm_nc_counters now;

	ASSERT_EQ(0, hmm_counters(fd, global, &now));
	hmm_counters_delta(before, &now, d);
}

/*
 * Shared state: what a test can change that outlives it (libhmm's
 * hmm_shared_files, the hugetlb pools, null_blk devices, the device's
 * engine). Its teardown puts it back; a test
 * killed before it does not. The binary takes the values when it
 * starts (a constructor: every test's process is a fork of it) and each
 * fixture's setup puts back whatever differs, logging it, so that what
 * one test left cannot decide another's verdict. The suite's runner
 * does the same between binaries (reset.sh); run alone, a binary still
 * keeps its own tests apart.
 */
#define HMM_SHARED_MAX		40
#define HMM_SHARED_PATH		96
#define HMM_SHARED_VAL		128
#define HMM_NULLB_GLOB		"/sys/kernel/config/nullb/*"

static struct {
	char path[HMM_SHARED_PATH];
	char val[HMM_SHARED_VAL];
} hmm_shared[HMM_SHARED_MAX];
static int hmm_nshared;
static glob_t hmm_nullb_start;

/*
 * A tunable's value as it is written back, or false if it cannot be
 * read: a THP mode list ("always [madvise] never") as its chosen word.
 */
static inline bool hmm_shared_read(const char *path, char *val, size_t len)
{
	char buf[HMM_SHARED_VAL + 2], *open, *close;
	FILE *f = fopen(path, "re");
	bool ok;

	if (!f)
		return false;
	ok = fgets(buf, sizeof(buf), f);
	fclose(f);
	if (!ok)
		return false;
	buf[strcspn(buf, "\n")] = 0;
	open = strchr(buf, '[');
	close = open ? strchr(open, ']') : NULL;
	if (close)
		*close = 0;
	snprintf(val, len, "%.*s", HMM_SHARED_VAL - 1, close ? open + 1 : buf);
	return true;
}

static inline void hmm_shared_take(const char *path)
{
	if (hmm_nshared < HMM_SHARED_MAX &&
	    hmm_shared_read(path, hmm_shared[hmm_nshared].val, HMM_SHARED_VAL))
		snprintf(hmm_shared[hmm_nshared++].path, HMM_SHARED_PATH, "%s",
			 path);
}

static void __attribute__((constructor)) hmm_shared_snapshot(void)
{
	char path[HMM_SHARED_PATH];
	glob_t pools;
	size_t i;

	for (i = 0; i < hmm_nshared_files; i++)
		hmm_shared_take(hmm_shared_files[i]);
	if (!glob(HMM_SHARED_POOLS, 0, NULL, &pools)) {
		for (i = 0; i < pools.gl_pathc; i++) {
			snprintf(path, sizeof(path), "%s/nr_hugepages",
				 pools.gl_pathv[i]);
			hmm_shared_take(path);
			snprintf(path, sizeof(path), "%s/nr_overcommit_hugepages",
				 pools.gl_pathv[i]);
			hmm_shared_take(path);
		}
		globfree(&pools);
	}
	if (glob(HMM_NULLB_GLOB, GLOB_ONLYDIR, NULL, &hmm_nullb_start))
		hmm_nullb_start.gl_pathc = 0;
}

static inline bool hmm_nullb_known(const char *dir)
{
	size_t i;

	for (i = 0; i < hmm_nullb_start.gl_pathc; i++)
		if (!strcmp(hmm_nullb_start.gl_pathv[i], dir))
			return true;
	return false;
}

/* Puts back what differs from the binary's start, a log line each. */
static inline void hmm_shared_restore(struct __test_metadata *_metadata)
{
	char now[HMM_SHARED_VAL], path[HMM_SHARED_PATH + 8];
	glob_t nullb;
	size_t i;
	int n, ret;

	for (n = 0; n < hmm_nshared; n++) {
		if (!hmm_shared_read(hmm_shared[n].path, now, sizeof(now)) ||
		    !strcmp(now, hmm_shared[n].val))
			continue;
		if (strstr(hmm_shared[n].path, "/ksm/run"))
			hmm_write_str(hmm_shared[n].path, "2");
		ret = hmm_write_str(hmm_shared[n].path, hmm_shared[n].val);
		TH_LOG("shared state: %s was %s, put back to %s%s",
		       hmm_shared[n].path, now, hmm_shared[n].val,
		       ret ? " (failed)" : "");
	}
	if (!glob(HMM_NULLB_GLOB, GLOB_ONLYDIR, NULL, &nullb)) {
		for (i = 0; i < nullb.gl_pathc; i++) {
			if (hmm_nullb_known(nullb.gl_pathv[i]))
				continue;
			snprintf(path, sizeof(path), "%s/power",
				 nullb.gl_pathv[i]);
			hmm_write_str(path, "0");
			ret = rmdir(nullb.gl_pathv[i]);
			TH_LOG("shared state: null_blk %s removed%s",
			       nullb.gl_pathv[i], ret ? " (failed)" : "");
		}
		globfree(&nullb);
	}
	n = hmm_engines_reset(NULL);
	if (n)
		TH_LOG("shared state: %d device engines %s", n,
		       n > 0 ? "put back to their defaults" : "not reset");
}

/*
 * The state most fixtures keep: device 0, the page size and the device's
 * counters when the test began, which the checks below count from.
 */
struct hmm_env {
	int dev;
	size_t ps;
	struct hmm_nc_counters start;
};

/*
 * For a FIXTURE_SETUP: puts back the shared state a test before may
 * have left, opens device 0 and reads its counters, or skips the test
 * there (nothing to release yet).
 */
static inline void env_setup(struct __test_metadata *_metadata,
			     struct hmm_env *e)
{
	hmm_shared_restore(_metadata);
	e->ps = hmm_page_size();
	e->dev = hmm_open(0);
	if (e->dev < 0)
		HMM_SETUP_SKIP("need /dev/hmm_dmirror0 (is test_hmm loaded?)");
	ASSERT_EQ(0, hmm_counters(e->dev, false, &e->start));
}

/* What the device's counters did since the test began. */
static inline void env_delta(struct __test_metadata *_metadata,
			     const struct hmm_env *e,
			     struct hmm_nc_counters *d)
{
	delta_of(_metadata, e->dev, false, &e->start, d);
}

/*
 * What a MIGRATE_SYNC control asserts besides the data: the kernel's
 * callback made the copy, so since the test began the device's engine
 * issued no DMA copy and copied no page. Without it, a control whose
 * data is right cannot tell the kernel's copy from the device's.
 * engine_idle_since(): the same for the device behind fd since the
 * counters before, for fixtures without a struct hmm_env.
 */
static inline void engine_idle_since(struct __test_metadata *_metadata,
				     int fd, const struct hmm_nc_counters *before)
{
	struct hmm_nc_counters d;

	delta_of(_metadata, fd, false, before, &d);
	EXPECT_EQ(0, d.batches) TH_LOG("the device's engine ran under MIGRATE_SYNC");
	EXPECT_EQ(0, d.pages_copied);
}

static inline void assert_engine_idle(struct __test_metadata *_metadata,
				      const struct hmm_env *e)
{
	engine_idle_since(_metadata, e->dev, &e->start);
}

/*
 * Since the test began: moved pages went through callbacks of kind cb
 * in mode and failed of them failed there, and every page lock and
 * reference the device took was given back.
 */
static inline void expect_counts(struct __test_metadata *_metadata,
				 const struct hmm_env *e, int cb, int mode,
				 __u64 moved, __u64 failed)
{
	struct hmm_nc_counters d;

	env_delta(_metadata, e, &d);
	EXPECT_EQ(moved, d.migrated[cb][mode]);
	EXPECT_EQ(failed, d.failed[cb][mode]);
	EXPECT_EQ(d.pages_locked, d.pages_unlocked);
	EXPECT_EQ(d.pages_taken, d.pages_returned);
}

/* Exactly n pages moved through cb in mode, and none failed. */
static inline void assert_counted(struct __test_metadata *_metadata,
				  const struct hmm_env *e, int cb, int mode,
				  __u64 n)
{
	expect_counts(_metadata, e, cb, mode, n, 0);
}

/* Mounts source (a device, or "none") on dir, made if missing: -errno. */
static inline int mount_dev(const char *source, const char *dir,
			    const char *fstype, const char *opts)
{
	mkdir(dir, 0755);
	umount2(dir, MNT_DETACH);
	return mount(source, dir, fstype, 0, opts) ? -errno : 0;
}

static inline int mount_fs(const char *dir, const char *fstype,
			   const char *opts)
{
	return mount_dev("none", dir, fstype, opts);
}

static inline int mount_tmpfs(const char *dir, const char *opts)
{
	return mount_fs(dir, "tmpfs", opts);
}

/* For a teardown: unmounts dir if *mounted says it is mounted. */
static inline void umount_if(const char *dir, bool *mounted)
{
	if (*mounted)
		umount2(dir, MNT_DETACH);
	*mounted = false;
}

/* For a teardown: closes *fd if it is open, and marks it closed (-1). */
static inline void close_if(int *fd)
{
	if (*fd >= 0)
		close(*fd);
	*fd = -1;
}

/*
 * Where loop devices' images go: ramfs, not tmpfs. A loop device over a
 * tmpfs file offers to zero blocks (tmpfs has fallocate) but cannot
 * (no FALLOC_FL_ZERO_RANGE), and every mkfs that tries it puts an
 * "operation not supported" error in the kernel log.
 */
static inline int mount_image_dir(const char *dir)
{
	return mount_fs(dir, "ramfs", NULL);
}

/*
 * A fresh file system on a free loop device over an image of size bytes
 * in img_dir (see mount_image_dir()), made by mkfs (the command, less
 * the device). Returns the open loop device, its path in path[len]: it
 * detaches itself once closed and no longer mounted. Or -errno: -EIO
 * when mkfs failed.
 */
static inline int mkfs_loop(const char *img_dir, long long size,
			    const char *mkfs, char *path, size_t len)
{
	int loop = hmm_loop_attach(img_dir, size, path, len);

	if (loop < 0)
		return loop;
	hmm_random_ready();	/* seconds a mkfs otherwise: see libhmm.h */
	if (shell("%s %s >/dev/null 2>&1", mkfs, path)) {
		close(loop);
		return -EIO;
	}
	return loop;
}

/*
 * Unmounts dir (*mounted: whether it still is) and checks the file
 * system on disk with fsck (the command, less the device), which must
 * find nothing to fix.
 */
static inline void assert_fsck_clean(struct __test_metadata *_metadata,
				     const char *dir, bool *mounted,
				     const char *fsck, const char *disk)
{
	ASSERT_EQ(0, umount(dir)) TH_LOG("umount %s: %s", dir, strerror(errno));
	*mounted = false;
	ASSERT_EQ(0, shell("%s %s >/dev/null 2>&1", fsck, disk))
		TH_LOG("%s: %s found errors", disk, fsck);
}

/* The page frame the page mapped at p is in (0: none). */
static inline __u64 pfn_of(struct __test_metadata *_metadata, const void *p)
{
	__u64 pfn = 0;

	ASSERT_EQ(0, hmm_pfn(p, &pfn));
	return pfn;
}

/* Whether /proc/kpageflags shows flag bit (HMM_KPF_*) on pfn. */
static inline bool page_flag(struct __test_metadata *_metadata, __u64 pfn,
			     int bit)
{
	__u64 kf = 0;

	ASSERT_EQ(0, hmm_kpageflags(pfn, &kf))
		TH_LOG("pfn 0x%llx", (unsigned long long)pfn);
	return kf & (1ULL << bit);
}

/*
 * Leaks the module's counters cannot see: a page the kernel took and
 * never gave back (a failed destination it did not free, a reference it
 * kept). The kernel's own figure for them is free memory: hmm_free_kb(),
 * MemFree plus the per-CPU free lists (which MemFree leaves out: a page
 * just freed sits there), after writing back and dropping the clean
 * page cache, in pages. What is left moves by itself between two reads
 * (slab, page tables, the pages per-CPU LRU batches hold a while): a
 * correct 6.1 guest showed up to 22 pages either way; and the first
 * page-cache move of a fresh file keeps some 60 pages for good (once,
 * not per move: measure a step, not a set-up). LEAK_SLACK_PAGES
 * is above that, and a check needs half as many again at risk, or a
 * leak of them all could hide in the noise.
 */
#define LEAK_SLACK_PAGES	32

static inline long free_pages_now(struct __test_metadata *_metadata)
{
	long kb = hmm_free_kb();

	ASSERT_LT(0, kb) TH_LOG("free memory: %s", strerror((int)-kb));
	return kb / (long)(hmm_page_size() / 1024);
}

/*
 * Free memory is back to before (free_pages_now()) within the slack,
 * after a step that left at_risk pages for the kernel to free or give
 * back (what: the step, for the log).
 */
static inline void assert_free_back(struct __test_metadata *_metadata,
				    long before, long at_risk,
				    const char *what)
{
	long lost;

	ASSERT_LE(LEAK_SLACK_PAGES + LEAK_SLACK_PAGES / 2, at_risk)
		TH_LOG("%s: too few pages at risk to see a leak", what);
	lost = before - free_pages_now(_metadata);
	TH_LOG("%s: %ld pages fewer free, %ld at risk", what, lost, at_risk);
	EXPECT_GT(LEAK_SLACK_PAGES, lost)
		TH_LOG("%s: %ld pages not given back", what, lost);
}

/*
 * /proc/kpagecount: the page at pfn is mapped want times (a page that
 * stayed where it was after a failure is mapped as before; 0 would be a
 * migration entry never removed, which the next access waits on forever).
 */
static inline void assert_map_count(struct __test_metadata *_metadata,
				    __u64 pfn, __u64 want, size_t i)
{
	__u64 count = 0;

	ASSERT_EQ(0, hmm_kpagecount(pfn, &count)) TH_LOG("page %zu", i);
	EXPECT_EQ(want, count)
		TH_LOG("page %zu: pfn 0x%llx mapped %llu times", i,
		       (unsigned long long)pfn, (unsigned long long)count);
}

/*
 * The kernel-log reports a test that reads /dev/kmsg itself asserts are
 * absent (the runner's gate looks for the same, after the test).
 */
static inline const char *const *klog_reports(void)
{
	static const char *const reports[] = {
		"WARNING:", "BUG:", "Oops", "Bad page", "general protection",
		NULL
	};

	return reports;
}

#endif /* _HMM_FIXTURE_H */

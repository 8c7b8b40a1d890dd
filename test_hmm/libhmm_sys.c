// SPDX-License-Identifier: GPL-2.0
/*
 * libhmm, the system side: page identity (/proc/self/pagemap,
 * /proc/kpageflags), block devices of a test's own (loop, null_blk),
 * sysfs and procfs values, the huge page pool, mount namespaces and the
 * kernel log. Kept apart from libhmm.c, the device's commands, because
 * none of it talks to the device. Declared in libhmm.h.
 */
#define _GNU_SOURCE		/* O_TMPFILE, unshare() */
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <unistd.h>
#include <linux/loop.h>

#include "libhmm.h"

/* Raw pagemap entries of npages pages from addr, in one read. */
int hmm_pagemap(const void *addr, size_t npages, __u64 *entries)
{
	size_t len = npages * sizeof(*entries);
	off_t off;
	int fd, ret;

	fd = open("/proc/self/pagemap", O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	off = (off_t)((uintptr_t)addr / hmm_page_size() * sizeof(*entries));
	ret = pread(fd, entries, len, off) == (ssize_t)len ? 0 : -EIO;
	close(fd);
	return ret;
}

/*
 * PFNs are only shown to CAP_SYS_ADMIN; the suite runs as root in the
 * guest. A page that is not present (or is a swap/device entry) has no
 * PFN: -ENOENT.
 */
int hmm_pfn(const void *addr, __u64 *pfn)
{
	__u64 entry;
	int ret = hmm_pagemap(addr, 1, &entry);

	if (ret)
		return ret;
	if (!(entry & HMM_PM_PRESENT) || (entry & HMM_PM_SWAP))
		return -ENOENT;
	*pfn = entry & HMM_PM_PFN_MASK;
	return *pfn ? 0 : -EPERM;
}

/* The 64-bit word of pfn in one of the /proc/kpage* files. */
static int hmm_kpage_word(const char *path, __u64 pfn, __u64 *word)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC), ret;

	if (fd < 0)
		return -errno;
	ret = pread(fd, word, sizeof(*word), (off_t)(pfn * sizeof(*word)));
	ret = ret == sizeof(*word) ? 0 : (ret < 0 ? -errno : -EIO);
	close(fd);
	return ret;
}

int hmm_kpageflags(__u64 pfn, __u64 *flags)
{
	return hmm_kpage_word("/proc/kpageflags", pfn, flags);
}

int hmm_kpagecount(__u64 pfn, __u64 *count)
{
	return hmm_kpage_word("/proc/kpagecount", pfn, count);
}

long long hmm_disk_sectors(const char *dev, bool written)
{
	unsigned long long f[7];
	const char *name = strrchr(dev, '/');
	char path[96];
	FILE *stat;
	int n;

	snprintf(path, sizeof(path), "/sys/block/%s/stat",
		 name ? name + 1 : dev);
	stat = fopen(path, "re");
	if (!stat)
		return -errno;
	/* Reads: I/Os, merges, sectors, ticks; then the same for writes. */
	n = fscanf(stat, "%llu %llu %llu %llu %llu %llu %llu", &f[0], &f[1],
		   &f[2], &f[3], &f[4], &f[5], &f[6]);
	fclose(stat);
	if (n != 7)
		return -EIO;
	return (long long)(written ? f[6] : f[2]);
}

/*
 * An unnamed file of size bytes in dir, gone with its last reference.
 * Without O_TMPFILE there (ramfs before 6.0), a named file unlinked at
 * once.
 */
static int hmm_loop_image(const char *dir, long long size)
{
	int img = open(dir, O_TMPFILE | O_RDWR | O_CLOEXEC, 0600);
	char path[256];

	if (img < 0 && errno == EOPNOTSUPP) {
		snprintf(path, sizeof(path), "%s/hmm-loop-XXXXXX", dir);
		img = mkostemp(path, O_CLOEXEC);
		if (img >= 0)
			unlink(path);
	}
	if (img < 0)
		return -errno;
	if (ftruncate(img, size)) {
		close(img);
		return -errno;
	}
	return img;
}

/*
 * Bind img to a free loop device; another process may take the device
 * we were told is free before we do (EBUSY): ask again.
 */
static int hmm_loop_bind(int img, char *path, size_t len)
{
	struct loop_info64 info = { .lo_flags = LO_FLAGS_AUTOCLEAR };
	int ctl, nr, loop, tries, ret = -EBUSY;

	ctl = open("/dev/loop-control", O_RDWR | O_CLOEXEC);
	if (ctl < 0)
		return -errno;
	for (tries = 0; tries < 16 && ret == -EBUSY; tries++) {
		nr = ioctl(ctl, LOOP_CTL_GET_FREE);
		if (nr < 0) {
			ret = -errno;
			break;
		}
		snprintf(path, len, "/dev/loop%d", nr);
		loop = open(path, O_RDWR | O_CLOEXEC);
		if (loop < 0) {
			ret = -errno;
			break;
		}
		ret = ioctl(loop, LOOP_SET_FD, img) ? -errno : loop;
		if (ret >= 0 && ioctl(loop, LOOP_SET_STATUS64, &info)) {
			ret = -errno;
			ioctl(loop, LOOP_CLR_FD, 0);
		}
		if (ret < 0)
			close(loop);
	}
	close(ctl);
	return ret;
}

int hmm_loop_attach(const char *dir, long long size, char *path, size_t len)
{
	int img, loop;

	img = hmm_loop_image(dir, size);
	if (img < 0)
		return img;
	loop = hmm_loop_bind(img, path, len);
	close(img);
	return loop;
}

#define CONFIGFS	"/sys/kernel/config"
#define NULLB_CONFIG	CONFIGFS "/nullb"

/* An attribute of a null_blk configuration: 0 or -errno. */
static int hmm_nullb_set(const char *dir, const char *attr, unsigned long v)
{
	char path[128], val[24];

	snprintf(path, sizeof(path), "%s/%s", dir, attr);
	snprintf(val, sizeof(val), "%lu", v);
	return hmm_write_str(path, val);
}

/* The block device's name of a powered null_blk configuration. */
static int hmm_nullb_name(const char *dir, const char *config, char *name,
			  size_t len)
{
	char path[128];
	long index;

	snprintf(path, sizeof(path), "%s/index", dir);
	index = hmm_read_long(path);
	if (index < 0)
		return index;
	snprintf(name, len, "%s", config);
	snprintf(path, sizeof(path), "/sys/block/%s", config);
	if (access(path, F_OK))
		snprintf(name, len, "nullb%ld", index);
	return 0;
}

int hmm_nullb_slow(const char *config, unsigned int size_mb, unsigned int bs,
		   unsigned int ms, char *name, size_t len)
{
	char dir[96];
	int ret;

	if (access(NULLB_CONFIG, F_OK))
		mount("configfs", CONFIGFS, "configfs", 0, NULL);
	if (access(NULLB_CONFIG, F_OK))
		return -ENODEV;
	snprintf(dir, sizeof(dir), NULLB_CONFIG "/%s", config);
	hmm_nullb_remove(config);
	if (mkdir(dir, 0755))
		return -errno;
	ret = hmm_nullb_set(dir, "size", size_mb);
	if (!ret)
		ret = hmm_nullb_set(dir, "blocksize", bs);
	if (!ret)
		ret = hmm_nullb_set(dir, "memory_backed", 1);
	if (!ret)	/* completions from a timer */
		ret = hmm_nullb_set(dir, "irqmode", 2);
	if (!ret)
		ret = hmm_nullb_set(dir, "completion_nsec", ms * 1000000UL);
	if (!ret)
		ret = hmm_nullb_set(dir, "power", 1);
	if (ret)
		return ret;
	return hmm_nullb_name(dir, config, name, len);
}

void hmm_nullb_remove(const char *config)
{
	char dir[96];

	snprintf(dir, sizeof(dir), NULLB_CONFIG "/%s", config);
	if (access(dir, F_OK))
		return;
	hmm_nullb_set(dir, "power", 0);
	rmdir(dir);
}

/* The 2 MiB pool: the tests' huge pages are 2 MiB whatever the default. */
#define HUGETLB_2MB	"/sys/kernel/mm/hugepages/hugepages-2048kB/"

long hmm_read_long(const char *path)
{
	char buf[24];
	ssize_t n;
	int fd;

	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0)
		return -EIO;
	buf[n] = '\0';
	return atol(buf);
}

long hmm_key_value(const char *path, const char *key)
{
	char name[64];
	long val, ret = -ENOENT;
	FILE *f;

	f = fopen(path, "re");
	if (!f)
		return -errno;
	while (fscanf(f, "%63s %ld", name, &val) == 2)
		if (!strcmp(name, key))
			ret = val;
	fclose(f);
	return ret;
}

long hmm_vmstat(const char *key)
{
	/* Fold the per-CPU differences in first (best effort). */
	hmm_write_str("/proc/sys/vm/stat_refresh", "1");
	return hmm_key_value("/proc/vmstat", key);
}

/* Pages on the per-CPU free lists, from /proc/zoneinfo. */
static long hmm_pcp_free_pages(void)
{
	char line[128];
	long count, pages = 0;
	FILE *f = fopen("/proc/zoneinfo", "re");

	if (!f)
		return 0;
	while (fgets(line, sizeof(line), f))
		if (sscanf(line, " count: %ld", &count) == 1)
			pages += count;
	fclose(f);
	return pages;
}

long hmm_free_kb(void)
{
	char line[128];
	long kb = -ENOENT;
	FILE *f;
	int ret;

	sync();
	ret = hmm_write_str("/proc/sys/vm/drop_caches", "3");
	if (ret)
		return ret;
	f = fopen("/proc/meminfo", "re");
	if (!f)
		return -errno;
	while (fgets(line, sizeof(line), f))
		if (sscanf(line, "MemFree: %ld kB", &kb) == 1)
			break;
	fclose(f);
	if (kb < 0)
		return kb;
	return kb + hmm_pcp_free_pages() * (long)(hmm_page_size() / 1024);
}

void hmm_random_ready(void)
{
	char byte;

	while (getrandom(&byte, 1, 0) < 0 && errno == EINTR)
		;
}

int hmm_write_str(const char *path, const char *s)
{
	ssize_t n, len = strlen(s);
	int fd = open(path, O_WRONLY | O_CLOEXEC);

	if (fd < 0)
		return -errno;
	n = write(fd, s, len);
	if (n < 0)
		n = -errno;
	close(fd);
	return n == len ? 0 : n < 0 ? n : -EIO;
}

const char * const hmm_shared_files[] = {
	/* A ratio written clears its _bytes twin: ratios first. */
	"/proc/sys/vm/dirty_writeback_centisecs",
	"/proc/sys/vm/dirty_expire_centisecs",
	"/proc/sys/vm/dirty_ratio",
	"/proc/sys/vm/dirty_background_ratio",
	"/proc/sys/vm/dirty_bytes",
	"/proc/sys/vm/dirty_background_bytes",
	/* run unmerges first: merge_across_nodes changes only then. */
	"/sys/kernel/mm/ksm/run",
	"/sys/kernel/mm/ksm/pages_to_scan",
	"/sys/kernel/mm/ksm/sleep_millisecs",
	"/sys/kernel/mm/ksm/merge_across_nodes",
	"/sys/kernel/mm/ksm/max_page_sharing",
	"/sys/kernel/mm/ksm/use_zero_pages",
	"/sys/kernel/mm/transparent_hugepage/enabled",
	"/sys/kernel/mm/transparent_hugepage/defrag",
	"/sys/kernel/mm/transparent_hugepage/shmem_enabled",
	"/proc/sys/kernel/core_pattern",
};

const unsigned int hmm_nshared_files = sizeof(hmm_shared_files) /
				       sizeof(hmm_shared_files[0]);

int hmm_hugetlb_pool_set(long n)
{
	char buf[24];

	snprintf(buf, sizeof(buf), "%ld", n);
	return hmm_write_str(HUGETLB_2MB "nr_hugepages", buf);
}

long hmm_hugetlb_pool_raise(long n, long *was)
{
	long pool = hmm_read_long(HUGETLB_2MB "nr_hugepages");
	long free = hmm_read_long(HUGETLB_2MB "free_hugepages");

	*was = -1;
	if (pool < 0 || free < 0 || free >= n)
		return free;
	*was = pool;
	hmm_hugetlb_pool_set(pool + n - free);
	return hmm_read_long(HUGETLB_2MB "free_hugepages");
}

int hmm_private_mounts(void)
{
	if (unshare(CLONE_NEWNS))
		return -errno;
	if (mount("none", "/", NULL, MS_REC | MS_PRIVATE, NULL))
		return -errno;
	return 0;
}

int hmm_kmsg_open(void)
{
	int fd = open("/dev/kmsg", O_RDONLY | O_NONBLOCK | O_CLOEXEC);

	if (fd < 0)
		return -errno;
	if (lseek(fd, 0, SEEK_END) < 0) {
		close(fd);
		return -errno;
	}
	return fd;
}

int hmm_kmsg_count(int fd, const char *const *needles, char *first,
		   size_t len)
{
	const char *const *n;
	char rec[2048];
	int found = 0;
	ssize_t got;

	if (first && len)
		first[0] = '\0';
	for (;;) {
		got = read(fd, rec, sizeof(rec) - 1);
		if (got < 0 && errno == EPIPE)
			continue;	/* records were overwritten: go on */
		if (got <= 0)
			break;
		rec[got] = '\0';
		for (n = needles; *n; n++) {
			if (!strstr(rec, *n))
				continue;
			if (!found++ && first && len) {
				snprintf(first, len, "%s", rec);
				first[strcspn(first, "\n")] = '\0';
			}
			break;
		}
	}
	return found;
}

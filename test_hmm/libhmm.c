// SPDX-License-Identifier: GPL-2.0
/*
 * libhmm: device access, buffers, patterns and page identity for the
 * test_hmm selftests and tools.
 */
#define _GNU_SOURCE		/* O_TMPFILE */
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/mount.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>
#include <linux/capability.h>
#include <linux/loop.h>

#include "libhmm.h"

/* /proc/pid/pagemap entry bits (Documentation/admin-guide/mm/pagemap.rst) */
#define PAGEMAP_PRESENT		0x8000000000000000ULL
#define PAGEMAP_SWAPPED		0x4000000000000000ULL
#define PAGEMAP_PFN_MASK	0x007fffffffffffffULL

const char *hmm_module_ko(void)
{
	const char *ko = getenv("HMM_MODULE_KO");

	return ko && *ko ? ko : HMM_MODULE_KO_DEFAULT;
}

int hmm_module_load(const char *ko)
{
	int fd = open(ko, O_RDONLY | O_CLOEXEC);
	int ret;

	if (fd < 0)
		return -errno;
	ret = syscall(__NR_finit_module, fd, "", 0) ? -errno : 0;
	close(fd);
	return ret;
}

/*
 * A module whose device memory is still on its way back (returned by a
 * work item once the last page is free; on 5.10 it holds the module
 * until then) refuses to go with EAGAIN for a moment: wait up to 5 s.
 */
int hmm_module_unload(void)
{
	int i, ret;

	for (i = 0; i < 500; i++) {
		ret = syscall(__NR_delete_module, HMM_MODULE, O_NONBLOCK) ?
			-errno : 0;
		if (ret != -EAGAIN)
			break;
		usleep(10000);
	}
	return ret;
}

/* devtmpfs creates the node as the module registers it: wait a moment. */
int hmm_open_wait(unsigned int unit)
{
	int i, fd = hmm_open(unit);

	for (i = 0; i < 200 && fd == -ENOENT; i++) {
		usleep(5000);
		fd = hmm_open(unit);
	}
	return fd;
}

int hmm_open(unsigned int unit)
{
	char path[64];
	int fd;

	snprintf(path, sizeof(path), HMM_DEV_FMT, unit);
	fd = open(path, O_RDWR | O_CLOEXEC);
	return fd < 0 ? -errno : fd;
}

int hmm_drop_sys_admin(void)
{
	struct __user_cap_header_struct hdr = {
		.version = _LINUX_CAPABILITY_VERSION_3,
	};
	struct __user_cap_data_struct data[2];

	if (syscall(SYS_capget, &hdr, data))
		return -errno;
	data[CAP_TO_INDEX(CAP_SYS_ADMIN)].effective &=
		~CAP_TO_MASK(CAP_SYS_ADMIN);
	return syscall(SYS_capset, &hdr, data) ? -errno : 0;
}

/* EBUSY can also be final (EXCLUSIVE on pages it cannot take): give up. */
#define HMM_BUSY_RETRIES	100

/*
 * Issue a base command. The device may ask to be called again (EBUSY
 * while an invalidation races with it), as the 6.1 device does.
 */
int hmm_cmd(int fd, unsigned long request, void *addr, void *ptr,
	    __u64 npages, struct hmm_dmirror_cmd *out)
{
	struct hmm_dmirror_cmd cmd = {
		.addr = (uintptr_t)addr,
		.ptr = (uintptr_t)ptr,
		.npages = npages,
	};
	int ret, busy = 0;

	do {
		ret = ioctl(fd, request, &cmd);
	} while (ret < 0 && (errno == EINTR ||
			     (errno == EBUSY && ++busy < HMM_BUSY_RETRIES)));
	if (ret < 0)
		return -errno;
	if (out)
		*out = cmd;
	return 0;
}

/* An extension command; its result also to out, if out is not NULL. */
static int hmm_ioctl_out(int fd, unsigned long request, void *cmd, void *out)
{
	if (ioctl(fd, request, cmd) < 0)
		return -errno;
	if (out)
		memcpy(out, cmd, _IOC_SIZE(request));
	return 0;
}

int hmm_counters(int fd, bool global, struct hmm_nc_counters *out)
{
	struct hmm_nc_counters_cmd cmd;

	memset(&cmd, 0, sizeof(cmd));
	cmd.flags = global ? HMM_NC_COUNTERS_GLOBAL : 0;
	if (ioctl(fd, HMM_NC_GET_COUNTERS, &cmd) < 0)
		return -errno;
	*out = cmd.counters;
	return 0;
}

int hmm_info(int fd, struct hmm_nc_info *out)
{
	memset(out, 0, sizeof(*out));
	if (ioctl(fd, HMM_NC_INFO, out) < 0)
		return errno == EINVAL || errno == ENOTTY ? -ENODEV : -errno;
	if (out->magic != HMM_NC_INFO_MAGIC)
		return -ENODEV;
	out->module[sizeof(out->module) - 1] = 0;
	out->version[sizeof(out->version) - 1] = 0;
	return 0;
}

bool hmm_info_serves(const struct hmm_nc_info *info, unsigned long request)
{
	unsigned int nr = _IOC_NR(request);

	return info->commands[nr / 64] & (1ULL << (nr % 64));
}

/* The reasons are short: CI parsers append them to the test's name. */
static const struct {
	unsigned int need;
	const char *why;
} hmm_need_reasons[] = {
	{ HMM_NEED_NOCOPY,
	  "MIGRATE_SYNC_NO_COPY is not in this kernel (removed in 6.11)" },
	{ HMM_NEED_REFUSALS,
	  "this kernel's balloon/zsmalloc/aio callbacks do not refuse NO_COPY" },
	{ HMM_NEED_EXCLUSIVE,
	  "no make_device_exclusive_range() in this kernel (5.14+)" },
	{ HMM_NEED_RELEASE,
	  "no migrate_device_range() in this kernel (6.2+, Debian 6.1)" },
	{ HMM_NEED_AIO_RING,
	  "aio ring pages must leave the LRU here: folio_isolate_lru() not found" },
	{ HMM_NEED_CORE_MIGRATE,
	  "migrate_pages() not reached on this kernel (CONFIG_KPROBES? port?)" },
	{ HMM_NEED_HUGETLB,
	  "hugetlb isolation/allocation not found at load" },
};

static unsigned int hmm_offered(const struct hmm_nc_info *info)
{
	unsigned int have = 0;

	if (info->modes & (1U << HMM_NC_MODE_SYNC_NO_COPY))
		have |= HMM_NEED_NOCOPY;
	if (info->features & HMM_NC_FEAT_REFUSALS)
		have |= HMM_NEED_REFUSALS;
	if (info->features & HMM_NC_FEAT_AIO_RING)
		have |= HMM_NEED_AIO_RING;
	if ((info->features & HMM_NC_FEAT_CORE_MIGRATE) &&
	    hmm_info_serves(info, HMM_NC_CORE_MIGRATE))
		have |= HMM_NEED_CORE_MIGRATE;
	if ((have & HMM_NEED_CORE_MIGRATE) &&
	    (info->features & HMM_NC_FEAT_CORE_HUGETLB))
		have |= HMM_NEED_HUGETLB;
	if ((info->features & HMM_NC_FEAT_EXCLUSIVE) &&
	    hmm_info_serves(info, HMM_DMIRROR_EXCLUSIVE))
		have |= HMM_NEED_EXCLUSIVE;
	if (hmm_info_serves(info, HMM_DMIRROR_RELEASE))
		have |= HMM_NEED_RELEASE;
	return have;
}

const char *hmm_unmet(int fd, unsigned int needs)
{
	struct hmm_nc_info info;
	unsigned int missing, i;

	if (hmm_info(fd, &info))
		return "the device does not answer HMM_NC_INFO";
	missing = needs & ~hmm_offered(&info);
	for (i = 0; i < ARRAY_SIZE(hmm_need_reasons); i++)
		if (missing & hmm_need_reasons[i].need)
			return hmm_need_reasons[i].why;
	return NULL;
}

const char *hmm_unmet_cmd(int fd, unsigned long request)
{
	static char why[64];
	struct hmm_nc_info info;

	if (hmm_info(fd, &info))
		return "the device does not answer HMM_NC_INFO";
	if (hmm_info_serves(&info, request))
		return NULL;
	snprintf(why, sizeof(why), "command 0x%02x not served on this kernel",
		 (unsigned int)_IOC_NR(request));
	return why;
}

int hmm_device_check(char *why, size_t len)
{
	struct hmm_nc_info info;
	int fd = hmm_open(0), ret;

	if (fd < 0) {
		snprintf(why, len, "no /dev/hmm_dmirror0: %s", strerror(-fd));
		return fd;
	}
	ret = hmm_info(fd, &info);
	close(fd);
	if (ret == -ENODEV)
		snprintf(why, len, "%s",
			 "/dev/hmm_dmirror0 is not test_hmm_nocopy's (the kernel's own test_hmm.ko?): unload it first");
	else if (ret)
		snprintf(why, len, "HMM_NC_INFO: %s", strerror(-ret));
	else
		snprintf(why, len, "%s %s, ABI %u", info.module, info.version,
			 info.abi_version);
	return ret;
}

size_t hmm_page_size(void)
{
	return (size_t)sysconf(_SC_PAGESIZE);
}

void *hmm_map_anon(size_t size, int prot)
{
	void *p = mmap(NULL, size, prot, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

	return p == MAP_FAILED ? NULL : p;
}

int hmm_unmap(void *addr, size_t size)
{
	return munmap(addr, size) ? -errno : 0;
}

/*
 * The pattern is a function of the seed and the word's offset, so a page
 * that lands at the wrong offset or in the wrong buffer is caught, not
 * only a page of zeroes.
 */
static __u64 pattern_word(__u64 seed, size_t index)
{
	__u64 x = seed ^ (index * 0x9e3779b97f4a7c15ULL);

	x ^= x >> 31;
	x *= 0xbf58476d1ce4e5b9ULL;
	x ^= x >> 29;
	return x;
}

void hmm_fill(void *addr, size_t size, __u64 seed)
{
	__u64 *w = addr;
	size_t i;

	for (i = 0; i < size / sizeof(*w); i++)
		w[i] = pattern_word(seed, i);
}

/* Returns the byte offset of the first wrong word, or -1 if all match. */
ssize_t hmm_verify(const void *addr, size_t size, __u64 seed)
{
	const __u64 *w = addr;
	size_t i;

	for (i = 0; i < size / sizeof(*w); i++)
		if (w[i] != pattern_word(seed, i))
			return (ssize_t)(i * sizeof(*w));
	return -1;
}

/*
 * PFNs are only shown to CAP_SYS_ADMIN; the suite runs as root in the
 * guest. A page that is not present (or is a swap/device entry) has no
 * PFN: -ENOENT.
 */
int hmm_pfn(const void *addr, __u64 *pfn)
{
	__u64 entry;
	off_t off;
	int fd, ret;

	fd = open("/proc/self/pagemap", O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	off = (off_t)((uintptr_t)addr / hmm_page_size() * sizeof(entry));
	ret = pread(fd, &entry, sizeof(entry), off) == sizeof(entry) ? 0 : -EIO;
	close(fd);
	if (ret)
		return ret;
	if (!(entry & PAGEMAP_PRESENT) || (entry & PAGEMAP_SWAPPED))
		return -ENOENT;
	*pfn = entry & PAGEMAP_PFN_MASK;
	return *pfn ? 0 : -EPERM;
}

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

/* Returns the byte offset of the first word that is not word, or -1. */
ssize_t hmm_verify_word(const void *addr, size_t size, __u64 word)
{
	const __u64 *w = addr;
	size_t i;

	for (i = 0; i < size / sizeof(*w); i++)
		if (w[i] != word)
			return (ssize_t)(i * sizeof(*w));
	return -1;
}

/* delta = after - before, field by field (all fields are __u64). */
void hmm_counters_delta(const struct hmm_nc_counters *before,
			const struct hmm_nc_counters *after,
			struct hmm_nc_counters *delta)
{
	const __u64 *b = (const __u64 *)before;
	const __u64 *a = (const __u64 *)after;
	__u64 *d = (__u64 *)delta;
	size_t i;

	for (i = 0; i < sizeof(*delta) / sizeof(*d); i++)
		d[i] = a[i] - b[i];
}

int hmm_snapshot(int fd, void *addr, __u64 npages, __u8 *prot)
{
	return hmm_cmd(fd, HMM_DMIRROR_SNAPSHOT, addr, prot, npages, NULL);
}

/* HMM_NC_MIGRATE_ANON; status (npages bytes) may be NULL. */
int hmm_migrate_anon(int fd, void *addr, __u64 npages, __u32 mode,
		     __u32 flags, __u8 *status, struct hmm_nc_migrate_cmd *out)
{
	struct hmm_nc_migrate_cmd cmd;

	memset(&cmd, 0, sizeof(cmd));
	cmd.addr = (uintptr_t)addr;
	cmd.npages = npages;
	cmd.status = (uintptr_t)status;
	cmd.flags = flags;
	cmd.mode = mode;
	return hmm_ioctl_out(fd, HMM_NC_MIGRATE_ANON, &cmd, out);
}

int hmm_migrate_file(int fd, void *addr, __u64 npages, __u32 mode,
		     __u32 flags, struct hmm_nc_file_page *pages,
		     struct hmm_nc_file_cmd *out)
{
	struct hmm_nc_file_cmd cmd;

	memset(&cmd, 0, sizeof(cmd));
	cmd.addr = (uintptr_t)addr;
	cmd.npages = npages;
	cmd.pages = (uintptr_t)pages;
	cmd.flags = flags;
	cmd.mode = mode;
	return hmm_ioctl_out(fd, HMM_NC_MIGRATE_FILE, &cmd, out);
}

int hmm_core_migrate(int fd, void *addr, __u64 npages, __u32 mode,
		     __u32 flags, struct hmm_nc_core_page *pages,
		     struct hmm_nc_core_cmd *out)
{
	struct hmm_nc_core_cmd cmd;

	memset(&cmd, 0, sizeof(cmd));
	cmd.addr = (uintptr_t)addr;
	cmd.npages = npages;
	cmd.pages = (uintptr_t)pages;
	cmd.flags = flags;
	cmd.mode = mode;
	return hmm_ioctl_out(fd, HMM_NC_CORE_MIGRATE, &cmd, out);
}

int hmm_core_lock(int fd, void *addr, __u32 hold_ms, __u64 *pfn)
{
	struct hmm_nc_core_lock cmd;

	memset(&cmd, 0, sizeof(cmd));
	cmd.addr = (uintptr_t)addr;
	cmd.hold_ms = hold_ms;
	if (ioctl(fd, HMM_NC_CORE_LOCK, &cmd))
		return -errno;
	if (pfn)
		*pfn = cmd.pfn;
	return 0;
}

int hmm_kpageflags(__u64 pfn, __u64 *flags)
{
	int fd = open("/proc/kpageflags", O_RDONLY | O_CLOEXEC), ret;

	if (fd < 0)
		return -errno;
	ret = pread(fd, flags, sizeof(*flags), (off_t)(pfn * sizeof(*flags)));
	ret = ret == sizeof(*flags) ? 0 : (ret < 0 ? -errno : -EIO);
	close(fd);
	return ret;
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

static const char *hmm_prot_kind(__u8 prot)
{
	switch (prot & 0xf0) {
	case HMM_DMIRROR_PROT_ZERO:
		return "|zero";
	case HMM_DMIRROR_PROT_DEV_PRIVATE_LOCAL:
		return "|dev-local";
	case HMM_DMIRROR_PROT_DEV_PRIVATE_REMOTE:
		return "|dev-remote";
	case HMM_DMIRROR_PROT_DEV_COHERENT_LOCAL:
		return "|coherent-local";
	case HMM_DMIRROR_PROT_DEV_COHERENT_REMOTE:
		return "|coherent-remote";
	default:
		return "";
	}
}

/* A SNAPSHOT byte in words, e.g. "write|dev-local" or "read|pmd". */
const char *hmm_prot_str(__u8 prot, char *buf, size_t len)
{
	const char *access = "none";

	if (prot == HMM_DMIRROR_PROT_ERROR) {
		snprintf(buf, len, "error");
		return buf;
	}
	if (prot & HMM_DMIRROR_PROT_WRITE)
		access = "write";
	else if (prot & HMM_DMIRROR_PROT_READ)
		access = "read";
	snprintf(buf, len, "%s%s%s%s", access, hmm_prot_kind(prot),
		 (prot & HMM_DMIRROR_PROT_PMD) ? "|pmd" : "",
		 (prot & HMM_DMIRROR_PROT_PUD) ? "|pud" : "");
	return buf;
}

const char *hmm_status_str(__u8 status)
{
	static const char * const names[] = {
		[HMM_NC_PS_UNTOUCHED] = "untouched",
		[HMM_NC_PS_MOVED] = "moved",
		[HMM_NC_PS_NO_PAGE] = "no-page",
		[HMM_NC_PS_SKIPPED] = "skipped",
		[HMM_NC_PS_NOT_ANON] = "not-anon",
		[HMM_NC_PS_NOMEM] = "nomem",
		[HMM_NC_PS_BUSY] = "busy",
		[HMM_NC_PS_REFUSED] = "refused",
		[HMM_NC_PS_WRITEBACK] = "writeback",
		[HMM_NC_PS_COPY_FAILED] = "copy-failed",
		[HMM_NC_PS_SHARED] = "shared",
	};

	if (status < ARRAY_SIZE(names))
		return names[status];
	return "?";
}

static int hmm_rf_hold_cmd(int fd, unsigned long request, __u32 kind,
			   __u64 count)
{
	struct hmm_nc_rf_hold cmd;

	memset(&cmd, 0, sizeof(cmd));
	cmd.kind = kind;
	cmd.count = count;
	if (ioctl(fd, request, &cmd) < 0)
		return -errno;
	return (int)cmd.held;
}

int hmm_rf_hold(int fd, __u32 kind, __u64 count)
{
	return hmm_rf_hold_cmd(fd, HMM_NC_RF_HOLD, kind, count);
}

int hmm_rf_release(int fd, __u32 kind, __u64 count)
{
	return hmm_rf_hold_cmd(fd, HMM_NC_RF_RELEASE, kind, count);
}

int hmm_rf_state(int fd, struct hmm_nc_rf_state *st)
{
	memset(st, 0, sizeof(*st));
	return ioctl(fd, HMM_NC_RF_STATE, st) < 0 ? -errno : 0;
}

/* HMM_NC_RF_MIGRATE; out (the command's counts) may be NULL. */
int hmm_rf_migrate(int fd, __u32 mode, struct hmm_nc_rf_page *pages,
		   __u64 npages, struct hmm_nc_rf_migrate *out)
{
	struct hmm_nc_rf_migrate cmd;

	memset(&cmd, 0, sizeof(cmd));
	cmd.mode = mode;
	cmd.npages = npages;
	cmd.pages = (uintptr_t)pages;
	return hmm_ioctl_out(fd, HMM_NC_RF_MIGRATE, &cmd, out);
}

int hmm_engine_set(int fd, __u32 flags, __u32 batch_pages, __u32 setup_us,
		   struct hmm_nc_engine *out)
{
	struct hmm_nc_engine cmd;

	memset(&cmd, 0, sizeof(cmd));
	cmd.flags = flags;
	cmd.batch_pages = batch_pages;
	cmd.setup_us = setup_us;
	return hmm_ioctl_out(fd, HMM_NC_ENGINE_SET, &cmd, out);
}

int hmm_engine_get(int fd, struct hmm_nc_engine *out)
{
	memset(out, 0, sizeof(*out));
	return ioctl(fd, HMM_NC_ENGINE_GET, out) < 0 ? -errno : 0;
}

int hmm_engine_reset(int fd)
{
	return hmm_engine_set(fd, 0, 0, 0, NULL);
}

int hmm_fault_set(int fd, __u32 point, __u32 skip, __u32 times,
		  struct hmm_nc_fault *out)
{
	struct hmm_nc_fault cmd;

	memset(&cmd, 0, sizeof(cmd));
	cmd.point = point;
	cmd.skip = skip;
	cmd.times = times;
	return hmm_ioctl_out(fd, HMM_NC_FAULT_SET, &cmd, out);
}

int hmm_fault_get(int fd, __u32 point, struct hmm_nc_fault *out)
{
	memset(out, 0, sizeof(*out));
	out->point = point;
	return ioctl(fd, HMM_NC_FAULT_GET, out) < 0 ? -errno : 0;
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

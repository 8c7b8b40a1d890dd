// SPDX-License-Identifier: GPL-2.0
/*
 * libhmm: the device's commands, the skip decisions, buffers and their
 * patterns for the test_hmm selftests and tools. What the tests need of
 * the rest of the system (page maps, block devices, sysfs, the kernel
 * log) is in libhmm_sys.c.
 */
#include <assert.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <sys/utsname.h>
#include <unistd.h>
#include <linux/capability.h>

#include "libhmm.h"

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
	  "migrate_pages() not found at load (CONFIG_KPROBES?)" },
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

/*
 * What each release the suite knows offers. 6.1 has it all but
 * HMM_DMIRROR_RELEASE (upstream 6.2; Debian's 6.1 has it, others may
 * not). On every release the migration core's entry points (and on 6.12
 * the aio ring's) are found at load (CONFIG_KPROBES, in the suite's
 * config).
 */
static const struct {
	unsigned int major, minor, needs;
} hmm_release_table[] = {
	{ 5, 10, HMM_NEED_NOCOPY | HMM_NEED_REFUSALS | HMM_NEED_AIO_RING |
		 HMM_NEED_CORE_MIGRATE | HMM_NEED_HUGETLB },
	{ 6, 1, HMM_NEED_NOCOPY | HMM_NEED_REFUSALS | HMM_NEED_EXCLUSIVE |
		HMM_NEED_AIO_RING | HMM_NEED_CORE_MIGRATE | HMM_NEED_HUGETLB },
	{ 6, 12, HMM_NEED_EXCLUSIVE | HMM_NEED_RELEASE | HMM_NEED_AIO_RING |
		 HMM_NEED_CORE_MIGRATE | HMM_NEED_HUGETLB },
};

unsigned int hmm_kernel_release(void)
{
	unsigned int major, minor;
	struct utsname u;

	if (uname(&u) || sscanf(u.release, "%u.%u", &major, &minor) != 2)
		return 0;
	return HMM_RELEASE(major, minor);
}

unsigned int hmm_release_needs(void)
{
	unsigned int release = hmm_kernel_release(), i;

	for (i = 0; i < ARRAY_SIZE(hmm_release_table); i++)
		if (HMM_RELEASE(hmm_release_table[i].major,
				hmm_release_table[i].minor) == release)
			return hmm_release_table[i].needs;
	return 0;
}

unsigned int hmm_unmet_lost(int fd, unsigned int needs)
{
	struct hmm_nc_info info;

	needs &= hmm_release_needs();
	if (!needs || hmm_info(fd, &info))
		return 0;
	return needs & ~hmm_offered(&info);
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

/*
 * HMM_NC_MIGRATE_ANON, HMM_NC_MIGRATE_FILE and HMM_NC_CORE_MIGRATE start
 * alike (addr, npages, the page array, flags, mode): one helper fills
 * that common initial sequence, the rest of the command stays zero.
 */
union hmm_range_cmd {
	struct hmm_nc_migrate_cmd anon;
	struct hmm_nc_file_cmd file;
	struct hmm_nc_core_cmd core;
};

/* The last field the helper fills: where it is, the others are too. */
static_assert(offsetof(struct hmm_nc_file_cmd, mode) ==
	      offsetof(struct hmm_nc_migrate_cmd, mode), "file cmd layout");
static_assert(offsetof(struct hmm_nc_core_cmd, mode) ==
	      offsetof(struct hmm_nc_migrate_cmd, mode), "core cmd layout");

static int hmm_range_cmd(int fd, unsigned long request, void *addr,
			 __u64 npages, __u32 mode, __u32 flags, void *array,
			 void *out)
{
	union hmm_range_cmd cmd;

	memset(&cmd, 0, sizeof(cmd));
	cmd.anon.addr = (uintptr_t)addr;
	cmd.anon.npages = npages;
	cmd.anon.status = (uintptr_t)array;
	cmd.anon.flags = flags;
	cmd.anon.mode = mode;
	return hmm_ioctl_out(fd, request, &cmd, out);
}

/* HMM_NC_MIGRATE_ANON; status (npages bytes) may be NULL. */
int hmm_migrate_anon(int fd, void *addr, __u64 npages, __u32 mode,
		     __u32 flags, __u8 *status, struct hmm_nc_migrate_cmd *out)
{
	return hmm_range_cmd(fd, HMM_NC_MIGRATE_ANON, addr, npages, mode,
			     flags, status, out);
}

int hmm_migrate_file(int fd, void *addr, __u64 npages, __u32 mode,
		     __u32 flags, struct hmm_nc_file_page *pages,
		     struct hmm_nc_file_cmd *out)
{
	return hmm_range_cmd(fd, HMM_NC_MIGRATE_FILE, addr, npages, mode,
			     flags, pages, out);
}

int hmm_core_migrate(int fd, void *addr, __u64 npages, __u32 mode,
		     __u32 flags, struct hmm_nc_core_page *pages,
		     struct hmm_nc_core_cmd *out)
{
	return hmm_range_cmd(fd, HMM_NC_CORE_MIGRATE, addr, npages, mode,
			     flags, pages, out);
}

int hmm_core_migrate_node(int fd, void *addr, __u64 npages, __u32 mode,
			  __u32 flags, __u32 node,
			  struct hmm_nc_core_page *pages,
			  struct hmm_nc_core_cmd *out)
{
	struct hmm_nc_core_cmd cmd;

	memset(&cmd, 0, sizeof(cmd));
	cmd.addr = (uintptr_t)addr;
	cmd.npages = npages;
	cmd.pages = (uintptr_t)pages;
	cmd.flags = flags | HMM_NC_CORE_TO_NODE;
	cmd.mode = mode;
	cmd.node = node;
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

int hmm_engines_reset(FILE *report)
{
	struct hmm_nc_engine en;
	unsigned int unit;
	int fd, ret, n = 0;

	for (unit = 0; (fd = hmm_open(unit)) >= 0; unit++) {
		ret = hmm_engine_get(fd, &en);
		/* GET answers batch_pages resolved: the default is its value. */
		if (!ret && (en.flags || en.setup_us ||
			     en.batch_pages != HMM_NC_BATCH_PAGES)) {
			ret = hmm_engine_reset(fd);
			if (!ret && report)
				fprintf(report,
					HMM_DEV_FMT ": engine 0x%x/%u/%u reset\n",
					unit, en.flags, en.batch_pages,
					en.setup_us);
			n += !ret;
		}
		close(fd);
		if (ret)
			return ret;
	}
	return fd == -ENOENT ? n : fd;
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

/* SPDX-License-Identifier: GPL-2.0 */
/*
 * libhmm: the userspace side of the test_hmm device, shared by the
 * selftests, the benchmark and the hmmctl CLI.
 *
 * Functions return 0 or a non-negative count on success and -errno on
 * failure, so callers can assert on the exact error.
 */
#ifndef _LIBHMM_H
#define _LIBHMM_H

#include <stdbool.h>
#include <stdio.h>
#include <stddef.h>
#include <stdint.h>

#include "test_hmm_uapi.h"

#define HMM_DEV_FMT	"/dev/hmm_dmirror%u"
#define HMM_MODULE	"test_hmm"

#ifndef ARRAY_SIZE
#define ARRAY_SIZE(a)	(sizeof(a) / sizeof((a)[0]))
#endif

/* The module: where the VM runner puts it (HMM_MODULE_KO overrides). */
#define HMM_MODULE_KO_DEFAULT	"/lib/modules/hmm/test_hmm.ko"
const char *hmm_module_ko(void);
int hmm_module_load(const char *ko);
int hmm_module_unload(void);
int hmm_open_wait(unsigned int unit);

/* Devices. */
int hmm_open(unsigned int unit);
/*
 * Drops CAP_SYS_ADMIN from the calling process's effective set, for tests
 * of what a caller without it may do (lib/test_hmm_uapi.h, "Who may do
 * what"): call it in a child of its own. 0 or -errno.
 */
int hmm_drop_sys_admin(void);
int hmm_cmd(int fd, unsigned long request, void *addr, void *ptr,
	    __u64 npages, struct hmm_dmirror_cmd *out);
int hmm_counters(int fd, bool global, struct hmm_nc_counters *out);
void hmm_counters_delta(const struct hmm_nc_counters *before,
			const struct hmm_nc_counters *after,
			struct hmm_nc_counters *delta);

/*
 * The name of a page kind (enum hmm_nc_cb, the index of the counters'
 * migrated[] and failed[]), from the uapi's one list of kinds; NULL
 * past its end.
 */
static inline const char *hmm_cb_name(unsigned int cb)
{
#define HMM_NC_CB_KIND(id, name)	\
	[HMM_NC_CB_##id] = (name),
	static const char * const names[HMM_NC_CB_COUNT] = { HMM_NC_CBS };
#undef HMM_NC_CB_KIND

	return cb < HMM_NC_CB_COUNT ? names[cb] : NULL;
}

int hmm_snapshot(int fd, void *addr, __u64 npages, __u8 *prot);
int hmm_migrate_anon(int fd, void *addr, __u64 npages, __u32 mode,
		     __u32 flags, __u8 *status, struct hmm_nc_migrate_cmd *out);
/*
 * Page-cache pages of a mapped file (HMM_NC_MIGRATE_FILE); pages may be
 * NULL, else npages records come back.
 */
int hmm_migrate_file(int fd, void *addr, __u64 npages, __u32 mode,
		     __u32 flags, struct hmm_nc_file_page *pages,
		     struct hmm_nc_file_cmd *out);
const char *hmm_prot_str(__u8 prot, char *buf, size_t len);
const char *hmm_status_str(__u8 status);

/*
 * What the device offers (HMM_NC_INFO). Every "can this test run here"
 * decision is made from it, here, never guessed from errnos test by
 * test. hmm_info() answers -ENODEV for a device that is not ours (the
 * kernel's own test_hmm.ko answers the command with EINVAL).
 */
enum hmm_need {
	HMM_NEED_NOCOPY		= 1U << 0,	/* MIGRATE_SYNC_NO_COPY */
	HMM_NEED_REFUSALS	= 1U << 1,	/* callbacks that refuse NO_COPY */
	HMM_NEED_EXCLUSIVE	= 1U << 2,	/* HMM_DMIRROR_EXCLUSIVE */
	HMM_NEED_RELEASE	= 1U << 3,	/* HMM_DMIRROR_RELEASE */
	HMM_NEED_AIO_RING	= 1U << 4,	/* HMM_NC_CB_AIO pages migrate */
	HMM_NEED_CORE_MIGRATE	= 1U << 5,	/* HMM_NC_CORE_MIGRATE, LRU pages */
	HMM_NEED_HUGETLB	= 1U << 6,	/* ... of hugetlb pages too */
};

int hmm_info(int fd, struct hmm_nc_info *out);
bool hmm_info_serves(const struct hmm_nc_info *info, unsigned long request);
/* NULL when the device behind fd offers every need, else a short reason. */
const char *hmm_unmet(int fd, unsigned int needs);
/* The same for one ioctl command. */
const char *hmm_unmet_cmd(int fd, unsigned long request);
/*
 * The needs the running kernel's release (uname) is known to meet, with
 * the suite's config: on such a release a need that is not offered is a
 * lost test (an entry point the module failed to find, a port gone
 * wrong), a failure and not a skip. 0 for a release not in the table.
 */
unsigned int hmm_release_needs(void);
/*
 * The running kernel's release from uname, as HMM_RELEASE(major, minor)
 * gives it (so releases compare as numbers); 0 if uname cannot say.
 */
#define HMM_RELEASE(major, minor)	((major) << 8 | (minor))
unsigned int hmm_kernel_release(void);
/* Of needs, those the device behind fd does not offer though it must. */
unsigned int hmm_unmet_lost(int fd, unsigned int needs);
/*
 * Whether /dev/hmm_dmirror0 is ours: 0, -ENOENT when there is no such
 * device, -ENODEV when somebody else's (why says whose), other -errno.
 */
int hmm_device_check(char *why, size_t len);

/* Buffers: page-aligned anonymous memory, and a pattern to fill it with. */
size_t hmm_page_size(void);
void *hmm_map_anon(size_t size, int prot);
int hmm_unmap(void *addr, size_t size);
void hmm_fill(void *addr, size_t size, __u64 seed);
ssize_t hmm_verify(const void *addr, size_t size, __u64 seed);
ssize_t hmm_verify_word(const void *addr, size_t size, __u64 word);

/*
 * Page identity, from /proc/self/pagemap (PFNs need CAP_SYS_ADMIN). A
 * page on a device shows as a swap-type entry with no PFN.
 */
#define HMM_PM_PRESENT		0x8000000000000000ULL
#define HMM_PM_SWAP		0x4000000000000000ULL
#define HMM_PM_PFN_MASK		0x007fffffffffffffULL
/*
 * Soft-dirty (since clear_refs 4), mapped by this mapping alone (device
 * pages too: their mapcount), userfaultfd write-protect (5.13 on).
 */
#define HMM_PM_SOFT_DIRTY	0x0080000000000000ULL
#define HMM_PM_EXCLUSIVE	0x0100000000000000ULL
#define HMM_PM_UFFD_WP		0x0200000000000000ULL

int hmm_pfn(const void *addr, __u64 *pfn);
int hmm_pagemap(const void *addr, size_t npages, __u64 *entries);

/* The PFN of a pagemap entry, or 0 when no page is present. */
static inline __u64 hmm_pm_pfn(__u64 entry)
{
	return (entry & HMM_PM_PRESENT) ? entry & HMM_PM_PFN_MASK : 0;
}

/* A swap-type entry: on a device (or swapped out, or migrating). */
static inline bool hmm_pm_swapped(__u64 entry)
{
	return !(entry & HMM_PM_PRESENT) && (entry & HMM_PM_SWAP);
}

/*
 * The offset of a swap-type entry: for a page on a device, the PFN of its
 * device-private page (the swap type fills the frame's low 5 bits).
 */
static inline __u64 hmm_pm_swap_pfn(__u64 entry)
{
	return hmm_pm_swapped(entry) ? (entry & HMM_PM_PFN_MASK) >> 5 : 0;
}

/*
 * Refusal paths (HMM_NC_RF_*): items the device holds, and batches of
 * balloon, zsmalloc, aio ring and movable pages migrated in one mode.
 * hold/release return the number of items of the kind held afterwards.
 */
int hmm_rf_hold(int fd, __u32 kind, __u64 count);
int hmm_rf_release(int fd, __u32 kind, __u64 count);
int hmm_rf_state(int fd, struct hmm_nc_rf_state *st);
int hmm_rf_migrate(int fd, __u32 mode, struct hmm_nc_rf_page *pages,
		   __u64 npages, struct hmm_nc_rf_migrate *out);

/*
 * The device's DMA engine parameters (HMM_NC_ENGINE_*), for benchmarks:
 * flags HMM_NC_ENGINE_*, batch_pages 0 for the default. out (the
 * parameters as they now stand) may be NULL. hmm_engine_reset() puts
 * the defaults back.
 */
int hmm_engine_set(int fd, __u32 flags, __u32 batch_pages, __u32 setup_us,
		   struct hmm_nc_engine *out);
int hmm_engine_get(int fd, struct hmm_nc_engine *out);
int hmm_engine_reset(int fd);
/*
 * The engine's settings are the device's, not the open file's: a test
 * killed before its teardown leaves them to the next one. Puts every
 * device's engine back to the defaults; for each one that was not, a
 * line to report (if not NULL): "/dev/hmm_dmirrorN: engine
 * FLAGS/BATCH_PAGES/SETUP_US reset". Returns how many were reset, or
 * -errno.
 */
int hmm_engines_reset(FILE *report);

/*
 * Fault injection on this open file (HMM_NC_FAULT_*): at point, let skip
 * events succeed, then fail the next times ones; times 0 disarms. out
 * (the point as it now stands) may be NULL.
 */
int hmm_fault_set(int fd, __u32 point, __u32 skip, __u32 times,
		  struct hmm_nc_fault *out);
int hmm_fault_get(int fd, __u32 point, struct hmm_nc_fault *out);

/*
 * The kernel's migration core (HMM_NC_CORE_*): the folios of a range
 * through migrate_pages() in mode (pages: NULL or npages records), and
 * a page lock the device holds for hold_ms (*pfn: the folio locked, may
 * be NULL).
 */
int hmm_core_migrate(int fd, void *addr, __u64 npages, __u32 mode,
		     __u32 flags, struct hmm_nc_core_page *pages,
		     struct hmm_nc_core_cmd *out);
/* The same, every destination on the NUMA node given (HMM_NC_CORE_TO_NODE). */
int hmm_core_migrate_node(int fd, void *addr, __u64 npages, __u32 mode,
			  __u32 flags, __u32 node,
			  struct hmm_nc_core_page *pages,
			  struct hmm_nc_core_cmd *out);
int hmm_core_lock(int fd, void *addr, __u32 hold_ms, __u64 *pfn);

/*
 * Page flags of a PFN from /proc/kpageflags (KPF_* bit numbers of
 * linux/kernel-page-flags.h), or -errno.
 */
#define HMM_KPF_LOCKED		0
#define HMM_KPF_REFERENCED	2
#define HMM_KPF_DIRTY		4
#define HMM_KPF_LRU		5
#define HMM_KPF_ACTIVE		6
#define HMM_KPF_COMPOUND_HEAD	15
#define HMM_KPF_HUGE		17
#define HMM_KPF_UNEVICTABLE	18
#define HMM_KPF_THP		22
#define HMM_KPF_WRITEBACK	8
#define HMM_KPF_BUDDY		10
#define HMM_KPF_MMAP		11
#define HMM_KPF_ANON		12
#define HMM_KPF_OFFLINE		23	/* balloon pages, among others */
#define HMM_KPF_MLOCKED		33
#define HMM_KPF_MAPPEDTODISK	34
#define HMM_KPF_PRIVATE		35	/* buffer heads, iomap's state */
int hmm_kpageflags(__u64 pfn, __u64 *flags);

/*
 * The references the kernel counts on a PFN, from /proc/kpagecount (its
 * map count for a page that is mapped, else its page count: 0 once the
 * page is free), or -errno.
 */
int hmm_kpagecount(__u64 pfn, __u64 *count);

/*
 * Sectors a block device (its /dev path) has read or written so far, by
 * its own counters in /sys/block/<name>/stat, or -errno.
 */
long long hmm_disk_sectors(const char *dev, bool written);

/* A long from a sysfs or procfs file, or -errno. */
long hmm_read_long(const char *path);

/* A key's value in a flat-keyed file ("key value" lines), or -errno. */
long hmm_key_value(const char *path, const char *key);

/*
 * A counter of /proc/vmstat (nr_zspages, balloon_deflate...), exact: the
 * per-CPU differences folded in first (vm.stat_refresh); or -errno.
 */
long hmm_vmstat(const char *key);

/*
 * Free memory in kB: MemFree and the pages on the per-CPU free lists
 * (which MemFree leaves out), after writing back and dropping every
 * clean page-cache page and slab object; or -errno.
 */
long hmm_free_kb(void);

/*
 * Waits until the kernel's random number generator is ready, as a
 * blocking getrandom() does: at once on a machine that booted with
 * entropy, about a second of the kernel's own timer jitter in a guest
 * without (no virtio-rng, no trusted RDRAND). Call it before running a
 * program that asks for random bytes without blocking: libuuid (mkfs's
 * UUIDs) sleeps and retries each such request before it falls back to
 * /dev/urandom, seconds per mkfs. Best effort: without it (no
 * getrandom()) such a program is only slower.
 */
void hmm_random_ready(void);

/* Writes s to the file at path (sysfs, procfs, cgroupfs): 0 or -errno. */
int hmm_write_str(const char *path, const char *s);

/*
 * Shared state: the system tunables a test may change that outlive it
 * (the flusher's sysctls, KSM's and THP's tunables, where core dumps
 * go), in the order they are put back. The one list of them: the test
 * fixtures restore them between the tests of a binary, and the suite's
 * runner (reset.sh, through "hmmctl shared-files") between binaries.
 * The hugetlb pools of each page size are shared state too; their
 * files are found by a glob, HMM_SHARED_POOLS.
 */
extern const char * const hmm_shared_files[];
extern const unsigned int hmm_nshared_files;
#define HMM_SHARED_POOLS	"/sys/kernel/mm/hugepages/hugepages-*"

/*
 * The pool of 2 MiB huge pages. raise() grows it so that n pages are
 * free, if fewer are (a pool with room is left as it is), puts its size
 * before in *was (-1 if it did not change it) and returns the free pages
 * now, or -errno; set() puts a size back.
 */
long hmm_hugetlb_pool_raise(long n, long *was);
int hmm_hugetlb_pool_set(long n);

/*
 * A mount namespace of the caller's own, propagating nothing to or from
 * the rest of the system: a test's mounts cannot land on a path someone
 * else prepared (a symlink in /tmp) or be seen outside, and they go with
 * the test's process, even one killed by its timeout. Call it while the
 * process has a single thread.
 */
int hmm_private_mounts(void);

/*
 * A loop device of its own for a test's file system: a free one (never
 * one somebody else uses, so the tests can run on a real machine), over
 * an unnamed sparse file of size bytes in directory dir (on ramfs, say:
 * over a tmpfs file, mkfs's block zeroing fails in the kernel log). Its
 * path goes to path[len]. Returns the open device, or -errno. The device detaches
 * itself once it is closed and nothing mounted uses it any more.
 */
#define HMM_LOOP_PATH_LEN	32
int hmm_loop_attach(const char *dir, long long size, char *path, size_t len);

/*
 * A slow block device of a test's own: a memory-backed null_blk made
 * through configfs (CONFIG_BLK_DEV_NULL_BLK; configfs is mounted on
 * /sys/kernel/config if it is not there yet), named config there, of
 * size_mb MiB and bs-byte blocks, whose every request completes ms
 * milliseconds after it was issued (a timer): a page written to it stays
 * under writeback that long. Its block device's name (config itself from
 * 6.0 on, nullb<index> before) goes to name[len]. Returns 0, -ENODEV
 * when the kernel has no null_blk in configfs, or -errno; once it
 * returned anything but -ENODEV, hmm_nullb_remove() powers the device
 * off and removes it (nothing may still use it).
 */
int hmm_nullb_slow(const char *config, unsigned int size_mb, unsigned int bs,
		   unsigned int ms, char *name, size_t len);
void hmm_nullb_remove(const char *config);

/*
 * The kernel log from now on: hmm_kmsg_open() returns a reader of
 * /dev/kmsg past everything logged so far (or -errno);
 * hmm_kmsg_count() reads what was logged since and returns how many
 * records contain one of the NULL-terminated needles, the first of them
 * in first[len] (if first is not NULL). For what the suite's log gate
 * (BUG, WARNING, ...) does not count as a report: "page allocation
 * failure", "VM_FAULT_OOM leaked".
 */
int hmm_kmsg_open(void);
int hmm_kmsg_count(int fd, const char *const *needles, char *first,
		   size_t len);

#endif /* _LIBHMM_H */

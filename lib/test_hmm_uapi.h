/* SPDX-License-Identifier: GPL-2.0 WITH Linux-syscall-note */
/*
 * User ABI of the test_hmm NO_COPY test device (/dev/hmm_dmirror*).
 *
 * Commands 'H' 0x00-0x07 keep the layout and numbers of the Linux 6.1
 * HMM test device, so clients written for that device work unchanged.
 * Commands from HMM_NC_CMD_BASE up are this project's extensions.
 * Every extension structure has fixed-width fields only, a flags word,
 * and reserved space: unknown flags and non-zero reserved fields are
 * refused with -EINVAL.
 *
 * Every command is _IOWR: the device reads the whole structure
 * (_IOC_SIZE bytes) before the command runs, and writes it back only
 * when the command succeeds (returns 0), as the 6.1 device does: after
 * an error the caller's structure is as it was. The page arrays a
 * structure points at follow one rule of their own ("Page arrays").
 * A known command number with another size or direction answers ENOTTY.
 */
#ifndef _TEST_HMM_UAPI_H
#define _TEST_HMM_UAPI_H

#include <linux/types.h>
#include <linux/ioctl.h>

/*
 * Who may do what. The device moves, reads and writes other memory
 * than the caller's buffers (device memory of every opener, the page
 * cache of mapped files, held kernel objects), and hands out page frame
 * numbers: it is a test instrument for the system's administrator.
 *  open()       needs CAP_SYS_ADMIN (EPERM otherwise, uid 0 or not).
 *               A file passed on (fork, SCM_RIGHTS) keeps the model
 *               below: commands that name addresses serve its opener
 *               only (EACCES), the others check the caller.
 *  read-only    an fd opened O_RDONLY may look (READ, SNAPSHOT,
 *               CHECK_EXCLUSIVE, GET_COUNTERS, INFO, ENGINE_GET,
 *               FAULT_GET, RF_STATE); every command that changes memory
 *               or the device's state answers EBADF: WRITE,
 *               MIGRATE_TO_DEV/SYS, EXCLUSIVE, RELEASE, MIGRATE_ANON,
 *               MIGRATE_FILE, ENGINE_SET, FAULT_SET, RF_HOLD, RF_RELEASE,
 *               RF_MIGRATE, CORE_MIGRATE, CORE_LOCK.
 *  device-wide  RELEASE (evicts every opener's device pages), ENGINE_SET
 *               (every user's engine), RF_HOLD, RF_RELEASE and
 *               RF_MIGRATE (items that belong to the device, not to a
 *               caller) and CORE_LOCK (holds a page lock others wait
 *               for) need CAP_SYS_ADMIN at the time of the call:
 *               EPERM for a caller that dropped it after open().
 *  PFNs         old_pfn/new_pfn read zero for a caller without
 *               CAP_SYS_ADMIN, as /proc/PID/pagemap does, in the page
 *               records of every command (below).
 * So root with CAP_SYS_ADMIN and an O_RDWR fd may do everything the 6.1
 * test device allowed (the kernel's hmm-tests run unchanged); nobody
 * else may do anything: there is no unprivileged use of this device.
 * Every check is one flag of one table (lib/test_hmm_core.c), checked
 * by the dispatcher before a command runs; the PFNs are hidden by the
 * one helper every page array goes through (lib/test_hmm_uarray.c).
 *
 * Memory the device refuses to touch, whoever asks: memfd_secret()
 * mappings (not in the kernel's direct map) answer EINVAL from every
 * command that names them.
 */

/*
 * Page arrays: one entry a page, at an address a command names, in
 * HMM_NC_MIGRATE_ANON (status), HMM_NC_MIGRATE_FILE, HMM_NC_CORE_MIGRATE
 * and HMM_NC_RF_MIGRATE (pages). Every one follows the same rule:
 *  1. npages is checked first: EINVAL for 0 or above the command's cap.
 *  2. The array is taken in before the command runs. RF_MIGRATE's
 *     entries are read (the caller fills them in): EFAULT if they cannot
 *     be. The other arrays are the command's answers only: address 0
 *     asks for none; any other is cleared first, EFAULT if it cannot be
 *     written, so that nothing has happened when the answer could not
 *     be given.
 *  3. The array is written back when the command ends, whether it
 *     succeeded or failed: after an error (EIO after a failed DMA copy,
 *     say) it still says what became of each page, and a page the
 *     command did not reach reads as HMM_NC_PS_UNTOUCHED. RF_MIGRATE
 *     fails only before any callback ran: its entries then come back as
 *     the caller wrote them. An error of the command wins over a failed
 *     write-back; after a success, a failed write-back answers EFAULT.
 *  4. old_pfn and new_pfn read zero for a caller without CAP_SYS_ADMIN.
 * Why written back on error: the array is how a caller learns which
 * pages moved, and it matters most when a command stopped halfway, as
 * move_pages(2) fills its status array for the pages it reached.
 */

/* Base commands: the 6.1 test device ABI. */
struct hmm_dmirror_cmd {
	__u64 addr;	/* user virtual address of the range */
	__u64 ptr;	/* user buffer the device reads into / writes from */
	__u64 npages;	/* pages in the range */
	__u64 cpages;	/* out: pages handled */
	__u64 faults;	/* out: device faults taken */
};

#define HMM_DMIRROR_READ		_IOWR('H', 0x00, struct hmm_dmirror_cmd)
#define HMM_DMIRROR_WRITE		_IOWR('H', 0x01, struct hmm_dmirror_cmd)
#define HMM_DMIRROR_MIGRATE_TO_DEV	_IOWR('H', 0x02, struct hmm_dmirror_cmd)
#define HMM_DMIRROR_MIGRATE_TO_SYS	_IOWR('H', 0x03, struct hmm_dmirror_cmd)
#define HMM_DMIRROR_SNAPSHOT		_IOWR('H', 0x04, struct hmm_dmirror_cmd)
#define HMM_DMIRROR_EXCLUSIVE		_IOWR('H', 0x05, struct hmm_dmirror_cmd)
#define HMM_DMIRROR_CHECK_EXCLUSIVE	_IOWR('H', 0x06, struct hmm_dmirror_cmd)
#define HMM_DMIRROR_RELEASE		_IOWR('H', 0x07, struct hmm_dmirror_cmd)

/* One byte per page in the SNAPSHOT output buffer. */
enum {
	HMM_DMIRROR_PROT_ERROR			= 0xFF,
	HMM_DMIRROR_PROT_NONE			= 0x00,
	HMM_DMIRROR_PROT_READ			= 0x01,
	HMM_DMIRROR_PROT_WRITE			= 0x02,
	HMM_DMIRROR_PROT_PMD			= 0x04,
	HMM_DMIRROR_PROT_PUD			= 0x08,
	HMM_DMIRROR_PROT_ZERO			= 0x10,
	HMM_DMIRROR_PROT_DEV_PRIVATE_LOCAL	= 0x20,
	HMM_DMIRROR_PROT_DEV_PRIVATE_REMOTE	= 0x30,
	HMM_DMIRROR_PROT_DEV_COHERENT_LOCAL	= 0x40,
	HMM_DMIRROR_PROT_DEV_COHERENT_REMOTE	= 0x50,
};

/* Memory kinds of the 6.1 device; this device offers device-private. */
enum {
	HMM_DMIRROR_MEMORY_DEVICE_PRIVATE = 1,
	HMM_DMIRROR_MEMORY_DEVICE_COHERENT,
};

/* Extensions. */
#define HMM_NC_CMD_BASE		0x40
#define HMM_NC_ABI_VERSION	2	/* 2: HMM_NC_INFO */

/*
 * The page kinds (enum hmm_nc_cb) and the refusal-path commands
 * (0x50-0x5f, HMM_NC_RF_*) are in a header of their own, part of this
 * ABI: test_hmm_uapi_refuse.h.
 */
#include "test_hmm_uapi_refuse.h"

/*
 * The counters keep fixed room for callback kinds and modes, so a new
 * kind changes neither the structure's size nor the ioctl's number.
 */
#define HMM_NC_CB_SLOTS		16
#define HMM_NC_MODE_SLOTS	4

/*
 * Migration modes a caller may ask for (values are not the kernel's).
 * SYNC_LIGHT and ASYNC are the migration core's lighter modes, controls
 * for the tests of its switches: only HMM_NC_CORE_MIGRATE takes them,
 * the device's own workflows answer EINVAL.
 */
enum hmm_nc_mode {
	HMM_NC_MODE_SYNC = 0,		/* MIGRATE_SYNC: the kernel copies */
	HMM_NC_MODE_SYNC_NO_COPY,	/* MIGRATE_SYNC_NO_COPY: we copy */
	HMM_NC_MODE_SYNC_LIGHT,		/* MIGRATE_SYNC_LIGHT */
	HMM_NC_MODE_ASYNC,		/* MIGRATE_ASYNC */
	HMM_NC_MODE_COUNT,		/* at most HMM_NC_MODE_SLOTS */
};

/*
 * Counters. The global set covers every device since module load; the
 * per-device set covers one device since it was created. When nothing
 * is in flight, pages_locked == pages_unlocked, pages_taken ==
 * pages_returned, and devmem_alloc - devmem_free is the number of
 * device pages still holding data.
 */
struct hmm_nc_counters {
	__u64 batches;		/* DMA copy operations issued */
	__u64 pages_copied;	/* pages copied by the DMA engine */
	__u64 pages_locked;	/* source pages locked by the engine */
	__u64 pages_unlocked;
	__u64 pages_taken;	/* pages isolated or referenced by the engine */
	__u64 pages_returned;	/* ... and given back */
	__u64 devmem_alloc;	/* device-private pages handed out */
	__u64 devmem_free;	/* device-private pages given back */
	__u64 devmem_chunks;	/* device memory chunks created */
	__u64 cpu_faults;	/* migrate_to_ram() calls */
	__u64 mirror_faults;	/* hmm_range_fault() retries and faults */
	__u64 invalidations;	/* mmu interval notifier invalidations */
	__u64 refusals;		/* callbacks that returned -EINVAL */
	/* [callback kind][mode]; slots past the _COUNTs read zero */
	__u64 migrated[HMM_NC_CB_SLOTS][HMM_NC_MODE_SLOTS];
	__u64 failed[HMM_NC_CB_SLOTS][HMM_NC_MODE_SLOTS];
	__u64 faults_injected;	/* failures made by HMM_NC_FAULT_SET */
	__u64 copy_failed;	/* pages left in place: their copy failed */
	__u64 reserved[14];
};

#define HMM_NC_COUNTERS_GLOBAL	0x1U	/* module-wide, not per device */
#define HMM_NC_COUNTERS_FLAGS	HMM_NC_COUNTERS_GLOBAL

struct hmm_nc_counters_cmd {
	__u32 flags;		/* in: HMM_NC_COUNTERS_* */
	__u32 abi_version;	/* out: HMM_NC_ABI_VERSION */
	__u64 reserved[2];	/* in: must be zero */
	struct hmm_nc_counters counters;	/* out */
};

#define HMM_NC_GET_COUNTERS \
	_IOWR('H', HMM_NC_CMD_BASE + 0x00, struct hmm_nc_counters_cmd)

/*
 * HMM_NC_INFO: what the caller talks to, so that userspace decides in
 * one place whether a test can run here. Any device answering it with
 * HMM_NC_INFO_MAGIC is this project's; the kernel's own test device has
 * no such command (it answers EINVAL).
 *  module, version  "test_hmm_nocopy" and the module's version
 *  kernel_version   LINUX_VERSION_CODE the module was built against
 *  modes            bit (1 << HMM_NC_MODE_*) for each migrate mode the
 *                   running kernel has (no SYNC_NO_COPY from 6.11 on)
 *  commands         bit n of the 256: command number n ('H', n) is served
 *                   on this kernel; the others answer EOPNOTSUPP (or
 *                   ENOTTY when this module has no such command at all)
 *  features         HMM_NC_FEAT_*: optional kernel entry points found
 * Errors: EINVAL non-zero flags or reserved; EFAULT bad pointer.
 */
#define HMM_NC_INFO_MAGIC	0x59504f434f4e4d48ULL	/* "HMNOCOPY" */
#define HMM_NC_INFO_NAME_LEN	32

/*
 * The callbacks of balloon, zsmalloc and aio pages refuse NO_COPY (not
 * from 6.11: the mode is gone, and they no longer look at it).
 */
#define HMM_NC_FEAT_REFUSALS	0x1ULL
/* make_device_exclusive_range() (5.14 on): HMM_DMIRROR_EXCLUSIVE. */
#define HMM_NC_FEAT_EXCLUSIVE	0x2ULL
/*
 * aio ring pages (HMM_NC_CB_AIO) migrate. The migration core isolates a
 * page-cache folio from the LRU before its mapping's callback;
 * folio_isolate_lru() is not exported. 5.10 and 6.1 let a folio still on
 * the LRU through, and the device migrates ring pages referenced; 6.12's
 * memcg wants it off the LRU (DEBUG_VM asserts it), and the device
 * isolates it with folio_isolate_lru() found at load (CONFIG_KPROBES).
 */
#define HMM_NC_FEAT_AIO_RING	0x4ULL
/*
 * migrate_pages(), putback_movable_pages() and LRU isolation, resolved
 * at load (none is exported): HMM_NC_CORE_MIGRATE of LRU pages.
 */
#define HMM_NC_FEAT_CORE_MIGRATE	0x8ULL
/* ... and hugetlb isolation and allocation: of hugetlb pages too. */
#define HMM_NC_FEAT_CORE_HUGETLB	0x10ULL

struct hmm_nc_info {
	__u32 flags;				/* in: zero */
	__u32 abi_version;			/* out: HMM_NC_ABI_VERSION */
	__u64 magic;				/* out: HMM_NC_INFO_MAGIC */
	__u32 kernel_version;			/* out */
	__u32 modes;				/* out */
	__u64 commands[4];			/* out */
	__u64 features;				/* out */
	char module[HMM_NC_INFO_NAME_LEN];	/* out: NUL-terminated */
	char version[HMM_NC_INFO_NAME_LEN];	/* out: NUL-terminated */
	__u64 reserved[8];			/* in: zero */
};

#define HMM_NC_INFO \
	_IOWR('H', HMM_NC_CMD_BASE + 0x02, struct hmm_nc_info)

/*
 * The mirror of one open file (the pages READ, WRITE, MIGRATE_TO_DEV and
 * EXCLUSIVE map for the device) holds at most this many entries (a few
 * MiB of kernel memory); a command that would need more answers ENOSPC.
 * Its memory is charged to the memory cgroup of the caller that made the
 * entries (about 9 bytes a page), and a command that would take the
 * cgroup past its limit answers ENOMEM (MIGRATE_TO_DEV: ENOENT, below).
 * Entries go with every invalidation of their range (munmap,
 * MADV_DONTNEED, migration) and with close(), and their charge with them.
 *
 * Memory cgroups: what a caller makes the device hold or allocate at the
 * size it asks for is charged to the caller's memory cgroup: device pages
 * (their backing pages), mirror entries, and the kernel's copy of every
 * page array (above).
 * At the cgroup's limit these fail without an OOM kill and without a
 * warning in the kernel log. Not charged: the fixed-size buffers of one
 * call (at most 2 MiB, freed before it returns), and the memory of the
 * device itself (its chunks' page structures, held refusal items).
 */
#define HMM_NC_MIRROR_MAX_PAGES	0x40000U	/* 1 GiB of 4 KiB pages */

/*
 * Errors of the base commands on this device (struct hmm_dmirror_cmd):
 *  EINVAL  addr not page-aligned, npages 0 or above
 *          HMM_NC_MIGRATE_MAX_PAGES (1 GiB; the 6.1 device had no cap);
 *          MIGRATE_TO_DEV/SYS: part of the range has no VMA or a VMA
 *          without read permission (checked before anything moves), or
 *          a VMA that cannot migrate (hugetlb, VM_IO/VM_PFNMAP, DAX).
 *  EACCES  the caller is not the process that opened this file (a forked
 *          child, a passed fd): the device mirrors its opener only. The
 *          same holds for HMM_NC_MIGRATE_ANON and HMM_NC_MIGRATE_FILE.
 *  EFAULT  the command or cmd.ptr is not accessible; READ/WRITE/SNAPSHOT
 *          on a range the process may not read (PROT_NONE, no VMA).
 *  EPERM   WRITE to a page the process may not write, or to a page of
 *          this device the CPU maps read-only (shared after fork: bring
 *          it back first); CHECK_EXCLUSIVE
 *          while a page of the range is still exclusive to the device.
 *  ENOENT  MIGRATE_TO_DEV: a page of the range did not end up on this
 *          device (shared memory, a page on another device, pinned), or
 *          in its mirror: the device ran out of memory, or the caller's
 *          memory cgroup of room for the page or its mirror entry.
 *  EBUSY   the page tables kept changing under hmm_range_fault() past
 *          its timeout; EXCLUSIVE could not take every page.
 *  ENOMEM  kernel memory ran out, or READ, WRITE or EXCLUSIVE would take
 *          the caller's memory cgroup past its limit with mirror entries.
 *  ENOSPC  the file's mirror is full (HMM_NC_MIRROR_MAX_PAGES entries).
 *  EINTR   the caller was killed: RELEASE stops waiting for device
 *          pages held by a migration in flight (the rest stay on the
 *          device); long commands stop between pieces.
 *  ESRCH   the process that opened the device has no address space.
 *  EIO     MIGRATE_TO_DEV/SYS: a DMA copy failed (HMM_NC_FAULT_SET):
 *          that batch stayed where it was, later ones were not tried.
 * READ, WRITE and MIGRATE_TO_DEV transfer in pieces of at most
 * HMM_NC_BATCH_PAGES pages: on an error, pieces before the failing one
 * may already have been transferred (the command is not written back
 * then, as with the 6.1 device: cpages says nothing).
 */

/*
 * The DMA engine moves at most this many pages in one operation: every
 * migration cuts its range into batches of at most HMM_NC_BATCH_PAGES
 * pages (and at VMA boundaries), and copies each batch as one DMA
 * operation, counted once in hmm_nc_counters.batches. These are the
 * defaults; HMM_NC_ENGINE_SET (below) can choose smaller batches and a
 * copy operation per page.
 */
#define HMM_NC_BATCH_PAGES	512

/* Every 64-bit word of a page the engine primes in a probe. */
#define HMM_NC_SENTINEL		0x4c454e49544e4553ULL	/* "SENTINEL" */

/* What happened to one page of an HMM_NC_MIGRATE_ANON range. */
enum hmm_nc_page_status {
	HMM_NC_PS_UNTOUCHED = 0,	/* not reached (an error stopped us) */
	HMM_NC_PS_MOVED,		/* state moved to a new page */
	HMM_NC_PS_NO_PAGE,		/* unpopulated or the zero page */
	HMM_NC_PS_SKIPPED,		/* not collected: device page, pinned,
					 * locked elsewhere, split failed
					 */
	HMM_NC_PS_NOT_ANON,		/* page cache or swap cache page */
	HMM_NC_PS_NOMEM,		/* no destination page */
	HMM_NC_PS_BUSY,			/* callback: -EAGAIN (extra refs) */
	HMM_NC_PS_REFUSED,		/* callback: any other error */
	HMM_NC_PS_WRITEBACK,		/* under writeback: left in place */
	HMM_NC_PS_COPY_FAILED,		/* the DMA copy failed: left in place */
	HMM_NC_PS_SHARED,		/* a probe's page another process maps
					 * too (shared after fork) or KSM
					 * merged: left in place, untouched
					 */
};

/*
 * HMM_NC_MIGRATE_ANON: move the anonymous pages of a range of the
 * opening process to new system pages with the device's batch workflow:
 * collect, unmap and lock the batch (migrate_vma_setup), allocate the
 * destinations, let the DMA engine copy the batch, migrate each page's
 * state with migrate_folio() in the chosen mode, then remap and unlock
 * (migrate_vma_finalize). Under HMM_NC_MODE_SYNC the kernel copies and
 * the engine does not; under HMM_NC_MODE_SYNC_NO_COPY the engine copies.
 *
 * HMM_NC_MIGRATE_PROBE replaces the engine's copy with a fill of every
 * destination with HMM_NC_SENTINEL, done before the state moves: after
 * NO_COPY the range then reads as the sentinel (the kernel did not
 * copy), after SYNC as the old data (the kernel did). The probe destroys
 * the range's data by design; use it on a buffer of your own: a page
 * another process maps too (shared after fork, or KSM merged) is left
 * in place as HMM_NC_PS_SHARED, its data untouched. MIGRATE_TO_DEV
 * never moves a KSM page to the device.
 *
 * Errors: EINVAL unknown flags, non-zero reserved, mode out of range,
 * addr not page-aligned, npages 0 or above HMM_NC_MIGRATE_MAX_PAGES, part
 * of the range without a VMA or read permission, or in a VMA that cannot
 * migrate (hugetlb, VM_IO/VM_PFNMAP, DAX); nothing has moved then.
 * EFAULT the command or the status array is not accessible. ENOMEM
 * kernel memory ran out before the first batch, or the caller's memory
 * cgroup has no room for the kernel's copy of the status array. ESRCH the opening
 * process has no address space any more. EOPNOTSUPP the running kernel
 * has no such mode (MIGRATE_SYNC_NO_COPY is gone from 6.11). EIO a DMA
 * copy failed (HMM_NC_FAULT_SET): the status array says which pages
 * stayed (HMM_NC_PS_COPY_FAILED) and which batches were not tried.
 */
struct hmm_nc_migrate_cmd {
	__u64 addr;	/* in: page-aligned start of the range */
	__u64 npages;	/* in: pages in the range */
	__u64 status;	/* in: address of npages __u8 (hmm_nc_page_status), or 0 */
	__u32 flags;	/* in: HMM_NC_MIGRATE_* */
	__u32 mode;	/* in: enum hmm_nc_mode */
	__u64 moved;	/* out: pages whose state moved */
	__u64 batches;	/* out: batches the range was cut into */
	__u64 reserved[4];	/* in: must be zero */
};

#define HMM_NC_MIGRATE_PROBE		0x1U
#define HMM_NC_MIGRATE_FLAGS		HMM_NC_MIGRATE_PROBE
#define HMM_NC_MIGRATE_MAX_PAGES	0x40000U	/* 1 GiB of 4 KiB pages */

#define HMM_NC_MIGRATE_ANON \
	_IOWR('H', HMM_NC_CMD_BASE + 0x01, struct hmm_nc_migrate_cmd)

/*
 * Page-cache migration (commands 0x60-0x6f).
 *
 * HMM_NC_MIGRATE_FILE moves the pages of a range of the opening process
 * that maps one file (shared or private) to new system pages with the
 * NO_COPY workflow: collect, unmap and lock the batch (migrate_vma_setup
 * with MIGRATE_VMA_SELECT_SYSTEM), allocate the destinations, let the DMA
 * engine copy the batch, move each page's state through its own
 * mapping's migrate_folio callback in the chosen mode (a private
 * copy-on-write page, which belongs to the process and not to the file,
 * through migrate_folio()), then remap, put the new pages on the LRU and
 * unlock (migrate_vma_finalize). Pages the process does not map are not
 * reached: map and touch them first. Counted in migrated[]/failed[] by
 * the kind of callback (HMM_NC_CB_FOLIO, _BUFFER, _FILEMAP, ...) and
 * mode; HMM_NC_MIGRATE_PROBE works as for HMM_NC_MIGRATE_ANON.
 *
 * HMM_NC_FILE_KERNEL_PAGES moves the state with the kernel's own
 * migrate_vma_pages() instead, and does nothing the kernel does not: it
 * reproduces how 6.1 leaves the old page of a file page with its mapping
 * set (see docs/known-issues/migrate_vma_shmem_bad_page.md). Its mode
 * must be NO_COPY, which here names what migrate_vma_pages() does: it
 * never copies (6.1 passes MIGRATE_SYNC_NO_COPY inside, 6.11 and later
 * no mode at all), so it is served on every kernel. Counted under
 * HMM_NC_CB_DEVICE. It leaves the kernel with bad pages: tests only.
 *
 * HMM_NC_FILE_KERNEL_VMA_CHECK leaves the refusal of hugetlbfs, DAX and
 * VM_IO/VM_PFNMAP/VM_MIXEDMAP ranges to migrate_vma_setup() itself,
 * which must answer EINVAL: the module does not refuse them first (it
 * does without the flag), so a test sees the kernel's own refusal.
 *
 * Errors: EINVAL unknown flags, non-zero reserved, mode out of range,
 * HMM_NC_FILE_KERNEL_PAGES with a mode other than NO_COPY, addr not
 * page-aligned, npages 0 or above HMM_NC_MIGRATE_MAX_PAGES, part of the
 * range without a VMA or read permission, a VMA without a file or of
 * another file than the first; all these before anything moved. EINVAL
 * also for a hugetlbfs or VM_IO/VM_PFNMAP/DAX range (migrate_vma_setup()
 * refuses it), and for HMM_NC_FILE_KERNEL_PAGES on a file that is not
 * shmem (tmpfs, memfd): migrate_vma_pages() leaves a page's buffer heads
 * behind, and the new page's data would never be written back. EACCES
 * HMM_NC_MIGRATE_PROBE or HMM_NC_FILE_KERNEL_PAGES on a file the caller
 * did not open for writing, or a memfd sealed against writes
 * (F_SEAL_WRITE, F_SEAL_FUTURE_WRITE): both change what the file's pages
 * hold for everyone. The range is checked under the same mmap lock as
 * the migration, so a file mapped over it meanwhile (MAP_FIXED) cannot
 * slip through. EFAULT the command or the page array
 * is not accessible.
 * ENOMEM kernel memory ran out, or the caller's memory cgroup has no room
 * for the kernel's copy of the page array (32 bytes a page).
 * ESRCH the opening process has no address
 * space any more. EOPNOTSUPP the kernel has no such mode (never with
 * HMM_NC_FILE_KERNEL_PAGES). EIO a DMA copy failed (HMM_NC_FAULT_SET),
 * as for HMM_NC_MIGRATE_ANON.
 */
struct hmm_nc_file_cmd {
	__u64 addr;	/* in: page-aligned start of the range */
	__u64 npages;	/* in: pages in the range */
	__u64 pages;	/* in: address of npages struct hmm_nc_file_page,
			 * or 0
			 */
	__u32 flags;	/* in: HMM_NC_MIGRATE_PROBE, HMM_NC_FILE_* */
	__u32 mode;	/* in: enum hmm_nc_mode */
	__u64 moved;	/* out: pages whose state moved */
	__u64 batches;	/* out: batches the range was cut into */
	__u64 reserved[4];	/* in: must be zero */
};

#define HMM_NC_FILE_KERNEL_PAGES	0x100U
#define HMM_NC_FILE_KERNEL_VMA_CHECK	0x200U
#define HMM_NC_FILE_FLAGS	(HMM_NC_MIGRATE_PROBE | HMM_NC_FILE_KERNEL_PAGES | \
				 HMM_NC_FILE_KERNEL_VMA_CHECK)

/*
 * What happened to one page of an HMM_NC_MIGRATE_FILE range. status is
 * an enum hmm_nc_page_status: HMM_NC_PS_NO_PAGE for a page not in the
 * page cache (or a hole of a private mapping), HMM_NC_PS_SKIPPED for a
 * cached page that was not collected (not mapped here, locked or pinned
 * elsewhere, part of a large folio mapped by PTEs), HMM_NC_PS_WRITEBACK
 * for a page under writeback (left in place, not waited for).
 */
struct hmm_nc_file_page {
	__u8 status;	/* out: enum hmm_nc_page_status */
	__u8 cb;	/* out: enum hmm_nc_cb of the page's callback */
	__u16 flags;	/* out: HMM_NC_FP_* */
	__s32 result;	/* out: what the callback returned */
	__u64 index;	/* out: page-cache index of a file page */
	__u64 old_pfn;	/* out: the page that held the data before */
	__u64 new_pfn;	/* out: the page holding it now, 0 if it stayed */
};

#define HMM_NC_FP_ANON		0x01U	/* a private copy, not page cache */
#define HMM_NC_FP_DIRTY		0x02U	/* the old page was dirty */
#define HMM_NC_FP_DIRTY_KEPT	0x04U	/* the new page is dirty */
#define HMM_NC_FP_BUFFERS	0x08U	/* the old page had buffer heads */
/* Every buffer head of the new page points at it; the old has none. */
#define HMM_NC_FP_BH_MOVED	0x10U
#define HMM_NC_FP_CACHED	0x20U	/* the cache slot holds the new page */
#define HMM_NC_FP_OLD_CLEAR	0x40U	/* the old page has no mapping left */
/*
 * A page of a file system that migrates through filemap_migrate_folio()
 * (HMM_NC_CB_FILEMAP; for iomap, blocks smaller than the page) had
 * private data; PRIVATE_MOVED: after the move the new page has private
 * data and the old page none.
 */
#define HMM_NC_FP_PRIVATE	0x80U
#define HMM_NC_FP_PRIVATE_MOVED	0x100U

#define HMM_NC_FILE_BASE	(HMM_NC_CMD_BASE + 0x20)
#define HMM_NC_MIGRATE_FILE \
	_IOWR('H', HMM_NC_FILE_BASE + 0x00, struct hmm_nc_file_cmd)

/*
 * DMA engine parameters of a device (commands 0x70-0x7f), for
 * benchmarks: they change how fast the engine works, never what a
 * migration does to the pages or their data. They belong to the device,
 * not to an open file, and stay until set again or the module is
 * unloaded: a caller that changes them puts the defaults back (all
 * fields zero) when it is done.
 *
 * HMM_NC_ENGINE_PER_PAGE: one copy operation per page instead of one per
 * batch. HMM_NC_MIGRATE_ANON and HMM_NC_MIGRATE_FILE under NO_COPY then
 * copy each page right before its state moves (a probe primes it there
 * instead), so a failed copy can still leave that page where it is. The
 * other workflows (MIGRATE_TO_DEV/SYS, CPU faults and
 * HMM_NC_FILE_KERNEL_PAGES, whose state moves for the whole batch in one
 * migrate_vma_pages() call; refusal batches) issue one operation per
 * page where they would issue one for the batch. Each operation is
 * counted in hmm_nc_counters.batches.
 *
 * batch_pages: the most pages a migration puts in one batch (pages
 * locked and unmapped together), 1..HMM_NC_BATCH_PAGES; 0 stands for
 * HMM_NC_BATCH_PAGES. CPU faults stay batches of one page.
 *
 * setup_us: a fixed cost the engine pays for each copy operation, in
 * microseconds (a busy wait, like a driver polling its engine), to model
 * a real engine's set-up; 0..HMM_NC_ENGINE_MAX_SETUP_US.
 *
 * HMM_NC_ENGINE_SET sets all three and returns them as they now stand
 * (batch_pages resolved); HMM_NC_ENGINE_GET only returns them, and takes
 * zero in every field.
 * Errors: EINVAL unknown flags, non-zero reserved, batch_pages above
 * HMM_NC_BATCH_PAGES, setup_us above HMM_NC_ENGINE_MAX_SETUP_US; GET:
 * any field non-zero. EFAULT the command is not accessible.
 */
struct hmm_nc_engine {
	__u32 flags;		/* in/out: HMM_NC_ENGINE_* */
	__u32 batch_pages;	/* in/out: pages per batch, 0 = default */
	__u32 setup_us;		/* in/out: cost of each copy operation */
	__u32 reserved0;	/* in: must be zero */
	__u64 reserved[4];	/* in: must be zero */
};

#define HMM_NC_ENGINE_PER_PAGE		0x1U
#define HMM_NC_ENGINE_FLAGS		HMM_NC_ENGINE_PER_PAGE
#define HMM_NC_ENGINE_MAX_SETUP_US	1000U

#define HMM_NC_ENGINE_BASE	(HMM_NC_CMD_BASE + 0x30)
#define HMM_NC_ENGINE_SET \
	_IOWR('H', HMM_NC_ENGINE_BASE + 0x00, struct hmm_nc_engine)
#define HMM_NC_ENGINE_GET \
	_IOWR('H', HMM_NC_ENGINE_BASE + 0x01, struct hmm_nc_engine)

/*
 * Fault injection (commands 0x80-0x8f): make the device's own steps fail
 * on purpose, so the error paths of a migration run when a test wants
 * them to. A switch is armed for one fault point of one open file: only
 * that file's commands (MIGRATE_TO_DEV/SYS, HMM_NC_MIGRATE_ANON,
 * HMM_NC_MIGRATE_FILE) meet the failures, and closing the file disarms
 * it. CPU faults on device pages, eviction at RELEASE or unload, and the
 * refusal commands never fail on purpose: nobody could be told.
 *
 * At a point, the next `skip` events succeed, then the `times` events
 * after them fail, then the point works again. Events and what a failure
 * does:
 *  HMM_NC_FAULT_DEVMEM  one device page for MIGRATE_TO_DEV: that page
 *                       stays in system memory (MIGRATE_TO_DEV returns
 *                       ENOENT, as when the device is out of memory).
 *  HMM_NC_FAULT_SYSMEM  one system destination page: MIGRATE_TO_SYS
 *                       leaves that page on the device (cpages counts
 *                       the pages that came back); HMM_NC_MIGRATE_ANON
 *                       and _FILE mark it HMM_NC_PS_NOMEM.
 *  HMM_NC_FAULT_DMA     one DMA copy operation: nothing of the batch it
 *                       was copying moves (every page stays where it
 *                       was, with its data), and the command stops with
 *                       EIO after that batch: batches before it have
 *                       moved, batches after it are not tried. With a
 *                       per-page engine (HMM_NC_ENGINE_PER_PAGE),
 *                       HMM_NC_MIGRATE_ANON and _FILE copy each page in
 *                       an operation of its own: only the failed pages
 *                       stay, the rest of their batch moves. Pages that
 *                       stay are HMM_NC_PS_COPY_FAILED in the status
 *                       arrays and counted in hmm_nc_counters.copy_failed.
 * Every failure is counted in hmm_nc_counters.faults_injected and in
 * `injected` below.
 *
 * A failed DMA operation is not counted in hmm_nc_counters.batches.
 * Under HMM_NC_MIGRATE_PROBE or HMM_NC_MODE_SYNC no DMA copy is made, so
 * HMM_NC_FAULT_DMA meets no event there; HMM_NC_FILE_KERNEL_PAGES copies
 * its batch in one go even with a per-page engine.
 *
 * HMM_NC_FAULT_SET arms (or, with times 0, disarms) one point and
 * returns it as it now stands; HMM_NC_FAULT_GET returns it and takes
 * zero in every field but `point`. `skip` and `times` come back as what
 * is left of them.
 * Errors: EINVAL unknown point or flags, non-zero reserved; GET: skip,
 * times or injected non-zero. EFAULT the command is not accessible.
 */
enum hmm_nc_fault_point {
	HMM_NC_FAULT_DEVMEM = 0,	/* device page allocations */
	HMM_NC_FAULT_SYSMEM,		/* system destination pages */
	HMM_NC_FAULT_DMA,		/* DMA copy operations */
	HMM_NC_FAULT_COUNT,
};

struct hmm_nc_fault {
	__u32 point;		/* in: enum hmm_nc_fault_point */
	__u32 flags;		/* in: must be zero */
	__u32 skip;		/* in/out: events that succeed first */
	__u32 times;		/* in/out: events that fail after them */
	__u64 injected;		/* out: failures made at this point */
	__u64 reserved[2];	/* in: must be zero */
};

#define HMM_NC_FAULT_BASE	(HMM_NC_CMD_BASE + 0x40)
#define HMM_NC_FAULT_SET \
	_IOWR('H', HMM_NC_FAULT_BASE + 0x00, struct hmm_nc_fault)
#define HMM_NC_FAULT_GET \
	_IOWR('H', HMM_NC_FAULT_BASE + 0x01, struct hmm_nc_fault)

/*
 * The kernel's migration core (commands 0x90-0x9f): pages of a user
 * range of the opening process through migrate_pages(), the path of
 * compaction, NUMA and move_pages(2), with the device as the caller
 * that does the copy MIGRATE_SYNC_NO_COPY leaves to it. 6.1 exports
 * none of the entry points: the module finds them when it loads (see
 * HMM_NC_FEAT_CORE_*; without them the commands answer EOPNOTSUPP).
 *
 * HMM_NC_CORE_MIGRATE isolates every folio the range maps (LRU folios
 * whole, a THP as one 2 MiB folio; hugetlb folios through the hugetlb
 * isolation), calls migrate_pages(..., mode, MR_SYSCALL, ...) once on
 * the list, and puts back what stayed. The core calls the device's
 * allocator for each attempt at a folio, before it locks and unmaps
 * the source, and remaps the new folio before migrate_pages() returns:
 * there is no later point at which the device could copy. So the
 * allocator copies: it takes a destination of the source's size (a
 * hugetlb folio from the pool of the source's size, a THP, a page) and,
 * under NO_COPY, has the DMA engine copy the source into it right away.
 * What this means for a concurrent writer: a store to the range after
 * that copy and before the core unmaps the source is lost under NO_COPY
 * (the new folio holds the data as of the copy); under the other modes
 * the core copies after the unmap and nothing is lost. Use NO_COPY on a
 * range nobody writes while the command runs. A folio the core retries
 * is copied again at each attempt; the copy that counts is the last.
 *
 * HMM_NC_CORE_TO_NODE takes every destination from NUMA node `node`
 * only (a hugetlb folio from that node's part of the pool), the node to
 * node move of move_pages(2) and migrate_pages(2); a folio the node has
 * no room for stays (-ENOMEM). Without it the destination comes from
 * the caller's memory policy (a hugetlb folio: the source's node first)
 * and `node` must be 0.
 *
 * HMM_NC_MIGRATE_PROBE fills each destination with HMM_NC_SENTINEL
 * instead (whatever the mode): after NO_COPY the range reads as the
 * sentinel (the core did not copy), after SYNC, SYNC_LIGHT or ASYNC as
 * the data (it did). The probe destroys the data: EACCES on a file the
 * caller did not open for writing.
 *
 * The core does not say why it left a folio: result is inferred from
 * what the device saw, and documented as such. migrate_pages() retries
 * a folio that fails with -EAGAIN (10 passes in 6.1) and gives up at
 * once on any other error: result -EAGAIN for a folio the core asked a
 * destination for at every pass (it kept failing with -EAGAIN), -EBUSY
 * for one it gave up on before (a permanent failure, as the -EBUSY of
 * the core's mode switches; attempts says at which pass), -ENOMEM when
 * the device had no destination. A THP the core split (it does so when the
 * destination allocation fails) is not continued: its pieces fail with
 * -ENOMEM. Pages are counted under migrated[]/failed[] by the kind of
 * the folio's mapping callback and the mode (HMM_NC_CB_FALLBACK for a
 * mapping without one), pages_taken/pages_returned per isolated page,
 * and the engine's copies in batches/pages_copied (one operation per
 * folio and attempt).
 *
 * Errors (nothing moved): EINVAL unknown flags, non-zero reserved, mode
 * out of range, node not a node with memory (or non-zero without
 * HMM_NC_CORE_TO_NODE), addr not page-aligned, npages 0 or above
 * HMM_NC_CORE_MAX_PAGES, part of the range without a VMA or read
 * permission, or in a VM_IO/VM_PFNMAP VMA. EACCES a probe on a file not
 * open for writing. EFAULT the command or the page array is not
 * accessible. EOPNOTSUPP the entry points were not found (hugetlb
 * pages: the hugetlb ones), or the kernel has no such mode. ENOMEM
 * kernel memory ran out, or the caller's memory cgroup has no room for
 * the kernel's copy of the page records. ESRCH the opener has no address
 * space.
 * A folio the core did not migrate is not an error of the command:
 * see the page records and `failed`.
 */
#define HMM_NC_CORE_MAX_PAGES	4096	/* 16 MiB of 4 KiB pages */

struct hmm_nc_core_cmd {
	__u64 addr;	/* in: page-aligned start of the range */
	__u64 npages;	/* in: pages in the range */
	__u64 pages;	/* in: address of npages struct hmm_nc_core_page,
			 * or 0
			 */
	__u32 flags;	/* in: HMM_NC_MIGRATE_PROBE, HMM_NC_CORE_TO_NODE */
	__u32 mode;	/* in: enum hmm_nc_mode */
	__u64 moved;	/* out: pages whose folio migrated */
	__u64 folios;	/* out: folios isolated and handed to the core */
	__u64 failed;	/* out: ... of them left where they were */
	__s32 result;	/* out: what migrate_pages() returned */
	__u32 node;	/* in: destination node (HMM_NC_CORE_TO_NODE), or 0 */
	__u64 reserved[4];	/* in: must be zero */
};

#define HMM_NC_CORE_TO_NODE	0x400U
#define HMM_NC_CORE_FLAGS	(HMM_NC_MIGRATE_PROBE | HMM_NC_CORE_TO_NODE)

/*
 * One page of an HMM_NC_CORE_MIGRATE range. status: HMM_NC_PS_MOVED
 * (new_pfn holds it now), _NO_PAGE (nothing mapped, the zero page),
 * _SKIPPED (not isolated: off the LRU, a hugetlb folio not migratable,
 * a folio above 2 MiB), _NOMEM, _BUSY (handed to the core, left in
 * place: see result), _UNTOUCHED (not reached: freed under the core, or
 * an error stopped it).
 */
struct hmm_nc_core_page {
	__u8 status;	/* out: enum hmm_nc_page_status */
	__u8 cb;	/* out: enum hmm_nc_cb of the folio's mapping */
	__u8 order;	/* out: order of the folio the page was part of */
	__u8 reserved0;
	__u16 flags;	/* out: HMM_NC_CP_* */
	__u16 attempts;	/* out: destinations the core asked for */
	__s32 result;	/* out: 0, -EBUSY, -EAGAIN or -ENOMEM (above) */
	__u32 reserved1;
	__u64 old_pfn;	/* out: the page before */
	__u64 new_pfn;	/* out: the page after, 0 if it stayed */
};

/* What the device saw of the folio when it isolated it. */
#define HMM_NC_CP_HUGETLB	0x01U	/* a hugetlb folio */
#define HMM_NC_CP_LARGE		0x02U	/* more than one page */
#define HMM_NC_CP_DIRTY		0x04U	/* dirty */
#define HMM_NC_CP_WRITEBACK	0x08U	/* under writeback */
#define HMM_NC_CP_LOCKED	0x10U	/* locked by someone */
#define HMM_NC_CP_ANON		0x20U	/* anonymous */
/* The destination that stayed: the engine copied it / primed it. */
#define HMM_NC_CP_COPIED	0x40U
#define HMM_NC_CP_PRIMED	0x80U

/*
 * HMM_NC_CORE_LOCK takes the lock of the folio mapped at addr in the
 * opening process (faulting it in for reading if needed) and holds it,
 * with a reference, for hold_ms milliseconds from a work item, then
 * drops both: a page lock another thread holds, for the core's
 * lock-wait paths. The command returns once the lock is taken (it waits
 * for a holder before it). Unloading the module drops every hold at once.
 * Errors: EINVAL flags or reserved non-zero, addr not page-aligned,
 * hold_ms 0 or above HMM_NC_CORE_MAX_HOLD_MS; EFAULT nothing can be
 * mapped at addr, or the command is not accessible; EINTR a fatal
 * signal while waiting for the lock; ENOMEM.
 */
#define HMM_NC_CORE_MAX_HOLD_MS	10000

struct hmm_nc_core_lock {
	__u64 addr;	/* in: page-aligned address */
	__u32 flags;	/* in: must be zero */
	__u32 hold_ms;	/* in: how long to hold the lock */
	__u64 pfn;	/* out: the head page of the folio locked */
	__u64 reserved[4];	/* in: must be zero */
};

#define HMM_NC_CORE_BASE	(HMM_NC_CMD_BASE + 0x50)
#define HMM_NC_CORE_MIGRATE \
	_IOWR('H', HMM_NC_CORE_BASE + 0x00, struct hmm_nc_core_cmd)
#define HMM_NC_CORE_LOCK \
	_IOWR('H', HMM_NC_CORE_BASE + 0x01, struct hmm_nc_core_lock)

#endif /* _TEST_HMM_UAPI_H */

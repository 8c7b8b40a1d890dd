// SPDX-License-Identifier: GPL-2.0
/*
 * uffd.*: what userfaultfd write protection and the soft-dirty tracker
 * keep in a page-table entry must survive a migration: the kernel carries
 * both bits from the PTE into the migration entry, from there into the
 * device-private entry, and back (5.9's ad7df764b7e1 fixed a copy of
 * them). Seen from outside the module: /proc/self/pagemap (bit 55
 * soft-dirty, bit 57 uffd-wp), the userfaultfd's own events, the data.
 *
 * A variant is the way the pages travel:
 *  device        to device memory (HMM_DMIRROR_MIGRATE_TO_DEV, the
 *                kernel's migrate_vma_pages()) and back (MIGRATE_TO_SYS);
 *  device_fault  the same way out, back through a CPU fault on each
 *                device page (the test's next access);
 *  anon_nocopy   system page to system page through the NO_COPY engine
 *                (HMM_NC_MIGRATE_ANON);
 *  shmem_nocopy, shmem_sync
 *                a shared memfd's pages, through the file engine
 *                (HMM_NC_MIGRATE_FILE) in either mode: the device takes
 *                no shared memory, and shmem has uffd-wp from 6.0 on.
 *
 * Each option it needs the kernel may lack (userfaultfd, its
 * write-protect mode, uffd-wp on shmem, soft-dirty) is a skip that names
 * the option; the suite's guest kernels have them all (configs/).
 */
#define _GNU_SOURCE
#include <linux/userfaultfd.h>
#include <poll.h>
#include <pthread.h>
#include <stdint.h>
#include <sys/ioctl.h>
#include <sys/syscall.h>

#include "file_fixture.h"

#define UF_NPAGES	8
#define UF_SEED		60

enum uf_path { UF_DEVICE, UF_DEVICE_FAULT, UF_ANON_NOCOPY, UF_SHMEM };

/*
 * map: the range, with an inaccessible page on either side so that no
 * later mapping merges with it (a new mapping is soft-dirty as a whole,
 * and would make the range so); memfd: the shmem rows' file.
 */
FIXTURE(uffd) {
	struct hmm_env e;
	size_t ps;
	char *guard;
	char *map;
	int memfd;
	int uffd;
};

FIXTURE_VARIANT(uffd) {
	int path;
	__u32 mode;
};

FIXTURE_VARIANT_ADD(uffd, device) {
	.path = UF_DEVICE, .mode = NO_COPY,
};

FIXTURE_VARIANT_ADD(uffd, device_fault) {
	.path = UF_DEVICE_FAULT, .mode = NO_COPY,
};

FIXTURE_VARIANT_ADD(uffd, anon_nocopy) {
	.path = UF_ANON_NOCOPY, .mode = NO_COPY,
};

FIXTURE_VARIANT_ADD(uffd, shmem_nocopy) {
	.path = UF_SHMEM, .mode = NO_COPY,
};

FIXTURE_VARIANT_ADD(uffd, shmem_sync) {
	.path = UF_SHMEM, .mode = SYNC,
};

static bool uf_on_device(const FIXTURE_VARIANT(uffd) * v)
{
	return v->path == UF_DEVICE || v->path == UF_DEVICE_FAULT;
}

FIXTURE_SETUP(uffd)
{
	size_t size = UF_NPAGES * hmm_page_size();
	void *at;

	self->memfd = -1;
	self->uffd = -1;
	env_setup(_metadata, &self->e);
	self->ps = self->e.ps;
	/*
	 * The device rows leave the mode to migrate_vma_pages(), which every
	 * kernel has; the engines' NO_COPY rows need the kernel's mode.
	 */
	if (!uf_on_device(variant) && variant->mode == NO_COPY)
		HMM_SETUP_REQUIRE(self->e.dev, HMM_NEED_NOCOPY);

	self->guard = mmap(NULL, size + 2 * self->ps, PROT_NONE,
			   MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	ASSERT_NE(MAP_FAILED, self->guard);
	at = self->guard + self->ps;
	if (variant->path == UF_SHMEM) {
		self->memfd = memfd_create("hmm_uffd", 0);
		ASSERT_LE(0, self->memfd);
		ASSERT_EQ(0, ftruncate(self->memfd, size));
		self->map = mmap(at, size, PROT_READ | PROT_WRITE,
				 MAP_SHARED | MAP_FIXED, self->memfd, 0);
	} else {
		self->map = mmap(at, size, PROT_READ | PROT_WRITE,
				 MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0);
	}
	ASSERT_EQ(at, self->map);
	/* Small pages: the device path collects no huge page. */
	ASSERT_EQ(0, madvise(self->map, size, MADV_NOHUGEPAGE));
	fill_pages(self->map, UF_NPAGES, self->ps, UF_SEED);
}

FIXTURE_TEARDOWN(uffd)
{
	munmap(self->guard, UF_NPAGES * self->ps + 2 * self->ps);
	close_if(&self->memfd);
	close_if(&self->uffd);
	close_if(&self->e.dev);
}

/*
 * The pages' way out: to the device for the device rows (every page
 * there after it), the whole move for the others (nothing is left for
 * uf_back()).
 */
static void uf_out(struct __test_metadata *_metadata,
		   FIXTURE_DATA(uffd) * self, const FIXTURE_VARIANT(uffd) * v)
{
	size_t n = UF_NPAGES;
	struct hmm_dmirror_cmd cmd;
	struct hmm_nc_migrate_cmd acmd;
	struct hmm_nc_file_cmd fcmd;
	char *mirror;

	switch (v->path) {
	case UF_DEVICE:
	case UF_DEVICE_FAULT:
		mirror = zalloc(_metadata, n * self->ps);
		ASSERT_EQ(0, hmm_cmd(self->e.dev, HMM_DMIRROR_MIGRATE_TO_DEV,
				     self->map, mirror, n, &cmd));
		ASSERT_EQ(n, cmd.cpages);
		free(mirror);
		break;
	case UF_ANON_NOCOPY:
		ASSERT_EQ(0, hmm_migrate_anon(self->e.dev, self->map, n,
					      v->mode, 0, NULL, &acmd));
		ASSERT_EQ(n, acmd.moved);
		break;
	case UF_SHMEM:
		ASSERT_EQ(0, hmm_migrate_file(self->e.dev, self->map, n,
					      v->mode, 0, NULL, &fcmd));
		ASSERT_EQ(n, fcmd.moved);
		break;
	}
}

/*
 * The way back from the device: MIGRATE_TO_SYS, or for device_fault a
 * CPU fault on each page: a read here, or (writing) none, as the
 * caller's next write is the access that faults each page back.
 */
static void uf_back(struct __test_metadata *_metadata,
		    FIXTURE_DATA(uffd) * self, const FIXTURE_VARIANT(uffd) * v,
		    bool writing)
{
	struct hmm_dmirror_cmd cmd;

	if (v->path == UF_DEVICE) {
		ASSERT_EQ(0, hmm_cmd(self->e.dev, HMM_DMIRROR_MIGRATE_TO_SYS,
				     self->map, NULL, UF_NPAGES, &cmd));
		ASSERT_EQ(UF_NPAGES, cmd.cpages);
	} else if (v->path == UF_DEVICE_FAULT && !writing) {
		touch(_metadata, self->map, UF_NPAGES * self->ps);
	}
}

/*
 * What the device counted for the trip: each page out and back once
 * (on the device: a device page each, freed again), every lock and
 * reference given back.
 */
static void uf_counted(struct __test_metadata *_metadata,
		       FIXTURE_DATA(uffd) * self,
		       const FIXTURE_VARIANT(uffd) * v)
{
	struct hmm_nc_counters d;
	__u64 n = UF_NPAGES;

	env_delta(_metadata, &self->e, &d);
	if (uf_on_device(v)) {
		EXPECT_EQ(2 * n, d.migrated[HMM_NC_CB_DEVICE][NO_COPY]);
		EXPECT_EQ(n, d.devmem_alloc);
		EXPECT_EQ(n, d.devmem_free);
		EXPECT_EQ(v->path == UF_DEVICE_FAULT ? n : 0, d.cpu_faults);
	} else {
		EXPECT_EQ(n, d.migrated[HMM_NC_CB_FOLIO][v->mode]);
		EXPECT_EQ(0, d.failed[HMM_NC_CB_FOLIO][v->mode]);
	}
	EXPECT_EQ(d.pages_locked, d.pages_unlocked);
	EXPECT_EQ(d.pages_taken, d.pages_returned);
}

/*
 * Each page's pagemap entry has bit (HMM_PM_*) as want[i] says, and is
 * where the trip should have it (on_device: a device-private entry;
 * else a present page).
 */
static void uf_bits(struct __test_metadata *_metadata,
		    FIXTURE_DATA(uffd) * self, __u64 bit, const bool *want,
		    bool on_device, const char *when)
{
	__u64 pm[UF_NPAGES];
	size_t i;

	ASSERT_EQ(0, hmm_pagemap(self->map, UF_NPAGES, pm));
	for (i = 0; i < UF_NPAGES; i++) {
		if (on_device) {
			ASSERT_TRUE(hmm_pm_swapped(pm[i]))
				TH_LOG("%s: page %zu not on the device", when, i);
		} else {
			ASSERT_NE(0, hmm_pm_pfn(pm[i]))
				TH_LOG("%s: page %zu not present", when, i);
		}
		EXPECT_EQ(want[i], !!(pm[i] & bit))
			TH_LOG("%s: page %zu: pagemap 0x%016llx, bit %d is %s",
			       when, i, (unsigned long long)pm[i],
			       __builtin_ctzll(bit), want[i] ? "clear" : "set");
	}
}

/*
 * The trip, with bit of each page's pagemap entry as want[] says before
 * it, on the device (device rows) and after it.
 */
static void uf_trip_keeps(struct __test_metadata *_metadata,
			  FIXTURE_DATA(uffd) * self,
			  const FIXTURE_VARIANT(uffd) * v, __u64 bit,
			  const bool *want)
{
	uf_bits(_metadata, self, bit, want, false, "before");
	uf_out(_metadata, self, v);
	uf_bits(_metadata, self, bit, want, uf_on_device(v), "out");
	uf_back(_metadata, self, v, false);
	uf_bits(_metadata, self, bit, want, false, "back");
}

static void uf_all(bool *want, bool value)
{
	size_t i;

	for (i = 0; i < UF_NPAGES; i++)
		want[i] = value;
}

/*
 * Soft-dirty needs CONFIG_MEM_SOFT_DIRTY, without which clear_refs 4
 * does nothing and says nothing: a page written to a brand-new mapping
 * is soft-dirty in a kernel that has it. Then clear_refs 4 clears the
 * bit of every page of the process.
 */
static bool uf_soft_dirty_clear(struct __test_metadata *_metadata)
{
	size_t ps = hmm_page_size();
	char *p = hmm_map_anon(ps, PROT_READ | PROT_WRITE);
	__u64 pm = 0;

	ASSERT_NE(NULL, p);
	p[0] = 1;
	ASSERT_EQ(0, hmm_pagemap(p, 1, &pm));
	munmap(p, ps);
	if (!(pm & HMM_PM_SOFT_DIRTY))
		SKIP(return false, "no soft-dirty in pagemap: CONFIG_MEM_SOFT_DIRTY");
	ASSERT_EQ(0, hmm_write_str("/proc/self/clear_refs", "4"));
	return true;
}

/*
 * The variant's mapping registered with a userfaultfd in write-protect
 * mode (UFFD_FEATURE_WP_HUGETLBFS_SHMEM for shmem), every page
 * write-protected. Skips with the option when the kernel has none:
 * false, and the test ends there.
 */
static bool uf_protect(struct __test_metadata *_metadata,
		       FIXTURE_DATA(uffd) * self,
		       const FIXTURE_VARIANT(uffd) * v)
{
	__u64 need = UFFD_FEATURE_PAGEFAULT_FLAG_WP;
	struct uffdio_writeprotect wp = { 0 };
	struct uffdio_register reg = { 0 };
	struct uffdio_api api = { 0 };
	size_t size = UF_NPAGES * self->ps;

	/* The sysctl comes with the system call (5.2 on). */
	if (access("/proc/sys/vm/unprivileged_userfaultfd", F_OK))
		SKIP(return false, "no userfaultfd(): CONFIG_USERFAULTFD");
	self->uffd = syscall(__NR_userfaultfd, O_CLOEXEC | O_NONBLOCK);
	ASSERT_LE(0, self->uffd) TH_LOG("userfaultfd: %s", strerror(errno));

	/* The features this kernel offers, then the ones asked for. */
	api.api = UFFD_API;
	ASSERT_EQ(0, ioctl(self->uffd, UFFDIO_API, &api));
	if (!(api.features & UFFD_FEATURE_PAGEFAULT_FLAG_WP))
		SKIP(return false,
		     "no userfaultfd write protection: CONFIG_HAVE_ARCH_USERFAULTFD_WP");
#ifdef UFFD_FEATURE_WP_HUGETLBFS_SHMEM
	if (v->path == UF_SHMEM)
		need |= UFFD_FEATURE_WP_HUGETLBFS_SHMEM;
#else
	if (v->path == UF_SHMEM)
		SKIP(return false,
		     "built with headers without UFFD_FEATURE_WP_HUGETLBFS_SHMEM");
#endif
	if (v->path == UF_SHMEM &&
	    !(api.features & need & ~UFFD_FEATURE_PAGEFAULT_FLAG_WP))
		SKIP(return false,
		     "no userfaultfd write protection of shmem (6.0 on: UFFD_FEATURE_WP_HUGETLBFS_SHMEM)");
	close(self->uffd);
	self->uffd = syscall(__NR_userfaultfd, O_CLOEXEC | O_NONBLOCK);
	ASSERT_LE(0, self->uffd);
	memset(&api, 0, sizeof(api));
	api.api = UFFD_API;
	api.features = need;
	ASSERT_EQ(0, ioctl(self->uffd, UFFDIO_API, &api))
		TH_LOG("UFFDIO_API: %s", strerror(errno));

	reg.range.start = (uintptr_t)self->map;
	reg.range.len = size;
	reg.mode = UFFDIO_REGISTER_MODE_WP;
	ASSERT_EQ(0, ioctl(self->uffd, UFFDIO_REGISTER, &reg))
		TH_LOG("UFFDIO_REGISTER: %s", strerror(errno));
	ASSERT_TRUE(reg.ioctls & (1ULL << _UFFDIO_WRITEPROTECT));

	wp.range.start = (uintptr_t)self->map;
	wp.range.len = size;
	wp.mode = UFFDIO_WRITEPROTECT_MODE_WP;
	ASSERT_EQ(0, ioctl(self->uffd, UFFDIO_WRITEPROTECT, &wp))
		TH_LOG("UFFDIO_WRITEPROTECT: %s", strerror(errno));
	return true;
}

/*
 * The write-protect faults of a userfaultfd, handled by a thread of
 * their own: each event's address and flags are kept, and the page is
 * un-protected, which wakes the writer. The thread ends when stop is
 * written to, after the writer finished.
 */
struct uf_trap {
	int uffd;
	int stop[2];
	size_t ps;
	unsigned int events;	/* page faults seen */
	unsigned int others;	/* events of any other kind */
	int error;		/* errno of a failed read or un-protect */
	__u64 addr[UF_NPAGES];
	__u64 flags[UF_NPAGES];
};

static void uf_unprotect(struct uf_trap *t, __u64 addr)
{
	struct uffdio_writeprotect wp = { 0 };

	wp.range.start = addr & ~((__u64)t->ps - 1);
	wp.range.len = t->ps;
	wp.mode = 0;	/* un-protect, and wake the faulting thread */
	if (ioctl(t->uffd, UFFDIO_WRITEPROTECT, &wp))
		t->error = errno;
}

static void *uf_handler(void *arg)
{
	struct uf_trap *t = arg;
	struct pollfd pfd[2] = {
		{ .fd = t->uffd, .events = POLLIN },
		{ .fd = t->stop[0], .events = POLLIN },
	};
	struct uffd_msg msg;

	for (;;) {
		if (poll(pfd, 2, -1) < 0) {
			if (errno == EINTR)
				continue;
			t->error = errno;
			return NULL;
		}
		if (pfd[0].revents & POLLIN) {
			if (read(t->uffd, &msg, sizeof(msg)) != sizeof(msg)) {
				if (errno != EAGAIN)
					t->error = errno;
				continue;
			}
			if (msg.event != UFFD_EVENT_PAGEFAULT) {
				t->others++;
				continue;
			}
			if (t->events < UF_NPAGES) {
				t->addr[t->events] = msg.arg.pagefault.address;
				t->flags[t->events] = msg.arg.pagefault.flags;
			}
			t->events++;
			uf_unprotect(t, msg.arg.pagefault.address);
			continue;
		}
		if (pfd[1].revents)
			return NULL;
	}
}

/* Word i of page i, which uf_write_each() and its kin write. */
static void uf_write_word(FIXTURE_DATA(uffd) * self, size_t i)
{
	size_t words = self->ps / sizeof(__u64);

	((__u64 *)self->map)[i * words + i] = ~(__u64)i;
}

/*
 * A word written into each page, at an offset of its own, while the
 * trap's thread handles what the writes raise; the data then holds the
 * writes. The thread is gone when this returns.
 */
static void uf_write_each(struct __test_metadata *_metadata,
			  FIXTURE_DATA(uffd) * self, struct uf_trap *t)
{
	pthread_t thread;
	size_t i;

	t->uffd = self->uffd;
	t->ps = self->ps;
	ASSERT_EQ(0, pipe(t->stop));
	ASSERT_EQ(0, pthread_create(&thread, NULL, uf_handler, t));
	for (i = 0; i < UF_NPAGES; i++)
		uf_write_word(self, i);
	ASSERT_EQ(1, write(t->stop[1], "", 1));
	ASSERT_EQ(0, pthread_join(thread, NULL));
	close(t->stop[0]);
	close(t->stop[1]);
}

/*
 * The pages' patterns, with uf_write_word()'s word in each page that
 * written[] names (NULL: every page).
 */
static void uf_assert_written(struct __test_metadata *_metadata,
			      FIXTURE_DATA(uffd) * self, const bool *written)
{
	size_t words = self->ps / sizeof(__u64), i;
	char *want = zalloc(_metadata, UF_NPAGES * self->ps);

	fill_pages(want, UF_NPAGES, self->ps, UF_SEED);
	for (i = 0; i < UF_NPAGES; i++)
		if (!written || written[i])
			((__u64 *)want)[i * words + i] = ~(__u64)i;
	ASSERT_EQ(0, memcmp(want, self->map, UF_NPAGES * self->ps));
	free(want);
}

/*
 * Write-protected pages go out and come back, and the next write to
 * each traps to the userfaultfd: one write-protect fault a page, at the
 * address written, which lands once the handler un-protects the page.
 */
TEST_F(uffd, wp_write_traps_after_round_trip)
{
	__u64 want_flags = UFFD_PAGEFAULT_FLAG_WP | UFFD_PAGEFAULT_FLAG_WRITE;
	struct uf_trap t = { 0 };
	size_t i;

	if (!uf_protect(_metadata, self, variant))
		return;
	uf_out(_metadata, self, variant);
	uf_back(_metadata, self, variant, true);

	uf_write_each(_metadata, self, &t);
	ASSERT_EQ(0, t.error) TH_LOG("handler: %s", strerror(t.error));
	EXPECT_EQ(0, t.others);
	ASSERT_EQ(UF_NPAGES, t.events)
		TH_LOG("%u write-protect faults for %d protected pages written",
		       t.events, UF_NPAGES);
	for (i = 0; i < UF_NPAGES; i++) {
		char *at = self->map + i * self->ps + i * sizeof(__u64);

		/* 6.1 reports the address to the page; newer ones exactly. */
		EXPECT_EQ((uintptr_t)at & ~(uintptr_t)(self->ps - 1),
			  t.addr[i] & ~(__u64)(self->ps - 1))
			TH_LOG("fault %zu at 0x%llx, write at %p", i,
			       (unsigned long long)t.addr[i], at);
		EXPECT_EQ(want_flags, t.flags[i])
			TH_LOG("fault %zu: flags 0x%llx", i,
			       (unsigned long long)t.flags[i]);
	}
	uf_assert_written(_metadata, self, NULL);
	uf_counted(_metadata, self, variant);
}

/*
 * pagemap's uffd-wp bit (57, from 5.13) is set on every protected page
 * before the trip, on its device-private entry while on the device, and
 * on the page back; un-protecting clears it.
 */
TEST_F(uffd, wp_bit_kept_through_round_trip)
{
	struct uffdio_writeprotect wp = { 0 };
	bool want[UF_NPAGES];
	unsigned int release = hmm_kernel_release();

	ASSERT_NE(0, release) TH_LOG("uname gives no release");
	if (release < HMM_RELEASE(5, 13))
		SKIP(return, "pagemap has no uffd-wp bit before 5.13 (this is %u.%u)",
		     release >> 8, release & 0xff);

	if (!uf_protect(_metadata, self, variant))
		return;
	uf_all(want, true);
	uf_trip_keeps(_metadata, self, variant, HMM_PM_UFFD_WP, want);

	wp.range.start = (uintptr_t)self->map;
	wp.range.len = UF_NPAGES * self->ps;
	ASSERT_EQ(0, ioctl(self->uffd, UFFDIO_WRITEPROTECT, &wp));
	uf_all(want, false);
	uf_bits(_metadata, self, HMM_PM_UFFD_WP, want, false, "un-protected");
	assert_mapped(_metadata, self->map, UF_NPAGES, self->ps, UF_SEED);
	uf_counted(_metadata, self, variant);
}

/*
 * After clear_refs 4, the odd pages written again: each page's
 * soft-dirty bit is what it was, set on the odd pages and clear on the
 * even ones, before the trip, on the device and after it; and the data
 * is the data.
 */
TEST_F(uffd, soft_dirty_kept_through_round_trip)
{
	bool want[UF_NPAGES];
	size_t i;

	if (!uf_soft_dirty_clear(_metadata))
		return;
	for (i = 0; i < UF_NPAGES; i++) {
		want[i] = i & 1;
		if (want[i])
			uf_write_word(self, i);
	}
	uf_trip_keeps(_metadata, self, variant, HMM_PM_SOFT_DIRTY, want);

	uf_assert_written(_metadata, self, want);
	uf_counted(_metadata, self, variant);
}

/*
 * Pages made clean by clear_refs 4 come back clean, and a write to
 * each after the trip sets its soft-dirty bit again.
 */
TEST_F(uffd, write_after_round_trip_sets_soft_dirty)
{
	bool want[UF_NPAGES];
	size_t i;

	if (!uf_soft_dirty_clear(_metadata))
		return;
	uf_out(_metadata, self, variant);
	uf_back(_metadata, self, variant, true);
	if (variant->path != UF_DEVICE_FAULT) {
		uf_all(want, false);
		uf_bits(_metadata, self, HMM_PM_SOFT_DIRTY, want, false,
			"back");
	}

	for (i = 0; i < UF_NPAGES; i++)
		uf_write_word(self, i);
	uf_all(want, true);
	uf_bits(_metadata, self, HMM_PM_SOFT_DIRTY, want, false, "written");
	uf_assert_written(_metadata, self, NULL);
	uf_counted(_metadata, self, variant);
}

HMM_TEST_MAIN

// SPDX-License-Identifier: GPL-2.0
/*
 * refuse.*: pages whose migrate callback refuses MIGRATE_SYNC_NO_COPY.
 * balloon_page_migrate(), zs_page_migrate() and aio_migrate_folio()
 * return -EINVAL in that mode, because they must copy under a lock of
 * their own. Each refusal must leave the page where it was, whole and
 * usable; the same page must migrate under MIGRATE_SYNC (the control
 * that ties the refusal to the mode); a refusing page in a batch must
 * not stop the rest; and unloading the module must return everything.
 * From 6.11 there is no NO_COPY to refuse: the refusal tests skip, the
 * MIGRATE_SYNC ones and the rest run in the modes the kernel has.
 */
#include <errno.h>
#include <fcntl.h>
#include <linux/aio_abi.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "hmm_harness.h"
#include "libhmm.h"

#define UNIT		0
#define NC		HMM_NC_MODE_SYNC_NO_COPY
#define SYNC		HMM_NC_MODE_SYNC
#define BALLOON		HMM_NC_CB_BALLOON
#define ZSMALLOC	HMM_NC_CB_ZSMALLOC
#define AIO		HMM_NC_CB_AIO
#define MOVABLE		HMM_NC_CB_OTHER

/* fs/aio.c's ring header, which libaio reads the same way. */
#define AIO_RING_MAGIC	0xa10a10a1
struct aio_ring_hdr {
	unsigned int id;
	unsigned int nr;
	unsigned int head;
	unsigned int tail;
	unsigned int magic;
	unsigned int compat_features;
	unsigned int incompat_features;
	unsigned int header_length;
};

#define AIO_EVENTS	128

#define AIO_TAG		0x5eedULL

/* An aio context of the test and a one-page file for it to read. */
struct aio_rig {
	aio_context_t ctx;	/* 0 until io_setup() */
	int data_fd;
	void *buf;		/* where reads land */
};

FIXTURE(refuse) {
	int fd;
	struct aio_rig aio;
};

static void release_everything(int fd)
{
	hmm_rf_release(fd, BALLOON, HMM_NC_RF_ALL);
	hmm_rf_release(fd, ZSMALLOC, HMM_NC_RF_ALL);
	hmm_rf_release(fd, MOVABLE, HMM_NC_RF_ALL);
}

FIXTURE_SETUP(refuse)
{
	struct hmm_nc_rf_state st;

	self->fd = -1;
	self->aio.data_fd = -1;
	if (geteuid())
		HMM_SETUP_SKIP("needs root (module load, page frame numbers)");
	self->fd = hmm_open(UNIT);
	if (self->fd < 0)
		HMM_SETUP_SKIP("no /dev/hmm_dmirror%u (is test_hmm loaded?)",
			       UNIT);
	if (hmm_rf_state(self->fd, &st) == -ENOTTY) {
		close(self->fd);
		HMM_SETUP_SKIP("this test_hmm has no refusal-path commands");
	}
	/* Start from an empty device whatever a crashed test left. */
	release_everything(self->fd);
}

FIXTURE_TEARDOWN(refuse)
{
	if (self->aio.ctx)
		syscall(__NR_io_destroy, self->aio.ctx);
	if (self->aio.data_fd >= 0)
		close(self->aio.data_fd);
	free(self->aio.buf);
	if (self->fd >= 0) {
		release_everything(self->fd);
		close(self->fd);
	}
}

static struct hmm_nc_rf_page rf_page(__u32 kind, __u64 index, __u64 ctx)
{
	struct hmm_nc_rf_page p;

	memset(&p, 0, sizeof(p));
	p.kind = kind;
	p.index = index;
	p.ctx = ctx;
	return p;
}

/* Migrates one page in one command; the command's own status. */
static int rf_one(int fd, __u32 mode, __u32 kind, __u64 index, __u64 ctx,
		  struct hmm_nc_rf_page *p)
{
	*p = rf_page(kind, index, ctx);
	return hmm_rf_migrate(fd, mode, p, 1, NULL);
}

/* The callback ran, said -EINVAL, and the item is as it was. */
static void check_refused(struct __test_metadata *_metadata,
			  const struct hmm_nc_rf_page *p)
{
	EXPECT_TRUE(p->status & HMM_NC_RF_RAN) TH_LOG("status 0x%x", p->status);
	EXPECT_EQ(-EINVAL, p->result);
	EXPECT_FALSE(p->status & HMM_NC_RF_MOVED);
	EXPECT_EQ(p->old_pfn, p->new_pfn);
	EXPECT_TRUE(p->status & HMM_NC_RF_HOME) TH_LOG("not back home");
	EXPECT_TRUE(p->status & HMM_NC_RF_INTACT) TH_LOG("payload damaged");
	EXPECT_FALSE(p->status & HMM_NC_RF_COPIED);
}

/* The callback moved the item to a new page, data and all. */
static void check_moved(struct __test_metadata *_metadata,
			const struct hmm_nc_rf_page *p, bool engine_copied)
{
	EXPECT_TRUE(p->status & HMM_NC_RF_RAN) TH_LOG("status 0x%x", p->status);
	EXPECT_EQ(0, p->result);
	EXPECT_TRUE(p->status & HMM_NC_RF_MOVED);
	EXPECT_NE(p->old_pfn, p->new_pfn);
	EXPECT_TRUE(p->status & HMM_NC_RF_HOME) TH_LOG("not in its new home");
	EXPECT_TRUE(p->status & HMM_NC_RF_INTACT) TH_LOG("payload damaged");
	EXPECT_EQ(engine_copied, !!(p->status & HMM_NC_RF_COPIED));
}

/* What the device holds is as before, back in place and undamaged. */
static void check_state_same(struct __test_metadata *_metadata,
			     const struct hmm_nc_rf_state *a,
			     const struct hmm_nc_rf_state *b)
{
	EXPECT_EQ(a->balloon_pages, b->balloon_pages);
	EXPECT_EQ(b->balloon_pages, b->balloon_listed);
	EXPECT_EQ(0, b->balloon_isolated);
	EXPECT_EQ(a->zs_objects, b->zs_objects);
	EXPECT_EQ(a->zs_pool_pages, b->zs_pool_pages);
	EXPECT_EQ(a->movable_pages, b->movable_pages);
	EXPECT_EQ(0, b->movable_isolated);
	EXPECT_EQ(0, b->bad);
}

static void counters_since(struct __test_metadata *_metadata, int fd,
			   const struct hmm_nc_counters *before,
			   struct hmm_nc_counters *delta)
{
	struct hmm_nc_counters now;

	ASSERT_EQ(0, hmm_counters(fd, false, &now));
	hmm_counters_delta(before, &now, delta);
}

/*
 * The callback of cb ran refused times in NO_COPY and migrated once in
 * SYNC; every page taken was given back and every lock released.
 */
static void check_refusal_counted(struct __test_metadata *_metadata,
				  const struct hmm_nc_counters *d,
				  unsigned int cb, __u64 refused)
{
	EXPECT_EQ(refused, d->failed[cb][NC]);
	EXPECT_EQ(refused, d->refusals);
	EXPECT_EQ(0, d->migrated[cb][NC]);
	EXPECT_EQ(1, d->migrated[cb][SYNC]);
	EXPECT_EQ(0, d->failed[cb][SYNC]);
	EXPECT_EQ(refused + 1, d->pages_taken);
	EXPECT_EQ(d->pages_taken, d->pages_returned);
	EXPECT_EQ(d->pages_locked, d->pages_unlocked);
	EXPECT_EQ(0, d->pages_copied);
}

/* NO_COPY twice (both refused, nothing changed), then the SYNC control. */
static void refuse_twice_then_move(struct __test_metadata *_metadata, int fd,
				   __u32 kind, __u64 index, __u64 ctx)
{
	struct hmm_nc_rf_state before, after;
	struct hmm_nc_rf_page p;
	__u64 pfn;
	int i;

	ASSERT_EQ(0, hmm_rf_state(fd, &before));
	for (i = 0; i < 2; i++) {
		ASSERT_EQ(0, rf_one(fd, NC, kind, index, ctx, &p));
		check_refused(_metadata, &p);
		if (i)
			EXPECT_EQ(pfn, p.new_pfn) TH_LOG("second attempt moved");
		pfn = p.new_pfn;
		ASSERT_EQ(0, hmm_rf_state(fd, &after));
		check_state_same(_metadata, &before, &after);
	}
	ASSERT_EQ(0, rf_one(fd, SYNC, kind, index, ctx, &p));
	check_moved(_metadata, &p, false);
	EXPECT_EQ(pfn, p.old_pfn);
	ASSERT_EQ(0, hmm_rf_state(fd, &after));
	check_state_same(_metadata, &before, &after);
}

TEST_F(refuse, balloon_no_copy_einval_page_kept_then_sync_moves)
{
	struct hmm_nc_counters before, d;

	HMM_REQUIRE(self->fd, HMM_NEED_NOCOPY | HMM_NEED_REFUSALS);
	ASSERT_EQ(16, hmm_rf_hold(self->fd, BALLOON, 16));
	ASSERT_EQ(0, hmm_counters(self->fd, false, &before));
	refuse_twice_then_move(_metadata, self->fd, BALLOON, 7, 0);
	counters_since(_metadata, self->fd, &before, &d);
	check_refusal_counted(_metadata, &d, BALLOON, 2);
	/* Teardown: the balloon deflates completely. */
	EXPECT_EQ(0, hmm_rf_release(self->fd, BALLOON, HMM_NC_RF_ALL));
}

TEST_F(refuse, balloon_sync_moves_pages_data_intact)
{
	struct hmm_nc_rf_page p[2] = { rf_page(BALLOON, 0, 0),
				       rf_page(BALLOON, 7, 0) };
	struct hmm_nc_rf_state before, after;
	struct hmm_nc_rf_migrate out;

	ASSERT_EQ(8, hmm_rf_hold(self->fd, BALLOON, 8));
	ASSERT_EQ(0, hmm_rf_state(self->fd, &before));
	ASSERT_EQ(0, hmm_rf_migrate(self->fd, SYNC, p, 2, &out));
	EXPECT_EQ(2, out.migrated);
	check_moved(_metadata, &p[0], false);
	check_moved(_metadata, &p[1], false);
	ASSERT_EQ(0, hmm_rf_state(self->fd, &after));
	check_state_same(_metadata, &before, &after);
}

TEST_F(refuse, zsmalloc_no_copy_einval_object_kept_then_sync_moves)
{
	struct hmm_nc_counters before, d;
	struct hmm_nc_rf_state st;

	HMM_REQUIRE(self->fd, HMM_NEED_NOCOPY | HMM_NEED_REFUSALS);
	ASSERT_EQ(64, hmm_rf_hold(self->fd, ZSMALLOC, 64));
	ASSERT_EQ(0, hmm_counters(self->fd, false, &before));
	refuse_twice_then_move(_metadata, self->fd, ZSMALLOC, 37, 0);
	counters_since(_metadata, self->fd, &before, &d);
	check_refusal_counted(_metadata, &d, ZSMALLOC, 2);
	/* The pool still serves: one more object, then teardown. */
	EXPECT_EQ(65, hmm_rf_hold(self->fd, ZSMALLOC, 1));
	ASSERT_EQ(0, hmm_rf_state(self->fd, &st));
	EXPECT_EQ(0, st.bad);
	EXPECT_EQ(0, hmm_rf_release(self->fd, ZSMALLOC, HMM_NC_RF_ALL));
}

/* The other objects of a moved zspage page follow it, handles and all. */
TEST_F(refuse, zsmalloc_sync_moves_page_all_objects_intact)
{
	struct hmm_nc_rf_state before, after;
	struct hmm_nc_rf_page p;

	ASSERT_EQ(32, hmm_rf_hold(self->fd, ZSMALLOC, 32));
	ASSERT_EQ(0, hmm_rf_state(self->fd, &before));
	ASSERT_EQ(0, rf_one(self->fd, SYNC, ZSMALLOC, 0, 0, &p));
	check_moved(_metadata, &p, false);
	ASSERT_EQ(0, hmm_rf_state(self->fd, &after));
	check_state_same(_metadata, &before, &after);
}

/*
 * Outside evidence for balloon pages: the kernel's own page flags. A
 * balloon page is PG_offline (KPF_OFFLINE in /proc/kpageflags), and the
 * PFNs that are make a set found by scanning every PFN of system RAM,
 * whatever the module says. Only system RAM (/proc/iomem): on 5.10 the
 * device's private memory, high in the physical address space, raises
 * max_pfn and with it the size of /proc/kpageflags by many gigabytes.
 */
#define KPF_CHUNK	4096

/* Appends the PG_offline PFNs of [pfn, end) to pfns[*n]; 0 or -errno. */
static int offline_pfns_in(int fd, __u64 pfn, __u64 end, __u64 *flags,
			   __u64 *pfns, long *n, long max)
{
	size_t want;
	ssize_t got;
	long i;

	while (pfn < end) {
		want = end - pfn < KPF_CHUNK ? end - pfn : KPF_CHUNK;
		got = pread(fd, flags, want * sizeof(*flags),
			    (off_t)(pfn * sizeof(*flags)));
		if (got < 0)
			return -errno;
		if (got == 0)
			return 0;
		for (i = 0; i < got / (ssize_t)sizeof(*flags); i++) {
			if (!(flags[i] & (1ULL << HMM_KPF_OFFLINE)))
				continue;
			if (*n == max)
				return -ENOSPC;
			pfns[(*n)++] = pfn + i;
		}
		pfn += got / sizeof(*flags);
	}
	return 0;
}

/* The PG_offline PFNs of system RAM: how many went to pfns[max], or -errno. */
static long offline_pfns(__u64 *pfns, long max)
{
	__u64 *flags = malloc(KPF_CHUNK * sizeof(*flags));
	unsigned long long start, end;
	FILE *iomem = fopen("/proc/iomem", "r");
	int fd = open("/proc/kpageflags", O_RDONLY);
	int shift = __builtin_ctzl(sysconf(_SC_PAGESIZE));
	char line[256];
	long n = 0;
	int ret = 0;

	if (!iomem || fd < 0 || !flags) {
		ret = !flags ? -ENOMEM : -errno;
		goto out;
	}
	/* Top-level lines only: "start-end : System RAM". */
	while (!ret && fgets(line, sizeof(line), iomem)) {
		if (line[0] == ' ' || !strstr(line, " : System RAM") ||
		    sscanf(line, "%llx-%llx", &start, &end) != 2)
			continue;
		ret = offline_pfns_in(fd, start >> shift, (end + 1) >> shift,
				      flags, pfns, &n, max);
	}
out:
	if (iomem)
		fclose(iomem);
	if (fd >= 0)
		close(fd);
	free(flags);
	return ret ? ret : n;
}

static bool pfn_in(const __u64 *pfns, long n, __u64 pfn)
{
	long i;

	for (i = 0; i < n; i++)
		if (pfns[i] == pfn)
			return true;
	return false;
}

#define OFFLINE_MAX	65536
#define BALLOON_HELD	16

/*
 * Balloon pages as the kernel's page flags show them: holding 16 adds
 * 16 PG_offline pages; a NO_COPY refusal leaves that set as it was, with
 * the page the module names in it; the SYNC control swaps exactly that
 * page for the new one the module names, which was not PG_offline
 * before and is now.
 */
TEST_F(refuse, balloon_pages_offline_in_kpageflags_stay_then_sync_moves)
{
	__u64 *base, *held, *now;
	struct hmm_nc_rf_page p;
	long nb, nh, nn, i;

	HMM_REQUIRE(self->fd, HMM_NEED_NOCOPY | HMM_NEED_REFUSALS);
	base = calloc(OFFLINE_MAX, sizeof(__u64));
	held = calloc(OFFLINE_MAX, sizeof(__u64));
	now = calloc(OFFLINE_MAX, sizeof(__u64));
	ASSERT_TRUE(base && held && now);
	nb = offline_pfns(base, OFFLINE_MAX);
	ASSERT_LE(0, nb) TH_LOG("/proc/kpageflags: %s", strerror(-nb));
	ASSERT_EQ(BALLOON_HELD, hmm_rf_hold(self->fd, BALLOON, BALLOON_HELD));
	nh = offline_pfns(held, OFFLINE_MAX);
	ASSERT_EQ(nb + BALLOON_HELD, nh)
		TH_LOG("kpageflags: %ld PG_offline pages before, %ld after", nb,
		       nh);

	ASSERT_EQ(0, rf_one(self->fd, NC, BALLOON, 7, 0, &p));
	check_refused(_metadata, &p);
	EXPECT_TRUE(pfn_in(held, nh, p.old_pfn))
		TH_LOG("pfn 0x%llx, which the module names, is not PG_offline",
		       (unsigned long long)p.old_pfn);
	EXPECT_FALSE(pfn_in(base, nb, p.old_pfn));
	nn = offline_pfns(now, OFFLINE_MAX);
	ASSERT_EQ(nh, nn);
	EXPECT_EQ(0, memcmp(held, now, nh * sizeof(__u64)))
		TH_LOG("the PG_offline pages changed under NO_COPY");

	ASSERT_EQ(0, rf_one(self->fd, SYNC, BALLOON, 7, 0, &p));
	check_moved(_metadata, &p, false);
	EXPECT_TRUE(pfn_in(held, nh, p.old_pfn));
	EXPECT_FALSE(pfn_in(held, nh, p.new_pfn))
		TH_LOG("the new page was PG_offline before the move");
	nn = offline_pfns(now, OFFLINE_MAX);
	ASSERT_EQ(nh, nn);
	EXPECT_TRUE(pfn_in(now, nn, p.new_pfn))
		TH_LOG("new pfn 0x%llx is not PG_offline",
		       (unsigned long long)p.new_pfn);
	EXPECT_FALSE(pfn_in(now, nn, p.old_pfn))
		TH_LOG("old pfn 0x%llx is still PG_offline",
		       (unsigned long long)p.old_pfn);
	for (i = 0; i < nh; i++) {
		if (held[i] == p.old_pfn)
			continue;
		EXPECT_TRUE(pfn_in(now, nn, held[i]))
			TH_LOG("pfn 0x%llx left the balloon",
			       (unsigned long long)held[i]);
	}
	EXPECT_EQ(0, hmm_rf_release(self->fd, BALLOON, HMM_NC_RF_ALL));
	nn = offline_pfns(now, OFFLINE_MAX);
	EXPECT_EQ(nb, nn) TH_LOG("PG_offline pages left after deflating");
	free(base);
	free(held);
	free(now);
}

/*
 * A zsmalloc page as the kernel's page flags show it: the first page
 * of a zspage (ours are one page) is PG_private, neither on the LRU nor
 * free. The page the module names is one before and after a NO_COPY
 * refusal; after the SYNC control the new page is one and the old one
 * is not any more.
 */
static void check_zspage_pfn(struct __test_metadata *_metadata, __u64 pfn,
			     bool zspage, const char *what)
{
	__u64 flags;

	ASSERT_EQ(0, hmm_kpageflags(pfn, &flags));
	if (zspage) {
		EXPECT_TRUE(flags & (1ULL << HMM_KPF_PRIVATE))
			TH_LOG("%s pfn 0x%llx: kpageflags 0x%llx", what,
			       (unsigned long long)pfn,
			       (unsigned long long)flags);
		EXPECT_FALSE(flags & (1ULL << HMM_KPF_LRU |
				      1ULL << HMM_KPF_BUDDY))
			TH_LOG("%s pfn 0x%llx: kpageflags 0x%llx", what,
			       (unsigned long long)pfn,
			       (unsigned long long)flags);
	} else {
		EXPECT_FALSE(flags & (1ULL << HMM_KPF_PRIVATE))
			TH_LOG("%s pfn 0x%llx: still PG_private", what,
			       (unsigned long long)pfn);
	}
}

TEST_F(refuse, zsmalloc_page_in_kpageflags_stays_then_sync_moves)
{
	struct hmm_nc_rf_page p;
	__u64 pfn;

	HMM_REQUIRE(self->fd, HMM_NEED_NOCOPY | HMM_NEED_REFUSALS);
	ASSERT_EQ(64, hmm_rf_hold(self->fd, ZSMALLOC, 64));
	ASSERT_EQ(0, rf_one(self->fd, NC, ZSMALLOC, 37, 0, &p));
	check_refused(_metadata, &p);
	pfn = p.old_pfn;
	check_zspage_pfn(_metadata, pfn, true, "refused");
	ASSERT_EQ(0, rf_one(self->fd, SYNC, ZSMALLOC, 37, 0, &p));
	check_moved(_metadata, &p, false);
	EXPECT_EQ(pfn, p.old_pfn);
	check_zspage_pfn(_metadata, p.new_pfn, true, "new");
	check_zspage_pfn(_metadata, p.old_pfn, false, "old");
	EXPECT_EQ(0, hmm_rf_release(self->fd, ZSMALLOC, HMM_NC_RF_ALL));
}

static long io_setup_raw(unsigned int nr, aio_context_t *ctx)
{
	return syscall(__NR_io_setup, nr, ctx);
}

/*
 * Reads the data file's first page through the aio context and checks
 * what arrives; the result is the event's, or -errno.
 */
static long aio_read_page(aio_context_t ctx, int fd, void *buf)
{
	struct timespec timeout = { .tv_sec = 10 };
	size_t page = hmm_page_size();
	struct iocb cb, *cbs[1] = { &cb };
	struct io_event ev;
	long n;

	memset(buf, 0, page);
	memset(&cb, 0, sizeof(cb));
	cb.aio_lio_opcode = IOCB_CMD_PREAD;
	cb.aio_fildes = fd;
	cb.aio_buf = (uintptr_t)buf;
	cb.aio_nbytes = page;
	cb.aio_data = AIO_TAG;
	if (syscall(__NR_io_submit, ctx, 1, cbs) != 1)
		return -errno;
	n = syscall(__NR_io_getevents, ctx, 1, 1, &ev, &timeout);
	if (n != 1)
		return n < 0 ? -errno : -ETIMEDOUT;
	/* An event for this request, carrying the file's bytes. */
	if (ev.data != AIO_TAG || ev.obj != (uintptr_t)&cb)
		return -EIO;
	if (ev.res == (__s64)page && hmm_verify(buf, page, AIO_TAG) >= 0)
		return -EILSEQ;
	return ev.res;
}

static void aio_setup(struct __test_metadata *_metadata, struct aio_rig *aio)
{
	char path[] = "/tmp/refuse_aio.XXXXXX";
	size_t page = hmm_page_size();

	aio->buf = aligned_alloc(page, page);
	ASSERT_NE(NULL, aio->buf);
	aio->data_fd = mkstemp(path);
	ASSERT_GE(aio->data_fd, 0);
	unlink(path);
	hmm_fill(aio->buf, page, AIO_TAG);
	ASSERT_EQ((ssize_t)page, pwrite(aio->data_fd, aio->buf, page, 0));
	if (io_setup_raw(AIO_EVENTS, &aio->ctx))
		SKIP(return, "io_setup: %s", strerror(errno));
}

/* The ring reads as a ring through the process's mapping; its PFN. */
static __u64 aio_ring_pfn(struct __test_metadata *_metadata,
			  aio_context_t ctx, __u64 index)
{
	size_t size = hmm_page_size();
	char *page = (char *)ctx + index * size;
	const struct aio_ring_hdr *hdr = (const void *)ctx;
	__u64 pfn = 0;

	EXPECT_EQ(AIO_RING_MAGIC, hdr->magic);
	/* A page the module unmapped comes back only when faulted in. */
	(void)__atomic_load_n(page, __ATOMIC_RELAXED);
	EXPECT_EQ(0, hmm_pfn(page, &pfn));
	return pfn;
}

static void check_aio_works(struct __test_metadata *_metadata,
			    struct aio_rig *aio)
{
	EXPECT_EQ((long)hmm_page_size(),
		  aio_read_page(aio->ctx, aio->data_fd, aio->buf));
}

TEST_F(refuse, aio_no_copy_einval_ring_kept_then_sync_moves)
{
	struct hmm_nc_counters before, d;
	struct hmm_nc_rf_page p;
	__u64 pfn;
	int i;

	HMM_REQUIRE(self->fd, HMM_NEED_NOCOPY | HMM_NEED_REFUSALS |
		    HMM_NEED_AIO_RING);
	aio_setup(_metadata, &self->aio);
	check_aio_works(_metadata, &self->aio);
	pfn = aio_ring_pfn(_metadata, self->aio.ctx, 0);
	ASSERT_EQ(0, hmm_counters(self->fd, false, &before));

	for (i = 0; i < 2; i++) {
		ASSERT_EQ(0, rf_one(self->fd, NC, AIO, 0, self->aio.ctx, &p));
		check_refused(_metadata, &p);
		EXPECT_EQ(pfn, p.old_pfn);
		EXPECT_EQ(pfn, aio_ring_pfn(_metadata, self->aio.ctx, 0));
		check_aio_works(_metadata, &self->aio);
	}

	ASSERT_EQ(0, rf_one(self->fd, SYNC, AIO, 0, self->aio.ctx, &p));
	check_moved(_metadata, &p, false);
	EXPECT_EQ(p.new_pfn, aio_ring_pfn(_metadata, self->aio.ctx, 0));
	check_aio_works(_metadata, &self->aio);

	counters_since(_metadata, self->fd, &before, &d);
	check_refusal_counted(_metadata, &d, AIO, 2);
	/* Teardown: the context goes away cleanly. */
	EXPECT_EQ(0, syscall(__NR_io_destroy, self->aio.ctx));
	self->aio.ctx = 0;
}

/* Every page of the ring moves; the context keeps completing I/O. */
TEST_F(refuse, aio_sync_moves_ring_pages_io_completes)
{
	struct hmm_nc_rf_page p[2] = { rf_page(AIO, 0, 0), rf_page(AIO, 1, 0) };
	struct hmm_nc_rf_migrate out;

	HMM_REQUIRE(self->fd, HMM_NEED_AIO_RING);
	aio_setup(_metadata, &self->aio);
	p[0].ctx = self->aio.ctx;
	p[1].ctx = self->aio.ctx;
	ASSERT_EQ(0, hmm_rf_migrate(self->fd, SYNC, p, 2, &out));
	EXPECT_EQ(2, out.migrated);
	check_moved(_metadata, &p[0], false);
	check_moved(_metadata, &p[1], false);
	EXPECT_EQ(p[0].new_pfn, aio_ring_pfn(_metadata, self->aio.ctx, 0));
	EXPECT_EQ(p[1].new_pfn, aio_ring_pfn(_metadata, self->aio.ctx, 1));
	check_aio_works(_metadata, &self->aio);
	check_aio_works(_metadata, &self->aio);
}

/*
 * Ring pages are referenced, not isolated: two batches may hold the
 * same ones. Each side below names ring pages 0 and 1 of one context, in
 * opposite orders, on its own device (so nothing serialises the two), in
 * NO_COPY (the pages stay) and SYNC (they move) by turns; in SYNC only
 * where the kernel has no NO_COPY.
 */
#define OPPOSITE_BATCHES	2000	/* per side, at most */
#define OPPOSITE_SECONDS	3	/* per side, at most */
#define OPPOSITE_STUCK		60	/* a side still running then is stuck */

struct opposite_side {
	int fd;
	aio_context_t ctx;
	__u64 first, second;	/* ring pages, in this side's order */
	__u32 other;		/* the mode of every other batch: NC or SYNC */
	unsigned int batches;	/* commands that completed */
	int err;		/* the command that failed, or 0 */
	atomic_bool finished;
};

static double now_seconds(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

static void *opposite_run(void *arg)
{
	struct opposite_side *s = arg;
	double end = now_seconds() + OPPOSITE_SECONDS;
	struct hmm_nc_rf_page p[2];

	while (s->batches < OPPOSITE_BATCHES && now_seconds() < end) {
		p[0] = rf_page(AIO, s->first, s->ctx);
		p[1] = rf_page(AIO, s->second, s->ctx);
		s->err = hmm_rf_migrate(s->fd, s->batches & 1 ? SYNC : s->other,
					p, 2, NULL);
		if (s->err)
			break;
		s->batches++;
	}
	atomic_store(&s->finished, true);
	return NULL;
}

/* True once every side finished, false if one is still running at end. */
static bool opposite_wait(struct opposite_side *side, unsigned int n,
			  double end)
{
	unsigned int i;

	for (;;) {
		for (i = 0; i < n && atomic_load(&side[i].finished); i++)
			;
		if (i == n)
			return true;
		if (now_seconds() > end)
			return false;
		usleep(10000);
	}
}

/*
 * Batches that lock their pages in the order the user named them would
 * each hold one page and wait for the other's: both would stay in D
 * state for good. Every batch must lock in one global order.
 */
TEST_F(refuse, aio_batches_in_opposite_orders_do_not_deadlock)
{
	/* Static: a side stuck in the kernel outlives this frame. */
	static struct opposite_side side[2];
	pthread_t t[2];
	unsigned int i;
	int fd1;

	HMM_REQUIRE(self->fd, HMM_NEED_AIO_RING);
	aio_setup(_metadata, &self->aio);
	fd1 = hmm_open(UNIT + 1);
	if (fd1 < 0)
		SKIP(return, "no /dev/hmm_dmirror%u", UNIT + 1);
	aio_ring_pfn(_metadata, self->aio.ctx, 0);
	aio_ring_pfn(_metadata, self->aio.ctx, 1);
	for (i = 0; i < 2; i++) {
		memset(&side[i], 0, sizeof(side[i]));
		side[i].fd = i ? fd1 : self->fd;
		side[i].ctx = self->aio.ctx;
		side[i].first = i;
		side[i].second = !i;
		side[i].other = hmm_unmet(self->fd, HMM_NEED_NOCOPY) ? SYNC : NC;
		atomic_init(&side[i].finished, false);
	}
	for (i = 0; i < 2; i++)
		ASSERT_EQ(0, pthread_create(&t[i], NULL, opposite_run,
					    &side[i]));
	ASSERT_TRUE(opposite_wait(side, 2, now_seconds() + OPPOSITE_STUCK))
		TH_LOG("batches still running after %d s: deadlocked",
		       OPPOSITE_STUCK);
	for (i = 0; i < 2; i++) {
		ASSERT_EQ(0, pthread_join(t[i], NULL));
		EXPECT_EQ(0, side[i].err) TH_LOG("side %u: %s", i,
						 strerror(-side[i].err));
		EXPECT_LT(0, side[i].batches);
	}
	TH_LOG("%u and %u batches", side[0].batches, side[1].batches);
	close(fd1);
	/* The ring is still a ring, and the context still completes I/O. */
	aio_ring_pfn(_metadata, self->aio.ctx, 0);
	aio_ring_pfn(_metadata, self->aio.ctx, 1);
	check_aio_works(_metadata, &self->aio);
}

/*
 * A page named twice would be locked twice by one batch. (ctx, 1) and
 * (ctx + one page, 0) name the same ring page through different entries:
 * the batch is refused before any callback, and nothing moves.
 */
TEST_F(refuse, aio_same_ring_page_twice_einval_nothing_moves)
{
	/* Both modes where the kernel has NO_COPY, else SYNC alone. */
	static const __u32 modes[] = { SYNC, NC };
	size_t page = hmm_page_size();
	struct hmm_nc_counters c0, d;
	struct hmm_nc_rf_page p[2];
	__u64 ctx, pfn0, pfn1;
	unsigned int i, mode, nmodes;

	HMM_REQUIRE(self->fd, HMM_NEED_AIO_RING);
	aio_setup(_metadata, &self->aio);
	nmodes = hmm_unmet(self->fd, HMM_NEED_NOCOPY) ? 1 : ARRAY_SIZE(modes);
	ctx = self->aio.ctx;
	pfn0 = aio_ring_pfn(_metadata, ctx, 0);
	pfn1 = aio_ring_pfn(_metadata, ctx, 1);
	ASSERT_EQ(0, hmm_counters(self->fd, false, &c0));

	for (i = 0; i < nmodes; i++) {
		p[0] = rf_page(AIO, 1, ctx);
		p[1] = rf_page(AIO, 0, ctx + page);
		EXPECT_EQ(-EINVAL, hmm_rf_migrate(self->fd, modes[i], p, 2,
						  NULL)) TH_LOG("two names");
		p[0] = rf_page(AIO, 0, ctx);
		p[1] = rf_page(AIO, 0, ctx);
		EXPECT_EQ(-EINVAL, hmm_rf_migrate(self->fd, modes[i], p, 2,
						  NULL)) TH_LOG("one name");
	}

	counters_since(_metadata, self->fd, &c0, &d);
	EXPECT_EQ(0, d.batches + d.pages_locked + d.pages_copied);
	EXPECT_EQ(d.pages_taken, d.pages_returned);
	for (mode = 0; mode < HMM_NC_MODE_COUNT; mode++)
		EXPECT_EQ(0, d.migrated[AIO][mode] + d.failed[AIO][mode]);
	EXPECT_EQ(pfn0, aio_ring_pfn(_metadata, ctx, 0));
	EXPECT_EQ(pfn1, aio_ring_pfn(_metadata, ctx, 1));
	check_aio_works(_metadata, &self->aio);
}

#define BATCH_SIDE	8	/* movable pages on each side of the refuser */

/*
 * A NO_COPY batch of movable pages with one page of kind in the middle
 * (index, ctx): the movable pages migrate and the engine copies them in
 * one operation; the middle page is refused and put back.
 */
static void batch_with_refuser(struct __test_metadata *_metadata, int fd,
			       __u32 kind, __u64 index, __u64 ctx)
{
	struct hmm_nc_rf_page p[2 * BATCH_SIDE + 1];
	struct hmm_nc_rf_state before, after;
	struct hmm_nc_counters c0, d;
	struct hmm_nc_rf_migrate out;
	unsigned int i;

	ASSERT_EQ(2 * BATCH_SIDE, hmm_rf_hold(fd, MOVABLE, 2 * BATCH_SIDE));
	for (i = 0; i < BATCH_SIDE; i++) {
		p[i] = rf_page(MOVABLE, i, 0);
		p[BATCH_SIDE + 1 + i] = rf_page(MOVABLE, BATCH_SIDE + i, 0);
	}
	p[BATCH_SIDE] = rf_page(kind, index, ctx);
	ASSERT_EQ(0, hmm_rf_state(fd, &before));
	ASSERT_EQ(0, hmm_counters(fd, false, &c0));

	ASSERT_EQ(0, hmm_rf_migrate(fd, NC, p, ARRAY_SIZE(p), &out));
	EXPECT_EQ(2 * BATCH_SIDE, out.migrated);
	EXPECT_EQ(1, out.refused);
	EXPECT_EQ(0, out.failed);
	for (i = 0; i < ARRAY_SIZE(p); i++) {
		if (i == BATCH_SIDE)
			check_refused(_metadata, &p[i]);
		else
			check_moved(_metadata, &p[i], true);
	}

	counters_since(_metadata, fd, &c0, &d);
	EXPECT_EQ(1, d.batches);
	EXPECT_EQ(2 * BATCH_SIDE, d.pages_copied);
	EXPECT_EQ(2 * BATCH_SIDE, d.migrated[MOVABLE][NC]);
	EXPECT_EQ(1, d.failed[kind][NC]);
	EXPECT_EQ(1, d.refusals);
	EXPECT_EQ(ARRAY_SIZE(p), d.pages_taken);
	EXPECT_EQ(d.pages_taken, d.pages_returned);
	EXPECT_EQ(d.pages_locked, d.pages_unlocked);
	ASSERT_EQ(0, hmm_rf_state(fd, &after));
	check_state_same(_metadata, &before, &after);
}

TEST_F(refuse, batch_no_copy_balloon_refused_put_back_others_move)
{
	HMM_REQUIRE(self->fd, HMM_NEED_NOCOPY | HMM_NEED_REFUSALS);
	ASSERT_EQ(4, hmm_rf_hold(self->fd, BALLOON, 4));
	batch_with_refuser(_metadata, self->fd, BALLOON, 2, 0);
}

TEST_F(refuse, batch_no_copy_zsmalloc_refused_put_back_others_move)
{
	HMM_REQUIRE(self->fd, HMM_NEED_NOCOPY | HMM_NEED_REFUSALS);
	ASSERT_EQ(40, hmm_rf_hold(self->fd, ZSMALLOC, 40));
	batch_with_refuser(_metadata, self->fd, ZSMALLOC, 20, 0);
}

TEST_F(refuse, batch_no_copy_aio_refused_put_back_others_move)
{
	__u64 pfn;

	HMM_REQUIRE(self->fd, HMM_NEED_NOCOPY | HMM_NEED_REFUSALS |
		    HMM_NEED_AIO_RING);
	aio_setup(_metadata, &self->aio);
	pfn = aio_ring_pfn(_metadata, self->aio.ctx, 0);
	batch_with_refuser(_metadata, self->fd, AIO, 0, self->aio.ctx);
	EXPECT_EQ(pfn, aio_ring_pfn(_metadata, self->aio.ctx, 0));
	check_aio_works(_metadata, &self->aio);
}

/*
 * The control: the same batch in SYNC moves every page, the refusing
 * kind's page (index, ctx) too, each callback copying its own page
 * (the engine idle).
 */
static void batch_sync_all_move(struct __test_metadata *_metadata, int fd,
				__u32 kind, __u64 index, __u64 ctx)
{
	struct hmm_nc_rf_page p[2 * BATCH_SIDE + 1];
	struct hmm_nc_rf_state before, after;
	struct hmm_nc_counters c0, d;
	struct hmm_nc_rf_migrate out;
	unsigned int i;

	ASSERT_EQ(2 * BATCH_SIDE, hmm_rf_hold(fd, MOVABLE, 2 * BATCH_SIDE));
	for (i = 0; i < BATCH_SIDE; i++) {
		p[i] = rf_page(MOVABLE, i, 0);
		p[BATCH_SIDE + 1 + i] = rf_page(MOVABLE, BATCH_SIDE + i, 0);
	}
	p[BATCH_SIDE] = rf_page(kind, index, ctx);
	ASSERT_EQ(0, hmm_rf_state(fd, &before));
	ASSERT_EQ(0, hmm_counters(fd, false, &c0));
	ASSERT_EQ(0, hmm_rf_migrate(fd, SYNC, p, ARRAY_SIZE(p), &out));
	EXPECT_EQ(ARRAY_SIZE(p), out.migrated);
	EXPECT_EQ(0, out.refused);
	EXPECT_EQ(0, out.failed);
	for (i = 0; i < ARRAY_SIZE(p); i++)
		check_moved(_metadata, &p[i], false);
	counters_since(_metadata, fd, &c0, &d);
	EXPECT_EQ(0, d.batches);
	EXPECT_EQ(0, d.pages_copied);
	EXPECT_EQ(0, d.refusals);
	EXPECT_EQ(2 * BATCH_SIDE, d.migrated[MOVABLE][SYNC]);
	EXPECT_EQ(1, d.migrated[kind][SYNC]);
	EXPECT_EQ(0, d.failed[kind][SYNC]);
	EXPECT_EQ(ARRAY_SIZE(p), d.pages_taken);
	EXPECT_EQ(d.pages_taken, d.pages_returned);
	EXPECT_EQ(d.pages_locked, d.pages_unlocked);
	ASSERT_EQ(0, hmm_rf_state(fd, &after));
	check_state_same(_metadata, &before, &after);
}

TEST_F(refuse, batch_sync_all_move_engine_copies_nothing)
{
	ASSERT_EQ(4, hmm_rf_hold(self->fd, BALLOON, 4));
	batch_sync_all_move(_metadata, self->fd, BALLOON, 2, 0);
}

TEST_F(refuse, batch_sync_zsmalloc_all_move_engine_copies_nothing)
{
	ASSERT_EQ(40, hmm_rf_hold(self->fd, ZSMALLOC, 40));
	batch_sync_all_move(_metadata, self->fd, ZSMALLOC, 20, 0);
}

TEST_F(refuse, batch_sync_aio_all_move_engine_copies_nothing)
{
	__u64 pfn;

	HMM_REQUIRE(self->fd, HMM_NEED_AIO_RING);
	aio_setup(_metadata, &self->aio);
	pfn = aio_ring_pfn(_metadata, self->aio.ctx, 0);
	batch_sync_all_move(_metadata, self->fd, AIO, 0, self->aio.ctx);
	EXPECT_NE(pfn, aio_ring_pfn(_metadata, self->aio.ctx, 0))
		TH_LOG("pagemap: the ring page did not move");
	check_aio_works(_metadata, &self->aio);
}

/* A kernel log reader positioned after everything logged so far. */
static int kmsg_open_at_end(void)
{
	int fd = open("/dev/kmsg", O_RDONLY | O_NONBLOCK | O_CLOEXEC);

	if (fd >= 0)
		lseek(fd, 0, SEEK_END);
	return fd;
}

/* What the module says it gave back as it went. */
struct unload_report {
	long long balloon, zsmalloc, movable, held, taken, returned;
};

/* The value of " name=" in a record, or -1. */
static long long kv(const char *rec, const char *name)
{
	char key[32];
	const char *at;
	long long v;

	snprintf(key, sizeof(key), " %s=", name);
	at = strstr(rec, key);
	if (!at || sscanf(at + strlen(key), "%lld", &v) != 1)
		return -1;
	return v;
}

static void parse_report(const char *rec, struct unload_report *r)
{
	r->balloon = kv(rec, "balloon");
	r->zsmalloc = kv(rec, "zsmalloc");
	r->movable = kv(rec, "movable");
	r->held = kv(rec, "held");
	r->taken = kv(rec, "taken");
	r->returned = kv(rec, "returned");
}

/* Finds the module's unload report for a unit among the new records. */
static int kmsg_find_report(int fd, unsigned int unit,
			    struct unload_report *r)
{
	char rec[1024], key[64];
	ssize_t n;

	snprintf(key, sizeof(key), "hmm_dmirror%u: unload returned", unit);
	while ((n = read(fd, rec, sizeof(rec) - 1)) > 0 || errno == EPIPE) {
		if (n <= 0)
			continue;	/* records were overwritten: go on */
		rec[n] = '\0';
		if (strstr(rec, key)) {
			parse_report(rec, r);
			return 0;
		}
	}
	return -ENOENT;
}

/*
 * No page was taken, locked, copied or handed to a callback. (The
 * mirror's counters may move: the kernel can invalidate the process's
 * memory at any time, e.g. to compact it.)
 */
static void check_no_migration(struct __test_metadata *_metadata,
			       const struct hmm_nc_counters *d)
{
	unsigned int cb, mode;

	EXPECT_EQ(0, d->pages_taken + d->pages_returned);
	EXPECT_EQ(0, d->pages_locked + d->pages_unlocked);
	EXPECT_EQ(0, d->batches + d->pages_copied);
	EXPECT_EQ(0, d->refusals);
	for (cb = 0; cb < HMM_NC_CB_COUNT; cb++)
		for (mode = 0; mode < HMM_NC_MODE_COUNT; mode++) {
			EXPECT_EQ(0, d->migrated[cb][mode] + d->failed[cb][mode])
				TH_LOG("callback %u, mode %u", cb, mode);
		}
}

static void check_all_zero(struct __test_metadata *_metadata, int fd)
{
	struct hmm_nc_counters c;
	struct hmm_nc_rf_state st;

	ASSERT_EQ(0, hmm_counters(fd, true, &c));
	check_no_migration(_metadata, &c);
	ASSERT_EQ(0, hmm_rf_state(fd, &st));
	EXPECT_EQ(0, st.balloon_pages + st.zs_objects + st.movable_pages);
}

#define UNLOAD_BALLOON	HMM_NC_RF_MAX_HELD	/* 16 MiB of 4 KiB pages */
#define UNLOAD_OBJECTS	100
#define UNLOAD_MOVABLE	HMM_NC_RF_MAX_HELD
/* What else free memory may lose while the module goes (kB). */
#define UNLOAD_SLACK_KB	2048

/*
 * Unloading with balloon pages, objects and movable pages held (after
 * some migrations) gives every one of them back to the kernel. What the
 * module held is taken from its state just before rmmod; that it was
 * all given back is seen from outside the module: free memory rises by
 * at least the held pages (the module's own memory going with it only
 * adds), the system's zsmalloc pages (nr_zspages) drop by the pool's,
 * and a balloon page's PFN loses its PG_offline mark. The module's
 * last words in the kernel log say the same, and a fresh module starts
 * from zero.
 */
TEST_F(refuse, unload_returns_held_pages_counters_zero)
{
	struct hmm_nc_rf_page p[3] = { rf_page(BALLOON, 1, 0),
				       rf_page(ZSMALLOC, 5, 0),
				       rf_page(MOVABLE, 3, 0) };
	struct unload_report r = { -1, -1, -1, -1, -1, -1 };
	long zs_before, zs_held, zs_after, free_held, free_after, want_kb;
	const char *ko = hmm_module_ko();
	struct hmm_nc_rf_state st;
	int kmsg, ret, batches = 1;
	__u64 flags;

	if (access(ko, R_OK))
		SKIP(return, "no module file %s (set HMM_MODULE_KO)", ko);
	zs_before = hmm_vmstat("nr_zspages");
	ASSERT_LE(0, zs_before);
	ASSERT_EQ(UNLOAD_BALLOON, hmm_rf_hold(self->fd, BALLOON,
					      UNLOAD_BALLOON));
	ASSERT_EQ(UNLOAD_OBJECTS, hmm_rf_hold(self->fd, ZSMALLOC,
					      UNLOAD_OBJECTS));
	ASSERT_EQ(UNLOAD_MOVABLE, hmm_rf_hold(self->fd, MOVABLE,
					      UNLOAD_MOVABLE));
	ASSERT_EQ(0, hmm_rf_migrate(self->fd, SYNC, p, 3, NULL));
	/* A NO_COPY batch too where the kernel has the mode. */
	if (!hmm_unmet(self->fd, HMM_NEED_NOCOPY)) {
		ASSERT_EQ(0, hmm_rf_migrate(self->fd, NC, p, 3, NULL));
		batches++;
	}
	/* What the module holds as it goes. */
	ASSERT_EQ(0, hmm_rf_state(self->fd, &st));
	EXPECT_EQ(UNLOAD_BALLOON, st.balloon_pages);
	EXPECT_EQ(UNLOAD_OBJECTS, st.zs_objects);
	EXPECT_EQ(UNLOAD_MOVABLE, st.movable_pages);
	EXPECT_EQ(0, st.bad);
	ASSERT_LT(0, st.zs_pool_pages);
	ASSERT_EQ(0, hmm_kpageflags(p[0].new_pfn, &flags));
	ASSERT_TRUE(flags & (1ULL << HMM_KPF_OFFLINE))
		TH_LOG("balloon page 0x%llx: flags 0x%llx",
		       (unsigned long long)p[0].new_pfn,
		       (unsigned long long)flags);
	zs_held = hmm_vmstat("nr_zspages");
	EXPECT_LE(zs_before + (long)st.zs_pool_pages, zs_held);
	ASSERT_EQ(0, close(self->fd));
	self->fd = -1;

	free_held = hmm_free_kb();
	ASSERT_LT(0, free_held);
	kmsg = kmsg_open_at_end();
	ASSERT_GE(kmsg, 0);
	ret = hmm_module_unload();
	ASSERT_EQ(0, ret) TH_LOG("rmmod: %s", strerror(-ret));
	free_after = hmm_free_kb();
	zs_after = hmm_vmstat("nr_zspages");
	ASSERT_EQ(0, hmm_kpageflags(p[0].new_pfn, &flags));
	ret = kmsg_find_report(kmsg, UNIT, &r);
	close(kmsg);
	ASSERT_EQ(0, hmm_module_load(ko)) TH_LOG("insmod %s failed", ko);
	self->fd = hmm_open_wait(UNIT);
	ASSERT_GE(self->fd, 0);

	want_kb = (long)(st.balloon_pages + st.movable_pages +
			 st.zs_pool_pages) * (long)(hmm_page_size() / 1024);
	TH_LOG("free memory +%ld kB at unload, held %ld kB; nr_zspages %ld -> %ld -> %ld",
	       free_after - free_held, want_kb, zs_before, zs_held, zs_after);
	EXPECT_LE(want_kb - UNLOAD_SLACK_KB, free_after - free_held);
	EXPECT_GE(zs_held - (long)st.zs_pool_pages, zs_after);
	EXPECT_FALSE(flags & (1ULL << HMM_KPF_OFFLINE))
		TH_LOG("balloon page 0x%llx still offline",
		       (unsigned long long)p[0].new_pfn);

	ASSERT_EQ(0, ret) TH_LOG("no unload report in the kernel log");
	EXPECT_EQ(UNLOAD_BALLOON, r.balloon);
	EXPECT_EQ(UNLOAD_OBJECTS, r.zsmalloc);
	EXPECT_EQ(UNLOAD_MOVABLE, r.movable);
	EXPECT_EQ(0, r.held);
	/* Device counters run from module load: three a batch, at least. */
	EXPECT_GE(r.taken, 3 * batches);
	EXPECT_EQ(r.taken, r.returned);
	check_all_zero(_metadata, self->fd);
}

/* Each bad request fails with its errno before anything is touched. */
static void check_bad_batches(struct __test_metadata *_metadata, int fd,
			      __u64 anon)
{
	struct hmm_nc_rf_page p[2];
	struct hmm_nc_rf_migrate cmd;

	p[0] = rf_page(BALLOON, 0, 0);
	p[0].flags = 1;
	EXPECT_EQ(-EINVAL, hmm_rf_migrate(fd, SYNC, p, 1, NULL));
	p[0] = rf_page(BALLOON, 0, 0);
	p[0].reserved[1] = 1;
	EXPECT_EQ(-EINVAL, hmm_rf_migrate(fd, SYNC, p, 1, NULL));
	p[0] = rf_page(HMM_NC_CB_DEVICE, 0, 0);
	EXPECT_EQ(-EINVAL, hmm_rf_migrate(fd, SYNC, p, 1, NULL));
	p[0] = rf_page(BALLOON, 4, 0);		/* only 0..3 held */
	EXPECT_EQ(-EINVAL, hmm_rf_migrate(fd, SYNC, p, 1, NULL));
	p[0] = rf_page(BALLOON, 0, anon);	/* ctx is for aio only */
	EXPECT_EQ(-EINVAL, hmm_rf_migrate(fd, SYNC, p, 1, NULL));
	p[0] = rf_page(AIO, 0, anon);		/* not an aio ring */
	EXPECT_EQ(-EINVAL, hmm_rf_migrate(fd, SYNC, p, 1, NULL));
	p[0] = rf_page(AIO, 0, 0);
	EXPECT_EQ(-EINVAL, hmm_rf_migrate(fd, SYNC, p, 1, NULL));
	p[0] = rf_page(BALLOON, 1, 0);
	p[1] = rf_page(BALLOON, 1, 0);		/* the same page twice */
	EXPECT_EQ(-EINVAL, hmm_rf_migrate(fd, SYNC, p, 2, NULL));
	p[1] = rf_page(BALLOON, 0, 0);
	EXPECT_EQ(-EINVAL, hmm_rf_migrate(fd, HMM_NC_MODE_COUNT, p, 2, NULL));
	EXPECT_EQ(-EINVAL, hmm_rf_migrate(fd, SYNC, p, 0, NULL));
	EXPECT_EQ(-EINVAL, hmm_rf_migrate(fd, SYNC, p,
					  HMM_NC_RF_MAX_BATCH + 1, NULL));
	EXPECT_EQ(-EFAULT, hmm_rf_migrate(fd, SYNC, NULL, 1, NULL));

	memset(&cmd, 0, sizeof(cmd));
	cmd.npages = 1;
	cmd.pages = (uintptr_t)p;
	cmd.flags = 1;
	EXPECT_EQ(-1, ioctl(fd, HMM_NC_RF_MIGRATE, &cmd));
	EXPECT_EQ(EINVAL, errno);
	cmd.flags = 0;
	cmd.reserved[3] = 1;
	EXPECT_EQ(-1, ioctl(fd, HMM_NC_RF_MIGRATE, &cmd));
	EXPECT_EQ(EINVAL, errno);
}

static int hold_raw(int fd, unsigned long req, __u32 flags, __u32 kind,
		    __u64 count, __u64 reserved)
{
	struct hmm_nc_rf_hold cmd;

	memset(&cmd, 0, sizeof(cmd));
	cmd.flags = flags;
	cmd.kind = kind;
	cmd.count = count;
	cmd.reserved[0] = reserved;
	return ioctl(fd, req, &cmd) ? -errno : 0;
}

static void check_bad_holds(struct __test_metadata *_metadata, int fd)
{
	struct hmm_nc_rf_state st;

	EXPECT_EQ(-EINVAL, hold_raw(fd, HMM_NC_RF_HOLD, 1, BALLOON, 1, 0));
	EXPECT_EQ(-EINVAL, hold_raw(fd, HMM_NC_RF_HOLD, 0, AIO, 1, 0));
	EXPECT_EQ(-EINVAL, hold_raw(fd, HMM_NC_RF_HOLD, 0, BALLOON, 0, 0));
	EXPECT_EQ(-EINVAL, hold_raw(fd, HMM_NC_RF_HOLD, 0, BALLOON, 1, 1));
	EXPECT_EQ(-EINVAL, hold_raw(fd, HMM_NC_RF_RELEASE, 0, 99, 1, 0));
	EXPECT_EQ(-ENOSPC, hold_raw(fd, HMM_NC_RF_HOLD, 0, BALLOON,
				    HMM_NC_RF_MAX_HELD, 0));
	memset(&st, 0, sizeof(st));
	st.reserved0 = 1;
	EXPECT_EQ(-1, ioctl(fd, HMM_NC_RF_STATE, &st));
	EXPECT_EQ(EINVAL, errno);
}

TEST_F(refuse, rejects_bad_arguments_changes_nothing)
{
	struct hmm_nc_rf_state before, after;
	struct hmm_nc_counters c0, d;
	size_t page = hmm_page_size();
	void *anon;

	anon = hmm_map_anon(page, PROT_READ | PROT_WRITE);
	ASSERT_NE(NULL, anon);
	memset(anon, 1, page);
	ASSERT_EQ(4, hmm_rf_hold(self->fd, BALLOON, 4));
	ASSERT_EQ(0, hmm_rf_state(self->fd, &before));
	ASSERT_EQ(0, hmm_counters(self->fd, false, &c0));

	check_bad_batches(_metadata, self->fd, (uintptr_t)anon);
	check_bad_holds(_metadata, self->fd);

	counters_since(_metadata, self->fd, &c0, &d);
	check_no_migration(_metadata, &d);
	ASSERT_EQ(0, hmm_rf_state(self->fd, &after));
	check_state_same(_metadata, &before, &after);
	hmm_unmap(anon, page);
}

HMM_TEST_MAIN

// SPDX-License-Identifier: GPL-2.0
/*
 * refuse.*: the refusing kinds as the rest of the system sees them,
 * whatever the module says: the kernel's page flags of balloon and
 * zsmalloc pages across a refusal and a move, and the pages, memory and
 * log that unloading the module leaves; and the refusal commands'
 * argument checks, which come before anything is touched. See
 * refuse_common.h.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <unistd.h>

#include "refuse_common.h"

FIXTURE_SETUP(refuse)
{
	rf_open(_metadata, self);
}

FIXTURE_TEARDOWN(refuse)
{
	rf_close(self);
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
	struct hmm_nc_counters c0;
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

	ASSERT_EQ(0, hmm_counters(self->fd, false, &c0));
	ASSERT_EQ(0, rf_one(self->fd, SYNC, BALLOON, 7, 0, &p));
	check_moved(_metadata, &p, false);
	engine_idle_since(_metadata, self->fd, &c0);
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
	struct hmm_nc_counters c0;
	struct hmm_nc_rf_page p;
	__u64 pfn;

	HMM_REQUIRE(self->fd, HMM_NEED_NOCOPY | HMM_NEED_REFUSALS);
	ASSERT_EQ(64, hmm_rf_hold(self->fd, ZSMALLOC, 64));
	ASSERT_EQ(0, rf_one(self->fd, NC, ZSMALLOC, 37, 0, &p));
	check_refused(_metadata, &p);
	pfn = p.old_pfn;
	check_zspage_pfn(_metadata, pfn, true, "refused");
	ASSERT_EQ(0, hmm_counters(self->fd, false, &c0));
	ASSERT_EQ(0, rf_one(self->fd, SYNC, ZSMALLOC, 37, 0, &p));
	check_moved(_metadata, &p, false);
	engine_idle_since(_metadata, self->fd, &c0);
	EXPECT_EQ(pfn, p.old_pfn);
	check_zspage_pfn(_metadata, p.new_pfn, true, "new");
	check_zspage_pfn(_metadata, p.old_pfn, false, "old");
	EXPECT_EQ(0, hmm_rf_release(self->fd, ZSMALLOC, HMM_NC_RF_ALL));
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

	delta_of(_metadata, self->fd, false, &c0, &d);
	check_no_migration(_metadata, &d);
	ASSERT_EQ(0, hmm_rf_state(self->fd, &after));
	check_state_same(_metadata, &before, &after);
	hmm_unmap(anon, page);
}

HMM_TEST_MAIN

// SPDX-License-Identifier: GPL-2.0
/*
 * stress.memcg_*: migration to the device under a memory cgroup limit.
 * stress.mirror_entries_charged_limit_is_enomem: the mirror's entries
 *   and the page arrays, charged to the caller's cgroup too.
 *
 * Each device page is backed by a system page charged to the memory
 * cgroup of the task that migrates (lib/test_hmm_devmem.c). Past the
 * cgroup's memory.max that charge fails without an OOM kill, the page
 * stays in system memory and MIGRATE_TO_DEV reports -ENOENT. These tests
 * check that the failure reaches the caller, that the device took what
 * the limit allows and no more, that every page that moved comes back
 * with its data, and that the charges leave with the device pages.
 * Each first checks that the pages were charged at all: the cgroup's
 * kernel memory (memory.stat "kernel", or memory.current where there is
 * no such counter, 5.10) rose by the pages on the device. A module that
 * lost __GFP_ACCOUNT fails there; only a kernel that accounts no kernel
 * memory (cgroup.memory=nokmem) skips.
 *
 * The migrating task is a child that joins a cgroup of its own only
 * after it has faulted in everything it will touch and opened every
 * file it will read: the region was charged before it joined, so the
 * only charges the cgroup sees are the backing pages, and a page fault
 * or an accounted kernel allocation past the limit, which would call the
 * memcg OOM killer, does not happen. The child reports through a shared
 * page; the test process asserts.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "hmm_harness.h"
#include "libhmm.h"

#define CG_ROOT		"/sys/fs/cgroup"
#define CG_NAME_MAX	64	/* CG_ROOT "/hmm_pressure.<pid>" */

/* memory.max: room for the backing pages of half the region. */
#define LIMIT_BYTES	(4UL << 20)
/*
 * 8 MiB: twice what the limit lets onto the device, so the limit stops
 * the migration halfway, 1024 pages short, far more than the charge
 * batches could hide (charge_slack_pages(): 128 on 2 CPUs). Every page
 * of the region costs each round's MIGRATE_TO_DEV its share (collected,
 * unmapped, put back when its charge fails) and hmm_verify() its read.
 */
#define REGION_PAGES	2048
#define SEED		0x6d656d6367ULL	/* "memcg" */
/* Enough for charges that creep up by a page a round to show. */
#define ROUNDS		20

/* The memory kind in a SNAPSHOT byte (HMM_DMIRROR_PROT_DEV_*). */
#define PROT_KIND_MASK	0xf0

/*
 * The memory controller charges in batches: each CPU keeps up to
 * MEMCG_CHARGE_BATCH (64) pages charged to a cgroup but not yet used,
 * and keeps up to as many uncharged pages before it gives them back.
 * memory.current is exact to within that many pages per CPU.
 */
#define CHARGE_BATCH_PAGES	64

/* Where the child got to; named in the test's log when it failed. */
enum stage {
	STAGE_MAP,
	STAGE_OPEN_DEVICE,
	STAGE_OPEN_CGROUP,
	STAGE_JOIN,
	STAGE_MIGRATE,
};

static const char * const stage_names[] = {
	[STAGE_MAP] = "map and fill the region",
	[STAGE_OPEN_DEVICE] = "open the device",
	[STAGE_OPEN_CGROUP] = "open the cgroup's files",
	[STAGE_JOIN] = "fault everything in and join the cgroup",
	[STAGE_MIGRATE] = "migrate",
};

/* One round: the region to the device as far as the limit allows, back. */
struct round {
	int to_dev;		/* MIGRATE_TO_DEV's return */
	long on_device;		/* pages on the device after it (-errno) */
	long cur_on_device;	/* memory.current then, bytes (-errno) */
	long returned;		/* MIGRATE_TO_SYS's cpages (-errno) */
	long left;		/* pages still on the device after it */
	long bad_offset;	/* first wrong byte of the region, or -1 */
	long cur_returned;	/* memory.current then, bytes (-errno) */
	long kmem_on_device;	/* memory.stat kernel with the pages on
				 * the device, bytes (-errno)
				 */
};

/* Written by the child, read by the test process once the child is gone. */
struct report {
	int stage;
	int err;		/* -errno of the stage that failed, 0 */
	long cur_joined;	/* memory.current after joining, bytes */
	long kmem_joined;	/* memory.stat kernel then, bytes (-errno:
				 * -ENOENT where there is no such line)
				 */
	int rounds;		/* rounds done */
	struct round round[ROUNDS];
};

/* What the child touches after joining: all of it set up before. */
struct child {
	size_t ps;
	size_t size;
	char *region;
	char *mirror;
	__u8 *prot;
	int dev;
	int procs_fd;	/* the cgroup's cgroup.procs */
	int current_fd;	/* its memory.current */
	int stat_fd;	/* its memory.stat */
	struct report *rep;
};

FIXTURE(stress) {
	size_t ps;
	char cg[CG_NAME_MAX];
	bool cg_made;
	bool memory_enabled;	/* the test enabled the memory controller */
	struct report *rep;
};

/* The first line of a file, without its newline; empty if none. */
static int read_line(const char *path, char *buf, size_t len)
{
	FILE *f = fopen(path, "re");
	int ret = 0;

	if (!f)
		return -errno;
	buf[0] = '\0';
	if (!fgets(buf, len, f) && ferror(f))
		ret = -EIO;
	fclose(f);
	buf[strcspn(buf, "\n")] = '\0';
	return ret;
}

/* Whether word is one of the space-separated words of list. */
static bool has_word(const char *list, const char *word)
{
	size_t len = strlen(word);
	const char *p;

	for (p = strstr(list, word); p; p = strstr(p + 1, word))
		if ((p == list || p[-1] == ' ') &&
		    (p[len] == ' ' || p[len] == '\0'))
			return true;
	return false;
}

/* A key's value in a flat-keyed cgroup file (memory.events). */
static long cg_key(const char *cg, const char *file, const char *key)
{
	char path[PATH_MAX];

	snprintf(path, sizeof(path), "%s/%s", cg, file);
	return hmm_key_value(path, key);
}

/*
 * Enable the memory controller for CG_ROOT's children (cgroup2) if it is
 * not yet (*enabled: whether we did, so the teardown turns it off
 * again); returns why that cannot be, or NULL.
 */
static const char *cg_enable_memory(bool *enabled)
{
	char line[256];

	if (read_line(CG_ROOT "/cgroup.controllers", line, sizeof(line)))
		return "no cgroup2 at " CG_ROOT;
	if (!has_word(line, "memory"))
		return "no memory controller in " CG_ROOT;
	if (read_line(CG_ROOT "/cgroup.subtree_control", line, sizeof(line)))
		return "cannot read " CG_ROOT "/cgroup.subtree_control";
	if (has_word(line, "memory"))
		return NULL;
	if (hmm_write_str(CG_ROOT "/cgroup.subtree_control", "+memory"))
		return "cannot enable the memory controller in " CG_ROOT;
	*enabled = true;
	return NULL;
}

/* A fresh cgroup under CG_ROOT with memory.max at LIMIT_BYTES. */
static int cg_make(char *cg, size_t len)
{
	char path[PATH_MAX], val[32];
	int ret;

	snprintf(cg, len, CG_ROOT "/hmm_pressure.%d", getpid());
	if (mkdir(cg, 0755))
		return -errno;
	snprintf(path, sizeof(path), "%s/memory.max", cg);
	snprintf(val, sizeof(val), "%lu", LIMIT_BYTES);
	ret = hmm_write_str(path, val);
	if (ret)
		rmdir(cg);
	return ret;
}

/*
 * A cgroup can be removed once its last task has been reaped; allow the
 * exit a second to unlink it (rmdir says EBUSY until then).
 */
static int cg_remove(const char *cg)
{
	struct timespec tick = { .tv_nsec = 10 * 1000 * 1000 };
	int tries;

	for (tries = 0; tries < 100; tries++) {
		if (!rmdir(cg))
			return 0;
		if (errno != EBUSY)
			return -errno;
		nanosleep(&tick, NULL);
	}
	return -EBUSY;
}

/*
 * Whether the kernel accounts kernel memory to cgroups at all: not with
 * cgroup.memory=nokmem on its command line.
 */
static bool kmem_accounted(void)
{
	char line[4096];
	FILE *f = fopen("/proc/cmdline", "re");
	bool nokmem = false;

	if (!f)
		return true;
	if (fgets(line, sizeof(line), f))
		nokmem = !!strstr(line, "cgroup.memory=nokmem");
	fclose(f);
	return !nokmem;
}

FIXTURE_SETUP(stress)
{
	const char *why;
	int fd, ret;

	self->ps = hmm_page_size();
	fd = hmm_open(0);
	if (fd < 0)
		HMM_SETUP_SKIP("no /dev/hmm_dmirror0: %s", strerror(-fd));
	close(fd);
	why = cg_enable_memory(&self->memory_enabled);
	if (why)
		HMM_SETUP_SKIP("%s", why);
	if (!kmem_accounted())
		HMM_SETUP_SKIP("kernel memory not accounted (cgroup.memory=nokmem)");
	self->rep = mmap(NULL, sizeof(*self->rep), PROT_READ | PROT_WRITE,
			 MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	ASSERT_NE(MAP_FAILED, self->rep);
	ret = cg_make(self->cg, sizeof(self->cg));
	if (ret)
		HMM_SETUP_SKIP("cannot make %s: %s", self->cg, strerror(-ret));
	self->cg_made = true;
}

/*
 * The log line comes before the check: after a failed ASSERT the 6.1
 * harness runs the handler of every later EXPECT, failed or not.
 */
FIXTURE_TEARDOWN(stress)
{
	int ret;

	if (self->rep && self->rep != MAP_FAILED)
		munmap(self->rep, sizeof(*self->rep));
	ret = self->cg_made ? cg_remove(self->cg) : 0;
	/* As the machine had it; best effort, others may use it by now. */
	if (self->memory_enabled)
		hmm_write_str(CG_ROOT "/cgroup.subtree_control", "-memory");
	if (ret)
		TH_LOG("rmdir %s: %s", self->cg, strerror(-ret));
	EXPECT_EQ(0, ret);
}

/*
 * memory.current through a file opened and read once before joining:
 * a later read allocates nothing (the seq_file buffer stays).
 */
static long read_current(struct child *c)
{
	char buf[32];
	ssize_t n = pread(c->current_fd, buf, sizeof(buf) - 1, 0);

	if (n < 0)
		return -errno;
	buf[n] = '\0';
	return strtol(buf, NULL, 10);
}

/*
 * memory.stat's "kernel" (every kernel memory charge: slab, stacks,
 * __GFP_ACCOUNT pages), read the same way; -ENOENT before 5.18.
 */
static long read_kmem(struct child *c)
{
	char buf[4096], *at;
	ssize_t n = pread(c->stat_fd, buf, sizeof(buf) - 1, 0);

	if (n < 0)
		return -errno;
	buf[n] = '\0';
	at = strstr(buf, "\nkernel ");
	if (!at && !strncmp(buf, "kernel ", 7))
		at = buf - 1;
	return at ? strtol(at + 8, NULL, 10) : -ENOENT;
}

static int child_map(struct child *c)
{
	c->size = REGION_PAGES * c->ps;
	c->region = hmm_map_anon(c->size, PROT_READ | PROT_WRITE);
	c->mirror = hmm_map_anon(c->size, PROT_READ | PROT_WRITE);
	c->prot = hmm_map_anon(REGION_PAGES, PROT_READ | PROT_WRITE);
	if (!c->region || !c->mirror || !c->prot)
		return -ENOMEM;
	/* Base pages: each one a device page, none split on the way. */
	if (madvise(c->region, c->size, MADV_NOHUGEPAGE))
		return -errno;
	hmm_fill(c->region, c->size, SEED);
	memset(c->mirror, 0, c->size);
	memset(c->prot, 0, REGION_PAGES);
	return 0;
}

static int child_open_cgroup(struct child *c, const char *cg)
{
	char path[PATH_MAX];

	snprintf(path, sizeof(path), "%s/cgroup.procs", cg);
	c->procs_fd = open(path, O_WRONLY | O_CLOEXEC);
	if (c->procs_fd < 0)
		return -errno;
	snprintf(path, sizeof(path), "%s/memory.current", cg);
	c->current_fd = open(path, O_RDONLY | O_CLOEXEC);
	if (c->current_fd < 0)
		return -errno;
	snprintf(path, sizeof(path), "%s/memory.stat", cg);
	c->stat_fd = open(path, O_RDONLY | O_CLOEXEC);
	if (c->stat_fd < 0)
		return -errno;
	if (read_kmem(c) == -EIO)
		return -EIO;
	return read_current(c) < 0 ? -EIO : 0;
}

/*
 * Fault in every page the child has, so that nothing it touches after
 * joining faults: mlockall() populates each mapping, writing to the
 * private ones (which ends their copy-on-write sharing with the parent:
 * stack, libc data, TLS); munlockall() leaves the pages in place.
 */
static int child_prefault(void)
{
	if (mlockall(MCL_CURRENT))
		return -errno;
	return munlockall() ? -errno : 0;
}

static int child_join(struct child *c)
{
	char pid[32];
	ssize_t len = snprintf(pid, sizeof(pid), "%d", getpid());

	if (write(c->procs_fd, pid, len) != len)
		return -errno;
	c->rep->cur_joined = read_current(c);
	c->rep->kmem_joined = read_kmem(c);
	return 0;
}

/* Pages of the region on this device, from SNAPSHOT; or -errno. */
static long count_on_device(struct child *c)
{
	long i, n = 0;
	int ret;

	ret = hmm_snapshot(c->dev, c->region, REGION_PAGES, c->prot);
	if (ret)
		return ret;
	for (i = 0; i < REGION_PAGES; i++)
		if ((c->prot[i] & PROT_KIND_MASK) == HMM_DMIRROR_PROT_DEV_PRIVATE_LOCAL)
			n++;
	return n;
}

static void child_round(struct child *c, struct round *r)
{
	struct hmm_dmirror_cmd cmd;
	int ret;

	r->to_dev = hmm_cmd(c->dev, HMM_DMIRROR_MIGRATE_TO_DEV, c->region,
			    c->mirror, REGION_PAGES, NULL);
	r->on_device = count_on_device(c);
	r->cur_on_device = read_current(c);
	r->kmem_on_device = read_kmem(c);
	ret = hmm_cmd(c->dev, HMM_DMIRROR_MIGRATE_TO_SYS, c->region,
		      c->mirror, REGION_PAGES, &cmd);
	r->returned = ret ? ret : (long)cmd.cpages;
	r->left = count_on_device(c);
	r->bad_offset = hmm_verify(c->region, c->size, SEED);
	r->cur_returned = read_current(c);
}

/* Runs in the child; its result is c->rep, its exit status 0 or 1. */
static void child_main(struct child *c, const char *cg, int rounds)
{
	struct report *rep = c->rep;

	/* Do not outlive a test process killed by its timeout. */
	prctl(PR_SET_PDEATHSIG, SIGKILL);
	rep->stage = STAGE_MAP;
	rep->err = child_map(c);
	if (rep->err)
		_exit(1);
	rep->stage = STAGE_OPEN_DEVICE;
	c->dev = hmm_open(0);
	rep->err = c->dev < 0 ? c->dev : 0;
	if (rep->err)
		_exit(1);
	rep->stage = STAGE_OPEN_CGROUP;
	rep->err = child_open_cgroup(c, cg);
	if (rep->err)
		_exit(1);
	rep->stage = STAGE_JOIN;
	rep->err = child_prefault() ?: child_join(c);
	if (rep->err)
		_exit(1);
	rep->stage = STAGE_MIGRATE;
	for (rep->rounds = 0; rep->rounds < rounds; rep->rounds++)
		child_round(c, &rep->round[rep->rounds]);
	_exit(0);
}

/* Runs the child in cgroup cg; asserts it did all its rounds. */
static void run_child(struct __test_metadata *_metadata, const char *cg,
		      struct report *rep, size_t ps, int rounds)
{
	struct child c = { .ps = ps, .rep = rep };
	int status;
	pid_t pid;

	fflush(NULL);
	pid = fork();
	ASSERT_GE(pid, 0);
	if (!pid)
		child_main(&c, cg, rounds);
	while (waitpid(pid, &status, 0) < 0)
		ASSERT_EQ(EINTR, errno);
	ASSERT_FALSE(WIFSIGNALED(status))
		TH_LOG("child killed by signal %d (%s) at '%s'; memory.events oom_kill %ld",
		       WTERMSIG(status), strsignal(WTERMSIG(status)),
		       stage_names[rep->stage],
		       cg_key(cg, "memory.events", "oom_kill"));
	ASSERT_EQ(0, rep->err)
		TH_LOG("child: %s: %s", stage_names[rep->stage],
		       strerror(-rep->err));
	ASSERT_EQ(0, WEXITSTATUS(status));
	ASSERT_EQ(rounds, rep->rounds);
}

/* memory.current: after joining, with the pages on the device, back. */
static void log_round(struct __test_metadata *_metadata,
		      const struct report *rep, int i)
{
	const struct round *r = &rep->round[i];

	TH_LOG("round %d: %ld/%d pages on device; memory.current kB: %ld %ld %ld",
	       i, r->on_device, REGION_PAGES, rep->cur_joined >> 10,
	       r->cur_on_device >> 10, r->cur_returned >> 10);
}

/* Pages memory.current may be off by: the per-CPU charge batches. */
static long charge_slack_pages(void)
{
	return sysconf(_SC_NPROCESSORS_CONF) * CHARGE_BATCH_PAGES;
}

/*
 * The device pages of round 0 were charged to the cgroup as kernel
 * memory: its memory.stat "kernel" (memory.current where there is no
 * such line) rose by at least the pages on the device, less the charge
 * batches; and the limit stopped the migration short of the region.
 */
static void assert_charged(struct __test_metadata *_metadata,
			   const struct report *rep, size_t ps)
{
	const struct round *r = &rep->round[0];
	long rise, want;
	const char *what = "memory.stat kernel";

	ASSERT_LE(0, r->on_device);
	if (rep->kmem_joined == -ENOENT) {
		what = "memory.current";
		ASSERT_LE(0, rep->cur_joined);
		ASSERT_LE(0, r->cur_on_device);
		rise = r->cur_on_device - rep->cur_joined;
	} else {
		ASSERT_LE(0, rep->kmem_joined);
		ASSERT_LE(0, r->kmem_on_device);
		rise = r->kmem_on_device - rep->kmem_joined;
	}
	want = (r->on_device - charge_slack_pages()) * (long)ps;
	TH_LOG("%s +%ld kB with %ld pages on the device", what, rise >> 10,
	       r->on_device);
	ASSERT_LE(want, rise)
		TH_LOG("device pages not charged to the cgroup (__GFP_ACCOUNT?)");
	ASSERT_GT(REGION_PAGES, r->on_device)
		TH_LOG("the limit stopped nothing: device pages not charged");
}

/*
 * Past the limit the device cannot take the rest of the region: the
 * command says so (-ENOENT), part of the region is on the device, the
 * cgroup hit its limit, and no task was killed for it. About 1 s under
 * TCG, as are the next three.
 */
TEST_F_TIMEOUT(stress, memcg_limit_fails_device_allocs_with_enoent, 120)
{
	const struct round *r = &self->rep->round[0];

	run_child(_metadata, self->cg, self->rep, self->ps, 1);
	assert_charged(_metadata, self->rep, self->ps);
	log_round(_metadata, self->rep, 0);
	EXPECT_EQ(-ENOENT, r->to_dev) TH_LOG("%s", strerror(-r->to_dev));
	EXPECT_GT(r->on_device, 0);
	EXPECT_LT(r->on_device, REGION_PAGES);
	TH_LOG("memory.events: max %ld, oom %ld, oom_kill %ld",
	       cg_key(self->cg, "memory.events", "max"),
	       cg_key(self->cg, "memory.events", "oom"),
	       cg_key(self->cg, "memory.events", "oom_kill"));
	EXPECT_GT(cg_key(self->cg, "memory.events", "max"), 0);
	EXPECT_EQ(0, cg_key(self->cg, "memory.events", "oom_kill"));
}

/*
 * Each page on the device is charged here: memory.current covers them
 * and stays under memory.max. And the device took all the room the
 * limit left, to within the charge batches: nothing but the limit made
 * the other pages fail.
 */
TEST_F_TIMEOUT(stress, memcg_limit_charges_device_pages_to_the_caller, 120)
{
	const struct round *r = &self->rep->round[0];
	long room;

	run_child(_metadata, self->cg, self->rep, self->ps, 1);
	assert_charged(_metadata, self->rep, self->ps);
	log_round(_metadata, self->rep, 0);
	ASSERT_GE(self->rep->cur_joined, 0);
	ASSERT_GT(r->on_device, 0);
	EXPECT_GE(r->cur_on_device, r->on_device * (long)self->ps);
	EXPECT_LE(r->cur_on_device, (long)LIMIT_BYTES);
	room = (LIMIT_BYTES - self->rep->cur_joined) / self->ps;
	EXPECT_GE(r->on_device, room - charge_slack_pages())
		TH_LOG("room for %ld pages under the limit", room);
}

/*
 * No page is lost to the failure: every page that reached the device
 * comes back, none stays there, and the whole region reads as written.
 */
TEST_F_TIMEOUT(stress, memcg_limit_fails_device_allocs_pages_stay_intact, 120)
{
	const struct round *r = &self->rep->round[0];

	run_child(_metadata, self->cg, self->rep, self->ps, 1);
	assert_charged(_metadata, self->rep, self->ps);
	log_round(_metadata, self->rep, 0);
	ASSERT_GT(r->on_device, 0);
	EXPECT_EQ(r->on_device, r->returned);
	EXPECT_EQ(0, r->left);
	EXPECT_EQ(-1, r->bad_offset);
}

/*
 * The backing pages go with the device pages: once the region is back,
 * memory.current is where it was before the migration, within the
 * charge batches (64 pages a CPU: 512 KiB on 2 CPUs, an eighth of what
 * the migration charged).
 */
TEST_F_TIMEOUT(stress, memcg_limit_device_pages_uncharged_on_return, 120)
{
	const struct round *r = &self->rep->round[0];
	long slack = charge_slack_pages() * self->ps;

	run_child(_metadata, self->cg, self->rep, self->ps, 1);
	assert_charged(_metadata, self->rep, self->ps);
	log_round(_metadata, self->rep, 0);
	ASSERT_GE(self->rep->cur_joined, 0);
	ASSERT_GE(r->cur_returned, 0);
	EXPECT_LE(r->cur_returned, self->rep->cur_joined + slack);
}

/*
 * ROUNDS migrations to the device and back under the same limit: each
 * fails the same way, brings everything back intact, and fits as many
 * pages as the first within the charge batches; charges that crept up
 * with each round would make fewer fit. 13 to 16 s under TCG.
 */
TEST_F_TIMEOUT(stress, memcg_limit_repeated_rounds_fit_the_same_pages, 300)
{
	long first, slack = charge_slack_pages();
	const struct round *r;
	int i;

	run_child(_metadata, self->cg, self->rep, self->ps, ROUNDS);
	assert_charged(_metadata, self->rep, self->ps);
	first = self->rep->round[0].on_device;
	for (i = 0; i < ROUNDS; i++) {
		r = &self->rep->round[i];
		if (i == 0 || i == ROUNDS - 1)
			log_round(_metadata, self->rep, i);
		EXPECT_EQ(-ENOENT, r->to_dev) TH_LOG("round %d", i);
		EXPECT_EQ(r->on_device, r->returned) TH_LOG("round %d", i);
		EXPECT_EQ(0, r->left) TH_LOG("round %d", i);
		EXPECT_EQ(-1, r->bad_offset) TH_LOG("round %d", i);
		EXPECT_GE(r->on_device, first - slack)
			TH_LOG("round %d: %ld pages, first %ld", i,
			       r->on_device, first);
		EXPECT_LE(r->on_device, first + slack)
			TH_LOG("round %d: %ld pages, first %ld", i,
			       r->on_device, first);
	}
}

/*
 * The mirror's entries and the per-call page arrays are charged to the
 * caller's cgroup too (stress.mirror_entries_*): a child with room for
 * MIRROR_ROOM more bytes READs zero pages until the mirror's memory
 * fills it.
 */
#define MIRROR_PAGES	0x40000UL	/* HMM_NC_MIRROR_MAX_PAGES: 1 GiB */
#define MIRROR_ROOM	(1024UL * 1024)	/* about 110000 entries' worth */
#define MIRROR_PIECE	512		/* pages a READ */

/* Written by the child, read by the test process once the child is gone. */
struct mirror_report {
	int stage;
	int err;		/* -errno of the stage that failed, 0 */
	long cur_joined;	/* memory.current after joining, bytes */
	long read_pages;	/* pages READ before the first failure */
	int read_err;		/* that failure: -errno, 0 if none */
	long cur_at_err;	/* memory.current then */
	int file_err;		/* MIGRATE_FILE, page array past the room */
	long cur_closed;	/* memory.current after close() */
};

/* Faults in this many bytes of stack, so that none is charged later. */
static void prefault_stack(void)
{
	char stack[64 << 10];

	memset(stack, 0, sizeof(stack));
	/* Used, as far as the compiler knows: the stores stay. */
	__asm__ __volatile__("" : : "r"(stack) : "memory");
}

static int mirror_join(struct child *c, long *cur)
{
	char pid[32];
	ssize_t len = snprintf(pid, sizeof(pid), "%d", getpid());

	if (write(c->procs_fd, pid, len) != len)
		return -errno;
	*cur = read_current(c);
	return 0;
}

static void mirror_child(const char *cg, size_t ps, struct mirror_report *rep)
{
	size_t size = MIRROR_PAGES * ps, recs_size;
	struct hmm_nc_file_page *recs;
	struct child c = { .ps = ps };
	char path[PATH_MAX], val[32];
	int max_fd, len;
	char *region, *out;
	size_t off;

	prctl(PR_SET_PDEATHSIG, SIGKILL);
	rep->stage = STAGE_MAP;
	recs_size = MIRROR_PAGES * sizeof(*recs);
	region = hmm_map_anon(size, PROT_READ | PROT_WRITE);
	out = hmm_map_anon(MIRROR_PIECE * ps, PROT_READ | PROT_WRITE);
	recs = hmm_map_anon(recs_size, PROT_READ | PROT_WRITE);
	rep->err = region && out && recs ? 0 : -ENOMEM;
	if (rep->err)
		_exit(1);
	/* The zero page everywhere: the mirror's entries cost, not pages. */
	madvise(region, size, MADV_NOHUGEPAGE);
	for (off = 0; off < size; off += ps)
		__atomic_load_n(&region[off], __ATOMIC_RELAXED);
	memset(out, 0, MIRROR_PIECE * ps);
	memset(recs, 0, recs_size);

	rep->stage = STAGE_OPEN_DEVICE;
	c.dev = hmm_open(0);
	rep->err = c.dev < 0 ? c.dev : 0;
	if (rep->err)
		_exit(1);
	rep->stage = STAGE_OPEN_CGROUP;
	rep->err = child_open_cgroup(&c, cg);
	snprintf(path, sizeof(path), "%s/memory.max", cg);
	max_fd = open(path, O_WRONLY | O_CLOEXEC);
	if (!rep->err && max_fd < 0)
		rep->err = -errno;
	if (rep->err)
		_exit(1);
	rep->stage = STAGE_JOIN;
	prefault_stack();
	rep->err = mirror_join(&c, &rep->cur_joined);
	if (rep->err)
		_exit(1);
	len = snprintf(val, sizeof(val), "%ld", rep->cur_joined + MIRROR_ROOM);
	if (write(max_fd, val, len) != len) {
		rep->err = -errno;
		_exit(1);
	}

	rep->stage = STAGE_MIGRATE;
	for (off = 0; off < MIRROR_PAGES; off += MIRROR_PIECE) {
		rep->read_err = hmm_cmd(c.dev, HMM_DMIRROR_READ,
					region + off * ps, out, MIRROR_PIECE,
					NULL);
		if (rep->read_err)
			break;
		rep->read_pages += MIRROR_PIECE;
	}
	rep->cur_at_err = read_current(&c);
	rep->file_err = hmm_migrate_file(c.dev, region, MIRROR_PAGES,
					 HMM_NC_MODE_SYNC, 0, recs, NULL);
	close(c.dev);
	/* The mirror's nodes are freed after an RCU grace period: wait. */
	for (off = 0; off < 200; off++) {
		rep->cur_closed = read_current(&c);
		if (rep->cur_closed < rep->cur_at_err - (long)MIRROR_ROOM / 2)
			break;
		usleep(10000);
	}
	_exit(0);
}

/*
 * READ maps every page it reads into the file's mirror, whose entries
 * are kernel memory the caller makes the device hold: they are charged
 * to the caller's cgroup, memory.current rises with them (about 9 bytes
 * a page) and falls when the file is closed; at the limit READ answers
 * ENOMEM, with no OOM kill and nothing in the log. A page array the
 * room cannot hold (HMM_NC_MIGRATE_FILE, 8 MiB) answers ENOMEM the same
 * way. About 10 s under TCG.
 */
TEST_F_TIMEOUT(stress, mirror_entries_charged_limit_is_enomem, 180)
{
	static const char *const warned[] = {
		"allocation failure", "vmalloc error", NULL
	};
	long slack = charge_slack_pages() * self->ps;
	struct mirror_report *rep;
	int kmsg, status;
	char line[256];
	pid_t pid;

	rep = mmap(NULL, sizeof(*rep), PROT_READ | PROT_WRITE,
		   MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	ASSERT_NE(MAP_FAILED, rep);
	memset(rep, 0, sizeof(*rep));
	kmsg = hmm_kmsg_open();
	ASSERT_GE(kmsg, 0);
	fflush(NULL);
	pid = fork();
	ASSERT_GE(pid, 0);
	if (!pid)
		mirror_child(self->cg, self->ps, rep);
	while (waitpid(pid, &status, 0) < 0)
		ASSERT_EQ(EINTR, errno);
	ASSERT_FALSE(WIFSIGNALED(status))
		TH_LOG("child killed by signal %d at '%s'; oom_kill %ld",
		       WTERMSIG(status), stage_names[rep->stage],
		       cg_key(self->cg, "memory.events", "oom_kill"));
	ASSERT_EQ(0, rep->err)
		TH_LOG("child: %s: %s", stage_names[rep->stage],
		       strerror(-rep->err));
	TH_LOG("%ld pages READ, then %s; memory.current kB: %ld %ld %ld",
	       rep->read_pages, strerror(-rep->read_err),
	       rep->cur_joined >> 10, rep->cur_at_err >> 10,
	       rep->cur_closed >> 10);
	EXPECT_EQ(-ENOMEM, rep->read_err);
	EXPECT_GT(rep->read_pages, 0);
	EXPECT_GE(rep->cur_at_err - rep->cur_joined, (long)MIRROR_ROOM - slack)
		TH_LOG("memory.current did not rise with the entries");
	EXPECT_EQ(-ENOMEM, rep->file_err)
		TH_LOG("MIGRATE_FILE: %s", strerror(-rep->file_err));
	EXPECT_LE(rep->cur_closed, rep->cur_joined + slack)
		TH_LOG("the entries' charge stayed after close()");
	EXPECT_EQ(0, cg_key(self->cg, "memory.events", "oom_kill"));
	EXPECT_EQ(0, hmm_kmsg_count(kmsg, warned, line, sizeof(line)))
		TH_LOG("kernel log: %s", line);
	close(kmsg);
	munmap(rep, sizeof(*rep));
}

HMM_TEST_MAIN

// SPDX-License-Identifier: GPL-2.0
/*
 * coredump.*: a process with pages on the device dumps core. A dump
 * reads every page of the process through get_dump_page(), which for a
 * device-private page faults it back through the device's
 * migrate_to_ram(): the core file must hold the pages' data, the device
 * must serve that fault even when the process closed its file first
 * (the device is found from the page, never from the file), a dump taken
 * while a thread migrates must still see every byte, and once the
 * process is gone every device page is free and the kernel log clean.
 *
 * Evidence from outside the module: the core file itself (its ELF
 * program headers name the segment that holds the buffer), the pagemap
 * of the process before it dumps (which pages were on the device), the
 * kernel log; the module's counters only say that its fault path served
 * the dump and that its pages were given back.
 *
 * The child process of each test does the device work and dumps; the
 * test process reads what it wrote (a report through a pipe, then the
 * core file). Core files go to a tmpfs of the test's own (gone with the
 * test's mount namespace, even after a timeout); core_pattern is left
 * alone unless it would send the dump elsewhere (a pipe, an absolute
 * path), and then restored by the teardown.
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <elf.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/resource.h>

#include "file_fixture.h"

#define CORE_DIR	"/tmp/hmm_core"		/* a tmpfs of the test's own */
#define CORE_PATTERN	"/proc/sys/kernel/core_pattern"
#define NPAGES		8
#define ONDEV		(NPAGES / 2)		/* pages put on the device */
#define SEED		0x600
#define FILE_SEED	0x700

FIXTURE(coredump) {
	struct hmm_env e;
	struct hmm_nc_counters global;	/* the module's, when the test began */
	char pattern[256];		/* core_pattern as the test found it */
	bool pattern_set;		/* ... and the test changed it */
	bool core_dir;			/* CORE_DIR mounted */
	bool file_dir;			/* FILE_DIR mounted */
	int kmsg;
};

/*
 * What the pages are, and in which mode they moved from system page to
 * system page before half of them went to the device: the dump then
 * holds pages of both engines.
 */
FIXTURE_VARIANT(coredump) {
	bool private_file;	/* a MAP_PRIVATE tmpfs file's COW'd pages */
	__u32 mode;
};

FIXTURE_VARIANT_ADD(coredump, anon_sync) {
	.mode = SYNC,
};

FIXTURE_VARIANT_ADD(coredump, anon_nocopy) {
	.mode = NO_COPY,
};

/*
 * Anonymous pages of a file VMA: the dump reaches them through a VMA
 * with a file and an anon_vma, and the fault back runs in a file VMA.
 */
FIXTURE_VARIANT_ADD(coredump, private_file_sync) {
	.private_file = true,
	.mode = SYNC,
};

FIXTURE_VARIANT_ADD(coredump, private_file_nocopy) {
	.private_file = true,
	.mode = NO_COPY,
};

/*
 * Where dumps go: a relative core_pattern writes them into the dumping
 * process's working directory, which the child sets. A pipe or an
 * absolute path would send them elsewhere: then the pattern becomes
 * "core" for the test, and the teardown puts it back.
 */
static void core_pattern_setup(struct __test_metadata *_metadata,
			       FIXTURE_DATA(coredump) * self)
{
	FILE *f = fopen(CORE_PATTERN, "r");

	ASSERT_NE(NULL, f);
	ASSERT_NE(NULL, fgets(self->pattern, sizeof(self->pattern), f));
	fclose(f);
	self->pattern[strcspn(self->pattern, "\n")] = '\0';
	if (self->pattern[0] != '|' && !strchr(self->pattern, '/'))
		return;
	ASSERT_EQ(0, hmm_write_str(CORE_PATTERN, "core"));
	self->pattern_set = true;
}

FIXTURE_SETUP(coredump)
{
	/* The sysctl exists with the core dump code only. */
	if (access(CORE_PATTERN, F_OK))
		HMM_SETUP_SKIP("CONFIG_COREDUMP is not set: no core dumps (no %s)",
			       CORE_PATTERN);
	self->kmsg = -1;
	ASSERT_EQ(0, hmm_private_mounts());
	env_setup(_metadata, &self->e);
	if (variant->mode == NO_COPY)
		HMM_SETUP_REQUIRE(self->e.dev, HMM_NEED_NOCOPY);
	ASSERT_EQ(0, mount_tmpfs(CORE_DIR, "size=64m"));
	self->core_dir = true;
	if (variant->private_file) {
		ASSERT_EQ(0, mount_tmpfs(FILE_DIR, "size=16m"));
		self->file_dir = true;
	}
	core_pattern_setup(_metadata, self);
	self->kmsg = hmm_kmsg_open();
	ASSERT_LE(0, self->kmsg);
	ASSERT_EQ(0, hmm_counters(self->e.dev, true, &self->global));
}

FIXTURE_TEARDOWN(coredump)
{
	if (self->pattern_set)
		hmm_write_str(CORE_PATTERN, self->pattern);
	close_if(&self->kmsg);
	umount_if(CORE_DIR, &self->core_dir);
	umount_if(FILE_DIR, &self->file_dir);
	close_if(&self->e.dev);
}

/*
 * What the child tells the test before it dumps: where its buffer is,
 * how many pages pagemap showed on the device, or the step that failed
 * (no verdict on the kernel: the test stops there).
 */
struct dump_report {
	__u64 addr;
	__u64 ondev;
	int step;		/* 0, or the failed step's CS_* */
	int err;		/* its errno */
};

enum child_step {
	CS_OK,
	CS_LIMITS,		/* RLIMIT_CORE, dumpable, coredump_filter */
	CS_OPEN,
	CS_MAP,
	CS_MOVE,		/* the mode's system-to-system move */
	CS_TO_DEV,
	CS_CLOSE,
	CS_THREAD,
};

static const char *const step_names[] = {
	"ok", "core limits", "open the device", "map the buffer",
	"move in the mode", "migrate to the device", "close the device",
	"start the migrating thread",
};

/*
 * The loop of dump_while_a_thread_migrates, in memory shared with the
 * test (read and written with __atomic builtins only).
 */
struct loop_state {
	__u64 rounds;		/* round trips the thread finished */
	int err;		/* the first error it met (-errno) */
};

/* What a child works with. */
struct child {
	int fd;
	char *p;
	size_t ps;
	__u32 mode;
	bool private_file;
	struct loop_state *loop;
};

/* The core file: unlimited, the process dumpable, anonymous memory in. */
static int core_limits(void)
{
	struct rlimit rl = { RLIM_INFINITY, RLIM_INFINITY };

	if (setrlimit(RLIMIT_CORE, &rl) ||
	    prctl(PR_SET_DUMPABLE, 1, 0, 0, 0) || chdir(CORE_DIR))
		return -errno;
	/* Private and shared anonymous memory, ELF headers: the default. */
	return hmm_write_str("/proc/self/coredump_filter", "0x33");
}

/*
 * The buffer: anonymous memory, or a MAP_PRIVATE mapping of a tmpfs
 * file whose every page the child then writes (each write copies the
 * file's page into an anonymous page of the process).
 */
static char *child_map(const struct child *c)
{
	size_t size = NPAGES * c->ps;
	char *p, *buf;
	int fd;

	if (!c->private_file) {
		p = hmm_map_anon(size, PROT_READ | PROT_WRITE);
		if (p)
			fill_pages(p, NPAGES, c->ps, SEED);
		return p;
	}
	fd = open(FILE_DIR "/dumped", O_RDWR | O_CREAT | O_TRUNC, 0600);
	buf = malloc(size);
	if (fd < 0 || !buf)
		return NULL;
	fill_pages(buf, NPAGES, c->ps, FILE_SEED);
	if (pwrite(fd, buf, size, 0) != (ssize_t)size)
		return NULL;
	free(buf);
	p = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_PRIVATE, fd, 0);
	close(fd);
	if (p == MAP_FAILED)
		return NULL;
	fill_pages(p, NPAGES, c->ps, SEED);
	return p;
}

/* Every page from system page to system page in the variant's mode. */
static int child_move(const struct child *c)
{
	struct hmm_nc_migrate_cmd acmd;
	struct hmm_nc_file_cmd fcmd;
	__u64 moved;
	int ret;

	if (c->private_file) {
		ret = hmm_migrate_file(c->fd, c->p, NPAGES, c->mode, 0, NULL,
				       &fcmd);
		moved = fcmd.moved;
	} else {
		ret = hmm_migrate_anon(c->fd, c->p, NPAGES, c->mode, 0, NULL,
				       &acmd);
		moved = acmd.moved;
	}
	if (ret)
		return ret;
	return moved == NPAGES ? 0 : -EAGAIN;
}

static int child_to_dev(const struct child *c, char *p, size_t npages)
{
	static char mirror[NPAGES * 65536];

	return hmm_cmd(c->fd, HMM_DMIRROR_MIGRATE_TO_DEV, p, mirror, npages,
		       NULL);
}

/* How many pages of the buffer pagemap shows on a device. */
static __u64 child_ondev(const struct child *c)
{
	__u64 pm[NPAGES], n = 0;
	size_t i;

	if (hmm_pagemap(c->p, NPAGES, pm))
		return 0;
	for (i = 0; i < NPAGES; i++)
		n += hmm_pm_swapped(pm[i]);
	return n;
}

/*
 * The migrating thread: the whole buffer back to system memory, through
 * the mode's move, and onto the device again, until the process dies.
 * A command the dying process cut short (EINTR) is no error.
 */
static void *migrate_loop(void *arg)
{
	struct child *c = arg;
	int ret;

	for (;;) {
		ret = hmm_cmd(c->fd, HMM_DMIRROR_MIGRATE_TO_SYS, c->p, NULL,
			      NPAGES, NULL);
		if (!ret)
			ret = child_move(c);
		if (!ret)
			ret = child_to_dev(c, c->p, NPAGES);
		if (ret && ret != -EINTR)
			__atomic_compare_exchange_n(&c->loop->err, &(int){ 0 },
						    ret, false, __ATOMIC_SEQ_CST,
						    __ATOMIC_SEQ_CST);
		__atomic_add_fetch(&c->loop->rounds, 1, __ATOMIC_SEQ_CST);
	}
	return NULL;
}

/*
 * The child's work up to its dump: its buffer, the mode's move, half of
 * it onto the device, then what the test asks (close the device, start
 * the migrating thread). Returns the failed step (CS_OK: none) and its
 * error in r.
 */
static int child_prepare(struct child *c, bool close_first,
			 struct dump_report *r)
{
	pthread_t t;

	r->err = -core_limits();
	if (r->err)
		return CS_LIMITS;
	c->fd = hmm_open(0);
	r->err = c->fd < 0 ? -c->fd : 0;
	if (r->err)
		return CS_OPEN;
	c->p = child_map(c);
	r->err = c->p ? 0 : ENOMEM;
	if (r->err)
		return CS_MAP;
	r->addr = (uintptr_t)c->p;
	r->err = -child_move(c);
	if (r->err)
		return CS_MOVE;
	r->err = -child_to_dev(c, c->p, ONDEV);
	if (r->err)
		return CS_TO_DEV;
	r->ondev = child_ondev(c);
	if (close_first && close(c->fd)) {
		r->err = errno;
		return CS_CLOSE;
	}
	if (c->loop) {
		r->err = pthread_create(&t, NULL, migrate_loop, c);
		if (r->err)
			return CS_THREAD;
	}
	return CS_OK;
}

/*
 * The child: prepares, reports, and dies of SIGABRT, or (with the
 * migrating thread) waits for the test's signal.
 */
static void child_run(struct child *c, int wr, bool close_first)
{
	struct dump_report r = { 0 };

	r.step = child_prepare(c, close_first, &r);
	if (write(wr, &r, sizeof(r)) != sizeof(r) || r.step != CS_OK)
		_exit(100);
	if (!c->loop)
		abort();
	for (;;)
		pause();
}

/* Starts the child; its report comes back in *r. */
static pid_t start_child(struct __test_metadata *_metadata,
			 const FIXTURE_VARIANT(coredump) * variant,
			 bool close_first, struct loop_state *loop,
			 struct dump_report *r)
{
	struct child c = {
		.ps = hmm_page_size(),
		.mode = variant->mode,
		.private_file = variant->private_file,
		.loop = loop,
	};
	int fds[2];
	pid_t pid;

	ASSERT_EQ(0, pipe(fds));
	pid = child_start(_metadata);
	if (!pid) {
		close(fds[0]);
		child_run(&c, fds[1], close_first);
		_exit(100);
	}
	close(fds[1]);
	ASSERT_EQ((ssize_t)sizeof(*r), read(fds[0], r, sizeof(*r)))
		TH_LOG("the child died before it reported");
	close(fds[0]);
	ASSERT_EQ(CS_OK, r->step)
		TH_LOG("child: %s: %s", step_names[r->step], strerror(r->err));
	return pid;
}

/* The child died of sig and dumped core. */
static void assert_dumped(struct __test_metadata *_metadata, pid_t pid,
			  int sig)
{
	int status;

	ASSERT_EQ(pid, waitpid(pid, &status, 0));
	ASSERT_TRUE(WIFSIGNALED(status)) TH_LOG("status 0x%x", status);
	ASSERT_EQ(sig, WTERMSIG(status));
	ASSERT_TRUE(WCOREDUMP(status)) TH_LOG("no core dumped");
}

/* The one core file in CORE_DIR, opened; it is unlinked at once. */
static int open_core(struct __test_metadata *_metadata)
{
	char path[sizeof(CORE_DIR) + 256 + 1];
	struct dirent *d;
	int fd = -1;
	DIR *dir;

	dir = opendir(CORE_DIR);
	ASSERT_NE(NULL, dir);
	while ((d = readdir(dir))) {
		if (strncmp(d->d_name, "core", 4))
			continue;
		ASSERT_EQ(-1, fd) TH_LOG("two core files in %s", CORE_DIR);
		snprintf(path, sizeof(path), CORE_DIR "/%s", d->d_name);
		fd = open(path, O_RDONLY);
		ASSERT_LE(0, fd) TH_LOG("%s: %s", path, strerror(errno));
		ASSERT_EQ(0, unlink(path));
	}
	closedir(dir);
	ASSERT_LE(0, fd) TH_LOG("no core file in %s", CORE_DIR);
	return fd;
}

/*
 * The bytes of [addr, addr + size) of the dumped process, from the PT_LOAD
 * segment of the core file that covers them: the segment must hold them
 * all in the file (a filesz short of the range means the dump left the
 * pages out).
 */
static char *core_bytes(struct __test_metadata *_metadata, int fd,
			__u64 addr, size_t size)
{
	char *buf = zalloc(_metadata, size);
	Elf64_Ehdr eh;
	Elf64_Phdr ph;
	int i;

	ASSERT_EQ((ssize_t)sizeof(eh), pread(fd, &eh, sizeof(eh), 0));
	ASSERT_EQ(0, memcmp(eh.e_ident, ELFMAG, SELFMAG));
	ASSERT_EQ(ELFCLASS64, eh.e_ident[EI_CLASS]);
	ASSERT_EQ(ET_CORE, eh.e_type);
	ASSERT_EQ(sizeof(ph), eh.e_phentsize);
	for (i = 0; i < eh.e_phnum; i++) {
		off_t at = eh.e_phoff + i * sizeof(ph);

		ASSERT_EQ((ssize_t)sizeof(ph), pread(fd, &ph, sizeof(ph), at));
		if (ph.p_type == PT_LOAD && ph.p_vaddr <= addr &&
		    addr + size <= ph.p_vaddr + ph.p_memsz)
			break;
	}
	ASSERT_LT(i, eh.e_phnum) TH_LOG("no PT_LOAD covers 0x%llx",
					(unsigned long long)addr);
	ASSERT_LE(addr + size - ph.p_vaddr, ph.p_filesz)
		TH_LOG("the segment of 0x%llx holds 0x%llx bytes in the file",
		       (unsigned long long)ph.p_vaddr,
		       (unsigned long long)ph.p_filesz);
	ASSERT_EQ((ssize_t)size, pread(fd, buf, size,
				       ph.p_offset + addr - ph.p_vaddr));
	return buf;
}

/*
 * The core file holds every page of the buffer as the process last
 * wrote it: a page read as zeros is a device page the dump skipped.
 */
static void assert_core_holds(struct __test_metadata *_metadata,
			      const struct dump_report *r)
{
	size_t ps = hmm_page_size(), size = NPAGES * ps;
	int fd = open_core(_metadata);
	char *buf = core_bytes(_metadata, fd, r->addr, size);
	ssize_t bad = bad_page(buf, NPAGES, ps, SEED);

	ASSERT_EQ(-1, bad)
		TH_LOG("core: page %zd is wrong%s", bad,
		       hmm_verify_word(buf + bad * ps, ps, 0) < 0 ?
		       ": all zeros, as a page the dump skipped" : "");
	free(buf);
	close(fd);
}

/*
 * Since the test began the device gave back every page it handed out
 * (the process is gone), had handed out ondev of them at least, and its
 * fault path served faults of at least want pages; the kernel logged
 * no report.
 */
static void assert_all_freed(struct __test_metadata *_metadata,
			     FIXTURE_DATA(coredump) * self, __u64 ondev,
			     __u64 faults)
{
	struct hmm_nc_counters d;
	char first[256];

	delta_of(_metadata, self->e.dev, true, &self->global, &d);
	EXPECT_LE(ondev, d.devmem_alloc);
	EXPECT_EQ(d.devmem_alloc, d.devmem_free)
		TH_LOG("%llu device pages not freed",
		       (unsigned long long)(d.devmem_alloc - d.devmem_free));
	EXPECT_LE(faults, d.cpu_faults);
	EXPECT_EQ(d.pages_locked, d.pages_unlocked);
	EXPECT_EQ(d.pages_taken, d.pages_returned);
	EXPECT_EQ(0, hmm_kmsg_count(self->kmsg, klog_reports(), first,
				    sizeof(first)))
		TH_LOG("kernel: %s", first);
}

/*
 * Half the buffer on the device (its device file closed first, or not),
 * the process aborts: the core file holds every page, each device page
 * came back through the device's fault path, and every device page is
 * freed.
 */
static void abort_and_check(struct __test_metadata *_metadata,
			    FIXTURE_DATA(coredump) * self,
			    const FIXTURE_VARIANT(coredump) * variant,
			    bool close_first)
{
	struct dump_report r;
	pid_t pid;

	pid = start_child(_metadata, variant, close_first, NULL, &r);
	EXPECT_EQ(ONDEV, r.ondev) TH_LOG("pagemap: pages on the device");
	assert_dumped(_metadata, pid, SIGABRT);
	assert_core_holds(_metadata, &r);
	assert_all_freed(_metadata, self, ONDEV, ONDEV);
}

TEST_F(coredump, device_pages_are_in_the_core_file)
{
	abort_and_check(_metadata, self, variant, false);
}

/*
 * The dump's faults find the device from the page (a device that looked
 * in the closed file's state would read freed memory here).
 */
TEST_F(coredump, device_pages_dump_after_device_file_closed)
{
	abort_and_check(_metadata, self, variant, true);
}

/*
 * A thread migrates the buffer to the device and back in a loop; a
 * SIGSEGV from outside dumps the process wherever the thread is (pages
 * on the device, in system memory, or in the middle of a migration).
 * Every byte is in the core, every device page freed.
 */
TEST_F(coredump, dump_while_a_thread_migrates)
{
	struct loop_state *loop;
	struct dump_report r;
	pid_t pid;

	loop = mmap(NULL, sizeof(*loop), PROT_READ | PROT_WRITE,
		    MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	ASSERT_NE(MAP_FAILED, loop);
	pid = start_child(_metadata, variant, false, loop, &r);
	/* A few round trips first: the loop is running, not starting. */
	while (__atomic_load_n(&loop->rounds, __ATOMIC_SEQ_CST) < 3 &&
	       !__atomic_load_n(&loop->err, __ATOMIC_SEQ_CST))
		sched_yield();
	ASSERT_EQ(0, kill(pid, SIGSEGV));
	assert_dumped(_metadata, pid, SIGSEGV);
	EXPECT_EQ(0, loop->err) TH_LOG("the loop: %s", strerror(-loop->err));
	assert_core_holds(_metadata, &r);
	assert_all_freed(_metadata, self, ONDEV, 0);
	munmap(loop, sizeof(*loop));
}

HMM_TEST_MAIN

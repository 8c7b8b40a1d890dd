/* SPDX-License-Identifier: GPL-2.0 */
/*
 * What the refuse.* binaries share: the fixture (the device and an aio
 * context), an item of a refusing kind, and the checks of its fate
 * after a migration. balloon_page_migrate(), zs_page_migrate() and
 * aio_migrate_folio() return -EINVAL under MIGRATE_SYNC_NO_COPY: they
 * must copy under a lock of their own. The item must then stay where it
 * was, whole and usable, and move under MIGRATE_SYNC (the control that
 * ties the refusal to the mode). From 6.11 there is no NO_COPY to
 * refuse: those tests skip, the MIGRATE_SYNC ones run.
 *
 * Include it once per binary, after hmm_harness.h: it defines the
 * refuse fixture's data and static helpers.
 */
#ifndef _REFUSE_COMMON_H
#define _REFUSE_COMMON_H

#include <errno.h>
#include <linux/aio_abi.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "hmm_fixture.h"
#include "hmm_harness.h"
#include "libhmm.h"

#define UNIT		0
#define NC		HMM_NC_MODE_SYNC_NO_COPY
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

static inline void refuse_release_all(int fd)
{
	hmm_rf_release(fd, BALLOON, HMM_NC_RF_ALL);
	hmm_rf_release(fd, ZSMALLOC, HMM_NC_RF_ALL);
	hmm_rf_release(fd, MOVABLE, HMM_NC_RF_ALL);
}

/*
 * The device with nothing held, whatever a crashed test left; a skip,
 * which ends the test, when there is no device or it has no refusal
 * commands.
 */
static inline void rf_open(struct __test_metadata *_metadata,
			   FIXTURE_DATA(refuse) * self)
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
	refuse_release_all(self->fd);
}

static inline void rf_close(FIXTURE_DATA(refuse) * self)
{
	if (self->aio.ctx)
		syscall(__NR_io_destroy, self->aio.ctx);
	if (self->aio.data_fd >= 0)
		close(self->aio.data_fd);
	free(self->aio.buf);
	if (self->fd >= 0) {
		refuse_release_all(self->fd);
		close(self->fd);
	}
}

static inline struct hmm_nc_rf_page rf_page(__u32 kind, __u64 index,
					    __u64 ctx)
{
	struct hmm_nc_rf_page p;

	memset(&p, 0, sizeof(p));
	p.kind = kind;
	p.index = index;
	p.ctx = ctx;
	return p;
}

/* Migrates one item in one command; the command's own status. */
static inline int rf_one(int fd, __u32 mode, __u32 kind, __u64 index,
			 __u64 ctx, struct hmm_nc_rf_page *p)
{
	*p = rf_page(kind, index, ctx);
	return hmm_rf_migrate(fd, mode, p, 1, NULL);
}

/* The callback ran, said -EINVAL, and the item is as it was. */
static inline void check_refused(struct __test_metadata *_metadata,
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
static inline void check_moved(struct __test_metadata *_metadata,
			       const struct hmm_nc_rf_page *p,
			       bool engine_copied)
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
static inline void check_state_same(struct __test_metadata *_metadata,
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

/*
 * Reads the data file's first page through the aio context and checks
 * what arrives; the result is the event's, or -errno.
 */
static inline long aio_read_page(aio_context_t ctx, int fd, void *buf)
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

/*
 * The data file, written, and an aio context: 0, or the errno of
 * io_setup(), on which the caller skips.
 */
static inline int aio_setup(struct __test_metadata *_metadata,
			    struct aio_rig *aio)
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
	return syscall(__NR_io_setup, AIO_EVENTS, &aio->ctx) ? errno : 0;
}

/* The ring reads as a ring through the process's mapping; its PFN. */
static inline __u64 aio_ring_pfn(struct __test_metadata *_metadata,
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

static inline void check_aio_works(struct __test_metadata *_metadata,
				   struct aio_rig *aio)
{
	EXPECT_EQ((long)hmm_page_size(),
		  aio_read_page(aio->ctx, aio->data_fd, aio->buf));
}

/*
 * rf_open(), then a skip (ending the test) unless the kernel offers
 * what needs (enum hmm_need) names; with_aio, the test's aio context
 * too, or a skip where io_setup() fails.
 */
static inline void rf_open_for(struct __test_metadata *_metadata,
			       FIXTURE_DATA(refuse) * self, unsigned int needs,
			       bool with_aio)
{
	const char *why;
	int err;

	rf_open(_metadata, self);
	why = hmm_unmet(self->fd, needs);
	if (why) {
		close(self->fd);
		HMM_SETUP_SKIP("%s", why);
	}
	if (!with_aio)
		return;
	err = aio_setup(_metadata, &self->aio);
	if (err) {
		close(self->fd);
		HMM_SETUP_SKIP("io_setup: %s", strerror(err));
	}
}

#endif /* _REFUSE_COMMON_H */

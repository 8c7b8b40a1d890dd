// SPDX-License-Identifier: GPL-2.0
/*
 * pageflags.*: the page flags the kernel's migration callbacks must carry
 * to the new page (folio_migrate_flags() in 5.10, 6.1 and 6.12: active,
 * referenced, unevictable, mapped-to-disk), seen from outside the
 * module: the new PFN from /proc/self/pagemap after the move, its flags
 * from /proc/kpageflags. A variant is a kind of page and a mode: NO_COPY
 * must leave the same flags as the MIGRATE_SYNC control, where the
 * kernel copies the data itself.
 *
 * Every kind moves through the file workflow (HMM_NC_MIGRATE_FILE): the
 * anonymous pages are a private file mapping's copy-on-write pages, as
 * the anon engine (hmm_migrate_anon()) has no MIGRATE_SYNC mode for the
 * control.
 */
/* sync_file_range() in file_fixture.h */
#define _GNU_SOURCE
#include <stdint.h>

#include "file_fixture.h"

#define PF_IMG_DIR	"/tmp/hmm_pf_img"	/* a ramfs: the ext4's image */
#define PF_EXT_DIR	"/tmp/hmm_pf_ext4"
#define PF_MKFS_EXT4	"/sbin/mkfs.ext4 -q -F -b 4096 -E lazy_itable_init=0"
#define PF_NPAGES	8
#define PF_HOT		4	/* pages [0, PF_HOT) active, the rest mlocked */
#define PF_SEED		40

enum pf_kind { PF_ANON, PF_SHMEM, PF_EXT4 };

/*
 * A tmpfs on FILE_DIR for every kind (the anonymous pages are copies of
 * a tmpfs file's); the ext4 rows also have an ext4 with a block a page,
 * so that each page has one buffer head, on a loop device.
 */
FIXTURE(pageflags) {
	struct hmm_env e;
	struct xfs_disk none;	/* what fs_setup() wants; never an XFS */
	bool img_mounted;
	bool ext_mounted;
	int loop;
	char path[HMM_LOOP_PATH_LEN];
};

/* kind: enum pf_kind; cb: the callback its pages move through. */
FIXTURE_VARIANT(pageflags) {
	int kind;
	__u32 mode;
	int cb;
};

FIXTURE_VARIANT_ADD(pageflags, anon_nocopy) {
	.kind = PF_ANON, .mode = NO_COPY, .cb = HMM_NC_CB_FOLIO,
};

FIXTURE_VARIANT_ADD(pageflags, anon_sync) {
	.kind = PF_ANON, .mode = SYNC, .cb = HMM_NC_CB_FOLIO,
};

FIXTURE_VARIANT_ADD(pageflags, shmem_nocopy) {
	.kind = PF_SHMEM, .mode = NO_COPY, .cb = HMM_NC_CB_FOLIO,
};

FIXTURE_VARIANT_ADD(pageflags, shmem_sync) {
	.kind = PF_SHMEM, .mode = SYNC, .cb = HMM_NC_CB_FOLIO,
};

FIXTURE_VARIANT_ADD(pageflags, ext4_nocopy) {
	.kind = PF_EXT4, .mode = NO_COPY, .cb = HMM_NC_CB_BUFFER,
};

FIXTURE_VARIANT_ADD(pageflags, ext4_sync) {
	.kind = PF_EXT4, .mode = SYNC, .cb = HMM_NC_CB_BUFFER,
};

/* The ext4 of an ext4 row on PF_EXT_DIR: 0 or -errno. */
static int pf_ext4(FIXTURE_DATA(pageflags) * self)
{
	int ret = mount_image_dir(PF_IMG_DIR);

	if (ret)
		return ret;
	self->img_mounted = true;
	self->loop = mkfs_loop(PF_IMG_DIR, 48LL << 20, PF_MKFS_EXT4,
			       self->path, sizeof(self->path));
	if (self->loop < 0)
		return self->loop;
	ret = mount_dev(self->path, PF_EXT_DIR, "ext4", NULL);
	self->ext_mounted = !ret;
	return ret;
}

static void pf_done(FIXTURE_DATA(pageflags) * self)
{
	umount_if(PF_EXT_DIR, &self->ext_mounted);
	close_if(&self->loop);
	umount_if(PF_IMG_DIR, &self->img_mounted);
}

FIXTURE_SETUP(pageflags)
{
	int ret;

	self->loop = -1;
	fs_setup(_metadata, &self->e, &self->none, false);
	if (variant->kind != PF_EXT4)
		return;
	ret = pf_ext4(self);
	if (ret) {
		pf_done(self);
		fs_teardown(&self->e, &self->none);
		HMM_SETUP_SKIP("no ext4 on a loop device: %s", strerror(-ret));
	}
}

FIXTURE_TEARDOWN(pageflags)
{
	pf_done(self);
	fs_teardown(&self->e, &self->none);
}

/*
 * The variant's npages pages, mapped, each with its pattern from seed:
 * anon, a private mapping of a tmpfs file written through (its own
 * copy-on-write pages); shmem, a shared mapping of a tmpfs file; ext4,
 * a file written back and dropped from the cache, then read in again
 * through the mapping, so that its pages come from the disk with every
 * block mapped (PG_mappedtodisk). *fdp: the file.
 */
static char *pf_map(struct __test_metadata *_metadata,
		    const FIXTURE_VARIANT(pageflags) * v, size_t npages,
		    size_t ps, int *fdp)
{
	size_t size = npages * ps;
	char *p;
	int fd;

	if (v->kind == PF_EXT4) {
		fd = write_file(_metadata, PF_EXT_DIR "/f", npages, ps,
				PF_SEED, true);
		ASSERT_EQ(0, fsync(fd));
		ASSERT_EQ(0, hmm_write_str("/proc/sys/vm/drop_caches", "3"));
		assert_uncached(_metadata, fd, npages, ps);
	} else {
		fd = make_file(_metadata, FILE_DIR "/f", npages, ps, PF_SEED);
	}
	*fdp = fd;
	if (v->kind != PF_ANON)
		return map_file(_metadata, fd, size, MAP_SHARED);
	p = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_PRIVATE, fd, 0);
	ASSERT_NE(MAP_FAILED, p);
	fill_pages(p, npages, ps, PF_SEED);
	return p;
}

/*
 * Marks each of npages pages at p accessed once: a read through
 * /proc/self/mem takes the page with get_user_pages(FOLL_TOUCH), which
 * calls mark_page_accessed() on it, anonymous or not (a load only makes
 * the PTE young). Twice makes a page active, a third time referenced
 * again (the activation clears PG_referenced).
 */
static void mark_accessed(struct __test_metadata *_metadata, const char *p,
			  size_t npages, size_t ps)
{
	int fd = open("/proc/self/mem", O_RDONLY);
	size_t i;
	char c;

	ASSERT_LE(0, fd) TH_LOG("/proc/self/mem: %s", strerror(errno));
	for (i = 0; i < npages; i++)
		ASSERT_EQ(1, pread(fd, &c, 1, (off_t)(uintptr_t)(p + i * ps)))
			TH_LOG("page %zu: %s", i, strerror(errno));
	close(fd);
}

/* The kpageflags of the page mapped as pagemap entry pm. */
static __u64 pf_flags(struct __test_metadata *_metadata, __u64 pm, size_t i)
{
	__u64 kf = 0;

	ASSERT_NE(0, hmm_pm_pfn(pm)) TH_LOG("page %zu not present", i);
	ASSERT_EQ(0, hmm_kpageflags(hmm_pm_pfn(pm), &kf)) TH_LOG("page %zu", i);
	return kf;
}

/*
 * An mlocked page is unevictable: PG_unevictable, or (6.1 on) PG_mlocked
 * on a page off the LRU, which waits in this CPU's mlock batch for the
 * drain that sets PG_unevictable and puts it on the unevictable list.
 * The new page of an mlocked one is made so again by the migration
 * entry's removal in a VM_LOCKED mapping, whether or not the old
 * page's PG_unevictable was carried.
 */
static bool unevictable(__u64 kf)
{
	if (kf & KPF_BIT(UNEVICTABLE))
		return true;
	return (kf & KPF_BIT(MLOCKED)) && !(kf & KPF_BIT(LRU));
}

/*
 * Pages made active and referenced (the first PF_HOT) and mlocked pages
 * (unevictable: the others) move in the variant's mode; the new pages
 * have the same flags (ext4's: mapped-to-disk too), the data is intact
 * and the device's counters balance. An mlocked page is never active
 * (mlock clears it), so the two sets are kept apart.
 */
TEST_F(pageflags, active_referenced_carried)
{
	size_t npages = PF_NPAGES, ps = self->e.ps, size = npages * ps, i;
	__u64 *before, *after, kf;
	bool referenced[PF_HOT];
	char *p;
	int fd, n;

	if (variant->mode == NO_COPY)
		HMM_REQUIRE(self->e.dev, HMM_NEED_NOCOPY);

	p = pf_map(_metadata, variant, npages, ps, &fd);
	for (n = 0; n < 3; n++)
		mark_accessed(_metadata, p, PF_HOT, ps);
	ASSERT_EQ(0, mlock(p + PF_HOT * ps, (npages - PF_HOT) * ps))
		TH_LOG("mlock: %s", strerror(errno));

	before = zalloc(_metadata, npages * sizeof(__u64));
	after = zalloc(_metadata, npages * sizeof(__u64));
	ASSERT_EQ(0, hmm_pagemap(p, npages, before));
	/*
	 * Whether a hot page is referenced now depends on how many times
	 * each access marked it and on when its CPU's batch activated it
	 * (activation clears the bit, the next access sets it again): the
	 * new page must show what the old one shows. Its activation may
	 * still wait in a per-CPU batch, which the module drains before its
	 * job: the new page must be active either way.
	 */
	for (i = 0; i < PF_HOT; i++) {
		kf = pf_flags(_metadata, before[i], i);
		referenced[i] = kf & KPF_BIT(REFERENCED);
		TH_LOG("old page %zu: kpageflags 0x%llx", i,
		       (unsigned long long)kf);
	}

	free(migrate(_metadata, &self->e, p, npages, variant->mode, 0, npages));
	ASSERT_EQ(0, hmm_pagemap(p, npages, after));
	for (i = 0; i < npages; i++) {
		EXPECT_NE(hmm_pm_pfn(before[i]), hmm_pm_pfn(after[i]))
			TH_LOG("page %zu did not move", i);
		kf = pf_flags(_metadata, after[i], i);
		TH_LOG("new page %zu: kpageflags 0x%llx", i,
		       (unsigned long long)kf);
		if (i < PF_HOT) {
			EXPECT_TRUE(kf & KPF_BIT(ACTIVE)) TH_LOG("page %zu", i);
			EXPECT_EQ(referenced[i], !!(kf & KPF_BIT(REFERENCED)))
				TH_LOG("page %zu", i);
			EXPECT_FALSE(kf & KPF_BIT(UNEVICTABLE))
				TH_LOG("page %zu", i);
		} else {
			EXPECT_TRUE(unevictable(kf)) TH_LOG("page %zu", i);
			EXPECT_FALSE(kf & KPF_BIT(ACTIVE)) TH_LOG("page %zu", i);
		}
		/*
		 * Anonymous pages are not asked: from 6.1 their
		 * PG_mappedtodisk bit is PG_anon_exclusive, which the
		 * migration entry carries, not this copy.
		 */
		if (variant->kind == PF_EXT4) {
			EXPECT_TRUE(kf & KPF_BIT(MAPPEDTODISK))
				TH_LOG("page %zu", i);
		}
	}

	assert_mapped(_metadata, p, npages, ps, PF_SEED);
	if (variant->kind != PF_ANON)
		assert_read(_metadata, fd, npages, ps, PF_SEED);
	assert_counted(_metadata, &self->e, variant->cb, variant->mode, npages);
	if (variant->mode == SYNC)
		assert_engine_idle(_metadata, &self->e);
	munlock(p, size);
	munmap(p, size);
	close(fd);
	free(before);
	free(after);
}

HMM_TEST_MAIN

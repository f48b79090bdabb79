/*
 * shared.c: a bounded cache of the worker's mappings of its owner's shared buffers (shared.h).
 * A call may name the same buffer again and again (a frame of a video, a matrix updated in
 * place): only its first use costs an open, an fstat and an mmap; the later ones are a lookup in
 * a small array.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "shared.h"

/* What the owner's memfd carries (addon/shared.h): its size can never change. */
#define S_OWNER_SEALS (F_SEAL_SHRINK | F_SEAL_GROW)

void cnode_shared_init(struct cnode_shared_maps *m)
{
    memset(m, 0, sizeof *m);
}

static void s_unmap(struct cnode_shared_map *e)
{
    munmap(e->addr, (size_t)e->size);
    memset(e, 0, sizeof *e);
}

static struct cnode_shared_map *s_find(struct cnode_shared_maps *m, uint64_t inode)
{
    for (int i = 0; i < CNODE_SHARED_MAPS; i++)
        if (m->slot[i].inode == inode) return &m->slot[i];
    return NULL;
}

/* A free slot, or the least recently used one, unmapped. */
static struct cnode_shared_map *s_take_slot(struct cnode_shared_maps *m)
{
    struct cnode_shared_map *oldest = &m->slot[0];
    for (int i = 0; i < CNODE_SHARED_MAPS; i++) {
        struct cnode_shared_map *e = &m->slot[i];
        if (e->inode == 0) return e;
        if (e->used < oldest->used) oldest = e;
    }
    s_unmap(oldest);
    return oldest;
}

/* Closes fd keeping errno, for the failure paths. */
static void *s_fail(int fd, int err)
{
    close(fd);
    errno = err;
    return NULL;
}

void *cnode_shared_map(struct cnode_shared_maps *m, pid_t owner_pid, uint32_t fd, uint64_t inode,
                       uint64_t size)
{
    if (m == NULL || owner_pid <= 0 || fd > INT_MAX || inode == 0 || size == 0
        || size > SIZE_MAX) {
        errno = EINVAL;
        return NULL;
    }
    /* The owner's buffers never change size, so a mapping of the same inode that is big enough
       is the buffer asked for. (An inode number is reused only once its file is gone, and ours
       stays alive while mapped: only a 32-bit wrap of the kernel's counter could fool this.) */
    struct cnode_shared_map *e = s_find(m, inode);
    if (e != NULL && size <= e->size) {
        e->used = ++m->clock;
        return e->addr;
    }

    char path[64];
    snprintf(path, sizeof path, "/proc/%ld/fd/%u", (long)owner_pid, (unsigned)fd);
    int f;
    /* O_NOCTTY, O_NONBLOCK: should the number name a terminal or a FIFO by now, opening it must
       neither make it ours nor wait (the inode check refuses it next). */
    do f = open(path, O_RDWR | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
    while (f < 0 && errno == EINTR);
    if (f < 0) return NULL;
    struct stat st;
    if (fstat(f, &st) < 0) return s_fail(f, errno);
    /* The owner may have closed that descriptor since it sent the message, and its number may
       now name another file: the inode tells. The seals tell a memfd of the owner's from any
       other file that happens to have the same inode number on another filesystem. */
    int seals = fcntl(f, F_GET_SEALS);
    if ((uint64_t)st.st_ino != inode || seals < 0 || (seals & S_OWNER_SEALS) != S_OWNER_SEALS)
        return s_fail(f, ESTALE);
    if (st.st_size < 0 || (uint64_t)st.st_size < size || (uint64_t)st.st_size > SIZE_MAX)
        return s_fail(f, EINVAL);
    void *addr = mmap(NULL, (size_t)st.st_size, PROT_READ | PROT_WRITE, MAP_SHARED, f, 0);
    if (addr == MAP_FAILED) return s_fail(f, errno);
    close(f); /* the mapping keeps the file alive */

    if (e != NULL) s_unmap(e); /* same inode yet too small: cannot happen with sealed files */
    else e = s_take_slot(m);
    e->inode = inode;
    e->addr = addr;
    e->size = (uint64_t)st.st_size;
    e->used = ++m->clock;
    return addr;
}

void cnode_shared_forget(struct cnode_shared_maps *m, uint64_t inode)
{
    if (m == NULL || inode == 0) return;
    struct cnode_shared_map *e = s_find(m, inode);
    if (e != NULL) s_unmap(e);
}

void cnode_shared_clear(struct cnode_shared_maps *m)
{
    if (m == NULL) return;
    for (int i = 0; i < CNODE_SHARED_MAPS; i++)
        if (m->slot[i].inode != 0) s_unmap(&m->slot[i]);
    m->clock = 0;
}

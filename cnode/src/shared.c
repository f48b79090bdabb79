/*
 * shared.c: a bounded cache of the worker's mappings of its owner's shared buffers (shared.h).
 * A call may name the same buffer again and again (a frame of a video, a matrix updated in
 * place): only its first use costs an open, an fstat and an mmap (over the ring, an fstat and an
 * mmap of the descriptor the message brought); the later ones are a lookup in a small array.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
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

static int s_args_ok(const struct cnode_shared_maps *m, uint64_t inode, uint64_t size)
{
    if (m != NULL && inode != 0 && size != 0 && size <= SIZE_MAX) return 1;
    errno = EINVAL;
    return 0;
}

/* The cached mapping of `inode`, when there is one of at least `size` bytes. The owner's buffers
   never change size, so a mapping of the same inode that is big enough is the buffer asked for.
   (An inode number is reused only once its file is gone, and ours stays alive while mapped:
   only a 32-bit wrap of the kernel's counter could fool this.) */
static void *s_cached(struct cnode_shared_maps *m, uint64_t inode, uint64_t size)
{
    struct cnode_shared_map *e = s_find(m, inode);
    if (e == NULL || size > e->size) return NULL;
    e->used = ++m->clock;
    return e->addr;
}

/* Whether descriptor f is the owner's buffer of `inode`: the same file (its number in the
   owner may have been closed and reused for another file since the message was sent), sealed
   against shrinking and growing as the owner's buffers are (so that no page can vanish under
   the worker and raise SIGBUS; the seals also tell a memfd of the owner's from a file with the
   same inode number on another filesystem). Returns its size, or -1 with errno ESTALE. */
static int64_t s_owner_buffer(int f, uint64_t inode)
{
    struct stat st;
    if (fstat(f, &st) < 0) return -1;
    int seals = fcntl(f, F_GET_SEALS);
    if ((uint64_t)st.st_ino != inode || seals < 0 || (seals & S_OWNER_SEALS) != S_OWNER_SEALS
        || st.st_size < 0) {
        errno = ESTALE;
        return -1;
    }
    return (int64_t)st.st_size;
}

/* Maps all of the owner's buffer of `inode`, open as f (left open: the mapping alone keeps the
   file alive), after the checks of s_owner_buffer, and caches the mapping. */
static void *s_map_new(struct cnode_shared_maps *m, int f, uint64_t inode, uint64_t size)
{
    int64_t file_size = s_owner_buffer(f, inode);
    if (file_size < 0) return NULL;
    if ((uint64_t)file_size < size || (uint64_t)file_size > SIZE_MAX) {
        errno = EINVAL;
        return NULL;
    }
    void *addr = mmap(NULL, (size_t)file_size, PROT_READ | PROT_WRITE, MAP_SHARED, f, 0);
    if (addr == MAP_FAILED) return NULL;
    struct cnode_shared_map *e = s_find(m, inode);
    if (e != NULL) s_unmap(e); /* same inode yet too small: cannot happen with sealed files */
    else e = s_take_slot(m);
    e->inode = inode;
    e->addr = addr;
    e->size = (uint64_t)file_size;
    e->used = ++m->clock;
    return addr;
}

void *cnode_shared_map(struct cnode_shared_maps *m, pid_t owner_pid, uint32_t fd, uint64_t inode,
                       uint64_t size)
{
    if (!s_args_ok(m, inode, size)) return NULL;
    if (owner_pid <= 0 || fd > INT_MAX) {
        errno = EINVAL;
        return NULL;
    }
    void *addr = s_cached(m, inode, size);
    if (addr != NULL) return addr;
    char path[64];
    snprintf(path, sizeof path, "/proc/%ld/fd/%u", (long)owner_pid, (unsigned)fd);
    int f;
    /* O_NOCTTY, O_NONBLOCK: should the number name a terminal or a FIFO by now, opening it must
       neither make it ours nor wait (the inode check refuses it next). */
    do f = open(path, O_RDWR | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
    while (f < 0 && errno == EINTR);
    if (f < 0) return NULL;
    addr = s_map_new(m, f, inode, size);
    int err = errno;
    close(f);
    errno = err;
    return addr;
}

/* The kept descriptor of `inode`, or NULL. */
static struct cnode_shared_kept *s_kept(struct cnode_shared_maps *m, uint64_t inode)
{
    for (size_t i = 0; i < m->nkept; i++)
        if (m->kept[i].inode == inode) return &m->kept[i];
    return NULL;
}

/* Keeps a copy of descriptor f of `inode`, for the calls that will name it without it. */
static int s_keep(struct cnode_shared_maps *m, int f, uint64_t inode)
{
    if (s_kept(m, inode) != NULL) return 0;
    if (m->nkept == m->kept_cap) {
        size_t cap = m->kept_cap ? 2 * m->kept_cap : 16;
        struct cnode_shared_kept *grown = realloc(m->kept, cap * sizeof *grown);
        if (grown == NULL) return -1;
        m->kept = grown;
        m->kept_cap = cap;
    }
    int copy = fcntl(f, F_DUPFD_CLOEXEC, 0);
    if (copy < 0) return -1;
    m->kept[m->nkept++] = (struct cnode_shared_kept){inode, copy};
    return 0;
}

void *cnode_shared_map_passed(struct cnode_shared_maps *m, const int *fds, size_t count,
                              uint64_t inode, uint64_t size)
{
    if (!s_args_ok(m, inode, size)) return NULL;
    void *addr = s_cached(m, inode, size);
    if (addr != NULL) return addr;
    for (size_t i = 0; i < count; i++) {
        struct stat st;
        if (fstat(fds[i], &st) == 0 && (uint64_t)st.st_ino == inode) {
            addr = s_map_new(m, fds[i], inode, size);
            if (addr != NULL && s_keep(m, fds[i], inode) < 0) return NULL;
            return addr;
        }
    }
    /* Sent with an earlier call, and its mapping evicted since. */
    struct cnode_shared_kept *k = s_kept(m, inode);
    if (k != NULL) return s_map_new(m, k->fd, inode, size);
    errno = ENOENT;
    return NULL;
}

void cnode_shared_forget(struct cnode_shared_maps *m, uint64_t inode)
{
    if (m == NULL || inode == 0) return;
    struct cnode_shared_map *e = s_find(m, inode);
    if (e != NULL) s_unmap(e);
    struct cnode_shared_kept *k = s_kept(m, inode);
    if (k != NULL) {
        close(k->fd);
        *k = m->kept[--m->nkept];
    }
}

void cnode_shared_clear(struct cnode_shared_maps *m)
{
    if (m == NULL) return;
    for (int i = 0; i < CNODE_SHARED_MAPS; i++)
        if (m->slot[i].inode != 0) s_unmap(&m->slot[i]);
    m->clock = 0;
    for (size_t i = 0; i < m->nkept; i++) close(m->kept[i].fd);
    free(m->kept);
    m->kept = NULL;
    m->nkept = m->kept_cap = 0;
}

// staged.cc: big binaries of a call copied once, straight into the memfd that will carry them
// over the ring, instead of into a Buffer that ring.cc would then copy into a memfd.
//
// StagePart(env, data, size) makes a memfd holding a copy of the bytes (write(2): no page
// faults), maps it, and returns an external Buffer over the mapping: the side part the codec
// keeps in the message (src/codec.ts). TakeStaged(data, size), from Ring::Write, gives the memfd
// of such a Buffer, or -1 for any other memory, and turns the owner's mapping into a private one
// first: the worker can freeze only a memfd that nobody maps shared (cnode_ring_freeze), and a
// binary it echoes then comes back without a copy. DropStaged(data) closes the memfd of one that
// will never be sent (its message was refused or withdrawn) at once, rather than when the
// Buffer is collected. The Buffer's finalizer unmaps and closes.
// The registry is the process's: a Buffer's finalizer may run after its Ring is gone.
#include <napi.h>

#include <mutex>
#include <sys/mman.h>
#include <unistd.h>
#include <unordered_map>

#include "../cnode/src/ring.h"
#include "addon.h"

namespace cnode_addon {

namespace {

struct Staged {
    int fd;
    size_t size;
};

std::mutex staged_lock;
std::unordered_map<const void *, Staged> staged;

void Unstage(Napi::Env, uint8_t *data, void *)
{
    Staged part;
    {
        std::lock_guard<std::mutex> hold(staged_lock);
        auto found = staged.find(data);
        if (found == staged.end()) return;
        part = found->second;
        staged.erase(found);
    }
    munmap(data, part.size);
    if (part.fd >= 0) close(part.fd);
}

} // namespace

Napi::Value StagePart(Napi::Env env, const void *data, size_t size)
{
    int fd = cnode_ring_memfd(data, size);
    if (fd < 0) return env.Undefined();
    void *addr = mmap(nullptr, size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
    if (addr == MAP_FAILED) {
        close(fd);
        return env.Undefined();
    }
    {
        std::lock_guard<std::mutex> hold(staged_lock);
        staged[addr] = Staged{fd, size};
    }
    Napi::Buffer<uint8_t> buffer =
        Napi::Buffer<uint8_t>::New(env, static_cast<uint8_t *>(addr), size, Unstage, static_cast<void *>(nullptr));
    if (buffer.IsEmpty()) Unstage(env, static_cast<uint8_t *>(addr), nullptr);
    return buffer;
}

int TakeStaged(const void *data, size_t size)
{
    std::lock_guard<std::mutex> hold(staged_lock);
    auto found = staged.find(data);
    if (found == staged.end() || found->second.size != size || found->second.fd < 0) return -1;
    // The same bytes at the same address, now private to the owner (nobody reads them again).
    if (mmap(const_cast<void *>(data), size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_FIXED, found->second.fd, 0) ==
        MAP_FAILED)
        return -1;
    return found->second.fd;
}

void DropStaged(const void *data)
{
    std::lock_guard<std::mutex> hold(staged_lock);
    auto found = staged.find(data);
    if (found == staged.end() || found->second.fd < 0) return;
    close(found->second.fd);
    found->second.fd = -1;
}

} // namespace cnode_addon

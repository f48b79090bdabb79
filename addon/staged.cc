// staged.cc: big binaries of a call copied once, straight into the memfd that will carry them
// over the ring, instead of into a Buffer that ring.cc would then copy into a memfd; and those
// memfds kept, with their Buffers, once the worker has answered the call, to carry the next big
// binary of that size to the same worker: a call of a big binary then costs no fresh pages to
// make and free, and V8 no new external memory (a new 1 MiB Buffer a call had V8 collecting every
// few dozen calls, and a pool's owner spent 2-3x the CPU on it once its heap had grown).
//
// StagePart(env, data, size, spares) takes a spare of exactly that size, maps its memfd shared
// at its Buffer's address (MAP_POPULATE: its pages exist already), copies the bytes in and
// returns that Buffer; or else copies them into a fresh memfd (write(2): no page faults), maps it
// and returns a new external Buffer over the mapping: the side part the codec keeps in the
// message (src/codec.ts). TakeStaged(data, size), from Ring::Write, gives the memfd of such a
// Buffer, or -1 for any other memory, and turns the owner's mapping into a private one first:
// the worker can freeze only a memfd that nobody maps shared (cnode_ring_freeze), and a binary it
// echoes then comes back without a copy. DropStaged(data) closes the memfd of one that will never
// be sent (its message was refused or withdrawn) at once, rather than when the Buffer is
// collected. RecycleStaged(buffer, spares), once the worker has answered the call that carried
// it, moves its memfd and a reference to its Buffer into the ring's spares, unless the worker
// froze it (it echoed it: the owner may be mapping it as the reply) or it was never sent. A spare
// dropped (over the caps, or with the ring) has its range blanked, its memfd closed and its Buffer
// let go. The Buffer's finalizer unmaps, and closes a memfd still its own.
// The registry is the process's: a Buffer's finalizer may run after its Ring is gone. The
// spares are a Ring's (SpareParts, addon.h), closed with it.
//
// Why a memfd is reused for its own worker only, and only once that worker has answered. The
// worker got the descriptor: it may keep it, or a shared writable mapping of it, and read or
// write whatever the owner puts in the memfd later. The owner never reads a staged part again
// once it is sent (a kept Buffer is nobody's but the spares' until the next binary is copied
// over it), so nothing the worker writes there reaches the owner; and what the owner puts there later is that same
// worker's next input, which it is sent anyway and may change in place anyway (cnode.h: the
// handler may change a binary's bytes). A worker that writes into a later call's bytes under its
// own running handler corrupts only its own input, as it could with its own memory. Sharing the
// spares between workers would let one read and change another's calls: they are not shared. A
// call that timed out or was aborted may still be in its worker's handler, reading: its parts
// are not reused (the JavaScript side recycles only answered calls). A worker that sealed a
// spare against writing (F_SEAL_WRITE, F_SEAL_FUTURE_WRITE) makes the shared writable mapping
// fail: the spare is closed and a fresh memfd made.
#include <napi.h>

#include <cerrno>
#include <fcntl.h>
#include <cstring>
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
    bool sent; // TakeStaged gave it to a write: the owner's mapping is private
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

// Maps a spare shared at its Buffer's own address and copies `size` bytes into it: false if it
// cannot (its worker sealed it against writing). Its pages exist already, so MAP_POPULATE maps
// them all in one call and the copy takes no fault: measured, a third of what pwrite(2) into
// them costs.
bool Refill(const SpareParts::Spare &spare, const void *data)
{
    if (mmap(spare.addr, spare.size, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_FIXED | MAP_POPULATE, spare.fd, 0) ==
        MAP_FAILED)
        return false;
    memcpy(spare.addr, data, spare.size);
    return true;
}

// The address range stays the Buffer's, whose finalizer unmaps it, whatever becomes of the
// memfd: anonymous zeros, which cost nothing until touched, in place of the memfd's pages.
void Blank(void *addr, size_t size)
{
    mmap(addr, size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0);
}

constexpr int kWriteSeals = F_SEAL_WRITE
#ifdef F_SEAL_FUTURE_WRITE
                            | F_SEAL_FUTURE_WRITE
#endif
    ;

} // namespace

SpareParts::~SpareParts()
{
    Clear();
}

bool SpareParts::Take(size_t size, Spare &out)
{
    // The newest first: its pages are the likeliest to be in the caches still.
    for (auto spare = spares_.rbegin(); spare != spares_.rend(); ++spare) {
        if (spare->size != size) continue;
        out = std::move(*spare);
        bytes_ -= size;
        spares_.erase(std::next(spare).base());
        return true;
    }
    return false;
}

void SpareParts::Put(Spare spare)
{
    if (spare.size > kMaxBytes) {
        Drop(spare);
        return;
    }
    bytes_ += spare.size;
    spares_.push_back(std::move(spare));
    while (spares_.size() > kMaxSpares || bytes_ > kMaxBytes) {
        bytes_ -= spares_.front().size;
        Drop(spares_.front());
        spares_.pop_front();
    }
}

void SpareParts::Clear()
{
    for (Spare &spare : spares_) Drop(spare);
    spares_.clear();
    bytes_ = 0;
}

void SpareParts::Drop(Spare &spare)
{
    Blank(spare.addr, spare.size);
    close(spare.fd);
    spare.fd = -1;
    spare.buffer.Reset(); // collectable now; its finalizer unmaps the range
}

Napi::Value StagePart(Napi::Env env, const void *data, size_t size, SpareParts &spares)
{
    SpareParts::Spare spare;
    if (spares.Take(size, spare)) {
        int seals = fcntl(spare.fd, F_GET_SEALS);
        if (seals >= 0 && (seals & kWriteSeals) == 0 && Refill(spare, data)) {
            {
                std::lock_guard<std::mutex> hold(staged_lock);
                staged[spare.addr] = Staged{spare.fd, size, false};
            }
            Napi::Value buffer = spare.buffer.Value();
            spare.buffer.Reset();
            return buffer;
        }
        SpareParts::Drop(spare); // sealed by its worker meanwhile: a fresh one
    }
    int fd = cnode_ring_memfd(data, size);
    if (fd < 0) return env.Undefined();
    void *addr = mmap(nullptr, size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
    if (addr == MAP_FAILED) {
        close(fd);
        return env.Undefined();
    }
    {
        std::lock_guard<std::mutex> hold(staged_lock);
        staged[addr] = Staged{fd, size, false};
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
    found->second.sent = true;
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

void RecycleStaged(Napi::Uint8Array buffer, SpareParts &spares)
{
    void *data = buffer.Data();
    size_t size = buffer.ByteLength();
    int fd;
    {
        std::lock_guard<std::mutex> hold(staged_lock);
        auto found = staged.find(data);
        if (found == staged.end() || found->second.size != size || found->second.fd < 0 || !found->second.sent) return;
        fd = found->second.fd;
        int seals = fcntl(fd, F_GET_SEALS);
        if (seals < 0 || (seals & kWriteSeals) != 0) return; // frozen: the reply may be a view of it
        found->second.fd = -1; // the spares' now; the finalizer only unmaps
    }
    // The Buffer is the codec's copy of a call's binary, which nothing reads once it is sent:
    // it waits here, its private view untouched, until the memfd's next binary is copied in.
    spares.Put(SpareParts::Spare{fd, size, data, Napi::Persistent(buffer)});
}

} // namespace cnode_addon

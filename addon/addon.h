// addon.h: what the addon exports, one concern per file: reap.cc, polls.cc, shared.cc, ring.cc,
// teardown.cc, staged.cc.
// The addon is loaded by src/native.ts.
#ifndef CNODE_ADDON_H
#define CNODE_ADDON_H

#include <napi.h>

#include <deque>

namespace cnode_addon {

Napi::Value Reap(const Napi::CallbackInfo &info);            // reap(pid)
Napi::Value PollDescriptors(const Napi::CallbackInfo &info); // pollDescriptors()
Napi::Value SetPollRef(const Napi::CallbackInfo &info);      // setPollRef(fds, ref)
Napi::Value SharedCreate(const Napi::CallbackInfo &info);    // sharedCreate(byteLength)
Napi::Value SharedRelease(const Napi::CallbackInfo &info);   // sharedRelease(buffer, keepFd)
Napi::Value SharedStats(const Napi::CallbackInfo &info);     // sharedStats()
Napi::Function DefineRing(Napi::Env env);                    // class Ring
Napi::Value TerminateGroups(const Napi::CallbackInfo &info); // terminateGroups(pgids)

// staged.cc, for ring.cc: a binary copied straight into the memfd that carries it.

// A ring's staged memfds whose calls its worker answered, kept to carry its next big binaries
// of the same sizes: at most kMaxSpares of them and kMaxBytes in all, the oldest closed first.
// A Ring's own, used on its thread only; closed by Clear() and with it.
class SpareParts {
  public:
    static constexpr size_t kMaxSpares = 8;
    static constexpr size_t kMaxBytes = 32u << 20;
    // A kept memfd, and the staged Buffer that was its view: the Buffer carries the memfd's
    // next binary too, at the same address, so that a big binary costs V8 no new external
    // memory (each new 1 MiB Buffer had V8 collecting every few dozen calls).
    struct Spare {
        int fd;
        size_t size;
        void *addr;                                  // the Buffer's memory
        Napi::Reference<Napi::Uint8Array> buffer;    // holds it while it waits here
    };
    SpareParts() = default;
    SpareParts(const SpareParts &) = delete;
    SpareParts &operator=(const SpareParts &) = delete;
    ~SpareParts();
    bool Take(size_t size, Spare &out); // one of exactly `size` bytes, now the caller's
    void Put(Spare spare);
    void Clear();
    static void Drop(Spare &spare); // closes its memfd and lets its Buffer go

  private:
    std::deque<Spare> spares_;
    size_t bytes_ = 0;
};

Napi::Value StagePart(Napi::Env env, const void *data, size_t size, SpareParts &spares);
int TakeStaged(const void *data, size_t size);
void DropStaged(const void *data);
void RecycleStaged(Napi::Uint8Array buffer, SpareParts &spares);

} // namespace cnode_addon

#endif // CNODE_ADDON_H

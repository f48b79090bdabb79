// addon.h: what the addon exports, one concern per file: reap.cc, polls.cc, shared.cc, ring.cc,
// teardown.cc, staged.cc.
// The addon is loaded by src/native.ts.
#ifndef CNODE_ADDON_H
#define CNODE_ADDON_H

#include <napi.h>

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
Napi::Value StagePart(Napi::Env env, const void *data, size_t size);
int TakeStaged(const void *data, size_t size);
void DropStaged(const void *data);

} // namespace cnode_addon

#endif // CNODE_ADDON_H

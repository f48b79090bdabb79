// The Node.js addon: what Node's own API cannot do for the library. Built by cmake-js from the
// project's CMakeLists.txt into build/addon/cnode.node; loaded by src/native.ts.
//
//  - reap(pid): collect an exited child (worker_thread owners): reap.cc.
//  - pollDescriptors / setPollRef: let an unref'd CNode's ZeroMQ sockets leave the event loop
//    free: polls.cc.
//  - sharedCreate / sharedRelease / sharedStats: memory the owner shares with its workers:
//    shared.cc.
//  - Ring: the owner's end of the ring transport (a class): ring.cc.
//  - terminateGroups: the workers of a worker_thread that is terminated: teardown.cc.
#include <dlfcn.h>
#include <napi.h>

#include "addon.h"

namespace {

// Keeps this library loaded for the life of the process. Node unloads an addon when the last
// environment that loaded it ends: a worker_thread that used it alone, terminated, would then
// run the close callbacks of the ring's uv_poll handles (ring.cc) in unmapped code (SIGSEGV).
void StayLoaded()
{
    Dl_info self;
    if (dladdr(reinterpret_cast<void *>(&StayLoaded), &self) != 0 && self.dli_fname != nullptr)
        dlopen(self.dli_fname, RTLD_NOW | RTLD_NODELETE);
}

Napi::Object Init(Napi::Env env, Napi::Object exports)
{
    using namespace cnode_addon;
    StayLoaded();
    exports.Set("reap", Napi::Function::New(env, Reap, "reap"));
    exports.Set("pollDescriptors", Napi::Function::New(env, PollDescriptors, "pollDescriptors"));
    exports.Set("setPollRef", Napi::Function::New(env, SetPollRef, "setPollRef"));
    exports.Set("sharedCreate", Napi::Function::New(env, SharedCreate, "sharedCreate"));
    exports.Set("sharedRelease", Napi::Function::New(env, SharedRelease, "sharedRelease"));
    exports.Set("sharedStats", Napi::Function::New(env, SharedStats, "sharedStats"));
    exports.Set("Ring", DefineRing(env));
    exports.Set("terminateGroups", Napi::Function::New(env, TerminateGroups, "terminateGroups"));
    return exports;
}

} // namespace

NODE_API_MODULE(cnode, Init)

// The Node.js addon: what Node's own API cannot do for the library. Built by cmake-js from the
// project's CMakeLists.txt into build/addon/cnode.node; loaded by src/native.ts.
//
//  - reap(pid): collect an exited child (worker_thread owners): reap.cc.
//  - pollDescriptors / setPollRef: let an unref'd CNode's ZeroMQ sockets leave the event loop
//    free: polls.cc.
//  - sharedCreate / sharedRelease / sharedStats: memory the owner shares with its workers:
//    shared.cc.
//  - Ring: the owner's end of the ring transport (a class): ring.cc.
#include <napi.h>

#include "addon.h"

namespace {

Napi::Object Init(Napi::Env env, Napi::Object exports)
{
    using namespace cnode_addon;
    exports.Set("reap", Napi::Function::New(env, Reap, "reap"));
    exports.Set("pollDescriptors", Napi::Function::New(env, PollDescriptors, "pollDescriptors"));
    exports.Set("setPollRef", Napi::Function::New(env, SetPollRef, "setPollRef"));
    exports.Set("sharedCreate", Napi::Function::New(env, SharedCreate, "sharedCreate"));
    exports.Set("sharedRelease", Napi::Function::New(env, SharedRelease, "sharedRelease"));
    exports.Set("sharedStats", Napi::Function::New(env, SharedStats, "sharedStats"));
    exports.Set("Ring", DefineRing(env));
    return exports;
}

} // namespace

NODE_API_MODULE(cnode, Init)

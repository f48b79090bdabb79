// cpp_move.cpp: compiled (not run) by test/cpp.test.ts: a cnode::Node has one owner.
#include <type_traits>

#include <cnode.hpp>

static_assert(!std::is_copy_constructible_v<cnode::Node>, "a Node must not be copyable");
static_assert(!std::is_copy_assignable_v<cnode::Node>, "a Node must not be copy-assignable");
static_assert(std::is_nothrow_move_constructible_v<cnode::Node>, "a Node must be movable");
static_assert(std::is_nothrow_move_assignable_v<cnode::Node>, "a Node must be move-assignable");
static_assert(!std::is_default_constructible_v<cnode::Node>, "a Node is made by cnode_init only");
static_assert(!std::is_copy_constructible_v<cnode::Message>, "a Message owns its buffer");

/*
 * cnode.hpp: the C++17 side of cnode, header-only, over cnode.h (read that header for what the
 * library does; this one says only what the C++ layer adds).
 *
 *     #include <cnode.hpp>
 *
 *     int main(int argc, char **argv) {
 *         try {
 *             cnode::Node node(argc, argv);                  // binds, prints "ready <endpoint>"
 *             return node.run([](cnode::Request &req, cnode::Reply &reply) {
 *                 auto text = req.get<std::string_view>("text"); // throws if missing or not a string
 *                 auto times = req.get<unsigned>("times", 1);    // 1 when missing or nil
 *                 std::string out;
 *                 for (unsigned i = 0; i < times; i++) out += text;
 *                 reply.pack(out);                           // exactly one object, as in C
 *             });
 *         } catch (const cnode::Error &e) {                  // cnode_init failed
 *             return 1;                                      // (its line is on stderr already)
 *         }
 *     }
 *
 * Build it with `npx cnode c++ worker.cpp -O2 -o worker`.
 *
 * - cnode::Node owns a cnode_t: the constructor calls cnode_init and throws cnode::Error when it
 *   fails; the destructor calls cnode_destroy. It is movable, not copyable (one owner, one
 *   cnode_destroy). A moved-from Node holds nothing; any call on it but the destructor and
 *   assignment throws cnode::Error (EINVAL).
 * - The handler is any callable taking (cnode::Request &, cnode::Reply &); run() calls it once per
 *   call or cast, as cnode_run does. An exception thrown from it fails that call: the owner's
 *   call rejects with ERR_CNODE_REMOTE and the exception's what() as its message (whatever was
 *   packed is dropped). A cast has no reply: req.is_cast() is true and what is packed is dropped.
 * - A request's views (cnode::Value, its std::string_view strings, its cnode::bytes binaries)
 *   point into the received message: valid until the handler returns, as in C. Copy what you keep
 *   (std::string(view), or get<std::string>).
 * - Typed access throws cnode::TypeError naming the field by its path ("request.rows[2].id:
 *   expected an integer, got a string"), which fails the call with that message and the
 *   remoteCode "ERR_CNODE_BAD_MESSAGE", as a generated contract decoder refuses one. Throw
 *   cnode::Failure(code, message) for a code of your own.
 * - Timers and descriptors take callables too (every(), watch()). The Node owns them: it frees a
 *   callable when its timer is cancelled or its descriptor removed (after the callable returns,
 *   when it does that to itself), and all of them when it is destroyed. A callable returns void
 *   to go on, or bool: false cancels its timer or removes its descriptor. An exception thrown
 *   from one ends run() with status 1, its what() on stderr, as a C callback returning -1 does.
 * - No exception crosses into the C library: every function the library calls catches all.
 * - Threads: as cnode.h says. Only Node::post may be called from another thread.
 *
 * Why cnode::bytes and not std::basic_string_view<std::byte>: std::char_traits is specified for
 * the character types only; std::char_traits<std::byte> is not provided by the standard, and
 * libc++ has dropped the generic fallback that made it compile. A request's binaries may also be
 * changed in place (cnode.h), which a string_view (const) does not allow. So cnode::bytes is a
 * tiny mutable view, std::byte * and a size, shaped like C++20's std::span<std::byte>.
 */
#ifndef CNODE_HPP
#define CNODE_HPP

#include <cnode.h>

#include <cerrno>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <iterator>
#include <limits>
#include <map>
#include <memory>
#include <optional>
#include <poll.h>
#include <stdexcept>
#include <string>
#include <string_view>
#include <type_traits>
#include <utility>
#include <vector>

namespace cnode {

/* A failure of the library, with the errno value it set (code()). The message says what failed
   and why, in cnode_strerror's words. */
class Error : public std::runtime_error {
  public:
    Error(const std::string &what, int errnum)
        : std::runtime_error(what + ": " + cnode_strerror(errnum)), errnum_(errnum) {}
    int code() const noexcept { return errnum_; }

  private:
    int errnum_;
};

/*
 * Thrown from a handler, fails the call with the worker's own error code beside the message
 * (cnode_fail_code): the owner's ERR_CNODE_REMOTE has `remoteCode` set to code() and the message
 * carries what(). The code is 1 to 64 bytes of printable ASCII ("SQLITE_CONSTRAINT"); another
 * fails the call without a code, as cnode_fail_code says.
 *     throw cnode::Failure("E_RANGE", "n must be below " + std::to_string(max));
 */
class Failure : public std::runtime_error {
  public:
    Failure(std::string code, const std::string &message) : std::runtime_error(message), code_(std::move(code)) {}
    const std::string &code() const noexcept { return code_; }

  private:
    std::string code_;
};

/* A request that is not what the handler expects: a missing field, a wrong type, a number out of
   range. Thrown by cnode::Value's typed access; fails the call with its message and the code
   "ERR_CNODE_BAD_MESSAGE", the code a generated contract decoder (cnode gen) refuses one with. */
class TypeError : public Failure {
  public:
    explicit TypeError(const std::string &message) : Failure("ERR_CNODE_BAD_MESSAGE", message) {}
};

/* A view of bytes that may be changed in place: a binary of the request, or bytes to pack. */
class bytes {
  public:
    constexpr bytes() noexcept = default;
    constexpr bytes(std::byte *data, std::size_t size) noexcept : data_(data), size_(size) {}
    bytes(void *data, std::size_t size) noexcept : data_(static_cast<std::byte *>(data)), size_(size) {}
    constexpr std::byte *data() const noexcept { return data_; }
    constexpr std::size_t size() const noexcept { return size_; }
    constexpr bool empty() const noexcept { return size_ == 0; }
    constexpr std::byte &operator[](std::size_t i) const noexcept { return data_[i]; }
    constexpr std::byte *begin() const noexcept { return data_; }
    constexpr std::byte *end() const noexcept { return data_ + size_; }
    /* The same bytes as characters, e.g. to search them with std::string_view. */
    std::string_view chars() const noexcept { return {reinterpret_cast<const char *>(data_), size_}; }

  private:
    std::byte *data_ = nullptr;
    std::size_t size_ = 0;
};

class Value;
class Packer;
class Node;

namespace detail {

template <class T, class = void> struct is_range : std::false_type {};
template <class T>
struct is_range<T, std::void_t<decltype(std::begin(std::declval<const T &>())),
                               decltype(std::end(std::declval<const T &>())),
                               decltype(std::size(std::declval<const T &>()))>> : std::true_type {};

template <class T, class = void> struct is_map : std::false_type {};
template <class T> struct is_map<T, std::void_t<typename T::key_type, typename T::mapped_type>> : std::true_type {};

template <class T> struct is_pair : std::false_type {};
template <class A, class B> struct is_pair<std::pair<A, B>> : std::true_type {};

template <class> inline constexpr bool always_false = false;

/* Throws cnode::Error with errno as the library left it (read before anything may change it). */
[[noreturn]] inline void throw_errno(const char *what) {
    int err = errno;
    throw Error(what, err);
}

/* Calls a timer's or descriptor's callable: true to go on, false to end it. */
template <class F, class... Args> bool call_keep(F &fn, Args &&...args) {
    if constexpr (std::is_same_v<std::invoke_result_t<F &, Args...>, void>) {
        fn(std::forward<Args>(args)...);
        return true;
    } else {
        return static_cast<bool>(fn(std::forward<Args>(args)...));
    }
}

} // namespace detail

/*
 * A read-only view of one MessagePack value of a request, with the path it was reached by
 * ("request", "request.items[3].name") for the messages of the TypeError it throws. Valid as long
 * as the request is: until the handler returns.
 */
class Value {
  public:
    Value(const msgpack_object *object, std::string path) : o_(object), path_(std::move(path)) {}

    const msgpack_object *object() const noexcept { return o_; }
    const std::string &path() const noexcept { return path_; }
    msgpack_object_type type() const noexcept { return o_->type; }
    bool is_nil() const noexcept { return o_->type == MSGPACK_OBJECT_NIL; }
    bool is_bool() const noexcept { return o_->type == MSGPACK_OBJECT_BOOLEAN; }
    bool is_int() const noexcept {
        return o_->type == MSGPACK_OBJECT_POSITIVE_INTEGER || o_->type == MSGPACK_OBJECT_NEGATIVE_INTEGER;
    }
    bool is_number() const noexcept {
        return is_int() || o_->type == MSGPACK_OBJECT_FLOAT32 || o_->type == MSGPACK_OBJECT_FLOAT64;
    }
    bool is_str() const noexcept { return o_->type == MSGPACK_OBJECT_STR; }
    bool is_bin() const noexcept { return o_->type == MSGPACK_OBJECT_BIN; }
    bool is_array() const noexcept { return o_->type == MSGPACK_OBJECT_ARRAY; }
    bool is_map() const noexcept { return o_->type == MSGPACK_OBJECT_MAP; }

    std::string_view str() const {
        expect(is_str(), "a string");
        return {o_->via.str.ptr, o_->via.str.size};
    }
    /* The binary's bytes, which the handler may change in place (cnode.h). */
    bytes bin() const {
        expect(is_bin(), "a binary");
        return {const_cast<char *>(o_->via.bin.ptr), o_->via.bin.size};
    }
    bool boolean() const {
        expect(is_bool(), "a boolean");
        return o_->via.boolean;
    }
    double f64() const {
        expect(is_number(), "a number");
        if (o_->type == MSGPACK_OBJECT_POSITIVE_INTEGER) return static_cast<double>(o_->via.u64);
        if (o_->type == MSGPACK_OBJECT_NEGATIVE_INTEGER) return static_cast<double>(o_->via.i64);
        return o_->via.f64;
    }

    /* The value as T: bool, an integer type (range-checked), float or double (integers too),
       std::string_view, std::string (a copy), cnode::bytes, or cnode::Value. */
    template <class T> T as() const {
        if constexpr (std::is_same_v<T, bool>) {
            return boolean();
        } else if constexpr (std::is_integral_v<T>) {
            return integer<T>();
        } else if constexpr (std::is_floating_point_v<T>) {
            return static_cast<T>(f64());
        } else if constexpr (std::is_same_v<T, std::string_view>) {
            return str();
        } else if constexpr (std::is_same_v<T, std::string>) {
            return std::string(str());
        } else if constexpr (std::is_same_v<T, bytes>) {
            return bin();
        } else if constexpr (std::is_same_v<T, Value>) {
            return *this;
        } else {
            static_assert(detail::always_false<T>, "cnode::Value::as<T>: T is not a supported type");
        }
    }

    /* The value under `key` in this map, or nothing when there is no such key. Throws TypeError
       when this is not a map. */
    std::optional<Value> find(std::string_view key) const {
        expect(is_map(), "a map");
        for (uint32_t i = 0; i < o_->via.map.size; i++) {
            const msgpack_object_kv &kv = o_->via.map.ptr[i];
            if (kv.key.type == MSGPACK_OBJECT_STR && std::string_view(kv.key.via.str.ptr, kv.key.via.str.size) == key)
                return Value(&kv.val, path_ + "." + std::string(key));
        }
        return std::nullopt;
    }
    bool has(std::string_view key) const { return find(key).has_value(); }

    /* The value under `key`; throws TypeError when it is missing. */
    Value operator[](std::string_view key) const {
        std::optional<Value> v = find(key);
        if (!v) throw TypeError(path_ + "." + std::string(key) + ": missing");
        return *std::move(v);
    }
    /* Element i of this array; throws TypeError when this is not an array or i is past its end. */
    Value operator[](std::size_t i) const {
        expect(is_array(), "an array");
        if (i >= o_->via.array.size)
            throw TypeError(path_ + ": has " + std::to_string(o_->via.array.size) + " elements, no [" +
                            std::to_string(i) + "]");
        return Value(&o_->via.array.ptr[i], path_ + "[" + std::to_string(i) + "]");
    }
    /* The number of elements of an array, or of pairs of a map. */
    std::size_t size() const {
        if (is_map()) return o_->via.map.size;
        expect(is_array(), "an array or a map");
        return o_->via.array.size;
    }

    /* The elements of this array, in order; throws TypeError when this is not an array. */
    std::vector<Value> elements() const {
        expect(is_array(), "an array");
        std::vector<Value> out;
        out.reserve(o_->via.array.size);
        for (uint32_t i = 0; i < o_->via.array.size; i++)
            out.emplace_back(&o_->via.array.ptr[i], path_ + "[" + std::to_string(i) + "]");
        return out;
    }
    /* The pairs of this map whose keys are strings, in order (others are skipped); throws
       TypeError when this is not a map. */
    std::vector<std::pair<std::string_view, Value>> entries() const {
        expect(is_map(), "a map");
        std::vector<std::pair<std::string_view, Value>> out;
        out.reserve(o_->via.map.size);
        for (uint32_t i = 0; i < o_->via.map.size; i++) {
            const msgpack_object_kv &kv = o_->via.map.ptr[i];
            if (kv.key.type != MSGPACK_OBJECT_STR) continue;
            std::string_view key(kv.key.via.str.ptr, kv.key.via.str.size);
            out.emplace_back(key, Value(&kv.val, path_ + "." + std::string(key)));
        }
        return out;
    }

    /* The field `key` of this map as T; throws TypeError when it is missing or not a T. */
    template <class T> T get(std::string_view key) const { return (*this)[key].template as<T>(); }
    /* The field `key` as T, or `fallback` when it is missing or nil; throws when it is another type. */
    template <class T> T get(std::string_view key, T fallback) const {
        std::optional<Value> v = find(key);
        if (!v || v->is_nil()) return fallback;
        return v->template as<T>();
    }

  private:
    void expect(bool ok, const char *what) const {
        if (!ok) throw TypeError(path_ + ": expected " + what + ", got " + cnode_type_name(o_));
    }
    [[noreturn]] void out_of_range(const std::string &shown) const {
        throw TypeError(path_ + ": " + shown + " is out of range");
    }
    template <class T> T integer() const {
        expect(is_int(), "an integer");
        if (o_->type == MSGPACK_OBJECT_POSITIVE_INTEGER) {
            uint64_t v = o_->via.u64;
            if (v > static_cast<uint64_t>(std::numeric_limits<T>::max())) out_of_range(std::to_string(v));
            return static_cast<T>(v);
        }
        int64_t v = o_->via.i64; /* negative */
        if constexpr (std::is_unsigned_v<T>) {
            out_of_range(std::to_string(v));
        } else {
            if (v < static_cast<int64_t>(std::numeric_limits<T>::min())) out_of_range(std::to_string(v));
            return static_cast<T>(v);
        }
    }

    const msgpack_object *o_;
    std::string path_;
};

/*
 * Packs MessagePack values: into a reply (cnode::Reply) or a message to send (cnode::Message).
 * Each function packs one value, or a header (array(n), map(n)) whose n values follow, and
 * returns *this to chain. Throws cnode::Error (ENOMEM) when the buffer cannot grow.
 */
class Packer {
  public:
    Packer(const Packer &) = delete;
    Packer &operator=(const Packer &) = delete;

    Packer &nil() { return pk_ == nullptr ? *this : check(msgpack_pack_nil(pk_)); }
    Packer &array(uint32_t n) { return pk_ == nullptr ? *this : check(msgpack_pack_array(pk_, n)); }
    Packer &map(uint32_t n) { return pk_ == nullptr ? *this : check(msgpack_pack_map(pk_, n)); }
    /* A binary; into a reply, a big one travels without a copy (cnode_pack_bin). */
    Packer &bin(const void *data, std::size_t size) {
        if (pk_ == nullptr) return *this;
        if (node_ != nullptr) {
            if (cnode_pack_bin(node_, pk_, data, size) < 0) detail::throw_errno("cnode::Packer::bin");
            return *this;
        }
        if (size > std::numeric_limits<uint32_t>::max()) throw Error("cnode::Packer::bin", EMSGSIZE);
        check(msgpack_pack_bin(pk_, size));
        return check(msgpack_pack_bin_body(pk_, data, size));
    }
    Packer &bin(bytes b) { return bin(b.data(), b.size()); }
    /* A copy of a request's value (its binaries without a copy, into a reply). */
    Packer &object(const Value &v) {
        if (pk_ == nullptr) return *this;
        if (node_ != nullptr) {
            if (cnode_pack_object(node_, pk_, v.object()) < 0) detail::throw_errno("cnode::Packer::object");
            return *this;
        }
        return check(msgpack_pack_object(pk_, *v.object()));
    }

    /* One value: nullptr (nil), bool, an integer, a float, anything a std::string_view is made
       from (a string), cnode::bytes (a binary), cnode::Value (a copy), a std::optional (nil when
       empty), a std::pair (an array of two), an associative container with a mapped_type such
       as std::map or std::unordered_map (a map), or another range such as std::vector or
       std::array (an array), their elements packed the same way. */
    template <class T> Packer &pack(const T &v) {
        if (pk_ == nullptr) return *this;
        if constexpr (std::is_same_v<T, std::nullptr_t>) {
            return nil();
        } else if constexpr (std::is_same_v<T, bool>) {
            return check(v ? msgpack_pack_true(pk_) : msgpack_pack_false(pk_));
        } else if constexpr (std::is_integral_v<T> && std::is_signed_v<T>) {
            return check(msgpack_pack_int64(pk_, static_cast<int64_t>(v)));
        } else if constexpr (std::is_integral_v<T>) {
            return check(msgpack_pack_uint64(pk_, static_cast<uint64_t>(v)));
        } else if constexpr (std::is_floating_point_v<T>) {
            return check(msgpack_pack_double(pk_, static_cast<double>(v)));
        } else if constexpr (std::is_convertible_v<const T &, std::string_view>) {
            std::string_view s = v;
            if (s.size() > std::numeric_limits<uint32_t>::max()) throw Error("cnode::Packer::pack", EMSGSIZE);
            check(msgpack_pack_str(pk_, s.size()));
            return check(msgpack_pack_str_body(pk_, s.data(), s.size()));
        } else if constexpr (std::is_same_v<T, bytes>) {
            return bin(v);
        } else if constexpr (std::is_base_of_v<Value, T>) {
            return object(v);
        } else if constexpr (detail::is_range<T>::value) {
            if constexpr (detail::is_map<T>::value) {
                map(length(std::size(v)));
                for (const auto &[key, value] : v) pack(key).pack(value);
            } else {
                array(length(std::size(v)));
                for (const auto &element : v) pack(element);
            }
            return *this;
        } else if constexpr (detail::is_pair<T>::value) {
            return array(2).pack(v.first).pack(v.second);
        } else {
            return pack_optional(v);
        }
    }
    /* A map entry: the key, then its value. */
    template <class K, class V> Packer &entry(const K &key, const V &value) { return pack(key).pack(value); }

    /* The msgpack-c packer, for what this class does not pack (null for a cast's reply). */
    msgpack_packer *raw() const noexcept { return pk_; }

  protected:
    Packer(cnode_t *node, msgpack_packer *pk) noexcept : node_(node), pk_(pk) {}
    ~Packer() = default;
    cnode_t *node_;     /* set for a reply only: cnode_pack_bin's side parts */
    msgpack_packer *pk_; /* null for a cast's reply: everything packed is dropped */

  private:
    Packer &check(int rc) {
        if (rc < 0) throw Error("cnode::Packer", ENOMEM);
        return *this;
    }
    static uint32_t length(std::size_t n) {
        if (n > std::numeric_limits<uint32_t>::max()) throw Error("cnode::Packer::pack", EMSGSIZE);
        return static_cast<uint32_t>(n);
    }
    template <class T> Packer &pack_optional(const std::optional<T> &v) { return v ? pack(*v) : nil(); }
    template <class T> Packer &pack_optional(const T &) {
        static_assert(detail::always_false<T>, "cnode::Packer::pack: T is not a supported type");
        return *this;
    }
};

/* What a handler packs its response into: exactly one value, as in C (none answers nil). For a
   cast, what is packed is dropped (raw() is null). */
class Reply : public Packer {
  public:
    Reply(cnode_t *node, msgpack_packer *pk) noexcept : Packer(node, pk) {}
};

/* A message for Node::send or Node::post: one value packed into a buffer it owns. */
class Message : public Packer {
  public:
    Message() : Packer(nullptr, &packer_) {
        msgpack_sbuffer_init(&buffer_);
        msgpack_packer_init(&packer_, &buffer_, msgpack_sbuffer_write);
    }
    ~Message() { msgpack_sbuffer_destroy(&buffer_); }
    const char *data() const noexcept { return buffer_.data; }
    std::size_t size() const noexcept { return buffer_.size; }

  private:
    msgpack_sbuffer buffer_;
    msgpack_packer packer_;
};

/* The request a handler gets: its root value (path "request"), whether it is a cast, and the
   node, to send, stop or add timers from the handler. */
class Request : public Value {
  public:
    Request(Node &node, const msgpack_object *object, bool cast) : Value(object, "request"), node_(&node), cast_(cast) {}
    Node &node() const noexcept { return *node_; }
    /* A cast (node.send in Node): no one waits for an answer. */
    bool is_cast() const noexcept { return cast_; }

  private:
    Node *node_;
    bool cast_;
};

/* A worker node. See the top of this header. */
class Node {
  public:
    /* Calls cnode_init; throws cnode::Error when it fails (its reason line is on stderr). */
    Node(int argc, char **argv) : state_(std::make_unique<State>()) {
        state_->owner = this;
        state_->node = cnode_init(argc, argv);
        if (state_->node == nullptr) detail::throw_errno("cnode::Node: cnode_init failed (the reason is on stderr)");
    }
    ~Node() { release(); }
    Node(Node &&other) noexcept : state_(std::move(other.state_)) {
        if (state_) state_->owner = this;
    }
    Node &operator=(Node &&other) noexcept {
        if (this != &other) {
            release();
            state_ = std::move(other.state_);
            if (state_) state_->owner = this;
        }
        return *this;
    }
    Node(const Node &) = delete;
    Node &operator=(const Node &) = delete;

    /* The cnode_t, for the C functions this class does not wrap. Owned by the Node. */
    cnode_t *get() const { return live(); }

    /*
     * Runs the loop (cnode_run), calling handler(cnode::Request &, cnode::Reply &) once per call
     * or cast; returns the exit status for main to return. May be called once per node.
     */
    template <class F> int run(F &&handler) {
        static_assert(std::is_invocable_v<F &, Request &, Reply &>,
                      "cnode::Node::run: the handler must be callable as (cnode::Request &, cnode::Reply &)");
        Running<std::remove_reference_t<F>> running{state_.get(), &handler};
        return cnode_run(live(), &s_handle<std::remove_reference_t<F>>, &running);
    }

    /* cnode_stop: run() returns 0 once the current callback returns. */
    void stop() { cnode_stop(live()); }

    std::string_view name() const { return cnode_name(live()); }
    std::string_view alive() const { return cnode_alive(live()); }
    std::string_view host() const { return cnode_host(live()); }
    std::string_view endpoint() const { return cnode_endpoint(live()); }
    unsigned creation() const { return cnode_creation(live()); }
    /* The user's arguments (cnode_argv), owned by the node. */
    std::vector<std::string_view> args() const {
        char *const *argv = cnode_argv(live());
        return std::vector<std::string_view>(argv, argv + cnode_argc(live()));
    }

    /*
     * Sends `value` to the owner at once (cnode_send): a cnode::Message, or any value
     * Packer::pack takes. Throws cnode::Error with cnode_send's errno: ENOTCONN (no owner yet),
     * EHOSTUNREACH (the owner is gone), EMSGSIZE, ENOMEM, EIO.
     */
    template <class T> void send(const T &value) {
        if constexpr (std::is_same_v<T, Message>) {
            if (cnode_send(live(), value.data(), value.size()) < 0) detail::throw_errno("cnode::Node::send");
        } else {
            Message message;
            message.pack(value);
            send(message);
        }
    }
    /* Like send, from any thread (cnode_post); throws cnode::Error with its errno (EAGAIN: full). */
    template <class T> void post(const T &value) {
        if constexpr (std::is_same_v<T, Message>) {
            if (cnode_post(live(), value.data(), value.size()) < 0) detail::throw_errno("cnode::Node::post");
        } else {
            Message message;
            message.pack(value);
            post(message);
        }
    }

    /*
     * Calls fn(cnode::Node &) every `interval` (1 ms to 2^31-1 ms) on the loop (cnode_add_timer).
     * fn returns void, or bool: false cancels the timer. Returns the timer's id, for cancel().
     * Throws cnode::Error: EINVAL (interval out of range), ENOSPC (256 timers).
     */
    template <class F> int every(std::chrono::milliseconds interval, F fn) {
        static_assert(std::is_invocable_v<F &, Node &>, "cnode::Node::every: fn must be callable as (cnode::Node &)");
        cnode_t *n = live();
        if (interval.count() < 1 || interval.count() > std::numeric_limits<int32_t>::max())
            throw Error("cnode::Node::every: the interval must be 1 to 2147483647 ms, got " +
                            std::to_string(interval.count()) + " ms",
                        EINVAL);
        auto timer = std::make_unique<Timer<F>>(std::move(fn));
        timer->state = state_.get();
        timer->timer = true;
        int id = cnode_add_timer(n, static_cast<unsigned>(interval.count()), &s_timer, timer.get());
        if (id < 0) detail::throw_errno("cnode::Node::every");
        timer->id = id;
        try {
            state_->add(state_->timers, std::move(timer));
        } catch (...) { /* out of memory: the library must not keep a pointer to a freed callable */
            cnode_cancel_timer(n, id);
            throw;
        }
        return id;
    }
    /* Cancels a timer every() made; false when there is no such timer (any more). From its own
       callable too: that callable is freed once it returns. */
    bool cancel(int timer_id) {
        cnode_t *n = live();
        auto it = state_->timers.find(timer_id);
        if (it == state_->timers.end()) return false;
        cnode_cancel_timer(n, timer_id);
        state_->drop(state_->timers, it);
        return true;
    }

    /*
     * Calls fn(cnode::Node &, int fd, short revents) whenever fd is ready for `events` (POLLIN,
     * POLLOUT, POLLPRI), level-triggered (cnode_add_fd). fn returns void, or bool: false removes
     * the descriptor. The fd stays the caller's: close it after unwatch(). Throws cnode::Error:
     * EINVAL, EEXIST (watched already), ENOSPC (64 descriptors).
     */
    template <class F> void watch(int fd, short events, F fn) {
        static_assert(std::is_invocable_v<F &, Node &, int, short>,
                      "cnode::Node::watch: fn must be callable as (cnode::Node &, int fd, short revents)");
        cnode_t *n = live();
        auto watcher = std::make_unique<Watcher<F>>(std::move(fn));
        watcher->state = state_.get();
        watcher->id = fd;
        if (cnode_add_fd(n, fd, events, &s_fd, watcher.get()) < 0) {
            int err = errno; /* before the message's allocations */
            throw Error("cnode::Node::watch(fd " + std::to_string(fd) + ")", err);
        }
        try {
            state_->add(state_->fds, std::move(watcher));
        } catch (...) { /* out of memory: the library must not keep a pointer to a freed callable */
            cnode_remove_fd(n, fd);
            throw;
        }
    }
    /* Stops watching fd; false when it is not watched. From its own callable too. */
    bool unwatch(int fd) {
        cnode_t *n = live();
        auto it = state_->fds.find(fd);
        if (it == state_->fds.end()) return false;
        cnode_remove_fd(n, fd);
        state_->drop(state_->fds, it);
        return true;
    }

  private:
    struct State;

    /* A timer's or descriptor's callable, owned by State; fire() returns false to end it. */
    struct Callback {
        virtual ~Callback() = default;
        virtual bool fire(Node &node, int fd, short revents) = 0;
        State *state = nullptr;
        int id = 0;           /* the timer id, or the fd */
        bool timer = false;
        bool running = false; /* inside its callable: freeing it waits until it returns */
    };
    template <class F> struct Timer final : Callback {
        explicit Timer(F f) : fn(std::move(f)) {}
        bool fire(Node &node, int, short) override { return detail::call_keep(fn, node); }
        F fn;
    };
    template <class F> struct Watcher final : Callback {
        explicit Watcher(F f) : fn(std::move(f)) {}
        bool fire(Node &node, int fd, short revents) override { return detail::call_keep(fn, node, fd, revents); }
        F fn;
    };
    using Callbacks = std::map<int, std::unique_ptr<Callback>>;

    /* On the heap, so that the pointers the C library holds survive a move of the Node. */
    struct State {
        cnode_t *node = nullptr;
        Node *owner = nullptr; /* the Node that holds this state now */
        Callbacks timers, fds;
        /* Cancelled or removed from inside their own callable: freed once it returns. */
        std::vector<std::unique_ptr<Callback>> dying;
        /* Frees a callback now, or, when it is running, once it returns. */
        void drop(Callbacks &callbacks, Callbacks::iterator it) {
            if (it->second->running) dying.push_back(std::move(it->second));
            callbacks.erase(it);
        }
        /* Registers a new callback under its id (one that replaces a running one lets it finish). */
        void add(Callbacks &callbacks, std::unique_ptr<Callback> cb) {
            auto it = callbacks.find(cb->id);
            if (it != callbacks.end()) drop(callbacks, it);
            callbacks.emplace(cb->id, std::move(cb));
        }
    };

    template <class F> struct Running {
        State *state;
        F *handler;
    };

    cnode_t *live() const {
        if (!state_ || state_->node == nullptr) throw Error("cnode::Node: a moved-from Node", EINVAL);
        return state_->node;
    }
    void release() noexcept {
        if (!state_) return;
        cnode_destroy(state_->node); /* the C timers and descriptors go with it; then the callables */
        state_.reset();
    }

    static void report(const char *what, const char *reason) noexcept {
        std::fprintf(stderr, "cnode: %s threw: %s\n", what, reason);
    }

    template <class F>
    static int s_handle(cnode_t *node, const msgpack_object *request, msgpack_packer *pk, void *user) noexcept {
        auto *running = static_cast<Running<F> *>(user);
        try {
            Request req(*running->state->owner, request, pk == nullptr);
            Reply reply(node, pk);
            (*running->handler)(req, reply);
            return 0;
        } catch (const Failure &e) {
            return cnode_fail_code(node, e.code().c_str(), "%s", e.what());
        } catch (const std::exception &e) {
            return cnode_fail(node, "%s", e.what());
        } catch (...) {
            return cnode_fail(node, "the handler threw an exception that is not a std::exception");
        }
    }

    /* Runs a callback's callable: 0 goes on, 1 ends it (and frees it), -1 ends run() with
       status 1. */
    static int s_fire(Callback *cb, int fd, short revents) noexcept {
        State *state = cb->state;
        Callbacks &callbacks = cb->timer ? state->timers : state->fds;
        int rc;
        cb->running = true;
        try {
            rc = cb->fire(*state->owner, fd, revents) ? 0 : 1;
        } catch (const std::exception &e) {
            report(cb->timer ? "a timer's callable" : "a descriptor's callable", e.what());
            rc = -1;
        } catch (...) {
            report(cb->timer ? "a timer's callable" : "a descriptor's callable",
                   "an exception that is not a std::exception");
            rc = -1;
        }
        cb->running = false;
        for (auto it = state->dying.begin(); it != state->dying.end(); ++it) {
            if (it->get() != cb) continue;
            state->dying.erase(it); /* cancelled by itself: the library has forgotten it already */
            return rc < 0 ? rc : 0;
        }
        /* The library drops a descriptor that polls POLLNVAL (closed while watched) by itself. */
        if (rc == 1 || (!cb->timer && (revents & POLLNVAL))) {
            auto it = callbacks.find(cb->id);
            if (it != callbacks.end() && it->second.get() == cb) callbacks.erase(it);
            return 1;
        }
        return rc;
    }
    static int s_timer(cnode_t *, void *user) noexcept { return s_fire(static_cast<Callback *>(user), -1, 0); }
    static int s_fd(cnode_t *, int fd, short revents, void *user) noexcept {
        return s_fire(static_cast<Callback *>(user), fd, revents);
    }

    std::unique_ptr<State> state_;
};

} // namespace cnode

#endif /* CNODE_HPP */

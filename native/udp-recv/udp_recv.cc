// mamori's native UDP receiver (bench/collector part b; docs/collection.md, "Receive path").
//
// One native thread owns the collector's UDP sockets, takes datagrams with recvmmsg (up to BATCH per system
// call) and writes each, with its source address and port, into the SharedArrayBuffer ring that
// src/modules/collection/receive-thread.ts describes (same layout as the JavaScript receive thread, so the
// decoder is the same). When the consumer sleeps (control word 3 is 1) the thread clears the flag and asks
// the main thread, through a thread-safe function, to Atomics.notify: V8's Atomics.wait is not a Linux
// futex, so C cannot wake it directly.
//
// JavaScript API:
//   open(ring: Int32Array over the whole SharedArrayBuffer, listeners: [{host, port}] (numeric addresses),
//        receiveBufferBytes, onEvent(kind, code)) -> Receiver
//     throws Error with .code (errno name) and .index (listener) when a socket cannot be bound.
//     onEvent(0) = the consumer must be woken; onEvent(1, code) = a socket error (code: errno name).
//   Receiver.listeners() -> [{address, port, family, receiveBufferBytes}]
//   Receiver.stop() -> takes what the sockets still hold into the ring, closes them, joins the thread.
#include <node_api.h>

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <cstdint>
#include <string>
#include <thread>
#include <vector>

namespace {

constexpr int CONTROL_BYTES = 64;
constexpr int RING_WRITE = 0;
constexpr int RING_READ = 1;
constexpr int RING_DROPPED = 2;
constexpr int RING_SLEEPING = 3;
constexpr uint32_t RING_WRAP = 0xffffffffu;
constexpr uint32_t RECORD_HEADER = 12;
constexpr int BATCH = 64;
constexpr size_t MAX_DATAGRAM = 65536;

struct Listener {
  int fd = -1;
  std::string address;
  int port = 0;
  bool v6 = false;
  int rcvbuf = 0;
};

struct Receiver {
  std::vector<Listener> listeners;
  int stopFd = -1;
  std::thread thread;
  std::atomic<bool> stopping{false};
  bool stopped = false;
  napi_ref ringRef = nullptr;
  napi_threadsafe_function tsfn = nullptr;
  int32_t* ctl = nullptr;
  uint8_t* data = nullptr;
  uint32_t size = 0;
  uint32_t w = 0;
  std::string prevAddr;
};

const char* errnoName(int e) {
  switch (e) {
    case EADDRINUSE: return "EADDRINUSE";
    case EADDRNOTAVAIL: return "EADDRNOTAVAIL";
    case EACCES: return "EACCES";
    case EAFNOSUPPORT: return "EAFNOSUPPORT";
    case EINVAL: return "EINVAL";
    case EPERM: return "EPERM";
    case ENOMEM: return "ENOMEM";
    case ENOBUFS: return "ENOBUFS";
    case EMFILE: return "EMFILE";
    case ECONNREFUSED: return "ECONNREFUSED";
    default: return "EIO";
  }
}

inline uint32_t load32(int32_t* p) { return static_cast<uint32_t>(__atomic_load_n(p, __ATOMIC_SEQ_CST)); }
inline void store32(int32_t* p, uint32_t v) { __atomic_store_n(p, static_cast<int32_t>(v), __ATOMIC_SEQ_CST); }
inline void put32(uint8_t* p, uint32_t v) { memcpy(p, &v, 4); }  // little-endian hosts (x86-64, arm64)

// Writes one record (the JavaScript receive thread's put(), same layout and same full-ring rule).
void put(Receiver* r, const uint8_t* msg, uint32_t msgLen, const std::string& srcAddr, uint16_t srcPort) {
  const bool same = srcAddr == r->prevAddr;
  const uint32_t addrLen = same ? 0 : static_cast<uint32_t>(srcAddr.size());
  const uint32_t len = (RECORD_HEADER + addrLen + msgLen + 3) & ~3u;
  const uint32_t rd = load32(&r->ctl[RING_READ]);
  const uint32_t w = r->w;
  uint32_t at = w;
  if (w >= rd) {
    const uint32_t tail = r->size - w;
    if (len < tail || (len == tail && rd > 0)) {
      at = w;
    } else if (len < rd) {
      put32(r->data + w, RING_WRAP);
      at = 0;
    } else {
      __atomic_fetch_add(&r->ctl[RING_DROPPED], 1, __ATOMIC_SEQ_CST);
      return;
    }
  } else if (w + len >= rd) {
    __atomic_fetch_add(&r->ctl[RING_DROPPED], 1, __ATOMIC_SEQ_CST);
    return;
  }
  uint8_t* p = r->data + at;
  put32(p, len);
  put32(p + 4, msgLen);
  p[8] = static_cast<uint8_t>(srcPort & 0xff);
  p[9] = static_cast<uint8_t>(srcPort >> 8);
  p[10] = static_cast<uint8_t>(addrLen);
  p[11] = 0;
  if (addrLen > 0) memcpy(p + RECORD_HEADER, srcAddr.data(), addrLen);
  memcpy(p + RECORD_HEADER + addrLen, msg, msgLen);
  r->w = at + len == r->size ? 0 : at + len;
  if (!same) r->prevAddr = srcAddr;
}

// Makes the records written so far visible to the consumer, and wakes it if it sleeps.
void publish(Receiver* r) {
  store32(&r->ctl[RING_WRITE], r->w);
  int32_t one = 1;
  if (__atomic_load_n(&r->ctl[RING_SLEEPING], __ATOMIC_SEQ_CST) == 1 &&
      __atomic_compare_exchange_n(&r->ctl[RING_SLEEPING], &one, 0, false, __ATOMIC_SEQ_CST, __ATOMIC_SEQ_CST)) {
    napi_call_threadsafe_function(r->tsfn, nullptr, napi_tsfn_nonblocking);
  }
}

std::string formatAddr(const sockaddr_storage& ss, uint16_t* port) {
  char buf[INET6_ADDRSTRLEN] = {0};
  if (ss.ss_family == AF_INET6) {
    const auto* a = reinterpret_cast<const sockaddr_in6*>(&ss);
    inet_ntop(AF_INET6, &a->sin6_addr, buf, sizeof buf);
    *port = ntohs(a->sin6_port);
  } else {
    const auto* a = reinterpret_cast<const sockaddr_in*>(&ss);
    inet_ntop(AF_INET, &a->sin_addr, buf, sizeof buf);
    *port = ntohs(a->sin_port);
  }
  return buf;
}

void run(Receiver* r) {
  std::vector<uint8_t> bufs(static_cast<size_t>(BATCH) * MAX_DATAGRAM);
  mmsghdr msgs[BATCH];
  iovec iovs[BATCH];
  sockaddr_storage addrs[BATCH];
  const size_t n = r->listeners.size();
  std::vector<pollfd> fds(n + 1);
  for (size_t i = 0; i < n; i++) fds[i] = {r->listeners[i].fd, POLLIN, 0};
  fds[n] = {r->stopFd, POLLIN, 0};
  std::string addr;
  // Takes what a socket holds now, without waiting; returns false when it reported an error.
  auto takeAll = [&](const Listener& l) {
    for (;;) {
      for (int i = 0; i < BATCH; i++) {
        iovs[i] = {bufs.data() + static_cast<size_t>(i) * MAX_DATAGRAM, MAX_DATAGRAM};
        memset(&msgs[i].msg_hdr, 0, sizeof msgs[i].msg_hdr);
        msgs[i].msg_hdr.msg_name = &addrs[i];
        msgs[i].msg_hdr.msg_namelen = sizeof addrs[i];
        msgs[i].msg_hdr.msg_iov = &iovs[i];
        msgs[i].msg_hdr.msg_iovlen = 1;
      }
      const int got = recvmmsg(l.fd, msgs, BATCH, MSG_DONTWAIT, nullptr);
      if (got < 0) {
        if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR) return;
        const int e = errno;
        napi_call_threadsafe_function(r->tsfn, reinterpret_cast<void*>(static_cast<intptr_t>(e)), napi_tsfn_nonblocking);
        return;
      }
      for (int i = 0; i < got; i++) {
        uint16_t port = 0;
        addr = formatAddr(addrs[i], &port);
        put(r, static_cast<const uint8_t*>(iovs[i].iov_base), msgs[i].msg_len, addr, port);
      }
      publish(r);
      if (got < BATCH) return;
    }
  };
  while (!r->stopping.load()) {
    const int ready = poll(fds.data(), fds.size(), -1);
    if (ready < 0) continue;  // EINTR
    for (size_t i = 0; i < n; i++) {
      if (fds[i].revents != 0) takeAll(r->listeners[i]);
    }
  }
  // Stopping: whatever the sockets received before they close goes into the ring too.
  for (size_t i = 0; i < n; i++) takeAll(r->listeners[i]);
}

napi_value throwErrno(napi_env env, int e, int index, const std::string& what) {
  napi_value msg, code, err, idx;
  std::string text = what + ": " + strerror(e);
  napi_create_string_utf8(env, text.c_str(), text.size(), &msg);
  napi_create_string_utf8(env, errnoName(e), NAPI_AUTO_LENGTH, &code);
  napi_create_error(env, code, msg, &err);
  napi_create_int32(env, index, &idx);
  napi_set_named_property(env, err, "index", idx);
  napi_throw(env, err);
  return nullptr;
}

void closeAll(Receiver* r) {
  for (auto& l : r->listeners) {
    if (l.fd >= 0) close(l.fd);
    l.fd = -1;
  }
  if (r->stopFd >= 0) close(r->stopFd);
  r->stopFd = -1;
}

void stopReceiver(napi_env env, Receiver* r) {
  if (r->stopped) return;
  r->stopped = true;
  r->stopping.store(true);
  uint64_t one = 1;
  if (write(r->stopFd, &one, sizeof one) < 0) { /* the thread also sees `stopping` at its next wakeup */ }
  if (r->thread.joinable()) r->thread.join();
  closeAll(r);
  if (r->tsfn != nullptr) napi_release_threadsafe_function(r->tsfn, napi_tsfn_release);
  r->tsfn = nullptr;
  if (r->ringRef != nullptr && env != nullptr) napi_delete_reference(env, r->ringRef);
  r->ringRef = nullptr;
}

void callJs(napi_env env, napi_value cb, void*, void* data) {
  if (env == nullptr || cb == nullptr) return;
  const int e = static_cast<int>(reinterpret_cast<intptr_t>(data));
  napi_value argv[2], undefined;
  napi_get_undefined(env, &undefined);
  napi_create_int32(env, e == 0 ? 0 : 1, &argv[0]);
  if (e == 0) argv[1] = undefined;
  else napi_create_string_utf8(env, errnoName(e), NAPI_AUTO_LENGTH, &argv[1]);
  napi_call_function(env, undefined, cb, 2, argv, nullptr);
}

Receiver* unwrap(napi_env env, napi_callback_info info) {
  napi_value self;
  napi_get_cb_info(env, info, nullptr, nullptr, &self, nullptr);
  void* p = nullptr;
  napi_unwrap(env, self, &p);
  return static_cast<Receiver*>(p);
}

napi_value Stop(napi_env env, napi_callback_info info) {
  Receiver* r = unwrap(env, info);
  if (r != nullptr) stopReceiver(env, r);
  return nullptr;
}

napi_value Listeners(napi_env env, napi_callback_info info) {
  Receiver* r = unwrap(env, info);
  napi_value arr;
  napi_create_array(env, &arr);
  if (r == nullptr) return arr;
  for (size_t i = 0; i < r->listeners.size(); i++) {
    const Listener& l = r->listeners[i];
    napi_value o, v;
    napi_create_object(env, &o);
    napi_create_string_utf8(env, l.address.c_str(), l.address.size(), &v);
    napi_set_named_property(env, o, "address", v);
    napi_create_int32(env, l.port, &v);
    napi_set_named_property(env, o, "port", v);
    napi_create_string_utf8(env, l.v6 ? "IPv6" : "IPv4", NAPI_AUTO_LENGTH, &v);
    napi_set_named_property(env, o, "family", v);
    napi_create_int32(env, l.rcvbuf, &v);
    napi_set_named_property(env, o, "receiveBufferBytes", v);
    napi_set_element(env, arr, static_cast<uint32_t>(i), o);
  }
  return arr;
}

void finalize(napi_env env, void* p, void*) {
  auto* r = static_cast<Receiver*>(p);
  stopReceiver(env, r);
  delete r;
}

std::string getString(napi_env env, napi_value v) {
  size_t len = 0;
  if (napi_get_value_string_utf8(env, v, nullptr, 0, &len) != napi_ok) return "";
  std::string s(len, '\0');
  napi_get_value_string_utf8(env, v, s.data(), len + 1, &len);
  return s;
}

napi_value Open(napi_env env, napi_callback_info info) {
  size_t argc = 4;
  napi_value argv[4];
  napi_get_cb_info(env, info, &argc, argv, nullptr, nullptr);
  if (argc < 4) {
    napi_throw_type_error(env, nullptr, "open(ring, listeners, receiveBufferBytes, onEvent)");
    return nullptr;
  }
  napi_typedarray_type type;
  size_t length = 0, offset = 0;
  void* base = nullptr;
  napi_value ab;
  if (napi_get_typedarray_info(env, argv[0], &type, &length, &base, &ab, &offset) != napi_ok || type != napi_int32_array ||
      length * 4 <= CONTROL_BYTES + 1024 || (length * 4) % 4 != 0) {
    napi_throw_type_error(env, nullptr, "ring must be an Int32Array over the whole ring");
    return nullptr;
  }
  int32_t rcvbuf = 0;
  napi_get_value_int32(env, argv[2], &rcvbuf);
  uint32_t count = 0;
  napi_get_array_length(env, argv[1], &count);

  auto* r = new Receiver();
  r->ctl = static_cast<int32_t*>(base);
  r->data = static_cast<uint8_t*>(base) + CONTROL_BYTES;
  r->size = static_cast<uint32_t>(length * 4 - CONTROL_BYTES);
  r->w = load32(&r->ctl[RING_WRITE]);
  for (uint32_t i = 0; i < count; i++) {
    napi_value item, hv, pv;
    napi_get_element(env, argv[1], i, &item);
    napi_get_named_property(env, item, "host", &hv);
    napi_get_named_property(env, item, "port", &pv);
    std::string host = getString(env, hv);
    int32_t port = 0;
    napi_get_value_int32(env, pv, &port);
    sockaddr_storage ss{};
    socklen_t slen;
    Listener l;
    if (inet_pton(AF_INET6, host.c_str(), &reinterpret_cast<sockaddr_in6*>(&ss)->sin6_addr) == 1) {
      auto* a = reinterpret_cast<sockaddr_in6*>(&ss);
      a->sin6_family = AF_INET6;
      a->sin6_port = htons(static_cast<uint16_t>(port));
      slen = sizeof *a;
      l.v6 = true;
    } else if (inet_pton(AF_INET, host.c_str(), &reinterpret_cast<sockaddr_in*>(&ss)->sin_addr) == 1) {
      auto* a = reinterpret_cast<sockaddr_in*>(&ss);
      a->sin_family = AF_INET;
      a->sin_port = htons(static_cast<uint16_t>(port));
      slen = sizeof *a;
    } else {
      closeAll(r);
      delete r;
      return throwErrno(env, EINVAL, static_cast<int>(i), "not a numeric address: " + host);
    }
    l.fd = socket(l.v6 ? AF_INET6 : AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    if (l.fd < 0) {
      const int e = errno;
      closeAll(r);
      delete r;
      return throwErrno(env, e, static_cast<int>(i), "socket");
    }
    if (rcvbuf > 0) {
      // SO_RCVBUFFORCE passes net.core.rmem_max when the process may (CAP_NET_ADMIN); otherwise SO_RCVBUF, capped.
      if (setsockopt(l.fd, SOL_SOCKET, SO_RCVBUFFORCE, &rcvbuf, sizeof rcvbuf) != 0) {
        setsockopt(l.fd, SOL_SOCKET, SO_RCVBUF, &rcvbuf, sizeof rcvbuf);
      }
    }
    r->listeners.push_back(l);
    Listener& lr = r->listeners.back();
    if (bind(lr.fd, reinterpret_cast<sockaddr*>(&ss), slen) != 0) {
      const int e = errno;
      closeAll(r);
      delete r;
      return throwErrno(env, e, static_cast<int>(i), "bind " + host);
    }
    sockaddr_storage got{};
    socklen_t glen = sizeof got;
    getsockname(lr.fd, reinterpret_cast<sockaddr*>(&got), &glen);
    uint16_t gp = 0;
    lr.address = formatAddr(got, &gp);
    lr.port = gp;
    socklen_t olen = sizeof lr.rcvbuf;
    getsockopt(lr.fd, SOL_SOCKET, SO_RCVBUF, &lr.rcvbuf, &olen);
  }
  r->stopFd = eventfd(0, EFD_CLOEXEC);
  if (r->stopFd < 0) {
    const int e = errno;
    closeAll(r);
    delete r;
    return throwErrno(env, e, -1, "eventfd");
  }
  napi_value name;
  napi_create_string_utf8(env, "mamori-udp-recv", NAPI_AUTO_LENGTH, &name);
  if (napi_create_threadsafe_function(env, argv[3], nullptr, name, 0, 1, nullptr, nullptr, nullptr, callJs, &r->tsfn) != napi_ok) {
    closeAll(r);
    delete r;
    napi_throw_error(env, nullptr, "cannot create the wake-up function");
    return nullptr;
  }
  napi_create_reference(env, argv[0], 1, &r->ringRef);

  napi_value obj, fn;
  napi_create_object(env, &obj);
  napi_create_function(env, "stop", NAPI_AUTO_LENGTH, Stop, nullptr, &fn);
  napi_set_named_property(env, obj, "stop", fn);
  napi_create_function(env, "listeners", NAPI_AUTO_LENGTH, Listeners, nullptr, &fn);
  napi_set_named_property(env, obj, "listeners", fn);
  napi_wrap(env, obj, r, finalize, nullptr, nullptr);
  r->thread = std::thread(run, r);
  return obj;
}

napi_value Init(napi_env env, napi_value exports) {
  napi_value fn;
  napi_create_function(env, "open", NAPI_AUTO_LENGTH, Open, nullptr, &fn);
  napi_set_named_property(env, exports, "open", fn);
  return exports;
}

}  // namespace

NAPI_MODULE(NODE_GYP_MODULE_NAME, Init)

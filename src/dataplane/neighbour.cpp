#include "neighbour.hpp"

#include <rte_errno.h>
#include <rte_jhash.h>

#include <stdexcept>

namespace relay {

namespace {

uint64_t pack(const Mac &m, uint64_t flags)
{
    uint64_t w = 0;
    for (uint8_t b : m)
        w = w << 8 | b;
    return w << 16 | flags;
}

Mac unpack(uint64_t w)
{
    Mac m;
    w >>= 16;
    for (int i = 5; i >= 0; i--, w >>= 8)
        m[size_t(i)] = static_cast<uint8_t>(w);
    return m;
}

constexpr unsigned ring_size = 1024;

} // namespace

NeighbourTable::NeighbourTable(uint32_t capacity)
    : slots_(new Slot[capacity])
{
    static std::atomic<unsigned> serial{0};
    const unsigned n = serial++;
    const std::string hname = "relay_neigh" + std::to_string(n);
    rte_hash_parameters p{};
    p.name = hname.c_str();
    p.entries = capacity;
    p.key_len = sizeof(Ipv4);
    p.hash_func = rte_jhash;
    p.socket_id = SOCKET_ID_ANY;
    p.extra_flag = RTE_HASH_EXTRA_FLAGS_RW_CONCURRENCY_LF;
    hash_ = rte_hash_create(&p);
    if (!hash_)
        throw std::runtime_error("neighbour table: cannot create: " +
                                 std::string(rte_strerror(rte_errno)));
    const std::string rname = "relay_arp" + std::to_string(n);
    ring_ = rte_ring_create_elem(rname.c_str(), sizeof(NeighbourUpdate), ring_size, SOCKET_ID_ANY,
                                 RING_F_SC_DEQ);
    if (!ring_) {
        rte_hash_free(hash_);
        throw std::runtime_error("neighbour ring: cannot create: " +
                                 std::string(rte_strerror(rte_errno)));
    }
}

NeighbourTable::~NeighbourTable()
{
    rte_ring_free(ring_);
    rte_hash_free(hash_);
}

bool NeighbourTable::lookup(Ipv4 address, Mac &mac, uint32_t now, uint32_t &age) const
{
    const int32_t pos = rte_hash_lookup(hash_, &address);
    if (pos < 0)
        return false;
    const Slot &s = slots_[pos];
    const uint64_t w = s.word.load(std::memory_order_acquire);
    if (!(w & valid))
        return false;
    mac = unpack(w);
    const uint32_t c = s.confirmed.load(std::memory_order_relaxed);
    age = (w & is_static_flag) || now < c ? 0 : now - c;
    return true;
}

bool NeighbourTable::set(Ipv4 address, uint16_t port, const Mac &mac, uint32_t now,
                         bool is_static, bool create)
{
    int32_t pos = rte_hash_lookup(hash_, &address);
    if (pos < 0) {
        if (!create)
            return false;
        // The slot an add will use is only known after the add; fill it right
        // after (readers see `valid` unset until then).
        pos = rte_hash_add_key(hash_, &address);
        if (pos < 0)
            return false;
        slots_[pos].address = address;
    }
    Slot &s = slots_[pos];
    if ((s.word.load(std::memory_order_relaxed) & is_static_flag) && !is_static)
        return true; // a static entry is not overridden by what the wire says
    s.port.store(port, std::memory_order_relaxed);
    s.confirmed.store(now, std::memory_order_relaxed);
    s.word.store(pack(mac, valid | (is_static ? is_static_flag : 0)), std::memory_order_release);
    return true;
}

void NeighbourTable::apply_updates(uint32_t now)
{
    NeighbourUpdate u[32];
    unsigned n;
    while ((n = rte_ring_sc_dequeue_burst_elem(ring_, u, sizeof u[0], 32, nullptr)) > 0)
        for (unsigned i = 0; i < n; i++)
            set(u[i].address, u[i].port, u[i].mac, now, false, u[i].create);
}

void NeighbourTable::expire(uint32_t now, uint32_t max_age)
{
    const void *key;
    void *data;
    uint32_t iter = 0;
    int32_t pos;
    while ((pos = rte_hash_iterate(hash_, &key, &data, &iter)) >= 0) {
        Slot &s = slots_[pos];
        const uint64_t w = s.word.load(std::memory_order_relaxed);
        if ((w & valid) && !(w & is_static_flag) &&
            now - s.confirmed.load(std::memory_order_relaxed) > max_age)
            s.word.store(w & ~valid, std::memory_order_release);
    }
}

std::vector<NeighbourTable::Entry> NeighbourTable::dump(uint32_t now) const
{
    std::vector<Entry> out;
    const void *key;
    void *data;
    uint32_t iter = 0;
    int32_t pos;
    while ((pos = rte_hash_iterate(hash_, &key, &data, &iter)) >= 0) {
        const Slot &s = slots_[pos];
        const uint64_t w = s.word.load(std::memory_order_acquire);
        if (!(w & valid))
            continue;
        const uint32_t c = s.confirmed.load(std::memory_order_relaxed);
        out.push_back({s.address, unpack(w), s.port.load(std::memory_order_relaxed),
                       bool(w & is_static_flag), (w & is_static_flag) || now < c ? 0 : now - c});
    }
    return out;
}

} // namespace relay

#include "relay_table.hpp"


namespace relay {

namespace {

// Waiting on another writer: a hint to the core, never a syscall, since this
// runs on worker lcores.
inline void cpu_relax()
{
#if defined(__x86_64__) || defined(__i386__)
    __builtin_ia32_pause();
#elif defined(__aarch64__)
    asm volatile("yield");
#endif
}

uint64_t pack0(const Endpoint &e)
{
    return uint64_t(e.addr) << 32 | uint64_t(e.port) << 16 | e.ifport;
}

uint64_t pack1(const Endpoint &e)
{
    uint64_t m = 0;
    for (uint8_t byte : e.mac)
        m = m << 8 | byte;
    return m << 16 | e.local;
}

Endpoint unpack(uint64_t w0, uint64_t w1)
{
    Endpoint e;
    e.addr = static_cast<Ipv4>(w0 >> 32);
    e.port = static_cast<uint16_t>(w0 >> 16);
    e.ifport = static_cast<uint16_t>(w0);
    e.local = static_cast<uint16_t>(w1);
    uint64_t m = w1 >> 16;
    for (int i = 5; i >= 0; i--, m >>= 8)
        e.mac[size_t(i)] = static_cast<uint8_t>(m);
    return e;
}

} // namespace

RelayTable::RelayTable(uint32_t size, uint8_t initial_state)
    : size_(size), entries_(new Entry[size])
{
    for (uint32_t i = 0; i < size; i++)
        entries_[i].state.store(initial_state, std::memory_order_relaxed);
}

RelaySnapshot RelayTable::read(uint32_t idx) const
{
    const Entry &e = entries_[idx];
    RelaySnapshot s;
    for (;;) {
        uint32_t seq = e.seq.load(std::memory_order_acquire);
        if (seq & 1) {
            cpu_relax();
            continue;
        }
        // Acquire loads keep the second load of seq after them; a fence would
        // do the same, but ThreadSanitizer does not model fences (and GCC
        // refuses them under -fsanitize=thread). On x86 both are plain moves.
        s.state = static_cast<uint8_t>(e.state.load(std::memory_order_acquire));
        uint64_t a0 = e.a0.load(std::memory_order_acquire);
        uint64_t a1 = e.a1.load(std::memory_order_acquire);
        uint64_t b0 = e.b0.load(std::memory_order_acquire);
        uint64_t b1 = e.b1.load(std::memory_order_acquire);
        if (e.seq.load(std::memory_order_relaxed) != seq)
            continue;
        s.a = unpack(a0, a1);
        s.b = unpack(b0, b1);
        break;
    }
    s.seen_a = e.seen_a.load(std::memory_order_relaxed);
    s.seen_b = e.seen_b.load(std::memory_order_relaxed);
    return s;
}

uint32_t RelayTable::lock(Entry &e)
{
    uint32_t seq = e.seq.load(std::memory_order_relaxed);
    for (;;) {
        if (!(seq & 1) &&
            e.seq.compare_exchange_weak(seq, seq + 1, std::memory_order_acquire,
                                        std::memory_order_relaxed))
            break;
        cpu_relax();
        seq = e.seq.load(std::memory_order_relaxed);
    }
    return seq;
}

// Release stores: a reader that sees any of them also sees the odd seq that
// the lock stored before them, so it retries.
void RelayTable::store(Entry &e, uint8_t state, const Endpoint &a, const Endpoint &b)
{
    e.state.store(state, std::memory_order_release);
    e.a0.store(pack0(a), std::memory_order_release);
    e.a1.store(pack1(a), std::memory_order_release);
    e.b0.store(pack0(b), std::memory_order_release);
    e.b1.store(pack1(b), std::memory_order_release);
}

LearnResult RelayTable::learn(uint32_t idx, const Endpoint &src, uint32_t now)
{
    Entry &e = entries_[idx];
    uint32_t seq = lock(e);
    uint8_t st = static_cast<uint8_t>(e.state.load(std::memory_order_relaxed));
    Endpoint a = unpack(e.a0.load(std::memory_order_relaxed), e.a1.load(std::memory_order_relaxed));
    Endpoint b = unpack(e.b0.load(std::memory_order_relaxed), e.b1.load(std::memory_order_relaxed));
    int match = a.known() && a.same_peer(src.addr, src.port)   ? 1
                : b.known() && b.same_peer(src.addr, src.port) ? 2
                                                               : 0;
    LearnResult r{learn_reset_mode(st, match), {}};
    switch (r.outcome) {
    case Learn::drop_disabled:
    case Learn::from_a_alone:
        break;
    case Learn::learned_a:
    case Learn::reset:
        a = src;
        b = Endpoint{};
        e.seen_a.store(now, std::memory_order_relaxed);
        break;
    case Learn::learned_b:
        b = src;
        r.to = a;
        e.seen_b.store(now, std::memory_order_relaxed);
        break;
    case Learn::to_b:
        r.to = b;
        break;
    case Learn::to_a:
        r.to = a;
        break;
    }
    store(e, state_after_learn(st, r.outcome), a, b);
    unlock(e, seq);
    return r;
}

uint8_t RelayTable::write_state(uint32_t idx, uint8_t value)
{
    Entry &e = entries_[idx];
    uint32_t seq = lock(e);
    uint8_t st = state_after_write(static_cast<uint8_t>(e.state.load(std::memory_order_relaxed)),
                                   value);
    Endpoint a, b;
    uint8_t level = st & state::set_mask;
    if (level >= state::set1)
        a = unpack(e.a0.load(std::memory_order_relaxed), e.a1.load(std::memory_order_relaxed));
    if (level == state::set2)
        b = unpack(e.b0.load(std::memory_order_relaxed), e.b1.load(std::memory_order_relaxed));
    store(e, st, a, b);
    unlock(e, seq);
    return st;
}

} // namespace relay

#include "relay_table.hpp"

namespace relay {

namespace {

Endpoint unpack(uint64_t w0, uint64_t w1) { return PackedEndpoint{w0, w1}.unpack(); }

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
    const PackedEndpoint pa = PackedEndpoint::pack(a), pb = PackedEndpoint::pack(b);
    e.state.store(state, std::memory_order_release);
    e.a0.store(pa.w0, std::memory_order_release);
    e.a1.store(pa.w1, std::memory_order_release);
    e.b0.store(pb.w0, std::memory_order_release);
    e.b1.store(pb.w1, std::memory_order_release);
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

int RelayTable::expire(uint32_t idx, uint32_t now, uint32_t timeout)
{
    Entry &e = entries_[idx];
    auto idle = [now, timeout](const std::atomic<uint32_t> &seen) {
        const uint32_t t = seen.load(std::memory_order_relaxed);
        return now >= t && now - t >= timeout;
    };
    // Most entries are busy or empty: look before taking the lock.
    const uint8_t level = e.state.load(std::memory_order_acquire) & state::set_mask;
    if (level < state::set1 || (!idle(e.seen_a) && (level == state::set1 || !idle(e.seen_b))))
        return 0;

    const uint32_t seq = lock(e);
    const uint8_t st = static_cast<uint8_t>(e.state.load(std::memory_order_relaxed));
    Endpoint a = unpack(e.a0.load(std::memory_order_relaxed), e.a1.load(std::memory_order_relaxed));
    Endpoint b = unpack(e.b0.load(std::memory_order_relaxed), e.b1.load(std::memory_order_relaxed));
    const bool has_b = (st & state::set_mask) == state::set2;
    const bool drop_a = (st & state::set_mask) >= state::set1 && idle(e.seen_a);
    const bool drop_b = has_b && idle(e.seen_b);
    uint8_t out = st;
    int forgotten = int(drop_a) + int(drop_b);
    if (drop_a && (drop_b || !has_b)) {
        out = state::set0;
        a = b = Endpoint{};
    } else if (drop_a) { // B stays, as the only endpoint: A
        out = static_cast<uint8_t>(state::set1 | (st & state::active2 ? state::active1 : 0));
        a = b;
        b = Endpoint{};
        e.seen_a.store(e.seen_b.load(std::memory_order_relaxed), std::memory_order_relaxed);
    } else if (drop_b) {
        out = static_cast<uint8_t>(state::set1 | (st & state::active1));
        b = Endpoint{};
    }
    if (forgotten)
        store(e, out, a, b);
    unlock(e, seq, forgotten != 0);
    return forgotten;
}

bool RelayTable::restore(uint32_t idx, const RelaySnapshot &s, uint32_t expected)
{
    Entry &e = entries_[idx];
    const uint32_t seq = lock(e);
    const bool write = expected == any_version || seq == expected;
    if (write) {
        store(e, s.state, s.a, s.b);
        e.seen_a.store(s.seen_a, std::memory_order_relaxed);
        e.seen_b.store(s.seen_b, std::memory_order_relaxed);
    }
    unlock(e, seq, write);
    return write;
}

} // namespace relay

#include "relay_table.hpp"

#include <algorithm>

namespace relay {

namespace {

Endpoint unpack(uint64_t w0, uint64_t w1) { return PackedEndpoint{w0, w1}.unpack(); }

} // namespace

RelayTable::RelayTable(uint32_t size, uint8_t initial_state)
    : size_(size), entries_(size), cold_(size)
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
    const bool both = (state & state::set_mask) == state::set2;
    e.from_a.store(both && (state & state::active2) ? header_peer(a) : no_peer,
                   std::memory_order_release);
    e.from_b.store(both && (state & state::active1) ? header_peer(b) : no_peer,
                   std::memory_order_release);
}

LearnResult RelayTable::learn(uint32_t idx, const Endpoint &src, LearnClock now,
                              const LearnPolicy &policy)
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
    if (r.outcome == Learn::reset)
        r.outcome = third_endpoint(idx, src, now, policy);
    switch (r.outcome) {
    case Learn::drop_disabled:
    case Learn::from_a_alone:
    case Learn::refused_strict:
    case Learn::reset_limited:
    case Learn::probation_started:
    case Learn::probation:
        break;
    case Learn::learned_a:
    case Learn::reset:
        a = src;
        b = Endpoint{};
        e.seen_a.store(now.s, std::memory_order_relaxed);
        break;
    case Learn::learned_b:
        b = src;
        r.to = a;
        e.seen_b.store(now.s, std::memory_order_relaxed);
        break;
    case Learn::to_b:
        r.to = b;
        break;
    case Learn::to_a:
        r.to = a;
        break;
    case Learn::replaced_a:
        a = src;
        r.to = b;
        e.seen_a.store(now.s, std::memory_order_relaxed);
        break;
    case Learn::replaced_b:
        b = src;
        r.to = a;
        e.seen_b.store(now.s, std::memory_order_relaxed);
        break;
    }
    const uint8_t next = state_after_learn(st, r.outcome);
    const bool wrote = next != st || r.outcome == Learn::learned_a || r.outcome == Learn::reset ||
                       r.outcome == Learn::replaced_a || r.outcome == Learn::replaced_b;
    if (wrote)
        store(e, next, a, b);
    unlock(e, seq, wrote);
    return r;
}

// Under the entry's lock. Reset mode, and strict or probation with a learning
// window open, reset the port; strict refuses. Probation counts the source's
// packets towards replacing the endpoint silent longest, which must have said
// nothing since the second before the source's first packet (activity is
// stamped to the second): while it speaks, the count starts over, so a live
// call is never taken over. Resets and replacements both wait reset_interval
// after the last one.
Learn RelayTable::third_endpoint(uint32_t idx, const Endpoint &src, LearnClock now,
                                 const LearnPolicy &policy)
{
    Cold &c = cold_[idx];
    const Entry &e = entries_[idx];
    const uint32_t last = c.last_reset.load(std::memory_order_relaxed);
    const bool limited = policy.reset_interval && last && now.s - last < policy.reset_interval;
    const bool window = window_open(idx, now.s);
    if (policy.mode == LearningMode::strict && !window)
        return Learn::refused_strict;
    if (policy.mode == LearningMode::reset || window) {
        if (limited)
            return Learn::reset_limited;
        c.last_reset.store(now.s, std::memory_order_relaxed);
        c.candidate.store(0, std::memory_order_relaxed);
        return Learn::reset;
    }

    const uint64_t peer = PackedEndpoint::peer(src.addr, src.port);
    const uint32_t seen_a = e.seen_a.load(std::memory_order_relaxed);
    const uint32_t seen_b = e.seen_b.load(std::memory_order_relaxed);
    const uint8_t victim = c.victim.load(std::memory_order_relaxed);
    const uint32_t victim_seen = victim == 1 ? seen_a : seen_b;
    auto start = [&] {
        const uint8_t v = seen_a <= seen_b ? 1 : 2;
        c.candidate.store(peer, std::memory_order_relaxed);
        c.candidate_since_ms.store(now.ms, std::memory_order_relaxed);
        c.candidate_since_s.store(now.s, std::memory_order_relaxed);
        c.candidate_packets.store(1, std::memory_order_relaxed);
        c.victim.store(v, std::memory_order_relaxed);
        c.victim_seen.store(v == 1 ? seen_a : seen_b, std::memory_order_relaxed);
        return Learn::probation_started;
    };
    // A new candidate, or the endpoint it would replace spoke: start over.
    if (c.candidate.load(std::memory_order_relaxed) != peer || victim == 0 ||
        victim_seen != c.victim_seen.load(std::memory_order_relaxed))
        return start();
    const uint16_t packets = c.candidate_packets.load(std::memory_order_relaxed);
    if (packets < UINT16_MAX)
        c.candidate_packets.store(static_cast<uint16_t>(packets + 1), std::memory_order_relaxed);
    if (packets + 1u < policy.probation_packets ||
        now.ms - c.candidate_since_ms.load(std::memory_order_relaxed) < policy.probation_ms)
        return Learn::probation;
    // It may have spoken in the same second as the first packet: unknown,
    // so count again from now, when that second is over.
    if (victim_seen >= c.candidate_since_s.load(std::memory_order_relaxed))
        return start();
    if (limited)
        return Learn::reset_limited;
    c.last_reset.store(now.s, std::memory_order_relaxed);
    c.candidate.store(0, std::memory_order_relaxed);
    return victim == 1 ? Learn::replaced_a : Learn::replaced_b;
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

int RelayTable::expire(uint32_t idx, uint32_t now, uint32_t timeout, Endpoint *forgotten)
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
    const int count = int(drop_a) + int(drop_b);
    if (forgotten) {
        forgotten[0] = drop_a ? a : Endpoint{};
        forgotten[1] = drop_b ? b : Endpoint{};
    }
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
    if (count)
        store(e, out, a, b);
    unlock(e, seq, count != 0);
    return count;
}

void RelayTable::carry_learning(uint32_t idx, RelayTable &from, uint32_t from_idx)
{
    // Both entries' locks, the old one first: workers take one lock at a
    // time, and only the control side takes two. Neither write changes an
    // endpoint, so neither version moves.
    Entry &fe = from.entries_[from_idx];
    Entry &e = entries_[idx];
    const uint32_t from_seq = from.lock(fe);
    const uint32_t seq = lock(e);
    const Cold &f = from.cold_[from_idx];
    Cold &c = cold_[idx];
    auto later = [](std::atomic<uint32_t> &to, const std::atomic<uint32_t> &v) {
        to.store(std::max(to.load(std::memory_order_relaxed), v.load(std::memory_order_relaxed)),
                 std::memory_order_relaxed);
    };
    later(c.window_until, f.window_until);
    later(c.last_reset, f.last_reset);
    const uint64_t candidate = f.candidate.load(std::memory_order_relaxed);
    const uint64_t own = c.candidate.load(std::memory_order_relaxed);
    if (candidate != 0 &&
        (own == 0 || (own == candidate && c.candidate_packets.load(std::memory_order_relaxed) <
                                              f.candidate_packets.load(std::memory_order_relaxed)))) {
        c.candidate.store(candidate, std::memory_order_relaxed);
        c.candidate_since_ms.store(f.candidate_since_ms.load(std::memory_order_relaxed),
                                   std::memory_order_relaxed);
        c.candidate_since_s.store(f.candidate_since_s.load(std::memory_order_relaxed),
                                  std::memory_order_relaxed);
        c.victim_seen.store(f.victim_seen.load(std::memory_order_relaxed),
                            std::memory_order_relaxed);
        c.candidate_packets.store(f.candidate_packets.load(std::memory_order_relaxed),
                                  std::memory_order_relaxed);
        c.victim.store(f.victim.load(std::memory_order_relaxed), std::memory_order_relaxed);
    }
    unlock(e, seq, false);
    from.unlock(fe, from_seq, false);
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

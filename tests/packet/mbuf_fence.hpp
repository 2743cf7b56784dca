// Under AddressSanitizer, a received mbuf whose bytes outside the frame are
// unaddressable: a read or write past the frame, or into the headroom, is
// reported like a heap overflow, which DPDK's own memory would otherwise hide.
// Without ASan both are no-ops. Fence only mbufs of a pool that the packet
// path never allocates from, and unfence them once they are back in it.
#pragma once

#include <rte_mbuf.h>

#include <sanitizer/asan_interface.h>

#include <cstddef>
#include <cstdint>

namespace relay::test {

inline void fence(rte_mbuf *m)
{
    auto *buf = static_cast<uint8_t *>(m->buf_addr);
    const size_t end = size_t(m->data_off) + m->data_len;
    ASAN_POISON_MEMORY_REGION(buf, m->data_off);
    ASAN_POISON_MEMORY_REGION(buf + end, m->buf_len - end);
    (void)buf;
    (void)end;
}

inline void unfence(rte_mbuf *m)
{
    ASAN_UNPOISON_MEMORY_REGION(m->buf_addr, m->buf_len);
    (void)m;
}

} // namespace relay::test

#include "huge_array.hpp"

#include <sys/mman.h>

#include <cstdlib>

namespace relay {

void *huge_alloc(size_t bytes)
{
    const bool huge = bytes >= huge_page_size;
    const size_t align = huge ? huge_page_size : 64;
    const size_t size = (bytes + align - 1) / align * align; // aligned_alloc wants a multiple
    void *p = std::aligned_alloc(align, size ? size : align);
    if (!p)
        throw std::bad_alloc();
    // Only advice: without huge pages the memory works as it is.
    if (huge)
        (void)madvise(p, size, MADV_HUGEPAGE);
    return p;
}

void huge_free(void *p) { std::free(p); }

} // namespace relay

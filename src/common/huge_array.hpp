// A fixed-size array for the large tables the packet path indexes at random:
// the relay entries, their per-worker counters and the relay port map. From
// 2 MiB up it sits on 2 MiB-aligned memory that the kernel is asked to back
// with transparent huge pages (madvise MADV_HUGEPAGE, which THP's default
// "madvise" mode honours), so that a random access needs one TLB entry per
// 2 MiB instead of one per 4 KiB. At a million relay ports the tables take
// about 180 MB: on 4 KiB pages nearly every packet missed the TLB, which in a
// virtual machine costs a two-level page walk. Where the kernel has no huge
// page to give, the same memory works on small pages.
#pragma once

#include <cstddef>
#include <cstdint>
#include <new>
#include <utility>

namespace relay {

// Memory for `bytes`, aligned to 64 bytes and, from huge_page_size up, to a
// huge page and advised to be backed by huge pages. Throws std::bad_alloc.
void *huge_alloc(size_t bytes);
void huge_free(void *p);

constexpr size_t huge_page_size = size_t(2) << 20;

template <class T>
class HugeArray {
public:
    HugeArray() = default;
    // n default-constructed elements.
    explicit HugeArray(size_t n) : data_(static_cast<T *>(huge_alloc(n * sizeof(T)))), size_(n)
    {
        for (size_t i = 0; i < n; i++)
            new (&data_[i]) T();
    }
    HugeArray(HugeArray &&o) noexcept
        : data_(std::exchange(o.data_, nullptr)), size_(std::exchange(o.size_, 0))
    {
    }
    HugeArray &operator=(HugeArray &&o) noexcept
    {
        if (this != &o) {
            release();
            data_ = std::exchange(o.data_, nullptr);
            size_ = std::exchange(o.size_, 0);
        }
        return *this;
    }
    HugeArray(const HugeArray &) = delete;
    HugeArray &operator=(const HugeArray &) = delete;
    ~HugeArray() { release(); }

    size_t size() const { return size_; }
    bool empty() const { return size_ == 0; }
    // As with unique_ptr<T[]>, a const array still gives its elements: the
    // tables are shared read-only but hold counters and atomics.
    T *data() const { return data_; }
    T &operator[](size_t i) const { return data_[i]; }

private:
    void release()
    {
        for (size_t i = 0; i < size_; i++)
            data_[i].~T();
        huge_free(data_);
        data_ = nullptr;
        size_ = 0;
    }

    T *data_ = nullptr;
    size_t size_ = 0;
};

} // namespace relay

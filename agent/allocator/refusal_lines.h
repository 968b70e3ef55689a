// Why a VM does not fit: a few lines of plain words, kept in one block.
//
// Capacity refuses every type of the catalog at least once (all of them on a
// small host), and a std::vector<std::string> made one heap block for the list
// and one per line: most of what a refusal cost. Here the lines share one
// block, each stored behind its length, so any text (a NUL in a name
// included) comes back exactly as it went in; and the block is inside the
// object while it fits (a CPU line and a memory line do), on the heap after.
#pragma once

#include <algorithm>
#include <cstdint>
#include <cstring>
#include <iterator>
#include <memory>
#include <string>
#include <string_view>

namespace kvhost {

class RefusalLines {
 public:
  // Lines in the order they were added, as string_views into this object.
  class const_iterator {
   public:
    using value_type = std::string_view;
    using reference = std::string_view;
    using pointer = void;
    using difference_type = std::ptrdiff_t;
    using iterator_category = std::forward_iterator_tag;

    const_iterator() = default;
    explicit const_iterator(const char* at) : at_(at) {}
    std::string_view operator*() const { return {at_ + sizeof(Length), LengthAt(at_)}; }
    const_iterator& operator++() {
      at_ += sizeof(Length) + LengthAt(at_);
      return *this;
    }
    const_iterator operator++(int) {
      const_iterator before = *this;
      ++*this;
      return before;
    }
    bool operator==(const const_iterator&) const = default;

   private:
    const char* at_ = nullptr;
  };
  using iterator = const_iterator;  // read-only: a line is never changed in place
  using value_type = std::string_view;

  // User-provided, and the inline bytes left unfilled: capacity makes one
  // per type and per try, and GCC would zero-fill them.
  RefusalLines() {}  // NOLINT(modernize-use-equals-default)
  RefusalLines(const RefusalLines& o) { Assign(o); }
  RefusalLines(RefusalLines&& o) noexcept { Take(o); }
  RefusalLines& operator=(const RefusalLines& o) {
    if (this != &o) Assign(o);
    return *this;
  }
  RefusalLines& operator=(RefusalLines&& o) noexcept {
    if (this != &o) Take(o);
    return *this;
  }
  ~RefusalLines() = default;

  void push_back(std::string_view line) {
    const size_t needed = size_ + sizeof(Length) + line.size();
    if (needed > Capacity()) Grow(needed);
    const Length length = static_cast<Length>(line.size());
    char* at = Data() + size_;
    std::memcpy(at, &length, sizeof length);
    if (!line.empty()) std::memcpy(at + sizeof length, line.data(), line.size());
    size_ = static_cast<uint32_t>(needed);
    ++count_;
  }

  bool empty() const { return count_ == 0; }
  size_t size() const { return count_; }
  const_iterator begin() const { return const_iterator(Data()); }
  const_iterator end() const { return const_iterator(Data() + size_); }
  std::string_view front() const { return *begin(); }
  std::string_view operator[](size_t i) const { return *std::next(begin(), static_cast<long>(i)); }
  bool operator==(const RefusalLines& o) const {
    return size_ == o.size_ && std::memcmp(Data(), o.Data(), size_) == 0;
  }

  // The lines joined, each after `before` ("; " gives "; a; b").
  std::string Prefixed(std::string_view before) const {
    std::string out;
    for (std::string_view line : *this) out.append(before).append(line);
    return out;
  }

 private:
  using Length = uint32_t;  // a refusal line is far below 4 GiB
  // sizeof(RefusalLines) is 256: room for the usual two lines of about 100.
  static constexpr size_t kInlineBytes = 232;

  static size_t LengthAt(const char* at) {
    Length length;
    std::memcpy(&length, at, sizeof length);
    return length;
  }

  const char* Data() const { return heap_ ? heap_.get() : inline_; }
  char* Data() { return heap_ ? heap_.get() : inline_; }
  size_t Capacity() const { return heap_ ? heap_capacity_ : kInlineBytes; }

  void Grow(size_t needed) {
    const size_t capacity = std::max(needed, 2 * Capacity());
    auto bigger = std::make_unique_for_overwrite<char[]>(capacity);
    if (size_) std::memcpy(bigger.get(), Data(), size_);
    heap_ = std::move(bigger);
    heap_capacity_ = static_cast<uint32_t>(capacity);
  }
  void Assign(const RefusalLines& o) {
    size_ = count_ = 0;
    if (o.size_ > Capacity()) Grow(o.size_);
    if (o.size_) std::memcpy(Data(), o.Data(), o.size_);
    size_ = o.size_;
    count_ = o.count_;
  }
  void Take(RefusalLines& o) {
    if (o.heap_) {
      heap_ = std::move(o.heap_);
      heap_capacity_ = o.heap_capacity_;
    } else {
      heap_.reset();
      if (o.size_) std::memcpy(inline_, o.inline_, o.size_);
    }
    size_ = o.size_;
    count_ = o.count_;
    o.size_ = o.count_ = o.heap_capacity_ = 0;
  }

  // For each line: its length (native order), then its bytes.
  uint32_t size_ = 0, count_ = 0;
  uint32_t heap_capacity_ = 0;
  std::unique_ptr<char[]> heap_;  // the lines once they outgrow inline_
  char inline_[kInlineBytes];
};

}  // namespace kvhost

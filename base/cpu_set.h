// A set of logical CPU ids: the value type every model and the allocator share.
#pragma once

#include <algorithm>
#include <cstdint>
#include <stdexcept>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "base/errors.h"

namespace kvhost {

class CpuSet {
 public:
  CpuSet() = default;
  CpuSet(const CpuSet&) = default;
  CpuSet& operator=(const CpuSet&) = default;
  // A moved-from set is empty, as it was when the words were a std::vector.
  CpuSet(CpuSet&& o) noexcept { *this = std::move(o); }
  CpuSet& operator=(CpuSet&& o) noexcept {
    if (this == &o) return *this;
    size_ = o.size_;
    std::copy(o.inline_, o.inline_ + kInlineWords, inline_);
    heap_ = std::move(o.heap_);
    o.size_ = 0;
    o.heap_.clear();
    return *this;
  }
  static CpuSet Range(unsigned first, unsigned last);

  void Add(unsigned cpu) {
    if (cpu / 64 >= size_) Resize(cpu / 64 + 1);
    Data()[cpu / 64] |= uint64_t{1} << (cpu % 64);
  }
  void Remove(unsigned cpu);
  bool Contains(unsigned cpu) const {
    return cpu / 64 < size_ && (Data()[cpu / 64] >> (cpu % 64)) & 1;
  }
  bool Empty() const { return size_ == 0; }
  unsigned Count() const {
    unsigned n = 0;
    for (size_t i = 0; i < size_; ++i) n += PopCount(Data()[i]);
    return n;
  }
  // Smallest id, or -1 when empty.
  int First() const;
  int Last() const;
  std::vector<unsigned> Ids() const;

  CpuSet operator|(const CpuSet& o) const;
  CpuSet operator&(const CpuSet& o) const;
  CpuSet operator-(const CpuSet& o) const;  // set difference
  CpuSet& operator|=(const CpuSet& o);
  CpuSet& operator-=(const CpuSet& o);
  bool Intersects(const CpuSet& o) const {
    const uint64_t *a = Data(), *b = o.Data();
    for (size_t i = 0, n = std::min(size_, o.size_); i < n; ++i)
      if (a[i] & b[i]) return true;
    return false;
  }
  bool IsSubsetOf(const CpuSet& o) const;
  bool operator==(const CpuSet& o) const;

  // Canonical kernel cpulist: "0-3,8,10-11", "" for none.
  std::string ToList() const;

  template <typename F>
  void ForEach(F&& f) const {
    const uint64_t* words = Data();
    for (size_t w = 0; w < size_; ++w) {
      uint64_t bits = words[w];
      while (bits) {
        f(static_cast<unsigned>(w * 64 + __builtin_ctzll(bits)));
        bits &= bits - 1;
      }
    }
  }

 private:
  // Sets of up to this many words (256 CPUs) live inside the object: the
  // allocator makes short-lived sets by the thousand, and a heap block for
  // each was most of what they cost.
  static constexpr size_t kInlineWords = 4;

  // Without -mpopcnt, __builtin_popcountll is a call into libgcc; this is not.
  static unsigned PopCount(uint64_t x) {
    x -= (x >> 1) & 0x5555555555555555ULL;
    x = (x & 0x3333333333333333ULL) + ((x >> 2) & 0x3333333333333333ULL);
    x = (x + (x >> 4)) & 0x0f0f0f0f0f0f0f0fULL;
    return static_cast<unsigned>((x * 0x0101010101010101ULL) >> 56);
  }
  const uint64_t* Data() const { return size_ <= kInlineWords ? inline_ : heap_.data(); }
  uint64_t* Data() { return size_ <= kInlineWords ? inline_ : heap_.data(); }
  // Grows with zero words or shrinks to `words`, moving between the two stores.
  void Resize(size_t words);
  void Trim();

  // Words in use; the last one is never zero (so equal sets compare equal).
  size_t size_ = 0;
  uint64_t inline_[kInlineWords] = {};
  std::vector<uint64_t> heap_;  // the words when there are more than kInlineWords
};

// Parses the kernel cpulist syntax (lib/bitmap.c bitmap_parselist): "0-3,8",
// the group form "0-31:2/8" (2 of every 8), and "N" for the last CPU when
// nr_cpus is given. Throws FormatError naming the offending piece.
CpuSet ParseCpuList(std::string_view text, unsigned nr_cpus = 0);

// Parses a sysfs hex mask ("00000000,0000ff0f"; 32-bit groups, most significant first).
CpuSet ParseCpuMask(std::string_view text);

}  // namespace kvhost

// A set of logical CPU ids: the value type every model and the allocator share.
#pragma once

#include <cstdint>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

namespace kvhost {

// Thrown by the text parsers; callers add the file name (see InputError).
class FormatError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

class CpuSet {
 public:
  CpuSet() = default;
  static CpuSet Range(unsigned first, unsigned last);

  void Add(unsigned cpu);
  void Remove(unsigned cpu);
  bool Contains(unsigned cpu) const;
  bool Empty() const;
  unsigned Count() const;
  // Smallest id, or -1 when empty.
  int First() const;
  int Last() const;
  std::vector<unsigned> Ids() const;

  CpuSet operator|(const CpuSet& o) const;
  CpuSet operator&(const CpuSet& o) const;
  CpuSet operator-(const CpuSet& o) const;  // set difference
  CpuSet& operator|=(const CpuSet& o);
  CpuSet& operator-=(const CpuSet& o);
  bool Intersects(const CpuSet& o) const;
  bool IsSubsetOf(const CpuSet& o) const;
  bool operator==(const CpuSet& o) const;

  // Canonical kernel cpulist: "0-3,8,10-11", "" for none.
  std::string ToList() const;

  template <typename F>
  void ForEach(F&& f) const {
    for (size_t w = 0; w < words_.size(); ++w) {
      uint64_t bits = words_[w];
      while (bits) {
        f(static_cast<unsigned>(w * 64 + __builtin_ctzll(bits)));
        bits &= bits - 1;
      }
    }
  }

 private:
  void Trim();
  std::vector<uint64_t> words_;
};

// Parses the kernel cpulist syntax (lib/bitmap.c bitmap_parselist): "0-3,8",
// the group form "0-31:2/8" (2 of every 8), and "N" for the last CPU when
// nr_cpus is given. Throws FormatError naming the offending piece.
CpuSet ParseCpuList(std::string_view text, unsigned nr_cpus = 0);

// Parses a sysfs hex mask ("00000000,0000ff0f"; 32-bit groups, most significant first).
CpuSet ParseCpuMask(std::string_view text);

}  // namespace kvhost
